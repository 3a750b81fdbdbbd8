"""``solve``: prechecks, array build, one HiGHS call, and the by-products for the report."""

from __future__ import annotations

import dataclasses

import numpy as np

from energyhedge.errors import InfeasibleError, SolverError
from energyhedge.optimize.highs import HighsRunner, LpResult
from energyhedge.optimize.lp import COST_UNIT_USD, LinearProgram, build_lp, model_size
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.prechecks import check_problem, max_deliverable_mw
from energyhedge.optimize.solution import (
    Solution,
    evaluate_costs,
    least_notional_mw,
    policy_thresholds,
    tail_weights,
    var_cvar,
)
from energyhedge.model.problem import Decision, HedgeProblem


def solve(problem: HedgeProblem, options: SolveOptions | None = None) -> Solution:
    """Optimal hedges, schedule and DR offer for ``problem`` (see ``energyhedge.optimize.lp``).

    Raises
    ------
    InfeasibleError
        The campus cannot meet its constraints (explained in campus terms), or the CVaR budget
        is below the lowest CVaR reachable.
    SolverError
        HiGHS failed, or stopped at the time limit without a feasible point.
    """
    options = options or SolveOptions()
    check_problem(problem)
    size = model_size(problem, options)
    if size["nonzeros"] > options.max_nonzeros:
        raise SolverError(
            f"the stochastic program would have {size['columns']:,} columns, {size['rows']:,} "
            f"rows and {size['nonzeros']:,} nonzeros, above the limit of "
            f"{options.max_nonzeros:,}; use fewer scenarios or a shorter horizon"
        )
    lp = build_lp(problem, options)
    runner = HighsRunner(lp, options.highs_options, options.time_limit_s)
    result = runner.run()
    _raise_unless_solved(problem, options, result)
    solution = make_solution(problem, options, lp, result)
    if options.marginals and result.optimal:
        flex_value = {
            f.name: solution.objective_usd - _objective_with_flex_mw(problem, options, j)
            for j, f in enumerate(problem.flex)
        }
        solution = dataclasses.replace(solution, flex_value_usd_per_mw=flex_value)
    return solution


def make_solution(
    problem: HedgeProblem, options: SolveOptions, lp: LinearProgram, result: LpResult
) -> Solution:
    """Turn LP values into a Decision, in-sample costs and the cheap by-products."""
    v = result.values
    cols = lp.cols
    j_n, s_n, t_n = len(problem.flex), problem.n_scenarios, problem.n_intervals
    product_mw = least_notional_mw(problem, v[cols["x"].idx])
    schedule_mw = v[cols["u"].idx]
    dr_mw = v[cols["r"].idx] if "r" in cols else np.zeros(t_n)
    power_mw = np.zeros((j_n, s_n, t_n))
    for j in range(j_n):
        power_mw[j] = v[cols[f"seg{j}"].idx].sum(axis=2)
    budget_price = None
    if options.budget_form:
        budget_price = float(-result.row_dual[lp.rows["budget"].idx][0])
    weight = budget_price if options.budget_form else options.cvar_weight
    decision = Decision(
        product_mw=product_mw,
        schedule_mw=schedule_mw,
        dr_mw=dr_mw,
        curtail_above_usd_per_mwh=policy_thresholds(
            problem,
            product_mw,
            dr_mw,
            schedule_mw,
            alpha=options.alpha,
            cvar_weight=max(weight, 0.0),
        ),
    )
    cost = evaluate_costs(problem, product_mw, dr_mw, schedule_mw, power_mw)
    prob = problem.probabilities
    var, cvar = var_cvar(cost, prob, options.alpha)
    weights = tail_weights(cost, prob, options.alpha)
    contribution = np.zeros(len(problem.products))
    without = np.zeros(len(problem.products))
    for k, product in enumerate(problem.products):
        line = product_mw[k] * (product.premium_usd_per_mw - product.payoff_usd_per_mw)
        contribution[k] = float(weights @ line)
        without[k] = var_cvar(cost - line, prob, options.alpha)[1]
    objective_usd = result.record["objective"] * COST_UNIT_USD
    record = {
        **result.record,
        "objective": objective_usd,
        **model_size(problem, options),
        "nonzeros": lp.nonzeros,
    }
    return Solution(
        decision=decision,
        status=result.status,
        objective_usd=float(objective_usd),
        alpha=options.alpha,
        scenario_cost_usd=cost,
        power_mw=power_mw,
        expected_cost_usd=float(prob @ cost),
        var_usd=var,
        cvar_usd=cvar,
        solver=record,
        cvar_budget_price_usd_per_usd=budget_price,
        product_cvar_contribution_usd=contribution,
        product_cvar_without_usd=without,
        notes=_notes(problem, result),
    )


