"""``solve``: prechecks, array build, one HiGHS call (a second one to trade in lots, see
``energyhedge.optimize.lots``), and the by-products for the report."""

from __future__ import annotations

import dataclasses

import numpy as np

from energyhedge.errors import InfeasibleError, SolverError
from energyhedge.model.cost import cost_breakdown, product_cash_usd
from energyhedge.model.measures import risk_measures, tail_weights, var_cvar
from energyhedge.model.problem import Decision, HedgeProblem
from energyhedge.optimize.hedge_ratio import ratio_results, ratio_rows
from energyhedge.optimize.highs import HighsRunner, LpResult
from energyhedge.optimize.lots import has_lots, solve_in_lots
from energyhedge.optimize.lp import (
    COST_UNIT_USD,
    LinearProgram,
    build_lp,
    fix_columns,
    hedge_bounds,
    model_size,
    objective_k_usd,
    product_limits,
)
from energyhedge.optimize.notional import least_notional_mw
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.prechecks import check_problem, max_deliverable_mw
from energyhedge.optimize.solution import Solution


def solve(problem: HedgeProblem, options: SolveOptions | None = None) -> Solution:
    """Optimal hedges, schedule and DR offer for ``problem`` (see ``energyhedge.optimize.lp``).

    With committed job classes the model is a MIP; every dual-based by-product (work values,
    hedge-ratio and budget shadow prices) and the value of flexible MW are then measured on the
    LP with the commitment fixed at the MIP's solution (``energyhedge.optimize.highs``).

    Raises
    ------
    InfeasibleError
        The campus cannot meet its constraints (explained in campus terms), or the CVaR budget
        is below the lowest CVaR reachable.
    SolverError
        HiGHS failed, or stopped at the time limit without a feasible point.
    """
    options = options or SolveOptions()
    solution = _solve_once(problem, options)
    if has_lots(problem):
        problem, solution = solve_in_lots(
            problem, solution, lambda fixed: _solve_once(fixed, options)
        )
    if options.marginals and solution.status == "Optimal":
        flex_value = {
            f.name: solution.objective_usd
            - _objective_with_flex_mw(problem, options, j, solution.commitment)
            for j, f in enumerate(problem.flex)
        }
        solution = dataclasses.replace(solution, flex_value_usd_per_mw=flex_value)
    return solution


def _solve_once(problem: HedgeProblem, options: SolveOptions) -> Solution:
    """Prechecks, the size guard, one build and one HiGHS call."""
    check_problem(problem)
    size = model_size(problem, options)
    if size["nonzeros"] > options.max_nonzeros:
        raise SolverError(
            f"the stochastic program would have {size['columns']:,} columns, {size['rows']:,} "
            f"rows and {size['nonzeros']:,} nonzeros, above the limit of "
            f"{options.max_nonzeros:,}; for a horizon of months make it a term run ([term] "
            "months in the run profile), which --engine decomposed solves scenario by scenario, "
            "else use fewer scenarios or a shorter horizon"
        )
    lp = build_lp(problem, options)
    runner = HighsRunner.for_options(lp, options)
    result = runner.run()
    _raise_unless_solved(problem, options, result)
    return make_solution(problem, options, lp, result)


def make_solution(
    problem: HedgeProblem, options: SolveOptions, lp: LinearProgram, result: LpResult
) -> Solution:
    """Turn LP values into a Decision, in-sample costs and the cheap by-products."""
    v = result.values
    cols = lp.cols
    s_n, t_n = problem.n_scenarios, problem.n_intervals
    traded = cols["xb"].take(v).copy()
    traded[hedge_bounds(*product_limits(problem))[2]] -= cols["xs"].take(v)
    decision = Decision(
        product_mw=least_notional_mw(problem, traded),
        schedule_mw=cols["u"].take(v).copy(),
        dr_mw=cols["r"].take(v).copy() if "r" in cols else problem.no_dr_offer(),
        follows_ladder=True,
        work_value_usd_per_gpu_hour=_work_values(problem, lp, result),
    )
    power_mw = np.empty((len(problem.flex), s_n, t_n))
    for j in range(len(problem.flex)):
        power_mw[j] = cols[f"seg{j}"].take(v).sum(axis=2)  # [S_j, T], S_j = 1 broadcast
    cost = cost_breakdown(problem, decision, power_mw=power_mw).total_cost_usd
    prob = problem.probabilities
    measures = risk_measures(cost, prob, options.alpha)
    cash = product_cash_usd(problem, decision.product_mw)  # [S, K]
    without = cost[:, None] - cash
    ratio = ()
    if "hedge_ratio" in lp.rows:
        duals = lp.rows["hedge_ratio"].take(result.row_dual) * COST_UNIT_USD
        ratio = ratio_results(ratio_rows(problem, options.hedge_ratio), decision.product_mw, duals)
    budget_price = None
    if options.budget_form:
        budget_price = float(-lp.rows["budget"].take(result.row_dual)[0])
    objective_usd = objective_k_usd(lp, result.record["objective"], v) * COST_UNIT_USD
    record = {
        **result.record,
        "objective": objective_usd,
        "columns": lp.cols.n,
        "rows": lp.rows.n,
        "nonzeros": lp.nonzeros,
    }
    if result.relaxation is not None:
        record["commitment"] = _commitment_record(lp, result, objective_usd)
    return Solution(
        decision=decision,
        status=result.status,
        objective_usd=float(objective_usd),
        alpha=options.alpha,
        scenario_cost_usd=cost,
        power_mw=power_mw,
        expected_cost_usd=measures.expected_usd,
        var_usd=measures.var_usd,
        cvar_usd=measures.cvar_usd,
        solver=record,
        cvar_budget_price_usd_per_usd=budget_price,
        product_cvar_contribution_usd=tail_weights(cost, prob, options.alpha) @ cash,
        product_cvar_without_usd=np.array(
            [var_cvar(without[:, k], prob, options.alpha)[1] for k in range(cash.shape[1])]
        ),
        notes=_notes(problem, result),
        hedge_ratio=ratio,
        commitment={
            f.name: cols[f"on{j}"].take(v) > 0.5 for j, f in enumerate(problem.flex) if f.committed
        },
    )


