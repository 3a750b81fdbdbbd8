"""The optimiser against hand-solved optima, invariances, and the Pyomo and cvxpy formulations."""

from __future__ import annotations

import dataclasses

import highspy
import numpy as np
import pytest

from energyhedge.errors import ConfigError, InfeasibleError, SolverError
from energyhedge.model.cost import cost_breakdown, product_cash_usd
from energyhedge.model.measures import tail_weights, var_cvar
from energyhedge.model.problem import FlexClass, HedgeProblem, Product
from energyhedge.optimize import (
    SolveOptions,
    build_lp,
    frontier,
    min_cvar_usd,
    model_size,
    solve,
)
from energyhedge.optimize.cvx_frontier import hedge_frontier_cvxpy
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import COST_UNIT_USD, objective_k_usd
from energyhedge.optimize.notional import least_notional_mw
from energyhedge.optimize.pyomo_model import solve_pyomo
from energyhedge.optimize.synthetic import synthetic_problem

FAST = SolveOptions(marginals=False)


def tiny_problem(prices, *, firm_mw=1.0, flex=(), products=(), probabilities=None, grid=1e3):
    """A HedgeProblem over hourly intervals with no DR and no coincident-peak exposure."""
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    s, t = prices.shape
    return HedgeProblem(
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=prices,
        probabilities=np.full(s, 1.0 / s) if probabilities is None else np.asarray(probabilities),
        firm_load_mw=np.full(t, firm_mw),
        firm_gpu_hours=np.zeros(t),
        firm_value_usd_per_gpu_hour=0.0,
        flex=tuple(flex),
        grid_limit_mw=grid,
        products=tuple(products),
        dr_price_usd_per_mw_h=np.zeros(t),
        dr_max_mw=0.0,
        dr_deployed=np.zeros((s, t), dtype=bool),
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=np.zeros((s, t)),
    )


def product(name, kind, payoff, premium, *, fair=None, bid=None, min_mw=0.0, max_mw=2.0):
    """A product over the tiny problems' horizon; ``bid`` None sells at the ask (no spread)."""
    return Product(
        name,
        kind,
        np.asarray(payoff, dtype=float),
        premium_usd_per_mw=premium,
        fair_premium_usd_per_mw=premium if fair is None else fair,
        sale_premium_usd_per_mw=bid,
        min_mw=min_mw,
        max_mw=max_mw,
    )


def call(payoff, premium, max_mw=2.0) -> Product:
    return product("call", "call", payoff, premium, max_mw=max_mw)


def linear_class(max_mw, t, **kw) -> FlexClass:
    return FlexClass(
        name=kw.pop("name", "training"),
        max_mw=np.full(t, float(max_mw)),
        gpu_hours_per_mwh=800.0,
        value_usd_per_gpu_hour=kw.pop("value", 2.0),
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
        **kw,
    )


@pytest.fixture(scope="module")
def small():
    return synthetic_problem(24, 60, seed=3)


def test_hand_solved_call_hedge():
    # Costs [10 + 60x, 110 - 40x]; E = 60 + 10x; CVaR_0.5 = max of the two: optimum x = 1.
    problem = tiny_problem([[10.0], [110.0]], products=[call([0.0, 100.0], 60.0)])
    sol = solve(problem, SolveOptions(alpha=0.5, cvar_weight=1.0))
    assert sol.decision.product_mw[0] == pytest.approx(1.0, abs=1e-7)
    assert sol.objective_usd == pytest.approx(140.0, rel=1e-9)
    assert sol.expected_cost_usd == pytest.approx(70.0, rel=1e-9)
    assert sol.cvar_usd == pytest.approx(70.0, rel=1e-9)
    risk_neutral = solve(problem, SolveOptions(alpha=0.5, cvar_weight=0.0))
    assert risk_neutral.decision.product_mw[0] == pytest.approx(0.0, abs=1e-9)
    assert risk_neutral.objective_usd == pytest.approx(60.0, rel=1e-9)


