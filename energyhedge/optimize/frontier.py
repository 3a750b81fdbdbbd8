"""The efficient frontier: expected cost against CVaR as the CVaR weight lambda rises."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from energyhedge.errors import SolverError
from energyhedge.model.problem import HedgeProblem
from energyhedge.optimize.engine import make_solution
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import build_lp
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.prechecks import check_problem
from energyhedge.optimize.solution import Solution


@dataclass(frozen=True)
class FrontierPoint:
    """One optimum of the penalty form: lambda, E[C] and CVaR ($), and the product MW [K]."""

    cvar_weight: float
    expected_cost_usd: float
    cvar_usd: float
    objective_usd: float
    product_mw: np.ndarray
    solution: Solution


def frontier(
    problem: HedgeProblem, lambdas, options: SolveOptions | None = None
) -> list[FrontierPoint]:
    """Solve the penalty form for each lambda (ascending), re-using one warm HiGHS instance.

    Only the objective changes between points (the weights of eta and z), so each re-solve starts
    from the previous basis.
    """
    options = options or SolveOptions()
    check_problem(problem)
    lambdas = sorted(float(v) for v in lambdas)
    base = dataclasses.replace(options, cvar_budget_usd=None, cvar_weight=lambdas[0])
    lp = build_lp(problem, base)
    runner = HighsRunner.for_options(lp, options)
    eta, z = lp.cols["eta"].idx, lp.cols["z"].idx
    tail = problem.probabilities / (1.0 - options.alpha)
    points = []
    for lam in lambdas:
        runner.change_costs(np.concatenate([eta, z]), np.concatenate([[lam], lam * tail]))
        result = runner.run()
        if not result.optimal:
            raise SolverError(f"frontier point lambda = {lam:g}: HiGHS status {result.status}")
        sol = make_solution(problem, dataclasses.replace(base, cvar_weight=lam), lp, result)
        points.append(
            FrontierPoint(
                lam,
                sol.expected_cost_usd,
                sol.cvar_usd,
                sol.objective_usd,
                sol.decision.product_mw,
                sol,
            )
        )
    return points
