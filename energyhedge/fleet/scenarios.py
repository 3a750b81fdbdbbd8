"""Joint scenarios across ISOs: the same historical days at every campus of the fleet.

Every campus's prices are put on one hourly grid of local days of the fleet's clock (the first
campus's ISO), so a "day" is the same 24 UTC hours at every campus. Only days present at every
campus are kept (the overlap of the data). A scenario draws whole days, by day type and month
as the single-campus bootstrap does (``scenarios.bootstrap.sample_days``), and takes each
campus's prices from the same drawn day: the cross-ISO dependence is the historical one, hour
by hour, spikes included.

``dependence`` measures what the validation reports: the correlation of the two campuses'
hourly prices, and of their spikes (hours above the historical 95th percentile of each series),
in the history and in the scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from energyhedge.campus import Campus
from energyhedge.errors import DataError
from energyhedge.scenarios.bootstrap import candidate_days, sample_days
from energyhedge.scenarios.daygrid import DayMatrix, day_matrix, day_types, horizon, months, regrid
from energyhedge.scenarios.scenario_set import ScenarioSet

FLEET_INTERVAL_MINUTES = 60
"""The fleet's common interval: both ISOs settle (or average to) hourly prices."""

SPIKE_QUANTILE = 0.95
"""A spike is an hour above this quantile of the series' historical hourly prices."""


@dataclass(frozen=True)
class JointHistory:
    """Historical days present at every campus, on the clock ISO's local hourly grid.

    Attributes
    ----------
    clock_iso : str
        ISO whose local days define the grid.
    dates : ndarray [H] of datetime64[D]
    prices : dict[str, ndarray [H, 24]]
        Hourly prices of each campus ($/MWh), by campus name.
    """

    clock_iso: str
    dates: np.ndarray
    prices: dict[str, np.ndarray]


def joint_history(history: pl.DataFrame, campuses: tuple[Campus, ...]) -> JointHistory:
    """The overlap of every campus's series in ``history`` (canonical rows) as hourly days.

    Raises
    ------
    DataError
        A campus's series is missing, or the series share no whole day.
    """
    clock = campuses[0].iso
    mats: dict[str, DayMatrix] = {}
    for campus in campuses:
        own = history.filter(
            (pl.col("iso") == campus.iso)
            & (pl.col("node") == campus.node)
            & (pl.col("market") == campus.market)
        )
        if own.height == 0:
            raise DataError(
                f"no {campus.iso}/{campus.market}/{campus.node} prices for campus "
                f"{campus.name!r}; give a price file holding that series"
            )
        mats[campus.name] = day_matrix(own, clock)
    common = mats[campuses[0].name].dates
    for m in mats.values():
        common = np.intersect1d(common, m.dates)
    if common.size == 0:
        raise DataError(
            "the campuses' price histories share no whole day; give overlapping histories"
        )
    prices = {}
    for name, m in mats.items():
        rows = np.searchsorted(m.dates, common)
        prices[name] = regrid(
            m.prices_usd_per_mwh[rows], m.interval_minutes, FLEET_INTERVAL_MINUTES
        )
    return JointHistory(clock, common, prices)


@dataclass(frozen=True)
class JointScenarios:
    """One ``ScenarioSet`` per campus, drawn from the same historical days.

    ``drawn_dates[s, d]`` is the historical day scenario s uses for horizon day d.
    """

    sets: dict[str, ScenarioSet]
    drawn_dates: np.ndarray

    @property
    def probabilities(self) -> np.ndarray:
        return next(iter(self.sets.values())).probabilities


def draw_joint(
    history: JointHistory,
    campuses: tuple[Campus, ...],
    *,
    start: date,
    days: int,
    n: int,
    seed: int,
    month_window: int = 0,
) -> JointScenarios:
    """``n`` equally likely joint scenarios over ``days`` clock-ISO local days from ``start``."""
    grid = horizon(history.clock_iso, start, days, FLEET_INTERVAL_MINUTES)
    first = history.prices[campuses[0].name]
    chosen = sample_days(
        DayMatrix(history.dates, first, FLEET_INTERVAL_MINUTES),
        grid.dates,
        n,
        np.random.default_rng(seed),
        month_window,
    )
    rows = chosen[:, grid.day_of_interval]  # [n, T]
    slots = grid.slot_of_interval[None, :]
    sets = {
        c.name: ScenarioSet(
            iso=c.iso,
            market=c.market,
            node=c.node,
            interval_start_utc=grid.interval_start_utc,
            interval_minutes=FLEET_INTERVAL_MINUTES,
            prices_usd_per_mwh=history.prices[c.name][rows, slots],
            probabilities=np.full(n, 1.0 / n),
            kind=np.full(n, "joint-bootstrap"),
        )
        for c in campuses
    }
    return JointScenarios(sets, history.dates[chosen])


def candidate_history(
    history: JointHistory, *, start: date, days: int, month_window: int = 0
) -> JointHistory:
    """The days of ``history`` that scenarios for the horizon may draw (same day type, months
    within the window): the history a simulated dependence is compared with."""
    targets = horizon(history.clock_iso, start, days, FLEET_INTERVAL_MINUTES).dates
    first = next(iter(history.prices.values()))
    matrix = DayMatrix(history.dates, first, FLEET_INTERVAL_MINUTES)
    rows = np.unique(
        np.concatenate(
            [
                candidate_days(matrix, int(m), int(k), month_window)
                for m, k in zip(months(targets), day_types(targets), strict=True)
            ]
        )
    )
    return JointHistory(
        history.clock_iso, history.dates[rows], {n: p[rows] for n, p in history.prices.items()}
    )


def dependence(a: np.ndarray, b: np.ndarray, spike_a: float, spike_b: float) -> dict[str, float]:
    """Dependence of two equally long arrays of hourly prices ($/MWh, any shape).

    Returns the Pearson correlation of the prices, the correlation of the spike indicators
    (price above ``spike_a`` / ``spike_b``), each series' spike frequency, and the chance of a
    spike at B in an hour with a spike at A (NaN when A never spikes).
    """
    x, y = np.ravel(a), np.ravel(b)
    sx, sy = (x > spike_a).astype(float), (y > spike_b).astype(float)
    both = float((sx * sy).sum())
    return {
        "price_correlation": _pearson(x, y),
        "spike_correlation": _pearson(sx, sy),
        "spike_frequency_a": float(sx.mean()),
        "spike_frequency_b": float(sy.mean()),
        "spike_b_given_spike_a": both / sx.sum() if sx.sum() else float("nan"),
    }


def validate_joint(
    history: JointHistory, scenarios: JointScenarios, a: str, b: str
) -> dict[str, dict[str, float]]:
    """Dependence of campuses ``a`` and ``b`` in the history and in the scenarios, with the
    spike thresholds of the history (``SPIKE_QUANTILE`` of each series)."""
    ha, hb = history.prices[a], history.prices[b]
    spike_a = float(np.quantile(ha, SPIKE_QUANTILE))
    spike_b = float(np.quantile(hb, SPIKE_QUANTILE))
    sim_a = scenarios.sets[a].prices_usd_per_mwh
    sim_b = scenarios.sets[b].prices_usd_per_mwh
    return {
        "thresholds_usd_per_mwh": {"a": spike_a, "b": spike_b},
        "historical": dependence(ha, hb, spike_a, spike_b),
        "simulated": dependence(sim_a, sim_b, spike_a, spike_b),
    }


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return float("nan")
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))
