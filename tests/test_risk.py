"""Valuation of a decision with the real-time ladder, strategies and risk measures, by hand."""

from __future__ import annotations

import itertools
from dataclasses import fields, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import linprog

from energyhedge.errors import ConfigError
from energyhedge.model.cost import cost_breakdown, interval_breakdown, real_time_power_mw
from energyhedge.model.measures import (
    bootstrap_interval,
    expected_many,
    resample_weights,
    risk_measures,
    weighted_quantile,
)
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem, Product
from energyhedge.risk import (
    CONFIDENCE_LEVEL,
    PERCENTILES,
    STRATEGIES,
    describe_gap,
    strategies,
    value_strategies,
)


def hand_problem() -> HedgeProblem:
    """2 scenarios x 4 hourly intervals, 2 classes, 1 call; every number solved by hand below."""
    t = 4
    a = FlexClass(
        name="train",
        max_mw=np.full(t, 20.0),
        gpu_hours_per_mwh=800.0,
        value_usd_per_gpu_hour=3.75,  # one linear segment worth 3,000 $/MWh
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
        notional_hours=4.0,
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
        dr_penalty_usd_per_mwh=5_000.0,
        cp_weight_usd_per_mw=np.array([[0.0, 0.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
    )


def hand_decision() -> Decision:
    return Decision(
        product_mw=np.array([2.0]),
        schedule_mw=np.array([[20.0] * 4, [7.5] * 4]),
        dr_mw=np.array([0.0, 30.0, 5.0, 5.0]),
        follows_ladder=True,
    )


# Ladder: train's one segment (3,000 $/MWh) runs while price + tag <= 3,000. Scenario 0: t1 DR
# call of 30 MW: shedding train (3,000 < 100 + 5,000 penalty) gives 20 MW, 10 MW short; t2
# 4,005 > 3,000 stops train (its 20 MW cover the 5 MW call). Scenario 1: t1 5,000 stops train;
# t3 call of 5 MW sheds 5 MW of train. Batch is not real-time curtailable: 7.5 MW (75 %,
# work 0.7 + 0.6 x 0.25 = 0.85) throughout: 4,250 GPU-h/h, 17,000 GPU-h, 1,000 short.
TRAIN_MW = [[20.0, 0.0, 0.0, 20.0], [20.0, 0.0, 20.0, 15.0]]
EXPECTED = {
    "energy_mwh": [110.0, 125.0],
    "energy_cost_usd": [
        37.5 * 50 + 17.5 * 100 + 17.5 * 4_000 + 37.5 * 60,
        37.5 * 30 + 17.5 * 5_000 + 37.5 * 40 + 32.5 * 20,
    ],
    "premium_usd": [7_000.0, 7_000.0],
    "hedge_payoff_usd": [6_000.0, 8_000.0],
    "dr_revenue_usd": [400.0, 400.0],
    "dr_penalty_usd": [50_000.0, 0.0],
    "cp_tag_usd": [87.5, 0.0],
    "value_lost_usd": [3.75 * 32_000 + 3_000, 3.75 * 20_000 + 3_000],
    "unserved_penalty_usd": [2_000.0, 2_000.0],
    "value_produced_usd": [64_000 + 3.75 * 32_000 + 17_000, 64_000 + 3.75 * 44_000 + 17_000],
    "gpu_hours": [81_000.0, 93_000.0],
    "total_cost_usd": [251_562.5, 169_375.0],
}


def test_cost_breakdown_matches_hand_solution():
    problem, decision = hand_problem(), hand_decision()
    np.testing.assert_array_equal(real_time_power_mw(problem, decision)[0], TRAIN_MW)
    costs = cost_breakdown(problem, decision)
    for name, want in EXPECTED.items():
        np.testing.assert_allclose(getattr(costs, name), want, rtol=0, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(costs.cost_per_gpu_hour_usd, [251_562.5 / 81_000, 169_375 / 93_000])


def test_dr_call_is_not_met_by_shedding_work_worth_more_than_price_plus_penalty():
    # Penalty 1,000: shedding train (3,000 $/MWh) costs more than 100 + 1,000 or 20 + 1,000, so
    # both calls go unmet: 30 MW short in scenario 0 (t1), 5 MW in scenario 1 (t3).
    problem = replace(hand_problem(), dr_penalty_usd_per_mwh=1_000.0)
    power = real_time_power_mw(problem, hand_decision())[0]
    np.testing.assert_array_equal(power, [[20.0, 20.0, 0.0, 20.0], [20.0, 0.0, 20.0, 20.0]])
    np.testing.assert_allclose(
        cost_breakdown(problem, hand_decision()).dr_penalty_usd, [30_000.0, 5_000.0]
    )


def test_total_is_the_sum_of_the_problem_cost_lines():
    costs = cost_breakdown(hand_problem(), hand_decision())
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
    np.testing.assert_allclose(
        costs.margin_usd, costs.value_produced_usd - (costs.total_cost_usd - costs.value_lost_usd)
    )


def test_chunking_does_not_change_results(monkeypatch):
    problem, decision = random_case(3)
    whole = cost_breakdown(problem, decision)
    monkeypatch.setattr("energyhedge.model.cost.SCENARIO_CHUNK_CELLS", 1)  # 1 scenario a chunk
    chunked = cost_breakdown(problem, decision)
    for f in fields(whole):  # equal up to the order of floating-point sums
        np.testing.assert_allclose(
            getattr(chunked, f.name), getattr(whole, f.name), rtol=1e-13, atol=0, err_msg=f.name
        )


def test_interval_breakdown_re_adds_to_scenario_totals():
    problem, decision = hand_problem(), hand_decision()
    costs = cost_breakdown(problem, decision)
    payoffs = [np.array([[0.0, 0.0, 3_000.0, 0.0]]), np.array([[0.0, 4_000.0, 0.0, 0.0]])]
    for s in (0, 1):
        cols = interval_breakdown(problem, decision, payoffs[s], scenario=s)
        for name in EXPECTED:
            assert cols[name].sum() == pytest.approx(EXPECTED[name][s], abs=1e-9), name
        np.testing.assert_array_equal(cols["power_mw_train"], TRAIN_MW[s])
        np.testing.assert_array_equal(cols["power_mw_batch"], [7.5] * 4)
        assert cols["total_cost_usd"].sum() == pytest.approx(costs.total_cost_usd[s], abs=1e-9)
    np.testing.assert_allclose(cols["premium_usd"], [1_750.0] * 4)
    np.testing.assert_allclose(cols["unserved_penalty_usd"], [0.0, 0.0, 0.0, 2_000.0])
    np.testing.assert_allclose(cols["dr_penalty_usd"], [0.0] * 4)


def test_interval_payoffs_must_agree_with_the_problem():
    with pytest.raises(ConfigError, match="call_1000"):
        interval_breakdown(hand_problem(), hand_decision(), np.zeros((1, 4)), scenario=0)


def test_decision_of_wrong_shape_is_a_clear_error():
    bad = replace(hand_decision(), schedule_mw=np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="schedule_mw"):
        cost_breakdown(hand_problem(), bad)


def test_no_products_no_flexibility_costs_load_times_price_exactly():
    problem = replace(
        hand_problem(),
        products=(),
        flex=(),
        dr_price_usd_per_mw_h=np.zeros(4),
        cp_weight_usd_per_mw=np.zeros((2, 4)),
    )
    decision = Decision(np.zeros(0), np.zeros((0, 4)), np.zeros(4))
    costs = cost_breakdown(problem, decision)
    np.testing.assert_array_equal(costs.total_cost_usd, problem.prices_usd_per_mwh.sum(axis=1) * 10)
    np.testing.assert_array_equal(costs.energy_cost_usd, costs.total_cost_usd)


def test_strategies_hand_case():
    problem = hand_problem()
    decisions = strategies(problem, hand_decision())
    assert list(decisions) == list(STRATEGIES)
    assert [d.follows_ladder for d in decisions.values()] == [False, True, False, True]
    table = {n: cost_breakdown(problem, d) for n, d in decisions.items()}
    # unhedged: 40 MW grid, firm 10, train 20 at full, batch 10 at full, no curtailment.
    np.testing.assert_allclose(table["unhedged"].energy_cost_usd, [40 * 4_210.0, 40 * 5_090.0])
    np.testing.assert_allclose(table["unhedged"].value_lost_usd, [0.0, 0.0])
    # flexibility only: train's segment stops where price + tag > 3,000 (t2 in s0, t1 in s1);
    # batch is not real-time curtailable; no DR offer.
    np.testing.assert_allclose(
        table["flexibility_only"].energy_cost_usd,
        [40 * 210.0 + 20 * 4_000, 40 * 90.0 + 20 * 5_000],
    )
    np.testing.assert_allclose(table["flexibility_only"].value_lost_usd, [60_000.0, 60_000.0])
    np.testing.assert_allclose(table["flexibility_only"].dr_revenue_usd, [0.0, 0.0])
    np.testing.assert_allclose(
        table["hedges_only"].total_cost_usd - table["unhedged"].total_cost_usd,
        [7_000 - 6_000, 7_000 - 8_000],
    )
    np.testing.assert_allclose(table["recommended"].total_cost_usd, EXPECTED["total_cost_usd"])


def test_full_schedule_respects_the_grid_limit_highest_value_first():
    problem = replace(hand_problem(), grid_limit_mw=35.0)
    unhedged = strategies(problem, hand_decision())["unhedged"]
    np.testing.assert_allclose(unhedged.schedule_mw, [[20.0] * 4, [5.0] * 4])


def test_value_strategies_summarises_each_strategy_with_the_measures():
    problem, decision = hand_problem(), hand_decision()
    p = problem.probabilities
    valuation = value_strategies(problem, decision, 0.5, basis="in sample", resamples=40, seed=3)
    assert valuation.basis == "in sample" and list(valuation.strategies) == list(STRATEGIES)
    for name, d in strategies(problem, decision).items():
        costs = cost_breakdown(problem, d)
        value = valuation.strategies[name]
        assert value.cost == risk_measures(costs.total_cost_usd, p, 0.5)
        assert value.per_gpu_hour == risk_measures(costs.cost_per_gpu_hour_usd, p, 0.5)
        assert value.per_gpu_hour_percentiles == {
            q: weighted_quantile(costs.cost_per_gpu_hour_usd, p, q / 100) for q in PERCENTILES
        }
        assert value.mean_lines == costs.mean(p)
        assert value.expected_interval.low <= value.expected_interval.high
    rec = valuation.recommended.cost
    assert rec.expected_usd == pytest.approx(0.25 * 251_562.5 + 0.75 * 169_375.0)
    # worst half of the mass: all 0.25 of scenario 0 and 0.25 of scenario 1
    assert rec.cvar_usd == pytest.approx((251_562.5 + 169_375.0) / 2)
    assert rec.var_usd == 169_375.0 and rec.worst_usd == 251_562.5
    # the saving interval is over the same resamples for both strategies
    w = resample_weights(p, 40, 3)
    base = cost_breakdown(problem, strategies(problem, decision)["unhedged"]).total_cost_usd
    saving = expected_many(base, w) - expected_many(
        cost_breakdown(problem, decision).total_cost_usd, w
    )
    assert valuation.saving_interval == bootstrap_interval(saving, CONFIDENCE_LEVEL)
    plain = value_strategies(problem, decision, 0.5, basis="in sample")
    assert plain.saving_interval is None and plain.recommended.cvar_interval is None


def test_describe_gap_states_the_out_of_sample_difference_by_hand():
    problem, decision = hand_problem(), hand_decision()
    fresh = replace(problem, prices_usd_per_mwh=problem.prices_usd_per_mwh * 2.0)
    ins = value_strategies(problem, decision, 0.5, basis="in sample")
    outs = value_strategies(fresh, decision, 0.5, basis="out of sample")
    # Doubling prices keeps the ladder's stops and DR sheds: only energy doubles.
    # Mean: +0.25 x 75,875 + 0.75 x 90,775 = +87,050; CVaR50 (half of each scenario):
    # (251,562.5 + 169,375) / 2 = 210,468.75 -> (327,437.5 + 260,150) / 2 = 293,793.75.
    energy = 40 * (0.25 * 4_210 + 0.75 * 5_090)  # unhedged: 40 MW flat, plus a 50 $ tag in s0
    assert ins.unhedged.cost.expected_usd == pytest.approx(energy + 0.25 * 5 * 40)
    assert outs.unhedged.cost.expected_usd == pytest.approx(2 * energy + 0.25 * 5 * 40)
    assert describe_gap(ins, outs) == (
        "Out of sample, the recommended strategy's expected cost is $87,050 higher and its "
        "CVaR50 $83,325 higher than in sample ($189,922 -> $276,972 expected, "
        "$210,469 -> $293,794 CVaR)."
    )


def test_scaling_every_dollar_figure_scales_costs_and_keeps_the_ladder():
    k = 3.0
    problem, decision = random_case(1)
    scaled = replace(
        problem,
        prices_usd_per_mwh=problem.prices_usd_per_mwh * k,
        cp_weight_usd_per_mw=problem.cp_weight_usd_per_mw * k,
        dr_price_usd_per_mw_h=problem.dr_price_usd_per_mw_h * k,
        dr_penalty_usd_per_mwh=problem.dr_penalty_usd_per_mwh * k,
        firm_value_usd_per_gpu_hour=problem.firm_value_usd_per_gpu_hour * k,
        flex=tuple(
            replace(
                f,
                value_usd_per_gpu_hour=f.value_usd_per_gpu_hour * k,
                unserved_usd_per_gpu_hour=f.unserved_usd_per_gpu_hour * k,
            )
            for f in problem.flex
        ),
        products=tuple(
            replace(
                p,
                payoff_usd_per_mw=p.payoff_usd_per_mw * k,
                premium_usd_per_mw=p.premium_usd_per_mw * k,
                sale_premium_usd_per_mw=p.bid_usd_per_mw * k,
                fair_premium_usd_per_mw=p.fair_premium_usd_per_mw * k,
            )
            for p in problem.products
        ),
    )
    np.testing.assert_array_equal(
        real_time_power_mw(scaled, decision), real_time_power_mw(problem, decision)
    )
    base, big = cost_breakdown(problem, decision), cost_breakdown(scaled, decision)
    np.testing.assert_allclose(big.total_cost_usd, k * base.total_cost_usd, rtol=1e-12)
    np.testing.assert_allclose(big.value_produced_usd, k * base.value_produced_usd, rtol=1e-12)
    np.testing.assert_array_equal(big.gpu_hours, base.gpu_hours)
    np.testing.assert_array_equal(big.energy_mwh, base.energy_mwh)


def test_scaling_prices_alone_scales_the_unhedged_cost():
    problem = replace(hand_problem(), cp_weight_usd_per_mw=np.zeros((2, 4)))
    unhedged = strategies(problem, hand_decision())["unhedged"]
    doubled = replace(problem, prices_usd_per_mwh=problem.prices_usd_per_mwh * 2.0)
    np.testing.assert_array_equal(
        cost_breakdown(doubled, unhedged).total_cost_usd,
        2.0 * cost_breakdown(problem, unhedged).total_cost_usd,
    )


def test_scenario_order_does_not_matter():
    problem, decision = random_case(4)
    order = np.random.default_rng(0).permutation(problem.n_scenarios)
    swapped = replace(
        problem,
        prices_usd_per_mwh=problem.prices_usd_per_mwh[order],
        probabilities=problem.probabilities[order],
        dr_deployed=problem.dr_deployed[:, order],
        cp_weight_usd_per_mw=problem.cp_weight_usd_per_mw[order],
        products=tuple(
            replace(p, payoff_usd_per_mw=p.payoff_usd_per_mw[order]) for p in problem.products
        ),
    )
    np.testing.assert_array_equal(
        cost_breakdown(swapped, decision).total_cost_usd,
        cost_breakdown(problem, decision).total_cost_usd[order],
    )
    a = value_strategies(problem, decision, 0.8, basis="in sample").strategies
    b = value_strategies(swapped, decision, 0.8, basis="in sample").strategies
    for name in STRATEGIES:
        assert b[name].cost.var_usd == a[name].cost.var_usd
        assert b[name].cost.cvar_usd == pytest.approx(a[name].cost.cvar_usd, rel=1e-12)
        assert b[name].cost.expected_usd == pytest.approx(a[name].cost.expected_usd, rel=1e-12)


# ---- risk measures -----------------------------------------------------------------------


def test_risk_measures_hand_case_unequal_probabilities():
    cost = np.array([40.0, 10.0, 30.0, 20.0])
    p = np.array([0.4, 0.1, 0.3, 0.2])
    m = risk_measures(cost, p, 0.5)
    assert m.expected_usd == pytest.approx(30.0)
    assert m.var_usd == 30.0
    assert m.cvar_usd == pytest.approx(38.0)  # (0.4 * 40 + 0.1 * 30) / 0.5
    assert m.worst_usd == 40.0
    m = risk_measures(cost, p, 0.6)  # cumulative 0.6 reached exactly at 30
    assert m.var_usd == 30.0
    assert m.cvar_usd == pytest.approx(40.0)


def test_risk_measures_equal_probabilities():
    cost = np.arange(1.0, 21.0)
    m = risk_measures(cost, np.full(20, 0.05), 0.95)
    assert m.var_usd == 19.0
    assert m.cvar_usd == pytest.approx(20.0)
    m = risk_measures(cost, np.full(20, 0.05), 0.9)
    assert m.var_usd == 18.0
    assert m.cvar_usd == pytest.approx(19.5)


def test_worst_ignores_zero_probability_scenarios():
    m = risk_measures(np.array([1.0, 2.0, 1e9]), np.array([0.5, 0.5, 0.0]), 0.9)
    assert m.worst_usd == 2.0


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
    m = risk_measures(cost, p, alpha)
    assert m.cvar_usd == pytest.approx(res.fun, rel=1e-9)
    assert m.cvar_usd >= m.var_usd
    assert m.cvar_usd >= m.expected_usd


def test_cost_per_gpu_hour_percentiles_are_probability_weighted():
    per_gpu_hour = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([0.04, 0.5, 0.45, 0.01])
    got = {q: weighted_quantile(per_gpu_hour, p, q / 100) for q in PERCENTILES}
    assert got == {5: 2.0, 50: 2.0, 95: 3.0, 99: 3.0}
    assert risk_measures(per_gpu_hour, p, 0.95).expected_usd == pytest.approx(
        0.04 + 1.0 + 1.35 + 0.04
    )


def test_weighted_quantile_ignores_input_order():
    v = np.array([3.0, 1.0, 2.0])
    assert weighted_quantile(v, np.array([0.2, 0.3, 0.5]), 0.31) == 2.0
    assert weighted_quantile(v, np.array([0.2, 0.3, 0.5]), 0.3) == 1.0


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5])
def test_bad_alpha_is_rejected(alpha):
    with pytest.raises(ConfigError, match="alpha"):
        risk_measures(np.ones(2), np.full(2, 0.5), alpha)


@settings(max_examples=200, deadline=None)
@given(
    cost=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e6, 1e6)),
    alpha=st.floats(0.5, 0.99),
    data=st.data(),
)
def test_risk_measure_properties(cost, alpha, data):
    weights = data.draw(
        hnp.arrays(np.float64, cost.shape, elements=st.floats(0.01, 1.0)), label="weights"
    )
    p = weights / weights.sum()
    m = risk_measures(cost, p, alpha)
    tol = 1e-9 * (1.0 + np.abs(cost).max())
    assert m.var_usd - tol <= m.cvar_usd <= m.worst_usd + tol
    assert m.cvar_usd >= m.expected_usd - tol
    shifted = risk_measures(cost + 1_000.0, p, alpha)
    assert shifted.cvar_usd == pytest.approx(m.cvar_usd + 1_000.0, abs=1e-6 + tol)
    assert shifted.var_usd == pytest.approx(m.var_usd + 1_000.0, abs=1e-6 + tol)
    order = data.draw(st.permutations(range(cost.size)), label="order")
    permuted = risk_measures(cost[list(order)], p[list(order)], alpha)
    assert permuted.var_usd == m.var_usd
    assert permuted.cvar_usd == pytest.approx(m.cvar_usd, abs=tol)


