"""A set of price scenarios on a common grid of intervals."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from energyhedge.errors import ConfigError


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
    joint : dict[(node, market), ndarray [S, T]]
        Prices of other settlement points of the same ISO in the same scenarios (drawn from the
        same historical days), e.g. a hub and the day-ahead market: what products settling
        there, and the day-ahead purchase, are priced on ($/MWh).
    """

    iso: str
    market: str
    node: str
    interval_start_utc: np.ndarray
    interval_minutes: int
    prices_usd_per_mwh: np.ndarray
    probabilities: np.ndarray
    kind: np.ndarray
    joint: dict = field(default_factory=dict)

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
        for point, prices in self.joint.items():
            if prices.shape != (s, t):
                raise ValueError(
                    f"joint prices of {point} have shape {prices.shape}, want {(s, t)}"
                )

    def prices_at(self, node: str, market: str) -> np.ndarray:
        """Prices [S, T] at ``node`` in ``market`` ($/MWh): the main series or a joint one."""
        if (node, market) == (self.node, self.market):
            return self.prices_usd_per_mwh
        try:
            return self.joint[(node, market)]
        except KeyError:
            have = ", ".join(f"{n}/{m}" for n, m in [(self.node, self.market), *self.joint])
            raise ConfigError(
                f"the scenarios carry no {self.iso} {market} prices at {node} (they have {have}); "
                "import that series and generate the scenarios jointly with it"
            ) from None

    def select_intervals(self, mask: np.ndarray) -> ScenarioSet:
        """The same scenarios on the intervals where ``mask`` [T] is true (every series)."""
        return replace(
            self,
            interval_start_utc=self.interval_start_utc[mask],
            prices_usd_per_mwh=self.prices_usd_per_mwh[:, mask],
            joint={point: prices[:, mask] for point, prices in self.joint.items()},
        )

    def with_prices(self, fill: float) -> ScenarioSet:
        """The same grid with every price of every series set to ``fill`` (e.g. NaN: unknown)."""
        return replace(
            self,
            prices_usd_per_mwh=np.full(self.prices_usd_per_mwh.shape, fill),
            joint={point: np.full(p.shape, fill) for point, p in self.joint.items()},
        )

    @property
    def interval_hours(self) -> np.ndarray:
        """Length of each interval (h), shape [T]."""
        return np.full(self.interval_start_utc.shape, self.interval_minutes / 60.0)
