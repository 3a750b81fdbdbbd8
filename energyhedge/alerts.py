"""Operator alerts: the intervals to keep clear and the warnings about the run itself.

``operator_alerts`` reads a priced problem and the decision valued on it (the nightly run passes
the out-of-sample problem with the transferred decision) and says, in the ISO's local time:

- ``scarcity``: when the chance that the price exceeds the lowest real-time curtailment
  threshold is at least ``min_probability`` (the classes with that threshold stop above it);
- ``coincident_peak``: when campus load has a positive expected coincident-peak tag cost;
- ``dr_call``: when DR/AS capacity is offered and the chance it is called is at least
  ``min_probability``;
- ``data``: each data-quality finding, and a market-data refresh that failed;
- ``solver``: a solver that stopped before proving optimality.

Consecutive flagged intervals merge into one alert over the window; for a window, the chance
quoted is that of the event in at least one of its intervals, and the coincident-peak cost is
that of 1 MW held through every interval of it. Probabilities are the scenario probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from energyhedge.data.calendar import ISO_TZ
from energyhedge.model.problem import Decision, HedgeProblem

LEVELS = ("warning", "info")
TOLERANCE = 1e-12
"""Rounding slack on probability sums compared with ``min_probability``."""


@dataclass(frozen=True)
class Alert:
    """One alert for the operator.

    Attributes
    ----------
    level : str
        ``"warning"`` (act or check) or ``"info"``.
    kind : str
        ``"scarcity" | "coincident_peak" | "dr_call" | "data" | "solver"``.
    message : str
        One sentence, starting with ``when`` (if any) and a colon.
    interval_start_utc, interval_end_utc : str or None
        Start of the first and end of the last interval concerned (ISO 8601 with ``Z``);
        None for alerts about the run rather than about intervals.
    when : str
        The window in local time, e.g. ``"2023-08-17 19:00-21:00 CDT"``; empty if none.
    """

    level: str
    kind: str
    message: str
    interval_start_utc: str | None = None
    interval_end_utc: str | None = None
    when: str = ""

    def record(self) -> dict:
        """The fields that recommendation.json and the run log carry."""
        return {
            "level": self.level,
            "kind": self.kind,
            "message": self.message,
            "interval_start_utc": self.interval_start_utc,
            "interval_end_utc": self.interval_end_utc,
        }


def operator_alerts(
    problem: HedgeProblem,
    decision: Decision,
    *,
    findings=(),
    solver: dict | None = None,
    refresh: str | None = None,
    iso: str,
    min_probability: float = 0.05,
) -> list[Alert]:
    """Alerts of one run, warnings first, then by time (run-wide alerts before intervals).

    Parameters
    ----------
    problem : HedgeProblem
        Scenarios (prices $/MWh, probabilities, DR calls, coincident-peak weights $/MW).
    decision : Decision
        Curtailment thresholds ($/MWh) and DR capacity offered (MW) valued on ``problem``.
    findings : iterable
        Data-quality findings (``energyhedge.data.quality.Finding``); each becomes an info alert.
    solver : dict, optional
        Solver record; a ``status`` other than ``"Optimal"`` is a warning.
    refresh : str, optional
        What the market-data refresh did; one starting with ``"refresh failed"`` is a warning.
    iso : str
        ``"ercot"`` or ``"pjm"``: the local clock of the labels.
    min_probability : float
        Smallest chance of a price above the threshold or of a DR call worth an alert.
    """
    p = np.asarray(problem.probabilities, dtype=float)
    windows = _Windows(problem, iso)
    alerts: list[Alert] = []

    thresholds = np.asarray(decision.curtail_above_usd_per_mwh, dtype=float)
    finite = np.isfinite(thresholds)
    if finite.any():
        limit = float(thresholds[finite].min())
        names = [f.name for f, x in zip(problem.flex, thresholds, strict=True) if x == limit]
        exceeds = problem.prices_usd_per_mwh > limit
        stops = f"{' and '.join(names)} {'stops' if len(names) == 1 else 'stop'} above it"
        for w in windows.of(p @ exceeds >= min_probability - TOLERANCE):
            chance = p @ exceeds[:, w.cols].any(axis=1)
            alerts.append(
                w.alert(
                    "warning",
                    "scarcity",
                    f"{_percent(chance)} chance the price exceeds ${limit:,.0f}/MWh"
                    f"{w.at_some_point}; {stops}",
                )
            )

    tag_usd_per_mw = p @ problem.cp_weight_usd_per_mw
    for w in windows.of(tag_usd_per_mw > 0):
        held = "" if w.n == 1 else " held through it"
        cost = float(tag_usd_per_mw[w.cols].sum())
        alerts.append(
            w.alert(
                "warning",
                "coincident_peak",
                f"coincident-peak risk, keep load low: expected tag cost ${cost:,.0f} "
                f"per MW of load{held}",
            )
        )

    dr_mw = np.asarray(decision.dr_mw, dtype=float)
    called = problem.dr_deployed
    for w in windows.of((dr_mw > 0) & (p @ called >= min_probability - TOLERANCE)):
        chance = p @ called[:, w.cols].any(axis=1)
        low, high = dr_mw[w.cols].min(), dr_mw[w.cols].max()
        mw = f"{high:,.1f} MW" if np.isclose(low, high) else f"up to {high:,.1f} MW"
        alerts.append(
            w.alert(
                "warning",
                "dr_call",
                f"{_percent(chance)} chance the {mw} of DR capacity offered is called"
                f"{w.at_some_point}; be ready to curtail it",
            )
        )

    alerts += [Alert("info", "data", str(f)) for f in findings]
    if refresh is not None and refresh.startswith("refresh failed"):
        alerts.append(Alert("warning", "data", f"market data {refresh}"))
    status = None if solver is None else solver.get("status")
    if status is not None and status != "Optimal":
        alerts.append(
            Alert(
                "warning",
                "solver",
                f"the solver stopped with status {status!r}: trades and schedule are the best "
                "point found, not a proven optimum",
            )
        )
    return sorted(alerts, key=lambda a: (LEVELS.index(a.level), a.interval_start_utc or ""))


@dataclass(frozen=True)
class _Window:
    """Consecutive flagged intervals ``cols`` with their UTC bounds and local label."""

    cols: slice
    n: int
    start_utc: str
    end_utc: str
    when: str

    @property
    def at_some_point(self) -> str:
        return "" if self.n == 1 else " at some point"

    def alert(self, level: str, kind: str, text: str) -> Alert:
        return Alert(level, kind, f"{self.when}: {text}", self.start_utc, self.end_utc, self.when)


class _Windows:
    """Splits interval masks into windows of back-to-back flagged intervals."""

    def __init__(self, problem: HedgeProblem, iso: str) -> None:
        self.start = np.asarray(problem.interval_start_utc, dtype="datetime64[us]")
        length_us = np.round(np.asarray(problem.interval_hours, dtype=float) * 3.6e9)
        self.end = self.start + length_us.astype("timedelta64[us]")
        self.joined = self.start[1:] == self.end[:-1]
        self.zone = ZoneInfo(ISO_TZ[iso])

    def of(self, mask: np.ndarray) -> list[_Window]:
        """Windows of ``mask`` [T] (True = flagged), in time order."""
        mask = np.asarray(mask, dtype=bool)
        goes_on = np.append(mask[:-1] & mask[1:] & self.joined, False)
        starts = np.flatnonzero(mask & ~np.insert(goes_on[:-1], 0, False))
        ends = np.flatnonzero(mask & ~goes_on) + 1
        return [
            _Window(
                slice(s, e),
                e - s,
                _iso_utc(self.start[s]),
                _iso_utc(self.end[e - 1]),
                self._label(self.start[s], self.end[e - 1], e - s),
            )
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        ]

    def _label(self, start_utc: np.datetime64, end_utc: np.datetime64, n: int) -> str:
        """``2023-08-17 19:00 CDT`` for one interval, ``2023-08-17 19:00-21:00 CDT`` for a
        window within a local day (``-24:00`` to midnight), else both ends in full."""
        a, b = (_utc(t).astimezone(self.zone) for t in (start_utc, end_utc))
        if n == 1:
            return f"{a:%Y-%m-%d %H:%M %Z}"
        to_midnight = b.hour == b.minute == 0 and (b.date() - a.date()).days == 1
        if a.tzname() == b.tzname() and (b.date() == a.date() or to_midnight):
            return f"{a:%Y-%m-%d %H:%M}-{'24:00' if to_midnight else f'{b:%H:%M}'} {a:%Z}"
        return f"{a:%Y-%m-%d %H:%M %Z} to {b:%Y-%m-%d %H:%M %Z}"


def _utc(stamp: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(np.datetime64(stamp, "s"))).replace(tzinfo=UTC)


def _iso_utc(stamp: np.datetime64) -> str:
    return f"{np.datetime64(stamp, 's')}Z"


def _percent(probability: float) -> str:
    """``12%``, or ``2.5%`` below ten per cent."""
    return f"{probability:.0%}" if probability >= 0.095 else f"{probability:.1%}"
