"""A term hedge: months of hourly operations, hedged months to a year ahead.

A day-ahead run fixes tomorrow's schedule with the hedges (``energyhedge.model.problem``). A term
run decides only what must be fixed now: the hedge products (per month and shape, strips,
options) and, when the campus offers demand response, the DR capacity it commits for each
period (a monthly offer). Everything operational is recourse, chosen in each scenario once its
prices are known: the schedule, curtailment and DR delivery (the operator re-plans every day, so
the term model lets each scenario's operations see that scenario's prices; the figures are the
cost of the best operation of each path, a bound the nightly ladder approaches day by day).

Scenario cost, in $ (``y`` [A, P] the MW committed to each DR/AS product per period, ``x``
the products' net MW):

    C_s(x, y) = Q_s(y) + H_s(x)
    Q_s(y)    = the least operating cost of scenario s (every line of ``problem.py``'s C_s
                except the hedges) with the offers r_at = y_a,period(t) in every interval
    H_s(x)    = sum_k (x+_k * ask_k - x-_k * bid_k - x_k * payoff_sk)

The hedges do not change the best operation of a scenario, so without DR commitments every
Q_s is a number computed once, scenario by scenario, and the hedge problem over them is small;
only ``y`` couples the scenarios' operations (``energyhedge.optimize.term``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from energyhedge.errors import ConfigError
from energyhedge.model.problem import HedgeProblem


@dataclass(frozen=True)
class TermProblem:
    """A ``HedgeProblem`` over a term horizon, split into commitment periods.

    Attributes
    ----------
    problem : HedgeProblem
        Hourly scenarios of the whole term, the campus, and the products with their payoffs
        (``Product.payoff_usd_per_mw`` over their own months).
    period_of_interval : ndarray [T] of int
        Commitment period (0 .. P-1) of each interval, e.g. its calendar month.
    period_labels : tuple[str, ...]
        Name of each period (P), e.g. ``"2024-01"``.
    """

    problem: HedgeProblem
    period_of_interval: np.ndarray
    period_labels: tuple[str, ...]

    def __post_init__(self) -> None:
        period = np.asarray(self.period_of_interval)
        if period.shape != (self.problem.n_intervals,) or not np.issubdtype(
            period.dtype, np.integer
        ):
            raise ConfigError(
                f"period_of_interval must be {self.problem.n_intervals} integers (one per "
                f"interval), got shape {period.shape} of {period.dtype}"
            )
        used = np.unique(period)
        if used.size != len(self.period_labels) or not np.array_equal(
            used, np.arange(len(self.period_labels))
        ):
            raise ConfigError(
                f"periods {used.tolist()} do not match the {len(self.period_labels)} labels "
                "(every period 0 .. P-1 must hold at least one interval)"
            )
        committed = [f.name for f in self.problem.flex if f.committed]
        if committed:
            raise ConfigError(
                f"job classes {', '.join(committed)} have minimum run or off times: a term run "
                "re-plans operations per scenario as a linear program, without on/off "
                "commitment; use a campus file without min_run_h and min_off_h for term runs"
            )

    @property
    def n_periods(self) -> int:
        return len(self.period_labels)

    @property
    def commits_dr(self) -> bool:
        """True when DR/AS capacity is committed per period (the first-stage coupling)."""
        return self.problem.offers_dr

    @property
    def hour_separable(self) -> bool:
        """True when nothing links one interval's operation to another's: every class is real-
        time curtailable, with no ramp limit, work requirement or stop cost, and all classes
        fit under the grid limit together. Then running every class's full schedule and
        following the real-time ladder (``model.cost``) is the least operating cost Q_s, hour
        by hour."""
        p = self.problem
        room = p.grid_limit_mw - p.firm_load_mw
        total = sum((np.asarray(f.max_mw, dtype=float) for f in p.flex), np.zeros(p.n_intervals))
        return bool(np.all(total <= room + 1e-9)) and all(
            f.rt_curtailable
            and not np.isfinite(f.ramp_mw_per_h)
            and f.work_requirement_gpu_hours <= 0
            and f.stop_cost_usd <= 0
            for f in p.flex
        )

    def dr_room_mw(self) -> np.ndarray:
        """Most DR/AS MW all products together can commit in each period, [P]: no more than
        the real-time curtailable classes can draw in any interval of it (MW)."""
        p = self.problem
        curtailable = np.zeros(p.n_intervals)
        for flex in p.flex:
            if flex.rt_curtailable:
                curtailable += np.asarray(flex.max_mw, dtype=float)
        room = np.full(self.n_periods, np.inf)
        np.minimum.at(room, self.period_of_interval, curtailable)
        return room

    def dr_cap_mw(self) -> np.ndarray:
        """Largest MW each DR/AS product can commit in each period, [A, P]: its own limit, and
        no more than ``dr_room_mw``."""
        limit = np.maximum(self.problem.dr_max_mw, 0.0)[:, None]
        return np.minimum(limit, self.dr_room_mw()[None, :])

    def within_room(self, dr_by_period_mw: np.ndarray) -> np.ndarray:
        """A commitment [A, P] scaled down where the products together exceed a period's
        ``dr_room_mw`` (a solver's answer may overshoot by its tolerance)."""
        y = np.asarray(dr_by_period_mw, dtype=float)
        total, room = y.sum(axis=0), self.dr_room_mw()
        scale = np.where(total > room, room / np.maximum(total, 1e-300), 1.0)
        return y * scale[None, :]

    def hourly_dr_mw(self, dr_by_period_mw: np.ndarray) -> np.ndarray:
        """The offer of each product in every interval, [A, T] (MW), from [A, P]."""
        offer = np.asarray(dr_by_period_mw, dtype=float).reshape(self.problem.n_dr, -1)
        return offer[:, self.period_of_interval]

    def operations(self, s: int) -> HedgeProblem:
        """Scenario ``s`` alone, without products and with probability 1: its least cost is
        Q_s (the operations subproblem)."""
        p = self.problem
        one = slice(s, s + 1)
        return dataclasses.replace(
            p,
            prices_usd_per_mwh=p.prices_usd_per_mwh[one],
            probabilities=np.ones(1),
            products=(),
            dr_price_usd_per_mw_h=p.dr_price_usd_per_mw_h[:, one],
            dr_deployed=p.dr_deployed[:, one],
            cp_weight_usd_per_mw=p.cp_weight_usd_per_mw[one],
        )

    def with_scenario_products(self, s: int) -> HedgeProblem:
        """Scenario ``s`` alone with probability 1 and the products priced on it (their
        payoffs in that scenario): the scenario model of a decomposition over scenarios."""
        one = self.operations(s)
        products = tuple(
            dataclasses.replace(k, payoff_usd_per_mw=k.payoff_usd_per_mw[s : s + 1])
            for k in self.problem.products
        )
        return dataclasses.replace(one, products=products)
