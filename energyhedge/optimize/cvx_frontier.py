"""A third check in cvxpy: the hedge-only frontier over simulated payoffs.

With the schedule fixed, the scenario cost is affine in the product MW:
C_s = base_s + sum_k x_k * (premium_k - payoff_sk), and min E[C] + lambda * CVaR_alpha(C) is a
small convex program. This is the only module that imports cvxpy.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from energyhedge.errors import SolverError


def hedge_frontier_cvxpy(
    base_cost_usd: np.ndarray,
    premium_usd_per_mw: np.ndarray,
    payoff_usd_per_mw: np.ndarray,
    probabilities: np.ndarray,
    *,
    alpha: float,
    lambdas,
    min_mw: np.ndarray,
    max_mw: np.ndarray,
) -> list[dict]:
    """Optimal product MW for each lambda; each point holds lambda, x [K], expected and CVaR ($).

    Parameters
    ----------
    base_cost_usd : ndarray [S]
        Unhedged scenario cost ($).
    premium_usd_per_mw : ndarray [K]
    payoff_usd_per_mw : ndarray [S, K]
    probabilities : ndarray [S]
    min_mw, max_mw : ndarray [K]
        Bounds of each product (MW; +-inf for none).
    """
    k_n = premium_usd_per_mw.size
    x = cp.Variable(k_n)
    eta = cp.Variable()
    lam = cp.Parameter(nonneg=True)
    cost = base_cost_usd + (premium_usd_per_mw[None, :] - payoff_usd_per_mw) @ x
    cvar = eta + probabilities @ cp.pos(cost - eta) / (1.0 - alpha)
    bounds = [x[i] >= min_mw[i] for i in range(k_n) if np.isfinite(min_mw[i])]
    bounds += [x[i] <= max_mw[i] for i in range(k_n) if np.isfinite(max_mw[i])]
    problem = cp.Problem(cp.Minimize(probabilities @ cost + lam * cvar), bounds)
    points = []
    for value in lambdas:
        lam.value = float(value)
        problem.solve(solver=cp.HIGHS)
        if problem.status != cp.OPTIMAL:
            raise SolverError(f"cvxpy hedge frontier, lambda {value:g}: {problem.status}")
        points.append(
            {
                "cvar_weight": float(value),
                "product_mw": np.array(x.value),
                "objective_usd": float(problem.value),
                "expected_cost_usd": float(probabilities @ cost.value),
                "cvar_usd": float(cvar.value),
            }
        )
    return points
