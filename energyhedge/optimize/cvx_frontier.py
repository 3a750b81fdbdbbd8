"""A third check in cvxpy: the hedge-only frontier over simulated payoffs.

With the schedule fixed, the scenario cost is affine in the MW bought (b, at the ask) and sold
(s, at the bid, sellable products only):
C_s = base_s + sum_k b_k * (ask_k - payoff_sk) + sum_k s_k * (payoff_sk - bid_k), and
min E[C] + lambda * CVaR_alpha(C) is a small convex program. This is the only module that imports
cvxpy.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from energyhedge.errors import SolverError
from energyhedge.optimize.lp import hedge_bounds


def hedge_frontier_cvxpy(
    base_cost_usd: np.ndarray,
    ask_usd_per_mw: np.ndarray,
    bid_usd_per_mw: np.ndarray,
    payoff_usd_per_mw: np.ndarray,
    probabilities: np.ndarray,
    *,
    alpha: float,
    lambdas,
    min_mw: np.ndarray,
    max_mw: np.ndarray,
) -> list[dict]:
    """Optimal product MW for each lambda; each point holds lambda, x [K] (bought minus sold),
    expected cost and CVaR ($).

    Parameters
    ----------
    base_cost_usd : ndarray [S]
        Unhedged scenario cost ($).
    ask_usd_per_mw, bid_usd_per_mw : ndarray [K]
        What buying 1 MW pays and selling 1 MW receives over the horizon ($/MW).
    payoff_usd_per_mw : ndarray [S, K]
    probabilities : ndarray [S]
    min_mw, max_mw : ndarray [K]
        Bounds of each product's signed quantity (MW; +-inf for none; sellable if min_mw < 0).
    """
    buy_lo, buy_hi, sellable, sell_lo, sell_hi = hedge_bounds(min_mw, max_mw)
    buy = cp.Variable(buy_lo.size)
    sell = cp.Variable(sellable.size)
    eta = cp.Variable()
    lam = cp.Parameter(nonneg=True)
    cost = base_cost_usd + (ask_usd_per_mw[None, :] - payoff_usd_per_mw) @ buy
    if sellable.size:
        cost = cost + (payoff_usd_per_mw[:, sellable] - bid_usd_per_mw[sellable][None, :]) @ sell
    cvar = eta + probabilities @ cp.pos(cost - eta) / (1.0 - alpha)
    bounds = [buy >= buy_lo]
    bounds += [buy[i] <= buy_hi[i] for i in range(buy_hi.size) if np.isfinite(buy_hi[i])]
    if sellable.size:
        bounds.append(sell >= sell_lo)
        bounds += [sell[i] <= sell_hi[i] for i in range(sell_hi.size) if np.isfinite(sell_hi[i])]
    problem = cp.Problem(cp.Minimize(probabilities @ cost + lam * cvar), bounds)
    points = []
    for value in lambdas:
        lam.value = float(value)
        problem.solve(solver=cp.HIGHS)
        if problem.status != cp.OPTIMAL:
            raise SolverError(f"cvxpy hedge frontier, lambda {value:g}: {problem.status}")
        product_mw = np.array(buy.value, dtype=float)
        if sellable.size:
            product_mw[sellable] -= sell.value
        points.append(
            {
                "cvar_weight": float(value),
                "product_mw": product_mw,
                "objective_usd": float(problem.value),
                "expected_cost_usd": float(probabilities @ cost.value),
                "cvar_usd": float(cvar.value),
            }
        )
    return points
