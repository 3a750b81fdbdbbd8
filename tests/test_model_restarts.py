"""Full stops cost a restart: counted on every path, and the restart-aware ladder, by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from energyhedge.model.cost import (
    cost_breakdown,
    interval_breakdown,
    real_time_power_mw,
    restart_thresholds,
)
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem


def _problem(prices, stop_cost=10_000.0) -> HedgeProblem:
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    s, t = prices.shape
    # Break-even 400 $/MWh; two segments worth 640 (first 20 MW) and 160 $/MWh (next 20 MW).
    flex = FlexClass(
        name="train",
        max_mw=np.full(t, 40.0),
        gpu_hours_per_mwh=100.0,
        value_usd_per_gpu_hour=4.0,
        curve_power_frac=np.array([0.0, 0.5, 1.0]),
        curve_work_frac=np.array([0.0, 0.8, 1.0]),
        stop_cost_usd=stop_cost,
    )
    return HedgeProblem(
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=prices,
        probabilities=np.full(s, 1.0 / s),
        firm_load_mw=np.full(t, 10.0),
        firm_gpu_hours=np.zeros(t),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(flex,),
        grid_limit_mw=100.0,
        products=(),
        dr_price_usd_per_mw_h=np.zeros(t),
        dr_max_mw=0.0,
        dr_deployed=np.zeros((s, t), bool),
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=np.zeros((s, t)),
    )


def _decision(t, stop_above=None) -> Decision:
    limit = None if stop_above is None else np.array([stop_above])
    return Decision(np.zeros(0), np.full((1, t), 40.0), np.zeros(t), True, limit)


def test_plain_ladder_stops_and_pays_the_restart():
    problem = _problem([100.0, 700.0, 700.0, 100.0, 700.0])
    costs = cost_breakdown(problem, _decision(5))
    assert real_time_power_mw(problem, _decision(5))[0, 0].tolist() == [40, 0, 0, 40, 0]
    assert costs.stops[0] == 2  # two spikes above the first rung's 640 $/MWh
    assert costs.restart_usd[0] == 20_000.0
    lines = interval_breakdown(problem, _decision(5), np.zeros((0, 5)))
    assert lines["stops"].tolist() == [0, 1, 0, 0, 1]
    assert lines["total_cost_usd"].sum() == pytest.approx(costs.total_cost_usd[0])


def test_restart_aware_ladder_rides_short_spikes_with_hysteresis():
    # Below the stop level the class keeps its first rung (20 MW); above it, it stops and stays
    # off while the price is above the first rung's value (640), however it moves.
    problem = _problem([100.0, 700.0, 950.0, 700.0, 100.0, 700.0])
    power = real_time_power_mw(problem, _decision(6, stop_above=900.0))[0, 0]
    assert power.tolist() == [40, 20, 0, 0, 40, 20]
    costs = cost_breakdown(problem, _decision(6, stop_above=900.0))
    assert costs.stops[0] == 1 and costs.restart_usd[0] == 10_000.0
    # Energy: firm 10 MW plus the class's power, by hand.
    energy = 100 * 50 + 700 * 30 + 950 * 10 + 700 * 10 + 100 * 50 + 700 * 30
    assert costs.energy_cost_usd[0] == pytest.approx(energy)


def test_restart_thresholds_by_hand():
    # Two equally likely scenarios; spikes above 640: one of 2 h, one of 1 h and one of 3 h ->
    # 3 spikes per 2 scenarios, 6 h above per 2 scenarios: mean spike 2 h. First rung 20 MW:
    # stop above 640 + 10,000 / (20 MW x 2 h) = 890 $/MWh.
    problem = _problem([[700, 700, 100, 800, 100], [100, 900, 900, 900, 100]])
    assert restart_thresholds(problem)[0] == pytest.approx(640.0 + 10_000.0 / (20.0 * 2.0))
    assert restart_thresholds(_problem([[700, 100]], stop_cost=0.0))[0] == pytest.approx(640.0)


def test_without_a_stop_cost_the_restart_rule_is_the_plain_ladder():
    problem = _problem([100.0, 700.0, 950.0, 700.0], stop_cost=0.0)
    rule = _decision(4, stop_above=float(restart_thresholds(problem)[0]))
    plain = replace(rule, stop_above_usd_per_mwh=None)
    np.testing.assert_array_equal(
        real_time_power_mw(problem, rule), real_time_power_mw(problem, plain)
    )


def test_stop_count_agrees_with_the_interval_by_interval_count():
    rng = np.random.default_rng(9)
    for _ in range(20):
        t = 12
        prices = rng.choice([100.0, 300.0, 700.0, 950.0], size=(4, t))
        problem = _problem(prices)
        schedule = np.where(rng.random(t) < 0.3, 0.0, 40.0)[None, :]
        for stop_above in (None, 900.0):
            limit = None if stop_above is None else np.array([stop_above])
            decision = Decision(np.zeros(0), schedule, np.zeros(t), True, limit)
            totals = cost_breakdown(problem, decision)
            for s in range(4):
                one = replace(
                    problem,
                    prices_usd_per_mwh=prices[s : s + 1],
                    probabilities=np.ones(1),
                    dr_deployed=np.zeros((1, t), bool),
                    cp_weight_usd_per_mw=np.zeros((1, t)),
                    dr_price_usd_per_mw_h=np.zeros(t),
                )
                lines = interval_breakdown(one, decision, np.zeros((0, t)))
                assert totals.stops[s] == lines["stops"].sum()
                assert totals.restart_usd[s] == pytest.approx(lines["restart_usd"].sum())
