"""Price files and API payloads to the canonical table: format detection and duplicate rules.

Accepted inputs (detected from the bytes and the column headers, not the file name):

- CSV: ERCOT DAM/RTM MIS reports and annual archives, PJM Data Miner 2 exports, or a generic
  table read with :class:`GenericOptions`.
- xlsx: every sheet (ERCOT annual archives have one sheet per month).
- JSON: ERCOT public-API pages (``fields`` + ``data`` row arrays) and PJM Data Miner pages
  (``items``).
- zip: every CSV, xlsx, JSON or zip member, recursively (MIS downloads, API archive bundles).

Within one input, rows with the same key and the same price are duplicates (kept once and
reported); the same key with different prices is a conflict and a :class:`DataError` naming
both places, so nothing is imported.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from energyhedge.data.ercot_files import ercot_prices, is_ercot
from energyhedge.data.generic_csv import GenericOptions, generic_prices
from energyhedge.data.pjm_files import is_pjm, pjm_prices
from energyhedge.data.quality import Finding, assess, series_name
from energyhedge.data.raw_table import LINE, PRICE_COLUMN, RawTable
from energyhedge.data.schema import KEY_COLUMNS, conform, empty_prices
from energyhedge.errors import DataError

_ZIP_MAGIC = b"PK\x03\x04"
_UNIT = "_unit"


@dataclass(frozen=True)
class ImportResult:
    """Canonical rows of one input and what the quality checks found in them."""

    frame: pl.DataFrame
    quality: list[Finding] = field(default_factory=list)


def read_prices(path: str | Path, options: GenericOptions | None = None) -> ImportResult:
    """Read one price file (any accepted format) into canonical rows with quality findings.

    ``options`` switches CSV input to the generic reader; other formats ignore it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror}); check the path") from exc
    frame, duplicates = _canonical(data, str(path), options)
    return ImportResult(frame, duplicates + assess(frame))


def parse_payload(data: bytes, name: str) -> pl.DataFrame:
    """Canonical rows of one downloaded payload (API JSON page, MIS zip or CSV bytes).

    ``name`` labels the rows' ``source`` and error messages (e.g. the URL or document id).
    """
    return _canonical(data, name, None)[0]


