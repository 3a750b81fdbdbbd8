"""The one scenario cost model: the real-time curtailment ladder, delivered GPU-hours and C_s.

Every figure the engine reports (the optimiser's in-sample costs, out-of-sample valuation,
back-tests, the report) prices a ``Decision`` here, with the cost C_s defined in
``energyhedge.model.problem``.

The real-time ladder (non-anticipative: it uses only the interval's own price and whether DR is
called in it). Class j's curve segment m is worth ``v_jm = break_even_j x slope_jm`` $/MWh
(``FlexClass.segment_value_usd_per_mwh``). In interval t of scenario s the effective price of
one MWh of load is ``q_st = P_st + cp_weight_st / h_t`` (energy plus the expected coincident-peak
tag). A real-time curtailable class that follows the ladder:

1. runs every segment with ``v_jm >= q_st``, filled from the steepest, up to its day-ahead
   schedule ``u_jt``;
2. where DR/AS products are called (``dr_deployed[a, s, t]``), curtailment serves the called
   offers ``r_at`` in order of their penalty, highest first: the curtailment of step 1 first,
   then further running segments across classes, lowest value first, while
   ``v_jm < q_st + dr_penalty_a`` (shedding is cheaper than that product's penalty), until its
   offer is met; what is not met is that product's shortfall, penalised per MWh. (Cheapest
   segments to the highest penalties is the optimal matching of the interval's recourse.)

A class with a hard work requirement (infinite unserved penalty) is not shed: running its
schedule in full is what meets the requirement. For fixed first-stage quantities this is
exactly the LP's per-scenario recourse wherever no inter-temporal constraint (a work
requirement) binds: each interval's recourse problem is a
fractional knapsack that the ladder solves greedily. So the gap between the LP's in-sample cost
and the ladder's is the value of foresight alone. Classes that are not real-time curtailable, and
every class of a decision with ``follows_ladder = False``, draw their schedule.

Work delivered follows each class's concave curve:
``gpu_hours_per_mwh x max_mw_jt x h_t x work_fraction(power_jst / max_mw_jt)``; "full work" (the
reference for value lost) is running at ``max_mw`` in every interval.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from energyhedge.errors import ConfigError
from energyhedge.model.curves import work_fraction
from energyhedge.model.problem import Decision, HedgeProblem

SCENARIO_CHUNK_CELLS = 1_000_000
"""Scenario-intervals priced at once; bounds memory at about 100 MB for any S x T."""


@dataclass(frozen=True)
class CostBreakdown:
    """Every line of the scenario cost, per scenario ($ unless named otherwise), shape [S].

    ``total_cost_usd`` is C_s: energy + premium - hedge payoff + CP tags - DR revenue + DR
    penalty + value lost + unserved penalty + restart costs (``stops`` counts the full stops).
    ``value_produced_usd`` (value of all work delivered, firm included) is not part of C_s; the
    event margin of the worked example is ``value_produced_usd - (total_cost_usd -
    value_lost_usd)``.
    """

    energy_mwh: np.ndarray
    energy_cost_usd: np.ndarray
    premium_usd: np.ndarray
    hedge_payoff_usd: np.ndarray
    dr_revenue_usd: np.ndarray
    dr_penalty_usd: np.ndarray
    cp_tag_usd: np.ndarray
    value_lost_usd: np.ndarray
    unserved_penalty_usd: np.ndarray
    restart_usd: np.ndarray
    stops: np.ndarray
    value_produced_usd: np.ndarray
    gpu_hours: np.ndarray
    total_cost_usd: np.ndarray
    cost_per_gpu_hour_usd: np.ndarray

    @property
    def margin_usd(self) -> np.ndarray:
        """Value of compute produced minus what was paid for it (cash costs), per scenario ($)."""
        return self.value_produced_usd - (self.total_cost_usd - self.value_lost_usd)

    def scenario(self, s: int) -> dict[str, float]:
        """All lines of scenario ``s`` as plain floats (for JSON and tables)."""
        out = {f.name: float(getattr(self, f.name)[s]) for f in fields(self)}
        out["margin_usd"] = float(self.margin_usd[s])
        return out

    def mean(self, probabilities: np.ndarray) -> dict[str, float]:
        """Probability-weighted mean of every line ($), plus the margin."""
        p = np.asarray(probabilities, dtype=float)
        out = {f.name: float(p @ getattr(self, f.name)) for f in fields(self)}
        out["margin_usd"] = float(p @ self.margin_usd)
        gpu = out["gpu_hours"]
        out["cost_per_gpu_hour_usd"] = out["total_cost_usd"] / gpu if gpu > 0 else float("nan")
        return out


def premium_usd(problem: HedgeProblem, product_mw: np.ndarray) -> float:
    """Premiums of a book ($): purchases pay the ask, sales receive the bid.

    ``sum_k max(x_k, 0) * premium_k - max(-x_k, 0) * bid_k``.
    """
    x = np.asarray(product_mw, dtype=float)
    ask = np.array([p.premium_usd_per_mw for p in problem.products], dtype=float)
    bid = np.array([p.bid_usd_per_mw for p in problem.products], dtype=float)
    return float(np.maximum(x, 0.0) @ ask - np.maximum(-x, 0.0) @ bid)


def product_cash_usd(problem: HedgeProblem, product_mw: np.ndarray) -> np.ndarray:
    """Net cost of each product held, per scenario ($, [S, K]): premium paid minus payoff."""
    x = np.asarray(product_mw, dtype=float)
    s_n, k_n = problem.n_scenarios, len(problem.products)
    if k_n == 0:
        return np.zeros((s_n, 0))
    payoff = np.stack([p.payoff_usd_per_mw for p in problem.products], axis=1)
    ask = np.array([p.premium_usd_per_mw for p in problem.products], dtype=float)
    bid = np.array([p.bid_usd_per_mw for p in problem.products], dtype=float)
    premium = np.maximum(x, 0.0) * ask - np.maximum(-x, 0.0) * bid
    return premium[None, :] - payoff * x[None, :]


def dr_revenue_usd(problem: HedgeProblem, dr_mw: np.ndarray) -> np.ndarray:
    """Availability revenue of each DR/AS product per scenario ($, [A, S]):
    ``sum_t h_t * dr_price_ast * dr_mw_at``."""
    return np.einsum("ast,at,t->as", problem.dr_price_usd_per_mw_h, dr_mw, problem.interval_hours)


def full_work_gpu_hours(problem: HedgeProblem) -> np.ndarray:
    """GPU-hours each class would deliver at ``max_mw`` in every interval, [J]."""
    h = problem.interval_hours
    return np.array([c.gpu_hours_per_mwh * float(c.max_mw @ h) for c in problem.flex])


def effective_price_usd_per_mwh(problem: HedgeProblem, rows: slice = slice(None)) -> np.ndarray:
    """Price of one more MWh of load in each scenario and interval, [n, T] ($/MWh):
    energy price plus the coincident-peak tag weight spread over the interval's hours."""
    return (
        problem.prices_usd_per_mwh[rows]
        + problem.cp_weight_usd_per_mw[rows] / problem.interval_hours[None, :]
    )


