"""Price files and API payloads to the canonical table: format detection and duplicate rules.

Accepted inputs (detected from the bytes and the column headers, not the file name):

- CSV: ERCOT DAM/RTM MIS reports and annual archives, ERCOT day-ahead ancillary-service prices
  (``ercot_as``), PJM Data Miner 2 exports, gridstatus tables (``gridstatus``), or a generic
  table read with :class:`GenericOptions`. UTF-8 (a byte-order mark is ignored), LF or CRLF.
- Parquet: gridstatus tables (at most :data:`MAX_PARQUET_ROWS` rows).
- xlsx: every sheet (ERCOT annual archives have one sheet per month).
- JSON: ERCOT public-API pages (``fields`` + ``data`` row arrays) and PJM Data Miner pages
  (``items``).
- zip: every CSV, xlsx, Parquet, JSON or zip member, recursively (MIS downloads, API archive
  bundles), at most :data:`MAX_ZIP_DEPTH` archives deep and :data:`MAX_ZIP_MEMBERS` members each.

Within one input, rows with the same key and the same price are duplicates (kept once and
reported); the same key with different prices at the same revision is a conflict and a
:class:`DataError` naming both places, so nothing is imported. :func:`check_agreement` applies
the same rule across the files of one import. A cell a source leaves blank on purpose (an
ancillary service not yet offered) gives no row: it is counted in a ``blank`` finding.

Bounds: a file must be a regular file of at most :data:`MAX_INPUT_BYTES`, and everything a zip
expands to counts against the same budget. A file that yields no price row (empty, header only,
every row superseded) is an error, not an empty import.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from energyhedge.data.ercot_as import ercot_as_prices, is_ercot_as
from energyhedge.data.ercot_files import ercot_prices, is_ercot
from energyhedge.data.generic_csv import GenericOptions, generic_prices
from energyhedge.data.gridstatus import GridstatusOptions, gridstatus_prices, is_gridstatus
from energyhedge.data.pjm_files import is_pjm, pjm_prices
from energyhedge.data.quality import Finding, assess, series_name
from energyhedge.data.raw_table import LINE, PRICE_COLUMN, RawTable
from energyhedge.data.schema import KEY_COLUMNS, conform, empty_prices
from energyhedge.errors import DataError
from energyhedge.safe_text import shown

MAX_INPUT_BYTES = 1 << 30
"""Largest file read, and largest total a zip may expand to (bytes, 1 GiB)."""
MAX_ZIP_DEPTH = 4
"""Zip archives nested deeper than this (a zip in a zip ... ) are refused."""
MAX_ZIP_MEMBERS = 10_000
"""Members per zip archive, at most."""
MAX_PARQUET_ROWS = 50_000_000
"""Rows per Parquet file, at most (checked from its metadata before reading)."""

_ZIP_MAGIC = b"PK\x03\x04"
_UNIT = "_unit"
_WHERE = (_UNIT, LINE, PRICE_COLUMN)
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class ImportResult:
    """Canonical rows of one input and what the quality checks found in them.

    ``where`` holds, per row of ``frame``, what counts the position (``_unit``), the position
    (``_line``) and the source price column, for messages that point at a row; ``sha256`` is the
    digest of the bytes read (files only).
    """

    frame: pl.DataFrame
    quality: list[Finding] = field(default_factory=list)
    where: pl.DataFrame | None = None
    sha256: str = ""


def read_prices(
    path: str | Path,
    options: GenericOptions | None = None,
    gridstatus: GridstatusOptions | None = None,
) -> ImportResult:
    """Read one price file (any accepted format) into canonical rows with quality findings.

    ``options`` switches CSV input to the generic reader; other formats ignore it.
    ``gridstatus`` applies to gridstatus tables; its ISO must match any other layout's, and
    location types are refused for other layouts. A file that holds no price row is a
    :class:`DataError`.
    """
    path = Path(path)
    data = _read_file(path)
    frame = _canonical(data, str(path), options, gridstatus, require_rows=True)
    frame, blanks = _drop_blanks(frame)
    if frame.is_empty():
        raise DataError(f"{path}: every price cell is blank; nothing to import")
    frame, duplicates = _drop_duplicates(frame)
    rows = conform(frame)
    return ImportResult(
        rows,
        blanks + duplicates + assess(rows),
        frame.select(_WHERE),
        hashlib.sha256(data).hexdigest(),
    )


def parse_payload(data: bytes, name: str) -> pl.DataFrame:
    """Canonical rows of one downloaded payload (API JSON page, MIS zip or CSV bytes).

    ``name`` labels the rows' ``source`` and error messages (e.g. the URL or document id). A
    payload without rows (an empty page) gives an empty frame.
    """
    frame = _drop_blanks(_canonical(data, name, None, None, require_rows=False))[0]
    return conform(_drop_duplicates(frame)[0])


def check_agreement(results: list[ImportResult]) -> None:
    """Raise when two inputs of one import give one key different prices at the same revision."""
    if len(results) < 2:
        return
    located = pl.concat(
        [
            r.frame.select(*KEY_COLUMNS, "price_usd_per_mwh", "revision", "source").hstack(r.where)
            for r in results
            if r.where is not None
        ]
    )
    _raise_on_conflict(located)


def _read_file(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_INPUT_BYTES`; never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror}); check the path") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
            raise DataError(f"{path}: not a regular file ({kind}); give a price file")
        if info.st_size > MAX_INPUT_BYTES:
            raise _too_big(str(path))
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror}); check the path") from None
    finally:
        os.close(fd)
    if len(data) > MAX_INPUT_BYTES:
        raise _too_big(str(path))
    return data


def _too_big(name: str) -> DataError:
    return DataError(
        f"{name}: larger than {MAX_INPUT_BYTES:,} bytes (after unzipping); split it into "
        "smaller files"
    )


class _Budget:
    """Bytes still allowed for one input, zip members included."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    def take(self, n: int, name: str) -> None:
        if n > self.remaining:
            raise _too_big(name)
        self.remaining -= n


