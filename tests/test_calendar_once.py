"""A horizon's local calendar is computed once and shared by every part of a problem build."""

from __future__ import annotations

from datetime import date

import energyhedge.data.calendar as cal
from energyhedge.assemble import build_problem
from energyhedge.campus import load_campus
from energyhedge.data.store import open_store
from energyhedge.instruments import load_catalogue
from energyhedge.scenarios import generate


def test_a_horizon_calendar_is_computed_once_per_problem(monkeypatch):
    campus = load_campus("models/campus/tx-100mw.toml")
    catalogue = load_catalogue("models/contracts/ercot-standard.toml")
    history = open_store().read("ercot", "rtm", "LZ_HOUSTON")
    scenarios = generate(
        history,
        iso="ercot",
        node="LZ_HOUSTON",
        market="rtm",
        start=date(2024, 3, 9),
        days=3,
        n=5,
        seed=1,
    )
    calls = []
    original = cal._local_fields
    monkeypatch.setattr(cal, "_local_fields", lambda *a: calls.append(1) or original(*a))
    cal._CALENDARS.clear()
    build_problem(campus, catalogue, scenarios)
    assert len(calls) == 1  # campus profile, 8 product shapes, DR, coincident peak: one calendar
    fields = cal.local_fields(scenarios.interval_start_utc, "ercot")
    assert not fields["hour_ending"].flags.writeable
    assert fields["hour_ending"].size == 71  # spring-forward day has 23 hours
