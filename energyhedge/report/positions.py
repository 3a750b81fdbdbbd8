"""positions.xlsx: the hedge book as traders work with it (openpyxl).

One sheet per table of ``recommendation.json``'s ``positions`` block, with the same numbers:

- ``Book``: the existing trades (terms as traded);
- ``Incremental trades``: the run's trades (``trades``);
- ``Resulting``: book + incremental trades per instrument;
- ``MTM``: each trade's marks, MTM at mid and exit side and settled P&L, then a total row;
- ``Delta grid``: MW and MWh by month x shape x settlement point, with the MTM allocated;
- ``Collateral``: collateral at risk per counterparty (an estimate).

Text cells go through ``safe_text.neutralise_formula`` so no cell is evaluated as a formula.
"""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from energyhedge.book import COLUMNS as BOOK_COLUMNS
from energyhedge.safe_text import neutralise_formula

TRADE_COLUMNS = (
    "product",
    "kind",
    "settlement_point",
    "market",
    "shape",
    "start",
    "end",
    "side",
    "mw",
    "price_usd_per_mwh",
    "price_side",
    "mid_usd_per_mwh",
    "price_source",
    "premium_usd",
)
RESULTING_COLUMNS = (
    "product",
    "kind",
    "settlement_point",
    "market",
    "shape",
    "start",
    "end",
    "strike_usd_per_mwh",
    "existing_mw",
    "incremental_mw",
    "mw",
    "trade_ids",
)
MTM_COLUMNS = (
    "trade_id",
    "counterparty",
    "mw",
    "basis",
    "mark_id",
    "remaining_hours",
    "traded_usd_per_mwh",
    "mark_mid_usd_per_mwh",
    "mark_exit_usd_per_mwh",
    "mtm_mid_usd",
    "mtm_exit_usd",
    "settled_hours",
    "settled_pnl_usd",
)
DELTA_COLUMNS = ("month", "shape", "settlement_point", "mw", "mwh", "hours", "mtm_mid_usd")
COLLATERAL_COLUMNS = (
    "counterparty",
    "cvar_usd",
    "margin_period_days",
    "alpha",
    "observations",
    "label",
)
SHEETS = ("Book", "Incremental trades", "Resulting", "MTM", "Delta grid", "Collateral")


def write_positions(path: str | Path, recommendation: dict) -> None:
    """Write positions.xlsx for a record with a ``positions`` block, atomically (temporary
    file, then rename)."""
    positions = recommendation["positions"]
    book = Workbook()
    book.remove(book.active)
    _sheet(book, "Book", BOOK_COLUMNS, positions["existing"])
    _sheet(book, "Incremental trades", TRADE_COLUMNS, recommendation["trades"])
    if not recommendation["trades"]:
        book["Incremental trades"].append([positions["summary"]])
    _sheet(book, "Resulting", RESULTING_COLUMNS, positions["resulting"])
    mtm = _sheet(book, "MTM", MTM_COLUMNS, positions["existing"])
    totals = positions["mtm"]
    mtm.append(
        [
            "total",
            *[None] * (MTM_COLUMNS.index("mtm_mid_usd") - 1),
            totals["mid_usd"],
            totals["exit_usd"],
            None,
            totals["settled_pnl_usd"],
        ]
    )
    mtm.cell(row=mtm.max_row, column=1).font = Font(bold=True)
    _sheet(book, "Delta grid", DELTA_COLUMNS, positions["delta_grid"])
    _sheet(book, "Collateral", COLLATERAL_COLUMNS, positions["collateral"])
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    book.save(tmp)
    os.replace(tmp, path)


def _sheet(book: Workbook, title: str, columns: tuple[str, ...], rows: list[dict]):
    sheet = book.create_sheet(title)
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(row.get(c)) for c in columns])
    sheet.freeze_panes = "A2"
    return sheet


def _cell(value):
    """A JSON value as an inert cell: text neutralised, lists joined, numbers as they are."""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return neutralise_formula(value)
    return value
