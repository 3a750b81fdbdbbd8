"""The fleet LP: every campus's families stacked, coupled by where movable work runs.

Each campus's ``HedgeProblem`` (its site campus: movable classes it may host appear as its
training tiers) contributes the single-campus families of ``energyhedge.optimize.lp`` (hedges,
schedule and grid limit, ramps, real-time power, work, DR, scenario cost c), under the prefix
``<campus>:``. The fleet adds, per movable class with sites i and hours t, in each scenario
s of S_c (S when the class is curtailable in real time, so it may also move in real time; 1
when only its day-ahead schedule moves it):

    y[s, i, t]     GPUs of the class's work placed at site i            [0, capacity_i]
    m[s, i, k, t]  GPUs moved from site i to site k at the start of t   [0, inf), 0 if i = k
    balance        y[s,i,t] - y[s,i,t-1] - sum_k m[s,k,i,t] + sum_k m[s,i,k,t] = 0,
                   y[s,i,-1] = the class's GPUs at home, 0 elsewhere
    migration      sum_{i,k} m[s,i,k,t] <= migration GPUs per hour x h_t
    placement      p_site(i)[class, s, t] <= y[s, i, t] x max_mw_i[t] / capacity_i
    serve          inference only: sum_i capacity_i / max_mw_i[t] x u_site(i)[class, t] = GPUs

where p is the class's real-time power at the site (its schedule for a day-ahead class): it
never exceeds what its placed GPUs draw, so its work at all sites together never exceeds its
GPUs. Like the single-campus recourse, the real-time placement sees each price path whole;
valuation replaces it by the non-anticipative migration rule of ``fleet.value``. With a
compute book, the index swap sold (GPU-h per hour, [0, max_gpus]) is one more column. The fleet
cost, one row per scenario:

    c_fleet[s] = sum_campus c_campus[s] + migration cost x sum m[s] - value offset
                 - index exposure of the planned work - swap payoff

where the value offset makes the movable classes' lost value count once per class (each site
counts it against its own capacity), and the index exposure is ``(Ibar_s - E Ibar) x`` the
GPU-hours the schedule plans to sell at the index (the linear proxy that lets the LP size the
swap against the revenue it hedges). The objective is ``E[c_fleet] + lambda CVaR(c_fleet)``
(the CVaR family of ``optimize.lp`` on the fleet cost) or the budget form.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from energyhedge.errors import ConfigError, InfeasibleError, SolverError
from energyhedge.fleet.model import MovableClass
from energyhedge.model.cost import restart_rule
from energyhedge.model.problem import Decision, HedgeProblem
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import (
    COST_UNIT_USD,
    FAMILIES,
    TRADE_TIE_BREAK,
    Assembly,
    LinearProgram,
    define_budget,
    define_cvar,
    hedge_bounds,
    product_limits,
)
from energyhedge.optimize.notional import least_notional_mw
from energyhedge.optimize.options import SolveOptions

CAMPUS_FAMILIES = tuple(f for f in FAMILIES if f not in (define_cvar, define_budget))
"""The single-campus families each campus contributes (the CVaR is the fleet's)."""

SCHEDULE_TIE_BREAK = 1e-6
"""Objective cost of each MW of a movable class's day-ahead schedule per interval (k$/MW, i.e.
$0.001/MW): among equally good schedules the LP keeps the least, the most its real-time power
needs in some scenario, so the schedule says where the class is planned to run (the real-time
migration rule of ``fleet.value`` follows it). Not part of any reported cost or objective."""

FLEET = "fleet"
"""Prefix of the fleet's own columns and rows."""


@dataclass(frozen=True)
class FleetProblem:
    """Everything the fleet LP needs.

    Attributes
    ----------
    problems : dict[str, HedgeProblem]
        One per campus (site campuses), on the same intervals, scenarios and probabilities.
    movable : tuple[MovableClass, ...]
    index_average : ndarray [S] or None
        Index average over the horizon in each scenario ($/GPU-h); None: no compute book.
    index_gpu_hours : ndarray [T]
        GPU-hours of firm work sold at the index in each interval (firm work less reserved).
    swap_strike_usd_per_gpu_hour, swap_max_gpus : float
        The index swap that may be sold (max 0: none).
    """

    problems: dict[str, HedgeProblem]
    movable: tuple[MovableClass, ...]
    index_average: np.ndarray | None = None
    index_gpu_hours: np.ndarray | None = None
    swap_strike_usd_per_gpu_hour: float = 0.0
    swap_max_gpus: float = 0.0

    @property
    def first(self) -> HedgeProblem:
        return next(iter(self.problems.values()))

    @property
    def horizon_hours(self) -> float:
        return float(self.first.interval_hours.sum())

    def class_index(self, site: str, name: str) -> int:
        """Position of job class ``name`` in the flex classes of ``site``'s problem."""
        names = [f.name for f in self.problems[site].flex]
        return names.index(name)

    def value_offset_usd(self) -> float:
        """Value of work not done that the campuses count beyond the fleet's ($): each site
        counts a movable class's value lost against its own capacity, the fleet against the
        class's GPUs: ``sum_class value x W x (sum_sites capacity - gpus)`` with W the
        GPU-hours one GPU of the class works over the horizon at full speed (its home job
        class's full work over its capacity there)."""
        total = 0.0
        for m in self.movable:
            flex = self.problems[m.home].flex[self.class_index(m.home, m.name)]
            full = flex.gpu_hours_per_mwh * float(self.first.interval_hours @ flex.max_mw)
            per_gpu = full / m.capacity_gpus[m.home]
            total += m.value_usd_per_gpu_hour * per_gpu * (sum(m.capacity_gpus.values()) - m.gpus)
        return total


@dataclass(frozen=True)
class FleetSolution:
    """The fleet decision and its in-sample figures.

    Attributes
    ----------
    decisions : dict[str, Decision]
        Hedges, schedule and DR offer of each campus; real time follows the ladder (the
        restart-aware one where a class has a stop cost, as for a single campus).
    placement_gpus : dict[str, ndarray [S_c, sites, T]]
        GPUs of each movable class's work placed at each of its sites per interval, per
        scenario (S_c = S) or once (S_c = 1, a class moved by its day-ahead schedule only);
        the LP's own recourse, which sees each price path whole.
    moved_gpus : dict[str, ndarray [S_c, T]]
        GPUs moved per interval (all pairs of sites).
    migration_usd : ndarray [S]
        Cost of the moves per scenario ($).
    swap_gpus : float
        Index swap sold (GPU-h per hour).
    fleet_cost_usd : ndarray [S]
        The LP's fleet cost c_fleet per scenario ($, its own recourse; with a compute book it
        includes the index exposure and the swap).
    power_cost_usd : ndarray [S]
        The LP's cost on the basis of ``fleet.value``: campus costs + migration - offset ($).
    objective_usd : float
    solver : dict
    """

    decisions: dict[str, Decision]
    placement_gpus: dict[str, np.ndarray]
    moved_gpus: dict[str, np.ndarray]
    migration_usd: np.ndarray
    swap_gpus: float
    fleet_cost_usd: np.ndarray
    power_cost_usd: np.ndarray
    objective_usd: float
    solver: dict


class _Prefixed:
    """A view of a ``Layout`` whose names carry a prefix (lookups only)."""

    def __init__(self, layout, prefix: str) -> None:
        self.layout, self.prefix = layout, prefix

    def __getitem__(self, name: str):
        return self.layout[self.prefix + name]

    def __contains__(self, name: str) -> bool:
        return self.prefix + name in self.layout


class Scope(Assembly):
    """One campus's (or the fleet's) part of a shared ``Assembly``: the single-campus
    families run on it unchanged, their blocks named ``<prefix><name>`` in the parent."""

    def __init__(self, parent: Assembly, problem: HedgeProblem, prefix: str) -> None:
        self.parent, self.prefix = parent, prefix
        self.problem, self.options, self.build = problem, parent.options, parent.build
        self.cols = _Prefixed(parent.cols, prefix)
        self.rows = _Prefixed(parent.rows, prefix)

    def add_cols(self, name, shape, lower=0.0, upper=np.inf, cost=0.0):
        return self.parent.add_cols(self.prefix + name, shape, lower, upper, cost)

    def add_rows(self, name, shape, lower=-np.inf, upper=np.inf):
        return self.parent.add_rows(self.prefix + name, shape, lower, upper)

    def put(self, rows, cols, values) -> None:
        self.parent.put(rows, cols, values)


def check_fleet(fp: FleetProblem) -> None:
    """ConfigError unless every campus has the same grid and scenarios at every campus."""
    first = fp.first
    for name, p in fp.problems.items():
        same = (
            p.prices_usd_per_mwh.shape == first.prices_usd_per_mwh.shape
            and np.array_equal(p.interval_start_utc, first.interval_start_utc)
            and np.allclose(p.probabilities, first.probabilities)
        )
        if not same:
            raise ConfigError(
                f"campus {name!r}: its scenarios are not on the fleet's intervals and "
                "probabilities; draw the campuses' scenarios jointly (fleet.scenarios)"
            )


def assemble_fleet(fp: FleetProblem, options: SolveOptions, *, build: bool) -> Assembly:
    """Run every campus's families and the fleet's on one ``Assembly``."""
    check_fleet(fp)
    parent = Assembly(fp.first, options, build=build)
    for name, problem in fp.problems.items():
        scope = Scope(parent, problem, f"{name}:")
        for family in CAMPUS_FAMILIES:
            family(scope)
    fleet = Scope(parent, fp.first, f"{FLEET}:")
    _define_movable(parent, fp)
    _define_swap(parent, fp)
    _define_fleet_cost(parent, fleet, fp)
    define_cvar(fleet)
    define_budget(fleet)
    return parent


def moves_in_real_time(fp: FleetProblem, c: MovableClass) -> bool:
    """True when a movable class is curtailable in real time, and so may also move in real
    time (its placement is per scenario); False when only its day-ahead schedule moves it."""
    return fp.problems[c.home].flex[fp.class_index(c.home, c.name)].rt_curtailable


def _define_movable(a: Assembly, fp: FleetProblem) -> None:
    """Placement, moves, balance, migration limit and placement rows of each movable class."""
    h = np.asarray(fp.first.interval_hours, dtype=float)
    t_n = h.size
    for c in fp.movable:
        sites = c.sites
        s_c = fp.first.n_scenarios if moves_in_real_time(fp, c) else 1
        n = len(sites)
        cap = np.array([c.capacity_gpus[s] for s in sites], dtype=float)
        y = a.add_cols(f"{FLEET}:y:{c.name}", (s_c, n, t_n), 0.0, cap[None, :, None])
        upper = np.where(np.eye(n, dtype=bool)[None, :, :, None], 0.0, np.inf)
        m = a.add_cols(f"{FLEET}:m:{c.name}", (s_c, n, n, t_n), 0.0, upper)
        home = np.zeros((s_c, n, t_n))
        home[:, 0, 0] = c.gpus  # the work starts at home
        bal = a.idx(a.add_rows(f"{FLEET}:balance:{c.name}", (s_c, n, t_n), home, home))
        a.put(bal, a.idx(y), 1.0)
        if t_n > 1:
            a.put(bal[:, :, 1:], a.idx(y)[:, :, :-1], -1.0)
        a.put(bal[:, None, :, :], a.idx(m), -1.0)  # in: m[s, k, i, t] at row (s, i, t)
        a.put(bal[:, :, None, :], a.idx(m), 1.0)  # out: m[s, i, k, t] at row (s, i, t)
        step = c.migration_gpus_per_h * h
        limit = a.add_rows(f"{FLEET}:migration:{c.name}", (s_c, t_n), -np.inf, step[None, :])
        a.put(a.idx(limit)[:, None, None, :], a.idx(m), 1.0)
        for i, site in enumerate(sites):
            j = fp.class_index(site, c.name)
            max_mw = np.asarray(fp.problems[site].flex[j].max_mw, dtype=float)
            place = a.add_rows(f"{FLEET}:place:{c.name}:{site}", (s_c, t_n), -np.inf, 0.0)
            seg = a.idx(a.cols[f"{site}:seg{j}"])  # [s_c, T, M]: power on its segments
            a.put(a.idx(place)[:, :, None], seg, 1.0)
            a.put(a.idx(place), a.idx(y)[:, i, :], -max_mw / cap[i])
        if c.must_serve:
            _define_serve(a, fp, c)


def _define_serve(a: Assembly, fp: FleetProblem, c: MovableClass) -> None:
    """An inference class is served in full: sum_i capacity_i / max_mw_i[t] x u_i[t] = its
    GPUs in every interval (each placed GPU runs at the hour's utilisation)."""
    t_n = fp.first.n_intervals
    serve = a.idx(a.add_rows(f"{FLEET}:serve:{c.name}", (t_n,), c.gpus, c.gpus))
    for site in c.sites:
        j = fp.class_index(site, c.name)
        max_mw = np.asarray(fp.problems[site].flex[j].max_mw, dtype=float)
        per_mw = np.divide(c.capacity_gpus[site], max_mw, out=np.zeros(t_n), where=max_mw > 0)
        a.put(serve, a.idx(a.cols[f"{site}:u"])[j], per_mw)


def _define_swap(a: Assembly, fp: FleetProblem) -> None:
    """The index swap sold (GPU-h per hour), when there is a compute book."""
    if fp.index_average is not None:
        a.add_cols(f"{FLEET}:swap", (1,), 0.0, fp.swap_max_gpus)


def _define_fleet_cost(a: Assembly, fleet: Scope, fp: FleetProblem) -> None:
    """c_fleet[s] = sum of campus costs + migration - offset - index exposure - swap payoff."""
    first = fp.first
    s_n, h = first.n_scenarios, np.asarray(first.interval_hours, dtype=float)
    prob = np.asarray(first.probabilities, dtype=float)
    deviation = np.zeros(s_n)
    if fp.index_average is not None:
        deviation = np.asarray(fp.index_average, dtype=float)
        deviation = deviation - prob @ deviation
    firm = float(fp.index_gpu_hours.sum()) if fp.index_gpu_hours is not None else 0.0

    def constant() -> np.ndarray:
        return (-fp.value_offset_usd() - deviation * firm) / COST_UNIT_USD

    c = fleet.add_cols("c", (s_n,), -np.inf, np.inf, prob)
    row = a.idx(fleet.add_rows("cost", (s_n,), constant, constant))
    a.put(row, a.idx(c), 1.0)
    for name in fp.problems:
        a.put(row, a.idx(a.cols[f"{name}:c"]), -1.0)
    for m in fp.movable:
        moves = a.idx(a.cols[f"{FLEET}:m:{m.name}"])
        a.put(row[:, None, None, None], moves[None], -m.migration_usd_per_gpu / COST_UNIT_USD)
    if fp.index_average is None:
        return
    for name, problem in fp.problems.items():
        u = a.idx(a.cols[f"{name}:u"])  # [J, T]
        for j, flex in enumerate(problem.flex):
            exposure = deviation[:, None] * (flex.gpu_hours_per_mwh * h)[None, :]
            a.put(row[:, None], u[j][None, :], exposure / COST_UNIT_USD)
    hours = fp.horizon_hours
    swap = a.idx(a.cols[f"{FLEET}:swap"])
    payoff = hours * (fp.swap_strike_usd_per_gpu_hour - np.asarray(fp.index_average, float))
    a.put(row[:, None], swap[None, :], (payoff / COST_UNIT_USD)[:, None])


def fleet_size(fp: FleetProblem, options: SolveOptions) -> dict[str, int]:
    """Columns, rows and structural nonzeros of the fleet LP, counted without building."""
    a = assemble_fleet(fp, options, build=False)
    return {"columns": a.cols.n, "rows": a.rows.n, "nonzeros": a.nonzeros}


def solve_fleet(fp: FleetProblem, options: SolveOptions) -> FleetSolution:
    """Co-schedule the fleet's work and size every campus's hedges (and the swap) together."""
    size = fleet_size(fp, options)
    if size["nonzeros"] > options.max_nonzeros:
        raise SolverError(
            f"the fleet LP would have {size['nonzeros']:,} nonzeros, above the limit of "
            f"{options.max_nonzeros:,}; use fewer scenarios or a shorter horizon"
        )
    start = time.perf_counter()
    lp = _fleet_objective(fp, assemble_fleet(fp, options, build=True).linear_program(start))
    result = HighsRunner(lp, options.highs_options, options.time_limit_s).run()
    if result.infeasible:
        raise InfeasibleError(
            "the fleet's constraints cannot all hold: check the movable classes' capacities, "
            "the campuses' grid limits and any hard work requirements"
        )
    if result.unbounded:
        raise SolverError("the fleet objective is unbounded: give every product a finite MW limit")
    return _solution(fp, lp, result)


def _fleet_objective(fp: FleetProblem, lp: LinearProgram) -> LinearProgram:
    """The fleet cost carries the expectation, so the campus cost columns get no objective;
    the movable classes' schedules get the tie-break ``SCHEDULE_TIE_BREAK``."""
    cost = lp.cost.copy()
    for name in fp.problems:
        block = lp.cols[f"{name}:c"]
        cost[block.start : block.start + block.size] = 0.0
    for c in fp.movable:
        for site in c.sites:
            u = lp.cols[f"{site}:u"].idx[fp.class_index(site, c.name)]
            cost[u] = SCHEDULE_TIE_BREAK
    return replace(lp, cost=cost)


def _objective_usd(fp: FleetProblem, lp: LinearProgram, solver_objective: float, v) -> float:
    """E[c_fleet] (+ lambda CVaR) in $, without the tie-breaks on trades and schedules."""
    traded = sum(
        float(lp.cols[f"{name}:{side}"].take(v).sum())
        for name in fp.problems
        for side in ("xb", "xs")
    )
    scheduled = sum(
        float(lp.cols[f"{site}:u"].take(v)[fp.class_index(site, c.name)].sum())
        for c in fp.movable
        for site in c.sites
    )
    tie_break = TRADE_TIE_BREAK * traded + SCHEDULE_TIE_BREAK * scheduled
    return (solver_objective - tie_break) * COST_UNIT_USD


def _solution(fp: FleetProblem, lp: LinearProgram, result) -> FleetSolution:
    v = result.values
    decisions = {}
    for name, problem in fp.problems.items():
        traded = lp.cols[f"{name}:xb"].take(v).copy()
        traded[hedge_bounds(*product_limits(problem))[2]] -= lp.cols[f"{name}:xs"].take(v)
        dr = f"{name}:r"
        decisions[name] = Decision(
            product_mw=least_notional_mw(problem, traded),
            schedule_mw=lp.cols[f"{name}:u"].take(v).copy(),
            dr_mw=lp.cols[dr].take(v).copy() if dr in lp.cols else np.zeros(problem.n_intervals),
            stop_above_usd_per_mwh=restart_rule(problem),
        )
    placement, moved = {}, {}
    migration = np.zeros(fp.first.n_scenarios)
    for m in fp.movable:
        placement[m.name] = lp.cols[f"{FLEET}:y:{m.name}"].take(v).copy()
        moves = lp.cols[f"{FLEET}:m:{m.name}"].take(v)
        moved[m.name] = moves.sum(axis=(1, 2))
        migration = migration + m.migration_usd_per_gpu * moves.sum(axis=(1, 2, 3))
    swap = f"{FLEET}:swap"
    return FleetSolution(
        decisions=decisions,
        placement_gpus=placement,
        moved_gpus=moved,
        migration_usd=migration,
        swap_gpus=float(lp.cols[swap].take(v)[0]) if swap in lp.cols else 0.0,
        fleet_cost_usd=lp.cols[f"{FLEET}:c"].take(v) * COST_UNIT_USD,
        power_cost_usd=sum(lp.cols[f"{name}:c"].take(v) for name in fp.problems) * COST_UNIT_USD
        + migration
        - fp.value_offset_usd(),
        objective_usd=_objective_usd(fp, lp, result.record["objective"], v),
        solver={**result.record, **{"columns": lp.cols.n, "rows": lp.rows.n}},
    )