def _commitment_record(lp: LinearProgram, result: LpResult, objective_usd: float) -> dict:
    """The MIP's part of the solver record in $: LP relaxation and MIP bounds, gap, nodes.

    The bound and the relaxation are lower bounds of ``objective_usd`` (up to the gap); the
    trade tie-break is taken out of each as out of the objective.
    """
    mip = result.record["commitment"]
    relaxed = result.relaxation
    relaxation_usd = objective_k_usd(lp, relaxed.record["objective"], relaxed.values)
    bound_usd = objective_k_usd(lp, mip["mip_dual_bound"], result.values)
    return {
        "mip_rel_gap_limit": mip["mip_rel_gap"],
        "mip_gap": mip["mip_gap"],
        "mip_nodes": mip["mip_nodes"],
        "integer_columns": mip["integer_columns"],
        "objective_usd": objective_usd,
        "mip_dual_bound_usd": bound_usd * COST_UNIT_USD,
        "lp_relaxation_usd": relaxation_usd * COST_UNIT_USD,
        "relaxation_gap_usd": objective_usd - relaxation_usd * COST_UNIT_USD,
        "solve_s": {
            "relaxation": mip["relaxation_solve_s"],
            "mip": mip["mip_solve_s"],
            "fixed_lp": mip["fixed_lp_solve_s"],
        },
        "duals": "from the LP with the commitment fixed at the MIP's solution",
    }


def _work_values(problem: HedgeProblem, lp: LinearProgram, result: LpResult) -> np.ndarray | None:
    """Shadow price of each class's work requirement ($/GPU-h, [J]): how much the objective
    rises per GPU-hour more required, summed over the scenario rows (their probabilities are in
    the objective); None when no class has a requirement."""
    if not any(f"work{j}" in lp.rows for j in range(len(problem.flex))):
        return None
    out = np.zeros(len(problem.flex))
    for j, flex in enumerate(problem.flex):
        if f"work{j}" in lp.rows:
            dual = float(lp.rows[f"work{j}"].take(result.row_dual).sum()) * COST_UNIT_USD
            out[j] = max(dual, 0.0) / flex.gpu_hours_per_mwh
    return out


def min_cvar_usd(problem: HedgeProblem, options: SolveOptions) -> float:
    """The lowest CVaR_alpha the campus and catalogue can reach ($), ignoring the mean."""
    pure = dataclasses.replace(options, cvar_budget_usd=None, cvar_weight=1.0)
    lp = build_lp(problem, pure)
    runner = HighsRunner.for_options(lp, options)
    runner.change_costs(lp.cols["c"].idx, np.zeros(problem.n_scenarios))
    result = runner.run()
    if not result.optimal:
        raise SolverError(f"could not compute the lowest reachable CVaR ({result.status})")
    return objective_k_usd(lp, result.record["objective"], result.values) * COST_UNIT_USD