# ---- the vectorised cost model against plain loops ----------------------------------------


def reference_cost(problem: HedgeProblem, decision: Decision) -> np.ndarray:
    """The ladder and C_s written cell by cell with plain Python loops (independent check).

    A class following the ladder runs, in each cell, the curve segments whose value
    (break-even x slope, from the curve's breakpoints) is at least price + tag weight / hours,
    up to its schedule; a called DR offer not yet met sheds running segments, cheapest first,
    while they are worth less than price + penalty.
    """
    assert problem.n_dr == 1  # one DR product (several: test_model_cost's recourse LP)
    flex = problem.flex
    ladder = [j for j, c in enumerate(flex) if c.rt_curtailable and decision.follows_ladder]
    segments = []  # per class: (lower MW fraction, width fraction, $/MWh value) per segment
    for cls in flex:
        pts = list(zip(cls.curve_power_frac, cls.curve_work_frac, strict=True))
        segments.append(
            [
                (
                    p0,
                    p1 - p0,
                    cls.value_usd_per_gpu_hour * cls.gpu_hours_per_mwh * (w1 - w0) / (p1 - p0),
                )
                for (p0, w0), (p1, w1) in itertools.pairwise(pts)
            ]
        )
    out = []
    for s in range(problem.n_scenarios):
        cost, work = 0.0, [0.0] * len(flex)
        for t in range(problem.n_intervals):
            h, price = problem.interval_hours[t], problem.prices_usd_per_mwh[s, t]
            q = price + problem.cp_weight_usd_per_mw[s, t] / h
            power = [float(decision.schedule_mw[j, t]) for j in range(len(flex))]
            for j in ladder:
                run = sum(w * flex[j].max_mw[t] for _, w, v in segments[j] if v >= q)
                power[j] = min(power[j], run)
            shortfall = 0.0
            if problem.dr_deployed[0, s, t] and decision.dr_mw[0, t] > 0:
                done = sum(decision.schedule_mw[j, t] - power[j] for j in ladder)
                shortfall = max(decision.dr_mw[0, t] - done, 0.0)
                pieces = sorted(
                    (v, j, lo, w)
                    for j in ladder
                    for lo, w, v in segments[j]
                    if v < q + problem.dr_penalty_usd_per_mwh[0]
                )
                for _, j, lo, w in pieces:
                    m = flex[j].max_mw[t]
                    running = min(max(power[j] - lo * m, 0.0), w * m)
                    cut = min(running, shortfall)
                    power[j] -= cut
                    shortfall -= cut
            load = problem.firm_load_mw[t] + sum(power)
            cost += h * price * load + problem.cp_weight_usd_per_mw[s, t] * load
            cost += h * problem.dr_penalty_usd_per_mwh[0] * shortfall
            cost -= h * problem.dr_price_usd_per_mw_h[0, s, t] * decision.dr_mw[0, t]
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
            cost += (p.premium_usd_per_mw if x > 0 else p.bid_usd_per_mw) * x
            cost -= x * p.payoff_usd_per_mw[s]
        out.append(cost)
    return np.array(out)