def real_time_power_mw(
    problem: HedgeProblem, decision: Decision, rows: slice = slice(None)
) -> np.ndarray:
    """Power each class draws under the ladder (module docstring), [J, n, T] (MW)."""
    n = len(range(*rows.indices(problem.n_scenarios)))
    schedule = np.asarray(decision.schedule_mw, dtype=float)
    power = np.broadcast_to(schedule[:, None, :], (len(problem.flex), n, problem.n_intervals))
    power = power.copy()
    for j, (r, c, mw) in enumerate(_ladder_changes(problem, decision, rows)):
        power[j, r, c] = mw
    return power


Changes = list[tuple[np.ndarray, np.ndarray, np.ndarray]]
"""Per class: the cells (scenario row within a chunk, interval) where its power departs from
the schedule, and the MW it draws there; sorted by cell, each cell at most once. Curtailment is
rare, so pricing a chunk costs a few passes over its prices plus work on these cells only."""


def _ladder_changes(problem: HedgeProblem, decision: Decision, rows: slice) -> Changes:
    """Where and how the ladder (steps 1 and 2 of the module docstring) departs from the
    schedule, for scenarios ``rows``."""
    schedule = np.asarray(decision.schedule_mw, dtype=float)
    empty = (np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0))
    changes: Changes = [empty] * len(problem.flex)
    ladder = [j for j, c in enumerate(problem.flex) if c.sheds_in_real_time]
    if not decision.follows_ladder or not ladder:
        return changes
    price = effective_price_usd_per_mwh(problem, rows)
    for j in ladder:
        flex = problem.flex[j]
        value = flex.segment_value_usd_per_mwh()  # non-increasing
        knots = np.concatenate([[0.0], np.cumsum(flex.segments()[0])])
        r, c = np.nonzero((price > value[-1]) & (schedule[j] > 0.0)[None, :])
        running = np.searchsorted(-value, -price[r, c], side="right")  # segments worth the price
        boosted = _due_segment_value(flex, decision, j)
        if boosted is not None:  # work before the deadline is worth its shadow price more
            due = c < (flex.requirement_intervals or problem.n_intervals)
            more = np.searchsorted(-boosted, -price[r, c], side="right")
            running = np.where(due, more, running)
        if decision.stop_above_usd_per_mwh is not None:
            keep = _kept_first_rung(price, value[0], decision.stop_above_usd_per_mwh[j])
            running = np.where(keep[r, c], np.maximum(running, 1), running)
        mw = np.minimum(schedule[j, c], knots[running] * flex.max_mw[c])
        less = mw < schedule[j, c]
        changes[j] = (r[less], c[less], mw[less])
    return _dispatch_dr(problem, decision, rows, price=price, changes=changes, ladder=ladder)


