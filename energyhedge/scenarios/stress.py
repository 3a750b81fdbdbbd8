"""Stress scenarios added to a scenario set with a stated probability.

Each stress scenario starts from the background path (the probability-weighted mean of the
model scenarios, interval by interval) and overwrites some intervals:

- :class:`HistoricalReplay` copies the prices of a window of historical local days (optionally
  only the local hours ``[hours[0], hours[1])``) onto consecutive horizon days, slot by slot.
- :class:`CapEvent` sets ``hours`` consecutive hours, from a local hour of a horizon day, to
  the offer cap (or a stated price).

Window days that fall past the end of the horizon are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from energyhedge.errors import ConfigError, DataError
from energyhedge.scenarios.daygrid import DayMatrix, Horizon, months


@dataclass(frozen=True)
class HistoricalReplay:
    """Replay historical local days ``first_day .. last_day`` (inclusive) onto the horizon.

    Attributes
    ----------
    name : str
        Scenario kind becomes ``"stress:<name>"``.
    first_day, last_day : date
        Historical local market days, present in the history.
    probability : float
        Probability of this scenario (0 < p < 1).
    hours : (int, int), optional
        Local hours-beginning ``[from, to)`` that are replayed, e.g. ``(16, 22)`` for the
        evenings; all hours when None.
    onto : date, optional
        Horizon day that receives ``first_day``; default the horizon day with the same month
        and day, else the first horizon day.
    """

    name: str
    first_day: date
    last_day: date
    probability: float
    hours: tuple[int, int] | None = None
    onto: date | None = None


@dataclass(frozen=True)
class CapEvent:
    """``hours`` consecutive hours at the offer cap from local hour ``start_hour`` of ``day``.

    Attributes
    ----------
    name : str
    hours : int
    start_hour : int
        Local hour-beginning (0-23) of the first capped hour.
    probability : float
    day : date, optional
        Horizon day of the event; default the first horizon day.
    price_usd_per_mwh : float, optional
        Price during the event; default the offer cap in force that day.
    """

    name: str
    hours: int
    start_hour: int
    probability: float
    day: date | None = None
    price_usd_per_mwh: float | None = None


StressEvent = HistoricalReplay | CapEvent


def _horizon_day(grid: Horizon, day: date, name: str) -> int:
    index = int((np.datetime64(day, "D") - grid.dates[0]).astype(np.int64))
    if not 0 <= index < grid.dates.size:
        raise ConfigError(
            f"stress {name!r}: day {day} is outside the horizon {grid.dates[0]} .. {grid.dates[-1]}"
        )
    return index


def _replay(event: HistoricalReplay, path: np.ndarray, grid: Horizon, history: DayMatrix) -> None:
    window = np.arange(np.datetime64(event.first_day, "D"), np.datetime64(event.last_day, "D") + 1)
    if window.size == 0:
        raise ConfigError(f"stress {event.name!r}: last_day is before first_day")
    rows = np.searchsorted(history.dates, window)
    known = (rows < history.dates.size) & (
        history.dates[np.minimum(rows, history.dates.size - 1)] == window
    )
    if not known.all():
        raise DataError(
            f"stress {event.name!r}: history has no prices for {window[~known][0]}; "
            "load that period into the store or pick another window"
        )
    if event.onto is not None:
        first = _horizon_day(grid, event.onto, event.name)
    else:
        day_of_month = (grid.dates - grid.dates.astype("datetime64[M]")).astype(np.int64) + 1
        same = np.flatnonzero(
            (months(grid.dates) == event.first_day.month) & (day_of_month == event.first_day.day)
        )
        first = int(same[0]) if same.size else 0
    offset = grid.day_of_interval - first
    chosen = (offset >= 0) & (offset < window.size)
    if event.hours is not None:
        lo, hi = event.hours
        if not 0 <= lo < hi <= 24:
            raise ConfigError(f"stress {event.name!r}: hours must satisfy 0 <= from < to <= 24")
        hour = grid.slot_of_interval * grid.interval_minutes // 60
        chosen &= (hour >= lo) & (hour < hi)
    path[chosen] = history.prices_usd_per_mwh[rows[offset[chosen]], grid.slot_of_interval[chosen]]


def _cap_event(event: CapEvent, path: np.ndarray, grid: Horizon, cap_by_day: np.ndarray) -> None:
    if event.hours < 1 or not 0 <= event.start_hour <= 23:
        raise ConfigError(f"stress {event.name!r}: need hours >= 1 and 0 <= start_hour <= 23")
    day = 0 if event.day is None else _horizon_day(grid, event.day, event.name)
    minute = grid.slot_of_interval * grid.interval_minutes
    first = np.flatnonzero((grid.day_of_interval == day) & (minute >= event.start_hour * 60))
    if first.size == 0:
        return
    count = event.hours * 60 // grid.interval_minutes
    price = cap_by_day[day] if event.price_usd_per_mwh is None else event.price_usd_per_mwh
    path[first[0] : first[0] + count] = price


def stress_paths(
    events: tuple[StressEvent, ...],
    background_usd_per_mwh: np.ndarray,
    grid: Horizon,
    history: DayMatrix,
    cap_by_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Price paths, probabilities and kinds of the stress scenarios.

    Returns
    -------
    paths : ndarray [E, T] ($/MWh)
    probabilities : ndarray [E]
    kinds : ndarray [E] of str, ``"stress:<name>"``
    """
    paths = np.tile(background_usd_per_mwh, (len(events), 1))
    for path, event in zip(paths, events, strict=True):
        if isinstance(event, HistoricalReplay):
            _replay(event, path, grid, history)
        else:
            _cap_event(event, path, grid, cap_by_day)
    probabilities = np.array([e.probability for e in events], dtype=float)
    if np.any(probabilities <= 0) or probabilities.sum() >= 1:
        raise ConfigError(
            "stress probabilities must be positive and sum to less than 1, got "
            f"{probabilities.tolist()}"
        )
    kinds = np.array([f"stress:{e.name}" for e in events], dtype=str)
    return paths, probabilities, kinds
