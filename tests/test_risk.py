"""Valuation of a decision under the real-time policy, and risk metrics, on hand-solved cases."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import linprog

from energyhedge.errors import ConfigError
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem, Product
from energyhedge.risk import (
    STRATEGIES,
    compare,
    describe_gap,
    interval_breakdown,
    risk_metrics,
    strategies,
    transfer,
    value_decision,
    weighted_quantile,
)


def hand_problem() -> HedgeProblem:
    """2 scenarios x 4 hourly intervals, 2 classes, 1 call; every number solved by hand below."""
    t = 4
    a = FlexClass(
        name="train",
        max_mw=np.full(t, 20.0),
        gpu_hours_per_mwh=800.0,
        value_usd_per_gpu_hour=3.75,  # break-even 3,000 $/MWh
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
    )
    b = FlexClass(
        name="batch",
        max_mw=np.full(t, 10.0),
        gpu_hours_per_mwh=500.0,
        value_usd_per_gpu_hour=1.0,
        curve_power_frac=np.array([0.0, 0.5, 1.0]),
        curve_work_frac=np.array([0.0, 0.7, 1.0]),
        rt_curtailable=False,
        work_requirement_gpu_hours=18_000.0,
        unserved_usd_per_gpu_hour=2.0,
    )
    call = Product(
        name="call_1000",
        kind="call",
        payoff_usd_per_mw=np.array([3_000.0, 4_000.0]),
        premium_usd_per_mw=3_500.0,
        fair_premium_usd_per_mw=3_500.0,
    )
    return HedgeProblem(
        interval_start_utc=np.arange(
            np.datetime64("2023-08-01T00:00", "us"),
            np.datetime64("2023-08-01T04:00", "us"),
            np.timedelta64(1, "h"),
        ),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=np.array([[50.0, 100.0, 4_000.0, 60.0], [30.0, 5_000.0, 40.0, 20.0]]),
        probabilities=np.array([0.25, 0.75]),
        firm_load_mw=np.full(t, 10.0),
        firm_gpu_hours=np.full(t, 8_000.0),
        firm_value_usd_per_gpu_hour=2.0,
        flex=(a, b),
        grid_limit_mw=40.0,
        products=(call,),
        dr_price_usd_per_mw_h=np.full(t, 10.0),
        dr_max_mw=30.0,
        dr_deployed=np.array([[False, True, True, False], [False, False, False, True]]),
        dr_penalty_usd_per_mwh=1_000.0,
        cp_weight_usd_per_mw=np.array([[0.0, 0.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
    )


def hand_decision() -> Decision:
    return Decision(
        product_mw=np.array([2.0]),
        schedule_mw=np.array([[20.0] * 4, [7.5] * 4]),
        dr_mw=np.array([0.0, 30.0, 5.0, 5.0]),
        curtail_above_usd_per_mwh=np.array([3_000.0, np.inf]),
    )


# Scenario 0: t1 DR call of 30 MW: train cut 20, 10 MW short; t2 price 4,000 > 3,000 stops
# train (its 20 MW cover the 5 MW call). Scenario 1: t1 5,000 stops train; t3 call of 5 MW
# cuts train to 15 MW. Batch runs 7.5 MW (75 %, work 0.85) throughout: 4,250 GPU-h/h.
EXPECTED = {
    "energy_mwh": [110.0, 125.0],
    "energy_cost_usd": [
        37.5 * 50 + 17.5 * 100 + 17.5 * 4_000 + 37.5 * 60,
        37.5 * 30 + 17.5 * 5_000 + 37.5 * 40 + 32.5 * 20,
    ],
    "premium_usd": [7_000.0, 7_000.0],
    "hedge_payoff_usd": [6_000.0, 8_000.0],
    "dr_revenue_usd": [400.0, 400.0],
    "dr_penalty_usd": [10_000.0, 0.0],
    "cp_tag_usd": [87.5, 0.0],
    "value_lost_usd": [3.75 * 32_000 + 3_000, 3.75 * 20_000 + 3_000],
    "unserved_penalty_usd": [2_000.0, 2_000.0],
    "value_produced_usd": [64_000 + 3.75 * 32_000 + 17_000, 64_000 + 3.75 * 44_000 + 17_000],
    "gpu_hours": [81_000.0, 93_000.0],
    "total_cost_usd": [211_562.5, 169_375.0],
}


def test_value_decision_matches_hand_solution():
    costs = value_decision(hand_problem(), hand_decision())
    for name, want in EXPECTED.items():
        np.testing.assert_allclose(getattr(costs, name), want, rtol=0, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(costs.cost_per_gpu_hour_usd, [211_562.5 / 81_000, 169_375 / 93_000])


def test_total_is_the_sum_of_the_problem_cost_lines():
    costs = value_decision(hand_problem(), hand_decision())
    lines = (
        costs.energy_cost_usd
        + costs.premium_usd
        - costs.hedge_payoff_usd
        + costs.cp_tag_usd
        - costs.dr_revenue_usd
        + costs.dr_penalty_usd
        + costs.value_lost_usd
        + costs.unserved_penalty_usd
    )
    np.testing.assert_allclose(costs.total_cost_usd, lines, rtol=1e-15)


def test_chunking_does_not_change_results(monkeypatch):
    problem, decision = hand_problem(), hand_decision()
    whole = value_decision(problem, decision)
    monkeypatch.setattr("energyhedge.risk.SCENARIO_CHUNK_CELLS", 1)
    chunked = value_decision(problem, decision)
    np.testing.assert_array_equal(whole.total_cost_usd, chunked.total_cost_usd)


def test_interval_breakdown_re_adds_to_scenario_totals():
    problem, decision = hand_problem(), hand_decision()
    costs = value_decision(problem, decision)
    payoffs = [np.array([[0.0, 0.0, 3_000.0, 0.0]]), np.array([[0.0, 4_000.0, 0.0, 0.0]])]
    for s in (0, 1):
        cols = interval_breakdown(problem, decision, payoffs[s], scenario=s)
        for name in EXPECTED:
            if name in cols:
                assert cols[name].sum() == pytest.approx(EXPECTED[name][s], abs=1e-9), name
    cols = interval_breakdown(problem, decision, payoffs[1], scenario=1)
    np.testing.assert_allclose(cols["power_mw_train"], [20.0, 0.0, 20.0, 15.0])
    np.testing.assert_allclose(cols["premium_usd"], [1_750.0] * 4)
    np.testing.assert_allclose(cols["unserved_penalty_usd"], [0.0, 0.0, 0.0, 2_000.0])
    assert cols["total_cost_usd"].sum() == pytest.approx(costs.total_cost_usd[1], abs=1e-9)


def test_interval_payoffs_must_agree_with_the_problem():
    with pytest.raises(ConfigError, match="call_1000"):
        interval_breakdown(hand_problem(), hand_decision(), np.zeros((1, 4)), scenario=0)


def test_decision_of_wrong_shape_is_a_clear_error():
    bad = replace(hand_decision(), schedule_mw=np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="schedule_mw"):
        value_decision(hand_problem(), bad)


def test_no_products_no_flexibility_costs_load_times_price_exactly():
    problem = replace(
        hand_problem(),
        products=(),
        flex=(),
        dr_price_usd_per_mw_h=np.zeros(4),
        cp_weight_usd_per_mw=np.zeros((2, 4)),
    )
    decision = Decision(np.zeros(0), np.zeros((0, 4)), np.zeros(4), np.zeros(0))
    costs = value_decision(problem, decision)
    np.testing.assert_array_equal(costs.total_cost_usd, problem.prices_usd_per_mwh.sum(axis=1) * 10)


def test_strategies_hand_case():
    problem = hand_problem()
    table = {n: value_decision(problem, d) for n, d in strategies(problem, hand_decision()).items()}
    assert list(table) == list(STRATEGIES)
    # unhedged: 40 MW grid, firm 10, train 20 at full, batch 10 at full, no curtailment.
    np.testing.assert_allclose(table["unhedged"].energy_cost_usd, [40 * 4_210.0, 40 * 5_090.0])
    np.testing.assert_allclose(table["unhedged"].value_lost_usd, [0.0, 0.0])
    # flexibility only: train stops above 3,000 (t2 in s0, t1 in s1), batch is not curtailable.
    np.testing.assert_allclose(
        table["flexibility_only"].energy_cost_usd,
        [40 * 210.0 + 20 * 4_000, 40 * 90.0 + 20 * 5_000],
    )
    np.testing.assert_allclose(table["flexibility_only"].value_lost_usd, [60_000.0, 60_000.0])
    np.testing.assert_allclose(
        table["hedges_only"].total_cost_usd - table["unhedged"].total_cost_usd,
        [7_000 - 6_000, 7_000 - 8_000],
    )


def test_full_schedule_respects_the_grid_limit_highest_value_first():
    problem = replace(hand_problem(), grid_limit_mw=35.0)
    unhedged = strategies(problem, hand_decision())["unhedged"]
    np.testing.assert_allclose(unhedged.schedule_mw, [[20.0] * 4, [5.0] * 4])


def test_transfer_keeps_source_premiums_and_matches_products_by_name():
    source = hand_problem()
    other = Product("block", "block", np.array([1.0, 2.0, 3.0]), 0.0, 0.0, -10.0, 10.0)
    fresh_call = replace(
        source.products[0], payoff_usd_per_mw=np.array([0.0, 0.0, 9e3]), premium_usd_per_mw=99.0
    )
    target = replace(
        source,
        prices_usd_per_mwh=np.vstack([source.prices_usd_per_mwh, source.prices_usd_per_mwh[:1]]),
        probabilities=np.array([0.2, 0.3, 0.5]),
        dr_deployed=np.zeros((3, 4), dtype=bool),
        cp_weight_usd_per_mw=np.zeros((3, 4)),
        products=(other, fresh_call),
    )
    problem, decision = transfer(hand_decision(), source, target)
    np.testing.assert_array_equal(decision.product_mw, [0.0, 2.0])
    assert problem.products[1].premium_usd_per_mw == 3_500.0
    costs = value_decision(problem, decision)
    np.testing.assert_allclose(costs.hedge_payoff_usd, [0.0, 0.0, 18_000.0])
    with pytest.raises(ConfigError, match="call_1000"):
        transfer(hand_decision(), source, replace(target, products=(other,)))


def test_compare_states_the_out_of_sample_gap():
    problem = replace(hand_problem(), cp_weight_usd_per_mw=np.zeros((2, 4)))
    decision = hand_decision()
    fresh = replace(problem, prices_usd_per_mwh=problem.prices_usd_per_mwh * 2.0)
    summary = compare(problem, decision, 0.5, out_of_sample=fresh)
    for name in STRATEGIES:
        gap = summary["gap"][name]["expected_cost_usd"]
        want = (
            summary["out_of_sample"][name]["expected_cost_usd"]
            - summary["in_sample"][name]["expected_cost_usd"]
        )
        assert gap == want
    # unhedged cost is pure energy: doubling prices doubles it, so the gap equals it.
    unhedged = summary["in_sample"]["unhedged"]["expected_cost_usd"]
    assert unhedged == pytest.approx(40 * (0.25 * 4_210 + 0.75 * 5_090))
    assert summary["gap"]["unhedged"]["expected_cost_usd"] == pytest.approx(unhedged)
    sentence = describe_gap(summary, "unhedged")
    assert sentence.startswith("Out of sample, the unhedged strategy's expected cost is $")
    assert f"${unhedged:,.0f} higher" in sentence


# ---- risk metrics -------------------------------------------------------------------------


def test_risk_metrics_hand_case_unequal_probabilities():
    cost = np.array([40.0, 10.0, 30.0, 20.0])
    p = np.array([0.4, 0.1, 0.3, 0.2])
    m = risk_metrics(cost, p, 0.5)
    assert m["expected_cost_usd"] == pytest.approx(30.0)
    assert m["var_usd"] == 30.0
    assert m["cvar_usd"] == pytest.approx(38.0)  # (0.4 * 40 + 0.1 * 30) / 0.5
    assert m["worst_usd"] == 40.0
    m = risk_metrics(cost, p, 0.6)  # cumulative 0.6 reached exactly at 30
    assert m["var_usd"] == 30.0
    assert m["cvar_usd"] == pytest.approx(40.0)


def test_risk_metrics_equal_probabilities():
    cost = np.arange(1.0, 21.0)
    m = risk_metrics(cost, np.full(20, 0.05), 0.95)
    assert m["var_usd"] == 19.0
    assert m["cvar_usd"] == pytest.approx(20.0)
    m = risk_metrics(cost, np.full(20, 0.05), 0.9)
    assert m["var_usd"] == 18.0
    assert m["cvar_usd"] == pytest.approx(19.5)


def test_worst_ignores_zero_probability_scenarios():
    m = risk_metrics(np.array([1.0, 2.0, 1e9]), np.array([0.5, 0.5, 0.0]), 0.9)
    assert m["worst_usd"] == 2.0


@pytest.mark.parametrize("seed", range(5))
def test_cvar_equals_the_linear_programme_definition(seed):
    rng = np.random.default_rng(seed)
    s = 30
    cost = rng.lognormal(10, 1, s)
    p = rng.dirichlet(np.ones(s))
    alpha = 0.9
    # min eta + 1/(1-alpha) sum p z  s.t.  z >= cost - eta, z >= 0 ; variables [eta, z]
    c = np.concatenate([[1.0], p / (1 - alpha)])
    a_ub = np.hstack([-np.ones((s, 1)), -np.eye(s)])
    res = linprog(c, A_ub=a_ub, b_ub=-cost, bounds=[(None, None)] + [(0, None)] * s)
    m = risk_metrics(cost, p, alpha)
    assert m["cvar_usd"] == pytest.approx(res.fun, rel=1e-9)
    assert m["cvar_usd"] >= m["var_usd"]
    assert m["cvar_usd"] >= m["expected_cost_usd"]


def test_cost_per_gpu_hour_percentiles_are_probability_weighted():
    cost = np.array([100.0, 200.0, 300.0, 400.0])
    gpu = np.array([100.0, 100.0, 100.0, 100.0])
    p = np.array([0.04, 0.5, 0.45, 0.01])
    m = risk_metrics(cost, p, 0.95, gpu_hours=gpu)
    assert m["cost_per_gpu_hour_p5_usd"] == 2.0
    assert m["cost_per_gpu_hour_p50_usd"] == 2.0
    assert m["cost_per_gpu_hour_p95_usd"] == 3.0
    assert m["cost_per_gpu_hour_p99_usd"] == 3.0
    assert m["expected_cost_per_gpu_hour_usd"] == pytest.approx(0.04 + 1.0 + 1.35 + 0.04)


def test_weighted_quantile_ignores_input_order():
    v = np.array([3.0, 1.0, 2.0])
    assert weighted_quantile(v, np.array([0.2, 0.3, 0.5]), 0.31) == 2.0
    assert weighted_quantile(v, np.array([0.2, 0.3, 0.5]), 0.3) == 1.0


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5])
def test_bad_alpha_is_rejected(alpha):
    with pytest.raises(ConfigError, match="alpha"):
        risk_metrics(np.ones(2), np.full(2, 0.5), alpha)


def reference_cost(problem: HedgeProblem, decision: Decision) -> np.ndarray:
    """The policy and C_s written cell by cell with plain Python loops (independent check)."""
    flex = problem.flex
    out = []
    for s in range(problem.n_scenarios):
        cost, work = 0.0, [0.0] * len(flex)
        for t in range(problem.n_intervals):
            h, price = problem.interval_hours[t], problem.prices_usd_per_mwh[s, t]
            power = []
            for j, cls in enumerate(flex):
                stop = cls.rt_curtailable and price > decision.curtail_above_usd_per_mwh[j]
                power.append(0.0 if stop else decision.schedule_mw[j, t])
            shortfall = 0.0
            if problem.dr_deployed[s, t]:
                done = sum(
                    decision.schedule_mw[j, t] - power[j]
                    for j, c in enumerate(flex)
                    if c.rt_curtailable
                )
                shortfall = max(decision.dr_mw[t] - done, 0.0)
                for j in sorted(
                    (j for j, c in enumerate(flex) if c.rt_curtailable),
                    key=lambda j: flex[j].break_even_usd_per_mwh,
                ):
                    cut = min(power[j], shortfall)
                    power[j] -= cut
                    shortfall -= cut
            load = problem.firm_load_mw[t] + sum(power)
            cost += h * price * load + problem.cp_weight_usd_per_mw[s, t] * load
            cost += h * problem.dr_penalty_usd_per_mwh * shortfall
            cost -= h * problem.dr_price_usd_per_mw_h[t] * decision.dr_mw[t]
            for j, cls in enumerate(flex):
                m = cls.max_mw[t]
                frac = power[j] / m if m > 0 else 0.0
                w = np.interp(frac, cls.curve_power_frac, cls.curve_work_frac)
                work[j] += cls.gpu_hours_per_mwh * m * h * w
        for j, cls in enumerate(flex):
            full = cls.gpu_hours_per_mwh * sum(cls.max_mw * problem.interval_hours)
            cost += cls.value_usd_per_gpu_hour * (full - work[j])
            cost += cls.unserved_usd_per_gpu_hour * max(cls.work_requirement_gpu_hours - work[j], 0)
        for x, p in zip(decision.product_mw, problem.products, strict=True):
            cost += x * (p.premium_usd_per_mw - p.payoff_usd_per_mw[s])
        out.append(cost)
    return np.array(out)


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_valuation_equals_cell_by_cell_reference(seed):
    rng = np.random.default_rng(seed)
    s, t = 7, 12
    base = hand_problem()
    prices = rng.choice([20.0, 80.0, 600.0, 2_500.0, 3_500.0, 9_000.0], (s, t))
    flex = tuple(
        replace(
            cls,
            max_mw=rng.choice([0.0, 10.0, 20.0], t),
            rt_curtailable=bool(j != 1 or seed % 2),
            value_usd_per_gpu_hour=float(rng.uniform(0.5, 4.0)),
        )
        for j, cls in enumerate(base.flex)
    )
    problem = replace(
        base,
        interval_start_utc=base.interval_start_utc[0] + np.arange(t) * np.timedelta64(30, "m"),
        interval_hours=np.full(t, 0.5),
        prices_usd_per_mwh=prices,
        probabilities=np.full(s, 1.0 / s),
        firm_load_mw=np.full(t, 10.0),
        firm_gpu_hours=np.full(t, 4_000.0),
        flex=flex,
        products=(replace(base.products[0], payoff_usd_per_mw=rng.uniform(0, 5e3, s)),),
        dr_price_usd_per_mw_h=rng.uniform(0, 20, t),
        dr_deployed=rng.random((s, t)) < 0.3,
        cp_weight_usd_per_mw=rng.uniform(0, 3, (s, t)) * (rng.random((s, t)) < 0.2),
    )
    decision = Decision(
        product_mw=np.array([rng.uniform(0, 30)]),
        schedule_mw=np.vstack([c.max_mw * rng.uniform(0.3, 1.0, t) for c in flex]),
        dr_mw=rng.choice([0.0, 5.0, 15.0, 40.0], t),
        curtail_above_usd_per_mwh=np.array([c.break_even_usd_per_mwh for c in flex]),
    )
    costs = value_decision(problem, decision)
    np.testing.assert_allclose(costs.total_cost_usd, reference_cost(problem, decision), rtol=1e-12)
    for s_i in range(s):
        cols = interval_breakdown(
            problem, decision, problem.products[0].payoff_usd_per_mw[s_i] / t * np.ones((1, t)), s_i
        )
        assert cols["total_cost_usd"].sum() == pytest.approx(costs.total_cost_usd[s_i], rel=1e-12)
        assert cols["gpu_hours"].sum() == pytest.approx(costs.gpu_hours[s_i], rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    cost=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e6, 1e6)),
    alpha=st.floats(0.5, 0.99),
    data=st.data(),
)
def test_risk_metric_properties(cost, alpha, data):
    weights = data.draw(
        hnp.arrays(np.float64, cost.shape, elements=st.floats(0.01, 1.0)), label="weights"
    )
    p = weights / weights.sum()
    m = risk_metrics(cost, p, alpha)
    tol = 1e-9 * (1.0 + np.abs(cost).max())
    assert m["var_usd"] - tol <= m["cvar_usd"] <= m["worst_usd"] + tol
    assert m["cvar_usd"] >= m["expected_cost_usd"] - tol
    shifted = risk_metrics(cost + 1_000.0, p, alpha)
    assert shifted["cvar_usd"] == pytest.approx(m["cvar_usd"] + 1_000.0, abs=1e-6 + tol)
    assert shifted["var_usd"] == pytest.approx(m["var_usd"] + 1_000.0, abs=1e-6 + tol)
    order = data.draw(st.permutations(range(cost.size)), label="order")
    permuted = risk_metrics(cost[list(order)], p[list(order)], alpha)
    assert permuted["var_usd"] == m["var_usd"]
    assert permuted["cvar_usd"] == pytest.approx(m["cvar_usd"], abs=tol)


def test_scenario_order_does_not_matter():
    problem, decision = hand_problem(), hand_decision()
    order = np.array([1, 0])
    swapped = replace(
        problem,
        prices_usd_per_mwh=problem.prices_usd_per_mwh[order],
        probabilities=problem.probabilities[order],
        dr_deployed=problem.dr_deployed[order],
        cp_weight_usd_per_mw=problem.cp_weight_usd_per_mw[order],
        products=(replace(problem.products[0], payoff_usd_per_mw=np.array([4_000.0, 3_000.0])),),
    )
    np.testing.assert_array_equal(
        value_decision(swapped, decision).total_cost_usd,
        value_decision(problem, decision).total_cost_usd[order],
    )
