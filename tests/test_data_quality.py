"""Quality findings: gaps on the UTC grid (DST days are not gaps), out-of-range prices by period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from data_helpers import utc

from energyhedge.data.quality import DEFAULT_BOUNDS, PriceBounds, assess


def _series(stamps, prices, iso="ercot", node="HB_NORTH", minutes=60):
    return pl.DataFrame(
        {
            "iso": iso,
            "market": "rtm",
            "node": node,
            "interval_start_utc": stamps,
            "interval_minutes": minutes,
            "price_usd_per_mwh": prices,
            "revision": None,
        },
        schema_overrides={"interval_minutes": pl.Int32, "revision": pl.Int64},
    )


def test_spring_forward_day_is_not_a_gap_but_a_missing_hour_is():
    # 2024-03-10 in Chicago: 23 local hours = 23 consecutive UTC hours from 06:00Z.
    stamps = [utc("2024-03-10T06:00") + timedelta(hours=h) for h in range(23)]
    assert assess(_series(stamps, [1.0] * 23)) == []
    holed = stamps[:5] + stamps[7:]
    (finding,) = assess(_series(holed, [1.0] * 21))
    assert (finding.kind, finding.count) == ("gap", 2)
    assert finding.detail.startswith(
        "2 missing intervals: 2024-03-10T11:00Z (2024-03-10 06:00 CDT); "
        "2024-03-10T12:00Z (2024-03-10 07:00 CDT)"
    )


def test_fall_back_first_occurrence_missing_is_named():
    stamps = [utc("2023-11-05T05:00"), utc("2023-11-05T07:00")]
    (finding,) = assess(_series(stamps, [1.0, 2.0]))
    assert "2023-11-05T06:00Z (2023-11-05 01:00 CDT, the daylight-time first occurrence" in str(
        finding
    )


def test_out_of_range_uses_the_cap_in_force():
    stamps = [utc("2021-02-16T00:00"), utc("2021-02-16T01:00"), utc("2023-08-18T00:00")]
    prices = [9_000.5, -251.0, 6_000.5]
    frame = pl.concat(
        [_series(stamps[:2], prices[:2]), _series(stamps[2:], prices[2:], node="LZ_CPS")]
    )
    findings = {f.series: f for f in assess(frame) if f.kind == "out_of_range"}
    assert findings["ercot/rtm/HB_NORTH/60min"].count == 1  # -251 < -250; 9,000.5 <= 9,000 + 1,000
    assert "2021-02-16T01:00Z -251.00" in findings["ercot/rtm/HB_NORTH/60min"].detail
    assert findings["ercot/rtm/LZ_CPS/60min"].count == 1  # 6,000.5 > 5,000 + 1,000
    strict = {"ercot": PriceBounds(-10.0, DEFAULT_BOUNDS["ercot"].caps, 0.0)}
    counts = {f.series: f.count for f in assess(frame, strict) if f.kind == "out_of_range"}
    assert counts == {"ercot/rtm/HB_NORTH/60min": 2, "ercot/rtm/LZ_CPS/60min": 1}


def test_gap_count_over_eight_thousand_years_needs_no_grid():
    # Two 5-minute rows in years 0001 and 9999: the full grid would be ~1e9 instants (8 GB).
    stamps = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 55, tzinfo=UTC)]
    (gap,) = assess(_series(stamps, [1.0, 2.0], iso="pjm", node="WESTERN HUB", minutes=5))
    assert gap.kind == "gap" and gap.count == 1_051_792_990
    assert gap.detail.startswith("1051792990 missing intervals: 1-01-01T00:05Z; 1-01-01T00:10Z")
