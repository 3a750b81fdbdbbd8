"""Operator alerts on hand-built problems: every kind, merged windows, DST labels, quiet days."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from energyhedge.alerts import Alert, operator_alerts
from energyhedge.data.quality import Finding
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem
from energyhedge.report.content import alert_rows
from energyhedge.report.html import AlertRow

# 3 hourly intervals from 2023-08-17 18:00 CDT, 4 scenarios.
START = "2023-08-17T23:00"
PROBABILITIES = np.array([0.5, 0.3, 0.15, 0.05])
PRICES = np.array(
    [
        [50.0, 3000.0, 70.0],  # exactly at the threshold: does not exceed it
        [100.0, 3500.0, 80.0],
        [40.0, 3200.0, 3100.0],
        [3100.0, 50.0, 5000.0],
    ]
)
# P(price > 3,000) by interval: 0.05 (s3), 0.45 (s1 + s2), 0.20 (s2 + s3).


def _flex(name: str, t: int) -> FlexClass:
    return FlexClass(name, np.full(t, 10.0), 800.0, 3.75, np.array([0.0, 1.0]), np.array([0, 1.0]))


def _problem(
    prices: np.ndarray = PRICES,
    *,
    start: str = START,
    probabilities: np.ndarray = PROBABILITIES,
    cp: np.ndarray | None = None,
    called: np.ndarray | None = None,
) -> HedgeProblem:
    s, t = prices.shape
    return HedgeProblem(
        interval_start_utc=np.datetime64(start, "us") + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=prices,
        probabilities=probabilities,
        firm_load_mw=np.full(t, 30.0),
        firm_gpu_hours=np.zeros(t),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(_flex("training", t), _flex("batch", t)),
        grid_limit_mw=100.0,
        products=(),
        dr_price_usd_per_mw_h=np.zeros(t),
        dr_max_mw=30.0,
        dr_deployed=np.zeros((s, t), dtype=bool) if called is None else called,
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=np.zeros((s, t)) if cp is None else cp,
    )


def _decision(t: int = 3, *, dr_mw=None, thresholds=(3000.0, np.inf)) -> Decision:
    return Decision(
        product_mw=np.zeros(0),
        schedule_mw=np.full((2, t), 10.0),
        dr_mw=np.zeros(t) if dr_mw is None else np.asarray(dr_mw, dtype=float),
        curtail_above_usd_per_mwh=np.array(thresholds),
    )


def _messages(alerts: list[Alert]) -> list[str]:
    return [a.message for a in alerts]


def test_scarcity_single_interval_and_merged_window() -> None:
    (only,) = operator_alerts(_problem(), _decision(), iso="ercot", min_probability=0.3)
    assert only == Alert(
        "warning",
        "scarcity",
        "2023-08-17 19:00 CDT: 45% chance the price exceeds $3,000/MWh; training stops above it",
        "2023-08-18T00:00:00Z",
        "2023-08-18T01:00:00Z",
        "2023-08-17 19:00 CDT",
    )
    # At 10 %, 19:00 and 20:00 merge; the chance of at least one price above 3,000 in the
    # window is s1 + s2 + s3 = 0.5.
    (merged,) = operator_alerts(_problem(), _decision(), iso="ercot", min_probability=0.1)
    assert merged.message == (
        "2023-08-17 19:00-21:00 CDT: 50% chance the price exceeds $3,000/MWh at some point; "
        "training stops above it"
    )
    assert (merged.interval_start_utc, merged.interval_end_utc) == (
        "2023-08-18T00:00:00Z",
        "2023-08-18T02:00:00Z",
    )
    # At the default 5 %, 18:00 (s3 alone, exactly 0.05) joins the window.
    (whole,) = operator_alerts(_problem(), _decision(), iso="ercot")
    assert whole.when == "2023-08-17 18:00-21:00 CDT"


def test_scarcity_uses_the_lowest_finite_threshold_and_names_its_classes() -> None:
    decision = _decision(thresholds=(3100.0, 3100.0))
    (alert,) = operator_alerts(_problem(), decision, iso="ercot", min_probability=0.1)
    # Above 3,100: s1 at 19:00 (0.3), s2 at 19:00 (0.15) and s3 at 20:00 (0.05, below 10 %).
    assert alert.message == (
        "2023-08-17 19:00 CDT: 45% chance the price exceeds $3,100/MWh; "
        "training and batch stop above it"
    )
    none = _decision(thresholds=(np.inf, np.inf))
    assert operator_alerts(_problem(), none, iso="ercot") == []


def test_coincident_peak_expected_tag_cost_merged() -> None:
    cp = np.zeros((4, 3))
    cp[:, 0] = [1000.0, 1000.0, 0.0, 2000.0]  # 0.5 x 1,000 + 0.3 x 1,000 + 0.05 x 2,000 = 900
    cp[2, 1] = 400.0  # 0.15 x 400 = 60
    low = np.full((4, 3), 50.0)
    (alert,) = operator_alerts(_problem(low, cp=cp), _decision(), iso="ercot")
    assert alert.kind == "coincident_peak" and alert.level == "warning"
    assert alert.message == (
        "2023-08-17 18:00-20:00 CDT: coincident-peak risk, keep load low: expected tag cost "
        "$960 per MW of load held through it"
    )
    cp[:, 0] = 0.0
    (single,) = operator_alerts(_problem(low, cp=cp), _decision(), iso="ercot")
    assert single.message == (
        "2023-08-17 19:00 CDT: coincident-peak risk, keep load low: expected tag cost "
        "$60 per MW of load"
    )


def test_dr_call_only_where_capacity_is_offered() -> None:
    called = np.zeros((4, 3), dtype=bool)
    called[0, 0] = True  # 50 % at 18:00, but no DR offered then
    called[1, 1] = True  # 30 % at 19:00
    called[3, 2] = True  # 5 % at 20:00
    low = np.full((4, 3), 50.0)
    decision = _decision(dr_mw=[0.0, 10.0, 20.0])
    (alert,) = operator_alerts(_problem(low, called=called), decision, iso="ercot")
    assert alert.kind == "dr_call"
    assert alert.message == (
        "2023-08-17 19:00-21:00 CDT: 35% chance the up to 20.0 MW of DR capacity offered is "
        "called at some point; be ready to curtail it"
    )
    flat = _decision(dr_mw=[0.0, 10.0, 10.0])
    (alert,) = operator_alerts(_problem(low, called=called), flat, iso="ercot", min_probability=0.1)
    assert alert.message == (
        "2023-08-17 19:00 CDT: 30% chance the 10.0 MW of DR capacity offered is called; "
        "be ready to curtail it"
    )


def test_data_and_solver_alerts_and_order() -> None:
    finding = Finding("gap", "ercot/rtm/LZ_HOUSTON/60min", 2, "2 intervals missing")
    cp = np.zeros((4, 3))
    cp[:, 0] = 100.0
    alerts = operator_alerts(
        _problem(cp=cp),
        _decision(),
        findings=[finding],
        solver={"status": "Time limit reached"},
        refresh="refresh failed: used the price store as is",
        iso="ercot",
        min_probability=0.1,
    )
    assert [(a.level, a.kind) for a in alerts] == [
        ("warning", "data"),
        ("warning", "solver"),
        ("warning", "coincident_peak"),  # 18:00
        ("warning", "scarcity"),  # 19:00
        ("info", "data"),
    ]
    assert alerts[0].message == "market data refresh failed: used the price store as is"
    assert alerts[0].interval_start_utc is None and alerts[0].when == ""
    assert "'Time limit reached'" in alerts[1].message
    assert alerts[-1].message == "ercot/rtm/LZ_HOUSTON/60min: gap: 2 intervals missing"
    assert alerts[2].record() == {
        "level": "warning",
        "kind": "coincident_peak",
        "message": "2023-08-17 18:00 CDT: coincident-peak risk, keep load low: expected tag "
        "cost $100 per MW of load",
        "interval_start_utc": "2023-08-17T23:00:00Z",
        "interval_end_utc": "2023-08-18T00:00:00Z",
    }


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


def test_local_labels_across_dst_and_midnight() -> None:
    # 2023-11-05, Central: 06:00Z is 01:00 CDT, 07:00Z the repeated 01:00 CST.
    prices = np.full((4, 4), 50.0)
    for flagged, label in (
        ([1], "2023-11-05 01:00 CDT"),
        ([2], "2023-11-05 01:00 CST"),
        ([1, 2], "2023-11-05 01:00 CDT to 2023-11-05 02:00 CST"),
        ([2, 3], "2023-11-05 01:00-03:00 CST"),
    ):
        high = prices.copy()
        high[:, flagged] = 4000.0
        (alert,) = operator_alerts(
            _problem(high, start="2023-11-05T05:00"), _decision(4), iso="ercot"
        )
        assert alert.when == label and alert.message.startswith(label + ": 100% chance")
    # A window to local midnight ends at 24:00; PJM labels are Eastern.
    late = np.full((4, 2), 4000.0)
    (alert,) = operator_alerts(_problem(late, start="2023-08-18T03:00"), _decision(2), iso="ercot")
    assert alert.when == "2023-08-17 22:00-24:00 CDT"
    (alert,) = operator_alerts(_problem(late, start="2023-08-18T02:00"), _decision(2), iso="pjm")
    assert alert.when == "2023-08-17 22:00-24:00 EDT"


def test_intervals_that_are_not_back_to_back_do_not_merge() -> None:
    problem = _problem(np.full((4, 3), 4000.0))
    stamps = problem.interval_start_utc.copy()
    stamps[2] += np.timedelta64(1, "h")  # 18:00, 19:00, then 21:00
    alerts = operator_alerts(replace(problem, interval_start_utc=stamps), _decision(), iso="ercot")
    assert [a.when for a in alerts] == ["2023-08-17 18:00-20:00 CDT", "2023-08-17 21:00 CDT"]


def test_report_rows_put_the_window_in_its_own_column() -> None:
    alerts = [
        Alert(
            "warning",
            "scarcity",
            "2023-08-17 19:00 CDT: 45% chance",
            "x",
            "y",
            "2023-08-17 19:00 CDT",
        ),
        Alert("info", "data", "ercot/rtm/LZ_HOUSTON/60min: gap: 2 intervals missing"),
    ]
    assert alert_rows(alerts) == (
        AlertRow("warning", "2023-08-17 19:00 CDT", "45% chance"),
        AlertRow("info", "", "ercot/rtm/LZ_HOUSTON/60min: gap: 2 intervals missing"),
    )
