"""`energyhedge nightly` subcommands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `nightly` command to the CLI."""
    sub.add_parser("nightly", help="(not yet available)")