def min_cvar_usd(problem: HedgeProblem, options: SolveOptions) -> float:
    """The lowest CVaR_alpha the campus and catalogue can reach ($), ignoring the mean."""
    pure = dataclasses.replace(options, cvar_budget_usd=None, cvar_weight=1.0)
    lp = build_lp(problem, pure)
    runner = HighsRunner(lp, options.highs_options, options.time_limit_s)
    runner.change_costs(lp.cols["c"].idx, np.zeros(problem.n_scenarios))
    result = runner.run()
    if not result.optimal:
        raise SolverError(f"could not compute the lowest reachable CVaR ({result.status})")
    return float(result.record["objective"]) * COST_UNIT_USD


def _raise_unless_solved(problem: HedgeProblem, options: SolveOptions, result: LpResult) -> None:
    """Explain an infeasible or unbounded LP in campus terms (prechecks have passed)."""
    if result.infeasible and options.budget_form:
        pure = dataclasses.replace(options, cvar_budget_usd=None)
        floor_lp = HighsRunner(build_lp(problem, pure), options.highs_options, options.time_limit_s)
        if not floor_lp.run().infeasible:  # the campus itself is feasible: the budget is not
            floor = min_cvar_usd(problem, options)
            raise InfeasibleError(
                f"CVaR budget ${options.cvar_budget_usd:,.0f} is below the lowest CVaR this "
                f"campus and catalogue can reach at alpha {options.alpha:g}: ${floor:,.0f}; "
                "raise the budget or add hedge products"
            )
    if result.infeasible:
        hard = [
            f.name
            for f in problem.flex
            if f.work_requirement_gpu_hours > 0 and not np.isfinite(f.unserved_usd_per_gpu_hour)
        ]
        ramped = [f.name for f in problem.flex if np.isfinite(f.ramp_mw_per_h)]
        raise InfeasibleError(
            "the campus constraints cannot all hold: hard work requirements of "
            f"{', '.join(hard) or 'no class'} cannot be met within the ramp limits of "
            f"{', '.join(ramped) or 'no class'} and the grid limit {problem.grid_limit_mw:,.0f} MW;"
            " relax ramp_mw_per_h or give the requirement an unserved-work penalty"
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


def _objective_with_flex_mw(problem: HedgeProblem, options: SolveOptions, j: int) -> float:
    """Objective ($) when 1 MW of firm load becomes part of class j wherever the class may run."""
    flex = problem.flex[j]
    delta = np.where(np.asarray(flex.max_mw) > 0, np.minimum(problem.firm_load_mw, 1.0), 0.0)
    moved = dataclasses.replace(flex, max_mw=np.asarray(flex.max_mw, dtype=float) + delta)
    changed = dataclasses.replace(
        problem,
        firm_load_mw=problem.firm_load_mw - delta,
        flex=(*problem.flex[:j], moved, *problem.flex[j + 1 :]),
    )
    lp = build_lp(changed, options)
    result = HighsRunner(lp, options.highs_options, options.time_limit_s).run()
    if not result.optimal:
        raise SolverError(f"re-solve for the value of flexible MW of {flex.name}: {result.status}")
    return float(result.record["objective"]) * COST_UNIT_USD


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
