"""PJM Data Miner 2 LMP tables (CSV export or JSON ``items``) to canonical rows.

Feeds ``da_hrl_lmps``, ``rt_hrl_lmps`` and ``rt_fivemin_hrl_lmps``: the interval start is
``datetime_beginning_utc`` (never the EPT column, which repeats on the fall-back day); the price
is ``total_lmp_da`` (market ``dam``) or ``total_lmp_rt`` (market ``rtm``); the node is
``pnode_name``. Rows with ``row_is_current`` false are superseded versions and dropped; among
rows of one key the highest ``version_nbr`` wins, and it is kept as ``revision``. The
``version_nbr`` column is required: without it a file could overwrite a stored later revision.

The interval is 5 minutes when the source name mentions ``fivemin`` or ``5min`` or when any
interval starts off the hour, otherwise 60 minutes.
"""

from __future__ import annotations

import polars as pl

from energyhedge.data.raw_table import (
    LINE,
    PRICE_COLUMN,
    RawTable,
    check_names,
    parse_datetime,
    parse_flag,
    parse_float,
)


def is_pjm(table: RawTable) -> bool:
    """True when the table has Data Miner's UTC start column and a total LMP column."""
    return table.find("datetime_beginning_utc") is not None or (
        table.find("pnode_name") is not None
        and table.find("total_lmp_da", "total_lmp_rt") is not None
    )


def pjm_prices(table: RawTable) -> pl.DataFrame:
    """Canonical rows (plus ``_line``) of a Data Miner 2 LMP table, current versions only."""
    time_col = table.require("datetime_beginning_utc")
    price_col = table.find("total_lmp_da")
    market = "dam"
    if price_col is None:
        price_col, market = table.require("total_lmp_rt", "total_lmp_da"), "rtm"
    node_col = table.require("pnode_name")
    label_col = table.find("datetime_beginning_ept")
    current_col = table.find("row_is_current")
    version_col = table.require("version_nbr")

    start = parse_datetime(table, time_col).dt.replace_time_zone("UTC")
    prices = parse_float(table, price_col)
    check_names(table, table.frame[node_col], node_col)
    current = parse_flag(table, current_col) if current_col else None
    version = table.frame[version_col].cast(pl.Int64, strict=False)
    version = pl.select(pl.when(version >= 0).then(version)).to_series()
    table.check(version, version_col, "not a whole number >= 0")
    name = table.source.lower()
    five = "fivemin" in name or "5min" in name or bool((start.dt.minute() != 0).any())
    frame = pl.DataFrame(
        {
            "iso": "pjm",
            "market": market,
            "node": table.frame[node_col],
            "interval_start_utc": start,
            "interval_minutes": 5 if five else 60,
            "price_usd_per_mwh": prices,
            "local_label": table.frame[label_col] if label_col else None,
            "dst_flag": None,
            "source": table.source,
            "revision": version,
            LINE: table.frame[LINE],
            PRICE_COLUMN: price_col,
        },
        schema_overrides={
            "interval_minutes": pl.Int32,
            "local_label": pl.Utf8,
            "dst_flag": pl.Utf8,
        },
    )
    if current is not None:
        frame = frame.filter(current)
    latest = pl.col("revision").max().over("node", "interval_start_utc")
    return frame.filter(pl.col("revision") == latest)
