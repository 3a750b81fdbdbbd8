"""`energyhedge data` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `data` command to the CLI."""
    sub.add_parser("data", help="(not yet available)")
