"""Price tables in the gridstatus library's layout (CSV or Parquet) to canonical rows.

Columns (headers matched loosely): ``Interval Start`` (or ``Time`` in older layouts),
``Interval End``, ``Location``, ``Location Type``, ``Market`` and the price, ``SPP`` (ERCOT
settlement point prices) or ``LMP``. Times must name instants: timezone-aware Parquet columns or
ISO-8601 text with an offset (``2023-01-01 00:00:00-06:00``); a naive time is an error.

- iso: :attr:`GridstatusOptions.iso` when given; otherwise ``ercot`` for an ``SPP`` table or when
  every location is an ERCOT hub or load zone (``HB_*``, ``LZ_*``); any other ``LMP`` table is
  ambiguous (gridstatus writes LMPs for several ISOs) and an error asking for ``--iso``.
- market: ``Market`` values starting ``REAL_TIME`` are ``rtm``, ``DAY_AHEAD`` ``dam``.
- node: ``Location``; a ``Location Type`` that says energy-weighted adds ``_EW``, as ERCOT's own
  files do (see ``ercot_files``).
- interval_minutes: ``Interval End`` - ``Interval Start`` (5, 15 or 60); without an end column,
  from the ``Market`` name (``_5_MIN``, ``_15_MIN``, ``HOURLY``). When both say something they
  must agree.
- local_label: the start time as written (Parquet: as polars prints it); dst_flag, revision null.
- Float32 prices (the 2025 gridstatus ERCOT file) are stored as the shortest decimal that
  identifies the float32 value, i.e. the published price: float32 3777.1499 is stored as
  3777.15, not as its binary expansion 3777.14990234375.

Location types: :attr:`GridstatusOptions.location_types` keeps only rows of those types (case
and surrounding spaces ignored); a file with no row of any of them is an error naming the types
it has.

Duplicates: rows of one location and interval with the same price are identical duplicates; the
importer keeps one and reports how many it dropped. Different prices are refused with a
:class:`DataError` naming the location, how many of its intervals conflict and the first ones
(UTC and local), never resolved by picking one: the gridstatus ERCOT files label both load-zone
price types (``LZ`` and the energy-weighted ``LZEW``) ``Load Zone`` under one name.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.ercot_files import ENERGY_WEIGHTED_SUFFIX
from energyhedge.data.raw_table import (
    LINE,
    PRICE_COLUMN,
    RawTable,
    check_names,
    parse_float,
    parse_instant,
)
from energyhedge.data.schema import INTERVAL_MINUTES, ISOS
from energyhedge.errors import ConfigError, DataError
from energyhedge.safe_text import shown

EXAMPLES = 3
"""Conflicting intervals shown in the error message."""

_MARKETS = {"REAL_TIME": "rtm", "DAY_AHEAD": "dam"}
_MARKET_MINUTES = {"_5_MIN": 5, "_15_MIN": 15, "HOURLY": 60}
_ERCOT_NAME = r"^(HB|LZ)_"


@dataclass(frozen=True)
class GridstatusOptions:
    """How to read gridstatus tables.

    Attributes
    ----------
    iso
        ``ercot`` or ``pjm``; None infers it (see the module docstring).
    location_types
        Keep only rows of these ``Location Type`` values; empty keeps every row.
    """

    iso: str | None = None
    location_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.iso is not None and self.iso not in ISOS:
            raise ConfigError(f"option iso={self.iso!r}: expected one of {list(ISOS)}")
        if any(not t.strip() for t in self.location_types):
            raise ConfigError("--location-types: an empty type; give e.g. 'Trading Hub'")


def is_gridstatus(table: RawTable) -> bool:
    """True when the table has a location, a start time and an SPP or LMP column."""
    return (
        table.find("Location") is not None
        and table.find("Interval Start", "Time") is not None
        and table.find("SPP", "LMP") is not None
    )


def gridstatus_prices(table: RawTable, options: GridstatusOptions) -> pl.DataFrame:
    """Canonical rows (plus ``_line``) of a gridstatus table; see the module docstring."""
    type_col = table.find("Location Type")
    if options.location_types:
        table = _of_types(table, type_col, options.location_types)
    start_col = table.require("Interval Start", "Time")
    location_col = table.require("Location")
    market_col = table.require("Market")
    price_col = table.require("SPP", "LMP")
    end_col = table.find("Interval End")

    iso = _iso(table, price_col, location_col, options.iso)
    market = _market(table, market_col)
    start = parse_instant(table, start_col)
    minutes = _minutes(table, start, end_col, market_col)
    prices = parse_float(table, price_col)
    node = table.frame[location_col]
    if type_col is not None:
        weighted = (
            table.frame[type_col]
            .fill_null("")
            .str.to_lowercase()
            .str.replace_all(r"[\s_-]", "")
            .str.contains("energyweighted")
        )
        node = pl.select(
            pl.when(weighted & ~node.str.ends_with(ENERGY_WEIGHTED_SUFFIX))
            .then(node + ENERGY_WEIGHTED_SUFFIX)
            .otherwise(node)
        ).to_series()
    check_names(table, node, location_col)
    frame = pl.DataFrame(
        {
            "iso": iso,
            "market": market,
            "node": node,
            "interval_start_utc": start,
            "interval_minutes": minutes,
            "price_usd_per_mwh": prices,
            "local_label": table.frame[start_col],
            "dst_flag": None,
            "source": table.source,
            "revision": None,
            LINE: table.frame[LINE],
            PRICE_COLUMN: price_col,
        },
        schema_overrides={"dst_flag": pl.Utf8, "revision": pl.Int64},
    )
    _refuse_conflicts(table, frame, type_col, price_col)
    return frame


def conflicting_intervals(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (market, node, interval) of ``frame`` that carries two or more prices.

    Columns: ``market``, ``node``, ``interval_start_utc``, ``prices`` (distinct, in row order)
    and ``lines`` (the ``_line`` of every row of that key), sorted by node and time.
    """
    key = ["market", "node", "interval_start_utc"]
    return (
        frame.filter(pl.col("price_usd_per_mwh").n_unique().over(key) > 1)
        .group_by(key, maintain_order=True)
        .agg(
            pl.col("price_usd_per_mwh").unique(maintain_order=True).alias("prices"),
            pl.col(LINE).alias("lines"),
        )
        .sort("node", "interval_start_utc", "market")
    )


