"""What a solve returns: the decision, the in-sample cost distribution and by-products.

The in-sample scenario costs are re-evaluated here from the solved power arrays with the cost
definition of ``energyhedge.model.problem`` (independently of the LP's cost rows), and the real-time
curtailment thresholds of the ``Decision`` are chosen for the non-anticipative rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from energyhedge.optimize.prechecks import curve_segments
from energyhedge.model.problem import Decision, HedgeProblem


@dataclass(frozen=True)
class Solution:
    """The optimum of one HedgeProblem under one set of SolveOptions.

    Attributes
    ----------
    decision : Decision
    status : str
        HiGHS model status ("Optimal", or e.g. "Time limit reached" with a feasible point).
    objective_usd : float
        E[C] + lambda * CVaR (penalty form) or E[C] (budget form), $.
    alpha : float
    scenario_cost_usd : ndarray [S]
        In-sample cost of each scenario under the LP's own real-time power ($).
    power_mw : ndarray [J, S, T]
        In-sample real-time power of each class (MW); optimistic: it sees each whole price path.
    expected_cost_usd, var_usd, cvar_usd : float
        In-sample mean, VaR_alpha and CVaR_alpha of the scenario cost ($).
    solver : dict
        The solver record (HiGHS version, options, status, objective, infeasibilities,
        iterations, build_s, solve_s) plus the model size.
    flex_value_usd_per_mw : dict[str, float]
        Per job class: how much the objective falls if one more MW of firm load were flexible in
        that class in every interval it may run ($ per MW, finite difference; empty when not asked).
    cvar_budget_price_usd_per_usd : float or None
        Budget form: increase of E[C] per $ the CVaR budget is tightened (dual of the budget row).
    product_cvar_contribution_usd : ndarray [K]
        Each product's share of the CVaR: x_k times the tail mean of (premium - payoff) ($).
    product_cvar_without_usd : ndarray [K]
        CVaR if that product alone were dropped from the decision ($).
    notes : tuple[str, ...]
        Warnings in campus terms (e.g. a soft work requirement larger than the campus can run).
    """

    decision: Decision
    status: str
    objective_usd: float
    alpha: float
    scenario_cost_usd: np.ndarray
    power_mw: np.ndarray
    expected_cost_usd: float
    var_usd: float
    cvar_usd: float
    solver: dict
    flex_value_usd_per_mw: dict = field(default_factory=dict)
    cvar_budget_price_usd_per_usd: float | None = None
    product_cvar_contribution_usd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    product_cvar_without_usd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    notes: tuple[str, ...] = ()


def tail_weights(cost_usd: np.ndarray, probabilities: np.ndarray, alpha: float) -> np.ndarray:
    """Weights w[S] >= 0 summing to 1 with CVaR_alpha = w @ cost (the worst 1 - alpha of mass).

    The scenario at the VaR boundary gets the fractional weight, as in Rockafellar-Uryasev.
    """
    order = np.argsort(-cost_usd, kind="stable")
    p = probabilities[order]
    before = np.concatenate([[0.0], np.cumsum(p)[:-1]])
    share = np.clip((1.0 - alpha) - before, 0.0, p)
    weights = np.empty_like(share)
    weights[order] = share / (1.0 - alpha)
    return weights


def var_cvar(cost_usd: np.ndarray, probabilities: np.ndarray, alpha: float) -> tuple[float, float]:
    """VaR_alpha (smallest v with P(C <= v) >= alpha) and CVaR_alpha of a discrete cost ($)."""
    order = np.argsort(cost_usd, kind="stable")
    cum = np.cumsum(probabilities[order])
    var = float(cost_usd[order][min(np.searchsorted(cum, alpha - 1e-12), cum.size - 1)])
    return var, float(tail_weights(cost_usd, probabilities, alpha) @ cost_usd)


def evaluate_costs(
    problem: HedgeProblem,
    product_mw: np.ndarray,
    dr_mw: np.ndarray,
    schedule_mw: np.ndarray,
    power_mw: np.ndarray,
) -> np.ndarray:
    """Scenario cost C_s ($, [S]) of ``energyhedge.model.problem`` for given real-time power [J, S, T]."""
    h = problem.interval_hours
    load = problem.firm_load_mw[None, :] + power_mw.sum(axis=0)  # [S, T]
    cost = (h * problem.prices_usd_per_mwh * load).sum(axis=1)
    cost += (problem.cp_weight_usd_per_mw * load).sum(axis=1)
    for k, product in enumerate(problem.products):
        cost += product_mw[k] * (product.premium_usd_per_mw - product.payoff_usd_per_mw)
    cost -= float(h @ (problem.dr_price_usd_per_mw_h * dr_mw))
    curtailed = sum(
        (
            schedule_mw[j][None, :] - power_mw[j]
            for j, f in enumerate(problem.flex)
            if f.rt_curtailable
        ),
        start=np.zeros_like(problem.prices_usd_per_mwh),
    )
    short_mw = np.where(problem.dr_deployed, np.maximum(dr_mw[None, :] - curtailed, 0.0), 0.0)
    cost += problem.dr_penalty_usd_per_mwh * (short_mw * h).sum(axis=1)
    for j, flex in enumerate(problem.flex):
        work_gpu_h = delivered_work_gpu_hours(problem, j, power_mw[j])
        full_gpu_h = flex.gpu_hours_per_mwh * float(h @ flex.max_mw)
        cost += flex.value_usd_per_gpu_hour * (full_gpu_h - work_gpu_h)
        if flex.work_requirement_gpu_hours > 0 and np.isfinite(flex.unserved_usd_per_gpu_hour):
            short = np.maximum(flex.work_requirement_gpu_hours - work_gpu_h, 0.0)
            cost += flex.unserved_usd_per_gpu_hour * short
    return cost


def least_notional_mw(problem: HedgeProblem, product_mw: np.ndarray) -> np.ndarray:
    """The portfolio with the same cash flow in every scenario and the least gross MW.

    Products can be collinear (e.g. on a weekday, 5x16 plus 7x8 blocks pay exactly what a 7x24
    block pays) or inert (a weekend block on a weekday horizon pays and costs nothing), and then
    the LP's choice among equivalent portfolios is arbitrary. This solves
    min sum_k |x_k| subject to sum_k x_k * (premium_k - payoff_sk) unchanged for every scenario
    and the product bounds; costs, and so every risk figure, are unchanged. Returns the input when
    no product is held or the small LP fails.
    """
    k_n = len(problem.products)
    if not np.any(np.abs(product_mw) > 1e-9):
        return product_mw
    line = np.stack(
        [p.premium_usd_per_mw - p.payoff_usd_per_mw for p in problem.products], axis=1
    )  # [S, K] $ per MW
    scale = np.maximum(np.abs(line).max(axis=1, keepdims=True), 1.0)
    a_eq = np.hstack([line, -line]) / scale  # x = x_plus - x_minus
    b_eq = (line @ product_mw) / scale[:, 0]
    lo = np.array([p.min_mw for p in problem.products], dtype=float)
    hi = np.array([p.max_mw for p in problem.products], dtype=float)
    bounds = [(0.0, max(h, 0.0)) for h in hi] + [(0.0, max(-lo_k, 0.0)) for lo_k in lo]
    result = linprog(np.ones(2 * k_n), A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if result.status != 0:
        return product_mw
    reduced = result.x[:k_n] - result.x[k_n:]
    drift = np.abs(line @ (reduced - product_mw)).max()
    return reduced if drift <= 1e-6 * max(np.abs(line @ product_mw).max(), 1.0) else product_mw


def delivered_work_gpu_hours(problem: HedgeProblem, j: int, power_mw: np.ndarray) -> np.ndarray:
    """GPU-hours class j delivers over the horizon in each scenario, from its power [S, T]."""
    flex = problem.flex[j]
    width, slope = curve_segments(flex)
    max_mw = np.asarray(flex.max_mw, dtype=float)
    frac = np.divide(power_mw, max_mw, out=np.zeros_like(power_mw), where=max_mw > 0)
    knots = np.concatenate([[0.0], np.cumsum(width)])
    work_frac = np.interp(frac, knots, np.concatenate([[0.0], np.cumsum(width * slope)]))
    return flex.gpu_hours_per_mwh * (work_frac * max_mw * problem.interval_hours).sum(axis=1)


def policy_thresholds(
    problem: HedgeProblem,
    product_mw: np.ndarray,
    dr_mw: np.ndarray,
    schedule_mw: np.ndarray,
    *,
    alpha: float,
    cvar_weight: float,
) -> np.ndarray:
    """Price above which each class stops in real time ($/MWh, [J]), chosen on the scenarios.

    The LP's own real-time power sees each whole price path, so it cannot be copied into a
    rule. Instead, with the first-stage decision fixed, each real-time curtailable class's
    threshold is chosen (coordinate search, two passes) among its break-even price, the 50th to
    100th percentiles of the prices and "never", to minimise E[C] + lambda * CVaR of the rule
    "stop when the price exceeds the threshold", valued with ``evaluate_costs`` (a DR call is met
    only by the classes the rule has stopped). Ties keep the break-even price. Classes that
    cannot be curtailed in real time get inf.
    """
    prices = problem.prices_usd_per_mwh
    prob = problem.probabilities
    rt = [j for j, f in enumerate(problem.flex) if f.rt_curtailable]
    limits = np.full(len(problem.flex), np.inf)
    limits[rt] = [problem.flex[j].break_even_usd_per_mwh for j in rt]

    def objective(trial: np.ndarray) -> float:
        stop = prices[None, :, :] > trial[:, None, None]
        power = np.where(stop, 0.0, schedule_mw[:, None, :])
        cost = evaluate_costs(problem, product_mw, dr_mw, schedule_mw, power)
        return float(prob @ cost) + cvar_weight * var_cvar(cost, prob, alpha)[1]

    candidates = np.append(np.unique(np.quantile(prices, np.linspace(0.5, 1.0, 41))), np.inf)
    best = objective(limits)
    for _ in range(2):
        for j in rt:
            for value in candidates:
                trial = limits.copy()
                trial[j] = value
                score = objective(trial)
                if score < best - 1e-9 * abs(best):
                    best, limits = score, trial
    return limits
