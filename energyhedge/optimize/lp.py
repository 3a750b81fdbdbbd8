"""The extensive-form LP of a ``HedgeProblem`` as numpy/scipy.sparse arrays (the fast path).

Columns (first stage, shared by all scenarios):
    x[K]          product MW                 [min_mw, max_mw]
    u[J, T]       day-ahead schedule, MW     [0, max_mw_jt]
    r[T]          DR capacity offered, MW    [0, dr_max_mw]       (only if dr_max_mw > 0)
    eta           VaR level of the CVaR term, k$ (free)
Columns (second stage, per scenario s):
    seg{j}[S_j, T, M_j]  power class j draws on curve segment m, MW  [0, width_m * max_mw_jt];
                       the power is p_jst = sum_m seg, the throughput (in MW of full-speed work)
                       sum_m slope_m * seg: concave curve, so the LP fills steep segments first
                       and the formulation is exact, with one row per (s, j, t) instead of one
                       per segment. S_j = S for real-time curtailable classes; S_j = 1 for
                       the others, whose power is the schedule in every scenario (first stage).
    short{j}[S_j]      work-requirement shortfall, MWh of full-speed work (classes with one)
    d[D]               DR shortfall, MW, one per deployed (s, t)
    c[S]               scenario cost C_s, k$ (free)
    z[S]               CVaR excess max(C_s - eta, 0), k$
Rows:
    grid[T]        sum_j u_jt <= grid_limit - firm_t
    ramp{j}[T-1]   |u_jt - u_j,t-1| <= ramp_j * h_{t-1}
    drcap[T]       r_t <= sum of u_jt over real-time curtailable classes
    sched{j}[S_j,T]  p_jst <= u_jt (real-time curtailable) or p_jt = u_jt (not)
    work{j}[S_j]   sum_t h_t * throughput_jst + short_js >= requirement_j / gpu_hours_per_mwh_j
    drdel[D]       sum_j (u_jt - p_jst) + d_st >= r_t where DR is deployed
    cost[S]        c_s = the scenario cost of ``energyhedge.model.problem``
    cvar[S]        z_s >= c_s - eta
    budget[1]      eta + sum_s p_s z_s / (1 - alpha) <= budget    (budget form only)
Objective: sum_s p_s c_s (+ lambda * (eta + sum_s p_s z_s / (1 - alpha)) in the penalty form).
Costs are in thousands of dollars inside the LP (``COST_UNIT_USD``) to keep HiGHS well scaled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from energyhedge.optimize.index import Layout
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.prechecks import curve_segments
from energyhedge.model.problem import HedgeProblem

COST_UNIT_USD = 1000.0
"""Dollars per unit of the cost columns c, z, eta and of the objective."""


@dataclass(frozen=True)
class LinearProgram:
    """min cost @ v  s.t.  row_lower <= matrix @ v <= row_upper,  col_lower <= v <= col_upper."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    matrix: sparse.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    cols: Layout
    rows: Layout
    build_s: float

    @property
    def nonzeros(self) -> int:
        return int(self.matrix.nnz)


def model_size(problem: HedgeProblem, options: SolveOptions) -> dict[str, int]:
    """Columns, rows and (structural) nonzeros of the LP, computed without building it."""
    cols, rows = _layouts(problem, options)
    s, t, k = problem.n_scenarios, problem.n_intervals, len(problem.products)
    n_dep = int(np.count_nonzero(problem.dr_deployed)) if problem.dr_max_mw > 0 else 0
    has_dr = problem.dr_max_mw > 0
    nnz = 0
    if problem.flex:
        nnz += len(problem.flex) * t
    for j, flex in enumerate(problem.flex):
        m = curve_segments(flex)[0].size
        s_j = s if flex.rt_curtailable else 1
        nnz += 2 * rows[f"ramp{j}"].size if f"ramp{j}" in rows else 0
        nnz += s_j * t * (1 + m) + s * t * m  # sched rows, cost rows
        if f"work{j}" in rows:
            nnz += s_j * t * m + s_j + (s if np.isfinite(flex.unserved_usd_per_gpu_hour) else 0)
        if has_dr and flex.rt_curtailable:
            nnz += t + n_dep * (1 + m)
    if has_dr:
        nnz += t + 2 * n_dep + s * t + n_dep
    nnz += s + s * k + 3 * s
    if options.budget_form:
        nnz += 1 + s
    return {"columns": cols.n, "rows": rows.n, "nonzeros": nnz}


