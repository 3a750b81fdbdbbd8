"""The campus: its model (``model``), its file (``load``) and its power-to-throughput curves
(``curves``). The names other modules use are re-exported here."""

from energyhedge.campus.load import load_campus
from energyhedge.campus.model import (
    CP_RULES,
    Campus,
    CampusProfile,
    CoincidentPeak,
    CurtailmentEvent,
    DrProgramme,
    GpuType,
    InferenceClass,
    Pue,
    TrainingTier,
)

__all__ = [
    "CP_RULES",
    "Campus",
    "CampusProfile",
    "CoincidentPeak",
    "CurtailmentEvent",
    "DrProgramme",
    "GpuType",
    "InferenceClass",
    "Pue",
    "TrainingTier",
    "load_campus",
]
