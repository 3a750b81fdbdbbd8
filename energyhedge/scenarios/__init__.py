"""Price scenarios: block bootstrap of historical days, a calibrated regime model, stress events.

Names are loaded on first use, so reading a run profile (which needs only ``MODELS`` and the
stress event types) does not import SciPy.
"""

from __future__ import annotations

from energyhedge.lazy import lazy_names

MODELS = ("bootstrap", "regime")
"""Scenario models ``generate`` knows."""

_HOMES = {
    "CapEvent": "stress",
    "HistoricalReplay": "stress",
    "RegimeParams": "regime",
    "ScenarioSet": "scenario_set",
    "fit_regime": "regime",
    "generate": "generate",
}

__all__ = [
    "MODELS",
    "CapEvent",
    "HistoricalReplay",
    "RegimeParams",
    "ScenarioSet",
    "fit_regime",
    "generate",
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES)
