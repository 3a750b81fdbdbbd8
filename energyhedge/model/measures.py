"""Risk measures of a discrete cost distribution: the one home of quantile, VaR and CVaR.

Costs are "larger is worse" ($, or $/GPU-h). For probabilities p_s summing to 1 and a level
alpha in (0, 1):

- VaR_alpha is the lower alpha-quantile: the smallest v with P(C <= v) >= alpha.
- CVaR_alpha is Rockafellar-Uryasev's ``min_eta eta + E[(C - eta)+] / (1 - alpha)``, which equals
  the mean of the worst 1 - alpha of probability mass (the scenario at the VaR boundary counted
  fractionally): ``tail_weights(C) @ C``.

Model risk (how much a figure would move on another draw of the same number of scenarios) is
given by a bootstrap over scenario resamples: ``resample_weights`` draws B multinomial
re-weightings of the scenarios, and ``bootstrap_interval`` reports the percentile interval of any
of these measures over them (all B at once, vectorised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energyhedge.errors import ConfigError

QUANTILE_TOLERANCE = 1e-12
"""Relative slack on cumulative probabilities, so q = 0.95 on 20 equal scenarios is the 19th."""


@dataclass(frozen=True)
class RiskMeasures:
    """Mean, VaR, CVaR and worst case of one cost distribution (units of the costs)."""

    alpha: float
    expected_usd: float
    var_usd: float
    cvar_usd: float
    worst_usd: float


@dataclass(frozen=True)
class Interval:
    """A bootstrap percentile interval of a figure (units of the figure)."""

    low: float
    high: float
    level: float


def check_distribution(cost_usd: np.ndarray, probabilities: np.ndarray, alpha: float) -> None:
    """Raise ``ConfigError`` unless costs and probabilities are a valid [S] distribution."""
    cost, p = np.asarray(cost_usd), np.asarray(probabilities)
    if cost.ndim != 1 or cost.shape != p.shape or cost.size == 0:
        raise ConfigError(
            f"risk measures need costs and probabilities of the same length [S], got "
            f"{cost.shape} and {p.shape}"
        )
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be strictly between 0 and 1, got {alpha}")
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ConfigError("scenario probabilities must be non-negative and sum to 1")


def weighted_quantile(values: np.ndarray, probabilities: np.ndarray, q: float) -> float:
    """Lower q-quantile of a discrete distribution: the smallest v with P(V <= v) >= q."""
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=float)[order]
    cum = np.cumsum(np.asarray(probabilities, dtype=float)[order])
    cum /= cum[-1]
    i = int(np.searchsorted(cum, q - QUANTILE_TOLERANCE, side="left"))
    return float(v[min(i, len(v) - 1)])


def mean_p5_p95(values: np.ndarray, probabilities: np.ndarray) -> tuple[float, float, float]:
    """Probability-weighted mean and lower 5th and 95th percentiles of a figure."""
    p = np.asarray(probabilities, dtype=float)
    return (
        float(p @ np.asarray(values, dtype=float)),
        weighted_quantile(values, p, 0.05),
        weighted_quantile(values, p, 0.95),
    )


def tail_weights(cost_usd: np.ndarray, probabilities: np.ndarray, alpha: float) -> np.ndarray:
    """Weights w[S] >= 0 summing to 1 with CVaR_alpha = w @ cost (the worst 1 - alpha of mass)."""
    return _tail_weights(
        np.asarray(cost_usd, float), np.asarray(probabilities, float)[None], alpha
    )[0]


def var_cvar(cost_usd: np.ndarray, probabilities: np.ndarray, alpha: float) -> tuple[float, float]:
    """VaR_alpha and CVaR_alpha of a discrete cost (see the module docstring)."""
    cost = np.asarray(cost_usd, dtype=float)
    var = weighted_quantile(cost, probabilities, alpha)
    return var, float(tail_weights(cost, probabilities, alpha) @ cost)


def mean_plus_cvar(
    cost_usd: np.ndarray, probabilities: np.ndarray, alpha: float, cvar_weight: float
) -> float:
    """``E[C] + cvar_weight x CVaR_alpha(C)``, the optimisers' risk-adjusted objective (units
    of the costs)."""
    cost = np.asarray(cost_usd, dtype=float)
    return (
        float(np.asarray(probabilities, dtype=float) @ cost)
        + cvar_weight * var_cvar(cost, probabilities, alpha)[1]
    )


def risk_measures(cost_usd: np.ndarray, probabilities: np.ndarray, alpha: float) -> RiskMeasures:
    """``RiskMeasures`` of a cost distribution; raises ``ConfigError`` on invalid input."""
    check_distribution(cost_usd, probabilities, alpha)
    cost = np.asarray(cost_usd, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    var, cvar = var_cvar(cost, p, alpha)
    return RiskMeasures(
        alpha=float(alpha),
        expected_usd=float(p @ cost),
        var_usd=var,
        cvar_usd=cvar,
        worst_usd=float(cost[p > 0].max()),
    )


def resample_weights(probabilities: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """B multinomial bootstrap re-weightings of S scenarios, [B, S], each row summing to 1.

    Each row draws S scenarios with replacement (by their probabilities) and weights each by how
    often it was drawn: the scenario set another run of the same size might have produced.
    """
    p = np.asarray(probabilities, dtype=float)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(p.size, p / p.sum(), size=n_resamples).astype(float)
    return counts / p.size


def expected_many(cost_usd: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean of the cost under each row of ``weights`` [B, S], [B]."""
    return weights @ np.asarray(cost_usd, dtype=float)


def cvar_many(cost_usd: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    """CVaR_alpha of the cost under each row of ``weights`` [B, S], [B] (vectorised)."""
    cost = np.asarray(cost_usd, dtype=float)
    return _tail_weights(cost, weights, alpha) @ cost


def bootstrap_interval(samples: np.ndarray, level: float = 0.90) -> Interval:
    """Percentile interval of bootstrap samples of a figure, e.g. ``cvar_many(...)``."""
    lo, hi = np.quantile(np.asarray(samples, dtype=float), [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(lo), float(hi), float(level))


def _tail_weights(cost: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    """Tail weights [B, S] for each probability row of ``weights`` [B, S] (worst mass first;
    the boundary scenario gets the fractional share, as in Rockafellar-Uryasev)."""
    order = np.argsort(-cost, kind="stable")
    w = weights[:, order]
    before = np.cumsum(w, axis=1) - w
    share = np.clip((1.0 - alpha) - before, 0.0, w)
    out = np.empty_like(share)
    out[:, order] = share / (1.0 - alpha)
    return out