def _canonical(
    data: bytes,
    name: str,
    options: GenericOptions | None,
    gridstatus: GridstatusOptions | None,
    *,
    require_rows: bool,
) -> pl.DataFrame:
    """Canonical columns plus ``_unit``, ``_line``, ``_price_column``, sorted by key."""
    tables = _tables(data, name, 1, _Budget(MAX_INPUT_BYTES))
    if not tables:
        raise DataError(f"{name}: no price table found; expected CSV, xlsx, Parquet, JSON or zip")
    gridstatus = gridstatus or GridstatusOptions()
    parts = [
        _convert(table, options, gridstatus).with_columns(pl.lit(table.unit).alias(_UNIT))
        for table in tables
        if table.frame.height  # a header-only table or an empty API page holds no prices
    ]
    rows = sum(part.height for part in parts)
    if require_rows and not rows:
        read = sum(table.frame.height for table in tables)
        first = tables[0]
        if read:
            raise DataError(
                f"{name}: none of its {read} rows is current (row_is_current is false in every "
                "row); nothing to import"
            )
        position = "line 2" if first.unit == "line" else f"{first.unit} 1"
        raise DataError(
            f"{first.source}, {position}: no data rows (empty or header only); nothing to import"
        )
    if not rows:
        return empty_prices().with_columns(
            pl.lit(None, pl.Utf8).alias(_UNIT),
            pl.lit(None, pl.Int64).alias(LINE),
            pl.lit(None, pl.Utf8).alias(PRICE_COLUMN),
        )
    frame = pl.concat([part for part in parts if part.height], how="vertical_relaxed")
    return _sorted(frame)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows ordered by key; one sort per series is far cheaper than a sort on string keys."""
    parts = frame.partition_by("iso", "market", "node", as_dict=True)
    return pl.concat([parts[key].sort("interval_start_utc") for key in sorted(parts)])


_LAYOUTS = (
    ("ERCOT", is_ercot, ercot_prices),
    ("ERCOT ancillary-service", is_ercot_as, ercot_as_prices),
    ("PJM", is_pjm, pjm_prices),
)


def _convert(
    table: RawTable, options: GenericOptions | None, gridstatus: GridstatusOptions
) -> pl.DataFrame:
    if options is not None:
        return generic_prices(table, options)
    found = [layout for layout in _LAYOUTS if layout[1](table)]
    if is_gridstatus(table):
        found.append(("gridstatus", is_gridstatus, None))
    if len(found) > 1:
        raise DataError(
            f"{table.source}: the columns match both the {found[0][0]} and the {found[1][0]} "
            "layout; import one kind of table per file"
        )
    if not found:
        raise DataError(
            f"{table.source}: unrecognised price table "
            f"(columns: {shown(', '.join(table.frame.columns[:-1]), 120)}); "
            "for your own format give --time-col, --price-col and --node-col"
        )
    label, _, reader = found[0]
    if reader is None:
        return gridstatus_prices(table, gridstatus)
    if gridstatus.location_types:
        raise DataError(
            f"{table.source}: --location-types applies only to gridstatus tables (with a "
            f"Location Type column), not to this {label} table; import it in a separate command"
        )
    frame = reader(table)
    if gridstatus.iso is not None and frame.height and frame["iso"][0] != gridstatus.iso:
        raise DataError(
            f"{table.source}: an {frame['iso'][0].upper()} table, not {gridstatus.iso.upper()} "
            f"as --iso {gridstatus.iso} says; check the option or the file"
        )
    return frame


def _tables(data: bytes, name: str, depth: int, budget: _Budget) -> list[RawTable]:
    """Every price table inside one payload; ``depth`` counts enclosing zip archives + 1."""
    if data.startswith(_ZIP_MAGIC):
        if name.lower().endswith(".xlsx"):
            return _xlsx_tables(data, name)
        return _zip_tables(data, name, depth, budget)
    if name.lower().endswith(".xlsx"):
        raise DataError(
            f"{name}: named .xlsx but is not an xlsx workbook (no zip header); if it is a CSV, "
            "rename it to .csv"
        )
    if data.startswith(b"PAR1"):
        return [_parquet_table(data, name, budget)]
    stripped = data.lstrip()
    if stripped.startswith((b"{", b"[")):
        return [_json_table(data, name)]
    return [_csv_table(data, name)]


def _zip_tables(data: bytes, name: str, depth: int, budget: _Budget) -> list[RawTable]:
    if depth > MAX_ZIP_DEPTH:
        raise DataError(
            f"{name}: zip archives nested more than {MAX_ZIP_DEPTH} deep; unpack it first"
        )
    tables: list[RawTable] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise DataError(
                    f"{name}: {len(members)} zip members, more than {MAX_ZIP_MEMBERS}; unpack it"
                )
            if any(m.filename == "[Content_Types].xml" for m in members):  # an xlsx workbook
                budget.take(sum(m.file_size for m in members), name)
                return _xlsx_tables(data, name)
            for info in sorted(members, key=lambda m: m.filename):
                if info.is_dir() or not info.filename.lower().endswith(
                    (".csv", ".xlsx", ".parquet", ".json", ".zip")
                ):
                    continue
                member = f"{name}/{info.filename}"
                budget.take(info.file_size, member)
                with archive.open(info) as handle:
                    blob = handle.read(budget.remaining + 1)
                budget.take(len(blob) - info.file_size, member)
                tables += _tables(blob, member, depth + 1, budget)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DataError(
            f"{name}: damaged zip file ({shown(str(exc))}); download it again"
        ) from None
    return tables


def _csv_table(data: bytes, name: str) -> RawTable:
    _check_text(data, name)
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as exc:
        message = shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 100)
        raise DataError(f"{name}: not a readable CSV ({message}); check the file") from None
    return RawTable.from_frame(frame, name, "line", first=2)


def _check_text(data: bytes, name: str) -> None:
    """Refuse what is not UTF-8 CSV text, naming the line: UTF-16, NUL bytes, bad UTF-8, CR."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{name}, line 1: UTF-16 text; save the file as UTF-8 CSV")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DataError(f"{name}, line {line}: binary data (a NUL byte); not a CSV file")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{name}, line {line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None
    if b"\r" in data and b"\n" not in data:
        raise DataError(
            f"{name}, line 1: lines end in CR only (old Mac format); save with LF or CRLF endings"
        )


def _xlsx_tables(data: bytes, name: str) -> list[RawTable]:
    try:
        sheets = pl.read_excel(io.BytesIO(data), sheet_id=0, infer_schema_length=0)
    except Exception as exc:  # fastexcel raises its own exception types
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{name}: not a readable xlsx workbook ({shown(message, 100)})") from None
    return [
        RawTable.from_frame(frame, f"{name}[{sheet}]", "row", first=2)
        for sheet, frame in sheets.items()
        if frame.height
    ]


_PARQUET_CHILD = """
import io, sys
import polars as pl
data = sys.stdin.buffer.read()
try:
    rows = pl.scan_parquet(io.BytesIO(data)).select(pl.len()).collect(engine="in-memory").item()
    if rows > int(sys.argv[1]):
        sys.stderr.write(f"{rows:,} rows, more than {int(sys.argv[1]):,}; split the file")
        sys.exit(4)
    frame = pl.read_parquet(io.BytesIO(data))
except Exception as exc:
    sys.stderr.write(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    sys.exit(3)
frame.write_ipc(sys.stdout.buffer)
"""
PARQUET_TIMEOUT_S = 300
"""Longest a Parquet file may take to decode (seconds)."""


def _parquet_table(data: bytes, name: str, budget: _Budget) -> RawTable:
    """The one table of a Parquet file, as text cells; rows counted from 1.

    The file is decoded in a child process: polars aborts the whole process on some damaged
    Parquet files, and a damaged file must end in a one-line error, not a crash.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PARQUET_CHILD, str(MAX_PARQUET_ROWS)],
            input=data,
            capture_output=True,
            timeout=PARQUET_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DataError(
            f"{name}: Parquet decoding took more than {PARQUET_TIMEOUT_S} s; split the file"
        ) from None
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    if done.returncode == 4:
        raise DataError(f"{name}: {said[-1]}")
    if done.returncode != 0:
        problem = said[-1] if done.returncode == 3 and said else "the decoder crashed on it"
        raise DataError(
            f"{name}: not a readable Parquet file ({shown(problem, 100)}); export it again"
        )
    frame = pl.read_ipc(io.BytesIO(done.stdout))
    budget.take(max(frame.estimated_size() - len(data), 0), name)
    return RawTable.from_frame(frame, name, "row", first=1)


def _json_table(data: bytes, name: str) -> RawTable:
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{name}, line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not valid JSON text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise DataError(f"{name}: JSON nested too deeply; not an API page") from None
    if isinstance(payload, dict) and "fields" in payload and "data" in payload:
        frame = _ercot_page(payload, name)
    elif isinstance(payload, dict) and "items" in payload:
        frame = _pjm_page(payload, name)
    else:
        raise DataError(
            f"{name}: JSON is neither an ERCOT API page (fields + data) nor a PJM page (items)"
        )
    return RawTable.from_frame(frame, name, "record", first=1)


def _ercot_page(payload: dict, name: str) -> pl.DataFrame:
    """``fields`` (names or ``{"name": ...}``) and ``data`` (rows of values) as text columns."""
    fields, data = payload["fields"], payload["data"]
    if not isinstance(fields, list) or not fields:
        raise DataError(f"{name}, key 'fields': expected a non-empty list of column names")
    names = []
    for i, item in enumerate(fields):
        label = item.get("name") if isinstance(item, dict) else item
        if not isinstance(label, str) or not label or label in names:
            raise DataError(
                f"{name}, key 'fields', entry {i + 1}: expected a distinct column name "
                f"(got {shown(item)})"
            )
        names.append(label)
    if not isinstance(data, list):
        raise DataError(f"{name}, key 'data': expected a list of rows (got {type(data).__name__})")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(names):
            raise DataError(
                f"{name}, key 'data', record {i + 1}: expected a list of {len(names)} values "
                f"(got {shown(row)})"
            )
        _check_scalars(row, name, i)
    rows = [[_cell(v) for v in row] for row in data]
    return pl.DataFrame(rows, schema=dict.fromkeys(names, pl.Utf8), orient="row")


def _pjm_page(payload: dict, name: str) -> pl.DataFrame:
    """``items`` (one object per row) as text columns."""
    items = payload["items"]
    if not isinstance(items, list):
        raise DataError(f"{name}, key 'items': expected a list of objects")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise DataError(f"{name}, key 'items', record {i + 1}: expected an object")
        _check_scalars(item.values(), name, i)
    keys = list(dict.fromkeys(str(k) for item in items for k in item))
    return pl.DataFrame(
        {k: [_cell(item.get(k)) for item in items] for k in keys},
        schema=dict.fromkeys(keys, pl.Utf8),
    )


def _check_scalars(values, name: str, index: int) -> None:
    for value in values:
        if not isinstance(value, _SCALARS):
            raise DataError(
                f"{name}, record {index + 1}: a value is a nested {type(value).__name__} "
                f"({shown(value)}); expected text or numbers"
            )


def _cell(value: object) -> str | None:
    return None if value is None else str(value)


def _drop_blanks(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Finding]]:
    """Drop rows without a price (cells left blank on purpose), one finding per series."""
    blank = frame["price_usd_per_mwh"].is_null()
    if not blank.any():
        return frame, []
    findings = []
    per_series = (
        frame.filter(blank)
        .group_by("iso", "market", "node", "interval_minutes")
        .agg(
            pl.len().alias("n"),
            pl.col("interval_start_utc").min().alias("first"),
            pl.col("interval_start_utc").max().alias("last"),
        )
        .sort("iso", "market", "node", "interval_minutes")
    )
    for iso, market, node, minutes, n, first, last in per_series.rows():
        findings.append(
            Finding(
                "blank",
                series_name(iso, market, node, minutes),
                n,
                f"{n:,} blank prices skipped (no row stored, not zero), "
                f"{first:%Y-%m-%dT%H:%MZ} .. {last:%Y-%m-%dT%H:%MZ}",
            )
        )
    return frame.filter(~blank), findings


def _drop_duplicates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Finding]]:
    """Keep the latest revision and one of identical rows; raise on the first conflicting key."""
    if frame["revision"].is_not_null().any():
        latest = pl.col("revision").max().over(KEY_COLUMNS)
        frame = frame.filter(pl.col("revision").eq_missing(latest))
    keys = [*KEY_COLUMNS, "revision"]  # one revision per key from here on
    counted = frame.with_columns(
        pl.len().over(keys).alias("_n"),
        pl.col("price_usd_per_mwh").n_unique().over(keys).alias("_prices"),
    )
    if (counted["_prices"] > 1).any():
        _raise_on_conflict(frame)
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
        frame = frame.unique(subset=list(KEY_COLUMNS), keep="first", maintain_order=True)
    return frame, findings


def _raise_on_conflict(frame: pl.DataFrame) -> None:
    """Raise naming both rows when one key and revision carry two different prices."""
    keys = [*KEY_COLUMNS, "revision"]
    conflict = frame.filter(pl.col("price_usd_per_mwh").n_unique().over(keys) > 1)
    if not conflict.height:
        return
    first_key = conflict.row(0, named=True)
    same = conflict.filter(
        pl.all_horizontal(pl.col(k).eq_missing(first_key[k]) for k in keys)
    ).rows(named=True)
    a = same[0]
    b = next(r for r in same if r["price_usd_per_mwh"] != a["price_usd_per_mwh"])
    other = f"{b[_UNIT]} {b[LINE]}"
    if b["source"] != a["source"]:
        other = f"{b['source']} {other}"
    raise DataError(
        f"{a['source']}, {a[_UNIT]} {a[LINE]}, column '{a[PRICE_COLUMN]}': "
        f"conflicting duplicate of {other} for {a['node']} at "
        f"{a['interval_start_utc']:%Y-%m-%dT%H:%MZ} ({a['price_usd_per_mwh']} vs "
        f"{b['price_usd_per_mwh']} $/MWh); remove one of the rows"
    )
