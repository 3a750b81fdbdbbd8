"""What one run reads, and their fingerprints: history before the horizon, scenario sets, hashes.

Shared by ``energyhedge optimize`` and the nightly run so both decide from the same inputs in
the same way: scenarios learn only from prices before the cut-off day (no look-ahead), and stale
history is refused or flagged by one rule.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl

from energyhedge.campus import Campus
from energyhedge.config import shown_path
from energyhedge.data.calendar import day_start_utc
from energyhedge.data.store import PriceStore
from energyhedge.errors import DataError
from energyhedge.freshness import check_freshness
from energyhedge.runs import RunProfile


def sha256_file(path: str | Path) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sha256_prices(history: pl.DataFrame) -> str:
    """``sha256:`` of the (time, price) rows a run used: same prices, same hash."""
    text = history.select("interval_start_utc", "price_usd_per_mwh").write_csv()
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def combined_hash(parts: dict[str, str]) -> str:
    """One ``sha256:`` hash over named hashes, independent of the order they were listed in."""
    text = "\n".join(f"{k}={v}" for k, v in sorted(parts.items()))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def input_record(path: str | Path) -> dict:
    """An input file for ``recommendation.json``: its path and ``sha256:`` hash."""
    return {"path": shown_path(path), "sha256": sha256_file(path)}


def read_history(
    store: PriceStore,
    campus: Campus,
    before: date,
    joint: tuple[tuple[str, str], ...] = (),
) -> pl.DataFrame:
    """Prices before the ISO-local day ``before`` of the campus's settlement point and of the
    ``joint`` (node, market) points of the same ISO; DataError if any series has none."""
    end = day_start_utc(before, campus.iso)
    frames = []
    for node, market in ((campus.node, campus.market), *joint):
        frame = store.read(campus.iso, market, node, end_utc=end)
        if frame.height == 0:
            raise DataError(
                f"{store.root}: no {campus.iso}/{market}/{node} prices before {before}; import "
                "or fetch them first (energyhedge data import / data fetch)"
            )
        frames.append(frame)
    return pl.concat(frames, how="vertical_relaxed")


def decision_history(
    store: PriceStore,
    profile: RunProfile,
    campus: Campus,
    *,
    as_of: date,
    start: date,
    joint: tuple[tuple[str, str], ...] = (),
) -> tuple[pl.DataFrame, list[str]]:
    """Prices a decision for the horizon from ``start`` may learn from, and staleness warnings.

    Only prices before the earlier of ``as_of`` and ``start`` (no look-ahead), at the campus's
    point and the ``joint`` points its products and settlement need; the campus series' newest
    price is checked with ``energyhedge.freshness`` (DataError when stale and not allowed).
    """
    history = read_history(store, campus, min(as_of, start), joint)
    own = (pl.col("node") == campus.node) & (pl.col("market") == campus.market)
    last = history.filter(own)["interval_start_utc"].max()
    warnings = check_freshness(
        last.replace(tzinfo=None),
        start,
        as_of,
        profile.freshness,
        series=f"{campus.iso}/{campus.market}/{campus.node}",
    )
    return history, warnings
