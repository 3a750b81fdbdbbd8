"""The canonical price table every importer and fetcher produces and the store keeps.

One row per (iso, market, node, interval_start_utc). Times are UTC inside the engine; the
local wall-clock label and the original DST flag are kept only for audit.

Markets: ``dam`` (day-ahead energy) and ``rtm`` (real-time energy) hold energy prices in $/MWh;
``as`` holds ancillary-service clearing prices with the product as the node (``REGDN``,
``REGUP``, ``RRS``, ``NSPIN``, ``ECRS``): for market ``as`` the ``price_usd_per_mwh`` column is a
capacity price in $/MW per hour ($/MW-h), what one MW of the service earns in one hour, not an
energy price. One table keeps both so that AS prices share the store's keys, atomic imports,
quality checks and history with the energy prices of the same hours.
"""

from __future__ import annotations

import polars as pl

KEY_COLUMNS = ("iso", "market", "node", "interval_start_utc")

PRICE_SCHEMA: dict[str, pl.DataType] = {
    "iso": pl.Utf8(),  # "ercot" | "pjm"
    "market": pl.Utf8(),  # "dam" (day-ahead) | "rtm" (real-time) | "as" (ancillary services)
    "node": pl.Utf8(),  # settlement point / pnode name, e.g. "HB_NORTH", "WESTERN HUB"
    "interval_start_utc": pl.Datetime("us", "UTC"),
    "interval_minutes": pl.Int32(),  # 5, 15 or 60
    "price_usd_per_mwh": pl.Float64(),  # market "as": $/MW per hour (capacity price)
    "local_label": pl.Utf8(),  # the source's own time label, verbatim
    "dst_flag": pl.Utf8(),  # the source's DST / repeated-hour flag, verbatim (null if none)
    "source": pl.Utf8(),  # file name or API query the row came from
    "revision": pl.Int64(),  # source revision (PJM version_nbr); null when the source has none
}

EXPORT_COLUMNS = (
    "iso",
    "market",
    "node",
    "interval_start_utc",
    "interval_minutes",
    "price_usd_per_mwh",
)

ISOS = ("ercot", "pjm")
ENERGY_MARKETS = ("dam", "rtm")
"""Markets whose prices are energy prices in $/MWh."""
AS_MARKET = "as"
"""The market of ancillary-service capacity prices ($/MW per hour)."""
MARKETS = (*ENERGY_MARKETS, AS_MARKET)


def price_unit(market: str) -> str:
    """The unit of ``price_usd_per_mwh`` in ``market``: ``$/MWh``, or ``$/MW-h`` for ``as``."""
    return "$/MW-h" if market == AS_MARKET else "$/MWh"


INTERVAL_MINUTES = (5, 15, 60)


def empty_prices() -> pl.DataFrame:
    """An empty canonical price table."""
    return pl.DataFrame(schema=PRICE_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the canonical columns, order and dtypes.

    Missing audit columns are added as nulls; key and price columns must be present.
    """
    required = (*KEY_COLUMNS, "interval_minutes", "price_usd_per_mwh")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"canonical price table lacks columns {missing}")
    exprs = [
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in PRICE_SCHEMA.items()
    ]
    return frame.select(exprs)
