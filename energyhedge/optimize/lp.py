"""The extensive-form LP of a ``HedgeProblem`` as numpy/scipy.sparse arrays (the fast path).

One ``define_*`` function per family adds its columns, rows, bounds and matrix entries to an
``Assembly``. The same functions, run on a counting ``Assembly``, give the size of the model
before anything is built (``model_size``), so the estimate cannot drift from the build.

Columns (first stage, shared by all scenarios):
    xb[K]         product MW bought at the ask     [max(min_mw, 0), max(max_mw, 0)]
    xs[Ks]        product MW sold at the bid       [max(-max_mw, 0), -min_mw]  (sellable only)
    u[J, T]       day-ahead schedule, MW           [0, max_mw_jt]
    r[A, T]       capacity offered to each DR/AS product, MW  [0, dr_max_mw_a]  (only if some
                  dr_max_mw_a > 0)
    on{j}[T]      committed class j scheduled on   {0, 1} (integer; 0 where max_mw_jt = 0)
    start{j}[T], stop{j}[T]  its scheduled starts and stops  [0, 1] (integral at any optimum
                  with integral on: they are the positive and negative parts of on_t - on_t-1)
    eta           VaR level of the CVaR term, k$ (free)
Columns (second stage, per scenario s):
    seg{j}[S_j, T, M_j]  power class j draws on curve segment m, MW  [0, width_m * max_mw_jt];
                       the power is p_jst = sum_m seg, the throughput (in MW of full-speed work)
                       sum_m slope_m * seg: concave curve, so the LP fills steep segments first
                       and the formulation is exact, with one row per (s, j, t) instead of one
                       per segment. S_j = S for real-time curtailable classes; S_j = 1 for
                       the others, whose power is the schedule in every scenario (first stage).
    short{j}[S_j]      work-requirement shortfall, MWh of full-speed work (classes with one)
    d[D]               DR/AS shortfall, MW, one per call (a, s, t) of a product that may be
                       offered
    c[S]               scenario cost C_s, k$ (free)
    z[S]               CVaR excess max(C_s - eta, 0), k$
Rows:
    hedge_ratio[R] lower_r <= sum_k share_rk (xb_k - xs_k) <= upper_r, one per hedge-ratio limit
                   whose shape has hours in the horizon (``energyhedge.optimize.hedge_ratio``)
    grid[T]        sum_j u_jt <= grid_limit - firm_t
    ramp{j}[T-1]   |u_jt - u_j,t-1| <= ramp_j * h_{t-1}
    onmax{j}[T]    u_jt <= max_mw_jt * on_jt                           (committed classes)
    onmin{j}[T]    u_jt >= min_power_frac_j * max_mw_jt * on_jt
    switch{j}[T]   on_jt - on_j,t-1 - start_jt + stop_jt = 0, on_j,-1 = 1 (the campus runs
                   before the horizon)
    minrun{j}[T]   sum of start_j,tau over the intervals tau starting less than min_run_h
                   before interval t (tau <= t) <= on_jt
    minoff{j}[T]   sum of stop_j,tau over those less than min_off_h before t <= 1 - on_jt
    sched{j}[S_j,T]  p_jst <= u_jt (real-time curtailable) or p_jt = u_jt (not)
    work{j}[S_j]   sum_t h_t * throughput_jst + short_js >= requirement_j / gpu_hours_per_mwh_j
    drcap[T]       sum_a r_at <= sum of u_jt over real-time curtailable classes
    drdel[C]       sum_j (u_jt - p_jst) + sum_a d_ast >= sum_a r_at over the products called
                   in (s, t), one row per (s, t) with a call
    drshort[D]     d_ast <= r_at (only with more than one product: the shortfall of each
                   product is at most its offer, so the cheapest penalty cannot take it all)
    cost[S]        c_s = the scenario cost of ``energyhedge.model.problem``
    cvar[S]        z_s >= c_s - eta
    budget[1]      eta + sum_s p_s z_s / (1 - alpha) <= budget    (budget form only)
The cost rows charge each committed class's ``stop_cost_usd`` per scheduled stop in every
scenario, as valuation does (``energyhedge.model.cost``). Without committed classes the model
has no integer columns and is an LP; with them HiGHS solves a MIP (``energyhedge.optimize.highs``).
Objective: sum_s p_s c_s (+ lambda * (eta + sum_s p_s z_s / (1 - alpha)) in the penalty form),
plus ``TRADE_TIE_BREAK`` per MW traded (xb, xs), which ``objective_k_usd`` removes again.

A product is bought (xb, paying the ask) or sold (xs, receiving the bid), so a round trip pays
the spread and the LP cannot earn a buyer's price by selling; ``Decision.product_mw = xb - xs``.
Costs are in thousands of dollars inside the LP (``COST_UNIT_USD``) to keep HiGHS well scaled.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse

from energyhedge.model.problem import HedgeProblem
from energyhedge.optimize.hedge_ratio import RatioRow, ratio_rows
from energyhedge.optimize.index import Block, Layout
from energyhedge.optimize.options import SolveOptions

COST_UNIT_USD = 1000.0
"""Dollars per unit of the cost columns c, z, eta and of the objective."""

TRADE_TIE_BREAK = 1e-6
"""Objective cost of each MW bought or sold (k$/MW, i.e. $0.001/MW), above HiGHS's dual
tolerance: among books of equal E[C] + lambda * CVaR (e.g. a fair block at lambda 0) the LP
keeps the smallest instead of an arbitrary vertex. Not part of any reported cost or objective
(``objective_k_usd``)."""

Values = float | np.ndarray | Callable[[], np.ndarray]
"""Bounds, costs and matrix values: an array (broadcast to the block or entry shape), or a
function returning one, called only when the LP is built (large arrays are never made to count)."""


@dataclass(frozen=True)
class LinearProgram:
    """min cost @ v  s.t.  row_lower <= matrix @ v <= row_upper,  col_lower <= v <= col_upper.

    ``structural_nonzeros`` counts every entry the families define (what ``model_size``
    predicts); ``matrix`` drops entries whose value happens to be exactly zero.
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    matrix: sparse.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    cols: Layout
    rows: Layout
    structural_nonzeros: int
    build_s: float
    integer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Indices of the integer columns (the commitment of committed classes; empty: an LP)."""

    @property
    def nonzeros(self) -> int:
        return int(self.matrix.nnz)


class Assembly:
    """Columns, rows and matrix entries as the ``define_*`` functions add them.

    With ``build=False`` only the layouts and the entry count are kept: index arrays are
    zero-stride views and value functions are never called.
    """

    def __init__(self, problem: HedgeProblem, options: SolveOptions, *, build: bool) -> None:
        self.problem = problem
        self.options = options
        self.build = build
        self.cols = Layout()
        self.rows = Layout()
        self.nonzeros = 0
        self._col_values: list[tuple[Block, Values, Values, Values]] = []
        self._row_values: list[tuple[Block, Values, Values]] = []
        self._entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.integer_blocks: list[Block] = []

    def add_cols(
        self,
        name: str,
        shape,
        lower: Values = 0.0,
        upper: Values = np.inf,
        cost: Values = 0.0,
        *,
        integer: bool = False,
    ) -> Block:
        """A block of columns with its bounds and objective coefficients (integer if asked)."""
        block = self.cols.add(name, shape)
        self._col_values.append((block, lower, upper, cost))
        if integer:
            self.integer_blocks.append(block)
        return block

    def add_rows(self, name: str, shape, lower: Values = -np.inf, upper: Values = np.inf) -> Block:
        """A block of rows with its bounds."""
        block = self.rows.add(name, shape)
        self._row_values.append((block, lower, upper))
        return block

    def idx(self, block: Block) -> np.ndarray:
        """The block's global indices, shaped like the block (a zero-stride view when counting)."""
        if self.build:
            return block.idx
        return np.broadcast_to(np.int64(block.start), block.shape)

    def put(self, rows: np.ndarray, cols: np.ndarray, values: Values) -> None:
        """Matrix entries at the broadcast of ``rows`` and ``cols`` (values broadcast to it)."""
        shape = np.broadcast_shapes(np.shape(rows), np.shape(cols))
        self.nonzeros += int(np.prod(shape, dtype=np.int64))
        if self.build:
            rows, cols = np.broadcast_arrays(rows, cols)
            vals = np.broadcast_to(np.asarray(_resolve(values), dtype=float), shape)
            self._entries.append((rows.ravel(), cols.ravel(), vals.ravel()))

    @cached_property
    def hours(self) -> np.ndarray:
        return np.asarray(self.problem.interval_hours, dtype=float)

    @cached_property
    def unit_cost(self) -> np.ndarray:
        """k$ per MW of campus load in each scenario and interval, [S, T]: energy plus tags."""
        p = self.problem
        return (self.hours * p.prices_usd_per_mwh + p.cp_weight_usd_per_mw) / COST_UNIT_USD

    @cached_property
    def ratio_rows(self) -> list[RatioRow]:
        """The hedge-ratio limits of the options as rows over the products' net MW."""
        return ratio_rows(self.problem, self.options.hedge_ratio)

    @cached_property
    def deployed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(product, scenario, interval) of every call of a product that may be offered, [D]
        each, sorted by product."""
        p = self.problem
        called = p.dr_deployed & (p.dr_max_mw > 0)[:, None, None]
        return np.nonzero(called)

    @cached_property
    def called_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scenario, interval) of each (s, t) with a call, [C] each, and the cell of each
        call, [D]."""
        _, dep_s, dep_t = self.deployed
        cells, call_cell = np.unique(dep_s * self.problem.n_intervals + dep_t, return_inverse=True)
        return cells // self.problem.n_intervals, cells % self.problem.n_intervals, call_cell

    def linear_program(self, build_start: float) -> LinearProgram:
        """The assembled arrays (only after ``build=True``)."""
        lower, upper, cost = (np.zeros(self.cols.n) for _ in range(3))
        for block, lo, hi, c in self._col_values:
            for out, value in ((lower, lo), (upper, hi), (cost, c)):
                out[block.start : block.start + block.size] = _flat(value, block)
        row_lower, row_upper = np.zeros(self.rows.n), np.zeros(self.rows.n)
        for block, lo, hi in self._row_values:
            row_lower[block.start : block.start + block.size] = _flat(lo, block)
            row_upper[block.start : block.start + block.size] = _flat(hi, block)
        if self._entries:
            row_i, col_i, val = (np.concatenate(a) for a in zip(*self._entries, strict=True))
        else:
            row_i, col_i, val = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        matrix = sparse.csc_array((val, (row_i, col_i)), shape=(self.rows.n, self.cols.n))
        structural = int(matrix.nnz)  # duplicates summed, explicit zeros kept
        matrix.eliminate_zeros()
        integer = [b.idx.ravel() for b in self.integer_blocks]
        return LinearProgram(
            cost,
            lower,
            upper,
            matrix,
            row_lower,
            row_upper,
            self.cols,
            self.rows,
            structural,
            time.perf_counter() - build_start,
            np.concatenate(integer) if integer else np.zeros(0, dtype=np.int64),
        )