def build_lp(problem: HedgeProblem, options: SolveOptions) -> LinearProgram:
    """Assemble the LP of the module docstring with vectorised index arithmetic."""
    start = time.perf_counter()
    cols, rows = _layouts(problem, options)
    s_n = problem.n_scenarios
    h = np.asarray(problem.interval_hours, dtype=float)
    prob = np.asarray(problem.probabilities, dtype=float)
    unit_cost = (h * problem.prices_usd_per_mwh + problem.cp_weight_usd_per_mw) / COST_UNIT_USD
    has_dr = "r" in cols
    dep_s, dep_t = np.nonzero(problem.dr_deployed) if has_dr else (None, None)

    lo = np.zeros(cols.n)
    hi = np.full(cols.n, np.inf)
    cost = np.zeros(cols.n)
    row_lo = np.full(rows.n, -np.inf)
    row_hi = np.full(rows.n, np.inf)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def put(row, col, val) -> None:
        row, col, val = np.broadcast_arrays(row, col, val)
        parts.append((row.ravel(), col.ravel(), val.ravel().astype(float)))

    def bound(block, lower, upper) -> None:
        lo[block.idx] = lower
        hi[block.idx] = upper

    x, u, eta, c, z = cols["x"], cols["u"], cols["eta"], cols["c"], cols["z"]
    bound(x, [p.min_mw for p in problem.products], [p.max_mw for p in problem.products])
    bound(u, 0.0, np.array([f.max_mw for f in problem.flex], dtype=float).reshape(u.shape))
    bound(eta, -np.inf, np.inf)
    bound(c, -np.inf, np.inf)
    cost_row = rows["cost"].idx

    # Scenario cost row: c_s - (variable part of C_s) = constant part of C_s.
    put(cost_row, c.idx, 1.0)
    premium = np.array([p.premium_usd_per_mw for p in problem.products], dtype=float)
    payoff = np.array([p.payoff_usd_per_mw for p in problem.products], dtype=float).reshape(
        len(problem.products), s_n
    )
    put(cost_row[:, None], x.idx[None, :], (payoff.T - premium[None, :]) / COST_UNIT_USD)
    constant = unit_cost @ problem.firm_load_mw
    if problem.flex:
        grid = rows["grid"]
        put(grid.idx[None, :], u.idx, 1.0)
        row_hi[grid.idx] = problem.grid_limit_mw - problem.firm_load_mw

    for j, flex in enumerate(problem.flex):
        width, slope = curve_segments(flex)
        max_mw = np.asarray(flex.max_mw, dtype=float)
        seg, sched = cols[f"seg{j}"], rows[f"sched{j}"]
        bound(seg, 0.0, (max_mw[:, None] * width[None, :])[None, :, :])
        break_even = flex.value_usd_per_gpu_hour * flex.gpu_hours_per_mwh / COST_UNIT_USD
        constant = constant + break_even * float(h @ max_mw)
        put(
            cost_row[:, None, None],
            seg.idx,
            break_even * h[None, :, None] * slope[None, None, :] - unit_cost[:, :, None],
        )
        put(sched.idx, u.idx[j][None, :], 1.0)
        put(sched.idx[:, :, None], seg.idx, -1.0)
        row_lo[sched.idx] = 0.0
        row_hi[sched.idx] = np.inf if flex.rt_curtailable else 0.0
        if f"ramp{j}" in rows:
            ramp = rows[f"ramp{j}"]
            put(ramp.idx, u.idx[j, 1:], 1.0)
            put(ramp.idx, u.idx[j, :-1], -1.0)
            row_lo[ramp.idx] = -flex.ramp_mw_per_h * h[:-1]
            row_hi[ramp.idx] = flex.ramp_mw_per_h * h[:-1]
        if f"work{j}" in rows:
            work, short = rows[f"work{j}"], cols[f"short{j}"]
            put(work.idx[:, None, None], seg.idx, h[None, :, None] * slope[None, None, :])
            put(work.idx, short.idx, 1.0)
            row_lo[work.idx] = flex.work_requirement_gpu_hours / flex.gpu_hours_per_mwh
            if np.isfinite(flex.unserved_usd_per_gpu_hour):
                unserved = flex.unserved_usd_per_gpu_hour * flex.gpu_hours_per_mwh
                put(cost_row, short.idx, -unserved / COST_UNIT_USD)
            else:
                hi[short.idx] = 0.0
        if has_dr and flex.rt_curtailable:
            drcap, drdel = rows["drcap"], rows["drdel"]
            put(drcap.idx, u.idx[j], -1.0)
            put(drdel.idx, u.idx[j, dep_t], 1.0)
            put(drdel.idx[:, None], seg.idx[dep_s, dep_t, :], -1.0)

    if has_dr:
        r, d, drcap, drdel = cols["r"], cols["d"], rows["drcap"], rows["drdel"]
        bound(r, 0.0, problem.dr_max_mw)
        put(drcap.idx, r.idx, 1.0)
        row_hi[drcap.idx] = 0.0
        put(drdel.idx, d.idx, 1.0)
        put(drdel.idx, r.idx[dep_t], -1.0)
        row_lo[drdel.idx] = 0.0
        dr_revenue = h * problem.dr_price_usd_per_mw_h / COST_UNIT_USD
        put(cost_row[:, None], r.idx[None, :], dr_revenue[None, :])
        put(cost_row[dep_s], d.idx, -h[dep_t] * problem.dr_penalty_usd_per_mwh / COST_UNIT_USD)
    row_lo[cost_row] = constant
    row_hi[cost_row] = constant

    cvar = rows["cvar"]
    put(cvar.idx, z.idx, 1.0)
    put(cvar.idx, c.idx, -1.0)
    put(cvar.idx, eta.idx, 1.0)
    row_lo[cvar.idx] = 0.0
    tail = prob / (1.0 - options.alpha)
    cost[c.idx] = prob
    if options.budget_form:
        budget = rows["budget"]
        put(budget.idx, eta.idx, 1.0)
        put(budget.idx, z.idx, tail)
        row_hi[budget.idx] = options.cvar_budget_usd / COST_UNIT_USD
    else:
        cost[eta.idx] = options.cvar_weight
        cost[z.idx] = options.cvar_weight * tail

    row_i, col_i, val = (np.concatenate(a) for a in zip(*parts, strict=True))
    matrix = sparse.csc_array((val, (row_i, col_i)), shape=(rows.n, cols.n))
    matrix.eliminate_zeros()
    return LinearProgram(
        cost, lo, hi, matrix, row_lo, row_hi, cols, rows, time.perf_counter() - start
    )


