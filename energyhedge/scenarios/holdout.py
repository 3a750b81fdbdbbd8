"""Disjoint history for out-of-sample scenarios: leave-block-out by whole local days.

Scenarios the decision is judged on must not come from the days it was fitted on, or "out of
sample" only re-weights the same days. ``split_history`` cuts the history into consecutive blocks
of ``block_days`` ISO-local days (consecutive, so a heat wave does not straddle both sides),
and assigns the blocks alternately, in an order shuffled by ``seed``, to the fitting half and the
held-out half. In-sample scenarios are then generated from the first and out-of-sample ones
from the second, with the same model and settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from energyhedge.data.calendar import ISO_TZ
from energyhedge.errors import DataError

BLOCK_DAYS = 7
"""Days per block of the split (a week: keeps day-of-week effects and multi-day events whole)."""


@dataclass(frozen=True)
class HistorySplit:
    """The two disjoint halves of a history and how they were made."""

    fit: pl.DataFrame
    held_out: pl.DataFrame
    fit_days: int
    held_out_days: int
    description: str


def split_history(
    history: pl.DataFrame, iso: str, seed: int, block_days: int = BLOCK_DAYS
) -> HistorySplit:
    """Split ``history`` (canonical rows) into disjoint fitting and held-out local days.

    Raises
    ------
    DataError
        Fewer than two blocks of history: nothing can be held out.
    """
    local_day = pl.col("interval_start_utc").dt.convert_time_zone(ISO_TZ[iso]).dt.date()
    days = history.select(local_day.alias("day")).unique().sort("day")["day"].to_numpy()
    days = days.astype("datetime64[D]")
    if days.size == 0:
        raise DataError("no price history to split into in-sample and out-of-sample days")
    block = (days - days[0]).astype(int) // block_days
    blocks = np.unique(block)
    if blocks.size < 2:
        raise DataError(
            f"only {days.size} days of history: at least {block_days + 1} are needed to draw "
            "out-of-sample scenarios from days the in-sample ones do not use; load more history"
        )
    order = np.random.default_rng(seed).permutation(blocks)
    held_out_blocks = order[1::2]
    held = np.isin(block, held_out_blocks)
    held_days = pl.Series("day", days[held]).cast(pl.Date)
    is_held = local_day.is_in(held_days.implode())
    fit = history.filter(~is_held)
    held_out = history.filter(is_held)
    return HistorySplit(
        fit=fit,
        held_out=held_out,
        fit_days=int((~held).sum()),
        held_out_days=int(held.sum()),
        description=(
            f"out-of-sample scenarios drawn from {int(held.sum())} historical days that the "
            f"in-sample scenarios ({int((~held).sum())} days) do not use: disjoint "
            f"{block_days}-day blocks, assigned by seed {seed}"
        ),
    )