def _due_segment_value(flex, decision: Decision, j: int) -> np.ndarray | None:
    """Segment values ($/MWh) of class j before its deadline, with the decision's shadow price
    of its work requirement added (``Decision.work_value_usd_per_gpu_hour``); None when there
    is none."""
    extra = decision.work_value_usd_per_gpu_hour
    if extra is None or extra[j] <= 0 or flex.work_requirement_gpu_hours <= 0:
        return None
    value = flex.value_usd_per_gpu_hour + extra[j]
    return value * flex.gpu_hours_per_mwh * flex.segments()[1]


def _kept_first_rung(price: np.ndarray, first_value: float, stop_above: float) -> np.ndarray:
    """Cells [n, T] where the restart-aware ladder keeps a class's first rung although the
    price is above its value: the price has not yet exceeded ``stop_above`` since it rose
    above ``first_value`` (hysteresis: once stopped, off until the price is back below)."""
    above = price > first_value
    idx = np.arange(price.shape[1])
    last_stop = np.maximum.accumulate(np.where(price > stop_above, idx, -1), axis=1)
    last_below = np.maximum.accumulate(np.where(~above, idx, -1), axis=1)
    return above & (last_stop <= last_below)


def restart_rule(problem: HedgeProblem) -> np.ndarray | None:
    """``Decision.stop_above_usd_per_mwh`` for ``problem``: the restart-aware thresholds when a
    job class has a stop cost, else None (the plain ladder)."""
    if not any(f.stop_cost_usd > 0 for f in problem.flex):
        return None
    return restart_thresholds(problem)


def restart_thresholds(problem: HedgeProblem) -> np.ndarray:
    """Price above which each class stops fully under the restart-aware ladder ($/MWh, [J]).

    Staying on at the first rung through a spike costs (price - v1) x first-rung MW per hour
    over the first rung's value v1; stopping costs the class's ``stop_cost_usd`` once. With L
    the mean length (h) of a spike above v1 in ``problem``'s scenarios (runs of consecutive
    intervals, probability-weighted), stopping pays above ``v1 + stop_cost / (first-rung MW x
    L)``. Classes without a stop cost stop at v1 (the plain ladder).
    """
    price = effective_price_usd_per_mwh(problem)
    h = float(problem.interval_hours.mean())
    out = np.full(len(problem.flex), np.inf)
    for j, flex in enumerate(problem.flex):
        first = flex.segment_value_usd_per_mwh()[0]
        out[j] = first
        if flex.stop_cost_usd <= 0 or not flex.sheds_in_real_time:
            continue
        above = price > first
        starts = above & ~np.concatenate([np.zeros((above.shape[0], 1), bool), above[:, :-1]], 1)
        spikes = problem.probabilities @ starts.sum(axis=1)
        if spikes <= 0:
            continue
        length_h = float(problem.probabilities @ above.sum(axis=1)) * h / spikes
        runs = np.asarray(flex.max_mw, dtype=float)
        rung_mw = flex.segments()[0][0] * float(runs[runs > 0].mean()) if (runs > 0).any() else 0
        if rung_mw > 0:
            out[j] = first + flex.stop_cost_usd / (rung_mw * length_h)
    return out


def _dispatch_dr(
    problem: HedgeProblem,
    decision: Decision,
    rows: slice,
    *,
    price: np.ndarray,
    changes: Changes,
    ladder: list[int],
) -> Changes:
    """Shed running segments, lowest value first, where DR/AS calls are not yet met (highest
    penalty first)."""
    called, r, c = _calls(problem, decision, rows)
    if r.size == 0:
        return changes
    t_n = problem.n_intervals
    schedule = decision.schedule_mw
    power = {j: _power_at(changes[j], schedule[j], r, c, t_n) for j in ladder}
    curtailed = sum((schedule[j, c] - power[j] for j in ladder), start=np.zeros(r.size))
    need = _dr_shortfall(problem, decision.dr_mw[:, c], called[:, r, c], curtailed)  # [A, m]
    pieces = []  # [value $/MWh, class, MW available in the cell] per running segment
    for j in ladder:
        flex = problem.flex[j]
        width = flex.segments()[0]
        lower = np.concatenate([[0.0], np.cumsum(width)[:-1]])
        max_mw = flex.max_mw[c]
        for m, value in enumerate(flex.segment_value_usd_per_mwh()):
            avail = np.clip(power[j] - lower[m] * max_mw, 0.0, width[m] * max_mw)
            pieces.append([value, j, avail])
    pieces.sort(key=lambda piece: piece[0])
    for a in _by_penalty(problem):
        limit = price[r, c] + problem.dr_penalty_usd_per_mwh[a]
        for piece in pieces:
            value, j, avail = piece
            cut = np.minimum(np.where(value < limit, avail, 0.0), need[a])
            power[j] = power[j] - cut
            piece[2] = avail - cut
            need[a] = need[a] - cut
    out = list(changes)
    for j in ladder:
        out[j] = _merge(changes[j], (r, c, power[j]), schedule[j], t_n)
    return out


