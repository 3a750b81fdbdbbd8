"""A synthetic but realistic HedgeProblem for benchmarks and tests (seeded, no data files).

A 110 MW grid connection with 30 MW must-run inference, a 50 MW real-time curtailable training
class and a 20 MW batch class scheduled day-ahead with a work requirement; a fair 7x24 block, a
$100 call and a $1,000 scarcity call; a DR programme and coincident-peak exposure. Prices follow a
daily shape with lognormal noise and rare spikes to $1,000-5,000/MWh.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from energyhedge.model.problem import FlexClass, HedgeProblem, Product
from energyhedge.model.term import TermProblem

SIZES = {
    "small": (24, 100),
    "daily": (96, 1000),
    "weekly": (168, 2000),
    "season": (2208, 500),
}
"""Benchmark sizes: name -> (intervals, scenarios)."""

TERM_SIZES = {
    "term-small": (720, 50),
    "year-100": (8760, 100),
    "year": (8760, 1000),
    "year-10k": (8760, 10000),
}
"""Term benchmark sizes: name -> (hourly intervals, scenarios), 12 periods (months of 730 h)
or fewer for shorter horizons."""


def synthetic_problem(intervals: int, scenarios: int, seed: int = 0) -> HedgeProblem:
    """The campus of the module docstring over ``intervals`` intervals and ``scenarios`` paths.

    Intervals are 15 minutes long when there are more than 24 per day's worth, else hourly.
    """
    rng = np.random.default_rng(seed)
    t_n, s_n = intervals, scenarios
    hours = np.full(t_n, 0.25 if t_n == 96 else 1.0)
    start = np.datetime64("2023-08-17T05:00", "us")
    stamps = start + (np.cumsum(hours) - hours[0]) * np.timedelta64(3_600_000_000, "us")
    hour_of_day = ((stamps - start) / np.timedelta64(1, "h")) % 24
    shape = 35.0 + 45.0 * np.clip(np.sin((hour_of_day - 6.0) / 24 * 2 * np.pi), 0, None)
    prices = shape[None, :] * rng.lognormal(0.0, 0.35, (s_n, t_n))
    spikes = rng.random((s_n, t_n)) < 0.01 * np.clip(
        np.sin((hour_of_day - 6.0) / 24 * 2 * np.pi), 0, None
    )
    prices = np.where(spikes, rng.uniform(1000.0, 5000.0, (s_n, t_n)), prices)
    probabilities = np.full(s_n, 1.0 / s_n)
    curve_power = np.array([0.0, 0.5, 0.75, 1.0])
    curve_work = np.array([0.0, 0.63, 0.86, 1.0])
    training = FlexClass(
        name="training",
        max_mw=np.full(t_n, 50.0),
        gpu_hours_per_mwh=800.0,
        value_usd_per_gpu_hour=2.0,
        curve_power_frac=curve_power,
        curve_work_frac=curve_work,
    )
    batch = FlexClass(
        name="batch",
        max_mw=np.full(t_n, 20.0),
        gpu_hours_per_mwh=800.0,
        value_usd_per_gpu_hour=1.0,
        curve_power_frac=curve_power,
        curve_work_frac=curve_work,
        ramp_mw_per_h=10.0,
        rt_curtailable=False,
        work_requirement_gpu_hours=0.6 * 800.0 * 20.0 * float(hours.sum()),
        unserved_usd_per_gpu_hour=3.0,
    )
    h = hours[None, :]
    products = (
        _product(
            "block_7x24",
            "block",
            (prices - prices.mean()) * h,
            probabilities,
            hours,
            min_mw=-50.0,
            max_mw=100.0,
        ),
        _product(
            "call_100",
            "call",
            np.maximum(prices - 100.0, 0) * h,
            probabilities,
            hours,
            min_mw=0.0,
            max_mw=100.0,
        ),
        _product(
            "scarcity_1000",
            "scarcity",
            np.maximum(prices - 1000.0, 0) * h,
            probabilities,
            hours,
            min_mw=0.0,
            max_mw=100.0,
        ),
    )
    peak = (hour_of_day >= 15) & (hour_of_day < 19)
    deployed = (prices > 500.0) & (rng.random((s_n, t_n)) < 0.5)
    return HedgeProblem(
        interval_start_utc=stamps,
        interval_hours=hours,
        prices_usd_per_mwh=prices,
        probabilities=probabilities,
        firm_load_mw=np.full(t_n, 30.0),
        firm_gpu_hours=np.full(t_n, 30.0 * 800.0) * hours,
        firm_value_usd_per_gpu_hour=3.0,
        flex=(training, batch),
        grid_limit_mw=110.0,
        products=products,
        dr_price_usd_per_mw_h=np.full(t_n, 6.0),
        dr_max_mw=20.0,
        dr_deployed=deployed,
        dr_penalty_usd_per_mwh=2000.0,
        cp_weight_usd_per_mw=np.where(peak[None, :], 20.0 * hours[None, :], 0.0)
        * np.ones((s_n, 1)),
    )


def synthetic_term(intervals: int, scenarios: int, seed: int = 0) -> TermProblem:
    """The synthetic campus over a term: periods of 730 hours ("months", at most 12), and per
    period a fair 7x24 block (sellable), a $100 call and a $1,000 scarcity call in place of the
    horizon-long products; DR (20 MW) committed per period."""
    base = synthetic_problem(intervals, scenarios, seed=seed)
    period = np.minimum(np.arange(intervals) // 730, 11)
    starts = np.flatnonzero(np.r_[True, period[1:] != period[:-1]])
    p_n = starts.size
    h = base.interval_hours[None, :]
    prices = base.prices_usd_per_mwh
    hours = np.add.reduceat(base.interval_hours, starts)
    mean = np.add.reduceat(base.probabilities @ prices * base.interval_hours, starts) / hours
    payoffs = {
        "block": np.add.reduceat(prices * h, starts, axis=1) - mean * hours,
        "call_100": np.add.reduceat(np.maximum(prices - 100.0, 0.0) * h, starts, axis=1),
        "scarcity_1000": np.add.reduceat(np.maximum(prices - 1000.0, 0.0) * h, starts, axis=1),
    }
    products = []
    for m in range(p_n):
        for name, payoff in payoffs.items():
            fair = float(base.probabilities @ payoff[:, m])
            products.append(
                Product(
                    f"{name}_m{m + 1:02d}",
                    "block" if name == "block" else "call",
                    payoff[:, m].copy(),
                    premium_usd_per_mw=fair,
                    fair_premium_usd_per_mw=fair,
                    notional_hours=float(hours[m]),
                    min_mw=-50.0 if name == "block" else 0.0,
                    max_mw=100.0,
                    meta={"iso": "ercot"},
                )
            )
    problem = replace(base, products=tuple(products))
    return TermProblem(problem, period.astype(np.int64), tuple(f"m{m + 1:02d}" for m in range(p_n)))


def _product(name, kind, payoff_by_interval, probabilities, hours, *, min_mw, max_mw) -> Product:
    """A 7x24 product at its fair premium on both sides (no spread)."""
    payoff = payoff_by_interval.sum(axis=1)
    fair = float(probabilities @ payoff)
    return Product(
        name,
        kind,
        payoff,
        premium_usd_per_mw=fair,
        fair_premium_usd_per_mw=fair,
        notional_hours=float(hours.sum()),
        min_mw=min_mw,
        max_mw=max_mw,
        meta={"iso": "ercot"},
    )
