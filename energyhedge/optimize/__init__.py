"""The stochastic program: CVaR-optimal hedges and GPU schedule on HiGHS.

``solve(problem, options) -> Solution`` and ``frontier(problem, lambdas, options)``; the LP is
assembled as sparse arrays in ``lp`` and solved in ``highs``. ``pyomo_model`` and
``cvx_frontier`` hold the reference formulations used to cross-check it.

Names are loaded on first use, so importing this package (e.g. for ``SolveOptions`` in a run
profile) does not import HiGHS or SciPy.
"""

from __future__ import annotations

from energyhedge.lazy import lazy_names

_HOMES = {
    "FrontierPoint": "frontier",
    "Solution": "solution",
    "SolveOptions": "options",
    "build_lp": "lp",
    "frontier": "frontier",
    "min_cvar_usd": "engine",
    "model_size": "lp",
    "solve": "engine",
}

__all__ = [
    "FrontierPoint",
    "Solution",
    "SolveOptions",
    "build_lp",
    "frontier",
    "min_cvar_usd",
    "model_size",
    "solve",
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES)
