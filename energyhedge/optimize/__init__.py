"""The stochastic program: CVaR-optimal hedges and GPU schedule on HiGHS.

``solve(problem, options) -> Solution`` and ``frontier(problem, lambdas, options)``; the LP is
assembled as sparse arrays in ``lp`` and solved in ``highs``. ``pyomo_model`` and
``cvx_frontier`` hold the reference formulations used to cross-check it.
"""

from energyhedge.optimize.engine import min_cvar_usd, solve
from energyhedge.optimize.frontier import FrontierPoint, frontier
from energyhedge.optimize.lp import build_lp, model_size
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.solution import Solution, evaluate_costs, tail_weights, var_cvar

__all__ = [
    "FrontierPoint",
    "Solution",
    "SolveOptions",
    "build_lp",
    "evaluate_costs",
    "frontier",
    "min_cvar_usd",
    "model_size",
    "solve",
    "tail_weights",
    "var_cvar",
]
