"""Out-of-sample valuation of the optimiser's decision (the ladder against the LP optimum is in
tests/test_optimize_ladder.py)."""

from __future__ import annotations

import pytest

from energyhedge.optimize import SolveOptions, solve
from energyhedge.optimize.synthetic import synthetic_problem
from energyhedge.risk import compare, strategies, value_decision


def test_out_of_sample_gap_on_fresh_scenarios():
    problem = synthetic_problem(24, 20, seed=1)
    fresh = synthetic_problem(24, 20, seed=7)
    solution = solve(problem, SolveOptions(alpha=0.9, cvar_weight=0.5, marginals=False))
    summary = compare(
        problem,
        solution.decision,
        0.9,
        out_of_sample=fresh,
        in_sample_objective_usd=solution.objective_usd,
    )
    rec_in = summary["in_sample"]["recommended"]
    rec_out = summary["out_of_sample"]["recommended"]
    assert summary["gap"]["recommended"]["cvar_usd"] == rec_out["cvar_usd"] - rec_in["cvar_usd"]
    assert summary["in_sample_objective_usd"] == solution.objective_usd
    unhedged = value_decision(fresh, strategies(fresh, solution.decision)["unhedged"])
    assert summary["out_of_sample"]["unhedged"]["expected_cost_usd"] == pytest.approx(
        float(fresh.probabilities @ unhedged.total_cost_usd), rel=1e-12
    )
