"""The fleet LP and the real-time migration rule on a two-campus case solved by hand: a spike
at A moves work to B within the migration limit, and the fleet cost comes out as the hand
arithmetic says (the LP, which sees the path whole, pre-positions work; the rule, which sees
only the hour, moves when the spike comes)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from energyhedge.campus.model import GpuType, InferenceClass, TrainingTier
from energyhedge.errors import ConfigError
from energyhedge.fleet.lp import FleetProblem, FleetSolution, fleet_size, solve_fleet
from energyhedge.fleet.model import MovableClass
from energyhedge.fleet.value import migration_ladder, value_fleet
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem
from energyhedge.optimize import SolveOptions, solve
from energyhedge.optimize.synthetic import synthetic_problem

HOURS = 3
STAMPS = np.datetime64("2025-07-01T04:00", "us") + np.arange(HOURS) * np.timedelta64(1, "h")


def _site(prices: list[float], max_mw: float, *, serve: bool = False) -> HedgeProblem:
    """One campus hosting the movable class "train" (100 GPU-h per MWh, $2/GPU-h, linear), or
    with ``serve`` the inference class "serve" ($3/GPU-h, on its day-ahead schedule)."""
    train = FlexClass(
        name="serve" if serve else "train",
        max_mw=np.full(HOURS, max_mw),
        gpu_hours_per_mwh=100.0,
        value_usd_per_gpu_hour=3.0 if serve else 2.0,
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
        rt_curtailable=not serve,
    )
    zeros = np.zeros((1, HOURS))
    return HedgeProblem(
        interval_start_utc=STAMPS,
        interval_hours=np.ones(HOURS),
        prices_usd_per_mwh=np.array([prices], dtype=float),
        probabilities=np.ones(1),
        firm_load_mw=np.zeros(HOURS),
        firm_gpu_hours=np.zeros(HOURS),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(train,),
        grid_limit_mw=100.0,
        products=(),
        dr_price_usd_per_mw_h=np.zeros(HOURS),
        dr_max_mw=0.0,
        dr_deployed=np.zeros((1, HOURS), dtype=bool),
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=zeros,
    )


def _movable(migration_mw_per_h: float, migration_usd_per_mw: float = 20.0) -> MovableClass:
    # 10 kW per GPU: 1,000 GPUs are 10 MW, i.e. 100 GPU-h per MWh as in _site.
    gpu = GpuType("g", 10.0, 0.0)
    tier = TrainingTier(
        name="train",
        gpu=gpu,
        gpus=1000.0,
        value_usd_per_gpu_hour=2.0,
        flex_tier=3,
        curve_power_frac=np.array([0.0, 1.0]),
        curve_work_frac=np.array([0.0, 1.0]),
        curve_source="linear",
        ramp_mw_per_h=float("inf"),
        notice="real_time",
        restart_cost_usd=0.0,
        work_requirement_gpu_hours=None,
        unserved_usd_per_gpu_hour=0.0,
    )
    return MovableClass(
        name="train",
        home_name="train",
        home="A",
        home_iso="pjm",
        gpus=1000.0,
        capacity_gpus={"A": 1000.0, "B": 600.0},
        it_kw_per_gpu=10.0,
        migration_mw_per_h=migration_mw_per_h,
        migration_usd_per_mw=migration_usd_per_mw,  # 20: $0.20 per GPU moved at 10 kW per GPU
        value_usd_per_gpu_hour=2.0,
        tier=tier,
    )


def _fleet(migration_mw_per_h: float, migration_usd_per_mw: float = 20.0) -> FleetProblem:
    # A spikes to $1,000/MWh in hour 1; B is flat at $60. Capacity: 1,000 GPUs at A (10 MW),
    # 600 at B (6 MW).
    return FleetProblem(
        problems={"A": _site([50.0, 1000.0, 50.0], 10.0), "B": _site([60.0] * 3, 6.0)},
        movable=(_movable(migration_mw_per_h, migration_usd_per_mw),),
    )


OPTIONS = SolveOptions(alpha=0.95, cvar_weight=0.0, marginals=False)


def test_spike_at_a_moves_work_to_b_within_the_limit():
    # Per GPU-hour: A costs 50 x 0.01 MW = $0.50, B $0.60, A in the spike $10 > the $2 value,
    # so A pauses in hour 1. A GPU at B in hour 1 earns 2 - 0.60 = $1.40 over pausing at A,
    # for a $0.20 move; staying at B afterwards costs $0.10 more than A, less than moving back.
    # The limit is 4 MW/h = 400 GPUs per hour, so to fill B's 600 GPUs in hour 1, 200 move in
    # hour 0 (each pays $0.20 + $0.10 and earns $1.40) and 400 in hour 1.
    fp = _fleet(migration_mw_per_h=4.0)
    solution = solve_fleet(fp, OPTIONS)
    placed = solution.placement_gpus["train"][0]  # the LP's recourse in the one scenario
    np.testing.assert_allclose(placed[1], [200.0, 600.0, 600.0], atol=1e-6)
    np.testing.assert_allclose(placed[0], [800.0, 400.0, 400.0], atol=1e-6)
    assert solution.moved_gpus["train"].max() <= 400.0 + 1e-6
    # LP fleet cost by hand:
    #   energy A: 800 x 0.01 x 50 + 0 + 400 x 0.01 x 50          =   600
    #   energy B: (200 + 600 + 600) x 0.01 x 60                   =   840
    #   work lost: 400 GPU-h paused at A in hour 1 x $2           =   800
    #   migration: 600 GPUs x $0.20                               =   120
    #   total                                                     = 2,360
    np.testing.assert_allclose(solution.fleet_cost_usd, [2360.0], atol=1e-6)
    np.testing.assert_allclose(solution.power_cost_usd, [2360.0], atol=1e-6)  # no compute book
    np.testing.assert_allclose(solution.migration_usd, [120.0], atol=1e-6)
    # The schedule is the plan (A 8, 0, 4 MW; B 2, 6, 6 MW) and the real-time rule follows
    # it: in hour 0 the 200 GPUs A's schedule leaves out move to B, in hour 1 the 400 A
    # cannot run move. Same placement, same cost as the LP: 2,360.
    np.testing.assert_allclose(solution.decisions["A"].schedule_mw[0], [8.0, 0.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(solution.decisions["B"].schedule_mw[0], [2.0, 6.0, 6.0], atol=1e-6)
    value = value_fleet(fp, solution)
    np.testing.assert_allclose(value.placement_gpus["train"][0, 1], [200.0, 600.0, 600.0])
    np.testing.assert_allclose(value.cost_usd, [2360.0], atol=1e-6)
    np.testing.assert_allclose(value.cash_cost_usd, [600.0 + 840.0 + 120.0], atol=1e-6)
    np.testing.assert_allclose(value.gpu_hours, [2600.0], atol=1e-6)  # 1,000 + 600 + 1,000
    # Work at each site: A 800 + 0 + 400, B 200 + 600 + 600 GPU-hours.
    np.testing.assert_allclose(value.site_gpu_hours["train"][:, 0], [1200.0, 1400.0], atol=1e-6)


def test_the_rule_moves_work_when_an_unplanned_spike_comes():
    # A plan that runs everything at home (schedules at full: A 10 MW, B 6 MW of headroom) and
    # a rule that sees only the hour: nothing moves in hour 0 (A is cheaper); in the spike hour
    # B's net value 1.40 beats A's 0 by more than the $0.20 move, so the limit, 400 GPUs,
    # moves; in hour 2 A is only $0.10 cheaper, less than a move: the 400 stay at B.
    #   energy A: 1,000 x 0.5 + 0 + 600 x 0.5 = 800; B: (0 + 400 + 400) x 0.6 = 480
    #   work lost: 600 GPU-h paused at A x $2 = 1,200; migration 400 x $0.20 = 80
    #   total 2,560; cash 800 + 480 + 80 = 1,360; GPU-hours 1,000 + 400 + 1,000 = 2,400
    fp = _fleet(migration_mw_per_h=4.0)
    full = {
        name: Decision(np.zeros(0), np.full((1, HOURS), mw), np.zeros(HOURS))
        for name, mw in (("A", 10.0), ("B", 6.0))
    }
    plan = FleetSolution(
        decisions=full,
        placement_gpus={"train": np.zeros((1, 2, HOURS))},
        moved_gpus={"train": np.zeros((1, HOURS))},
        migration_usd=np.zeros(1),
        swap_gpus=0.0,
        fleet_cost_usd=np.zeros(1),
        power_cost_usd=np.zeros(1),
        objective_usd=0.0,
        solver={},
    )
    value = value_fleet(fp, plan)
    np.testing.assert_allclose(value.placement_gpus["train"][0, 1], [0.0, 400.0, 400.0])
    np.testing.assert_allclose(value.migration_usd, [80.0])
    np.testing.assert_allclose(value.cost_usd, [2560.0], atol=1e-6)
    np.testing.assert_allclose(value.cash_cost_usd, [1360.0], atol=1e-6)
    np.testing.assert_allclose(value.gpu_hours, [2400.0], atol=1e-6)
    np.testing.assert_allclose(value.site_gpu_hours["train"][:, 0], [1600.0, 800.0], atol=1e-6)


def test_without_moves_the_work_pauses_at_home():
    # Migration forbidden: all 1,000 GPUs stay at A, paused in the spike hour.
    # Energy 1,000 x 0.01 x 50 x 2 hours = 1,000; work lost 1,000 x $2 = 2,000; total 3,000.
    fp = _fleet(migration_mw_per_h=0.0)
    solution = solve_fleet(fp, OPTIONS)
    np.testing.assert_allclose(solution.placement_gpus["train"][0, 1], 0.0, atol=1e-9)
    np.testing.assert_allclose(solution.fleet_cost_usd, [3000.0], atol=1e-6)
    np.testing.assert_allclose(value_fleet(fp, solution).cost_usd, [3000.0], atol=1e-6)


def test_a_move_dearer_than_its_gain_is_not_made():
    # $200/MW is $2.00 per GPU moved, more than the $1.40 a GPU gains in the spike hour:
    # neither the LP nor the rule moves, and the cost is the 3,000 of staying home.
    fp = _fleet(migration_mw_per_h=4.0, migration_usd_per_mw=200.0)
    solution = solve_fleet(fp, OPTIONS)
    np.testing.assert_allclose(solution.fleet_cost_usd, [3000.0], atol=1e-6)
    value = value_fleet(fp, solution)
    np.testing.assert_allclose(value.placement_gpus["train"][0, 1], 0.0)
    np.testing.assert_allclose(value.cost_usd, [3000.0], atol=1e-6)


def test_a_tighter_limit_moves_less():
    # 1 MW/h = 100 GPUs per hour. LP: B holds at most 200 GPUs in hour 1 (100 + 100); moving
    # in hour 0 pays $0.30 (+ $0.10 in hour 2) for a $1.40 gain, so both hours move 100.
    #   energy A: 900 x 0.5 + 0 + 800 x 0.5 = 850; B: (100 + 200 + 200) x 0.6 = 300;
    #   lost: 800 GPU-h x $2 = 1,600; migration 200 x $0.20 = 40. Total 2,790.
    # The rule follows the plan: the same 2,790.
    fp = _fleet(migration_mw_per_h=1.0)
    solution = solve_fleet(fp, OPTIONS)
    np.testing.assert_allclose(solution.placement_gpus["train"][0, 1], [100.0, 200.0, 200.0])
    np.testing.assert_allclose(solution.fleet_cost_usd, [2790.0], atol=1e-6)
    np.testing.assert_allclose(value_fleet(fp, solution).cost_usd, [2790.0], atol=1e-6)


def test_size_counts_what_the_build_makes():
    fp = _fleet(migration_mw_per_h=4.0)
    size = fleet_size(fp, OPTIONS)
    assert size["columns"] > 0 and size["rows"] > 0
    solution = solve_fleet(fp, OPTIONS)
    assert solution.solver["columns"] == size["columns"]
    assert solution.solver["rows"] == size["rows"]


def test_campuses_on_different_grids_are_refused():
    fp = _fleet(migration_mw_per_h=4.0)
    shifted = dataclasses.replace(
        fp.problems["B"], interval_start_utc=STAMPS + np.timedelta64(1, "h")
    )
    bad = dataclasses.replace(fp, problems={"A": fp.problems["A"], "B": shifted})
    with pytest.raises(ConfigError, match="fleet's intervals"):
        solve_fleet(bad, OPTIONS)


def test_inference_is_served_in_full_and_moves_within_the_limit():
    # The inference class "serve" (1,000 GPUs at A, 600 of capacity at B) cannot pause: in the
    # spike hour A costs $10 per GPU-hour, so the plan puts as much as it can at B: 200 move
    # in hour 0 and 400 in hour 1 (the 4 MW/h limit), B holding 600; they stay in hour 2.
    #   energy A: 800 x 0.5 + 400 x 0.01 x 1,000 + 400 x 0.5 = 4,600
    #   energy B: (200 + 600 + 600) x 0.6 = 840; migration 600 x $0.20 = 120
    #   work lost: none (served in full); total 5,560 (staying home: 500 + 10,000 + 500)
    served = InferenceClass("serve", GpuType("g", 10.0, 0.0), 1000.0, np.ones(24), None, 3.0)
    inference = dataclasses.replace(
        _movable(4.0),
        name="serve",
        home_name="serve",
        tier=None,
        inference=served,
        value_usd_per_gpu_hour=3.0,
    )
    fp = FleetProblem(
        problems={
            "A": _site([50.0, 1000.0, 50.0], 10.0, serve=True),
            "B": _site([60.0] * 3, 6.0, serve=True),
        },
        movable=(inference,),
    )
    solution = solve_fleet(fp, OPTIONS)
    placed = solution.placement_gpus["serve"]
    assert placed.shape == (1, 2, HOURS)  # day-ahead: one placement for every scenario
    np.testing.assert_allclose(placed[0, 1], [200.0, 600.0, 600.0], atol=1e-6)
    np.testing.assert_allclose(placed[0].sum(axis=0), 1000.0, atol=1e-6)
    value = value_fleet(fp, solution)
    np.testing.assert_allclose(value.cost_usd, [5560.0], atol=1e-6)
    np.testing.assert_allclose(value.gpu_hours, [3000.0], atol=1e-6)
    fixed = dataclasses.replace(fp, movable=(inference.fixed(),))
    np.testing.assert_allclose(
        value_fleet(fixed, solve_fleet(fixed, OPTIONS)).cost_usd, [11000.0], atol=1e-6
    )


def test_migration_ladder_thresholds_by_hand():
    # 100 GPU-h per MWh at both sites, $0.20 per GPU moved, value $2/GPU-h:
    # A -> B when q_A > (100 / 100) x q_B + 0.20 x 100 = q_B + 20 while both run (break-even
    # 2 x 100 = $200/MWh); once A is above $200 (paused), when q_B <= 100 x (2 - 0.20) = 180.
    # The spike hour (A 1,000, B 60) moves work; hour 2 (A 50, B 60) moves nothing back,
    # since 60 < 50 + 20.
    (a_to_b, b_to_a) = migration_ladder(_fleet(migration_mw_per_h=4.0))
    assert (a_to_b["from"], a_to_b["to"], b_to_a["from"]) == ("A", "B", "B")
    assert a_to_b["slope"] == pytest.approx(1.0)
    assert a_to_b["intercept_usd_per_mwh"] == pytest.approx(20.0)
    assert a_to_b["from_break_even_usd_per_mwh"] == pytest.approx(200.0)
    assert a_to_b["to_at_most_usd_per_mwh"] == pytest.approx(180.0)


def test_without_movable_work_the_fleet_is_the_sum_of_its_campuses():
    # A second formulation: with nothing to move and lambda 0 the fleet's objective, E[sum of
    # campus costs], separates, so it must equal the two single-campus optimisations added up
    # (hedges, schedules, DR and work requirements included).
    a, b = synthetic_problem(24, 40, seed=1), synthetic_problem(24, 40, seed=2)
    options = SolveOptions(cvar_weight=0.0, marginals=False)
    fleet = solve_fleet(FleetProblem(problems={"A": a, "B": b}, movable=()), options)
    alone = solve(a, options).objective_usd + solve(b, options).objective_usd
    assert fleet.objective_usd == pytest.approx(alone, rel=1e-7)
    np.testing.assert_allclose(
        fleet.fleet_cost_usd.mean(), alone, rtol=1e-7
    )  # equal probabilities: the objective is the mean


def test_moving_never_raises_the_in_sample_objective():
    # Two synthetic campuses (hedges, DR, tags, a day-ahead class with a work requirement) and
    # the movable class "train" at both: forbidding moves only shrinks the feasible set, so the
    # LP's objective (E + lambda CVaR) with moves is at most the one without. Every placement
    # keeps the class's 1,000 GPUs, within capacity and the limit.
    options = SolveOptions(cvar_weight=1.0, marginals=False)

    def site(seed: int, max_mw: float) -> HedgeProblem:
        base = synthetic_problem(HOURS, 30, seed=seed)
        train = _site([50.0] * HOURS, max_mw).flex[0]
        return dataclasses.replace(base, flex=(*base.flex, train))

    fp = FleetProblem(problems={"A": site(1, 10.0), "B": site(2, 6.0)}, movable=(_movable(4.0),))
    mobile = solve_fleet(fp, options)
    fixed = solve_fleet(dataclasses.replace(fp, movable=(_movable(0.0),)), options)
    assert mobile.objective_usd <= fixed.objective_usd + 1e-6 * abs(fixed.objective_usd)
    placed = mobile.placement_gpus["train"]  # [S, 2, T]
    np.testing.assert_allclose(placed.sum(axis=1), 1000.0, atol=1e-6)
    assert (placed[:, 1] <= 600.0 + 1e-6).all()
    assert (mobile.moved_gpus["train"] <= 400.0 + 1e-6).all()
