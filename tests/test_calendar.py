"""Block shapes and NERC holidays against an independent per-hour count with zoneinfo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from energyhedge.data.calendar import local_time, nerc_holidays, shape_mask
from energyhedge.errors import ConfigError

# Observed NERC holidays, written out from published calendars (not computed).
KNOWN_HOLIDAYS = {
    2022: ["2022-01-01", "2022-05-30", "2022-07-04", "2022-09-05", "2022-11-24", "2022-12-26"],
    2023: ["2023-01-02", "2023-05-29", "2023-07-04", "2023-09-04", "2023-11-23", "2023-12-25"],
    2024: ["2024-01-01", "2024-05-27", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"],
    2026: ["2026-01-01", "2026-05-25", "2026-07-04", "2026-09-07", "2026-11-26", "2026-12-25"],
}
ZONES = {"ercot": "America/Chicago", "pjm": "America/New_York"}
PEAK = {"ercot": range(7, 23), "pjm": range(8, 24)}


def utc_grid(start: datetime, end: datetime, minutes: int) -> np.ndarray:
    n = int((end - start) / timedelta(minutes=minutes))
    base = np.datetime64(start.replace(tzinfo=None), "us")
    return base + np.arange(n) * np.timedelta64(minutes, "m")


def reference_count(iso: str, year: int, minutes: int) -> tuple[dict, datetime, datetime]:
    """Hours per shape over a local calendar year, by a plain loop over UTC instants."""
    zone = ZoneInfo(ZONES[iso])
    holidays = {date.fromisoformat(d) for d in KNOWN_HOLIDAYS[year]}
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    counts = dict.fromkeys(("5x16", "2x16", "7x8", "7x24"), 0.0)
    t = start
    while t < end:
        local = t.astimezone(zone)
        he = local.hour + 1
        peak = he in PEAK[iso]
        business = local.weekday() < 5 and local.date() not in holidays
        counts["7x24"] += minutes / 60
        if peak and business:
            counts["5x16"] += minutes / 60
        elif peak:
            counts["2x16"] += minutes / 60
        else:
            counts["7x8"] += minutes / 60
        t += timedelta(minutes=minutes)
    return counts, start, end


@pytest.mark.parametrize("year", sorted(KNOWN_HOLIDAYS))
def test_nerc_holidays_match_published_calendar(year):
    assert [d.isoformat() for d in nerc_holidays(year)] == KNOWN_HOLIDAYS[year]


@pytest.mark.parametrize(("iso", "year"), [("ercot", 2023), ("pjm", 2023), ("pjm", 2026)])
def test_whole_year_shape_hours_match_reference(iso, year):
    expected, start, end = reference_count(iso, year, 60)
    stamps = utc_grid(start, end, 60)
    for shape, hours in expected.items():
        assert shape_mask(shape, iso, stamps, 60).sum() == hours, shape


def test_2023_ercot_hours_by_hand():
    # 365 days, 260 weekdays, 6 weekday holidays -> 254 peak days; 23- and 25-hour DST days.
    expected, start, end = reference_count("ercot", 2023, 60)
    assert expected == {"5x16": 254 * 16, "2x16": 111 * 16, "7x8": 365 * 8, "7x24": 8760}
    stamps = utc_grid(start, end, 60)
    masks = [shape_mask(s, "ercot", stamps, 60) for s in ("5x16", "2x16", "7x8")]
    assert np.array_equal(np.sum(masks, axis=0), np.ones(len(stamps)))


@pytest.mark.parametrize("iso", ["ercot", "pjm"])
def test_fifteen_minute_year_matches_reference(iso):
    expected, start, end = reference_count(iso, 2024, 15)
    stamps = utc_grid(start, end, 15)
    for shape, hours in expected.items():
        assert shape_mask(shape, iso, stamps, 15).sum() * 0.25 == hours, shape


def test_dst_days_hour_by_hour():
    # 2023-03-12 spring forward (23 local hours), 2023-11-05 fall back (25), Central time.
    spring = utc_grid(datetime(2023, 3, 12, 6), datetime(2023, 3, 13, 5), 60)
    assert len(spring) == 23
    assert shape_mask("7x8", "ercot", spring, 60).sum() == 7  # HE03 does not exist
    assert shape_mask("2x16", "ercot", spring, 60).sum() == 16  # a Sunday
    fall = utc_grid(datetime(2023, 11, 5, 5), datetime(2023, 11, 6, 6), 60)
    assert len(fall) == 25
    assert shape_mask("7x8", "ercot", fall, 60).sum() == 9  # HE02 twice
    # Monday 2023-11-06 HE07 Central starts 06:00 CST = 12:00 UTC: first on-peak hour.
    monday = np.array(["2023-11-06T11:00", "2023-11-06T12:00"], dtype="datetime64[us]")
    assert shape_mask("5x16", "ercot", monday, 60).tolist() == [False, True]
    # Same instants in PJM (Eastern): 06:00 and 07:00 EST -> HE07 off, HE08 on.
    assert shape_mask("5x16", "pjm", monday, 60).tolist() == [False, True]


def test_local_time_across_fall_back():
    stamps = np.array(["2023-11-05T06:00", "2023-11-05T07:00"], dtype="datetime64[us]")
    local = local_time(stamps, "ercot")
    assert local.astype(str).tolist() == ["2023-11-05T01:00:00.000000"] * 2


def test_bad_shape_and_iso_are_config_errors():
    stamps = np.array(["2023-01-01T00:00"], dtype="datetime64[us]")
    with pytest.raises(ConfigError, match="unknown shape '6x16'"):
        shape_mask("6x16", "ercot", stamps, 60)
    with pytest.raises(ConfigError, match="unknown iso 'caiso'"):
        shape_mask("5x16", "caiso", stamps, 60)
    with pytest.raises(ConfigError, match="must divide 60"):
        shape_mask("5x16", "ercot", stamps, 7)