def _raise_unless_solved(problem: HedgeProblem, options: SolveOptions, result: LpResult) -> None:
    """Explain an infeasible or unbounded LP in campus terms (prechecks have passed)."""
    if result.infeasible and options.budget_form:
        pure = dataclasses.replace(options, cvar_budget_usd=None)
        floor_lp = HighsRunner.for_options(build_lp(problem, pure), options)
        if not floor_lp.run().infeasible:  # the campus itself is feasible: the budget is not
            floor = min_cvar_usd(problem, options)
            raise InfeasibleError(
                f"CVaR budget ${options.cvar_budget_usd:,.0f} is below the lowest CVaR this "
                f"campus and catalogue can reach at alpha {options.alpha:g}: ${floor:,.0f}; "
                "raise the budget or add hedge products"
            )
    if result.infeasible and options.hedge_ratio:
        free = dataclasses.replace(options, hedge_ratio=())
        lp = build_lp(problem, free)
        if not HighsRunner.for_options(lp, options).run().infeasible:
            limits = ", ".join(f"{r.shape} [{r.lower:g}, {r.upper:g}]" for r in options.hedge_ratio)
            raise InfeasibleError(
                f"the hedge-ratio limits ({limits} of expected load) cannot all be met with the "
                "catalogue's block products within their MW bounds (or lots); widen "
                "[risk.hedge_ratio] in the run profile or raise the products' max_mw/min_mw"
            )
    if result.infeasible:
        hard = [
            f.name
            for f in problem.flex
            if f.work_requirement_gpu_hours > 0 and not np.isfinite(f.unserved_usd_per_gpu_hour)
        ]
        ramped = [f.name for f in problem.flex if np.isfinite(f.ramp_mw_per_h)]
        committed = [
            f"{f.name} (run {f.min_run_h:g} h, off {f.min_off_h:g} h, at least "
            f"{f.min_power_frac:.0%} while on)"
            for f in problem.flex
            if f.committed
        ]
        raise InfeasibleError(
            "the campus constraints cannot all hold: hard work requirements of "
            f"{', '.join(hard) or 'no class'} cannot be met within the ramp limits of "
            f"{', '.join(ramped) or 'no class'}, the minimum run and off times of "
            f"{', '.join(committed) or 'no class'} and the grid limit "
            f"{problem.grid_limit_mw:,.0f} MW; relax ramp_mw_per_h, min_run_h, min_off_h or "
            "min_power_frac, or give the requirement an unserved-work penalty"
        )
    if result.unbounded:
        open_ended = [
            p.name
            for p in problem.products
            if not np.isfinite(p.min_mw) or not np.isfinite(p.max_mw)
        ]
        raise SolverError(
            "the objective is unbounded: products without a finite MW limit "
            f"({', '.join(open_ended) or 'none'}) are priced so that more is always better; "
            "set min_mw/max_mw in the catalogue or check their premiums"
        )


def _objective_with_flex_mw(
    problem: HedgeProblem, options: SolveOptions, j: int, commitment: dict[str, np.ndarray]
) -> float:
    """Objective ($) when 1 MW of firm load becomes part of class j wherever the class may run,
    with committed classes on and off as in ``commitment`` (an LP: a marginal at the MIP's
    commitment, not the difference of two MIPs solved within their gap)."""
    flex = problem.flex[j]
    delta = np.where(np.asarray(flex.max_mw) > 0, np.minimum(problem.firm_load_mw, 1.0), 0.0)
    moved = dataclasses.replace(flex, max_mw=np.asarray(flex.max_mw, dtype=float) + delta)
    changed = dataclasses.replace(
        problem,
        firm_load_mw=problem.firm_load_mw - delta,
        flex=(*problem.flex[:j], moved, *problem.flex[j + 1 :]),
    )
    lp = fix_columns(
        build_lp(changed, options),
        {f"on{i}": commitment[f.name] for i, f in enumerate(problem.flex) if f.committed},
    )
    result = HighsRunner.for_options(lp, options).run()
    if not result.optimal:
        raise SolverError(f"re-solve for the value of flexible MW of {flex.name}: {result.status}")
    return objective_k_usd(lp, result.record["objective"], result.values) * COST_UNIT_USD


def _notes(problem: HedgeProblem, result: LpResult) -> tuple[str, ...]:
    notes = []
    if not result.optimal:
        notes.append(
            f"HiGHS stopped early ({result.status}): the decision is feasible but may not be "
            "optimal, and the marginal values were not computed; raise the time limit"
        )
    for flex in problem.flex:
        if flex.work_requirement_gpu_hours <= 0:
            continue
        most = flex.gpu_hours_per_mwh * float(
            problem.interval_hours @ max_deliverable_mw(problem, flex)
        )
        if flex.work_requirement_gpu_hours > most * (1 + 1e-9):
            notes.append(
                f"job class {flex.name!r}: work requirement {flex.work_requirement_gpu_hours:,.0f} "
                f"GPU-h exceeds the {most:,.0f} GPU-h it can run; the shortfall is paid at "
                f"${flex.unserved_usd_per_gpu_hour:,.2f}/GPU-h"
            )
    return tuple(notes)