CURVES = (
    (np.array([0.0, 1.0]), np.array([0.0, 1.0])),
    (np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.7, 1.0])),
    (np.array([0.0, 0.3, 0.7, 1.0]), np.array([0.0, 0.5, 0.85, 1.0])),
)


def random_case(seed: int, s: int = 7, t: int = 12) -> tuple[HedgeProblem, Decision]:
    """A random problem on the hand problem's campus: multi-segment curves, DR calls, tags,
    a call bought at the ask and a block sold at the bid."""
    rng = np.random.default_rng(seed)
    base = hand_problem()
    prices = rng.choice([20.0, 80.0, 600.0, 1_500.0, 2_500.0, 3_500.0, 9_000.0], (s, t))
    flex = tuple(
        replace(
            cls,
            max_mw=rng.choice([0.0, 10.0, 20.0], t),
            rt_curtailable=bool(j != 1 or seed % 2),
            value_usd_per_gpu_hour=float(rng.uniform(0.5, 4.0)),
            curve_power_frac=CURVES[(seed + j) % 3][0],
            curve_work_frac=CURVES[(seed + j) % 3][1],
        )
        for j, cls in enumerate(base.flex)
    )
    block = Product(
        "block",
        "block",
        rng.normal(0.0, 2e3, s),
        premium_usd_per_mw=150.0,
        fair_premium_usd_per_mw=0.0,
        sale_premium_usd_per_mw=-150.0,
        notional_hours=t / 2,
        min_mw=-50.0,
    )
    problem = replace(
        base,
        interval_start_utc=base.interval_start_utc[0] + np.arange(t) * np.timedelta64(30, "m"),
        interval_hours=np.full(t, 0.5),
        prices_usd_per_mwh=prices,
        probabilities=rng.dirichlet(np.ones(s)),
        firm_load_mw=np.full(t, 10.0),
        firm_gpu_hours=np.full(t, 4_000.0),
        flex=flex,
        products=(replace(base.products[0], payoff_usd_per_mw=rng.uniform(0, 5e3, s)), block),
        dr_price_usd_per_mw_h=rng.uniform(0, 20, t),
        dr_deployed=rng.random((s, t)) < 0.4,
        dr_penalty_usd_per_mwh=float(rng.choice([300.0, 3_000.0])),
        cp_weight_usd_per_mw=rng.uniform(0, 1_500, (s, t)) * (rng.random((s, t)) < 0.3),
    )
    decision = Decision(
        product_mw=np.array([rng.uniform(0, 30), -rng.uniform(0, 30)]),
        schedule_mw=np.vstack([c.max_mw * rng.uniform(0.3, 1.0, t) for c in flex]),
        dr_mw=rng.choice([0.0, 5.0, 15.0, 40.0], t),
        follows_ladder=bool(seed % 3),
    )
    return problem, decision


@pytest.mark.parametrize("seed", range(8))
def test_vectorised_valuation_equals_cell_by_cell_reference(seed):
    problem, decision = random_case(seed)
    costs = cost_breakdown(problem, decision)
    np.testing.assert_allclose(costs.total_cost_usd, reference_cost(problem, decision), rtol=1e-12)
    t = problem.n_intervals
    for s_i in range(problem.n_scenarios):
        per_interval = np.stack(
            [p.payoff_usd_per_mw[s_i] / t * np.ones(t) for p in problem.products]
        )
        cols = interval_breakdown(problem, decision, per_interval, s_i)
        assert cols["total_cost_usd"].sum() == pytest.approx(costs.total_cost_usd[s_i], rel=1e-12)
        assert cols["gpu_hours"].sum() == pytest.approx(costs.gpu_hours[s_i], rel=1e-12)
