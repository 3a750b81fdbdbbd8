"""Valuation of the optimiser's decision: in sample against the LP, out of sample at the traded
prices (the ladder is never better than the LP optimum: tests/test_optimize_ladder.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from energyhedge.model.cost import cost_breakdown
from energyhedge.optimize import SolveOptions, solve
from energyhedge.optimize.synthetic import synthetic_problem
from energyhedge.risk import describe_gap, strategies, value_strategies

OPTIONS = SolveOptions(alpha=0.9, cvar_weight=0.5, marginals=False)
FULL_TRAINING_GPU_HOURS = 800.0 * 50.0 * 24  # the synthetic training class at 50 MW for 24 h


def struck_on(fresh, problem):
    """``fresh`` with the synthetic products settled at ``problem``'s prices: the block at the
    in-sample forward (the mean price), every product at the in-sample premium (the ask)."""
    hours = float(fresh.interval_hours.sum())
    shift = (fresh.prices_usd_per_mwh.mean() - problem.prices_usd_per_mwh.mean()) * hours
    block, *options = fresh.products
    traded = (replace(block, payoff_usd_per_mw=block.payoff_usd_per_mw + shift), *options)
    return replace(
        fresh,
        products=tuple(
            replace(k, premium_usd_per_mw=old.premium_usd_per_mw, fair_premium_usd_per_mw=0.0)
            for k, old in zip(traded, problem.products, strict=True)
        ),
    )


def test_out_of_sample_valuation_at_the_traded_prices():
    problem = synthetic_problem(24, 20, seed=1)
    fresh = struck_on(synthetic_problem(24, 20, seed=7), problem)
    decision = solve(problem, OPTIONS).decision
    ins = value_strategies(problem, decision, 0.9, basis="in sample")
    outs = value_strategies(fresh, decision, 0.9, basis="out of sample")
    assert (ins.basis, outs.basis) == ("in sample", "out of sample")
    p = fresh.probabilities
    decisions = strategies(fresh, decision)
    for name, d in decisions.items():
        assert outs.strategies[name].cost.expected_usd == pytest.approx(
            float(p @ cost_breakdown(fresh, d).total_cost_usd), rel=1e-12
        )
    # Hedges change each fresh scenario's cost by exactly premium paid then minus fresh payoff.
    x = decision.product_mw
    assert np.all(x >= 0.0), "the synthetic optimum buys (no sale), so every trade pays the ask"
    cash = sum(
        xk * (old.premium_usd_per_mw - k.payoff_usd_per_mw)
        for xk, k, old in zip(x, fresh.products, problem.products, strict=True)
    )
    np.testing.assert_allclose(
        outs.costs["hedges_only"].total_cost_usd - outs.costs["unhedged"].total_cost_usd,
        cash,
        rtol=1e-9,
        atol=1e-6,
    )
    d_mean = outs.recommended.cost.expected_usd - ins.recommended.cost.expected_usd
    d_cvar = outs.recommended.cost.cvar_usd - ins.recommended.cost.cvar_usd
    sentence = describe_gap(ins, outs)
    assert (
        f"expected cost is ${abs(d_mean):,.0f} {'higher' if d_mean >= 0 else 'lower'}" in sentence
    )
    assert f"CVaR90 ${abs(d_cvar):,.0f} {'higher' if d_cvar >= 0 else 'lower'}" in sentence


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("requirement", ["as built", "none"])
def test_in_sample_ladder_equals_the_lp_when_no_requirement_couples_intervals(seed, requirement):
    """The synthetic batch class has a work requirement but is scheduled day-ahead (not
    curtailed in real time), so no requirement links the real-time decisions of two intervals:
    the ladder then is the LP's recourse, in every scenario."""
    problem = synthetic_problem(24, 20, seed=seed)
    batch = problem.flex[1]
    assert batch.work_requirement_gpu_hours > 0 and not batch.rt_curtailable
    if requirement == "none":
        flex = tuple(replace(f, work_requirement_gpu_hours=0.0) for f in problem.flex)
        problem = replace(problem, flex=flex)
    solution = solve(problem, OPTIONS)
    valuation = value_strategies(problem, solution.decision, 0.9, basis="in sample")
    np.testing.assert_allclose(
        valuation.costs["recommended"].total_cost_usd, solution.scenario_cost_usd, rtol=1e-9
    )
    cost = valuation.recommended.cost
    assert cost.expected_usd == pytest.approx(solution.expected_cost_usd, rel=1e-9)
    assert cost.cvar_usd == pytest.approx(solution.cvar_usd, rel=1e-9)


def test_binding_soft_requirement_makes_the_ladder_dearer_than_the_lp():
    """A penalised requirement on the real-time class couples the intervals: the LP, seeing each
    whole path, curtails less than the ladder, which prices the shortfall it causes."""
    problem = synthetic_problem(24, 20, seed=1)
    training = replace(
        problem.flex[0],
        work_requirement_gpu_hours=0.999 * FULL_TRAINING_GPU_HOURS,
        unserved_usd_per_gpu_hour=5.0,
    )
    problem = replace(problem, flex=(training, problem.flex[1]))
    solution = solve(problem, OPTIONS)
    cost = value_strategies(problem, solution.decision, 0.9, basis="in sample").recommended.cost
    assert cost.expected_usd + 0.5 * cost.cvar_usd > solution.objective_usd + 1_000.0


def test_hard_requirement_ladder_is_never_better_than_the_lp():
    problem = synthetic_problem(24, 20, seed=1)
    training = replace(
        problem.flex[0],
        work_requirement_gpu_hours=0.999 * FULL_TRAINING_GPU_HOURS,
        unserved_usd_per_gpu_hour=float("inf"),
    )
    problem = replace(problem, flex=(training, problem.flex[1]))
    solution = solve(problem, OPTIONS)
    cost = value_strategies(problem, solution.decision, 0.9, basis="in sample").recommended.cost
    ladder_objective = cost.expected_usd + 0.5 * cost.cvar_usd
    assert ladder_objective >= solution.objective_usd - 1e-6 * abs(solution.objective_usd)