def test_solve_prints_nothing(capfd):
    # Cron mails whatever a run prints; the HiGHS banner and log must stay silent.
    solve(tiny_problem([[10.0], [110.0]]), SolveOptions())
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_hand_solved_curtailment_and_flex_value():
    # 10 MW of training worth $1,600/MWh; it runs at $50 and stops at $3,000.
    flex = linear_class(10.0, 1)
    problem = tiny_problem([[50.0], [3000.0]], firm_mw=5.0, flex=[flex])
    sol = solve(problem, SolveOptions(cvar_weight=0.0))
    assert sol.power_mw[0, :, 0] == pytest.approx([10.0, 0.0], abs=1e-7)
    # cost: firm 5 MW at the price, plus flex energy or the value of its lost work
    want = np.array([5 * 50 + 10 * 50, 5 * 3000 + 10 * 1600.0])
    np.testing.assert_allclose(sol.scenario_cost_usd, want, rtol=1e-12)
    assert sol.objective_usd == pytest.approx(want.mean(), rel=1e-9)
    # the decision follows the real-time ladder, which here runs at $50 and stops at $3,000
    assert sol.decision.follows_ladder
    ladder = cost_breakdown(problem, sol.decision).total_cost_usd
    np.testing.assert_allclose(ladder, want, rtol=1e-12)
    # one more flexible MW saves (3,000 - 1,600) $ in half the scenarios
    assert sol.flex_value_usd_per_mw["training"] == pytest.approx(700.0, rel=1e-7)


def test_no_products_no_flex_cost_is_load_times_price(small):
    bare = dataclasses.replace(small, flex=(), products=(), dr_max_mw=0.0)
    sol = solve(bare, FAST)
    h = bare.interval_hours
    want = (h * bare.prices_usd_per_mwh * bare.firm_load_mw).sum(axis=1) + (
        bare.cp_weight_usd_per_mw * bare.firm_load_mw
    ).sum(axis=1)
    np.testing.assert_allclose(sol.scenario_cost_usd, want, rtol=1e-12)
    lp = build_lp(bare, FAST)
    # the LP's own cost columns agree (to the solver's tolerance)
    values = HighsRunner(lp, {}, 30).run().values
    np.testing.assert_allclose(values[lp.cols["c"].idx] * COST_UNIT_USD, want, rtol=1e-9)


def test_lp_cost_rows_match_independent_evaluation(small):
    lp = build_lp(small, FAST)
    result = HighsRunner(lp, {}, 60).run()
    sol = solve(small, FAST)
    lp_cost = result.values[lp.cols["c"].idx] * COST_UNIT_USD
    np.testing.assert_allclose(lp_cost, sol.scenario_cost_usd, rtol=1e-7, atol=1e-3)
    assert sol.objective_usd == pytest.approx(sol.expected_cost_usd + sol.cvar_usd, rel=1e-7)
    assert sol.cvar_usd >= sol.var_usd - 1e-6
    assert sol.cvar_usd >= sol.expected_cost_usd - 1e-6


def test_fair_zero_loading_product_never_worsens(small):
    without = dataclasses.replace(small, products=small.products[1:])
    block = small.products[0]
    assert block.premium_usd_per_mw == pytest.approx(small.probabilities @ block.payoff_usd_per_mw)
    for lam in (0.0, 1.0):
        opts = dataclasses.replace(FAST, cvar_weight=lam)
        with_obj = solve(small, opts).objective_usd
        without_obj = solve(without, opts).objective_usd
        if lam == 0.0:  # a fair block changes no expectation: same optimum
            assert with_obj == pytest.approx(without_obj, rel=1e-9)
        else:
            assert with_obj <= without_obj * (1 + 1e-9)
            assert with_obj < without_obj * 0.999  # and it does reduce risk here


def test_scaling_all_dollar_amounts_scales_costs(small):
    k = 3.0
    scaled = dataclasses.replace(
        small,
        prices_usd_per_mwh=small.prices_usd_per_mwh * k,
        cp_weight_usd_per_mw=small.cp_weight_usd_per_mw * k,
        dr_price_usd_per_mw_h=small.dr_price_usd_per_mw_h * k,
        dr_penalty_usd_per_mwh=small.dr_penalty_usd_per_mwh * k,
        flex=tuple(
            dataclasses.replace(
                f,
                value_usd_per_gpu_hour=f.value_usd_per_gpu_hour * k,
                unserved_usd_per_gpu_hour=f.unserved_usd_per_gpu_hour * k,
            )
            for f in small.flex
        ),
        products=tuple(
            dataclasses.replace(
                p,
                payoff_usd_per_mw=p.payoff_usd_per_mw * k,
                premium_usd_per_mw=p.premium_usd_per_mw * k,
            )
            for p in small.products
        ),
    )
    base, big = solve(small, FAST), solve(scaled, FAST)
    assert big.objective_usd == pytest.approx(k * base.objective_usd, rel=1e-8)
    assert big.cvar_usd == pytest.approx(k * base.cvar_usd, rel=1e-6)