def define_hedges(a: Assembly) -> None:
    """Bought (xb) and, for sellable products, sold (xs) MW of each product."""
    buy_lo, buy_hi, _, sell_lo, sell_hi = hedge_bounds(*product_limits(a.problem))
    a.add_cols("xb", buy_lo.shape, buy_lo, buy_hi, TRADE_TIE_BREAK)
    a.add_cols("xs", sell_lo.shape, sell_lo, sell_hi, TRADE_TIE_BREAK)


def define_hedge_ratio(a: Assembly) -> None:
    """Net block MW per shape within the hedge-ratio limits (one row per limit)."""
    rows = a.ratio_rows
    if not rows:
        return
    share = np.array([r.share for r in rows], dtype=float).reshape(len(rows), -1)  # [R, K]
    limits = a.add_rows(
        "hedge_ratio",
        (len(rows),),
        np.array([r.lower_mw for r in rows]),
        np.array([r.upper_mw for r in rows]),
    )
    sellable = hedge_bounds(*product_limits(a.problem))[2]
    a.put(a.idx(limits)[:, None], a.idx(a.cols["xb"])[None, :], share)
    a.put(a.idx(limits)[:, None], a.idx(a.cols["xs"])[None, :], -share[:, sellable])


def define_schedule(a: Assembly) -> None:
    """Day-ahead schedule u of each class within its cap, and the campus grid limit."""
    p = a.problem
    t_n = p.n_intervals
    caps = np.array([f.max_mw for f in p.flex], dtype=float).reshape(len(p.flex), t_n)
    u = a.add_cols("u", (len(p.flex), t_n), 0.0, caps)
    if p.flex:
        grid = a.add_rows("grid", (t_n,), -np.inf, p.grid_limit_mw - p.firm_load_mw)
        a.put(a.idx(grid)[None, :], a.idx(u), 1.0)


