"""Compute-hour contracts: the index swap's payoff, the margin, and a reservation being firm."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from energyhedge.assemble import build_problem
from energyhedge.campus import load_campus
from energyhedge.errors import ConfigError
from energyhedge.fleet.compute import (
    ComputeBook,
    IndexModel,
    IndexSwap,
    Reservation,
    forward_quote,
    margin,
    margin_objective_usd,
    read_index_history,
    reserve,
    swap_payoff_usd,
)
from energyhedge.instruments import Catalogue
from energyhedge.model.cost import cost_breakdown
from energyhedge.model.problem import Decision
from energyhedge.optimize import SolveOptions, solve
from energyhedge.scenarios.scenario_set import ScenarioSet

REPO = Path(__file__).resolve().parents[1]
TX = REPO / "models" / "campus" / "tx-100mw.toml"


def test_swap_payoff_by_hand():
    # Sold on 1,000 GPU-h per hour for 24 h at K = $2.50: the seller receives K and pays the
    # average index. Index 2.00: 1,000 x 24 x 0.50 = +12,000; index 3.00: -12,000.
    np.testing.assert_allclose(
        swap_payoff_usd(2.5, np.array([2.0, 3.0]), 1000.0, 24.0), [12000.0, -12000.0]
    )


def test_margin_by_hand():
    # 24 h; 10,000 GPU-h delivered per hour in scenario 0 (240,000) and 9,000 in scenario 1
    # (216,000); 2,000 GPUs reserved at $2.60 (48,000 GPU-h, $124,800); a swap on 5,000 GPU-h
    # per hour at K = $2.50; index averages 2.00 and 3.00; cash costs 100,000 and 150,000.
    # Scenario 0: 2.00 x (240,000 - 48,000) = 384,000; + 124,800; + 5,000 x 24 x 0.50 = 60,000
    #             revenue 568,800, margin 468,800, per GPU-h 468,800 / 240,000 = 1.9533...
    # Scenario 1: 3.00 x (216,000 - 48,000) = 504,000; + 124,800; - 60,000 = 568,800
    #             margin 418,800, per GPU-h 418,800 / 216,000 = 1.9389...
    book = ComputeBook(
        IndexModel(2.5, 0.0, None, "test"),
        (Reservation("A", "training", 2000.0, 2.6),),
        IndexSwap("swap", 2.5, 10_000.0),
    )
    m = margin(
        book,
        index_average=np.array([2.0, 3.0]),
        gpu_hours=np.array([240_000.0, 216_000.0]),
        cash_cost_usd=np.array([100_000.0, 150_000.0]),
        hours=24.0,
        swap_gpus=5000.0,
    )
    np.testing.assert_allclose(m.revenue_usd, [568_800.0, 568_800.0])
    np.testing.assert_allclose(m.margin_usd, [468_800.0, 418_800.0])
    np.testing.assert_allclose(m.margin_per_gpu_hour_usd, [468_800 / 240_000, 418_800 / 216_000])
    # Without contracts every GPU-hour is sold at the index: 2 x 240,000 and 3 x 216,000.
    bare = margin(
        book.without_sales(),
        index_average=np.array([2.0, 3.0]),
        gpu_hours=np.array([240_000.0, 216_000.0]),
        cash_cost_usd=np.zeros(2),
        hours=24.0,
        swap_gpus=5000.0,
    )
    np.testing.assert_allclose(bare.revenue_usd, [480_000.0, 648_000.0])


def test_illustrative_index_is_a_driftless_lognormal_walk():
    levels = IndexModel(2.5, 0.05, None, "illustrative").daily_levels(3, 200_000, seed=1)
    assert levels.shape == (200_000, 3)
    np.testing.assert_allclose(levels.mean(axis=0), 2.5, rtol=2e-3)
    # log-changes have the stated standard deviation: sqrt(3) x 0.05 after three days
    np.testing.assert_allclose(np.log(levels[:, 2] / 2.5).std(), 0.05 * np.sqrt(3), rtol=1e-2)


def test_history_changes_replace_the_volatility():
    # One recorded change of +10 %: every day moves by exactly log(1.1).
    model = IndexModel(2.0, 0.3, np.array([np.log(1.1)]), "csv")
    np.testing.assert_allclose(model.daily_levels(2, 3, seed=0), [[2.2, 2.42]] * 3)


def _two_hours(prices: list[float]) -> ScenarioSet:
    stamps = np.datetime64("2025-07-01T14:00", "us") + np.arange(2) * np.timedelta64(1, "h")
    return ScenarioSet(
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        interval_start_utc=stamps,
        interval_minutes=60,
        prices_usd_per_mwh=np.array([prices], dtype=float),
        probabilities=np.ones(1),
        kind=np.array(["test"]),
    )


def test_reservation_blocks_curtailment_of_its_capacity():
    # tx-100mw: 24,000 inference GPUs (30 MW at PUE 1.25, 1 kW each) and 56,000 training GPUs
    # (70 MW), idle fraction 0. Hour 0 at $30 runs everything (100 MW); hour 1 at $10,000 is
    # above every rung of training's ladder, so unreserved training stops. Reserving 20,000
    # training GPUs (25 MW) keeps them running: energy 100 + 55 = 155 MWh, against 100 + 30 =
    # 130 MWh without the reservation.
    campus = load_campus(TX)
    empty = Catalogue("none", TX, ())
    scenarios = _two_hours([30.0, 10_000.0])
    reserved = reserve(campus, Reservation(campus.name, "training", 20_000.0, 3.0))
    for c, energy in ((campus, 130.0), (reserved, 155.0)):
        problem = build_problem(c, empty, scenarios)
        decision = Decision(
            product_mw=np.zeros(0),
            schedule_mw=np.array([f.max_mw for f in problem.flex]),
            dr_mw=np.zeros(2),
        )
        np.testing.assert_allclose(cost_breakdown(problem, decision).energy_mwh, [energy])
    # The optimiser cannot shed it either: the firm load in the spike hour is 55 MW.
    problem = build_problem(reserved, empty, scenarios)
    np.testing.assert_allclose(problem.firm_load_mw, [55.0, 55.0])
    solution = solve(problem, SolveOptions(cvar_weight=0.0, marginals=False))
    np.testing.assert_allclose(solution.power_mw[:, 0, 1], 0.0, atol=1e-9)
    np.testing.assert_allclose(solution.power_mw[:, 0, 0], 45.0)


def test_reservation_larger_than_the_tier_is_refused():
    campus = load_campus(TX)
    with pytest.raises(ConfigError, match="has 56000"):
        reserve(campus, Reservation(campus.name, "training", 60_000.0, 3.0))
    with pytest.raises(ConfigError, match="no training tier 'pretrain'"):
        reserve(campus, Reservation(campus.name, "pretrain", 1.0, 3.0))


def testread_index_history_csv(tmp_path: Path):
    # Three daily levels 2.00, 2.20, 1.98: log-changes log(1.1) and log(0.9); last level 1.98.
    path = tmp_path / "index.csv"
    path.write_text(
        "date,usd_per_gpu_hour\n2025-07-01,2.00\n2025-07-02,2.20\n2025-07-03,1.98\n",
        encoding="utf-8",
    )
    changes, level = read_index_history(path)
    np.testing.assert_allclose(changes, [np.log(1.1), np.log(0.9)])
    assert level == pytest.approx(1.98)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,price\n2025-07-01,2\n", "first line must be the header"),
        ("date,usd_per_gpu_hour\n2025-07-01,two\n", "line 2: expected date,price"),
        ("date,usd_per_gpu_hour\n2025-07-01,2\n2025-07-02,-1\n", "line 3: index level must"),
        ("date,usd_per_gpu_hour\n2025-07-01,2\n", "at least two daily index values"),
    ],
)
def test_badread_index_history_is_refused(tmp_path: Path, text: str, message: str):
    path = tmp_path / "index.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_index_history(path)


def test_margin_objective_by_hand():
    # Margins 100, 200, 300, 400 with probabilities 0.1, 0.2, 0.3, 0.4: E[M] = 10 + 40 + 90 +
    # 160 = 300. Loss -M; at alpha 0.8 the worst 20 % of loss is the 0.1 at -100 and 0.1 of
    # the 0.2 at -200: CVaR = (-100 x 0.1 - 200 x 0.1) / 0.2 = -150. With lambda 2:
    # -300 + 2 x (-150) = -600.
    m = np.array([100.0, 200.0, 300.0, 400.0])
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert margin_objective_usd(m, p, 0.8, 2.0) == pytest.approx(-600.0)


def test_reservation_sizes_give_one_book_each():
    book = ComputeBook(
        IndexModel(2.5, 0.0, None, "test"),
        (
            Reservation("A", "t", 0.0, 2.6, sizes=(0.0, 10.0)),
            Reservation("B", "u", 5.0, 2.4),
        ),
        None,
    )
    sizes = [tuple(r.gpus for r in b.reservations) for b in book.candidates()]
    assert sizes == [(0.0, 5.0), (10.0, 5.0)]


def test_forward_quote_covering_the_horizon(tmp_path: Path):
    # August 2025 is quoted 2.40 for the month and 2.55 for the week of 1-7 Aug: a horizon of
    # 1-2 Aug takes the shortest covering period (2.55); 10 Aug only the month (2.40).
    path = tmp_path / "forward.csv"
    path.write_text(
        "start,end,usd_per_gpu_hour\n2025-08-01,2025-08-31,2.40\n2025-08-01,2025-08-07,2.55\n",
        encoding="utf-8",
    )
    assert forward_quote(path, date(2025, 8, 1), date(2025, 8, 2)) == 2.55
    assert forward_quote(path, date(2025, 8, 10), date(2025, 8, 10)) == 2.40
    with pytest.raises(ConfigError, match="no forward quote covers 2025-09-01"):
        forward_quote(path, date(2025, 9, 1), date(2025, 9, 1))
    path.write_text("start,end,usd_per_gpu_hour\n2025-08-01,2025-07-01,2.4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2: need end >= start"):
        forward_quote(path, date(2025, 7, 1), date(2025, 7, 1))
