"""`energyhedge data`: import price files, list and check the store, export a series, fetch.

Every subcommand works on the store given by ``--store DIR`` (default ``$ENERGYHEDGE_STORE`` or
``market_data/store``); a store that is empty is first seeded from the shipped ERCOT 2023 file.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from energyhedge.commands.arguments import (
    CSV_LAYOUT_OPTIONS,
    add_csv_layout_options,
    add_store_option,
    csv_layout,
    local_day,
)
from energyhedge.commands.data_fetch import register_fetch
from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.generic_csv import GenericOptions
from energyhedge.data.gridstatus import GridstatusOptions
from energyhedge.data.importers import ImportResult, check_agreement, read_prices
from energyhedge.data.local_time import local_midnight_utc
from energyhedge.data.quality import assess, series_name
from energyhedge.data.schema import (
    EXPORT_COLUMNS,
    INTERVAL_MINUTES,
    ISOS,
    MARKETS,
    price_unit,
)
from energyhedge.data.store import PriceStore, file_provenance, open_store
from energyhedge.errors import ConfigError, DataError
from energyhedge.safe_text import NAME_RULE, neutralise_frame


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `data` command family to the CLI."""
    parser = sub.add_parser("data", help="import, list, check, export and fetch market prices")
    data_sub = parser.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    store = argparse.ArgumentParser(add_help=False)
    add_store_option(store)

    imp = data_sub.add_parser(
        "import",
        parents=[store],
        help="import price files (ERCOT, PJM, gridstatus, ERCOT AS prices, or your own CSV)",
        description="Detects the format of each file (CSV, xlsx, Parquet, JSON page, zip): ERCOT "
        "and PJM reports, gridstatus tables (Parquet or CSV; an LMP table of an ISO other than "
        "ERCOT needs --iso), ERCOT day-ahead ancillary-service prices (market 'as', $/MW per "
        "hour, the product as the node). For your own "
        "CSV give --time-col (and the other column and time options). All files are read and "
        "checked before anything is written, and the whole import is one commit: one bad file, "
        "a conflict between files or a failed write means nothing is imported (exit 3, one line "
        "naming file and line or key). Node names: " + NAME_RULE + ".",
    )
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument(
        "--location-types",
        action="append",
        default=[],
        metavar="TYPES",
        help="gridstatus tables: import only rows of these Location Type values (comma list or "
        "repeated), e.g. 'Trading Hub' when load zones carry conflicting duplicates",
    )
    add_csv_layout_options(
        imp,
        "give --time-col to read a CSV with these options instead of detecting it",
        with_iso_market=True,
    )
    imp.set_defaults(func=run_import)

    lst = data_sub.add_parser("list", parents=[store], help="stored series and their coverage")
    lst.set_defaults(func=run_list)

    qual = data_sub.add_parser(
        "quality",
        parents=[store],
        help="gaps, duplicates, revisions and out-of-range prices per series",
    )
    qual.add_argument("--iso", choices=ISOS)
    qual.add_argument("--market", choices=MARKETS)
    qual.add_argument("--node")
    qual.set_defaults(func=run_quality)

    exp = data_sub.add_parser(
        "export",
        parents=[store],
        help="write one series to CSV",
        description="Columns: " + ",".join(EXPORT_COLUMNS) + "; interval_start_utc in ISO-8601 "
        "with Z, sorted by time; price_usd_per_mwh is $/MW per hour for market 'as'. START and "
        "END are inclusive local market days (the ISO's prevailing time) unless --utc is given.",
    )
    exp.add_argument("--iso", required=True, choices=ISOS)
    exp.add_argument("--market", required=True, choices=MARKETS)
    exp.add_argument("--node", required=True)
    exp.add_argument("--start", required=True, type=local_day, help="first day, YYYY-MM-DD")
    exp.add_argument(
        "--end", required=True, type=local_day, help="last day, YYYY-MM-DD (inclusive)"
    )
    exp.add_argument("--out", required=True, type=Path, help="CSV file to write")
    exp.add_argument("--utc", action="store_true", help="START and END are UTC days")
    exp.add_argument(
        "--interval-minutes",
        type=int,
        choices=INTERVAL_MINUTES,
        default=None,
        help="resolution when the node is stored at several (default: finest)",
    )
    exp.set_defaults(func=run_export)

    register_fetch(data_sub)


def run_import(args: argparse.Namespace) -> int:
    """Read and check every file, then upsert them all in one commit; print counts and findings."""
    options = _generic_options(args)
    gridstatus = _gridstatus_options(args, options)
    results: list[tuple[Path, ImportResult]] = [
        (path, read_prices(path, options, gridstatus)) for path in args.paths
    ]
    check_agreement([result for _, result in results])
    store = open_store(args.store)
    with store.transaction() as batch:
        applied = [
            batch.upsert(
                result.frame,
                {
                    **file_provenance(path, result.sha256),
                    "findings": [str(f) for f in result.quality],
                },
            )
            for path, result in results
        ]
    for (path, result), counts in zip(results, applied, strict=True):
        print(
            f"{path}: {result.frame.height} rows: {counts.inserted} inserted, {counts.updated} "
            f"updated, {counts.unchanged} unchanged, {counts.revisions_replaced} replaced by a "
            f"newer revision, {counts.stale_ignored} older revisions ignored"
        )
        for finding in result.quality:
            print(f"  {finding}")
    print(f"store: {store.root}")
    return 0