def test_permuting_scenarios_changes_nothing(small):
    perm = np.random.default_rng(7).permutation(small.n_scenarios)
    shuffled = dataclasses.replace(
        small,
        prices_usd_per_mwh=small.prices_usd_per_mwh[perm],
        probabilities=small.probabilities[perm],
        dr_deployed=small.dr_deployed[:, perm],
        cp_weight_usd_per_mw=small.cp_weight_usd_per_mw[perm],
        products=tuple(
            dataclasses.replace(p, payoff_usd_per_mw=p.payoff_usd_per_mw[perm])
            for p in small.products
        ),
    )
    a, b = solve(small, FAST), solve(shuffled, FAST)
    assert b.objective_usd == pytest.approx(a.objective_usd, rel=1e-8)
    assert b.cvar_usd == pytest.approx(a.cvar_usd, rel=1e-6)
    np.testing.assert_allclose(
        np.sort(b.scenario_cost_usd), np.sort(a.scenario_cost_usd), rtol=1e-6
    )


def test_raising_lambda_never_raises_cvar(small):
    points = frontier(small, [0.0, 0.25, 1.0, 4.0, 20.0], FAST)
    cvar = np.array([p.cvar_usd for p in points])
    mean = np.array([p.expected_cost_usd for p in points])
    assert np.all(np.diff(cvar) <= 1e-6 * cvar[0])
    assert np.all(np.diff(mean) >= -1e-6 * mean[0])
    assert cvar[-1] < cvar[0]
    # the warm re-solve gives the same optimum as a fresh solve
    fresh = solve(small, dataclasses.replace(FAST, cvar_weight=1.0))
    assert points[2].objective_usd == pytest.approx(fresh.objective_usd, rel=1e-7)


@pytest.mark.parametrize(("intervals", "scenarios"), [(24, 40), (48, 90)])
def test_fast_path_equals_pyomo(intervals, scenarios):
    problem = synthetic_problem(intervals, scenarios, seed=intervals)
    for options in (FAST, dataclasses.replace(FAST, alpha=0.9, cvar_weight=2.5)):
        fast = solve(problem, options)
        ref = solve_pyomo(problem, options)
        assert fast.objective_usd == pytest.approx(ref["objective_usd"], rel=1e-6)
        np.testing.assert_allclose(
            fast.scenario_cost_usd, ref["scenario_cost_usd"], rtol=1e-5, atol=1.0
        )


def test_budget_form_equals_pyomo_and_dual_is_marginal_cost(small):
    # hedges cost $3/MWh over fair value either way, so lower CVaR costs expected dollars
    hours = float(small.interval_hours.sum())
    loaded = dataclasses.replace(
        small,
        products=tuple(
            dataclasses.replace(
                p,
                premium_usd_per_mw=p.fair_premium_usd_per_mw + 3.0 * hours,
                sale_premium_usd_per_mw=p.fair_premium_usd_per_mw - 3.0 * hours,
            )
            for p in small.products
        ),
    )
    unhedged = solve(loaded, dataclasses.replace(FAST, cvar_weight=0.0))
    floor = min_cvar_usd(loaded, FAST)
    assert floor < unhedged.cvar_usd * 0.9
    budget = 0.5 * (floor + unhedged.cvar_usd)
    opts = dataclasses.replace(FAST, cvar_budget_usd=budget)
    sol = solve(loaded, opts)
    assert sol.cvar_usd == pytest.approx(budget, rel=1e-6)
    assert sol.expected_cost_usd > unhedged.expected_cost_usd
    assert sol.objective_usd == pytest.approx(solve_pyomo(loaded, opts)["objective_usd"], rel=1e-6)
    step = budget * 1e-5
    tighter = solve(loaded, dataclasses.replace(FAST, cvar_budget_usd=budget - step))
    finite_difference = (tighter.objective_usd - sol.objective_usd) / step
    assert sol.cvar_budget_price_usd_per_usd > 0
    assert sol.cvar_budget_price_usd_per_usd == pytest.approx(finite_difference, rel=1e-3)


