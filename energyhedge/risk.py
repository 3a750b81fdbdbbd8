"""Valuation: the strategies a report compares, priced with the one cost model.

``value_strategies`` prices four strategies on one scenario set with
``energyhedge.model.cost.cost_breakdown`` (the real-time ladder) and summarises each with
``energyhedge.model.measures``. With ``resamples > 0`` it adds model-risk intervals: the
bootstrap percentile interval (over scenario resamples, the same resamples for every strategy)
of each strategy's expected cost and CVaR, and of the recommendation's improvement over the
unhedged campus.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from energyhedge.assemble import product_intervals
from energyhedge.model.cost import CostBreakdown, cost_breakdown
from energyhedge.model.measures import (
    Interval,
    RiskMeasures,
    bootstrap_interval,
    cvar_many,
    expected_many,
    resample_weights,
    risk_measures,
    weighted_quantile,
)
from energyhedge.model.problem import Decision, HedgeProblem

STRATEGIES = ("unhedged", "flexibility_only", "hedges_only", "recommended")
"""Strategy names, in the order reports show them."""

STRATEGY_LABELS = {
    "unhedged": "none (no hedges, no flexibility)",
    "flexibility_only": "flexibility only (curtailment ladder, no hedges)",
    "hedges_only": "hedges only (recommended trades, no curtailment)",
    "recommended": "both (recommended trades, ladder and DR offer)",
}

PERCENTILES = (5, 50, 95, 99)
CONFIDENCE_LEVEL = 0.90
"""Level of the bootstrap intervals shown next to expected cost and CVaR."""


@dataclass(frozen=True)
class StrategyValue:
    """One strategy on one scenario set.

    Attributes
    ----------
    cost : RiskMeasures
        Of the total scenario cost C_s ($).
    per_gpu_hour : RiskMeasures
        Of the cost per delivered GPU-hour ($/GPU-h).
    per_gpu_hour_percentiles : dict[int, float]
        Lower percentiles (``PERCENTILES``) of the cost per GPU-hour ($/GPU-h).
    mean_lines : dict[str, float]
        Probability-weighted mean of every cost line ($; ``gpu_hours`` in GPU-h).
    expected_interval, cvar_interval : Interval or None
        Bootstrap intervals of expected cost and CVaR ($).
    """

    cost: RiskMeasures
    per_gpu_hour: RiskMeasures
    per_gpu_hour_percentiles: dict[int, float]
    mean_lines: dict[str, float]
    expected_interval: Interval | None = None
    cvar_interval: Interval | None = None


@dataclass(frozen=True)
class Valuation:
    """Every strategy on one scenario set (in or out of sample).

    Attributes
    ----------
    basis : str
        ``"in sample"`` or ``"out of sample"``.
    alpha : float
    probabilities : ndarray [S]
    costs : dict[str, CostBreakdown]
        Per-scenario lines of each strategy.
    strategies : dict[str, StrategyValue]
    saving_interval, cvar_reduction_interval : Interval or None
        Bootstrap intervals of E[unhedged] - E[recommended] and CVaR[unhedged] -
        CVaR[recommended] ($), from the same resamples.
    """

    basis: str
    alpha: float
    probabilities: np.ndarray
    costs: dict[str, CostBreakdown]
    strategies: dict[str, StrategyValue]
    saving_interval: Interval | None = None
    cvar_reduction_interval: Interval | None = None

    @property
    def recommended(self) -> StrategyValue:
        return self.strategies["recommended"]

    @property
    def unhedged(self) -> StrategyValue:
        return self.strategies["unhedged"]


def full_schedule_mw(problem: HedgeProblem) -> np.ndarray:
    """Every class at max_mw within the grid headroom, highest break-even first, [J, T] (MW)."""
    headroom = np.maximum(problem.grid_limit_mw - problem.firm_load_mw, 0.0)
    schedule = np.zeros((len(problem.flex), problem.n_intervals))
    order = sorted(range(len(problem.flex)), key=lambda j: -problem.flex[j].break_even_usd_per_mwh)
    for j in order:
        schedule[j] = np.minimum(problem.flex[j].max_mw, headroom)
        headroom = headroom - schedule[j]
    return schedule


def strategies(problem: HedgeProblem, recommended: Decision) -> dict[str, Decision]:
    """The four strategies reports compare, keyed by ``STRATEGIES``.

    - ``unhedged``: no products, every class at full schedule, never curtailed, no DR.
    - ``flexibility_only``: full schedule following the curtailment ladder, no products, no DR.
    - ``hedges_only``: the recommended products, full schedule, never curtailed, no DR.
    - ``recommended``: the decision as given (products, schedule, ladder, DR offer).
    """
    inflexible = Decision(
        product_mw=np.zeros(len(problem.products)),
        schedule_mw=full_schedule_mw(problem),
        dr_mw=problem.no_dr_offer(),
        follows_ladder=False,
    )
    return {
        "unhedged": inflexible,
        "flexibility_only": replace(
            inflexible,
            follows_ladder=True,
            stop_above_usd_per_mwh=recommended.stop_above_usd_per_mwh,
            work_value_usd_per_gpu_hour=recommended.work_value_usd_per_gpu_hour,
        ),
        "hedges_only": replace(
            inflexible, product_mw=np.asarray(recommended.product_mw, dtype=float)
        ),
        "recommended": recommended,
    }


SETTLEMENT_CHOICES = ("real_time_only", "day_ahead_only", "optimised_split")
"""The day-ahead/real-time choices a two-settlement report compares."""


def settlement_strategies(problem: HedgeProblem, recommended: Decision) -> dict[str, Decision]:
    """The recommended decision with its day-ahead purchases replaced, keyed by
    ``SETTLEMENT_CHOICES``: none (all energy at real time), the whole scheduled load (firm plus
    every class's schedule, its hourly mean MW bought day-ahead), and the optimised split as
    recommended."""
    day_ahead = np.array([p.kind == "day_ahead" for p in problem.products])
    scheduled = problem.firm_load_mw + np.asarray(recommended.schedule_mw).sum(axis=0)
    h = problem.interval_hours
    all_day_ahead = np.asarray(recommended.product_mw, dtype=float).copy()
    for k in np.flatnonzero(day_ahead):  # the hour's scheduled energy, bought day-ahead
        cols = product_intervals(problem.products[k], problem.interval_start_utc)
        all_day_ahead[k] = float(scheduled[cols] @ h[cols]) / float(h[cols].sum())
    none = np.where(day_ahead, 0.0, recommended.product_mw)
    return {
        "real_time_only": replace(recommended, product_mw=none),
        "day_ahead_only": replace(recommended, product_mw=all_day_ahead),
        "optimised_split": recommended,
    }


def value_decisions(
    problem: HedgeProblem, decisions: dict[str, Decision], alpha: float
) -> dict[str, StrategyValue]:
    """Each decision priced on ``problem`` (no bootstrap intervals)."""
    p = problem.probabilities
    return {
        name: _strategy_value(cost_breakdown(problem, d), p, alpha, None)
        for name, d in decisions.items()
    }


def value_strategies(
    problem: HedgeProblem,
    recommended: Decision,
    alpha: float,
    *,
    basis: str,
    resamples: int = 0,
    seed: int = 0,
) -> Valuation:
    """Price every strategy of ``strategies`` on ``problem``'s scenarios.

    Parameters
    ----------
    problem : HedgeProblem
        For out of sample: built from the struck catalogue (``assemble.struck_catalogue``), so
        every product settles at the price the decision traded.
    recommended : Decision
    alpha : float
        CVaR level.
    basis : str
        ``"in sample"`` or ``"out of sample"`` (carried into every label).
    resamples : int
        Bootstrap resamples for the model-risk intervals (0: none).
    seed : int
        Seed of the resamples.
    """
    p = problem.probabilities
    costs = {
        name: cost_breakdown(problem, d) for name, d in strategies(problem, recommended).items()
    }
    weights = resample_weights(p, resamples, seed) if resamples > 0 else None
    values = {name: _strategy_value(c, p, alpha, weights) for name, c in costs.items()}
    saving = reduction = None
    if weights is not None:
        base, rec = costs["unhedged"].total_cost_usd, costs["recommended"].total_cost_usd
        saving = bootstrap_interval(
            expected_many(base, weights) - expected_many(rec, weights), CONFIDENCE_LEVEL
        )
        reduction = bootstrap_interval(
            cvar_many(base, weights, alpha) - cvar_many(rec, weights, alpha), CONFIDENCE_LEVEL
        )
    return Valuation(basis, float(alpha), p, costs, values, saving, reduction)


def _strategy_value(
    costs: CostBreakdown, p: np.ndarray, alpha: float, weights: np.ndarray | None
) -> StrategyValue:
    total = costs.total_cost_usd
    ratio = costs.cost_per_gpu_hour_usd
    expected_band = cvar_band = None
    if weights is not None:
        expected_band = bootstrap_interval(expected_many(total, weights), CONFIDENCE_LEVEL)
        cvar_band = bootstrap_interval(cvar_many(total, weights, alpha), CONFIDENCE_LEVEL)
    return StrategyValue(
        cost=risk_measures(total, p, alpha),
        per_gpu_hour=risk_measures(ratio, p, alpha),
        per_gpu_hour_percentiles={q: weighted_quantile(ratio, p, q / 100.0) for q in PERCENTILES},
        mean_lines=costs.mean(p),
        expected_interval=expected_band,
        cvar_interval=cvar_band,
    )


def describe_gap(in_sample: Valuation, out_of_sample: Valuation) -> str:
    """One plain sentence on how the recommendation fared out of sample versus in sample."""
    ins, outs = in_sample.recommended.cost, out_of_sample.recommended.cost
    d_mean = outs.expected_usd - ins.expected_usd
    d_cvar = outs.cvar_usd - ins.cvar_usd
    pct = 100.0 * in_sample.alpha
    return (
        f"Out of sample, the recommended strategy's expected cost is "
        f"${abs(d_mean):,.0f} {'higher' if d_mean >= 0 else 'lower'} and its CVaR{pct:g} "
        f"${abs(d_cvar):,.0f} {'higher' if d_cvar >= 0 else 'lower'} than in sample "
        f"(${ins.expected_usd:,.0f} -> ${outs.expected_usd:,.0f} expected, "
        f"${ins.cvar_usd:,.0f} -> ${outs.cvar_usd:,.0f} CVaR)."
    )
