"""Local market days as rows of fixed clock slots, and their mapping to the UTC interval grid.

Both scenario models work on a regular local grid: one row per local market day, one column per
clock slot of ``interval_minutes`` (24 slots for hourly data), indexed by local prevailing wall
clock. A DST day maps onto that grid through its UTC intervals: on the 23-hour spring-forward
day the slot of the missing hour is simply not used; on the 25-hour fall-back day both
occurrences of the repeated hour read the same slot. Historical days are put on the same grid:
the two occurrences of a repeated hour are averaged and a missing hour is interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from energyhedge.data.calendar import ISO_TZ, holiday_mask
from energyhedge.errors import ConfigError, DataError

# A historical day with more missing slots than this fraction of the day is not used.
MAX_MISSING_FRACTION = 1 / 12


@dataclass(frozen=True)
class Horizon:
    """The UTC interval grid of a run of local market days and each interval's local slot.

    Attributes
    ----------
    interval_start_utc : ndarray [T] of datetime64[us]
    interval_minutes : int
    day_of_interval : ndarray [T] of int
        Index (0 .. days-1) of the local day each interval belongs to.
    slot_of_interval : ndarray [T] of int
        Local clock slot (0 .. slots_per_day-1) of each interval.
    dates : ndarray [D] of datetime64[D]
        The local market days.
    """

    interval_start_utc: np.ndarray
    interval_minutes: int
    day_of_interval: np.ndarray
    slot_of_interval: np.ndarray
    dates: np.ndarray

    @property
    def slots_per_day(self) -> int:
        """Number of clock slots in a local day (24 for hourly intervals)."""
        return 1440 // self.interval_minutes


@dataclass(frozen=True)
class DayMatrix:
    """Historical prices as local days x clock slots.

    Attributes
    ----------
    dates : ndarray [H] of datetime64[D]
        Local market days kept (days with too many missing slots are dropped).
    prices_usd_per_mwh : ndarray [H, K]
        Price of each day and local clock slot ($/MWh).
    interval_minutes : int
    """

    dates: np.ndarray
    prices_usd_per_mwh: np.ndarray
    interval_minutes: int


def iso_zone(iso: str) -> str:
    """IANA time zone of an ISO's local prevailing time."""
    try:
        return ISO_TZ[iso]
    except KeyError:
        raise ConfigError(f"unknown iso {iso!r}; expected one of {', '.join(ISO_TZ)}") from None


