"""Day-ahead commitment with minimum run and off times: a MIP, checked by hand and by property."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from energyhedge.errors import ConfigError, InfeasibleError
from energyhedge.model.cost import cost_breakdown
from energyhedge.model.problem import FlexClass, HedgeProblem
from energyhedge.optimize import SolveOptions, build_lp, model_size, solve
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import COST_UNIT_USD, fix_columns, objective_k_usd
from energyhedge.optimize.synthetic import synthetic_problem

EXPECTED_COST = SolveOptions(cvar_weight=0.0, marginals=False, mip_rel_gap=0.0)


def _hourly(prices, stop_cost: float, **commitment) -> HedgeProblem:
    """One scenario, 10 MW firm, one day-ahead class of 40 MW worth 400 $/MWh at any power
    (linear curve: 100 GPU-h/MWh at $4), on at least half its MW while on."""
    t = len(prices)
    flex = FlexClass(
        name="train",
        max_mw=np.full(t, 40.0),
        gpu_hours_per_mwh=100.0,
        value_usd_per_gpu_hour=4.0,
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
        rt_curtailable=False,
        stop_cost_usd=stop_cost,
        min_power_frac=0.5,
        **commitment,
    )
    return HedgeProblem(
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=np.asarray([prices], dtype=float),
        probabilities=np.ones(1),
        firm_load_mw=np.full(t, 10.0),
        firm_gpu_hours=np.zeros(t),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(flex,),
        grid_limit_mw=100.0,
        products=(),
        dr_price_usd_per_mw_h=np.zeros(t),
        dr_max_mw=0.0,
        dr_deployed=np.zeros((1, t), bool),
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=np.zeros((1, t)),
    )


SPIKE = [50.0, 50.0, 900.0, 900.0, 50.0, 50.0]
# Firm 10 MW: 10 x (4 x 50 + 2 x 900) = 20,000 in every plan; the class at 40 MW in the four
# cheap hours: 4 x 40 x 50 = 8,000.
# Stop for the spike: off in hours 2-3, value lost 2 x 40 x 400 = 32,000, one stop 10,000:
#   20,000 + 8,000 + 32,000 + 10,000 = 70,000.
# Ride through at the minimum 20 MW: energy 2 x 20 x 900 = 36,000, value lost 2 x 20 x 400
#   = 16,000: 20,000 + 8,000 + 36,000 + 16,000 = 80,000.
# With a 3-hour minimum off time the stop also takes hour 4 off: 40 MW less at 50 $/MWh saves
#   2,000 and loses 16,000 of work, so stopping costs 84,000 > 80,000: ride through.


def test_stop_for_the_spike_when_the_stop_is_short_enough():
    sol = solve(_hourly(SPIKE, 10_000.0, min_off_h=1.0), EXPECTED_COST)
    np.testing.assert_allclose(sol.decision.schedule_mw[0], [40, 40, 0, 0, 40, 40], atol=1e-6)
    assert sol.objective_usd == pytest.approx(70_000.0, abs=1e-3)
    assert sol.commitment["train"].tolist() == [True, True, False, False, True, True]


def test_ride_through_when_the_minimum_off_time_makes_the_stop_dearer():
    problem = _hourly(SPIKE, 10_000.0, min_off_h=3.0)
    sol = solve(problem, EXPECTED_COST)
    np.testing.assert_allclose(sol.decision.schedule_mw[0], [40, 40, 20, 20, 40, 40], atol=1e-6)
    assert sol.objective_usd == pytest.approx(80_000.0, abs=1e-3)
    # valuation prices the same plan, stops included, to the same cost
    assert cost_breakdown(problem, sol.decision).total_cost_usd[0] == pytest.approx(80_000.0)
    record = sol.solver["commitment"]
    assert record["integer_columns"] == 6 and record["mip_gap"] <= 1e-9
    assert record["lp_relaxation_usd"] <= sol.objective_usd + 1e-6


def test_ride_through_when_the_stop_costs_more_than_the_spike_saves():
    # Stopping saves 80,000 - 70,000 + 10,000 = 20,000 before its cost: at 30,000 it does not pay.
    sol = solve(_hourly(SPIKE, 30_000.0, min_off_h=1.0), EXPECTED_COST)
    np.testing.assert_allclose(sol.decision.schedule_mw[0], [40, 40, 20, 20, 40, 40], atol=1e-6)
    assert sol.objective_usd == pytest.approx(80_000.0, abs=1e-3)


TWO_SPIKES = [50.0, 900.0, 50.0, 1000.0, 50.0, 50.0]
# Per spike hour against a 40 MW class worth 400 $/MWh: off loses 40 x 400 = 16,000 of work;
# at the 20 MW minimum it pays 20 x P and loses 8,000 (P = 900: 26,000; P = 1000: 28,000).
# Firm load 10 x (4 x 50 + 900 + 1000) = 21,000; the class at 40 MW in the hours 0, 2, 4, 5:
# 4 x 2,000 = 8,000. Stop cost 1,000.
# Without a minimum run: off in both spikes, 21,000 + 8,000 + 2 x 16,000 + 2 x 1,000 = 63,000.
# With a 2-hour minimum run a restart in hour 2 must run hour 3 too. Best: ride the cheaper
#   spike at 20 MW and stop for the dearer one (restarting in hour 4, which runs to the end):
#   21,000 + 8,000 + 26,000 + 16,000 + 1,000 = 72,000; the other way round 74,000, off through
#   hours 1-3 21,000 + 6,000 + 48,000 + 1,000 = 76,000, riding both 83,000.


def test_minimum_run_time_by_hand():
    free = solve(_hourly(TWO_SPIKES, 1_000.0, min_off_h=1.0), EXPECTED_COST)
    np.testing.assert_allclose(free.decision.schedule_mw[0], [40, 0, 40, 0, 40, 40], atol=1e-6)
    assert free.objective_usd == pytest.approx(63_000.0, abs=1e-3)
    problem = _hourly(TWO_SPIKES, 1_000.0, min_run_h=2.0)
    run2 = solve(problem, EXPECTED_COST)
    np.testing.assert_allclose(run2.decision.schedule_mw[0], [40, 20, 40, 0, 40, 40], atol=1e-6)
    assert run2.objective_usd == pytest.approx(72_000.0, abs=1e-3)
    breakdown = cost_breakdown(problem, run2.decision)
    assert breakdown.stops[0] == 1 and breakdown.total_cost_usd[0] == pytest.approx(72_000.0)


def _runs(on: np.ndarray) -> list[tuple[bool, int, int]]:
    """(state, first interval, length) of each maximal run of equal states."""
    edges = np.flatnonzero(np.diff(on.astype(int))) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [on.size]])
    return [(bool(on[a]), int(a), int(b - a)) for a, b in zip(starts, ends, strict=True)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_minimum_run_and_off_times_hold_on_random_campuses(seed):
    rng = np.random.default_rng(seed)
    base = synthetic_problem(24, 12, seed=seed)
    spikes = rng.uniform(0, 1, base.prices_usd_per_mwh.shape) < 0.15
    prices = np.where(spikes, rng.uniform(2_000, 9_000, spikes.shape), base.prices_usd_per_mwh)
    run_h, off_h = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    flex = tuple(
        dataclasses.replace(
            f,
            min_run_h=float(run_h),
            min_off_h=float(off_h),
            min_power_frac=0.3,
            stop_cost_usd=float(rng.uniform(0, 20_000)),
        )
        for f in base.flex
    )
    problem = dataclasses.replace(base, prices_usd_per_mwh=prices, flex=flex)
    options = SolveOptions(marginals=False, mip_rel_gap=1e-6)
    sol = solve(problem, options)
    for j, f in enumerate(problem.flex):
        on = sol.commitment[f.name]
        schedule = sol.decision.schedule_mw[j]
        assert np.all(schedule[~on] <= 1e-7)
        assert np.all(schedule[on] >= 0.3 * f.max_mw[on] - 1e-6)
        for state, first, length in _runs(on):
            if first + length == on.size:  # truncated by the horizon's end
                continue
            if state and first > 0:  # a run started inside the horizon
                assert length >= run_h, (f.name, on.astype(int).tolist())
            if not state:
                assert length >= off_h, (f.name, on.astype(int).tolist())
    record = sol.solver["commitment"]
    assert record["lp_relaxation_usd"] <= sol.objective_usd * (1 + 1e-9) + 1e-6
    assert record["mip_dual_bound_usd"] <= sol.objective_usd * (1 + 1e-9) + 1e-6


def test_without_committed_classes_the_model_is_an_lp():
    problem = synthetic_problem(24, 10, seed=1)
    lp = build_lp(problem, SolveOptions())
    assert lp.integer.size == 0 and model_size(problem, SolveOptions())["integers"] == 0
    assert not any(name.startswith(("on", "start", "stop")) for name in lp.cols.blocks)
    sol = solve(problem, SolveOptions(marginals=False))
    assert "commitment" not in sol.solver and sol.commitment == {}


def test_duals_come_from_the_lp_with_the_commitment_fixed():
    # A soft work requirement on a committed day-ahead class that stops for an evening spike:
    # its shadow price (the decision's work value) equals the finite difference of the LP with
    # the commitment fixed.
    base = synthetic_problem(24, 8, seed=3)
    prices = base.prices_usd_per_mwh.copy()
    prices[:, 17:20] += np.random.default_rng(0).uniform(1_000, 4_000, (8, 3))
    training = dataclasses.replace(
        base.flex[0],
        rt_curtailable=False,
        min_run_h=3.0,
        min_off_h=2.0,
        min_power_frac=0.4,
        stop_cost_usd=5_000.0,
        work_requirement_gpu_hours=0.9 * 24 * 50 * base.flex[0].gpu_hours_per_mwh,
        unserved_usd_per_gpu_hour=1.0,
    )
    problem = dataclasses.replace(base, prices_usd_per_mwh=prices, flex=(training, base.flex[1]))
    options = SolveOptions(marginals=False, mip_rel_gap=0.0)
    sol = solve(problem, options)
    value = sol.decision.work_value_usd_per_gpu_hour[0]
    assert not sol.commitment[training.name].all() and value > 0
    # the stop does not pay in the LP relaxation as it does in the MIP: a strict gap
    record = sol.solver["commitment"]
    assert record["lp_relaxation_usd"] < sol.objective_usd - 1_000.0
    assert record["relaxation_gap_usd"] == pytest.approx(
        sol.objective_usd - record["lp_relaxation_usd"]
    )

    def fixed_objective(extra_gpu_hours: float) -> float:
        more = dataclasses.replace(
            training,
            work_requirement_gpu_hours=training.work_requirement_gpu_hours + extra_gpu_hours,
        )
        changed = dataclasses.replace(problem, flex=(more, problem.flex[1]))
        lp = fix_columns(build_lp(changed, options), {"on0": sol.commitment[training.name]})
        assert lp.integer.size == 0
        result = HighsRunner.for_options(lp, options).run()
        return objective_k_usd(lp, result.record["objective"], result.values) * COST_UNIT_USD

    extra = 10.0
    slope = (fixed_objective(extra) - fixed_objective(0.0)) / extra
    assert slope == pytest.approx(value, rel=1e-4)  # objective tolerance over 10 GPU-h


def test_bad_commitment_settings_are_refused():
    problem = _hourly(SPIKE, 0.0, min_off_h=2.0)
    bad = dataclasses.replace(problem.flex[0], min_power_frac=0.0)
    with pytest.raises(ConfigError, match="min_power_frac 0 must be in"):
        solve(dataclasses.replace(problem, flex=(bad,)), EXPECTED_COST)


@pytest.mark.parametrize("seed", [4, 5])
def test_array_mip_equals_the_pyomo_reference(seed):
    from energyhedge.optimize.pyomo_model import solve_pyomo  # noqa: PLC0415 (slow import)

    base = synthetic_problem(12, 6, seed=seed)
    prices = base.prices_usd_per_mwh.copy()
    prices[:, 6:9] += np.random.default_rng(seed).uniform(1_000, 4_000, (6, 3))
    flex = (
        dataclasses.replace(
            base.flex[0], rt_curtailable=False, min_run_h=3.0, min_power_frac=0.3, stop_cost_usd=4e3
        ),
        dataclasses.replace(base.flex[1], min_off_h=2.0, min_power_frac=0.5, stop_cost_usd=1e3),
    )
    problem = dataclasses.replace(base, prices_usd_per_mwh=prices, flex=flex)
    options = SolveOptions(marginals=False, mip_rel_gap=0.0)
    sol = solve(problem, options)
    ref = solve_pyomo(problem, options)
    assert not sol.commitment[flex[0].name].all()  # the commitment matters here
    assert sol.objective_usd == pytest.approx(ref["objective_usd"], rel=1e-6)
    assert sol.solver["commitment"]["lp_relaxation_usd"] <= sol.objective_usd + 1e-6


def test_infeasible_commitment_is_explained():
    # Forced off in hour 2 (no MW there) with a 3-hour minimum off time: the class can run in
    # hours 0, 1 and 5 only, 3 x 40 = 120 MWh, below a hard requirement of 150 MWh (15,000 GPU-h)
    # that the prechecks (5 hours with MW: 200 MWh) let through.
    problem = _hourly(SPIKE, 0.0, min_off_h=3.0)
    max_mw = np.array([40.0, 40.0, 0.0, 40.0, 40.0, 40.0])
    flex = dataclasses.replace(
        problem.flex[0],
        max_mw=max_mw,
        work_requirement_gpu_hours=15_000.0,
        unserved_usd_per_gpu_hour=np.inf,
    )
    with pytest.raises(InfeasibleError, match=r"minimum run and off times of train \(run 0 h"):
        solve(dataclasses.replace(problem, flex=(flex,)), EXPECTED_COST)


def test_frontier_and_marginals_solve_the_mip_at_each_point():
    from energyhedge.optimize.frontier import frontier  # noqa: PLC0415

    problem = _hourly(TWO_SPIKES, 1_000.0, min_run_h=2.0)
    points = frontier(problem, [0.0, 1.0], EXPECTED_COST)
    # one scenario: CVaR = E[C] = 72,000 (by hand above), so E[C] + lambda x CVaR
    assert [p.objective_usd for p in points] == pytest.approx([72_000.0, 144_000.0], abs=1e-3)
    assert all("commitment" in p.solution.solver for p in points)
    sol = solve(problem, dataclasses.replace(EXPECTED_COST, marginals=True))
    # 1 MW of firm load made part of the class (41 MW, firm 9 MW), commitment fixed: hours 0,
    # 2, 4, 5 run it as before (no change); hour 3 (off) sheds it: 1,000 of energy saved, 400
    # of work lost; hour 1 (on at the minimum, now 20.5 MW): load 0.5 MW lower saves 450, work
    # lost 0.5 x 400 = 200 more. Objective 600 + 250 = 850 lower.
    assert sol.flex_value_usd_per_mw["train"] == pytest.approx(850.0, abs=1e-6)
