"""Operator alerts on hand-built problems: what the schedule runs and where the ladder sheds,
merged windows, DR calls, run warnings, DST labels, quiet days."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from energyhedge.alerts import Alert, first_shed, operator_alerts
from energyhedge.data.quality import Finding
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem
from energyhedge.report.content import alert_rows
from energyhedge.report.html import AlertRow

# 3 hourly intervals from 2023-08-17 15:00 CDT, 4 scenarios.
START = "2023-08-17T20:00"
PROBABILITIES = np.array([0.5, 0.3, 0.15, 0.05])
PRICES = np.array(
    [
        [50.0, 950.0, 70.0],
        [100.0, 800.0, 80.0],
        [40.0, 3200.0, 3100.0],
        [3100.0, 50.0, 5000.0],
    ]
)
LINEAR = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))


def _flex(name: str, t: int, value: float, curve=LINEAR) -> FlexClass:
    """10 MW class; 800 GPU-h/MWh at ``value`` $/GPU-h: break-even 800 x value $/MWh."""
    return FlexClass(name, np.full(t, 10.0), 800.0, value, *curve)


def _problem(
    prices: np.ndarray = PRICES,
    *,
    start: str = START,
    cp: np.ndarray | None = None,
    called: np.ndarray | None = None,
    flex: tuple[FlexClass, ...] | None = None,
) -> HedgeProblem:
    s, t = prices.shape
    return HedgeProblem(
        interval_start_utc=np.datetime64(start, "us") + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=prices,
        probabilities=PROBABILITIES,
        firm_load_mw=np.full(t, 30.0),
        firm_gpu_hours=np.zeros(t),
        firm_value_usd_per_gpu_hour=0.0,
        flex=flex or (_flex("training", t, 3.75), _flex("batch", t, 1.25)),  # 3,000 and 1,000
        grid_limit_mw=100.0,
        products=(),
        dr_price_usd_per_mw_h=np.zeros(t),
        dr_max_mw=30.0,
        dr_deployed=np.zeros((s, t), dtype=bool) if called is None else called,
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=np.zeros((s, t)) if cp is None else cp,
    )


def _decision(t: int = 3, *, schedule=None, dr_mw=None, ladder: bool = True) -> Decision:
    return Decision(
        product_mw=np.zeros(0),
        schedule_mw=np.full((2, t), 10.0) if schedule is None else np.asarray(schedule, float),
        dr_mw=np.zeros(t) if dr_mw is None else np.asarray(dr_mw, dtype=float),
        follows_ladder=ladder,
    )


def _tag(value: float = 100.0) -> np.ndarray:
    """Tag weight $/MW in 15:00 and 16:00 (the 4CP hours), none at 17:00."""
    cp = np.zeros((4, 3))
    cp[:, :2] = value
    return cp


def test_coincident_peak_alert_states_the_schedule_tag_cost_and_shed_price() -> None:
    alerts = operator_alerts(_problem(cp=_tag()), _decision(), iso="ercot")
    cp, scarcity = alerts
    # Full schedule: 30 firm + 10 + 10 = 50 MW through 15:00-17:00. Tag $100/MW per hour:
    # $200 per MW held, $10,000 at 50 MW. Batch (break-even $1,000) sheds first, above
    # 1,000 - 100 = $900/MWh; a price above 900 in 15:00 or 16:00: s0, s2, s3 = 70 %.
    assert cp == Alert(
        "warning",
        "coincident_peak",
        "2023-08-17 15:00-17:00 CDT: coincident-peak risk: the schedule runs 50.0 MW (firm "
        "30.0, training 10.0, batch 10.0); expected tag cost $10,000 at that load ($200 per MW "
        "held through it); the ladder starts to shed load (batch first, 10.0 MW) above "
        "$900/MWh: 70% chance out of sample at some point",
        "2023-08-17T20:00:00Z",
        "2023-08-17T22:00:00Z",
        "2023-08-17 15:00-17:00 CDT",
    )
    # 17:00 has no tag: batch sheds above $1,000, reached by s2 and s3 (20 %).
    assert scarcity.message == (
        "2023-08-17 17:00 CDT: the ladder starts to shed load (batch first, 10.0 MW) above "
        "$1,000/MWh: 20% chance out of sample; the schedule runs 50.0 MW (firm 30.0, "
        "training 10.0, batch 10.0)"
    )
    assert not any("keep load low" in a.message for a in alerts)


def test_alerts_follow_the_optimised_schedule_in_the_window() -> None:
    # The optimiser moved batch out of the tag hours and ran training at 5 MW in the first.
    schedule = [[5.0, 10.0, 10.0], [0.0, 0.0, 10.0]]
    (cp, _) = operator_alerts(_problem(cp=_tag()), _decision(schedule=schedule), iso="ercot")
    # 35 + 40 MW at $100/MW: $7,500. Training sheds above 3,000 - 100: s2 (3,200) and s3.
    assert cp.message == (
        "2023-08-17 15:00-17:00 CDT: coincident-peak risk: the schedule runs 35.0-40.0 MW "
        "(firm 30.0, training 5.0-10.0); expected tag cost $7,500 at that load ($200 per MW "
        "held through it); the ladder starts to shed load (training first, 5.0-10.0 MW) "
        "above $2,900/MWh: 20% chance out of sample at some point"
    )


def test_a_schedule_without_the_ladder_sheds_nothing() -> None:
    (cp,) = operator_alerts(_problem(cp=_tag()), _decision(ladder=False), iso="ercot")
    assert cp.message.endswith(
        "the ladder sheds nothing here (no load that can be curtailed in real time)"
    )


def test_first_shed_is_the_lowest_rung_that_sheds() -> None:
    # Training: half its power does 75 % of the work, so segment values 4,500 and 1,500 $/MWh.
    curve = (np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.75, 1.0]))
    flex = (_flex("training", 3, 3.75, curve), _flex("batch", 3, 1.25))
    problem = _problem(cp=_tag(), flex=flex)
    shed = first_shed(problem, _decision(schedule=[[10.0, 4.0, 10.0], [0.0, 0.0, 10.0]]))
    # At 10 MW the 1,500 rung sheds 5 MW (less the $100 tag in 15:00); at 4 MW only the
    # 4,500 rung runs (4 MW, minus the tag); batch sheds 10 MW above 1,000 where scheduled.
    np.testing.assert_allclose(shed.price_usd_per_mwh[0], [1400.0, 4400.0, 1500.0])
    np.testing.assert_allclose(shed.mw[0], [5.0, 4.0, 5.0])
    assert shed.price_usd_per_mwh[1].tolist() == [np.inf, np.inf, 1000.0]
    assert shed.mw[1].tolist() == [0.0, 0.0, 10.0]


def test_scarcity_windows_merge_and_respect_the_threshold() -> None:
    prices = np.array(
        [
            [50.0, 1500.0, 70.0],
            [100.0, 1200.0, 80.0],
            [40.0, 3200.0, 3100.0],
            [3100.0, 50.0, 5000.0],
        ]
    )
    # Above $1,000 (batch): 15:00 5 %, 16:00 95 %, 17:00 20 %; at 10 %, 16:00-18:00 merge and
    # the chance of at least one is s0 + s1 + s2 + s3 = 100 %.
    (merged,) = operator_alerts(_problem(prices), _decision(), iso="ercot", min_probability=0.1)
    assert merged.when == "2023-08-17 16:00-18:00 CDT"
    assert "above $1,000/MWh: 100% chance out of sample at some point;" in merged.message
    (whole,) = operator_alerts(_problem(prices), _decision(), iso="ercot")
    assert whole.when == "2023-08-17 15:00-18:00 CDT"
    assert operator_alerts(_problem(np.full((4, 3), 45.0)), _decision(), iso="ercot") == []


def test_dr_call_only_where_capacity_is_offered() -> None:
    called = np.zeros((4, 3), dtype=bool)
    called[0, 0] = True  # 50 % at 15:00, but no DR offered then
    called[1, 1] = True  # 30 % at 16:00
    called[3, 2] = True  # 5 % at 17:00
    low = np.full((4, 3), 50.0)
    decision = _decision(dr_mw=[0.0, 10.0, 20.0])
    (alert,) = operator_alerts(_problem(low, called=called), decision, iso="ercot")
    assert alert.kind == "dr_call"
    assert alert.message == (
        "2023-08-17 16:00-18:00 CDT: 35% chance the up to 20.0 MW of DR capacity offered is "
        "called at some point; be ready to curtail it"
    )
    flat = _decision(dr_mw=[0.0, 10.0, 10.0])
    (alert,) = operator_alerts(_problem(low, called=called), flat, iso="ercot", min_probability=0.1)
    assert alert.message == (
        "2023-08-17 16:00 CDT: 30% chance the 10.0 MW of DR capacity offered is called; "
        "be ready to curtail it"
    )


def test_data_and_solver_alerts_and_order() -> None:
    finding = Finding("gap", "ercot/rtm/LZ_HOUSTON/60min", 2, "2 intervals missing")
    alerts = operator_alerts(
        _problem(cp=_tag()),
        _decision(),
        findings=[finding],
        solver={"status": "Time limit reached"},
        refresh="refresh failed: used the price store as is",
        iso="ercot",
    )
    assert [(a.level, a.kind) for a in alerts] == [
        ("warning", "data"),
        ("warning", "solver"),
        ("warning", "coincident_peak"),  # 15:00
        ("warning", "scarcity"),  # 17:00
        ("info", "data"),
    ]
    assert alerts[0].message == "market data refresh failed: used the price store as is"
    assert alerts[0].interval_start_utc is None and alerts[0].when == ""
    assert "'Time limit reached'" in alerts[1].message
    assert alerts[-1].message == "ercot/rtm/LZ_HOUSTON/60min: gap: 2 intervals missing"
    assert alerts[2].record()["interval_start_utc"] == "2023-08-17T20:00:00Z"
    assert alerts[2].record()["interval_end_utc"] == "2023-08-17T22:00:00Z"


def test_quiet_day_raises_nothing() -> None:
    quiet = operator_alerts(
        _problem(np.full((4, 3), 45.0)),
        _decision(dr_mw=[30.0, 30.0, 30.0]),
        findings=(),
        solver={"status": "Optimal"},
        refresh="offline (--offline): used the price store as is",
        iso="ercot",
    )
    assert quiet == []


@pytest.mark.parametrize(
    ("flagged", "label"),
    [
        ([1], "2023-11-05 01:00 CDT"),
        ([2], "2023-11-05 01:00 CST"),
        ([1, 2], "2023-11-05 01:00 CDT to 2023-11-05 02:00 CST"),
        ([2, 3], "2023-11-05 01:00-03:00 CST"),
    ],
)
def test_local_labels_across_dst(flagged: list[int], label: str) -> None:
    # 2023-11-05, Central: 06:00Z is 01:00 CDT, 07:00Z the repeated 01:00 CST.
    high = np.full((4, 4), 50.0)
    high[:, flagged] = 4000.0
    (alert,) = operator_alerts(_problem(high, start="2023-11-05T05:00"), _decision(4), iso="ercot")
    assert alert.when == label
    assert alert.message.startswith(label + ": the ladder starts to shed load")


def test_windows_to_midnight_and_pjm_clock() -> None:
    late = np.full((4, 2), 4000.0)
    (alert,) = operator_alerts(_problem(late, start="2023-08-18T03:00"), _decision(2), iso="ercot")
    assert alert.when == "2023-08-17 22:00-24:00 CDT"
    (alert,) = operator_alerts(_problem(late, start="2023-08-18T02:00"), _decision(2), iso="pjm")
    assert alert.when == "2023-08-17 22:00-24:00 EDT"


def test_intervals_that_are_not_back_to_back_do_not_merge() -> None:
    problem = _problem(np.full((4, 3), 4000.0))
    stamps = problem.interval_start_utc.copy()
    stamps[2] += np.timedelta64(1, "h")  # 15:00, 16:00, then 18:00
    alerts = operator_alerts(replace(problem, interval_start_utc=stamps), _decision(), iso="ercot")
    assert [a.when for a in alerts] == ["2023-08-17 15:00-17:00 CDT", "2023-08-17 18:00 CDT"]


def test_report_rows_put_the_window_in_its_own_column() -> None:
    alerts = [
        Alert("warning", "scarcity", "2023-08-17 19:00 CDT: 45% chance", "x", "y",
              "2023-08-17 19:00 CDT"),
        Alert("info", "data", "ercot/rtm/LZ_HOUSTON/60min: gap: 2 intervals missing"),
    ]  # fmt: skip
    assert alert_rows(alerts) == (
        AlertRow("warning", "2023-08-17 19:00 CDT", "45% chance"),
        AlertRow("info", "", "ercot/rtm/LZ_HOUSTON/60min: gap: 2 intervals missing"),
    )
