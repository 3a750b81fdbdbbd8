"""`energyhedge scenarios` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `scenarios` command to the CLI."""
    sub.add_parser("scenarios", help="(not yet available)")
