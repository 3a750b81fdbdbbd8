"""Local prevailing wall-clock times to UTC, with the repeated and the missing hour made explicit.

On the autumn fall-back day one local hour occurs twice (first in daylight time, then in
standard time); on the spring-forward day one local hour does not exist. ISO files label
intervals in local prevailing time, so every conversion must say which occurrence it means.
"""

from __future__ import annotations

import polars as pl


def to_utc(naive_local: pl.Series, tz: str, second: pl.Series | None = None) -> pl.Series:
    """Convert naive local wall-clock times in ``tz`` to UTC.

    Parameters
    ----------
    naive_local
        Datetime without time zone: the local wall-clock time.
    tz
        IANA zone, e.g. ``"America/Chicago"``.
    second
        Boolean per row: True selects the second (standard-time) occurrence of a repeated
        local time, False or null the first (daylight-time) one. None means all False.

    Returns
    -------
    pl.Series
        ``Datetime("us", "UTC")``; null where the local time does not exist (spring-forward gap).
    """
    frame = pl.DataFrame({"t": naive_local.cast(pl.Datetime("us"))})
    if second is None or not second.any():
        ambiguous: pl.Expr | str = "earliest"
    else:
        frame = frame.with_columns(second=second.fill_null(False))
        ambiguous = pl.when(pl.col("second")).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    return frame.select(
        pl.col("t")
        .dt.replace_time_zone(tz, ambiguous=ambiguous, non_existent="null")
        .dt.convert_time_zone("UTC")
    ).to_series()


def is_repeated(naive_local: pl.Series, tz: str) -> pl.Series:
    """True where the local wall-clock time occurs twice in ``tz`` (the fall-back hour)."""
    first = to_utc(naive_local, tz)
    second = to_utc(naive_local, tz, pl.Series([True] * len(naive_local), dtype=pl.Boolean))
    return (first != second).fill_null(False)


def local_midnight_utc(dates: pl.Series, tz: str) -> pl.Series:
    """UTC instant of local midnight at the start of each date (never ambiguous in US zones)."""
    return to_utc(dates.cast(pl.Date).cast(pl.Datetime("us")), tz)
