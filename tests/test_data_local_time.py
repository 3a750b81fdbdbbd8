"""Local prevailing time to UTC: property tests against Python's zoneinfo, and the DST edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from energyhedge.data.importers import parse_payload
from energyhedge.data.local_time import is_repeated, to_utc

CHICAGO = ZoneInfo("America/Chicago")

quarter_hours = st.integers(0, (2035 - 2010) * 365 * 96).map(
    lambda k: datetime(2010, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * k)
)
dst_days = st.sampled_from(
    [datetime(y, 3, 8, tzinfo=UTC) for y in range(2011, 2031)]
    + [datetime(y, 11, 1, tzinfo=UTC) for y in range(2011, 2031)]
)


def _ercot_label(instant: datetime) -> tuple[str, int, int, str]:
    """NP6-905-CD label of a UTC interval start, computed with zoneinfo's fold."""
    local = instant.astimezone(CHICAGO)
    return (
        f"{local:%m/%d/%Y}",
        local.hour + 1,
        local.minute // 15 + 1,
        "Y" if local.fold == 1 else "N",
    )


def _round_trip(instants: list[datetime]) -> list[datetime]:
    lines = ["DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,"
             "SettlementPointPrice,DSTFlag"]  # fmt: skip
    for i, instant in enumerate(instants):
        day, hour, interval, flag = _ercot_label(instant)
        lines.append(f"{day},{hour},{interval},N{i},1.0,{flag}")
    frame = parse_payload(("\n".join(lines) + "\n").encode(), "labels.csv")
    by_node = dict(zip(frame["node"], frame["interval_start_utc"], strict=True))
    return [by_node[f"N{i}"] for i in range(len(instants))]


@settings(max_examples=60, deadline=None)
@given(st.lists(quarter_hours, min_size=1, max_size=40))
def test_rtm_labels_round_trip_to_the_same_utc_instant(instants):
    assert _round_trip(instants) == instants


@settings(max_examples=40, deadline=None)
@given(dst_days, st.integers(0, 8 * 24 * 4 - 1))
def test_round_trip_around_every_dst_change(day, k):
    # Weeks that contain a DST change (second Sunday of March, first Sunday of November).
    instant = day + timedelta(minutes=15 * k)
    assert _round_trip([instant]) == [instant]


@settings(max_examples=100, deadline=None)
@given(quarter_hours)
def test_to_utc_matches_zoneinfo(instant):
    local = instant.astimezone(CHICAGO)
    naive = pl.Series([local.replace(tzinfo=None)], dtype=pl.Datetime("us"))
    second = pl.Series([local.fold == 1])
    assert to_utc(naive, "America/Chicago", second)[0] == instant
    assert is_repeated(naive, "America/Chicago")[0] == (
        local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()
    )


def test_to_utc_edges():
    naive = pl.Series(
        [datetime(2023, 11, 5, 1, 30), datetime(2023, 11, 5, 1, 30), datetime(2023, 3, 12, 2, 30)]
    )
    out = to_utc(naive, "America/Chicago", pl.Series([False, True, False]))
    assert out.to_list() == [
        datetime(2023, 11, 5, 6, 30, tzinfo=UTC),
        datetime(2023, 11, 5, 7, 30, tzinfo=UTC),
        None,
    ]
