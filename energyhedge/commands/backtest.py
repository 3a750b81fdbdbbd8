"""`energyhedge backtest` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `backtest` command to the CLI."""
    sub.add_parser("backtest", help="(not yet available)")