def _canonical(
    data: bytes, name: str, options: GenericOptions | None
) -> tuple[pl.DataFrame, list[Finding]]:
    tables = _tables(data, name)
    if not tables:
        raise DataError(f"{name}: no price table found; expected CSV, xlsx, JSON or zip")
    parts = [
        _convert(table, options).with_columns(pl.lit(table.unit).alias(_UNIT))
        for table in tables
        if table.frame.height  # a header-only table or an empty API page holds no prices
    ]
    if not parts:
        return empty_prices(), []
    frame = pl.concat(parts, how="vertical")
    frame, duplicates = _drop_duplicates(frame)
    return conform(_sorted(frame)), duplicates


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows ordered by key; one sort per series is far cheaper than a sort on string keys."""
    parts = frame.partition_by("iso", "market", "node", as_dict=True)
    return pl.concat([parts[key].sort("interval_start_utc") for key in sorted(parts)])


def _convert(table: RawTable, options: GenericOptions | None) -> pl.DataFrame:
    if options is not None:
        return generic_prices(table, options)
    if is_pjm(table):
        return pjm_prices(table)
    if is_ercot(table):
        return ercot_prices(table)
    raise DataError(
        f"{table.source}: unrecognised price table "
        f"(columns: {', '.join(table.frame.columns[:-1])}); "
        "for your own format give --time-col, --price-col and --node-col"
    )


def _tables(data: bytes, name: str) -> list[RawTable]:
    """Every price table inside one payload."""
    if data.startswith(_ZIP_MAGIC):
        if name.lower().endswith(".xlsx"):
            return _xlsx_tables(data, name)
        return _zip_tables(data, name)
    stripped = data.lstrip()
    if stripped.startswith((b"{", b"[")):
        return [_json_table(data, name)]
    return [_csv_table(data, name)]


def _zip_tables(data: bytes, name: str) -> list[RawTable]:
    tables: list[RawTable] = []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DataError(f"{name}: damaged zip file ({exc}); download it again") from exc
    with archive:
        if "[Content_Types].xml" in archive.namelist():  # an xlsx workbook under another name
            return _xlsx_tables(data, name)
        for member in sorted(archive.namelist()):
            if member.endswith("/") or not member.lower().endswith(
                (".csv", ".xlsx", ".json", ".zip")
            ):
                continue
            tables += _tables(archive.read(member), f"{name}/{member}")
    return tables


def _csv_table(data: bytes, name: str) -> RawTable:
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as exc:
        message = str(exc).splitlines()[0]
        raise DataError(f"{name}: not a readable CSV ({message}); check the file") from exc
    return RawTable.from_frame(frame, name, "line", first=2)


def _xlsx_tables(data: bytes, name: str) -> list[RawTable]:
    try:
        sheets = pl.read_excel(io.BytesIO(data), sheet_id=0, infer_schema_length=0)
    except Exception as exc:  # fastexcel raises its own exception types
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{name}: not a readable xlsx workbook ({message})") from exc
    return [
        RawTable.from_frame(frame, f"{name}[{sheet}]", "row", first=2)
        for sheet, frame in sheets.items()
        if frame.height
    ]


def _json_table(data: bytes, name: str) -> RawTable:
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{name}: not valid JSON ({exc})") from exc
    if isinstance(payload, dict) and "fields" in payload and "data" in payload:
        names = [f["name"] if isinstance(f, dict) else str(f) for f in payload["fields"]]
        rows = [[None if v is None else str(v) for v in row] for row in payload["data"]]
        frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.Utf8), orient="row")
    elif isinstance(payload, dict) and "items" in payload:
        items = payload["items"]
        keys = list(dict.fromkeys(k for item in items for k in item))
        frame = pl.DataFrame(
            {k: [None if (v := item.get(k)) is None else str(v) for item in items] for k in keys},
            schema=dict.fromkeys(keys, pl.Utf8),
        )
    else:
        raise DataError(
            f"{name}: JSON is neither an ERCOT API page (fields + data) nor a PJM page (items)"
        )
    return RawTable.from_frame(frame, name, "record", first=1)


def _drop_duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Finding]]:
    """Keep one of each identical duplicate; raise on the first conflicting key."""
    keys = list(KEY_COLUMNS)
    counted = frame.with_columns(
        pl.len().over(keys).alias("_n"),
        pl.col("price_usd_per_mwh").n_unique().over(keys).alias("_prices"),
    )
    conflict = counted.filter(pl.col("_prices") > 1)
    if conflict.height:
        first_key = conflict.row(0, named=True)
        same = conflict.filter(pl.all_horizontal(pl.col(k) == first_key[k] for k in keys)).rows(
            named=True
        )
        a, b = (
            same[0],
            next(r for r in same if r["price_usd_per_mwh"] != same[0]["price_usd_per_mwh"]),
        )
        other = f"{b[_UNIT]} {b[LINE]}"
        if b["source"] != a["source"]:
            other = f"{b['source']} {other}"
        raise DataError(
            f"{a['source']}, {a[_UNIT]} {a[LINE]}, column '{a[PRICE_COLUMN]}': "
            f"conflicting duplicate of {other} for {a['node']} at "
            f"{a['interval_start_utc']:%Y-%m-%dT%H:%MZ} ({a['price_usd_per_mwh']} vs "
            f"{b['price_usd_per_mwh']} $/MWh); remove one of the rows"
        )
    dupes = counted.filter(pl.col("_n") > 1)
    findings = []
    if dupes.height:
        per_series = dupes.group_by("iso", "market", "node", "interval_minutes").agg(
            (pl.len() - pl.col("interval_start_utc").n_unique()).alias("extra")
        )
        for iso, market, node, minutes, extra in per_series.rows():
            findings.append(
                Finding(
                    "duplicate",
                    series_name(iso, market, node, minutes),
                    extra,
                    f"{extra} identical duplicate rows dropped",
                )
            )
        frame = frame.unique(subset=keys, keep="first", maintain_order=True)
    return frame, findings