def _generic_options(args: argparse.Namespace) -> GenericOptions | None:
    """Generic CSV options from the command line; None when none is given.

    Without ``--time-col``, ``--iso`` is left to gridstatus tables (see ``_gridstatus_options``).
    """
    with_iso = ("iso",) if args.time_col is not None else ()
    layout = csv_layout(args, (*CSV_LAYOUT_OPTIONS, *with_iso, "market"))
    return GenericOptions(**layout) if layout else None


def _gridstatus_options(
    args: argparse.Namespace, generic: GenericOptions | None
) -> GridstatusOptions | None:
    """``--iso`` and ``--location-types`` for gridstatus tables; None when neither applies."""
    types = tuple(t.strip() for given in args.location_types for t in given.split(","))
    if generic is not None:
        if types:
            raise ConfigError("--location-types applies to gridstatus tables, not with --time-col")
        return None
    return GridstatusOptions(iso=args.iso, location_types=types)


def run_list(args: argparse.Namespace) -> int:
    """Print one line per stored series with its coverage and price unit."""
    store = open_store(args.store)
    table = store.series()
    print(f"store: {store.root}")
    print(
        f"{'iso':<6}{'market':<7}{'node':<24}{'min':>4}  {'first (UTC)':<18}{'last (UTC)':<18}"
        f"{'rows':>9}  price unit"
    )
    for iso, market, node, minutes, first, last, rows in table.rows():
        print(
            f"{iso:<6}{market:<7}{node:<24}{minutes:>4}  {first:%Y-%m-%dT%H:%MZ}  "
            f"{last:%Y-%m-%dT%H:%MZ}  {rows:>9,}  {price_unit(market)}"
        )
    return 0


def run_quality(args: argparse.Namespace) -> int:
    """Print quality findings of the selected series; findings do not change the exit code."""
    store = open_store(args.store)
    frame = store.read_all(args.iso, args.market, args.node)
    if frame.is_empty():
        raise DataError(
            f"no stored series match iso={args.iso} market={args.market} node={args.node}; "
            "see `energyhedge data list`"
        )
    lines = [str(f) for f in assess(frame)] + _manifest_lines(store, frame)
    print(f"store: {store.root}")
    selected = frame.select("iso", "market", "node", "interval_minutes").unique().height
    print(f"{selected} series, {frame.height:,} rows")
    for line in lines:
        print(line)
    if not lines:
        print("no findings")
    return 0


def _manifest_lines(store: PriceStore, frame: pl.DataFrame) -> list[str]:
    """Revisions replaced, duplicates dropped and blanks skipped per series, from the manifest."""
    wanted = {
        series_name(*row)
        for row in frame.select("iso", "market", "node", "interval_minutes").unique().rows()
    }
    replaced: dict[str, int] = {}
    duplicates: list[str] = []
    for batch in store.manifest():
        for counts in batch.get("series", []):
            name = series_name(
                counts["iso"], counts["market"], counts["node"], counts["interval_minutes"]
            )
            if name in wanted and counts.get("revisions_replaced"):
                replaced[name] = replaced.get(name, 0) + counts["revisions_replaced"]
        for text in batch.get("provenance", {}).get("findings", []):
            if text.split(":", 1)[0] in wanted and (": duplicate:" in text or ": blank:" in text):
                origin = batch["provenance"].get("path", "?")
                duplicates.append(f"{text} (import of {origin})")
    return duplicates + [
        f"{name}: revision: {n} stored rows were replaced by a newer revision on import"
        for name, n in sorted(replaced.items())
    ]


def run_export(args: argparse.Namespace) -> int:
    """Write one series over the chosen days to CSV (atomically, formula prefixes neutralised)."""
    if args.end < args.start:
        raise ConfigError(f"--end {args.end} is before --start {args.start}")
    _check_out_file(args.out)
    if args.utc:
        start = datetime(args.start.year, args.start.month, args.start.day, tzinfo=UTC)
        end = datetime(args.end.year, args.end.month, args.end.day, tzinfo=UTC) + timedelta(1)
    else:
        days = pl.Series([args.start, args.end + timedelta(days=1)], dtype=pl.Date)
        start, end = local_midnight_utc(days, ISO_TZ[args.iso]).to_list()
    store = open_store(args.store)
    frame = store.read(
        args.iso, args.market, args.node, start, end, interval_minutes=args.interval_minutes
    )
    if frame.is_empty():
        raise DataError(
            f"no {args.iso}/{args.market} prices for node {args.node!r} between {args.start} and "
            f"{args.end}; see `energyhedge data list` or import/fetch them first"
        )
    out = neutralise_frame(
        frame.select(EXPORT_COLUMNS).with_columns(
            pl.col("interval_start_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    )
    _write_csv(out, args.out)
    print(
        f"{args.out}: {out.height} rows, {frame['interval_start_utc'][0]:%Y-%m-%dT%H:%MZ} .. "
        f"{frame['interval_start_utc'][-1]:%Y-%m-%dT%H:%MZ}"
    )
    return 0


def _check_out_file(out: Path) -> None:
    """Refuse an ``--out`` that is a folder or whose folder does not exist (exit 2)."""
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder; give a CSV file path inside it")
    if not out.parent.is_dir():
        what = "is not a folder" if out.parent.exists() else "does not exist"
        raise ConfigError(f"--out {out}: {out.parent} {what}; create the folder first")


def _write_csv(frame: pl.DataFrame, out: Path) -> None:
    """Write ``frame`` to ``out`` through a temporary sibling and a rename."""
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        frame.write_csv(temp)
        os.replace(temp, out)
    except OSError as exc:
        raise ConfigError(
            f"--out {out}: cannot write ({exc.strerror}); give a writable path"
        ) from None
    finally:
        temp.unlink(missing_ok=True)
