"""The one cost model: hand-computed lines, and the ladder against an independent recourse LP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from energyhedge.model.cost import (
    cost_breakdown,
    interval_breakdown,
    ladder_steps,
    premium_usd,
    product_cash_usd,
    real_time_power_mw,
)
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem, Product


def _problem(prices, *, flex, cp=None, deployed=None, dr_price=0.0, penalty=0.0, products=()):
    prices = np.asarray(prices, dtype=float)
    s, t = prices.shape
    return HedgeProblem(
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=prices,
        probabilities=np.full(s, 1.0 / s),
        firm_load_mw=np.full(t, 10.0),
        firm_gpu_hours=np.full(t, 100.0),
        firm_value_usd_per_gpu_hour=2.0,
        flex=tuple(flex),
        grid_limit_mw=200.0,
        products=tuple(products),
        # one DR product, or one per row of a [A, S, T] ``deployed`` with penalties [A]
        dr_price_usd_per_mw_h=np.asarray(dr_price, dtype=float).reshape(-1, 1, 1)
        * np.ones((1, s, t)),
        dr_max_mw=np.full(np.size(penalty), 50.0 if deployed is not None else 0.0),
        dr_deployed=np.zeros((s, t), bool) if deployed is None else np.asarray(deployed),
        dr_penalty_usd_per_mwh=penalty,
        cp_weight_usd_per_mw=np.zeros((s, t)) if cp is None else np.asarray(cp, dtype=float),
    )


def _two_segment(name="train", value=4.0, gph=100.0, max_mw=40.0, t=3):
    # Segments: first half of the power delivers 80 % of the work (slope 1.6), second 20 % (0.4).
    return FlexClass(
        name=name,
        max_mw=np.full(t, max_mw),
        gpu_hours_per_mwh=gph,
        value_usd_per_gpu_hour=value,
        curve_power_frac=np.array([0.0, 0.5, 1.0]),
        curve_work_frac=np.array([0.0, 0.8, 1.0]),
    )


def test_ladder_by_hand_one_class_two_segments():
    # Break-even 400 $/MWh; segment values 640 and 160 $/MWh.
    flex = _two_segment()
    problem = _problem([[100.0, 300.0, 700.0]], flex=[flex])
    decision = Decision(np.zeros(0), np.full((1, 3), 40.0), np.zeros(3))
    power = real_time_power_mw(problem, decision)[0, 0]
    assert power.tolist() == [40.0, 20.0, 0.0]
    costs = cost_breakdown(problem, decision)
    # Energy: firm 10 MW each hour + class power.
    energy = 100 * 50 + 300 * 30 + 700 * 10
    assert costs.energy_cost_usd[0] == pytest.approx(energy)
    # Work: full 40 MW x 100 GPU-h/MWh = 4,000 GPU-h per hour; at 20 MW 80 % of it.
    work = 4000 + 3200 + 0
    assert costs.gpu_hours[0] == pytest.approx(300 + work)
    assert costs.value_lost_usd[0] == pytest.approx(4.0 * (12000 - work))
    assert costs.value_produced_usd[0] == pytest.approx(2.0 * 300 + 4.0 * work)
    assert costs.total_cost_usd[0] == pytest.approx(energy + 4.0 * (12000 - work))


def test_ladder_counts_the_tag_weight_and_follows_ladder_false_draws_schedule():
    flex = _two_segment()
    # 150 $/MWh price + 500 $/MW tag in one hour: effective 650 > 640, both segments shed.
    problem = _problem([[150.0, 150.0, 150.0]], flex=[flex], cp=[[0.0, 500.0, 0.0]])
    decision = Decision(np.zeros(0), np.full((1, 3), 40.0), np.zeros(3))
    assert real_time_power_mw(problem, decision)[0, 0].tolist() == [40.0, 0.0, 40.0]
    steps = ladder_steps(problem, decision)[0]
    assert [s.price_at_most_usd_per_mwh[1] for s in steps] == pytest.approx([140.0, -340.0])
    assert [s.run_mw[1] for s in steps] == [20.0, 40.0]
    fixed = Decision(np.zeros(0), np.full((1, 3), 40.0), np.zeros(3), follows_ladder=False)
    assert real_time_power_mw(problem, fixed)[0, 0].tolist() == [40.0, 40.0, 40.0]


def test_dr_call_sheds_lowest_value_first_until_penalty_is_dearer():
    cheap = _two_segment("cheap", value=1.0)  # segment values 160, 40 $/MWh
    dear = _two_segment("dear", value=10.0)  # 1600, 400 $/MWh
    deployed = [[False, True, True]]
    problem = _problem([[50.0, 100.0, 100.0]], flex=[cheap, dear], deployed=deployed, penalty=200.0)
    dr = np.array([0.0, 30.0, 70.0])
    decision = Decision(np.zeros(0), np.full((2, 3), 40.0), dr)
    power = real_time_power_mw(problem, decision)[:, 0]
    # Hour 2: price 100 sheds cheap's 40-value segment (20 MW); call 30 MW needs 10 more, from
    # cheap's 160-value segment (<= 100 + 200).
    assert power[:, 1].tolist() == [10.0, 40.0]
    # Hour 3: call 70 MW: cheap sheds 40; dear's 400 segment is dearer than 100 + 200, so the
    # remaining 30 MW is the shortfall.
    assert power[:, 2].tolist() == [0.0, 40.0]
    costs = cost_breakdown(problem, decision)
    assert costs.dr_penalty_usd[0] == pytest.approx(200.0 * 30.0)


def _recourse_lp_cost(problem: HedgeProblem, decision: Decision, s: int) -> np.ndarray:
    """Optimal power [J, T] of scenario s by an LP over curve segments (independent check)."""
    t_n = problem.n_intervals
    h = problem.interval_hours
    q = h * problem.prices_usd_per_mwh[s] + problem.cp_weight_usd_per_mw[s]
    cols, cost, bounds = [], [], []
    for j, flex in enumerate(problem.flex):
        width, slope = flex.segments()
        for t in range(t_n):
            for m in range(width.size):
                cols.append((j, t))
                cost.append(q[t] - flex.break_even_usd_per_mwh * h[t] * slope[m])
                bounds.append((0.0, width[m] * flex.max_mw[t]))
    # a shortfall column per called product and interval, at most the product's offer
    dep = np.argwhere(problem.dr_deployed[:, s] & (decision.dr_mw > 0))  # (a, t) pairs
    n_seg = len(cols)
    cost += [problem.dr_penalty_usd_per_mwh[a] * h[t] for a, t in dep]
    bounds += [(0.0, decision.dr_mw[a, t]) for a, t in dep]
    a_ub, b_ub = [], []
    for j in range(len(problem.flex)):
        for t in range(t_n):  # sum of segments <= schedule
            a_ub.append(
                [1.0 if cols[i] == (j, t) else 0.0 for i in range(n_seg)] + [0.0] * len(dep)
            )
            b_ub.append(decision.schedule_mw[j, t])
    for t in np.unique(dep[:, 1]):  # sum_j (u - p) + sum_a d_a >= sum_a r_a over the called a
        row = [1.0 if cols[i][1] == t else 0.0 for i in range(n_seg)]
        row += [-1.0 if dt == t else 0.0 for _, dt in dep]
        a_ub.append(row)
        called = [a for a, dt in dep if dt == t]
        b_ub.append(decision.schedule_mw[:, t].sum() - decision.dr_mw[called, t].sum())
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert res.status == 0
    power = np.zeros((len(problem.flex), t_n))
    for i, (j, t) in enumerate(cols):
        power[j, t] += res.x[i]
    return power


@pytest.mark.parametrize("n_dr", [1, 3])
def test_ladder_equals_recourse_lp_on_random_problems(n_dr):
    rng = np.random.default_rng(3 + n_dr)
    for trial in range(6):
        s, t = 4, 6
        prices = rng.choice([20.0, 90.0, 150.0, 300.0, 800.0, 2500.0], size=(s, t))
        flex = [
            FlexClass(
                name=f"c{j}",
                max_mw=rng.uniform(10, 40, t),
                gpu_hours_per_mwh=80.0 + 20 * j,
                value_usd_per_gpu_hour=rng.uniform(0.5, 6.0),
                curve_power_frac=np.array([0.0, 0.3, 0.7, 1.0]),
                curve_work_frac=np.array([0.0, 0.5, 0.85, 1.0]),
            )
            for j in range(2)
        ]
        # each product called above its own trigger; penalties differ
        triggers = rng.choice([150.0, 300.0, 800.0], size=n_dr)
        deployed = prices[None] >= triggers[:, None, None]
        problem = _problem(
            prices,
            flex=flex,
            cp=rng.choice([0.0, 0.0, 200.0], size=(s, t)),
            deployed=deployed if n_dr > 1 else deployed[0],
            penalty=rng.choice([50.0, 500.0, 1500.0], size=n_dr),
            dr_price=rng.uniform(1.0, 10.0, n_dr),
        )
        schedule = np.stack([f.max_mw * rng.uniform(0.5, 1.0, t) for f in flex])
        decision = Decision(np.zeros(0), schedule, rng.uniform(0, 30 / n_dr, (n_dr, t)))
        ladder = cost_breakdown(problem, decision)
        lp_power = np.stack([_recourse_lp_cost(problem, decision, k) for k in range(s)], axis=1)
        best = cost_breakdown(problem, decision, power_mw=lp_power)
        np.testing.assert_allclose(
            ladder.total_cost_usd, best.total_cost_usd, rtol=1e-9, atol=1e-6, err_msg=str(trial)
        )


def test_bid_ask_premiums_and_cash():
    payoff = np.array([100.0, -50.0])
    block = Product(
        "b",
        "block",
        payoff,
        premium_usd_per_mw=24.0,
        fair_premium_usd_per_mw=0.0,
        sale_premium_usd_per_mw=-24.0,
        min_mw=-10,
        max_mw=10,
    )
    call = Product("c", "call", np.array([0.0, 300.0]), 165.0, 150.0, max_mw=5)
    flex = [_two_segment(t=1)]
    problem = _problem([[10.0], [20.0]], flex=flex, products=(block, call))
    # Selling 3 MW of the block receives the bid (-24/MW, i.e. pays the spread); buying 2 MW of
    # the call pays the ask.
    x = np.array([-3.0, 2.0])
    assert premium_usd(problem, x) == pytest.approx(3 * 24.0 + 2 * 165.0)
    cash = product_cash_usd(problem, x)
    assert cash[:, 0].tolist() == pytest.approx([72.0 + 300.0, 72.0 - 150.0])
    assert cash[:, 1].tolist() == pytest.approx([330.0, 330.0 - 600.0])


def test_interval_breakdown_adds_up_to_cost_breakdown():
    flex = _two_segment(t=3)
    block = Product("b", "block", np.array([30.0]), 5.0, 0.0, min_mw=-10, max_mw=10)
    problem = _problem(
        [[100.0, 500.0, 900.0]],
        flex=[flex],
        cp=[[0.0, 50.0, 0.0]],
        deployed=[[False, False, True]],
        penalty=100.0,
        dr_price=3.0,
        products=(block,),
    )
    decision = Decision(np.array([4.0]), np.full((1, 3), 35.0), np.array([0.0, 0.0, 20.0]))
    cols = interval_breakdown(problem, decision, np.array([[10.0, 10.0, 10.0]]))
    total = cost_breakdown(problem, decision)
    assert cols["total_cost_usd"].sum() == pytest.approx(total.total_cost_usd[0])
    assert cols["hedge_payoff_usd"].sum() == pytest.approx(120.0)
    assert cols["dr_revenue_usd"].sum() == pytest.approx(60.0)
