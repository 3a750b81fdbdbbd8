"""Price scenarios: block bootstrap of historical days, a calibrated regime model, stress events."""

from energyhedge.scenarios.generate import MODELS, generate
from energyhedge.scenarios.regime import RegimeParams, fit_regime
from energyhedge.scenarios.scenario_set import ScenarioSet
from energyhedge.scenarios.stress import CapEvent, HistoricalReplay

__all__ = [
    "MODELS",
    "CapEvent",
    "HistoricalReplay",
    "RegimeParams",
    "ScenarioSet",
    "fit_regime",
    "generate",
]
