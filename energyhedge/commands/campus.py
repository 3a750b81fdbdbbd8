"""`energyhedge campus` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `campus` command to the CLI."""
    sub.add_parser("campus", help="(not yet available)")