def _refuse_conflicts(
    table: RawTable, frame: pl.DataFrame, type_col: str | None, price_col: str
) -> None:
    """Raise naming the first conflicting location, its count of conflicts and first intervals."""
    conflicts = conflicting_intervals(frame)
    if conflicts.is_empty():
        return
    node = conflicts["node"][0]
    mine = conflicts.filter(pl.col("node") == node)
    zone = ZoneInfo(ISO_TZ[frame["iso"][0]])
    shown_intervals = "; ".join(
        f"{t:%Y-%m-%dT%H:%MZ} ({t.astimezone(zone):%Y-%m-%d %H:%M %Z}) "
        + " vs ".join(f"{p:,}" for p in prices)
        for t, prices in mine.select("interval_start_utc", "prices").head(EXAMPLES).rows()
    )
    lines = mine["lines"][0].to_list()
    nodes = conflicts["node"].unique(maintain_order=True).to_list()
    others = f"; {len(nodes) - 1} more locations conflict too" if len(nodes) > 1 else ""
    kind, advice = "", "remove or rename one row of each pair"
    if type_col is not None:
        types = frame.select("node", type=table.frame[type_col].fill_null(""))
        bad = set(types.filter(pl.col("node").is_in(nodes))["type"].to_list())
        kind = f" (Location Type {shown(types.filter(pl.col('node') == node)['type'][0])})"
        clean = sorted(set(types["type"].to_list()) - bad)
        if clean:
            advice = (
                "import only clean location types, e.g. --location-types "
                f"{shown(','.join(clean))}, or remove one row of each pair"
            )
    raise DataError(
        f"{table.source}, {table.unit}s {lines[0]} and {lines[1]}, column {shown(price_col)}: "
        f"{node}{kind} has two different prices for {mine.height:,} of its intervals, first "
        f"{shown_intervals} $/MWh{others}; the file gives two price series one name (e.g. "
        f"ERCOT's LZ and energy-weighted LZEW zones) and none is picked silently: {advice}"
    )


def _of_types(table: RawTable, type_col: str | None, wanted: tuple[str, ...]) -> RawTable:
    """The rows whose Location Type is one of ``wanted`` (case and spaces ignored)."""
    if type_col is None:
        table.require("Location Type")
    keys = [t.strip().lower() for t in wanted]
    types = table.frame[type_col].fill_null("")
    keep = types.str.to_lowercase().is_in(keys)
    if not keep.any():
        present = ", ".join(sorted(set(types.to_list())))
        raise DataError(
            f"{table.source}, column {shown(type_col)}: no row of location type "
            f"{shown(', '.join(wanted))}; the file has {shown(present, 120)}; "
            "check --location-types"
        )
    return RawTable(table.frame.filter(keep), table.source, table.unit)


def _iso(table: RawTable, price_col: str, location_col: str, given: str | None) -> str:
    if given is not None:
        return given
    if price_col.strip().upper() == "SPP":
        return "ercot"
    if table.frame[location_col].str.contains(_ERCOT_NAME).all():
        return "ercot"
    raise DataError(
        f"{table.source}, column {shown(price_col)}: an LMP table of an unknown ISO; give "
        "--iso ercot or --iso pjm"
    )


def _market(table: RawTable, market_col: str) -> pl.Series:
    text = table.frame[market_col].fill_null("").str.to_uppercase()
    market = pl.select(
        pl.coalesce(
            pl.when(text.str.starts_with(prefix)).then(pl.lit(name))
            for prefix, name in _MARKETS.items()
        )
    ).to_series()
    table.check(market, market_col, "unknown market (expected REAL_TIME_* or DAY_AHEAD_*)")
    return market


def _minutes(table: RawTable, start: pl.Series, end_col: str | None, market_col: str) -> pl.Series:
    """Interval length per row (minutes), from the end column and/or the market name."""
    text = table.frame[market_col].fill_null("").str.to_uppercase()
    named = pl.select(
        pl.coalesce(
            pl.when(text.str.ends_with(suffix)).then(pl.lit(minutes, pl.Int32))
            for suffix, minutes in _MARKET_MINUTES.items()
        )
    ).to_series()
    if end_col is None:
        table.check(named, market_col, "no interval length in the market name and no end column")
        return named
    end = parse_instant(table, end_col)
    span = (end - start).dt.total_minutes().cast(pl.Int32)
    valid = pl.select(pl.when(span.is_in(INTERVAL_MINUTES)).then(span)).to_series()
    table.check(valid, end_col, f"interval end - start is not one of {INTERVAL_MINUTES} minutes")
    disagree = named.is_not_null() & (named != valid)
    if disagree.any():
        raise table.error(
            int(disagree.arg_max()),
            end_col,
            "interval length disagrees with the market name (e.g. 60 minutes in a 15_MIN market)",
        )
    return valid
