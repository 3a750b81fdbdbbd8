"""Block bootstrap of whole historical days.

Each scenario day is a whole historical day drawn uniformly, with replacement, from the days of
the same day type (working day, or weekend/NERC holiday) whose calendar month lies within
``month_window`` months of the target day's month (circularly, so December neighbours
January). The drawn day keeps its intraday shape and its spikes exactly. When no historical day
of that type lies in the window, the nearest months that have one are used instead.
"""

from __future__ import annotations

import numpy as np

from energyhedge.errors import DataError
from energyhedge.scenarios.daygrid import DayMatrix, day_types, months


def candidate_days(history: DayMatrix, month: int, day_type: int, month_window: int) -> np.ndarray:
    """Indices of historical days a target day of ``month`` and ``day_type`` may be drawn from."""
    hist_type = day_types(history.dates)
    distance = np.abs(months(history.dates) - month)
    distance = np.minimum(distance, 12 - distance)
    same_type = hist_type == day_type
    if not same_type.any():
        kind = "working" if day_type == 0 else "weekend/holiday"
        raise DataError(f"price history has no {kind} day to draw scenario days from")
    reach = max(month_window, int(distance[same_type].min()))
    return np.flatnonzero(same_type & (distance <= reach))


def sample_days(
    history: DayMatrix,
    target_dates: np.ndarray,
    n: int,
    rng: np.random.Generator,
    month_window: int = 0,
) -> np.ndarray:
    """Draw one historical day for each scenario and target day.

    Parameters
    ----------
    history : DayMatrix
    target_dates : ndarray [D] of datetime64[D]
        Local market days of the horizon.
    n : int
        Number of scenarios.
    rng : numpy Generator
    month_window : int
        Months either side of the target month a day may come from (0 = same month).

    Returns
    -------
    ndarray [n, D] of int
        Row indices into ``history.prices_usd_per_mwh``.
    """
    target_month = months(target_dates)
    target_type = day_types(target_dates)
    chosen = np.empty((n, target_dates.size), dtype=np.int64)
    keys = target_month * 2 + target_type
    for key in np.unique(keys):
        columns = np.flatnonzero(keys == key)
        pool = candidate_days(history, int(key // 2), int(key % 2), month_window)
        chosen[:, columns] = pool[rng.integers(0, pool.size, size=(n, columns.size))]
    return chosen