def define_ramp(a: Assembly) -> None:
    """Ramp limits on the schedule of each class that has one."""
    u, h = a.cols["u"], a.hours
    for j, flex in enumerate(a.problem.flex):
        if not np.isfinite(flex.ramp_mw_per_h) or a.problem.n_intervals < 2:
            continue
        step = flex.ramp_mw_per_h * h[:-1]
        ramp = a.add_rows(f"ramp{j}", (a.problem.n_intervals - 1,), -step, step)
        a.put(a.idx(ramp), a.idx(u)[j, 1:], 1.0)
        a.put(a.idx(ramp), a.idx(u)[j, :-1], -1.0)


def define_commitment(a: Assembly) -> None:
    """On/off of each committed class: power only while on, at least its minimum power, and
    minimum run and off times over its starts and stops (aggregated formulation)."""
    p, u = a.problem, a.cols["u"]
    t_n = p.n_intervals
    for j, flex in enumerate(p.flex):
        if not flex.committed:
            continue
        max_mw = np.asarray(flex.max_mw, dtype=float)
        on = a.add_cols(f"on{j}", (t_n,), 0.0, (max_mw > 0).astype(float), integer=True)
        start = a.add_cols(f"start{j}", (t_n,), 0.0, 1.0)
        stop = a.add_cols(f"stop{j}", (t_n,), 0.0, 1.0)
        onmax = a.add_rows(f"onmax{j}", (t_n,), -np.inf, 0.0)
        a.put(a.idx(onmax), a.idx(u)[j], 1.0)
        a.put(a.idx(onmax), a.idx(on), -max_mw)
        onmin = a.add_rows(f"onmin{j}", (t_n,), 0.0, np.inf)
        a.put(a.idx(onmin), a.idx(u)[j], 1.0)
        a.put(a.idx(onmin), a.idx(on), -flex.min_power_frac * max_mw)
        initial = np.zeros(t_n)
        initial[0] = 1.0  # on before the horizon
        switch = a.add_rows(f"switch{j}", (t_n,), initial, initial)
        a.put(a.idx(switch), a.idx(on), 1.0)
        a.put(a.idx(switch)[1:], a.idx(on)[:-1], -1.0)
        a.put(a.idx(switch), a.idx(start), -1.0)
        a.put(a.idx(switch), a.idx(stop), 1.0)
        for name, hours, moves, sign, bound in (
            ("minrun", flex.min_run_h, start, -1.0, 0.0),
            ("minoff", flex.min_off_h, stop, 1.0, 1.0),
        ):
            if hours <= 0:
                continue
            row_t, tau = np.nonzero(_within(a.hours, hours))
            rows = a.add_rows(f"{name}{j}", (t_n,), -np.inf, bound)
            a.put(a.idx(rows)[row_t], a.idx(moves)[tau], 1.0)
            a.put(a.idx(rows), a.idx(on), sign)


