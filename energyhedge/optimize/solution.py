"""What a solve returns: the decision, the in-sample cost distribution and by-products.

The in-sample scenario costs are priced by ``energyhedge.model.cost`` from the LP's own
real-time power (independently of the LP's cost rows); the ``Decision`` follows the real-time
curtailment ladder of that module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from energyhedge.model.problem import Decision


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
        Each product's share of the CVaR: the tail mean of its premium minus payoff ($).
    product_cvar_without_usd : ndarray [K]
        CVaR if that product alone were dropped from the decision ($).
    notes : tuple[str, ...]
        Warnings in campus terms (e.g. a soft work requirement larger than the campus can run).
    hedge_ratio : tuple[RatioResult, ...]
        Each hedge-ratio limit with a row: net MW, bounds, whether it binds and its shadow price
        (``energyhedge.optimize.hedge_ratio``).
    lot_rounding : LotRounding or None
        The continuous and rounded books and the cost of rounding, when products trade in lots
        (``energyhedge.optimize.lots``); None otherwise.
    commitment : dict[str, ndarray]
        Per committed job class: whether the day-ahead schedule has it on in each interval
        ([T] bool); empty when no class is committed (an LP).
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
    hedge_ratio: tuple = ()
    lot_rounding: object = None
    commitment: dict = field(default_factory=dict)