def _local_parts(instants_utc: pl.Series, iso: str, interval_minutes: int) -> pl.DataFrame:
    local = instants_utc.dt.convert_time_zone(iso_zone(iso)).dt.replace_time_zone(None)
    minutes = local.dt.hour().cast(pl.Int64) * 60 + local.dt.minute().cast(pl.Int64)
    return pl.DataFrame({"date": local.dt.date(), "slot": minutes // interval_minutes})


def horizon(iso: str, start: date, days: int, interval_minutes: int) -> Horizon:
    """The UTC intervals of ``days`` local market days beginning on ``start``.

    Parameters
    ----------
    iso : str
        ``"ercot"`` or ``"pjm"``; sets the local time zone.
    start : date
        First local market day.
    days : int
        Number of local days (>= 1).
    interval_minutes : int
        Interval length (min); must divide 60.
    """
    if days < 1:
        raise ConfigError(f"days must be at least 1, got {days}")
    if interval_minutes <= 0 or 60 % interval_minutes:
        raise ConfigError(f"interval_minutes must divide 60, got {interval_minutes}")
    tz = iso_zone(iso)
    bounds = pl.Series([start, start + timedelta(days=days)]).cast(pl.Datetime("us"))
    first, end = bounds.dt.replace_time_zone(tz).dt.convert_time_zone("UTC")
    stamps = pl.datetime_range(
        first, end, interval=f"{interval_minutes}m", closed="left", eager=True
    ).dt.convert_time_zone("UTC")
    parts = _local_parts(stamps, iso, interval_minutes)
    dates = np.arange(np.datetime64(start, "D"), np.datetime64(start, "D") + days)
    day = parts["date"].to_numpy().astype("datetime64[D]") - dates[0]
    return Horizon(
        interval_start_utc=stamps.dt.replace_time_zone(None).to_numpy().astype("datetime64[us]"),
        interval_minutes=interval_minutes,
        day_of_interval=day.astype(np.int64),
        slot_of_interval=parts["slot"].to_numpy().astype(np.int64),
        dates=dates,
    )


def day_matrix(history: pl.DataFrame, iso: str) -> DayMatrix:
    """Put a canonical price table of one node on the local day x slot grid.

    Repeated local slots (fall-back hour) are averaged; missing slots are filled by linear
    interpolation between neighbouring prices; days missing more than
    ``MAX_MISSING_FRACTION`` of their slots are dropped.

    Raises
    ------
    DataError
        If the table is empty, mixes interval lengths, or has no usable day.
    """
    if history.height == 0:
        raise DataError("price history is empty: load the node's prices into the store first")
    minutes = history["interval_minutes"].unique().to_list()
    if len(minutes) != 1:
        raise DataError(f"price history mixes interval lengths {sorted(minutes)} minutes")
    step = int(minutes[0])
    slots = 1440 // step
    parts = _local_parts(history["interval_start_utc"], iso, step).with_columns(
        price=history["price_usd_per_mwh"]
    )
    cells = parts.group_by("date", "slot").agg(pl.col("price").mean()).sort("date", "slot")
    cell_dates = cells["date"].to_numpy().astype("datetime64[D]")
    first = cell_dates.min()
    n_days = int((cell_dates.max() - first).astype(np.int64)) + 1
    grid = np.full(n_days * slots, np.nan)
    day = (cell_dates - first).astype(np.int64)
    grid[day * slots + cells["slot"].to_numpy()] = cells["price"].to_numpy()
    missing = np.isnan(grid).reshape(n_days, slots).sum(axis=1)
    keep = missing <= slots * MAX_MISSING_FRACTION
    if not keep.any():
        raise DataError(f"price history has no day with at most {slots // 12} missing intervals")
    filled = _interpolate(grid).reshape(n_days, slots)
    dates = first + np.arange(n_days)
    return DayMatrix(dates=dates[keep], prices_usd_per_mwh=filled[keep], interval_minutes=step)


def _interpolate(values: np.ndarray) -> np.ndarray:
    """Fill NaNs by linear interpolation in position (constant beyond the ends)."""
    ok = ~np.isnan(values)
    if ok.all():
        return values
    pos = np.arange(values.size)
    return np.interp(pos, pos[ok], values[ok])


def day_types(dates: np.ndarray) -> np.ndarray:
    """0 for a working day, 1 for a weekend day or NERC holiday, per local date [D]."""
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return ((weekday >= 5) | holiday_mask(dates)).astype(np.int64)


def months(dates: np.ndarray) -> np.ndarray:
    """Calendar month (1-12) of each local date [D]."""
    return (dates.astype("datetime64[M]").astype(np.int64) % 12) + 1


def regrid(prices: np.ndarray, minutes: int, to_minutes: int) -> np.ndarray:
    """Prices on ``minutes`` intervals (last axis) put on ``to_minutes`` intervals ($/MWh).

    Coarser prices repeat (an hourly day-ahead price holds for each quarter-hour); finer ones
    are averaged (four 15-minute real-time prices make the hour's price). ConfigError when
    neither length divides the other.
    """
    if minutes == to_minutes:
        return prices
    if minutes % to_minutes == 0:
        return np.repeat(prices, minutes // to_minutes, axis=-1)
    if to_minutes % minutes == 0:
        step = to_minutes // minutes
        return prices.reshape(*prices.shape[:-1], -1, step).mean(axis=-1)
    raise ConfigError(
        f"prices in {minutes}-minute intervals cannot be put on {to_minutes}-minute intervals; "
        "use series whose interval lengths divide one another"
    )