def _within(hours: np.ndarray, span_h: float) -> np.ndarray:
    """[T, T] mask: interval tau <= t starts less than ``span_h`` hours before interval t."""
    start = np.concatenate([[0.0], np.cumsum(hours)[:-1]])
    gap = start[:, None] - start[None, :]
    return (gap >= 0) & (gap < span_h - 1e-9)


def define_power(a: Assembly) -> None:
    """Real-time power of each class on its curve segments, within (or equal to) the schedule."""
    s_n, t_n = a.problem.n_scenarios, a.problem.n_intervals
    u = a.cols["u"]
    for j, flex in enumerate(a.problem.flex):
        width = flex.segments()[0]
        s_j = s_n if flex.rt_curtailable else 1
        max_mw = np.asarray(flex.max_mw, dtype=float)
        seg = a.add_cols(f"seg{j}", (s_j, t_n, width.size), 0.0, max_mw[:, None] * width[None, :])
        upper = np.inf if flex.rt_curtailable else 0.0
        sched = a.add_rows(f"sched{j}", (s_j, t_n), 0.0, upper)
        a.put(a.idx(sched), a.idx(u)[j][None, :], 1.0)
        a.put(a.idx(sched)[:, :, None], a.idx(seg), -1.0)


def define_work(a: Assembly) -> None:
    """Work requirement of each class that has one (the work before its deadline), with its
    shortfall (bounded to 0 if hard)."""
    h = a.hours
    for j, flex in enumerate(a.problem.flex):
        if flex.work_requirement_gpu_hours <= 0:
            continue
        slope = flex.segments()[1]
        seg = a.cols[f"seg{j}"]
        s_j = seg.shape[0]
        hard = not np.isfinite(flex.unserved_usd_per_gpu_hour)
        short = a.add_cols(f"short{j}", (s_j,), 0.0, 0.0 if hard else np.inf)
        need_mwh = flex.work_requirement_gpu_hours / flex.gpu_hours_per_mwh
        work = a.add_rows(f"work{j}", (s_j,), need_mwh, np.inf)
        due = flex.requirement_window  # work after the deadline does not count
        a.put(
            a.idx(work)[:, None, None],
            a.idx(seg)[:, due, :],
            h[due][None, :, None] * slope[None, None, :],
        )
        a.put(a.idx(work), a.idx(short), 1.0)


