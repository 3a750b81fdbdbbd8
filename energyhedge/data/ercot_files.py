"""ERCOT settlement point price tables (MIS CSV, annual archive, API pages) to canonical rows.

Layouts (headers matched loosely, see ``headers``):

- DAM hourly, NP4-190-CD / NP4-180-ER: delivery date, hour ending ("01:00".."24:00" or 1..24),
  settlement point, price, DST / repeated-hour flag. HE01 is 00:00-01:00 local.
- RTM 15-minute, NP6-905-CD / NP6-785-ER: delivery date, delivery hour (1..24, hour ending),
  delivery interval (1..4), settlement point name and type, price, flag. Interval start =
  date + (hour - 1) h + (interval - 1) x 15 min, local.

Times are US/Central prevailing. Flag Y (or true) marks the second, standard-time occurrence of
the repeated fall-back hour. A delivery date whose hours run to 25 numbers its hours by elapsed
time from local midnight instead (hour 3 is then the repeated hour in standard time). A label
that falls in the spring-forward gap is an error, and so is hour 25 on any other day.

Energy-weighted zones: a settlement point whose type ends in ``EW`` (``LZEW``, ``LZ_DCEW``) is
stored as node ``<name>_EW`` (e.g. ``LZ_HOUSTON_EW``) so it never collides with the plain
``LZ`` row of the same name.
"""

from __future__ import annotations

import polars as pl

from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.local_time import is_repeated, local_midnight_utc, to_utc
from energyhedge.data.raw_table import (
    LINE,
    PRICE_COLUMN,
    RawTable,
    check_names,
    parse_date,
    parse_flag,
    parse_float,
    parse_int,
)

TZ = ISO_TZ["ercot"]
ENERGY_WEIGHTED_SUFFIX = "_EW"


def is_ercot(table: RawTable) -> bool:
    """True when the table has ERCOT's delivery-date and settlement-point columns."""
    return table.find("DeliveryDate") is not None and (
        table.find("SettlementPoint", "SettlementPointName") is not None
    )


def ercot_prices(table: RawTable) -> pl.DataFrame:
    """Canonical rows (plus ``_line``) of an ERCOT DAM or RTM settlement point price table."""
    date_col = table.require("DeliveryDate")
    hour_ending_col = table.find("HourEnding")
    if hour_ending_col is not None:
        market, minutes, hour_col, interval_col = "dam", 60, hour_ending_col, None
    else:
        market, minutes = "rtm", 15
        hour_col = table.require("DeliveryHour", "HourEnding")
        interval_col = table.require("DeliveryInterval")
    point_col = table.require("SettlementPointName", "SettlementPoint")
    price_col = table.require("SettlementPointPrice")
    type_col = table.find("SettlementPointType")
    flag_col = table.find("DSTFlag", "RepeatedHourFlag")

    start, label = delivery_starts(table, date_col, hour_col, interval_col, flag_col)
    prices = parse_float(table, price_col)

    node = table.frame[point_col]
    if type_col is not None:
        weighted = table.frame[type_col].fill_null("").str.to_uppercase().str.ends_with("EW")
        node = pl.select(
            pl.when(weighted).then(node + ENERGY_WEIGHTED_SUFFIX).otherwise(node)
        ).to_series()
    check_names(table, node, point_col)
    return ercot_rows(
        table,
        market=market,
        node=node,
        minutes=minutes,
        start=start,
        label=label,
        prices=prices,
        flag_col=flag_col,
        price_col=price_col,
    )


def ercot_rows(
    table: RawTable,
    *,
    market: str,
    node: str | pl.Series,
    minutes: int,
    start: pl.Series,
    label: pl.Series,
    prices: pl.Series,
    flag_col: str | None,
    price_col: str,
) -> pl.DataFrame:
    """Canonical rows (plus ``_line`` and the price column's name) of one ERCOT price table."""
    return pl.DataFrame(
        {
            "iso": "ercot",
            "market": market,
            "node": node,
            "interval_start_utc": start,
            "interval_minutes": minutes,
            "price_usd_per_mwh": prices,
            "local_label": label,
            "dst_flag": table.frame[flag_col] if flag_col else None,
            "source": table.source,
            "revision": None,
            LINE: table.frame[LINE],
            PRICE_COLUMN: price_col,
        },
        schema_overrides={"interval_minutes": pl.Int32, "dst_flag": pl.Utf8, "revision": pl.Int64},
    )


def delivery_starts(
    table: RawTable, date_col: str, hour_col: str, interval_col: str | None, flag_col: str | None
) -> tuple[pl.Series, pl.Series]:
    """UTC interval starts and verbatim local labels of ERCOT delivery-date/hour-ending rows.

    ``interval_col`` (1..4, 15-minute intervals) is None for hourly tables; ``flag_col`` is the
    DST / repeated-hour flag, or None. See the module docstring for the rules.
    """
    dates = parse_date(table, date_col)
    hours = parse_int(table, hour_col, 1, 25)
    intervals = (
        parse_int(table, interval_col, 1, 4)
        if interval_col is not None
        else pl.Series([1] * table.frame.height, dtype=pl.Int32)
    )
    second = parse_flag(table, flag_col)
    offset = pl.duration(hours=hours - 1, minutes=(intervals - 1) * 15)
    naive = pl.select(dates.cast(pl.Datetime("us")) + offset).to_series()
    labels = pl.DataFrame({"date": dates, "hour": hours, "naive": naive, "second": second})
    start = _interval_start_utc(table, labels, hour_col=hour_col, flag_col=flag_col)
    label = table.frame[date_col] + " " + table.frame[hour_col]
    if interval_col is not None:
        label = label + ":" + table.frame[interval_col]
    return start, label


def _interval_start_utc(
    table: RawTable, labels: pl.DataFrame, *, hour_col: str, flag_col: str | None
) -> pl.Series:
    """UTC start of each labelled interval; see the module docstring for the rules.

    ``labels`` holds per row the delivery ``date``, ``hour`` (1..25), the ``naive`` local start
    and ``second`` (repeated-hour flag).
    """
    dates, naive, second = labels["date"], labels["naive"], labels["second"]
    elapsed = labels.select(pl.col("hour").max().over("date") == 25).to_series()
    labelled = to_utc(naive, TZ, second)
    if elapsed.any():
        midnight = local_midnight_utc(dates, TZ)
        next_midnight = local_midnight_utc(dates.dt.offset_by("1d"), TZ)
        day_hours = (next_midnight - midnight).dt.total_hours()
        short = (labels["hour"] == 25) & (day_hours != 25)
        if short.any():
            raise table.error(
                int(short.arg_max()),
                hour_col,
                f"hour 25 on a date that is not a fall-back day in {TZ}",
            )
        by_elapsed = pl.select(midnight + (naive - dates.cast(pl.Datetime("us")))).to_series()
        labelled = pl.select(pl.when(elapsed).then(by_elapsed).otherwise(labelled)).to_series()
    gap = labelled.is_null()
    if gap.any():
        raise table.error(
            int(gap.arg_max()),
            hour_col,
            f"this hour does not exist in {TZ} (spring-forward gap)",
        )
    flagged = second & ~elapsed
    if flag_col is not None and flagged.any():
        rows = flagged.arg_true()
        once = ~is_repeated(naive.gather(rows), TZ)
        if once.any():
            raise table.error(
                int(rows[int(once.arg_max())]),
                flag_col,
                "repeated-hour flag set on an hour that occurs only once",
            )
    return labelled
