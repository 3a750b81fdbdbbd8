"""`energyhedge campus` subcommands: inspect a campus file."""

from __future__ import annotations

import argparse
import json
import math

from energyhedge.campus import format_summary, load_campus


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `campus` command to the CLI."""
    parser = sub.add_parser("campus", help="inspect a campus model (models/campus/*.toml)")
    actions = parser.add_subparsers(dest="campus_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", help="validate a campus file and print its derived quantities"
    )
    show.add_argument("file", help="campus TOML file")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.add_argument(
        "--month",
        type=int,
        default=7,
        choices=range(1, 13),
        metavar="1-12",
        help="month of the firm vs flexible MW by hour table (default 7)",
    )
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    summary = load_campus(args.file).summary(month=args.month)
    if args.json:
        print(json.dumps(_finite(summary), indent=2))
    else:
        print(format_summary(summary))
    return 0


def _finite(value):
    """JSON has no infinity: unbounded quantities (e.g. no ramp limit) become null."""
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
