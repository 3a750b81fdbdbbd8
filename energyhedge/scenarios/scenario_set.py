"""A set of price scenarios on a common grid of intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScenarioSet:
    """Price paths prices[S, T] with probabilities, on intervals starting at fixed UTC instants.

    Attributes
    ----------
    iso, market, node : str
        Where the prices settle, e.g. ``("ercot", "rtm", "LZ_HOUSTON")``.
    interval_start_utc : ndarray [T] of datetime64[us]
        Start of each interval in UTC.
    interval_minutes : int
        Length of every interval (min).
    prices_usd_per_mwh : ndarray [S, T]
    probabilities : ndarray [S]
        Non-negative, summing to 1.
    kind : ndarray [S] of str
        Where each scenario came from: the model name (``"bootstrap"``, ``"regime"``) or
        ``"stress:<event>"`` for added stress scenarios.
    """

    iso: str
    market: str
    node: str
    interval_start_utc: np.ndarray
    interval_minutes: int
    prices_usd_per_mwh: np.ndarray
    probabilities: np.ndarray
    kind: np.ndarray

    def __post_init__(self) -> None:
        s, t = self.prices_usd_per_mwh.shape
        if self.interval_start_utc.shape != (t,):
            raise ValueError(
                f"interval_start_utc has shape {self.interval_start_utc.shape}, want ({t},)"
            )
        if self.probabilities.shape != (s,) or self.kind.shape != (s,):
            raise ValueError("probabilities and kind need one entry per scenario")
        if np.any(self.probabilities < 0) or not np.isclose(self.probabilities.sum(), 1.0):
            raise ValueError("scenario probabilities must be non-negative and sum to 1")

    @property
    def interval_hours(self) -> np.ndarray:
        """Length of each interval (h), shape [T]."""
        return np.full(self.interval_start_utc.shape, self.interval_minutes / 60.0)
