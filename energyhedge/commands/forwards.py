"""`energyhedge forwards` subcommands: import and list the trader's forward marks."""

from __future__ import annotations

import argparse
from pathlib import Path

from energyhedge.commands.arguments import local_day
from energyhedge.forwards import FORWARDS_ENV, MarkStore, default_marks_dir


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `forwards` command family to the CLI."""
    parser = sub.add_parser("forwards", help="import and list forward marks (bid/ask)")
    actions = parser.add_subparsers(dest="forwards_command", required=True, metavar="ACTION")
    marks = argparse.ArgumentParser(add_help=False)
    marks.add_argument(
        "--marks",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"marks store folder (default: {FORWARDS_ENV} or market_data/forwards)",
    )
    imp = actions.add_parser(
        "import",
        parents=[marks],
        help="validate a marks CSV and add it to the store (every as_of is kept)",
        description="Columns: iso, settlement_point, market (dam|rtm), shape (7x24|5x16|2x16|"
        "7x8|wrap), period (2026-08-17, BOM-2026-08, 2026-08, 2026-Q3, CAL-2026), "
        "bid_usd_per_mwh, ask_usd_per_mwh, as_of, source; optional kind and "
        "strike_usd_per_mwh for option quotes. The whole file is checked first: one bad cell "
        "means nothing is imported (exit 3, one line naming file, line and column).",
    )
    imp.add_argument("file", type=Path, help="marks CSV")
    imp.add_argument(
        "--allow-unusual-values",
        action="store_true",
        help="accept $/MWh outside the ISO's plausible band (energyhedge.units)",
    )
    imp.set_defaults(func=_import)
    show = actions.add_parser(
        "list", parents=[marks], help="print the marks a run on a date would use"
    )
    show.add_argument(
        "--as-of",
        type=local_day,
        default=None,
        metavar="YYYY-MM-DD",
        help="the latest mark on or before this date (default: the latest of each)",
    )
    show.add_argument("--history", action="store_true", help="every stored as_of, not the latest")
    show.set_defaults(func=_list)


def _store(args: argparse.Namespace) -> MarkStore:
    return MarkStore(args.marks or default_marks_dir())


def _import(args: argparse.Namespace) -> int:
    store = _store(args)
    counts = store.import_file(args.file, allow_unusual_values=args.allow_unusual_values)
    print(
        f"{args.file}: {counts.inserted} new, {counts.replaced} corrected, "
        f"{counts.unchanged} unchanged marks in {store.path}"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    marks = store.marks() if args.history else store.latest(args.as_of)
    if not marks:
        print(f"no marks in {store.path}")
        return 0
    print(f"{'mark':<64} {'bid':>10} {'ask':>10} {'mid':>10}  source")
    for m in sorted(marks, key=lambda m: m.mark_id):
        print(
            f"{m.mark_id:<64} {m.bid_usd_per_mwh:>10.2f} {m.ask_usd_per_mwh:>10.2f} "
            f"{m.mid_usd_per_mwh:>10.2f}  {m.source}"
        )
    return 0