@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul:RuntimeWarning")
def test_hedge_only_frontier_equals_cvxpy():
    rng = np.random.default_rng(5)
    prices = 40 * rng.lognormal(0, 0.6, (80, 6))
    payoff_call = np.maximum(prices - 60, 0).sum(axis=1)
    payoff_block = (prices - prices.mean()).sum(axis=1)
    payoff_put = np.maximum(30 - prices, 0).sum(axis=1)
    spread = 0.5 * prices.shape[1]  # $0.50/MWh each side of the block's mid
    fair_put = payoff_put.mean()
    products = [
        product("call", "call", payoff_call, payoff_call.mean() * 1.05, max_mw=50.0),
        product("block", "block", payoff_block, spread, bid=-spread, min_mw=-20.0, max_mw=20.0),
        product("put", "put", payoff_put, fair_put * 1.05, bid=fair_put * 0.95, min_mw=-50.0),
    ]
    problem = tiny_problem(prices, firm_mw=30.0, products=products)
    base = (prices * 30.0).sum(axis=1)
    lambdas = [0.0, 0.5, 3.0]
    ref = hedge_frontier_cvxpy(
        base,
        np.array([p.premium_usd_per_mw for p in products]),
        np.array([p.bid_usd_per_mw for p in products]),
        np.stack([p.payoff_usd_per_mw for p in products], axis=1),
        problem.probabilities,
        alpha=0.95,
        lambdas=lambdas,
        min_mw=np.array([0.0, -20.0, -50.0]),
        max_mw=np.array([50.0, 20.0, 2.0]),
    )
    ours = frontier(problem, lambdas, SolveOptions(alpha=0.95, marginals=False))
    for mine, theirs in zip(ours, ref, strict=True):
        assert mine.objective_usd == pytest.approx(theirs["objective_usd"], rel=1e-6)
        assert mine.cvar_usd == pytest.approx(theirs["cvar_usd"], rel=1e-5)
    # at lambda 3 the campus buys blocks and sells puts (a collar), at lambda 0 it trades nothing
    assert ours[-1].product_mw[1] > 1.0 and ours[-1].product_mw[2] < -1.0
    np.testing.assert_allclose(ref[-1]["product_mw"], ours[-1].product_mw, atol=1e-5)
    np.testing.assert_allclose(ours[0].product_mw, 0.0, atol=1e-9)


def test_product_cvar_attribution_adds_up(small):
    sol = solve(small, FAST)
    cash = product_cash_usd(small, sol.decision.product_mw)
    assert np.abs(sol.decision.product_mw).max() > 1.0  # something is held
    for k in range(len(small.products)):
        assert sol.product_cvar_without_usd[k] == pytest.approx(
            var_cvar(sol.scenario_cost_usd - cash[:, k], small.probabilities, sol.alpha)[1],
            rel=1e-12,
        )
    rest = sol.scenario_cost_usd - cash.sum(axis=1)
    w = tail_weights(sol.scenario_cost_usd, small.probabilities, sol.alpha)
    assert w @ rest + sol.product_cvar_contribution_usd.sum() == pytest.approx(sol.cvar_usd)


def test_infeasible_firm_load_above_grid_limit():
    problem = tiny_problem([[30.0, 40.0]], firm_mw=130.0, grid=120.0)
    with pytest.raises(InfeasibleError, match=r"firm load 130.0 MW .* grid limit 120.0 MW"):
        solve(problem, FAST)


def test_infeasible_work_requirement_explained():
    flex = linear_class(
        40.0, 24, work_requirement_gpu_hours=1920 * 800.0, unserved_usd_per_gpu_hour=np.inf
    )
    problem = tiny_problem(np.full((2, 24), 30.0), flex=[flex])
    with pytest.raises(InfeasibleError) as info:
        solve(problem, FAST)
    message = str(info.value)
    assert "work requirement 1,920 MWh" in message
    assert "40 MW of training can run in 24 h" in message
    assert message.endswith("960 MWh; lower the requirement or allow unserved work")


