"""Term problems: the extensive form and the decomposition agree, with a hand-solved case."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from energyhedge.errors import SolverError
from energyhedge.model.measures import var_cvar
from energyhedge.model.problem import FlexClass, HedgeProblem
from energyhedge.model.term import TermProblem
from energyhedge.optimize import SolveOptions
from energyhedge.optimize.synthetic import synthetic_problem
from energyhedge.optimize.term import (
    OperationsSolver,
    extensive_form,
    operating_costs,
    solve_decomposed,
    solve_extensive,
    term_size,
)

FAST = SolveOptions(marginals=False)


def synthetic_term(t_n=72, s_n=12, periods=3, seed=1, **changes) -> TermProblem:
    problem = dataclasses.replace(synthetic_problem(t_n, s_n, seed=seed), **changes)
    labels = tuple(f"p{i}" for i in range(periods))
    return TermProblem(problem, np.repeat(np.arange(periods), t_n // periods), labels)


def hand_term() -> TermProblem:
    """Two hours, one per period; two equally likely scenarios; one 10 MW class worth
    $100/MWh; DR up to 10 MW paid $10/MW-h, called in scenario 1's second hour."""
    flex = FlexClass(
        name="training",
        max_mw=np.full(2, 10.0),
        gpu_hours_per_mwh=1.0,
        value_usd_per_gpu_hour=100.0,
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
    )
    problem = HedgeProblem(
        interval_start_utc=np.array(["2024-01-31T23:00", "2024-02-01T00:00"], "datetime64[us]"),
        interval_hours=np.ones(2),
        prices_usd_per_mwh=np.array([[50.0, 50.0], [50.0, 60.0]]),
        probabilities=np.array([0.5, 0.5]),
        firm_load_mw=np.zeros(2),
        firm_gpu_hours=np.zeros(2),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(flex,),
        grid_limit_mw=100.0,
        products=(),
        dr_price_usd_per_mw_h=np.full(2, 10.0),
        dr_max_mw=10.0,
        dr_deployed=np.array([[False, False], [False, True]]),
        dr_penalty_usd_per_mwh=1000.0,
        cp_weight_usd_per_mw=np.zeros((2, 2)),
    )
    return TermProblem(problem, np.array([0, 1]), ("2024-01", "2024-02"))


def test_hand_solved_dr_commitment():
    # Every hour the class runs in full (price < $100) unless DR is called: then it sheds the
    # committed y at a loss of 100 - 60 = $40/MWh. C_0 = 500 - 10 y0 + 500 - 10 y1;
    # C_1 = 500 - 10 y0 + 60 (10 - y1) + 100 y1 - 10 y1 = 1100 - 10 y0 + 30 y1.
    # E = 1050 - 10 y0 + 10 y1 and CVaR_0.5 = C_1: y = (10, 0), E = 950, CVaR = 1000.
    options = SolveOptions(alpha=0.5, cvar_weight=1.0, marginals=False)
    for solve in (solve_extensive, solve_decomposed):
        solution = solve(hand_term(), options)
        np.testing.assert_allclose(solution.dr_by_period_mw, [[10.0, 0.0]], atol=1e-9)
        np.testing.assert_allclose(solution.scenario_cost_usd, [900.0, 1000.0], atol=1e-6)
        assert solution.objective_usd == pytest.approx(950.0 + 1000.0, abs=1e-6)


OFTEN_CALLED = np.random.default_rng(3).random((12, 72)) < np.repeat([0.0, 0.05, 0.3], 24)
"""DR calls: none in the first period, 5 % of hours in the second, 30 % in the third."""

