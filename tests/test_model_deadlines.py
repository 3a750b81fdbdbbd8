"""Training deadlines: work after the deadline does not count, the LP makes it up before, the
ladder values work before the deadline at the requirement's shadow price; by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from energyhedge.assemble import build_problem
from energyhedge.campus import load_campus
from energyhedge.instruments import load_catalogue
from energyhedge.model.cost import cost_breakdown, interval_breakdown, real_time_power_mw
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem
from energyhedge.optimize import SolveOptions, solve
from energyhedge.scenarios import ScenarioSet


def _problem(prices, *, requirement, due, late=50.0) -> HedgeProblem:
    prices = np.atleast_2d(np.asarray(prices, dtype=float))
    s, t = prices.shape
    # 40 MW class, 100 GPU-h/MWh at full speed, worth $4/GPU-h; one segment (linear curve):
    # break-even 400 $/MWh.
    flex = FlexClass(
        name="train",
        max_mw=np.full(t, 40.0),
        gpu_hours_per_mwh=100.0,
        value_usd_per_gpu_hour=4.0,
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
        work_requirement_gpu_hours=requirement,
        unserved_usd_per_gpu_hour=late,
        requirement_intervals=due,
    )
    return HedgeProblem(
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=prices,
        probabilities=np.full(s, 1.0 / s),
        firm_load_mw=np.zeros(t),
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


def test_only_work_before_the_deadline_counts_by_hand():
    # Requirement 8,000 GPU-h by the end of hour 2 (2 h x 40 MW x 100 = 8,000 at full speed).
    # A spike at hour 2 (600 > 400) sheds the class there: 4,000 GPU-h short, late at $50.
    problem = _problem([100.0, 600.0, 100.0, 100.0], requirement=8_000.0, due=2)
    decision = Decision(np.zeros(0), np.full((1, 4), 40.0), np.zeros(4))
    assert real_time_power_mw(problem, decision)[0, 0].tolist() == [40, 0, 40, 40]
    costs = cost_breakdown(problem, decision)
    assert costs.unserved_penalty_usd[0] == pytest.approx(50.0 * 4_000.0)  # hour 3-4 work is late
    lines = interval_breakdown(problem, decision, np.zeros((0, 4)))
    assert lines["unserved_penalty_usd"].tolist() == [0.0, 200_000.0, 0.0, 0.0]  # at the deadline
    assert lines["total_cost_usd"].sum() == pytest.approx(costs.total_cost_usd[0])
    whole = cost_breakdown(
        replace(problem, flex=(replace(problem.flex[0], requirement_intervals=None),)), decision
    )
    assert whole.unserved_penalty_usd[0] == 0.0  # 12,000 GPU-h over the whole horizon


def test_the_lp_meets_the_requirement_before_the_deadline_and_prices_it():
    # Cheap hours after the deadline cannot help: the LP runs through the dear hour before it
    # when being late costs more than the price, and the requirement's shadow price shows it.
    prices = [[100.0, 600.0, 50.0, 50.0], [100.0, 650.0, 50.0, 50.0]]
    problem = _problem(prices, requirement=8_000.0, due=2, late=10.0)
    solution = solve(problem, SolveOptions(cvar_weight=0.0))
    power = solution.decision.schedule_mw[0]
    assert power[:2].tolist() == pytest.approx([40.0, 40.0])
    # Running hour 2 costs price - 400 per MWh of work value: (600 - 400) / 100 = $2/GPU-h or
    # (650 - 400) / 100 = $2.5; being late costs $10, so the requirement binds with a shadow
    # price of the mean extra cost, $2.25/GPU-h.
    assert solution.decision.work_value_usd_per_gpu_hour[0] == pytest.approx(2.25, rel=1e-6)


def test_the_ladder_keeps_work_before_the_deadline_at_its_shadow_price():
    problem = _problem([100.0, 600.0, 100.0, 600.0], requirement=8_000.0, due=2)
    plain = Decision(np.zeros(0), np.full((1, 4), 40.0), np.zeros(4))
    valued = replace(plain, work_value_usd_per_gpu_hour=np.array([2.5]))
    # Before the deadline work is worth (4 + 2.5) x 100 = 650 $/MWh > 600: kept; after it 400.
    assert real_time_power_mw(problem, valued)[0, 0].tolist() == [40, 40, 40, 0]
    assert real_time_power_mw(problem, plain)[0, 0].tolist() == [40, 0, 40, 0]
    assert cost_breakdown(problem, valued).unserved_penalty_usd[0] == 0.0


def test_a_campus_deadline_sets_the_intervals_that_count(tmp_path):
    text = Path("models/campus/tx-100mw.toml").read_text()
    text = text.replace(
        "restart_cost_usd = 0.0",
        "restart_cost_usd = 0.0\ndeadline = 2023-08-17T12:00:00\n"
        "work_requirement_gpu_hours = 500000.0\nunserved_usd_per_gpu_hour = 8.0",
    )
    path = tmp_path / "campus.toml"
    path.write_text(text)
    campus = load_campus(path)
    stamps = np.datetime64("2023-08-17T05:00", "us") + np.arange(24) * np.timedelta64(1, "h")
    scenarios = ScenarioSet(
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        interval_start_utc=stamps,
        interval_minutes=60,
        prices_usd_per_mwh=np.full((2, 24), 50.0),
        probabilities=np.full(2, 0.5),
        kind=np.array(["bootstrap"] * 2),
    )
    empty = load_catalogue("models/contracts/virtual-peaker-example.toml")
    problem = build_problem(campus, type(empty)(empty.name, empty.path, ()), scenarios)
    (train,) = problem.flex
    assert train.requirement_intervals == 12  # 00:00-11:00 CDT start before noon
    assert train.work_requirement_gpu_hours == 500_000.0
