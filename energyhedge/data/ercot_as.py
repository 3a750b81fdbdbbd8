"""ERCOT day-ahead ancillary-service clearing prices (MCPC, NP4-181-ER annual file) to rows.

Layout: ``Delivery Date, Hour Ending, Repeated Hour Flag`` and one column per product among
:data:`AS_PRODUCTS` (headers matched loosely, so ERCOT's ``REGUP `` with its trailing space is
``REGUP``). Hours are timed like ERCOT's hourly DAM tables (see ``ercot_files``: HE01 is
00:00-01:00 Central, flag Y is the standard-time repeat of the fall-back hour).

Each non-blank cell is one row: iso ``ercot``, market ``as``, node = the product, 60 minutes,
``price_usd_per_mwh`` = the clearing price in $/MW per hour (a capacity price; see ``schema``).
A blank cell has no price (ECRS before 2023-06-10, when the service began): it is returned with
a null price, which the importer drops and reports, never stored as zero.
"""

from __future__ import annotations

import polars as pl

from energyhedge.data.ercot_files import delivery_starts, ercot_rows
from energyhedge.data.headers import normalize_header
from energyhedge.data.raw_table import LINE, RawTable, parse_float
from energyhedge.data.schema import AS_MARKET

AS_PRODUCTS = ("REGDN", "REGUP", "RRS", "NSPIN", "ECRS")
"""ERCOT ancillary services: regulation down/up, responsive reserve, non-spin, ERCOT contingency
reserve. The node name of each product's series."""

_TIME_HEADERS = ("DeliveryDate", "HourEnding", "RepeatedHourFlag", "DSTFlag")


def is_ercot_as(table: RawTable) -> bool:
    """True for a delivery-date/hour-ending table whose other columns are all AS products."""
    columns = [c for c in table.frame.columns if c != LINE]
    keys = {normalize_header(c) for c in columns}
    times = {normalize_header(h) for h in _TIME_HEADERS}
    products = keys - times
    return (
        {"deliverydate", "hourending"} <= keys
        and bool(products)
        and products <= {p.lower() for p in AS_PRODUCTS}
    )


def ercot_as_prices(table: RawTable) -> pl.DataFrame:
    """Canonical rows (plus ``_line``) of the AS table; blank cells give null prices."""
    date_col = table.require("DeliveryDate")
    hour_col = table.require("HourEnding")
    flag_col = table.find("RepeatedHourFlag", "DSTFlag")
    start, label = delivery_starts(table, date_col, hour_col, None, flag_col)
    parts = []
    for product in AS_PRODUCTS:
        column = table.find(product)
        if column is None:
            continue
        cells = table.frame[column]
        filled = cells.is_not_null() & (cells != "")
        prices = pl.Series("price", [None] * table.frame.height, dtype=pl.Float64)
        if filled.any():
            given = RawTable(table.frame.filter(filled), table.source, table.unit)
            prices = prices.scatter(filled.arg_true(), parse_float(given, column))
        parts.append(
            ercot_rows(
                table,
                market=AS_MARKET,
                node=product,
                minutes=60,
                start=start,
                label=label,
                prices=prices,
                flag_col=flag_col,
                price_col=column,
            )
        )
    return pl.concat(parts)