def define_dr(a: Assembly) -> None:
    """DR/AS capacity offered to each product (together within what can be curtailed) and its
    delivery when called."""
    p = a.problem
    if not p.offers_dr:
        return
    t_n = p.n_intervals
    dep_a, _, dep_t = a.deployed
    cell_s, cell_t, call_cell = a.called_cells
    r = a.add_cols("r", (p.n_dr, t_n), 0.0, np.maximum(p.dr_max_mw, 0.0)[:, None])
    d = a.add_cols("d", (dep_a.size,))
    drcap = a.add_rows("drcap", (t_n,), -np.inf, 0.0)
    drdel = a.add_rows("drdel", (cell_s.size,), 0.0, np.inf)
    a.put(a.idx(drcap)[None, :], a.idx(r), 1.0)
    a.put(a.idx(drdel)[call_cell], a.idx(d), 1.0)
    a.put(a.idx(drdel)[call_cell], a.idx(r)[dep_a, dep_t], -1.0)
    if p.n_dr > 1:
        short = a.add_rows("drshort", (dep_a.size,), -np.inf, 0.0)
        a.put(a.idx(short), a.idx(d), 1.0)
        a.put(a.idx(short), a.idx(r)[dep_a, dep_t], -1.0)
    u = a.cols["u"]
    for j, flex in enumerate(p.flex):
        if not flex.rt_curtailable:
            continue
        a.put(a.idx(drcap), a.idx(u)[j], -1.0)
        a.put(a.idx(drdel), a.idx(u)[j, cell_t], 1.0)
        a.put(a.idx(drdel)[:, None], a.idx(a.cols[f"seg{j}"])[cell_s, cell_t, :], -1.0)


