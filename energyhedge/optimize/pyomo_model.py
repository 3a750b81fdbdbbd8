"""The reference formulation: the same LP (a MIP with committed job classes) as
``energyhedge.optimize.lp``, written in Pyomo.

Readable and solver-agnostic (one algebraic constraint per family), it is the cross-check of the
array build and the entry point for scenario decomposition: every second-stage variable carries
its scenario index. Pyomo builds it far more slowly than the arrays, so it is never on the
production path. This is the only module that imports Pyomo.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.contrib.solver.plugins  # noqa: F401  (registers the "highs" interface)
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition

from energyhedge.errors import SolverError
from energyhedge.model.problem import HedgeProblem
from energyhedge.optimize.hedge_ratio import ratio_rows
from energyhedge.optimize.lp import (
    COST_UNIT_USD,
    TRADE_TIE_BREAK,
    hedge_bounds,
    product_limits,
)
from energyhedge.optimize.options import SolveOptions


def build_pyomo(problem: HedgeProblem, options: SolveOptions) -> pyo.ConcreteModel:
    """The Pyomo model of the problem (variables and rows as in ``lp``'s module docstring)."""
    m = pyo.ConcreteModel(name="energyhedge")
    s_n, t_n = problem.n_scenarios, problem.n_intervals
    h = problem.interval_hours.tolist()
    price = problem.prices_usd_per_mwh.tolist()
    cp = problem.cp_weight_usd_per_mw.tolist()
    prob = problem.probabilities.tolist()
    firm = problem.firm_load_mw.tolist()
    flex = problem.flex
    curves = [f.segments() for f in flex]
    max_mw = [np.asarray(f.max_mw, dtype=float).tolist() for f in flex]
    offered = problem.dr_max_mw > 0
    calls = [  # (product, scenario, interval) of each call of a product that may be offered
        (int(a), int(s), int(t))
        for a, s, t in np.argwhere(problem.dr_deployed & offered[:, None, None])
    ]

    m.S = pyo.RangeSet(0, s_n - 1)
    m.T = pyo.RangeSet(0, t_n - 1)
    m.K = pyo.RangeSet(0, len(problem.products) - 1)
    m.J = pyo.RangeSet(0, len(flex) - 1)
    m.JR = pyo.Set(initialize=[j for j, f in enumerate(flex) if f.work_requirement_gpu_hours > 0])

    def own(j: int) -> range:
        """Scenarios that carry class j's real-time power: all, or one for day-ahead-only."""
        return range(s_n) if flex[j].rt_curtailable else range(1)

    def sc(j: int, s: int) -> int:
        return s if flex[j].rt_curtailable else 0

    m.SEG = pyo.Set(
        dimen=4,
        initialize=[
            (s, t, j, k)
            for j, c in enumerate(curves)
            for s in own(j)
            for t in range(t_n)
            for k in range(c[0].size)
        ],
    )
    m.SCHED = pyo.Set(
        dimen=3,
        initialize=[(s, j, t) for j in range(len(flex)) for s in own(j) for t in range(t_n)],
    )
    m.JS = pyo.Set(dimen=2, initialize=[(j, s) for j in m.JR for s in own(j)])
    m.A = pyo.RangeSet(0, problem.n_dr - 1)
    m.CALL = pyo.Set(initialize=calls, dimen=3)
    called_in = {}  # (s, t) -> the products called there
    calls_in = {s: [] for s in range(s_n)}  # s -> its calls (a, t)
    for a, s, t in calls:
        called_in.setdefault((s, t), []).append(a)
        calls_in[s].append((a, t))
    m.CELL = pyo.Set(initialize=sorted(called_in), dimen=2)

    products = problem.products
    buy_lo, buy_hi, sellable, sell_lo, sell_hi = hedge_bounds(*product_limits(problem))
    m.KS = pyo.Set(initialize=sellable.tolist())
    m.xb = pyo.Var(m.K, bounds=lambda _, k: (float(buy_lo[k]), _finite(buy_hi[k])))
    sell_bounds = {
        int(k): (float(lo), _finite(hi))
        for k, lo, hi in zip(sellable, sell_lo, sell_hi, strict=True)
    }
    m.xs = pyo.Var(m.KS, bounds=lambda _, k: sell_bounds[k])
    ratio = ratio_rows(problem, options.hedge_ratio)

    def ratio_rule(mdl, r):
        net = sum(ratio[r].share[k] * mdl.xb[k] for k in mdl.K)
        net -= sum(ratio[r].share[k] * mdl.xs[k] for k in mdl.KS)
        return pyo.inequality(ratio[r].lower_mw, net, ratio[r].upper_mw)

    m.hedge_ratio = pyo.Constraint(range(len(ratio)), rule=ratio_rule)
    m.u = pyo.Var(m.J, m.T, bounds=lambda _, j, t: (0.0, max_mw[j][t]))
    m.r = pyo.Var(m.A, m.T, bounds=lambda _, a, t: (0.0, max(float(problem.dr_max_mw[a]), 0.0)))
    m.eta = pyo.Var()
    m.seg = pyo.Var(m.SEG, bounds=lambda _, s, t, j, k: (0.0, curves[j][0][k] * max_mw[j][t]))
    hard = {j: not np.isfinite(flex[j].unserved_usd_per_gpu_hour) for j in m.JR}
    m.short = pyo.Var(m.JS, bounds=lambda _, j, s: (0.0, 0.0 if hard[j] else None))
    m.d = pyo.Var(m.CALL, bounds=(0.0, None))
    m.c = pyo.Var(m.S)
    m.z = pyo.Var(m.S, bounds=(0.0, None))

    def power(mdl, s, j, t):
        return sum(mdl.seg[sc(j, s), t, j, k] for k in range(curves[j][0].size))

    def throughput(mdl, s, j, t):
        slope = curves[j][1]
        return sum(slope[k] * mdl.seg[sc(j, s), t, j, k] for k in range(slope.size))

    m.grid = pyo.Constraint(
        m.T, rule=lambda mdl, t: sum(mdl.u[j, t] for j in mdl.J) <= problem.grid_limit_mw - firm[t]
    )

    def ramp_rule(mdl, j, t):
        if t == 0 or not np.isfinite(flex[j].ramp_mw_per_h):
            return pyo.Constraint.Skip
        limit = flex[j].ramp_mw_per_h * h[t - 1]
        return pyo.inequality(-limit, mdl.u[j, t] - mdl.u[j, t - 1], limit)

    m.ramp = pyo.Constraint(m.J, m.T, rule=ramp_rule)
    rt = [j for j, f in enumerate(flex) if f.rt_curtailable]
    m.drcap = pyo.Constraint(
        m.T, rule=lambda mdl, t: sum(mdl.r[a, t] for a in mdl.A) <= sum(mdl.u[j, t] for j in rt)
    )

    def sched_rule(mdl, s, j, t):
        if flex[j].rt_curtailable:
            return power(mdl, s, j, t) <= mdl.u[j, t]
        return power(mdl, s, j, t) == mdl.u[j, t]

    m.sched = pyo.Constraint(m.SCHED, rule=sched_rule)
    committed = [j for j, f in enumerate(flex) if f.committed]
    m.JC = pyo.Set(initialize=committed)
    m.on = pyo.Var(
        m.JC, m.T, domain=pyo.Binary, bounds=lambda _, j, t: (0, 1 if max_mw[j][t] > 0 else 0)
    )
    m.start = pyo.Var(m.JC, m.T, bounds=(0.0, 1.0))
    m.stop = pyo.Var(m.JC, m.T, bounds=(0.0, 1.0))
    m.onmax = pyo.Constraint(
        m.JC, m.T, rule=lambda mdl, j, t: mdl.u[j, t] <= max_mw[j][t] * mdl.on[j, t]
    )
    m.onmin = pyo.Constraint(
        m.JC,
        m.T,
        rule=lambda mdl, j, t: mdl.u[j, t] >= flex[j].min_power_frac * max_mw[j][t] * mdl.on[j, t],
    )
    m.switch = pyo.Constraint(
        m.JC,
        m.T,
        rule=lambda mdl, j, t: (
            mdl.on[j, t] - (1 if t == 0 else mdl.on[j, t - 1]) == mdl.start[j, t] - mdl.stop[j, t]
        ),
    )
    began = [sum(h[:t]) for t in range(t_n)]  # hours from the horizon's start to interval t

    def recent(t: int, span_h: float) -> list[int]:
        """Intervals tau <= t that start less than span_h hours before interval t."""
        return [tau for tau in range(t + 1) if began[t] - began[tau] < span_h - 1e-9]

    def min_run_rule(mdl, j, t):
        if flex[j].min_run_h <= 0:
            return pyo.Constraint.Skip
        return sum(mdl.start[j, tau] for tau in recent(t, flex[j].min_run_h)) <= mdl.on[j, t]

    def min_off_rule(mdl, j, t):
        if flex[j].min_off_h <= 0:
            return pyo.Constraint.Skip
        return sum(mdl.stop[j, tau] for tau in recent(t, flex[j].min_off_h)) <= 1 - mdl.on[j, t]

    m.minrun = pyo.Constraint(m.JC, m.T, rule=min_run_rule)
    m.minoff = pyo.Constraint(m.JC, m.T, rule=min_off_rule)

    def due(j):  # the intervals whose work counts toward the requirement (before the deadline)
        return range(problem.n_intervals)[flex[j].requirement_window]

    m.work = pyo.Constraint(
        m.JS,
        rule=lambda mdl, j, s: (
            sum(h[t] * throughput(mdl, s, j, t) for t in due(j)) + mdl.short[j, s]
            >= flex[j].work_requirement_gpu_hours / flex[j].gpu_hours_per_mwh
        ),
    )
    m.drdel = pyo.Constraint(
        m.CELL,
        rule=lambda mdl, s, t: (
            sum(mdl.u[j, t] - power(mdl, s, j, t) for j in rt)
            + sum(mdl.d[a, s, t] for a in called_in[s, t])
            >= sum(mdl.r[a, t] for a in called_in[s, t])
        ),
    )
    m.drshort = pyo.Constraint(
        m.CALL,
        rule=lambda mdl, a, s, t: (
            mdl.d[a, s, t] <= mdl.r[a, t] if problem.n_dr > 1 else pyo.Constraint.Skip
        ),
    )

    def cost_rule(mdl, s):
        load = sum(
            (h[t] * price[s][t] + cp[s][t]) * (firm[t] + sum(power(mdl, s, j, t) for j in mdl.J))
            for t in mdl.T
        )
        payoff = [float(k.payoff_usd_per_mw[s]) for k in products]
        hedges = sum(mdl.xb[k] * (products[k].premium_usd_per_mw - payoff[k]) for k in mdl.K)
        hedges += sum(mdl.xs[k] * (payoff[k] - products[k].bid_usd_per_mw) for k in mdl.KS)
        dr_price = problem.dr_price_usd_per_mw_h[:, s]
        dr = -sum(h[t] * float(dr_price[a, t]) * mdl.r[a, t] for a in mdl.A for t in mdl.T)
        penalty = problem.dr_penalty_usd_per_mwh
        dr += sum(h[t] * float(penalty[a]) * mdl.d[a, s, t] for a, t in calls_in[s])
        lost = 0.0
        for j, f in enumerate(flex):
            break_even = f.value_usd_per_gpu_hour * f.gpu_hours_per_mwh
            lost += break_even * sum(
                h[t] * (max_mw[j][t] - throughput(mdl, s, j, t)) for t in mdl.T
            )
            if j in mdl.JR and not hard[j]:
                lost += f.unserved_usd_per_gpu_hour * f.gpu_hours_per_mwh * mdl.short[j, sc(j, s)]
        restarts = sum(flex[j].stop_cost_usd * mdl.stop[j, t] for j in mdl.JC for t in mdl.T)
        return mdl.c[s] == load + hedges + dr + lost + restarts

    m.cost = pyo.Constraint(m.S, rule=cost_rule)
    m.cvar = pyo.Constraint(m.S, rule=lambda mdl, s: mdl.z[s] >= mdl.c[s] - mdl.eta)
    tail = [p / (1.0 - options.alpha) for p in prob]
    cvar = m.eta + sum(tail[s] * m.z[s] for s in m.S)
    expected = sum(prob[s] * m.c[s] for s in m.S)
    m.traded = pyo.Expression(expr=sum(m.xb[k] for k in m.K) + sum(m.xs[k] for k in m.KS))
    tie_break = TRADE_TIE_BREAK * COST_UNIT_USD * m.traded
    if options.budget_form:
        m.budget = pyo.Constraint(expr=cvar <= options.cvar_budget_usd)
        m.objective = pyo.Objective(expr=expected + tie_break, sense=pyo.minimize)
    else:
        m.objective = pyo.Objective(
            expr=expected + options.cvar_weight * cvar + tie_break, sense=pyo.minimize
        )
    return m


def solve_pyomo(problem: HedgeProblem, options: SolveOptions) -> dict:
    """Build and solve the Pyomo model with HiGHS: objective (without the trade tie-break),
    product MW (bought minus sold), scenario costs, times."""
    start = time.perf_counter()
    model = build_pyomo(problem, options)
    build_s = time.perf_counter() - start
    solver = SolverFactory("highs")
    start = time.perf_counter()
    results = solver.solve(
        model,
        time_limit=options.time_limit_s,
        rel_gap=options.mip_rel_gap,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
    )
    solve_s = time.perf_counter() - start
    if results.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
        raise SolverError(f"Pyomo/HiGHS: {results.termination_condition.name}")
    results.solution_loader.load_vars()
    return {
        "objective_usd": float(
            pyo.value(model.objective) - TRADE_TIE_BREAK * COST_UNIT_USD * pyo.value(model.traded)
        ),
        "product_mw": np.array(
            [
                pyo.value(model.xb[k]) - (pyo.value(model.xs[k]) if k in model.KS else 0.0)
                for k in model.K
            ]
        ),
        "scenario_cost_usd": np.array([pyo.value(model.c[s]) for s in model.S]),
        "build_s": build_s,
        "solve_s": solve_s,
    }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
