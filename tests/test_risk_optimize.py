"""The policy valuation against the optimiser: it can never beat the LP's hindsight recourse."""

from __future__ import annotations

import pytest

from energyhedge.optimize import SolveOptions, solve
from energyhedge.optimize.synthetic import synthetic_problem
from energyhedge.risk import compare, risk_metrics, strategies, value_decision


@pytest.mark.parametrize("seed", [1, 2])
def test_policy_objective_is_no_better_than_the_lp_optimum(seed):
    problem = synthetic_problem(24, 20, seed=seed)
    options = SolveOptions(alpha=0.9, cvar_weight=0.5, marginals=False)
    solution = solve(problem, options)
    costs = value_decision(problem, solution.decision)
    m = risk_metrics(costs.total_cost_usd, problem.probabilities, 0.9)
    policy_objective = m["expected_cost_usd"] + 0.5 * m["cvar_usd"]
    assert policy_objective >= solution.objective_usd - 1e-6 * abs(solution.objective_usd)


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
