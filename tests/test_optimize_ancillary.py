"""Several DR/AS products offered together by the same curtailable load, by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from energyhedge.model.cost import cost_breakdown, dr_product_lines
from energyhedge.model.problem import FlexClass, HedgeProblem
from energyhedge.optimize import SolveOptions, build_lp, model_size, solve
from energyhedge.optimize.synthetic import synthetic_problem

EXPECTED_COST = SolveOptions(cvar_weight=0.0, marginals=False)


def _two_products() -> HedgeProblem:
    """One hour, two equally likely scenarios at 50 and 300 $/MWh; 10 MW firm and a 40 MW class
    worth 400 $/MWh at any power (linear curve), curtailable in real time. Product "rrs" pays
    80 $/MW-h, penalty 1,000 $/MWh; "nspin" pays 40 $/MW-h, penalty 50 $/MWh; at most 30 MW
    each; both called in the 300 $/MWh scenario."""
    flex = FlexClass(
        name="train",
        max_mw=np.array([40.0]),
        gpu_hours_per_mwh=100.0,
        value_usd_per_gpu_hour=4.0,
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
    )
    called = np.array([[False, True]]).T  # [S, T]
    return HedgeProblem(
        interval_start_utc=np.array(["2023-08-17T22:00"], dtype="datetime64[us]"),
        interval_hours=np.ones(1),
        prices_usd_per_mwh=np.array([[50.0], [300.0]]),
        probabilities=np.array([0.5, 0.5]),
        firm_load_mw=np.array([10.0]),
        firm_gpu_hours=np.zeros(1),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(flex,),
        grid_limit_mw=100.0,
        products=(),
        dr_price_usd_per_mw_h=np.array([80.0, 40.0])[:, None, None] * np.ones((2, 2, 1)),
        dr_max_mw=np.array([30.0, 30.0]),
        dr_deployed=np.stack([called, called]),
        dr_penalty_usd_per_mwh=np.array([1_000.0, 50.0]),
        cp_weight_usd_per_mw=np.zeros((2, 1)),
        dr_names=("rrs", "nspin"),
    )


# Per MW offered: rrs earns 80 and, called with probability 0.5, is delivered by shedding work
# worth 400 at 300 $/MWh (net 100 $/MWh, below its 1,000 penalty): 80 - 0.5 x 100 = 30 > 0.
# nspin earns 40 and, called, pays its 50 penalty rather than shed (100 > 50): 40 - 25 = 15 > 0.
# Both want their 30 MW, but together they are at most the 40 MW the class can shed: rrs 30,
# nspin 10.
# Scenario 50 $/MWh: energy 50 x 50 = 2,500, revenue 80 x 30 + 40 x 10 = 2,800: C = -300.
# Scenario 300 $/MWh: the class sheds 30 MW for rrs: energy 20 x 300 = 6,000, work lost
#   30 x 400 = 12,000, revenue 2,800, nspin's 10 MW undelivered 10 x 50 = 500: C = 15,700.
# E[C] = 7,700. (Were the shortfall free to fall on the cheaper penalty, the class would run
# and nspin pay for all 40 MW: 15,000 - 2,800 + 2,000 = 14,200: each shortfall is at most its
# own offer.)


def test_two_products_share_the_curtailable_load_by_hand():
    problem = _two_products()
    sol = solve(problem, EXPECTED_COST)
    np.testing.assert_allclose(sol.decision.dr_mw, [[30.0], [10.0]], atol=1e-6)
    assert sol.objective_usd == pytest.approx(7_700.0, abs=1e-6)
    np.testing.assert_allclose(sol.scenario_cost_usd, [-300.0, 15_700.0], atol=1e-6)
    # the ladder serves the highest penalty first: the same recourse as the LP's
    ladder = cost_breakdown(problem, sol.decision)
    np.testing.assert_allclose(ladder.total_cost_usd, [-300.0, 15_700.0], atol=1e-6)
    np.testing.assert_allclose(ladder.dr_penalty_usd, [0.0, 500.0], atol=1e-6)


def test_each_products_lines_by_hand():
    problem = _two_products()
    decision = solve(problem, EXPECTED_COST).decision
    lines = dr_product_lines(problem, decision)
    assert lines.names == ("rrs", "nspin")
    np.testing.assert_allclose(lines.revenue_usd, [[2_400.0] * 2, [400.0] * 2], atol=1e-6)
    np.testing.assert_allclose(lines.penalty_usd, [[0.0, 0.0], [0.0, 500.0]], atol=1e-6)
    np.testing.assert_allclose(lines.called_mwh, [[0.0, 30.0], [0.0, 10.0]], atol=1e-6)
    np.testing.assert_allclose(lines.delivered_mwh, [[0.0, 30.0], [0.0, 0.0]], atol=1e-6)
    # rrs's call sheds 30 MW of work worth 400 and saves 30 MWh at 300; without nspin's call
    # nothing changes (it is not delivered).
    np.testing.assert_allclose(lines.work_cost_usd, [[0.0, 12_000.0], [0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(lines.energy_saved_usd, [[0.0, 9_000.0], [0.0, 0.0]], atol=1e-6)
    total = cost_breakdown(problem, decision)
    np.testing.assert_allclose(lines.revenue_usd.sum(axis=0), total.dr_revenue_usd)
    np.testing.assert_allclose(lines.penalty_usd.sum(axis=0), total.dr_penalty_usd)


def _several_products(seed: int) -> HedgeProblem:
    """The synthetic campus with three DR/AS products at random prices, triggers, penalties."""
    base = synthetic_problem(12, 10, seed=seed)
    rng = np.random.default_rng(seed)
    a_n, (s_n, t_n) = 3, base.prices_usd_per_mwh.shape
    triggers = np.quantile(base.prices_usd_per_mwh, [0.7, 0.8, 0.9])
    return dataclasses.replace(
        base,
        dr_price_usd_per_mw_h=rng.uniform(2.0, 30.0, (a_n, s_n, t_n)),
        dr_max_mw=np.array([15.0, 10.0, 20.0]),
        dr_deployed=base.prices_usd_per_mwh[None] >= triggers[:, None, None],
        dr_penalty_usd_per_mwh=np.array([2_000.0, 300.0, 800.0]),
        dr_names=("rrs", "ecrs", "nspin"),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_several_products_equal_the_pyomo_reference(seed):
    from energyhedge.optimize.pyomo_model import solve_pyomo  # noqa: PLC0415 (slow import)

    problem = _several_products(seed)
    assert problem.dr_deployed.any(axis=(1, 2)).all()  # each product is called somewhere
    options = SolveOptions(marginals=False)
    sol = solve(problem, options)
    assert sol.objective_usd == pytest.approx(solve_pyomo(problem, options)["objective_usd"])
    assert np.all(sol.decision.dr_mw.sum(axis=1) > 0)  # every product is offered
    offered = sol.decision.dr_mw.sum(axis=0)
    curtailable = sum(
        sol.decision.schedule_mw[j] for j, f in enumerate(problem.flex) if f.rt_curtailable
    )
    assert np.all(offered <= curtailable + 1e-6)


def test_one_product_builds_the_same_model_as_before():
    # A [S, T] programme is one product: no per-product shortfall rows, the same size.
    problem = synthetic_problem(24, 10, seed=3)
    assert problem.n_dr == 1 and problem.dr_deployed.shape == (1, 10, 24)
    lp = build_lp(problem, EXPECTED_COST)
    assert "drshort" not in lp.rows.blocks and lp.cols["r"].shape == (1, 24)
    several = _several_products(3)
    size = model_size(several, EXPECTED_COST)
    lp = build_lp(several, EXPECTED_COST)
    assert (size["rows"], size["columns"], size["nonzeros"]) == (
        lp.rows.n,
        lp.cols.n,
        lp.structural_nonzeros,
    )
    assert lp.rows["drshort"].size == lp.cols["d"].size == int(several.dr_deployed.sum())
