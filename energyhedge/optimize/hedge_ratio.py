"""Hedge-ratio limits: net block MW per shape within fractions of the campus's expected load.

For a limit on shape sigma (its intervals in the horizon: I_sigma, hours h_t):

- net hedged MW   H = sum_k share_k x_k over block products k, where
  share_k = (hours of I_sigma in product k's shape and tenor) / (hours of I_sigma): the
  hour-weighted mean MW the blocks deliver in sigma's hours (a 7x24 block counts fully in a
  5x16 limit; a 5x16 block counts 16/24 of its MW in a 7x24 limit);
- expected load   L = hour-weighted mean over I_sigma of the firm load plus every flexible
  class at full speed (the load the campus plans to draw before any curtailment), MW;
- the row         lower x L <= H <= upper x L.

A shape with no interval in the horizon (e.g. 2x16 on a weekday) gives no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from energyhedge.data.calendar import local_fields, shape_mask
from energyhedge.errors import ConfigError
from energyhedge.model.problem import HedgeProblem, Product
from energyhedge.optimize.options import HedgeRatioLimit


@dataclass(frozen=True)
class RatioRow:
    """One limit as an LP row over the products' net MW: ``lower_mw <= share @ x <= upper_mw``."""

    limit: HedgeRatioLimit
    share: np.ndarray
    load_mw: float
    lower_mw: float
    upper_mw: float


@dataclass(frozen=True)
class RatioResult:
    """A limit at the optimum: the net hedged MW against its bounds (MW), whether it binds
    (``"lower"``, ``"upper"`` or None) and its shadow price: what the objective would fall per
    MW the binding bound were relaxed ($/MW, from the row's dual; 0 when slack)."""

    shape: str
    lower: float
    upper: float
    load_mw: float
    net_mw: float
    binding: str | None
    dual_usd_per_mw: float

    @property
    def ratio(self) -> float:
        return self.net_mw / self.load_mw if self.load_mw else 0.0


def ratio_rows(problem: HedgeProblem, limits: tuple[HedgeRatioLimit, ...]) -> list[RatioRow]:
    """The rows of ``limits`` on ``problem`` (module docstring); shapes absent from the
    horizon give none."""
    if not limits or not problem.products:
        return []
    stamps = np.asarray(problem.interval_start_utc, dtype="datetime64[us]")
    hours = np.asarray(problem.interval_hours, dtype=float)
    minutes = round(float(hours[0]) * 60)
    isos = {p.meta["iso"] for p in problem.products if "iso" in p.meta}
    if len(isos) != 1:
        raise ConfigError(
            "hedge-ratio limits need the products of one ISO (found "
            f"{', '.join(sorted(isos)) or 'none'}); remove [risk.hedge_ratio] or fix the catalogue"
        )
    iso = isos.pop()
    load = np.asarray(problem.firm_load_mw, dtype=float) + sum(
        (np.asarray(f.max_mw, dtype=float) for f in problem.flex), start=np.zeros(stamps.size)
    )
    masks = [_product_mask(p, iso, stamps, minutes) for p in problem.products]
    rows = []
    for limit in limits:
        sigma = _shape_mask(limit.shape, iso, stamps, minutes)
        sigma_hours = float(hours @ sigma)
        if sigma_hours <= 0:
            continue
        share = np.array(
            [float(hours @ (m & sigma)) / sigma_hours if m is not None else 0.0 for m in masks]
        )
        mean_load = float(hours @ (load * sigma)) / sigma_hours
        rows.append(
            RatioRow(limit, share, mean_load, limit.lower * mean_load, limit.upper * mean_load)
        )
    return rows


def ratio_results(
    rows: list[RatioRow], product_mw: np.ndarray, row_dual_usd_per_mw: np.ndarray
) -> tuple[RatioResult, ...]:
    """Each row at the net product MW [K], with the LP row's dual ($ of objective per MW)."""
    out = []
    for row, dual in zip(rows, np.asarray(row_dual_usd_per_mw, dtype=float), strict=True):
        net = float(row.share @ product_mw)
        tol = 1e-6 * max(1.0, abs(row.load_mw))
        binding, saving = None, 0.0
        if net >= row.upper_mw - tol:
            binding, saving = "upper", -float(dual)
        elif net <= row.lower_mw + tol:
            binding, saving = "lower", float(dual)
        out.append(
            RatioResult(
                shape=row.limit.shape,
                lower=row.limit.lower,
                upper=row.limit.upper,
                load_mw=row.load_mw,
                net_mw=net,
                binding=binding,
                dual_usd_per_mw=saving + 0.0,
            )
        )
    return tuple(out)


def _shape_mask(shape: str, iso: str, stamps: np.ndarray, minutes: int) -> np.ndarray:
    if shape == "wrap":
        return ~shape_mask("5x16", iso, stamps, minutes)
    return shape_mask(shape, iso, stamps, minutes)


def _product_mask(product: Product, iso: str, stamps: np.ndarray, minutes: int):
    """A block's intervals (its shape and tenor; 7x24 over the horizon without a shape), or
    None for an option."""
    if product.kind != "block":
        return None
    meta = product.meta
    mask = _shape_mask(meta.get("shape", "7x24"), iso, stamps, minutes)
    start, end = meta.get("start", "horizon"), meta.get("end", "horizon")
    if start != "horizon":
        days = local_fields(stamps, iso)["date"]
        first = np.datetime64(date.fromisoformat(start), "D")
        last = np.datetime64(date.fromisoformat(end), "D")
        mask = mask & (days >= first) & (days <= last)
    return mask