def _calls(
    problem: HedgeProblem, decision: Decision, rows: slice
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calls of offered capacity in scenarios ``rows``: [A, n, T] bool, and the (row, interval)
    cells with any call, [m] each."""
    called = problem.dr_deployed[:, rows] & (decision.dr_mw > 0.0)[:, None, :]
    r, c = np.nonzero(called.any(axis=0))
    return called, r, c


def _by_penalty(problem: HedgeProblem) -> np.ndarray:
    """DR/AS products in the order curtailment serves them: highest penalty first."""
    return np.argsort(-problem.dr_penalty_usd_per_mwh, kind="stable")


def _dr_shortfall(
    problem: HedgeProblem, offer_mw: np.ndarray, called: np.ndarray, curtailed_mw: np.ndarray
) -> np.ndarray:
    """MW of each product's called offer that the curtailment does not deliver, [A, m].

    ``offer_mw`` [A, m] and ``called`` [A, m] at m cells, ``curtailed_mw`` [m] the MW the
    campus draws below its schedule there; curtailment serves the highest penalty first."""
    need = np.where(called, offer_mw, 0.0)
    left = np.broadcast_to(np.asarray(curtailed_mw, dtype=float), need.shape[1:]).copy()
    short = np.zeros_like(need)
    for a in _by_penalty(problem):
        served = np.minimum(need[a], left)
        short[a] = need[a] - served
        left -= served
    return short


def _power_at(change, schedule: np.ndarray, r: np.ndarray, c: np.ndarray, t_n: int) -> np.ndarray:
    """A class's power at cells (r, c): its change there, else its schedule."""
    cells = change[0] * t_n + change[1]
    want = r * t_n + c
    pos = np.minimum(np.searchsorted(cells, want), max(cells.size - 1, 0))
    hit = (cells.size > 0) & (cells[pos] == want) if cells.size else np.zeros(want.size, bool)
    return np.where(hit, change[2][pos] if cells.size else 0.0, schedule[c])


def _merge(change, update, schedule: np.ndarray, t_n: int):
    """``change`` with the cells of ``update`` overwritten; cells back at the schedule dropped."""
    r = np.concatenate([change[0], update[0]])
    c = np.concatenate([change[1], update[1]])
    mw = np.concatenate([change[2], update[2]])
    cells = r * t_n + c
    order = np.argsort(cells, kind="stable")
    cells, r, c, mw = cells[order], r[order], c[order], mw[order]
    last = np.append(cells[1:] != cells[:-1], True)  # the update comes after the change
    keep = last & (mw != schedule[c])
    return r[keep], c[keep], mw[keep]


def _changes_from_power(power: np.ndarray, schedule: np.ndarray) -> Changes:
    """Changes (see ``Changes``) of given power [J, n, T] against the schedule [J, T]."""
    out = []
    for j in range(power.shape[0]):
        r, c = np.nonzero(power[j] != schedule[j][None, :])
        out.append((r, c, power[j, r, c]))
    return out


def _load_lines(price, cp_weight, hours, load_mw) -> dict[str, np.ndarray]:
    """Energy and tag lines of ``load_mw`` (elementwise; linear in the load)."""
    return {
        "energy_mwh": load_mw * hours,
        "energy_cost_usd": price * load_mw * hours,
        "cp_tag_usd": cp_weight * load_mw,
    }


def _work_gpu_hours(problem: HedgeProblem, j: int, power_mw, cols) -> np.ndarray:
    """GPU-hours class j delivers in intervals ``cols`` drawing ``power_mw`` there."""
    flex = problem.flex[j]
    width, slope = flex.segments()
    max_mw = np.asarray(flex.max_mw, dtype=float)[cols]
    power = np.asarray(power_mw, dtype=float)
    frac = np.divide(power, max_mw, out=np.zeros(np.shape(power)), where=max_mw > 0)
    full = flex.gpu_hours_per_mwh * max_mw * problem.interval_hours[cols]
    return full * work_fraction(frac, width, slope)


def _chunk_totals(
    problem: HedgeProblem, decision: Decision, rows: slice, power_mw: np.ndarray | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-scenario totals of the interval lines for scenarios ``rows``, and work [J, n] (GPU-h).

    The schedule's lines are computed once for all scenarios; the cells where real-time power
    departs from the schedule add their differences.
    """
    h = problem.interval_hours
    n = len(range(*rows.indices(problem.n_scenarios)))
    schedule = np.asarray(decision.schedule_mw, dtype=float)
    changes = (
        _ladder_changes(problem, decision, rows)
        if power_mw is None
        else _changes_from_power(np.asarray(power_mw, dtype=float)[:, rows, :], schedule)
    )
    prices, cp = problem.prices_usd_per_mwh[rows], problem.cp_weight_usd_per_mw[rows]
    base_load = problem.firm_load_mw + schedule.sum(axis=0)
    totals = {
        "energy_mwh": np.full(n, float(base_load @ h)),
        "energy_cost_usd": prices @ (base_load * h),
        "cp_tag_usd": cp @ base_load,
    }
    base_work = [
        _work_gpu_hours(problem, j, schedule[j], slice(None)) for j in range(len(schedule))
    ]
    work = np.array([np.full(n, w.sum()) for w in base_work]).reshape(len(schedule), n)
    due_work = np.array(
        [
            np.full(n, w[f.requirement_window].sum())
            for w, f in zip(base_work, problem.flex, strict=True)
        ]
    ).reshape(len(schedule), n)
    for j, (r, c, mw) in enumerate(changes):
        delta = mw - schedule[j, c]
        for name, values in _load_lines(prices[r, c], cp[r, c], h[c], delta).items():
            totals[name] += np.bincount(r, values, n)
        gained = _work_gpu_hours(problem, j, mw, c) - base_work[j][c]
        work[j] += np.bincount(r, gained, n)
        due = c < (problem.flex[j].requirement_intervals or problem.n_intervals)
        due_work[j] += np.bincount(r[due], gained[due], n)
    short_mw, r, c = _chunk_shortfall(problem, decision, rows, changes)
    penalty = problem.dr_penalty_usd_per_mwh @ short_mw * h[c]
    totals["dr_penalty_usd"] = np.bincount(r, penalty, n)
    totals["stops"], totals["restart_usd"] = np.zeros(n), np.zeros(n)
    for j, (r, c, mw) in enumerate(changes):
        zero = mw <= 0.0
        count = _stop_count(schedule[j], r[zero], c[zero], n)
        totals["stops"] += count
        totals["restart_usd"] += count * problem.flex[j].stop_cost_usd
    totals["due_work"] = due_work
    return totals, work


def _chunk_shortfall(
    problem: HedgeProblem, decision: Decision, rows: slice, changes: Changes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each product's undelivered MW [A, m] at the m cells (row, interval) with a call in
    scenarios ``rows``, given the real-time power's ``changes``; and the cells."""
    called, r, c = _calls(problem, decision, rows)
    schedule = np.asarray(decision.schedule_mw, dtype=float)
    curtailed = sum(
        (
            schedule[j, c] - _power_at(changes[j], schedule[j], r, c, problem.n_intervals)
            for j, f in enumerate(problem.flex)
            if f.rt_curtailable
        ),
        start=np.zeros(r.size),
    )
    return _dr_shortfall(problem, decision.dr_mw[:, c], called[:, r, c], curtailed), r, c


def _stop_count(schedule: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Full stops of one class per scenario ([n]), as ``_stops`` counts them, without a dense
    pass: off cells are the schedule's zero intervals plus the cells (``rows``, ``cols``,
    sorted) where real time draws nothing."""
    t_n = schedule.size
    base = schedule <= 0.0
    base_starts = int(np.count_nonzero(base & ~np.concatenate([[False], base[:-1]])))
    cells = rows * t_n + cols
    before_in = np.isin(cells - 1, cells) & (cols > 0)
    before_off = (cols > 0) & (base[np.maximum(cols - 1, 0)] | before_in)
    joins = (cols + 1 < t_n) & base[np.minimum(cols + 1, t_n - 1)]  # runs into a planned stop
    starts = np.bincount(rows, ~before_off, n) - np.bincount(rows, joins, n)
    return base_starts + starts


def _stops(problem: HedgeProblem, off: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Full stops and their cost ($) per interval, [n, T] each, from each class's off cells.

    A stop is an interval where a class draws nothing after drawing power in the interval
    before (or, at the horizon's start, where it is off: a campus runs before its horizon);
    each costs the class's ``stop_cost_usd``. ``off`` holds one [n, T] array per class."""
    shape = (n, problem.n_intervals)
    stops, cost = np.zeros(shape), np.zeros(shape)
    for j, flex in enumerate(problem.flex):
        before = np.concatenate([np.zeros((shape[0], 1), bool), off[j][:, :-1]], axis=1)
        start = off[j] & ~before
        stops += start
        cost += start * flex.stop_cost_usd
    return stops, cost


def _interval_lines(
    problem: HedgeProblem, decision: Decision, scenario: int
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per-interval lines of one scenario ([T] each), its power and work [J, T]."""
    h = problem.interval_hours
    power = real_time_power_mw(problem, decision, slice(scenario, scenario + 1))[:, 0, :]
    load = problem.firm_load_mw + power.sum(axis=0)
    lines = _load_lines(
        problem.prices_usd_per_mwh[scenario], problem.cp_weight_usd_per_mw[scenario], h, load
    )
    schedule = np.asarray(decision.schedule_mw, dtype=float)
    curtailed = sum(
        (schedule[j] - power[j] for j, f in enumerate(problem.flex) if f.rt_curtailable),
        start=np.zeros_like(load),
    )
    called = problem.dr_deployed[:, scenario] & (decision.dr_mw > 0.0)
    short_mw = _dr_shortfall(problem, decision.dr_mw, called, curtailed)
    lines["dr_penalty_usd"] = problem.dr_penalty_usd_per_mwh @ short_mw * h
    lines["price_usd_per_mwh"] = problem.prices_usd_per_mwh[scenario]
    lines["load_mw"] = load
    stops, restart = _stops(problem, [power[j][None, :] <= 0.0 for j in range(len(power))], 1)
    lines["stops"], lines["restart_usd"] = stops[0], restart[0]
    work = np.array([_work_gpu_hours(problem, j, power[j], slice(None)) for j in range(len(power))])
    return lines, power, work.reshape(len(power), problem.n_intervals)


def _work_lines(
    problem: HedgeProblem, work: np.ndarray, firm_gpu_hours, full_gpu_hours: np.ndarray
) -> dict[str, np.ndarray]:
    """Value lost, value produced and GPU-hours from each class's work ``work`` [J, m].

    ``m`` is scenarios (then ``firm_gpu_hours`` and ``full_gpu_hours`` [J, 1] are horizon
    totals) or intervals of one scenario (then they are per interval, [T] and [J, T]).
    """
    value = np.array([f.value_usd_per_gpu_hour for f in problem.flex]).reshape(-1, 1)
    firm_value = problem.firm_value_usd_per_gpu_hour
    return {
        "value_lost_usd": (value * (full_gpu_hours - work)).sum(axis=0),
        "value_produced_usd": firm_gpu_hours * firm_value + (value * work).sum(axis=0),
        "gpu_hours": firm_gpu_hours + work.sum(axis=0),
    }


def _unserved_usd(problem: HedgeProblem, work_gpu_hours: np.ndarray) -> np.ndarray:
    """Work-requirement penalty per scenario ($, [n]) from the work of each class [J, n].

    Zero for a class whose penalty is infinite: its requirement is then a hard constraint of the
    optimiser, not a cost."""
    out = np.zeros(work_gpu_hours.shape[1])
    for j, flex in enumerate(problem.flex):
        if flex.work_requirement_gpu_hours > 0 and np.isfinite(flex.unserved_usd_per_gpu_hour):
            short = np.maximum(flex.work_requirement_gpu_hours - work_gpu_hours[j], 0.0)
            out += flex.unserved_usd_per_gpu_hour * short
    return out


def check_decision(problem: HedgeProblem, decision: Decision) -> None:
    """Raise ``ConfigError`` unless the decision's arrays fit the problem."""
    s, t = problem.prices_usd_per_mwh.shape
    j, k, a = len(problem.flex), len(problem.products), problem.n_dr
    want = {
        "product_mw": (decision.product_mw, (k,)),
        "schedule_mw": (decision.schedule_mw, (j, t)),
        "dr_mw": (decision.dr_mw, (a, t)),
    }
    for name, (arr, shape) in want.items():
        if np.shape(arr) != shape:
            raise ConfigError(
                f"decision.{name} has shape {np.shape(arr)} but the problem needs {shape} "
                f"({k} products, {j} job classes, {a} DR/AS products, {t} intervals); rebuild "
                "the decision for it"
            )
    if problem.dr_deployed.shape != (a, s, t) or problem.cp_weight_usd_per_mw.shape != (s, t):
        raise ConfigError(
            f"problem dr_deployed / cp_weight_usd_per_mw must have shape {(a, s, t)} / {(s, t)}"
        )


def cost_breakdown(
    problem: HedgeProblem, decision: Decision, power_mw: np.ndarray | None = None
) -> CostBreakdown:
    """Every line of C_s for ``decision``, per scenario.

    Parameters
    ----------
    problem : HedgeProblem
        Scenarios to price on (in sample, out of sample, or one realised path).
    decision : Decision
    power_mw : ndarray [J, S, T], optional
        Power each class draws (e.g. the LP's own recourse). When omitted, the real-time ladder
        of the module docstring decides it.

    Returns
    -------
    CostBreakdown
        Arrays [S], computed in chunks of at most ``SCENARIO_CHUNK_CELLS`` scenario-intervals.
    """
    check_decision(problem, decision)
    s_total, t = problem.prices_usd_per_mwh.shape
    totals: dict[str, np.ndarray] = {}
    work_by_class = np.zeros((len(problem.flex), s_total))
    due_by_class = np.zeros((len(problem.flex), s_total))  # work before each class's deadline
    chunk = max(1, SCENARIO_CHUNK_CELLS // max(t, 1))
    for start in range(0, s_total, chunk):
        rows = slice(start, min(start + chunk, s_total))
        lines, work = _chunk_totals(problem, decision, rows, power_mw)
        due_by_class[:, rows] = lines.pop("due_work")
        for name, values in lines.items():
            totals.setdefault(name, np.zeros(s_total))[rows] = values
        work_by_class[:, rows] = work
    totals.update(
        _work_lines(
            problem,
            work_by_class,
            float(problem.firm_gpu_hours.sum()),
            full_work_gpu_hours(problem).reshape(-1, 1),
        )
    )
    x = np.asarray(decision.product_mw, dtype=float)
    payoff = np.zeros(s_total)
    for xk, product in zip(x, problem.products, strict=True):
        payoff += xk * product.payoff_usd_per_mw
    premium = premium_usd(problem, x)
    dr_revenue = dr_revenue_usd(problem, decision.dr_mw).sum(axis=0)
    unserved = _unserved_usd(problem, due_by_class)
    total = (
        totals["energy_cost_usd"]
        + premium
        - payoff
        + totals["cp_tag_usd"]
        - dr_revenue
        + totals["dr_penalty_usd"]
        + totals["value_lost_usd"]
        + unserved
        + totals["restart_usd"]
    )
    gpu = totals["gpu_hours"]
    return CostBreakdown(
        energy_mwh=totals["energy_mwh"],
        energy_cost_usd=totals["energy_cost_usd"],
        premium_usd=np.full(s_total, premium),
        hedge_payoff_usd=payoff,
        dr_revenue_usd=dr_revenue,
        dr_penalty_usd=totals["dr_penalty_usd"],
        cp_tag_usd=totals["cp_tag_usd"],
        value_lost_usd=totals["value_lost_usd"],
        unserved_penalty_usd=unserved,
        restart_usd=totals["restart_usd"],
        stops=totals["stops"],
        value_produced_usd=totals["value_produced_usd"],
        gpu_hours=gpu,
        total_cost_usd=total,
        cost_per_gpu_hour_usd=np.divide(total, gpu, out=np.full(s_total, np.nan), where=gpu > 0),
    )


@dataclass(frozen=True)
class DrProductLines:
    """What each DR/AS product earns and costs, per product and scenario, [A, S].

    ``revenue_usd`` availability revenue; ``penalty_usd`` non-delivery penalty; ``called_mwh``
    offered MW called times hours; ``delivered_mwh`` the part curtailment delivered;
    ``work_cost_usd`` value of work not done, work-requirement penalty and restarts that the
    product's calls add (the decision priced with and without them); ``energy_saved_usd`` energy
    and tag cost those calls save. Net value of a product: revenue - penalty - work cost +
    energy saved.
    """

    names: tuple[str, ...]
    revenue_usd: np.ndarray
    penalty_usd: np.ndarray
    called_mwh: np.ndarray
    delivered_mwh: np.ndarray
    work_cost_usd: np.ndarray
    energy_saved_usd: np.ndarray


def dr_product_lines(problem: HedgeProblem, decision: Decision) -> DrProductLines:
    """Each DR/AS product's lines under the ladder (``DrProductLines``)."""
    check_decision(problem, decision)
    a_n, s_total, t = problem.n_dr, problem.n_scenarios, problem.n_intervals
    h = problem.interval_hours
    penalty, called_mwh, short_mwh = (np.zeros((a_n, s_total)) for _ in range(3))
    chunk = max(1, SCENARIO_CHUNK_CELLS // max(t, 1))
    for start in range(0, s_total, chunk):
        rows = slice(start, min(start + chunk, s_total))
        n = rows.stop - rows.start
        short, r, c = _chunk_shortfall(
            problem, decision, rows, _ladder_changes(problem, decision, rows)
        )
        called = problem.dr_deployed[:, rows][:, r, c] & (decision.dr_mw[:, c] > 0.0)
        for a in range(a_n):
            called_mwh[a, rows] = np.bincount(
                r, np.where(called[a], decision.dr_mw[a, c], 0.0) * h[c], n
            )
            short_mwh[a, rows] = np.bincount(r, short[a] * h[c], n)
            penalty[a, rows] = problem.dr_penalty_usd_per_mwh[a] * short_mwh[a, rows]
    work_cost, energy_saved = np.zeros((a_n, s_total)), np.zeros((a_n, s_total))
    both = cost_breakdown(problem, decision)
    for a in range(a_n):
        uncalled = problem.dr_deployed.copy()
        uncalled[a] = False
        without = cost_breakdown(replace(problem, dr_deployed=uncalled), decision)
        work_cost[a] = sum(
            getattr(both, line) - getattr(without, line)
            for line in ("value_lost_usd", "unserved_penalty_usd", "restart_usd")
        )
        energy_saved[a] = sum(
            getattr(without, line) - getattr(both, line)
            for line in ("energy_cost_usd", "cp_tag_usd")
        )
    return DrProductLines(
        names=problem.dr_names,
        revenue_usd=dr_revenue_usd(problem, decision.dr_mw),
        penalty_usd=penalty,
        called_mwh=called_mwh,
        delivered_mwh=called_mwh - short_mwh,
        work_cost_usd=work_cost,
        energy_saved_usd=energy_saved,
    )


def interval_breakdown(
    problem: HedgeProblem,
    decision: Decision,
    payoff_usd_per_mw_by_interval: np.ndarray,
    scenario: int = 0,
) -> dict[str, np.ndarray]:
    """The cost lines of one scenario interval by interval, each [T], adding up to its C_s.

    Parameters
    ----------
    problem, decision
        As for ``cost_breakdown`` (the ladder decides the power).
    payoff_usd_per_mw_by_interval : ndarray [K, T]
        Payoff of 1 MW of each product in each interval of this scenario ($/MW); must add up
        to ``product.payoff_usd_per_mw[scenario]`` (checked to a cent per MW).
    scenario : int
        Which scenario (0 for a back-test's realised path).

    Notes
    -----
    Horizon-level lines are allocated so that columns re-add to the totals: premiums pro rata
    to interval length over the whole horizon; the work-requirement penalty, known only once
    the class's deadline (else the horizon) is over, on the deadline's last interval.
    """
    check_decision(problem, decision)
    k, t = len(problem.products), problem.n_intervals
    by_interval = np.asarray(payoff_usd_per_mw_by_interval, dtype=float).reshape(k, t)
    for p, row in zip(problem.products, by_interval, strict=True):
        if abs(row.sum() - p.payoff_usd_per_mw[scenario]) > 0.01:
            raise ConfigError(
                f"interval payoffs of product {p.name!r} add to {row.sum():.2f} $/MW but the "
                f"problem says {p.payoff_usd_per_mw[scenario]:.2f} $/MW; they must match"
            )
    lines, power, work = _interval_lines(problem, decision, scenario)
    h = problem.interval_hours
    full = np.array([f.gpu_hours_per_mwh * f.max_mw * h for f in problem.flex])
    columns = {
        **lines,
        **_work_lines(problem, work, problem.firm_gpu_hours, full.reshape(work.shape)),
    }
    x = np.asarray(decision.product_mw, dtype=float)
    unserved = np.zeros(t)
    if t:
        for j, flex in enumerate(problem.flex):  # booked once the deadline has passed
            due = work[j : j + 1, flex.requirement_window].sum(axis=1, keepdims=True)
            one = replace(problem, flex=(flex,))
            last = (flex.requirement_intervals or t) - 1
            unserved[last] += _unserved_usd(one, due)[0]
    columns["hedge_payoff_usd"] = x @ by_interval if k else np.zeros(t)
    columns["premium_usd"] = premium_usd(problem, x) * h / h.sum() if t else np.zeros(t)
    columns["dr_revenue_usd"] = h * (
        problem.dr_price_usd_per_mw_h[:, scenario] * decision.dr_mw
    ).sum(axis=0)
    columns["unserved_penalty_usd"] = unserved
    for j, flex in enumerate(problem.flex):
        columns[f"power_mw_{flex.name}"] = power[j]
    columns["total_cost_usd"] = (
        columns["energy_cost_usd"]
        + columns["premium_usd"]
        - columns["hedge_payoff_usd"]
        + columns["cp_tag_usd"]
        - columns["dr_revenue_usd"]
        + columns["dr_penalty_usd"]
        + columns["value_lost_usd"]
        + unserved
        + columns["restart_usd"]
    )
    return columns


@dataclass(frozen=True)
class LadderStep:
    """One rung of a class's real-time ladder in one interval.

    Attributes
    ----------
    run_mw : ndarray [T]
        MW the class runs while the real-time price is at most ``price_at_most_usd_per_mwh``.
    price_at_most_usd_per_mwh : ndarray [T]
        Segment value minus the interval's expected tag weight per MWh ($/MWh).
    """

    run_mw: np.ndarray
    price_at_most_usd_per_mwh: np.ndarray


def ladder_steps(problem: HedgeProblem, decision: Decision) -> list[list[LadderStep]]:
    """The operator's curtailment ladder: per class, its rungs (steepest segment first).

    Rung m (steepest curve segment first) allows ``run_mw`` = the schedule capped at the first
    m + 1 segments; the class runs the largest ``run_mw`` among the rungs whose
    ``price_at_most`` is at least the real-time price, and nothing above the first rung's
    price. The tag weight used is its probability-weighted mean over the scenarios (exact for
    the month-by-hour coincident-peak rule, which does not depend on the scenario). A class
    that is not real-time curtailable (or a decision that does not follow the ladder) has one
    rung: its schedule at any price (inf). DR calls shed further, as in ``real_time_power_mw``.
    """
    schedule = np.asarray(decision.schedule_mw, dtype=float)
    tag = problem.probabilities @ problem.cp_weight_usd_per_mw / problem.interval_hours
    out = []
    for j, flex in enumerate(problem.flex):
        if not (flex.sheds_in_real_time and decision.follows_ladder):
            out.append([LadderStep(schedule[j], np.full(problem.n_intervals, np.inf))])
            continue
        knots = np.cumsum(flex.segments()[0])
        values = np.broadcast_to(flex.segment_value_usd_per_mwh()[:, None], (knots.size, tag.size))
        boosted = _due_segment_value(flex, decision, j)
        if boosted is not None:
            values = values.copy()
            values[:, flex.requirement_window] = boosted[:, None]
        out.append(
            [
                LadderStep(np.minimum(schedule[j], knot * flex.max_mw), value - tag)
                for knot, value in zip(knots, values, strict=True)
            ]
        )
    return out