def define_cost(a: Assembly) -> None:
    """The scenario cost c_s, one equality row per scenario: c_s - (variable part) = constant."""
    p = a.problem
    s_n, h = p.n_scenarios, a.hours
    c = a.add_cols("c", (s_n,), -np.inf, np.inf, np.asarray(p.probabilities, dtype=float))

    def constant() -> np.ndarray:
        lost_full = sum(
            (f.break_even_usd_per_mwh * float(h @ np.asarray(f.max_mw, float)) for f in p.flex),
            start=0.0,
        )
        return a.unit_cost @ p.firm_load_mw + lost_full / COST_UNIT_USD

    cost = a.add_rows("cost", (s_n,), constant, constant)
    row = a.idx(cost)
    a.put(row, a.idx(c), 1.0)
    put_hedge_cash(a, row)
    for j, flex in enumerate(p.flex):
        seg = a.cols[f"seg{j}"]
        value = flex.break_even_usd_per_mwh / COST_UNIT_USD * h[:, None] * flex.segments()[1]
        a.put(row[:, None, None], a.idx(seg), lambda v=value: v[None] - a.unit_cost[:, :, None])
        if f"short{j}" in a.cols and np.isfinite(flex.unserved_usd_per_gpu_hour):
            unserved = flex.unserved_usd_per_gpu_hour * flex.gpu_hours_per_mwh / COST_UNIT_USD
            a.put(row, a.idx(a.cols[f"short{j}"]), -unserved)
        if flex.committed and flex.stop_cost_usd > 0:
            stops = a.idx(a.cols[f"stop{j}"])
            a.put(row[:, None], stops[None, :], -flex.stop_cost_usd / COST_UNIT_USD)
    if "r" in a.cols:
        dep_a, dep_s, dep_t = a.deployed
        a.put(
            row[:, None, None],
            a.idx(a.cols["r"])[None],
            lambda: h * p.dr_price_usd_per_mw_h.transpose(1, 0, 2) / COST_UNIT_USD,  # [S, A, T]
        )
        penalty = -h[dep_t] * p.dr_penalty_usd_per_mwh[dep_a] / COST_UNIT_USD
        a.put(row[dep_s], a.idx(a.cols["d"]), penalty)


def put_hedge_cash(a: Assembly, row: np.ndarray) -> None:
    """Minus the hedges' net cash H_s (premiums paid less payoffs, k$) in the cost rows [S]."""
    p = a.problem
    payoff = _payoff_matrix(p)  # [S, K]
    ask = np.array([k.premium_usd_per_mw for k in p.products], dtype=float)
    a.put(row[:, None], a.idx(a.cols["xb"])[None, :], lambda: (payoff - ask) / COST_UNIT_USD)
    sellable = hedge_bounds(*product_limits(p))[2]
    bid = np.array([p.products[k].bid_usd_per_mw for k in sellable], dtype=float)
    a.put(
        row[:, None],
        a.idx(a.cols["xs"])[None, :],
        lambda: (bid - payoff[:, sellable]) / COST_UNIT_USD,
    )


def define_cvar(a: Assembly) -> None:
    """Rockafellar-Uryasev CVaR: eta, z_s >= c_s - eta; weighted by lambda in the penalty form."""
    s_n, o = a.problem.n_scenarios, a.options
    tail = np.asarray(a.problem.probabilities, dtype=float) / (1.0 - o.alpha)
    weight = 0.0 if o.budget_form else o.cvar_weight
    eta = a.add_cols("eta", (1,), -np.inf, np.inf, weight)
    z = a.add_cols("z", (s_n,), 0.0, np.inf, weight * tail)
    cvar = a.add_rows("cvar", (s_n,), 0.0, np.inf)
    a.put(a.idx(cvar), a.idx(z), 1.0)
    a.put(a.idx(cvar), a.idx(a.cols["c"]), -1.0)
    a.put(a.idx(cvar), a.idx(eta), 1.0)


def define_budget(a: Assembly) -> None:
    """Budget form only: CVaR (eta + sum_s p_s z_s / (1 - alpha)) at most the budget."""
    o = a.options
    if not o.budget_form:
        return
    tail = np.asarray(a.problem.probabilities, dtype=float) / (1.0 - o.alpha)
    budget = a.add_rows("budget", (1,), -np.inf, o.cvar_budget_usd / COST_UNIT_USD)
    a.put(a.idx(budget), a.idx(a.cols["eta"]), 1.0)
    a.put(a.idx(budget), a.idx(a.cols["z"]), tail)


FAMILIES = (
    define_hedges,
    define_hedge_ratio,
    define_schedule,
    define_ramp,
    define_commitment,
    define_power,
    define_work,
    define_dr,
    define_cost,
    define_cvar,
    define_budget,
)
"""The constraint families, in the order their columns and rows are laid out."""

