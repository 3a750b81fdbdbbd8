"""`energyhedge example` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `example` command to the CLI."""
    sub.add_parser("example", help="(not yet available)")
