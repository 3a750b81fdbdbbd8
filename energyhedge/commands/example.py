"""`energyhedge example` subcommands: worked examples computed by the engine."""

from __future__ import annotations

import argparse
import json

from energyhedge.errors import ConfigError
from energyhedge.example import format_table, virtual_peaker


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `example` command to the CLI."""
    parser = sub.add_parser("example", help="worked examples computed through the engine")
    actions = parser.add_subparsers(dest="example_command", required=True, metavar="EXAMPLE")
    peaker = actions.add_parser(
        "virtual-peaker",
        help="the reconstructed virtual-peaker table of the domain primer (100 MW, ERCOT spike)",
    )
    peaker.add_argument(
        "--price", type=float, default=9_000.0, help="spike price, $/MWh (default 9000)"
    )
    peaker.add_argument("--hours", type=int, default=4, help="spike length, hours (default 4)")
    peaker.add_argument(
        "--value-per-gpu-hour",
        type=float,
        default=3.75,
        help="value of one GPU-hour of compute, $ (default 3.75)",
    )
    peaker.add_argument("--json", action="store_true", help="print JSON instead of the table")
    peaker.set_defaults(func=_virtual_peaker)


def _virtual_peaker(args: argparse.Namespace) -> int:
    if not 1 <= args.hours <= 168:
        raise ConfigError(f"--hours must be between 1 and 168, got {args.hours}")
    if args.value_per_gpu_hour < 0:
        raise ConfigError(f"--value-per-gpu-hour must be >= 0, got {args.value_per_gpu_hour}")
    result = virtual_peaker(args.price, args.hours, args.value_per_gpu_hour)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
