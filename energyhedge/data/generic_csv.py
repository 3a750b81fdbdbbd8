"""A user's own price table: column mapping and time convention given as options.

The time column holds either ISO-8601 instants with ``Z`` or a UTC offset (then ``tz`` is not
needed) or naive local wall-clock labels in ``tz``; ``label`` says whether a label is the start
(``beginning``) or the end (``ending``) of its interval. A naive local time that occurs
twice on the fall-back day is read in file order per node: its first appearance is the
daylight-time occurrence, the second the standard-time one. A file that lists such an hour only
once therefore gets the daylight-time hour, and the quality report shows the standard-time hour
as missing. A label in the spring-forward gap is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.local_time import to_utc
from energyhedge.data.raw_table import (
    LINE,
    OFFSET_SUFFIX,
    PRICE_COLUMN,
    RawTable,
    check_names,
    parse_datetime,
    parse_float,
    parse_instant,
)
from energyhedge.data.schema import INTERVAL_MINUTES, ISOS, MARKETS
from energyhedge.errors import ConfigError


@dataclass(frozen=True)
class GenericOptions:
    """How to read a generic price CSV.

    Attributes
    ----------
    time_col, price_col, node_col
        Column names (matched loosely). Prices in $/MWh.
    iso, market
        ``ercot``/``pjm`` and ``dam``/``rtm``.
    interval_minutes
        5, 15 or 60.
    tz
        IANA zone of the labels; defaults to the ISO's prevailing zone.
    label
        ``beginning`` or ``ending``: which end of the interval the time label names.
    """

    time_col: str
    price_col: str = "price"
    node_col: str = "node"
    iso: str = "ercot"
    market: str = "rtm"
    interval_minutes: int = 60
    tz: str | None = None
    label: str = "beginning"

    def __post_init__(self) -> None:
        checks = (
            ("iso", self.iso, ISOS),
            ("market", self.market, MARKETS),
            ("interval_minutes", self.interval_minutes, INTERVAL_MINUTES),
            ("label", self.label, ("beginning", "ending")),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                raise ConfigError(f"option {name}={value!r}: expected one of {list(allowed)}")
        if self.tz is not None:
            try:
                ZoneInfo(self.tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"option tz={self.tz!r}: not an IANA time zone (e.g. America/Chicago)"
                ) from None

    @property
    def zone(self) -> str:
        """The IANA zone of the time labels."""
        return self.tz or ISO_TZ[self.iso]


SHIPPED_ERCOT_OPTIONS = GenericOptions(
    time_col="Date",
    price_col="Price",
    node_col="Zone",
    iso="ercot",
    market="rtm",
    interval_minutes=60,
    tz="America/Chicago",
    label="beginning",
)
"""How ``market_data/ercot/ercot_rtm_spp_lz_hourly_2023.csv`` is read."""


def generic_prices(table: RawTable, options: GenericOptions) -> pl.DataFrame:
    """Canonical rows (plus ``_line``) of ``table`` read with ``options``."""
    time_col = table.require(options.time_col)
    price_col = table.require(options.price_col)
    node_col = table.require(options.node_col)
    prices = parse_float(table, price_col)
    check_names(table, table.frame[node_col], node_col)
    shift = timedelta(minutes=options.interval_minutes if options.label == "ending" else 0)
    if table.frame[time_col].str.contains(OFFSET_SUFFIX).any():
        start = parse_instant(table, time_col) - shift
    else:
        start = _local_starts(table, time_col, node_col, options.zone, shift)
    return pl.DataFrame(
        {
            "iso": options.iso,
            "market": options.market,
            "node": table.frame[node_col],
            "interval_start_utc": start,
            "interval_minutes": options.interval_minutes,
            "price_usd_per_mwh": prices,
            "local_label": table.frame[time_col],
            "dst_flag": None,
            "source": table.source,
            "revision": None,
            LINE: table.frame[LINE],
            PRICE_COLUMN: price_col,
        },
        schema_overrides={"interval_minutes": pl.Int32, "dst_flag": pl.Utf8, "revision": pl.Int64},
    )


def _local_starts(
    table: RawTable, time_col: str, node_col: str, zone: str, shift: timedelta
) -> pl.Series:
    """UTC interval starts from naive local labels, the repeated hour read in file order."""
    labels = parse_datetime(table, time_col)
    frame = pl.DataFrame({"node": table.frame[node_col], "t": labels - shift})
    second = frame.select(pl.int_range(pl.len()).over("node", "t") >= 1).to_series()
    start = to_utc(frame["t"], zone, second)
    gap = start.is_null()
    if gap.any():
        raise table.error(int(gap.arg_max()), time_col, f"this time does not exist in {zone}")
    return start
