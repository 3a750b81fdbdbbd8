"""Time the ladder valuation (``model.cost.cost_breakdown``) on a synthetic year: 10,000 x 8,760.

Run (after ``python3 -m pip install -e .``):
``python3 benchmarks/bench_valuation.py [--scenarios S] [--intervals T]``. Prints the
seconds spent valuing (building the synthetic inputs excluded), scenario-intervals per second
and the peak resident memory of the process (inputs included).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from energyhedge.model.cost import cost_breakdown
from energyhedge.model.measures import risk_measures
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem, Product
from energyhedge.optimize.benchmark import peak_rss_mb


def synthetic_problem(s: int, t: int, seed: int = 0) -> tuple[HedgeProblem, Decision]:
    """A 100 MW campus, two flexible classes, three products and a DR programme on random prices."""
    rng = np.random.default_rng(seed)
    prices = rng.lognormal(3.5, 0.6, (s, t))
    spikes = rng.random((s, t)) < 0.002
    prices[spikes] = rng.uniform(1_000.0, 5_000.0, int(spikes.sum()))
    stamps = np.datetime64("2025-01-01T00:00", "us") + np.arange(t) * np.timedelta64(1, "h")
    curve_p, curve_w = np.array([0.0, 0.6, 1.0]), np.array([0.0, 0.8, 1.0])
    flex = (
        FlexClass("training", np.full(t, 50.0), 800.0, 3.75, curve_p, curve_w),
        FlexClass("batch", np.full(t, 20.0), 800.0, 1.5, curve_p, curve_w),
    )

    def call(strike: float) -> np.ndarray:
        return np.maximum(prices - strike, 0.0).sum(axis=1)

    calls = [("call_200", call(200.0)), ("scarcity_1000", call(1_000.0))]
    products = (
        *(Product(n, "call", pay, float(pay.mean()), float(pay.mean())) for n, pay in calls),
        Product("block_7x24", "block", (prices - 45.0).sum(axis=1), 0.0, 0.0, -50.0, 50.0),
    )
    problem = HedgeProblem(
        interval_start_utc=stamps,
        interval_hours=np.ones(t),
        prices_usd_per_mwh=prices,
        probabilities=np.full(s, 1.0 / s),
        firm_load_mw=np.full(t, 30.0),
        firm_gpu_hours=np.full(t, 24_000.0),
        firm_value_usd_per_gpu_hour=3.0,
        flex=flex,
        grid_limit_mw=100.0,
        products=products,
        dr_price_usd_per_mw_h=np.full(t, 5.0),
        dr_max_mw=20.0,
        dr_deployed=prices > 900.0,
        dr_penalty_usd_per_mwh=2_000.0,
        cp_weight_usd_per_mw=np.where(prices > 2_000.0, 1.0, 0.0),
    )
    decision = Decision(
        product_mw=np.array([10.0, 40.0, 20.0]),
        schedule_mw=np.vstack([np.full(t, 50.0), np.full(t, 15.0)]),
        dr_mw=np.full(t, 20.0),
        follows_ladder=True,
    )
    return problem, decision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--intervals", type=int, default=8_760)
    args = parser.parse_args()
    problem, decision = synthetic_problem(args.scenarios, args.intervals)
    start = time.perf_counter()
    costs = cost_breakdown(problem, decision)
    per_gpu_hour = risk_measures(costs.cost_per_gpu_hour_usd, problem.probabilities, 0.95)
    seconds = time.perf_counter() - start
    cells = args.scenarios * args.intervals
    peak_mb = peak_rss_mb()
    print(f"scenarios x intervals: {args.scenarios} x {args.intervals} = {cells:,}")
    print(f"valuation seconds: {seconds:.2f}")
    print(f"scenario-intervals per second: {cells / seconds:,.0f}")
    print(f"peak RSS MB (inputs included): {peak_mb:,.0f}")
    print(f"mean cost per GPU-hour: {per_gpu_hour.expected_usd:.4f} $")


if __name__ == "__main__":
    main()
