"""Helpers shared by the market-data tests: fixture paths and compact views of canonical rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


def utc(text: str) -> datetime:
    """``"2023-11-05T07:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rows(frame: pl.DataFrame) -> list[tuple]:
    """(node, interval start as ``YYYY-MM-DDTHH:MM``, minutes, price) per row, in frame order."""
    return [
        (node, f"{start:%Y-%m-%dT%H:%M}", minutes, price)
        for node, start, minutes, price in frame.select(
            "node", "interval_start_utc", "interval_minutes", "price_usd_per_mwh"
        ).rows()
    ]
