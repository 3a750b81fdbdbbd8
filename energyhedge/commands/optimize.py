"""`energyhedge optimize` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `optimize` command to the CLI."""
    sub.add_parser("optimize", help="(not yet available)")