VARIANTS = {
    "dr": {},
    "dr_cheap": {"dr_price_usd_per_mw_h": np.full(72, 8.0), "dr_deployed": OFTEN_CALLED},
    "no_dr": {"dr_max_mw": 0.0},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("budget", [False, True])
def test_extensive_form_and_decomposition_agree(variant, budget):
    term = synthetic_term(**VARIANTS[variant])
    options = FAST
    if budget:  # a budget between the hedged and the unhedged CVaR
        free = solve_extensive(term, options)
        cvar = var_cvar(free.scenario_cost_usd, term.problem.probabilities, options.alpha)[1]
        options = dataclasses.replace(FAST, cvar_budget_usd=cvar * 1.01)
    ef = solve_extensive(term, options)
    dec = solve_decomposed(term, options, relative_gap=1e-8)
    assert dec.objective_usd == pytest.approx(ef.objective_usd, rel=1e-6)
    assert dec.lower_bound_usd <= dec.objective_usd + 1e-6
    # the reported objective is E[C] (+ lambda CVaR) of the reported scenario costs
    p = term.problem.probabilities
    cvar = var_cvar(dec.scenario_cost_usd, p, options.alpha)[1]
    expected = p @ dec.scenario_cost_usd + (0.0 if budget else options.cvar_weight * cvar)
    assert dec.objective_usd == pytest.approx(expected, rel=1e-9)
    if budget:
        assert cvar <= options.cvar_budget_usd * (1 + 1e-7)


def test_cheap_dr_is_committed_in_part():
    """At $8/MW-h DR called in 30 % of a period's hours is not worth committing in full there,
    and the decomposition needs more than one cut round."""
    term = synthetic_term(**VARIANTS["dr_cheap"])
    dec = solve_decomposed(term, FAST)
    assert np.any(dec.dr_by_period_mw < term.dr_cap_mw() - 1e-6)
    assert dec.iterations > 1


def test_cuts_are_valid_lower_bounds():
    """Q_s is convex in the commitment: the cut at y0 lies below Q_s at any other y."""
    term = synthetic_term()
    solver = OperationsSolver(term, FAST, np.arange(term.problem.n_scenarios))
    rng = np.random.default_rng(5)
    cap = term.dr_cap_mw()
    for _ in range(3):
        y0, y1 = rng.uniform(0, cap), rng.uniform(0, cap)
        q0, g0 = solver.solve(y0)
        q1, _ = solver.solve(y1)
        assert np.all(q1 >= q0 + g0 @ (y1 - y0).ravel() - 1e-6 * np.abs(q1))
    # and the subgradient is the slope of Q_s where Q_s is linear (a tiny step)
    y = rng.uniform(0.2, 0.8) * cap
    q, g = solver.solve(y)
    step = np.zeros_like(y)
    step[0, 1] = 1e-4
    q_up, _ = solver.solve(y + step)
    np.testing.assert_allclose((q_up - q) / 1e-4, g[:, 1], rtol=1e-4, atol=1e-3)


def test_operating_costs_do_not_depend_on_hedges():
    """Without DR commitments the hedges do not change the best operation: the joint LP's
    operating costs equal each scenario's operations solved alone, with no products."""
    term = synthetic_term(dr_max_mw=0.0)
    ef = solve_extensive(term, FAST)
    alone, _ = OperationsSolver(term, FAST, np.arange(term.problem.n_scenarios)).solve(
        np.zeros(term.n_periods)
    )
    np.testing.assert_allclose(ef.operating_cost_usd, alone, rtol=1e-9)
    assert np.any(np.abs(ef.product_mw) > 1.0)  # the hedges did trade


def test_size_estimate_equals_the_built_extensive_form():
    terms = [synthetic_term(), synthetic_term(dr_max_mw=0.0), two_product_term()]
    for term in terms:
        size = term_size(term, FAST)["extensive_form"]
        lp = extensive_form(term, FAST)
        assert (size["columns"], size["rows"]) == (lp.cols.n, lp.rows.n)
        assert size["nonzeros"] == lp.structural_nonzeros


def test_extensive_form_guard_names_the_decomposed_engine():
    term = synthetic_term()
    with pytest.raises(SolverError, match="--engine decomposed"):
        solve_extensive(term, dataclasses.replace(FAST, max_nonzeros=1000))


def test_two_bundles_equal_one():
    term = synthetic_term(**VARIANTS["dr_cheap"])
    one = solve_decomposed(term, FAST)
    two = solve_decomposed(term, FAST, workers=2)
    assert two.record["workers"] == 2
    assert two.objective_usd == pytest.approx(one.objective_usd, rel=1e-9)
    np.testing.assert_allclose(two.operating_cost_usd, one.operating_cost_usd, rtol=1e-9)


def test_warm_start_from_the_last_commitment():
    term = synthetic_term(**VARIANTS["dr_cheap"])
    cold = solve_decomposed(term, FAST)
    warm = solve_decomposed(term, FAST, start_dr_mw=cold.dr_by_period_mw)
    assert warm.objective_usd == pytest.approx(cold.objective_usd, rel=1e-7)
    assert warm.iterations < cold.iterations


def test_ladder_equals_the_operations_lp_when_hour_separable():
    """Without ramps, requirements or stop costs the ladder on the full schedule is each
    scenario's least operating cost: the vectorised path equals the per-scenario LPs."""
    base = synthetic_term(**VARIANTS["dr_cheap"])
    training = base.problem.flex[0]
    term = TermProblem(
        dataclasses.replace(base.problem, flex=(training,)),
        base.period_of_interval,
        base.period_labels,
    )
    assert term.hour_separable and not base.hour_separable
    y = np.array([[20.0, 7.5, 0.0]])
    lp, _ = OperationsSolver(term, FAST, np.arange(term.problem.n_scenarios)).solve(y)
    np.testing.assert_allclose(operating_costs(term, y, FAST), lp, rtol=1e-9)


def two_product_term() -> TermProblem:
    """The cheap-DR term with a second DR/AS product: its own price, calls (some in the same
    hours as the first's), limit and penalty."""
    base = synthetic_term(**VARIANTS["dr_cheap"])
    p = base.problem
    rng = np.random.default_rng(8)
    second_calls = rng.random(p.dr_deployed.shape[1:]) < 0.02
    problem = dataclasses.replace(
        p,
        dr_price_usd_per_mw_h=np.stack([p.dr_price_usd_per_mw_h[0], np.full((12, 72), 30.0)]),
        dr_deployed=np.stack([p.dr_deployed[0], second_calls | p.dr_deployed[0]]),
        dr_max_mw=np.array([20.0, 45.0]),
        dr_penalty_usd_per_mwh=np.array([2000.0, 500.0]),
        dr_names=("slow", "fast"),
    )
    return TermProblem(problem, base.period_of_interval, base.period_labels)


def test_two_products_share_the_curtailable_room():
    """Two DR/AS products with their own prices and calls: each period's commitments together
    stay within what can be curtailed (the room), and both engines agree."""
    term = two_product_term()
    room = term.dr_room_mw()
    np.testing.assert_allclose(term.dr_cap_mw(), np.minimum([[20.0], [45.0]], room))
    ef = solve_extensive(term, FAST)
    dec = solve_decomposed(term, FAST, relative_gap=1e-8)
    assert dec.objective_usd == pytest.approx(ef.objective_usd, rel=1e-6)
    assert dec.dr_by_period_mw.shape == (2, 3)
    assert np.all(dec.dr_by_period_mw.sum(axis=0) <= room + 1e-6)
    assert np.any(np.isclose(dec.dr_by_period_mw.sum(axis=0), room))  # the room binds
