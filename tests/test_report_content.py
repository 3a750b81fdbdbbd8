"""Report rows built from a solved synthetic problem, checked against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from report_sample import sample_report

from energyhedge import risk
from energyhedge.optimize import SolveOptions, frontier, solve
from energyhedge.optimize.synthetic import synthetic_problem
from energyhedge.report import content


@pytest.fixture(scope="module")
def solved():
    problem = synthetic_problem(24, 60, seed=3)
    options = SolveOptions(alpha=0.9, cvar_weight=1.0, marginals=False)
    solution = solve(problem, options)
    return problem, solution, options


def test_trades_mark_quoted_premiums_only() -> None:
    records = [
        {
            "product": "block_7x24",
            "kind": "block",
            "shape": "7x24",
            "start": "2026-08-20T05:00:00Z",
            "end": "2026-08-21T05:00:00Z",
            "mw": -5.0,
            "strike_usd_per_mwh": 41.5,
            "premium_usd": 0.0,
            "fair_premium_usd": 12.0,
        },
        {
            "product": "scarcity_1000",
            "kind": "scarcity",
            "shape": "7x24",
            "start": "2026-08-01",
            "end": "2026-08-31",
            "mw": 2.5,
            "strike_usd_per_mwh": 1000.0,
            "premium_usd": 900.0,
            "fair_premium_usd": 750.0,
        },
    ]
    rows = content.trades(records, quoted={"scarcity_1000"}, tz="America/Chicago")
    assert [(r.product, r.mw, r.strike_usd_per_mwh) for r in rows] == [
        ("block_7x24", -5.0, 41.5),
        ("scarcity_1000", 2.5, 1000.0),
    ]
    assert rows[0].quoted_premium_usd is None and rows[0].fair_premium_usd == 12.0
    assert (rows[0].start, rows[0].end) == ("2026-08-20 00:00 CDT", "2026-08-21 00:00 CDT")
    assert (rows[1].start, rows[1].end) == ("2026-08-01", "2026-08-31")
    assert rows[1].quoted_premium_usd == 900.0 and rows[1].fair_premium_usd == 750.0


def test_risk_rows_carry_the_comparison_values(solved) -> None:
    problem, solution, options = solved
    oos = synthetic_problem(24, 60, seed=4)
    comparison = risk.compare(problem, solution.decision, options.alpha, out_of_sample=oos)
    rows = {r.metric: r for r in content.risk_rows(comparison)}
    cvar = rows["CVaR 90% cost (out of sample)"]
    assert cvar.unhedged == comparison["out_of_sample"]["unhedged"]["cvar_usd"]
    assert cvar.hedged == comparison["out_of_sample"]["recommended"]["cvar_usd"]
    assert rows["Expected cost (in sample)"].hedged == pytest.approx(
        comparison["in_sample"]["recommended"]["expected_cost_usd"]
    )
    assert next(iter(rows)).endswith("(out of sample)")


def test_cost_distribution_and_stress_rows(solved) -> None:
    problem, solution, _ = solved
    strategies = risk.strategies(problem, solution.decision)
    hedged = risk.value_decision(problem, strategies["recommended"])
    unhedged = risk.value_decision(problem, strategies["unhedged"])
    dist = content.cost_distribution(hedged, unhedged, problem.probabilities, "in sample")
    # Equal probabilities over 60 scenarios: P95 is the 57th smallest value (lower quantile).
    assert dist.hedged_percentiles["P95"] == np.sort(hedged.cost_per_gpu_hour_usd)[56]
    assert dist.unhedged_percentiles["P50"] == np.sort(unhedged.cost_per_gpu_hour_usd)[29]

    kinds = np.array(["bootstrap"] * 58 + ["stress:uri", "stress:cap_4h"])
    rows = content.stress_rows(kinds, problem.probabilities, hedged, unhedged)
    assert [r.event for r in rows] == ["uri", "cap_4h"]
    assert rows[1].hedged_usd == hedged.total_cost_usd[59]
    assert rows[0].unhedged_usd_per_gpu_hour == unhedged.cost_per_gpu_hour_usd[58]


def test_schedule_price_band_matches_weighted_quantiles(solved) -> None:
    problem, solution, _ = solved
    model = np.arange(50)
    panel = content.schedule(problem, solution.decision, model, "America/Chicago")
    p = problem.probabilities[model] / problem.probabilities[model].sum()
    prices = problem.prices_usd_per_mwh[model]
    for t in (0, 7, 23):
        assert panel.price_low_usd_per_mwh[t] == risk.weighted_quantile(prices[:, t], p, 0.05)
        assert panel.price_high_usd_per_mwh[t] == risk.weighted_quantile(prices[:, t], p, 0.95)
    assert panel.price_mean_usd_per_mwh == pytest.approx(prices.mean(axis=0))
    assert list(panel.class_mw) == ["training", "batch"]
    assert panel.thresholds_usd_per_mwh["batch"] == np.inf


def test_frontier_points_and_key_metrics(solved) -> None:
    problem, solution, options = solved
    points = frontier(problem, [0.0, 1.0, 4.0], options)
    f = content.frontier(
        points,
        (solution.expected_cost_usd, solution.cvar_usd),
        {"expected_cost_usd": 1.0, "cvar_usd": 2.0},
    )
    assert list(f.lambdas) == [0.0, 1.0, 4.0]
    assert f.cvar_usd[2] <= f.cvar_usd[0] + 1e-6
    assert f.unhedged_cvar_usd == 2.0

    data = sample_report()
    metrics = content.key_metrics(data)
    assert metrics["trades"] == {"call_100_5x16": 12.5, "block_5x16": -3.0}
    assert metrics["schedule"] == {"train_flex": 720.0, "Campus A batch": 240.0}
    assert metrics["risk"]["CVaR 95% cost"] == ["$", 101_000.0]