def test_infeasible_ramp_explained_by_solver_status():
    # 24 MWh needed in 2 h from a class that may rise only 1 MW/h from 0: the check passes,
    # the solver finds it infeasible.
    flex = FlexClass(
        "batch",
        np.array([0.0, 20.0, 20.0]),
        800.0,
        1.0,
        np.array([0.0, 1.0]),
        np.array([0.0, 1.0]),
        ramp_mw_per_h=1.0,
        work_requirement_gpu_hours=24 * 800.0,
        unserved_usd_per_gpu_hour=np.inf,
    )
    problem = tiny_problem(np.full((2, 3), 30.0), flex=[flex])
    with pytest.raises(InfeasibleError, match=r"hard work requirements of batch.*ramp limits"):
        solve(problem, FAST)


def test_budget_below_reachable_cvar_explained(small):
    floor = solve(small, dataclasses.replace(FAST, cvar_weight=1e4)).cvar_usd
    with pytest.raises(InfeasibleError, match="below the lowest CVaR") as info:
        solve(small, dataclasses.replace(FAST, cvar_budget_usd=floor * 0.9))
    reported = float(
        str(info.value).split("reach at alpha 0.95: $")[1].split(";")[0].replace(",", "")
    )
    assert reported == pytest.approx(floor, rel=1e-3)


def test_non_concave_curve_rejected():
    flex = dataclasses.replace(
        linear_class(10.0, 1),
        curve_power_frac=np.array([0, 0.5, 1.0]),
        curve_work_frac=np.array([0, 0.3, 1.0]),
    )
    with pytest.raises(ConfigError, match=r"'training'.* not concave"):
        solve(tiny_problem([[30.0]], flex=[flex]), FAST)


def test_time_limit_without_solution_is_a_solver_error(small):
    with pytest.raises(SolverError, match="time limit"):
        solve(small, dataclasses.replace(FAST, time_limit_s=1e-6))


@pytest.mark.parametrize(
    ("dr_price", "offered_mw", "objective"), [(1000.0, 5.0, -500.0), (10.0, 0.0, 750.0)]
)
def test_hand_solved_dr_offer(dr_price, offered_mw, objective):
    # 10 MW of training (break-even $1,600/MWh) at $50 and $100; DR is called in scenario 2.
    # Offering r MW earns dr_price * r and costs (1,600 - 100) * r in half the scenarios.
    problem = dataclasses.replace(
        tiny_problem([[50.0], [100.0]], firm_mw=0.0, flex=[linear_class(10.0, 1)]),
        dr_price_usd_per_mw_h=np.array([dr_price]),
        dr_max_mw=5.0,
        dr_deployed=np.array([[False], [True]]),
        dr_penalty_usd_per_mwh=5000.0,
    )
    sol = solve(problem, SolveOptions(cvar_weight=0.0))
    assert sol.decision.dr_mw[0] == pytest.approx(offered_mw, abs=1e-7)
    assert sol.objective_usd == pytest.approx(objective, rel=1e-9)
    assert sol.power_mw[0, :, 0] == pytest.approx([10.0, 10.0 - offered_mw], abs=1e-7)


def test_collinear_products_reduce_to_least_notional():
    rng = np.random.default_rng(4)
    prices = 40 * rng.lognormal(0, 0.5, (50, 24))
    peak, off = np.zeros(24, bool), np.zeros(24, bool)
    peak[7:23], off[:7], off[23:] = True, True, True
    fwd = prices.mean(axis=0)

    def block(name, mask):
        payoff = ((prices - fwd) * mask).sum(axis=1)
        return product(name, "block", payoff, 0.0, min_mw=-100.0, max_mw=100.0)

    inert = product("weekend", "block", np.zeros(50), 0.0, min_mw=-100.0, max_mw=100.0)
    products = [block("peak", peak), block("offpeak", off), block("all", peak | off), inert]
    problem = tiny_problem(prices, firm_mw=50.0, products=products)
    reduced = least_notional_mw(problem, np.array([5.0, 5.0, 0.0, -30.0]))
    np.testing.assert_allclose(reduced, [0, 0, 5, 0], atol=1e-9)
    sol = solve(problem, SolveOptions(alpha=0.9, cvar_weight=1.0, marginals=False))
    x = sol.decision.product_mw
    assert np.count_nonzero(np.abs(x[:3]) > 1e-6) <= 2  # never all three of a collinear set
    assert x[3] == 0.0


