"""Trading calendar: ISO time zones, NERC holidays and block shapes (5x16, 2x16, 7x8, 7x24).

Times inside the engine are UTC; shapes are defined in the ISO's local prevailing time by
hour ending (HE01 is 00:00-01:00 local). An interval belongs to the hour ending that contains
its start, so a 15-minute interval starting 06:45 local is in HE07.

Peak hours (the "16" of 5x16 and 2x16): ERCOT HE07-HE22 Central, PJM HE08-HE23 Eastern.
5x16 is those hours on weekdays that are not NERC holidays; 2x16 the same hours on weekends and
NERC holidays; 7x8 every other hour of every day (ERCOT HE01-06 and HE23-24, PJM HE01-07 and
HE24), so that 5x16 + 2x16 + 7x8 = 7x24 exactly, DST days included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from energyhedge.errors import ConfigError

ISO_TZ = {"ercot": "America/Chicago", "pjm": "America/New_York"}
SHAPES = ("5x16", "2x16", "7x8", "7x24")

# First and last peak hour ending, per ISO.
PEAK_HOURS_ENDING = {"ercot": (7, 22), "pjm": (8, 23)}


def _tz(iso: str) -> str:
    try:
        return ISO_TZ[iso]
    except KeyError:
        raise ConfigError(f"unknown iso {iso!r}; expected one of {', '.join(ISO_TZ)}") from None


def local_time(interval_start_utc: np.ndarray, iso: str) -> np.ndarray:
    """Local prevailing wall-clock time of UTC instants.

    Parameters
    ----------
    interval_start_utc : ndarray [T] of datetime64
        UTC instants (naive, meaning UTC).
    iso : str
        ``"ercot"`` or ``"pjm"``.

    Returns
    -------
    ndarray [T] of datetime64[us]
        Naive local wall clock (repeated on the fall-back hour, skipping the spring-forward hour).
    """
    utc = pl.Series("t", np.asarray(interval_start_utc, dtype="datetime64[us]"))
    local = utc.dt.replace_time_zone("UTC").dt.convert_time_zone(_tz(iso))
    return local.dt.replace_time_zone(None).to_numpy().astype("datetime64[us]")


def local_fields(interval_start_utc: np.ndarray, iso: str) -> dict[str, np.ndarray]:
    """Local calendar fields of each interval start (read-only arrays).

    A horizon's calendar is needed by the campus profile, every product's shape, the DR
    programme and the coincident-peak rule: it is computed once per (iso, interval grid) and
    the same read-only arrays are handed to every caller (the last ``CALENDAR_CACHE_SIZE``
    grids are kept).

    Returns
    -------
    dict with ``date`` (datetime64[D]), ``year``, ``month`` (1-12), ``weekday`` (0 = Monday)
    and ``hour_ending`` (1-24), each an ndarray [T].
    """
    stamps = np.ascontiguousarray(interval_start_utc, dtype="datetime64[us]")
    key = (iso, stamps.tobytes())
    fields = _CALENDARS.pop(key, None)
    if fields is None:
        fields = _local_fields(stamps, iso)
        for array in fields.values():
            array.flags.writeable = False
    _CALENDARS[key] = fields  # most recently used last
    while len(_CALENDARS) > CALENDAR_CACHE_SIZE:
        del _CALENDARS[next(iter(_CALENDARS))]
    return dict(fields)


CALENDAR_CACHE_SIZE = 8
_CALENDARS: dict[tuple[str, bytes], dict[str, np.ndarray]] = {}


def _local_fields(interval_start_utc: np.ndarray, iso: str) -> dict[str, np.ndarray]:
    local = local_time(interval_start_utc, iso)
    day = local.astype("datetime64[D]")
    hour = ((local - day) // np.timedelta64(1, "h")).astype(np.int64)
    months = day.astype("datetime64[M]")
    years = day.astype("datetime64[Y]")
    return {
        "date": day,
        "year": years.astype(np.int64) + 1970,
        "month": (months - years).astype(np.int64) + 1,
        # 1970-01-01 was a Thursday (weekday 3).
        "weekday": (day.astype(np.int64) + 3) % 7,
        "hour_ending": hour + 1,
    }


def nerc_holidays(year: int) -> list[date]:
    """NERC off-peak holidays of ``year``, as observed.

    New Year's Day, Memorial Day (last Monday of May), Independence Day, Labor Day (first
    Monday of September), Thanksgiving (fourth Thursday of November) and Christmas Day. A
    fixed-date holiday falling on a Sunday is observed on the Monday; one falling on a Saturday
    is not moved.
    """

    def nth_weekday(month: int, weekday: int, n: int) -> date:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))

    def observed(day: date) -> date:
        return day + timedelta(days=1) if day.weekday() == 6 else day

    last_may = date(year, 5, 31)
    return [
        observed(date(year, 1, 1)),
        last_may - timedelta(days=last_may.weekday()),
        observed(date(year, 7, 4)),
        nth_weekday(9, 0, 1),
        nth_weekday(11, 3, 4),
        observed(date(year, 12, 25)),
    ]


def holiday_mask(days: np.ndarray) -> np.ndarray:
    """True where a local date (datetime64[D], [T]) is an observed NERC holiday."""
    if days.size == 0:
        return np.zeros(0, dtype=bool)
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    holidays = [d for y in range(int(years.min()), int(years.max()) + 1) for d in nerc_holidays(y)]
    return np.isin(days, np.array(holidays, dtype="datetime64[D]"))


def shape_mask(
    shape: str, iso: str, interval_start_utc: np.ndarray, interval_minutes: int
) -> np.ndarray:
    """Which intervals fall in a block shape.

    Parameters
    ----------
    shape : str
        ``"5x16" | "2x16" | "7x8" | "7x24"``.
    iso : str
        ``"ercot"`` or ``"pjm"`` (sets the time zone and the peak hours).
    interval_start_utc : ndarray [T] of datetime64[us]
    interval_minutes : int
        Interval length (min); intervals must not straddle an hour boundary (60 must be a
        multiple of it).

    Returns
    -------
    ndarray [T] of bool
    """
    if shape not in SHAPES:
        raise ConfigError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")
    if interval_minutes <= 0 or 60 % interval_minutes:
        raise ConfigError(f"interval_minutes must divide 60, got {interval_minutes}")
    stamps = np.asarray(interval_start_utc, dtype="datetime64[us]")
    if shape == "7x24":
        _tz(iso)
        return np.ones(stamps.shape, dtype=bool)
    fields = local_fields(stamps, iso)
    first, last = PEAK_HOURS_ENDING[iso]
    peak_hour = (fields["hour_ending"] >= first) & (fields["hour_ending"] <= last)
    if shape == "7x8":
        return ~peak_hour
    business_day = (fields["weekday"] < 5) & ~holiday_mask(fields["date"])
    if shape == "5x16":
        return peak_hour & business_day
    return peak_hour & ~business_day


def day_start_utc(day: date, iso: str) -> datetime:
    """The UTC instant at which the ISO-local ``day`` begins (local midnight is never ambiguous)."""
    return datetime.combine(day, time(), ZoneInfo(_tz(iso))).astimezone(UTC)
