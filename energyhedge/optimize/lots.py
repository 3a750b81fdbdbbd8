"""Trades in lots: round the LP's product MW to each product's lots, then re-solve the rest.

A product with ``meta["lot_mw"]`` (increment) or ``meta["min_trade_mw"]`` (smallest trade) set
is traded only in sizes 0 or a multiple of the lot of at least the minimum. After the
continuous solve, each product's MW is rounded to its nearest allowed size (within its bounds),
the products are fixed there, and the LP is solved again so the schedule, DR offer and real-time
recourse fit the rounded book. The cost of rounding is the difference of the two objectives
(>= 0 up to solver tolerance). If the rounded book breaks a limit (hedge ratio, CVaR budget),
rounding every product toward zero is tried next.

Why rounding and not a mixed-integer program: the hedge is a handful of first-stage columns
against tens of thousands of scenario columns, so a MIP would branch on the whole extensive form
(each node a full LP solve) for an improvement bounded by the rounding cost this reports; lots
of 1 MW on positions of tens of MW make that cost a small fraction of the objective. When the
reported cost is material, the trader sees it and can act (smaller lots, a MIP run offline).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from energyhedge.errors import ConfigError, InfeasibleError
from energyhedge.model.problem import HedgeProblem
from energyhedge.optimize.solution import Solution

LOT_TOLERANCE = 1e-9
"""Relative slack when testing whether a quantity is a whole number of lots."""


@dataclass(frozen=True)
class LotRounding:
    """The continuous optimum, the rounded book and what rounding cost.

    Attributes
    ----------
    continuous_mw, rounded_mw : ndarray [K]
        Product MW before and after rounding to lots.
    continuous_objective_usd, rounded_objective_usd : float
        Objectives of the continuous solve and of the re-solve at the rounded book ($).
    rule : str
        ``"nearest lot"`` or ``"toward zero"`` (when the nearest book broke a limit).
    """

    continuous_mw: np.ndarray
    rounded_mw: np.ndarray
    continuous_objective_usd: float
    rounded_objective_usd: float
    rule: str

    @property
    def cost_usd(self) -> float:
        """Objective increase caused by trading in lots ($)."""
        return self.rounded_objective_usd - self.continuous_objective_usd


def lot_sizes(problem: HedgeProblem) -> tuple[np.ndarray, np.ndarray]:
    """Lot increment and smallest trade of every product, [K] each (MW; 0: none)."""
    lot = np.array([float(p.meta.get("lot_mw", 0.0) or 0.0) for p in problem.products])
    least = np.array([float(p.meta.get("min_trade_mw", 0.0) or 0.0) for p in problem.products])
    return lot, least


def has_lots(problem: HedgeProblem) -> bool:
    """True if any product has a lot size or a minimum trade."""
    lot, least = lot_sizes(problem)
    return bool(np.any(lot > 0) or np.any(least > 0))


def round_to_lots(
    problem: HedgeProblem, product_mw: np.ndarray, *, toward_zero: bool = False
) -> np.ndarray:
    """Each product's MW [K] at its nearest allowed size (or the next one toward zero).

    Allowed sizes: 0, and multiples of ``lot_mw`` (any size when 0) of at least
    ``min_trade_mw``, within the product's ``[min_mw, max_mw]``.
    """
    lot, least = lot_sizes(problem)
    out = np.zeros(len(problem.products))
    for k, (product, x) in enumerate(zip(problem.products, product_mw, strict=True)):
        size, step = abs(float(x)), lot[k]
        if step > 0:
            units = size / step
            units = np.floor(units + LOT_TOLERANCE) if toward_zero else np.floor(units + 0.5)
            size = units * step
        smallest = least[k] if step <= 0 else np.ceil(least[k] / step - LOT_TOLERANCE) * step
        if size < smallest - LOT_TOLERANCE * max(1.0, smallest):
            size = smallest if not toward_zero and abs(float(x)) >= smallest / 2 else 0.0
        signed = np.copysign(size, x)
        bound = product.max_mw if signed > 0 else product.min_mw
        while abs(signed) > abs(bound) + LOT_TOLERANCE and signed != 0.0:
            signed = np.copysign(max(abs(signed) - (step or abs(signed)), 0.0), x)
            if 0 < abs(signed) < smallest:
                signed = 0.0
        if not product.min_mw - LOT_TOLERANCE <= signed <= product.max_mw + LOT_TOLERANCE:
            raise ConfigError(
                f"product {product.name!r}: no size in lots of {step:g} MW (at least "
                f"{least[k]:g} MW) lies within [{product.min_mw:g}, {product.max_mw:g}] MW; "
                "fix its bounds or lots in the catalogue"
            )
        out[k] = signed + 0.0
    return out


def fixed_at(problem: HedgeProblem, product_mw: np.ndarray) -> HedgeProblem:
    """``problem`` with every product's quantity fixed at ``product_mw`` [K] (MW)."""
    products = tuple(
        dataclasses.replace(p, min_mw=float(x), max_mw=float(x))
        for p, x in zip(problem.products, product_mw, strict=True)
    )
    return dataclasses.replace(problem, products=products)


def solve_in_lots(
    problem: HedgeProblem,
    continuous: Solution,
    solve_fixed: Callable[[HedgeProblem], Solution],
) -> tuple[HedgeProblem, Solution]:
    """Round ``continuous``'s products to lots and re-solve with them fixed.

    Returns the fixed problem (what the marginals of the rounded book are measured on) and its
    solution with ``lot_rounding`` set; hedge-ratio limits report the rounded book's net MW
    with the continuous optimum's shadow prices. InfeasibleError when neither the nearest nor the
    toward-zero book meets the limits.
    """
    x = np.asarray(continuous.decision.product_mw, dtype=float)
    failure = None
    for rule, toward_zero in (("nearest lot", False), ("toward zero", True)):
        rounded = round_to_lots(problem, x, toward_zero=toward_zero)
        fixed = fixed_at(problem, rounded)
        try:
            solution = solve_fixed(fixed)
        except InfeasibleError as exc:
            failure = exc
            continue
        record = LotRounding(
            continuous_mw=x,
            rounded_mw=rounded,
            continuous_objective_usd=continuous.objective_usd,
            rounded_objective_usd=solution.objective_usd,
            rule=rule,
        )
        decision = dataclasses.replace(solution.decision, product_mw=rounded)
        # with the products fixed their bounds carry the duals: the limits' shadow prices are
        # the continuous optimum's, their net MW and binding side the rounded book's
        ratio = tuple(
            dataclasses.replace(at_lots, dual_usd_per_mw=free.dual_usd_per_mw)
            for at_lots, free in zip(solution.hedge_ratio, continuous.hedge_ratio, strict=True)
        )
        return fixed, dataclasses.replace(
            solution, decision=decision, lot_rounding=record, hedge_ratio=ratio
        )
    raise InfeasibleError(
        f"no book in lots meets the run's limits (rounded to the nearest lot and toward zero: "
        f"{failure}); widen [risk.hedge_ratio] or the CVaR budget, or use smaller lot_mw"
    )
