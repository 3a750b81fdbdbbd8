"""The least gross notional that keeps a portfolio's cash flow in every scenario."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from energyhedge.model.cost import product_cash_usd
from energyhedge.model.problem import HedgeProblem
from energyhedge.optimize.lp import hedge_bounds, product_limits

DRIFT_TOLERANCE = 1e-6
"""Largest change of any scenario's cash flow, relative to the largest one, a reduction may make."""


def least_notional_mw(problem: HedgeProblem, product_mw: np.ndarray) -> np.ndarray:
    """The portfolio with the same cash flow in every scenario and the least gross MW, [K].

    Products can be collinear (e.g. on a weekday, 5x16 plus 7x8 blocks pay exactly what a 7x24
    block pays) or inert (a weekend block on a weekday horizon pays and costs nothing), and then
    the LP's choice among equivalent portfolios is arbitrary. This solves
    min sum_k (b_k + s_k) over MW bought at the ask (b) and sold at the bid (s, sellable products
    only), within the product bounds, keeping sum_k of ``model.cost.product_cash_usd`` unchanged
    in every scenario; costs, and so every risk figure, are unchanged. Holding both sides of a
    product never has the least notional (netting keeps the cash flow when bid = ask, and changes
    it otherwise), so the result is returned netted, ``b - s``. Returns the input when no product
    is held, the small LP fails, or the netted result would move a cash flow.
    """
    product_mw = np.asarray(product_mw, dtype=float)
    if not np.any(np.abs(product_mw) > 1e-9):
        return product_mw
    k_n = product_mw.size
    buy_cash = product_cash_usd(problem, np.ones(k_n))  # [S, K] $ per MW bought
    sell_cash = product_cash_usd(problem, -np.ones(k_n))  # [S, K] $ per MW sold
    target = product_cash_usd(problem, product_mw).sum(axis=1)  # [S]
    buy_lo, buy_hi, sellable, sell_lo, sell_hi = hedge_bounds(*product_limits(problem))
    line = np.hstack([buy_cash, sell_cash[:, sellable]])
    scale = np.maximum(np.abs(line).max(axis=1), 1.0)
    result = linprog(
        np.ones(line.shape[1]),
        A_eq=line / scale[:, None],
        b_eq=target / scale,
        bounds=np.column_stack([np.r_[buy_lo, sell_lo], np.r_[buy_hi, sell_hi]]),
        method="highs",
    )
    if result.status != 0:
        return product_mw
    reduced = result.x[:k_n].copy()
    reduced[sellable] -= result.x[k_n:]
    drift = np.abs(product_cash_usd(problem, reduced).sum(axis=1) - target).max()
    if drift > DRIFT_TOLERANCE * max(np.abs(target).max(), 1.0):
        return product_mw
    return reduced
