"""`energyhedge bench` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `bench` command to the CLI."""
    sub.add_parser("bench", help="(not yet available)")
