"""The ``energyhedge`` command line: one subcommand module per family under ``commands/``."""

from __future__ import annotations

import argparse
import importlib
import sys

from energyhedge import __version__
from energyhedge.errors import EnergyHedgeError

COMMAND_MODULES = (
    "data",
    "campus",
    "scenarios",
    "optimize",
    "backtest",
    "example",
    "nightly",
    "bench",
    "forwards",
    "fleet",
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; each command module adds its own subcommands.

    With ``command`` given, only that family is loaded, so a command does not pay for importing
    every other family's dependencies; without it, every family is listed.
    """
    parser = argparse.ArgumentParser(
        prog="energyhedge",
        description="Risk engine for AI data-center campuses buying power in ERCOT and PJM.",
    )
    parser.add_argument("--version", action="version", version=f"energyhedge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (command,) if command in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(f"energyhedge.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (see ``energyhedge.errors``)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EnergyHedgeError as exc:
        print(f"energyhedge: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("energyhedge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