def test_oversized_model_refused_before_building(small):
    size = model_size(small, FAST)
    limit = dataclasses.replace(FAST, max_nonzeros=size["nonzeros"] - 1)
    with pytest.raises(SolverError, match=rf"{size['columns']:,} columns.*--engine decomposed"):
        solve(small, limit)
    assert solve(small, dataclasses.replace(limit, max_nonzeros=size["nonzeros"])).status == (
        "Optimal"
    )


def test_unbounded_underpriced_product_explained():
    cheap = product("cheap_call", "call", [0.0, 100.0], 10.0, fair=50.0, max_mw=np.inf)
    problem = tiny_problem([[10.0], [110.0]], products=[cheap])
    with pytest.raises(SolverError, match=r"unbounded: products without a finite MW limit \(cheap"):
        solve(problem, SolveOptions(cvar_weight=0.0, marginals=False))


def test_perfect_hedge_removes_variance():
    rng = np.random.default_rng(8)
    prices = 30 * rng.lognormal(0, 0.7, (40, 12))
    forward = 45.0
    block = product("block_7x24", "block", (prices - forward).sum(axis=1), 0.0, max_mw=100.0)
    problem = tiny_problem(prices, firm_mw=20.0, products=[block])
    sol = solve(problem, SolveOptions(alpha=0.95, cvar_weight=1.0, marginals=False))
    assert sol.decision.product_mw[0] == pytest.approx(20.0, rel=1e-9)
    np.testing.assert_allclose(sol.scenario_cost_usd, 20.0 * forward * 12, rtol=1e-12)
    assert sol.cvar_usd == pytest.approx(sol.expected_cost_usd, rel=1e-12)


def test_numerical_failure_retries_with_the_other_algorithm(small):
    lp = build_lp(small, FAST)
    runner = HighsRunner(lp, {"solver": "simplex", "presolve": "off"}, 60)
    real = runner.highs

    class FailsOnce:
        """The real HiGHS, except that its first solve reports a numerical failure."""

        calls = 0

        def __getattr__(self, name):
            return getattr(real, name)

        def getModelStatus(self):
            FailsOnce.calls += 1
            if FailsOnce.calls == 1:
                return highspy.HighsModelStatus.kSolveError
            return real.getModelStatus()

    runner.highs = FailsOnce()
    result = runner.run()
    assert result.optimal
    assert result.record["attempts"] == ["simplex: Solve error", "ipm: Optimal"]
    assert result.record["options"]["solver"] == "ipm"
    objective_usd = objective_k_usd(lp, result.record["objective"], result.values) * COST_UNIT_USD
    assert objective_usd == pytest.approx(solve(small, FAST).objective_usd, rel=1e-7)


def test_time_limit_with_a_feasible_point_returns_it_with_a_note(small, monkeypatch):
    lp = build_lp(small, FAST)
    runner = HighsRunner(lp, {}, 60)
    real = runner.highs

    class StopsAtLimit:
        """The real HiGHS, except that it reports the time limit after finding its point."""

        def __getattr__(self, name):
            return getattr(real, name)

        def getModelStatus(self):
            return highspy.HighsModelStatus.kTimeLimit

    runner.highs = StopsAtLimit()
    result = runner.run()
    assert result.status == "Time limit reached" and not result.optimal
    assert result.record["attempts"] == ["choose: Time limit reached"]  # no retry

    monkeypatch.setattr(HighsRunner, "run", lambda self: result)
    sol = solve(small, SolveOptions(marginals=True))
    assert sol.status == "Time limit reached"
    assert sol.notes[0].startswith("HiGHS stopped early (Time limit reached)")
    assert sol.flex_value_usd_per_mw == {}  # no re-solves on a stopped run
    assert sol.objective_usd == pytest.approx(solve_pyomo(small, FAST)["objective_usd"], rel=1e-6)
