"""Price scenarios: block bootstrap of historical days, a calibrated regime model, stress events.

Names are loaded on first use, so reading a run profile (which needs only ``MODELS`` and the
stress event types) does not import SciPy.
"""

from __future__ import annotations

import importlib

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


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