OPERATIONS = (
    define_hedges,
    define_schedule,
    define_ramp,
    define_power,
    define_work,
    define_dr,
    define_cost,
)
"""The families of the operations alone: on a problem without products, the least c_s is the
operating cost of its scenarios (the subproblem of a term decomposition, ``optimize.term``)."""

Families = tuple[Callable[["Assembly"], None], ...]


def assemble(
    problem: HedgeProblem, options: SolveOptions, *, build: bool, families: Families = FAMILIES
) -> Assembly:
    """Run the families on a new ``Assembly`` (counting only, unless ``build``)."""
    a = Assembly(problem, options, build=build)
    for family in families:
        family(a)
    return a


def model_size(
    problem: HedgeProblem, options: SolveOptions, families: Families = FAMILIES
) -> dict[str, int]:
    """Columns, rows, structural nonzeros and integer columns of the model, counted by the
    families without building."""
    a = assemble(problem, options, build=False, families=families)
    integers = sum(b.size for b in a.integer_blocks)
    return {"columns": a.cols.n, "rows": a.rows.n, "nonzeros": a.nonzeros, "integers": integers}


def build_lp(
    problem: HedgeProblem, options: SolveOptions, families: Families = FAMILIES
) -> LinearProgram:
    """Assemble the LP of the module docstring with vectorised index arithmetic."""
    start = time.perf_counter()
    return assemble(problem, options, build=True, families=families).linear_program(start)


def fix_columns(lp: LinearProgram, values: dict[str, np.ndarray]) -> LinearProgram:
    """``lp`` with the named column blocks fixed at ``values`` (continuous: an LP if every
    integer block is fixed)."""
    lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
    fixed = [lp.cols[name].idx.ravel() for name in values]
    for idx, value in zip(fixed, values.values(), strict=True):
        lower[idx] = upper[idx] = np.asarray(value, dtype=float).ravel()
    integer = np.setdiff1d(lp.integer, np.concatenate(fixed)) if fixed else lp.integer
    return dataclasses.replace(lp, col_lower=lower, col_upper=upper, integer=integer)


def objective_k_usd(lp: LinearProgram, solver_objective: float, values: np.ndarray) -> float:
    """The solver's objective (k$) without the trade tie-break: E[C] (+ lambda * CVaR)."""
    traded = lp.cols["xb"].take(values).sum() + lp.cols["xs"].take(values).sum()
    return float(solver_objective - TRADE_TIE_BREAK * traded)


def hedge_bounds(
    min_mw: np.ndarray, max_mw: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split signed quantity bounds [K] (MW) into bought and sold sides.

    Returns ``buy_lo, buy_hi`` [K] (``[max(min_mw, 0), max(max_mw, 0)]``), ``sellable``
    (indices of the products with ``min_mw < 0``, the order of the sold columns) and
    ``sell_lo, sell_hi`` [Ks] (``[max(-max_mw, 0), -min_mw]``).
    """
    lo, hi = np.asarray(min_mw, dtype=float), np.asarray(max_mw, dtype=float)
    sellable = np.flatnonzero(lo < 0.0)
    buy = (np.maximum(lo, 0.0), np.maximum(hi, 0.0))
    return *buy, sellable, np.maximum(-hi[sellable], 0.0), -lo[sellable]


def product_limits(problem: HedgeProblem) -> tuple[np.ndarray, np.ndarray]:
    """``min_mw`` and ``max_mw`` of every product, [K] each (MW)."""
    lo = np.array([p.min_mw for p in problem.products], dtype=float)
    hi = np.array([p.max_mw for p in problem.products], dtype=float)
    return lo, hi


def _payoff_matrix(problem: HedgeProblem) -> np.ndarray:
    k_n = len(problem.products)
    payoff = [np.asarray(k.payoff_usd_per_mw, dtype=float) for k in problem.products]
    return np.stack(payoff, axis=1) if k_n else np.zeros((problem.n_scenarios, 0))


def _resolve(value: Values):
    return value() if callable(value) else value


def _flat(value: Values, block: Block) -> np.ndarray:
    return np.broadcast_to(np.asarray(_resolve(value), dtype=float), block.shape).ravel()
