"""A source table of text cells that remembers where each row came from, for exact error messages.

Every reader turns its input (CSV, xlsx sheet, JSON page) into a :class:`RawTable` whose cells
are stripped strings and whose ``_line`` column holds the position a user can look up: the file
line for CSV (header = line 1), the spreadsheet row for xlsx, the record number for JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from energyhedge.data.headers import find_column
from energyhedge.errors import DataError
from energyhedge.safe_text import name_problem, shown

LINE = "_line"
PRICE_COLUMN = "_price_column"
"""Converters name the source price column here, for conflict messages."""
PRICE_BOUND_USD_PER_MWH = 1_000_000.0
"""A price whose magnitude exceeds this ($/MWh) is a unit or file error, never a market price."""
YEARS = (1990, 2100)
"""Delivery years accepted (inclusive); anything else is a mistyped or corrupt date."""


@dataclass(frozen=True)
class RawTable:
    """Text cells of one source table.

    Attributes
    ----------
    frame
        All-``Utf8`` columns as in the source plus ``_line`` (Int64).
    source
        What a user recognises: file name, ``file.xlsx[sheet]`` or ``archive.zip/member.csv``.
    unit
        What ``_line`` counts: ``"line"``, ``"row"`` or ``"record"``.
    """

    frame: pl.DataFrame
    source: str
    unit: str = "line"

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, source: str, unit: str, first: int) -> RawTable:
        """Wrap ``frame`` (any dtypes) as stripped text; row i gets position ``first + i``.

        Blank rows (every cell empty, e.g. an empty CSV line) are dropped.
        """
        text = frame.select(
            pl.nth(i).cast(pl.Utf8).str.strip_chars().alias(str(c))
            for i, c in enumerate(frame.columns)
        )  # by position: a header such as "*" or "^a$" is not a pattern
        cells = [pl.nth(i).is_null() | (pl.nth(i) == "") for i in range(text.width)]
        text = text.with_columns(
            pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(LINE)
        )
        if cells:
            text = text.filter(~pl.all_horizontal(cells))
        return cls(text, source, unit)

    def find(self, *candidates: str) -> str | None:
        """The source column matching any candidate header (see ``headers``), or None."""
        return find_column([c for c in self.frame.columns if c != LINE], *candidates)

    def require(self, *candidates: str) -> str:
        """Like :meth:`find`, but a missing column is a :class:`DataError`."""
        found = self.find(*candidates)
        if found is None:
            raise DataError(
                f"{self.source}, {self._first_unit()}, column '{candidates[0]}': required column "
                f"is missing (columns present: {shown(', '.join(self.frame.columns[:-1]), 120)}); "
                "check the file type or the column options"
            )
        return found

    def error(self, row: int, column: str, problem: str) -> DataError:
        """A one-line error for row index ``row`` (0-based in ``frame``) and ``column``."""
        line = self.frame[LINE][row]
        value = self.frame[column][row] if column in self.frame.columns else None
        return DataError(
            f"{self.source}, {self.unit} {line}, column {shown(column, 40)}: {problem} "
            f"(value {shown(value)}); fix or remove that row and import again"
        )

    def check(self, parsed: pl.Series, column: str, problem: str) -> None:
        """Raise for the first row where ``parsed`` is null, naming ``column`` and ``problem``."""
        bad = parsed.is_null()
        if bad.any():
            raise self.error(int(bad.arg_max()), column, problem)

    def _first_unit(self) -> str:
        return f"{self.unit} 1" if self.unit == "line" else "header"


_GROUPED = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
"""A number with thousands separators, e.g. ``-1,234.50``."""


def parse_float(table: RawTable, column: str) -> pl.Series:
    """Column of prices ($/MWh) as Float64, decimal point only (``1,234.5`` groups thousands).

    An empty, non-numeric, NaN or infinite cell, a decimal comma (``20,50``) or a magnitude
    above :data:`PRICE_BOUND_USD_PER_MWH` is a :class:`DataError` naming the cell.
    """
    text = table.frame[column]
    comma = text.str.contains(",", literal=True).fill_null(False)
    if comma.any():
        decimal = comma & ~text.str.contains(_GROUPED).fill_null(False)
        if decimal.any():
            problem = "decimal comma is not accepted; write 20.50, not 20,50"
            raise table.error(int(decimal.arg_max()), column, problem)
        text = text.str.replace_all(",", "")
    values = text.cast(pl.Float64, strict=False)
    values = pl.select(pl.when(values.is_finite()).then(values)).to_series()
    table.check(values, column, "not a finite number")
    huge = values.abs() > PRICE_BOUND_USD_PER_MWH
    if huge.any():
        raise table.error(
            int(huge.arg_max()),
            column,
            f"price beyond the plausible bound of +-{PRICE_BOUND_USD_PER_MWH:,.0f} $/MWh; "
            "check the unit and the column",
        )
    return values


def check_names(table: RawTable, names: pl.Series, column: str) -> None:
    """Raise for the first row whose node name breaks ``safe_text.NAME_RULE``."""
    for name in names.unique(maintain_order=True).to_list():
        problem = name_problem(name)
        if problem is not None:
            row = int((names.eq_missing(name)).arg_max())
            raise table.error(row, column, problem)


def check_years(table: RawTable, parsed: pl.Series, column: str) -> None:
    """Raise for the first date or time outside :data:`YEARS`."""
    year = parsed.dt.year()
    outside = (year < YEARS[0]) | (year > YEARS[1])
    if outside.any():
        raise table.error(
            int(outside.arg_max()), column, f"year outside {YEARS[0]}..{YEARS[1]}; check the date"
        )


def parse_int(table: RawTable, column: str, low: int, high: int) -> pl.Series:
    """Column as Int32 within [low, high]; accepts ``"7"``, ``"07:00"``, ``"7.0"``."""

    def parse(text: pl.Series) -> pl.Series:
        digits = text.str.extract(r"^(\d{1,2})(?::00(?::00)?|\.0+)?$", 1)
        values = digits.cast(pl.Int32, strict=False)
        return pl.select(pl.when(values.is_between(low, high)).then(values)).to_series()

    values = _parse_distinct(table.frame[column], parse)
    table.check(values, column, f"not a whole number from {low} to {high}")
    return values


_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%y")


def parse_date(table: RawTable, column: str) -> pl.Series:
    """Column as Date; accepts ``MM/DD/YYYY``, ``YYYY-MM-DD`` and midnight date-times."""

    def parse(text: pl.Series) -> pl.Series:
        parsed = pl.select(
            pl.coalesce(
                text.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in _DATE_FORMATS
            )
        ).to_series()
        return pl.select(pl.when(parsed.dt.time() == pl.time(0)).then(parsed)).to_series()

    parsed = _parse_distinct(table.frame[column], parse)
    table.check(parsed, column, "not a date (expected MM/DD/YYYY or YYYY-MM-DD)")
    check_years(table, parsed, column)
    return parsed.dt.date()


_DATETIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%m/%d/%Y",
    "%Y-%m-%d",
)


def parse_datetime(table: RawTable, column: str) -> pl.Series:
    """Column as naive Datetime("us"); accepts the US and ISO layouts ISO exports use."""

    def parse(text: pl.Series) -> pl.Series:
        return pl.select(
            pl.coalesce(
                text.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True)
                for fmt in _DATETIME_FORMATS
            )
        ).to_series()

    parsed = _parse_distinct(table.frame[column], parse)
    table.check(parsed, column, "not a date-time (expected e.g. 1/31/2024 1:00:00 PM or ISO)")
    check_years(table, parsed, column)
    return parsed


_INSTANT_FORMATS = tuple(
    f"%Y-%m-%d{sep}%H:%M{seconds}%#z" for sep in ("T", " ") for seconds in (":%S%.f", ":%S", "")
)
OFFSET_SUFFIX = r"(Z|[+-]\d{2}:?\d{2})$"
"""A time label that ends like this names an absolute instant (ISO-8601 with Z or an offset)."""


def parse_instant(table: RawTable, column: str) -> pl.Series:
    """Column of ISO-8601 instants with ``Z`` or a UTC offset, as Datetime("us", "UTC")."""

    def parse(text: pl.Series) -> pl.Series:
        return pl.select(
            pl.coalesce(
                text.str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False)
                for fmt in _INSTANT_FORMATS
            )
        ).to_series()

    parsed = _parse_distinct(table.frame[column], parse)
    table.check(parsed, column, "not an ISO-8601 time with Z or offset (e.g. 2024-01-31T13:00Z)")
    check_years(table, parsed, column)
    return parsed


def _parse_distinct(text: pl.Series, parse: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``parse`` applied to each distinct value once, then spread back over ``text``."""
    distinct = text.unique()
    table = pl.DataFrame({"text": distinct, "parsed": parse(distinct)})
    joined = pl.DataFrame({"text": text}).join(table, on="text", how="left", maintain_order="left")
    return joined["parsed"]


_TRUE = ("y", "yes", "true", "t", "1")
_FALSE = ("n", "no", "false", "f", "0", "")


def parse_flag(table: RawTable, column: str | None) -> pl.Series:
    """A Y/N or true/false column as Boolean (missing column or empty cell = False)."""
    if column is None:
        return pl.Series([False] * table.frame.height, dtype=pl.Boolean)
    lower = table.frame[column].fill_null("").str.to_lowercase()
    values = pl.select(
        pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
    ).to_series()
    table.check(values, column, "not a flag (expected Y/N or true/false)")
    return values
