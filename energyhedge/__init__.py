"""energyhedge: a risk engine for AI data-center campuses that buy power in ERCOT and PJM."""

__version__ = "0.1.0"
