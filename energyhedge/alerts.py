"""Operator alerts: what the schedule and its curtailment ladder do in the risky windows, and
the warnings about the run itself.

``operator_alerts`` reads the out-of-sample problem (fresh scenarios, products at their traded
prices) and the decision, and says, in the ISO's local time:

- ``coincident_peak``: where campus load carries an expected coincident-peak tag: the MW the
  schedule runs there, the expected tag cost at that load, and the price above which the
  optimised ladder starts to shed load, with the chance of that price out of sample;
- ``scarcity``: outside tag hours, where the chance that the price reaches the ladder's first
  shedding price is at least ``min_probability``: that price, its chance, and what is shed;
- ``dr_call``: where DR/AS capacity is offered and the chance it is called is at least
  ``min_probability``;
- ``data``: each data-quality finding, and a market-data refresh that failed;
- ``solver``: a solver that stopped before proving optimality.

The alerts never contradict the schedule: the optimiser has already weighed the tag against the
work, so the alert states what the schedule does and when the ladder sheds, not a different plan.
Consecutive flagged intervals merge into one alert over the window; for a window, the chance
quoted is that of the event in at least one of its intervals. Probabilities are the scenario
probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from energyhedge.data.calendar import ISO_TZ
from energyhedge.model.cost import ladder_steps
from energyhedge.model.problem import Decision, HedgeProblem

LEVELS = ("warning", "info")
TOLERANCE = 1e-12
"""Rounding slack on probability sums compared with ``min_probability``."""
MW_SHED = 0.05
"""A ladder rung that sheds less than this (MW) in an interval sheds nothing there."""


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


@dataclass(frozen=True)
class FirstShed:
    """Where each class's ladder starts to shed, per interval ([J, T] each).

    ``price_usd_per_mwh`` is the real-time price above which the class first drops load (inf
    where it sheds nothing: not curtailable, nothing scheduled, or the decision does not follow
    the ladder); ``mw`` is how much it drops there (MW).
    """

    price_usd_per_mwh: np.ndarray
    mw: np.ndarray


def rung_sheds(steps) -> tuple[np.ndarray, np.ndarray]:
    """MW each rung of one class's ladder (``LadderStep`` list) sheds and the price above which
    it does ($/MWh), [M, T] each: rung m drops ``run_mw[m] - run_mw[m - 1]`` (0 before rung 0).
    """
    run = np.array([s.run_mw for s in steps])
    shed = run - np.vstack([np.zeros((1, run.shape[1])), run[:-1]])
    return shed, np.array([s.price_at_most_usd_per_mwh for s in steps])


def first_shed(problem: HedgeProblem, decision: Decision) -> FirstShed:
    """The lowest rung of each class's ladder (``energyhedge.model.cost.ladder_steps``) that
    sheds at least ``MW_SHED``, per interval."""
    j_n, t_n = len(problem.flex), problem.n_intervals
    price, mw = np.full((j_n, t_n), np.inf), np.zeros((j_n, t_n))
    for j, steps in enumerate(ladder_steps(problem, decision)):
        shed, level = rung_sheds(steps)
        for m in range(len(steps)):  # later rungs (lower prices) overwrite earlier ones
            sheds = (shed[m] >= MW_SHED) & np.isfinite(level[m])
            price[j] = np.where(sheds, level[m], price[j])
            mw[j] = np.where(sheds, shed[m], mw[j])
    return FirstShed(price, mw)


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
        The out-of-sample problem: prices ($/MWh), probabilities, DR calls, coincident-peak
        weights ($/MW).
    decision : Decision
        Schedule (MW), ladder and DR capacity offered (MW).
    findings : iterable
        Data-quality findings (``energyhedge.data.quality.Finding``); each becomes an info alert.
    solver : dict, optional
        Solver record; a ``status`` other than ``"Optimal"`` is a warning.
    refresh : str, optional
        What the market-data refresh did; one starting with ``"refresh failed"`` is a warning.
    iso : str
        ``"ercot"`` or ``"pjm"``: the local clock of the labels.
    min_probability : float
        Smallest chance of reaching the ladder's shedding price, or of a DR call, worth an
        alert outside tag hours.
    """
    p = np.asarray(problem.probabilities, dtype=float)
    windows = _Windows(problem, iso)
    plan = _Plan(problem, decision)
    alerts: list[Alert] = []

    tag_usd_per_mw = p @ problem.cp_weight_usd_per_mw
    for w in windows.of(tag_usd_per_mw > 0):
        cost = float(tag_usd_per_mw[w.cols] @ plan.load_mw[w.cols])
        per_mw = float(tag_usd_per_mw[w.cols].sum())
        held = "" if w.n == 1 else " held through it"
        alerts.append(
            w.alert(
                "warning",
                "coincident_peak",
                f"coincident-peak risk: the schedule runs {plan.runs(w.cols)}; expected tag "
                f"cost ${cost:,.0f} at that load (${per_mw:,.0f} per MW{held}); "
                f"{plan.shedding(w, p)}",
            )
        )

    reach = p @ plan.exceeds
    for w in windows.of((tag_usd_per_mw <= 0) & (reach >= min_probability - TOLERANCE)):
        alerts.append(
            w.alert(
                "warning",
                "scarcity",
                f"{plan.shedding(w, p)}; the schedule runs {plan.runs(w.cols)}",
            )
        )

    for name, dr_mw, called in zip(
        problem.dr_names, decision.dr_mw, problem.dr_deployed, strict=True
    ):
        for w in windows.of((dr_mw > 0) & (p @ called >= min_probability - TOLERANCE)):
            chance = p @ called[:, w.cols].any(axis=1)
            low, high = dr_mw[w.cols].min(), dr_mw[w.cols].max()
            mw = f"{high:,.1f} MW" if np.isclose(low, high) else f"up to {high:,.1f} MW"
            what = "DR capacity" if problem.n_dr == 1 else f"{name} capacity"
            alerts.append(
                w.alert(
                    "warning",
                    "dr_call",
                    f"{_percent(chance)} chance the {mw} of {what} offered is called"
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


def window_labels(problem: HedgeProblem, iso: str, mask: np.ndarray) -> list[str]:
    """Local labels of the windows of back-to-back flagged intervals of ``mask`` [T]."""
    return [w.when for w in _Windows(problem, iso).of(mask)]


class _Plan:
    """The schedule and its ladder, as the alerts describe them."""

    def __init__(self, problem: HedgeProblem, decision: Decision) -> None:
        self.names = [f.name for f in problem.flex]
        self.firm_mw = np.asarray(problem.firm_load_mw, dtype=float)
        self.schedule_mw = np.asarray(decision.schedule_mw, dtype=float)
        self.load_mw = self.firm_mw + self.schedule_mw.sum(axis=0)
        self.shed = first_shed(problem, decision)
        self.level = self.shed.price_usd_per_mwh.min(axis=0, initial=np.inf)  # [T]
        self.exceeds = problem.prices_usd_per_mwh > self.level[None, :]

    def runs(self, cols: slice) -> str:
        """``100.0 MW (firm 40.0, training 60.0)`` over a window (ranges where it varies)."""
        parts = [f"firm {_mw(self.firm_mw[cols], unit=False)}"]
        parts += [
            f"{name} {_mw(mw[cols], unit=False)}"
            for name, mw in zip(self.names, self.schedule_mw, strict=True)
            if mw[cols].max(initial=0.0) >= MW_SHED
        ]
        return f"{_mw(self.load_mw[cols])} ({', '.join(parts)})"

    def shedding(self, w: _Window, p: np.ndarray) -> str:
        """When the ladder starts to shed in window ``w`` and the chance of that price."""
        level = self.level[w.cols]
        if not np.isfinite(level).any():
            return "the ladder sheds nothing here (no load that can be curtailed in real time)"
        finite = level[np.isfinite(level)]
        chance = p @ self.exceeds[:, w.cols].any(axis=1)
        t = w.cols.start + int(np.argmin(np.where(np.isfinite(level), level, np.inf)))
        j = int(np.argmin(self.shed.price_usd_per_mwh[:, t]))
        sheds = np.isfinite(self.shed.price_usd_per_mwh[j, w.cols])
        return (
            f"the ladder starts to shed load ({self.names[j]} first, "
            f"{_mw(self.shed.mw[j, w.cols][sheds])}) above {_price_range(finite)}: "
            f"{_percent(chance)} chance out of sample{w.at_some_point}"
        )


def _mw(values: np.ndarray, *, unit: bool = True) -> str:
    """``60.0 MW`` or ``40.0-60.0 MW`` (one decimal)."""
    low, high = round(float(values.min()), 1) + 0.0, round(float(values.max()), 1) + 0.0
    text = f"{high:,.1f}" if low == high else f"{low:,.1f}-{high:,.1f}"
    return f"{text} MW" if unit else text


def _price_range(levels: np.ndarray) -> str:
    """``$1,234/MWh`` or ``$1,100-1,234/MWh``."""
    low, high = round(float(levels.min())), round(float(levels.max()))
    text = f"${low:,.0f}" if low == high else f"${low:,.0f}-{high:,.0f}"
    return f"{text}/MWh"


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
