"""Chunk planning: month windows and archive splits partition the requested days exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from energyhedge.data.fetch_plan import local_days_utc, month_windows, split_at

days = st.dates(min_value=date(2010, 1, 1), max_value=date(2030, 12, 31))


def covered(windows) -> list[date]:
    out = []
    for first, last, *_ in windows:
        out += [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return out


@given(days, st.integers(min_value=0, max_value=800))
def test_month_windows_partition_the_range_within_months(start, length):
    end = start + timedelta(days=length)
    windows = list(month_windows(start, end))
    assert covered(windows) == covered([(start, end)])
    assert all((a.year, a.month) == (b.year, b.month) for a, b in windows)


@given(days, st.integers(min_value=0, max_value=800), days)
def test_split_at_partitions_and_flags_the_older_part(start, length, boundary):
    end = start + timedelta(days=length)
    parts = split_at(start, end, boundary)
    assert covered(parts) == covered([(start, end)])
    for first, last, before in parts:
        assert (last < boundary) if before else (first >= boundary)


def test_month_windows_example_across_a_year():
    assert list(month_windows(date(2023, 12, 30), date(2024, 2, 1))) == [
        (date(2023, 12, 30), date(2023, 12, 31)),
        (date(2024, 1, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 1)),
    ]


def test_local_days_utc_on_dst_days():
    # Spring forward (23 h) and fall back (25 h) in Central time.
    lo, hi = local_days_utc(date(2024, 3, 10), date(2024, 3, 10), "America/Chicago")
    assert (lo, hi) == (datetime(2024, 3, 10, 6, tzinfo=UTC), datetime(2024, 3, 11, 5, tzinfo=UTC))
    lo, hi = local_days_utc(date(2024, 11, 3), date(2024, 11, 3), "America/New_York")
    assert (lo, hi) == (datetime(2024, 11, 3, 4, tzinfo=UTC), datetime(2024, 11, 4, 5, tzinfo=UTC))