def _layouts(problem: HedgeProblem, options: SolveOptions) -> tuple[Layout, Layout]:
    s, t = problem.n_scenarios, problem.n_intervals
    has_dr = problem.dr_max_mw > 0
    n_dep = int(np.count_nonzero(problem.dr_deployed)) if has_dr else 0
    cols, rows = Layout(), Layout()
    cols.add("x", (len(problem.products),))
    cols.add("u", (len(problem.flex), t))
    if has_dr:
        cols.add("r", (t,))
    cols.add("eta", (1,))
    if problem.flex:
        rows.add("grid", (t,))
    if has_dr:
        rows.add("drcap", (t,))
    for j, flex in enumerate(problem.flex):
        s_j = s if flex.rt_curtailable else 1
        cols.add(f"seg{j}", (s_j, t, curve_segments(flex)[0].size))
        rows.add(f"sched{j}", (s_j, t))
        if np.isfinite(flex.ramp_mw_per_h) and t > 1:
            rows.add(f"ramp{j}", (t - 1,))
        if flex.work_requirement_gpu_hours > 0:
            cols.add(f"short{j}", (s_j,))
            rows.add(f"work{j}", (s_j,))
    if has_dr:
        cols.add("d", (n_dep,))
        rows.add("drdel", (n_dep,))
    cols.add("c", (s,))
    cols.add("z", (s,))
    rows.add("cost", (s,))
    rows.add("cvar", (s,))
    if options.budget_form:
        rows.add("budget", (1,))
    return cols, rows
