"""Cheap checks run before any matrix is built, with explanations in campus terms.

Malformed arrays raise ``DataError``; a campus that cannot meet its own constraints raises
``InfeasibleError`` naming the class, interval and the numbers that do not fit, e.g.
"job class 'training': work requirement 1,920 MWh exceeds what 40 MW can run in 24 h: 960 MWh".
"""

from __future__ import annotations

import numpy as np

from energyhedge.errors import ConfigError, DataError, InfeasibleError
from energyhedge.model.curves import work_fraction
from energyhedge.model.problem import FlexClass, HedgeProblem


def check_problem(problem: HedgeProblem) -> None:
    """Raise DataError for malformed arrays and InfeasibleError for an impossible campus."""
    _check_shapes(problem)
    _check_grid(problem)
    for flex in problem.flex:
        flex.segments()
        _check_requirement(problem, flex)
        _check_commitment(flex)
    for product in problem.products:
        if product.min_mw > product.max_mw:
            raise ConfigError(
                f"product {product.name!r}: min_mw {product.min_mw:g} exceeds max_mw "
                f"{product.max_mw:g}"
            )
        if product.sellable and product.bid_usd_per_mw > product.premium_usd_per_mw:
            raise ConfigError(
                f"product {product.name!r}: bid ${product.bid_usd_per_mw:,.2f}/MW exceeds ask "
                f"${product.premium_usd_per_mw:,.2f}/MW, so buying and selling it at once would "
                "earn money; check the quote and the loading of this product"
            )


def max_deliverable_mw(problem: HedgeProblem, flex: FlexClass) -> np.ndarray:
    """Most facility MW the class can draw in each interval: its cap within the grid headroom."""
    headroom = np.maximum(problem.grid_limit_mw - problem.firm_load_mw, 0.0)
    return np.minimum(np.asarray(flex.max_mw, dtype=float), headroom)


def _check_shapes(problem: HedgeProblem) -> None:
    s, t, a_n = problem.n_scenarios, problem.n_intervals, problem.n_dr
    want = {
        "interval_start_utc": (problem.interval_start_utc, (t,)),
        "interval_hours": (problem.interval_hours, (t,)),
        "probabilities": (problem.probabilities, (s,)),
        "firm_load_mw": (problem.firm_load_mw, (t,)),
        "dr_price_usd_per_mw_h": (problem.dr_price_usd_per_mw_h, (a_n, s, t)),
        "dr_deployed": (problem.dr_deployed, (a_n, s, t)),
        "dr_penalty_usd_per_mwh": (problem.dr_penalty_usd_per_mwh, (a_n,)),
        "dr_names": (problem.dr_names, (a_n,)),
        "cp_weight_usd_per_mw": (problem.cp_weight_usd_per_mw, (s, t)),
    }
    want.update({f"flex {f.name!r} max_mw": (f.max_mw, (t,)) for f in problem.flex})
    want.update(
        {f"product {k.name!r} payoff": (k.payoff_usd_per_mw, (s,)) for k in problem.products}
    )
    for name, (array, shape) in want.items():
        if np.shape(array) != shape:
            raise DataError(f"problem {name} has shape {np.shape(array)}, expected {shape}")
    numeric = [
        problem.prices_usd_per_mwh,
        problem.interval_hours,
        problem.firm_load_mw,
        problem.cp_weight_usd_per_mw,
        problem.dr_price_usd_per_mw_h,
        problem.dr_max_mw,
        problem.dr_penalty_usd_per_mwh,
    ]
    numeric += [k.payoff_usd_per_mw for k in problem.products]
    if not all(np.all(np.isfinite(a)) for a in numeric):
        raise DataError("problem arrays hold NaN or infinite prices, loads or payoffs")
    if np.any(problem.interval_hours <= 0):
        raise DataError("interval lengths must be positive")
    p = problem.probabilities
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise DataError(f"scenario probabilities must be >= 0 and sum to 1 (sum {p.sum():.6g})")


def _check_grid(problem: HedgeProblem) -> None:
    over = problem.firm_load_mw - problem.grid_limit_mw
    if np.any(over > 1e-9):
        t = int(np.argmax(over))
        raise InfeasibleError(
            f"firm load {problem.firm_load_mw[t]:,.1f} MW in the interval starting "
            f"{_stamp(problem, t)} exceeds the grid limit {problem.grid_limit_mw:,.1f} MW; "
            "must-run load cannot be curtailed: raise the limit or lower the firm load"
        )


def _check_requirement(problem: HedgeProblem, flex: FlexClass) -> None:
    if flex.work_requirement_gpu_hours <= 0 or np.isfinite(flex.unserved_usd_per_gpu_hour):
        return
    max_mw = np.asarray(flex.max_mw, dtype=float)
    deliverable = max_deliverable_mw(problem, flex)
    frac = np.divide(deliverable, max_mw, out=np.zeros_like(max_mw), where=max_mw > 0)
    work_frac = work_fraction(frac, *flex.segments())
    most_mwh = float(np.sum(problem.interval_hours * max_mw * work_frac))
    need_mwh = flex.work_requirement_gpu_hours / flex.gpu_hours_per_mwh
    if need_mwh > most_mwh * (1 + 1e-9):
        hours = float(problem.interval_hours.sum())
        raise InfeasibleError(
            f"job class {flex.name!r}: work requirement {need_mwh:,.0f} MWh "
            f"({flex.work_requirement_gpu_hours:,.0f} GPU-h) exceeds what {np.max(max_mw):,.0f} MW "
            f"of {flex.name} can run in {hours:,.0f} h within the grid limit and curtailment "
            f"events: {most_mwh:,.0f} MWh; lower the requirement or allow unserved work"
        )


def _check_commitment(flex: FlexClass) -> None:
    times = (flex.min_run_h, flex.min_off_h)
    if not all(0 <= h < np.inf for h in times):
        raise ConfigError(
            f"job class {flex.name!r}: min_run_h {flex.min_run_h:g} and min_off_h "
            f"{flex.min_off_h:g} must be finite hours >= 0"
        )
    if flex.committed and not 0 < flex.min_power_frac <= 1:
        raise ConfigError(
            f"job class {flex.name!r}: min_power_frac {flex.min_power_frac:g} must be in (0, 1] "
            "(the least fraction of its MW the schedule draws while on)"
        )


def _stamp(problem: HedgeProblem, t: int) -> str:
    return str(np.datetime64(problem.interval_start_utc[t], "m")).replace("T", " ") + " UTC"
