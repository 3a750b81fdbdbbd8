"""Pricing a ``Decision`` scenario by scenario, and the risk figures of the resulting costs.

``value_decision`` computes every line of the scenario cost C_s defined in
``energyhedge.model.problem`` under a non-anticipative real-time policy, so a decision found on one set
of scenarios can be judged honestly on another (out of sample) or on a realised price path
(back-test, S = 1). The policy, applied interval by interval without looking ahead:

1. Each flexible class j draws its day-ahead schedule ``u_jt``, unless it is
   ``rt_curtailable`` and the interval's price exceeds ``curtail_above_usd_per_mwh[j]``; then it
   draws nothing.
2. Where DR is deployed (``dr_deployed[s, t]``), the real-time curtailable classes must reduce
   load by ``dr_mw[t]`` below their schedule. Reductions made in step 1 count; any remainder is
   taken from the classes still running, lowest break-even price ($/MWh of full-speed power)
   first. What cannot be delivered is the DR shortfall, penalised per MWh.
3. Work delivered follows each class's concave power-to-throughput curve:
   ``gpu_hours_per_mwh * max_mw_jt * h_t * curve(power_jst / max_mw_jt)``.

"Full work" of a class (the reference for value lost) is running at ``max_mw`` in every
interval: ``gpu_hours_per_mwh * sum_t max_mw_jt * h_t``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from energyhedge.errors import ConfigError
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem

SCENARIO_CHUNK_CELLS = 4_000_000
"""Scenario-intervals valued at once; bounds memory at a few hundred MB for any S x T."""

STRATEGIES = ("unhedged", "flexibility_only", "hedges_only", "recommended")
"""Strategy names, in the order reports show them."""

PERCENTILES = (5, 50, 95, 99)


@dataclass(frozen=True)
class CostBreakdown:
    """Every line of the scenario cost, per scenario ($ unless named otherwise), shape [S].

    ``total_cost_usd`` is C_s of ``energyhedge.model.problem``:
    energy + premium - hedge payoff + CP tags - DR revenue + DR penalty + value lost +
    unserved penalty. ``value_produced_usd`` (value of all work delivered, firm included) is
    not part of C_s; the event margin of the worked example is
    ``value_produced_usd - (total_cost_usd - value_lost_usd)``.
    """

    energy_mwh: np.ndarray
    energy_cost_usd: np.ndarray
    premium_usd: np.ndarray
    hedge_payoff_usd: np.ndarray
    dr_revenue_usd: np.ndarray
    dr_penalty_usd: np.ndarray
    cp_tag_usd: np.ndarray
    value_lost_usd: np.ndarray
    unserved_penalty_usd: np.ndarray
    value_produced_usd: np.ndarray
    gpu_hours: np.ndarray
    total_cost_usd: np.ndarray
    cost_per_gpu_hour_usd: np.ndarray

    @property
    def margin_usd(self) -> np.ndarray:
        """Value of compute produced minus what was paid for it (cash costs), per scenario ($)."""
        return self.value_produced_usd - (self.total_cost_usd - self.value_lost_usd)

    def scenario(self, s: int) -> dict[str, float]:
        """All lines of scenario ``s`` as plain floats (for JSON and tables)."""
        out = {f.name: float(getattr(self, f.name)[s]) for f in fields(self)}
        out["margin_usd"] = float(self.margin_usd[s])
        return out


def _check(problem: HedgeProblem, decision: Decision) -> None:
    s, t = problem.prices_usd_per_mwh.shape
    j, k = len(problem.flex), len(problem.products)
    want = {
        "product_mw": (decision.product_mw, (k,)),
        "schedule_mw": (decision.schedule_mw, (j, t)),
        "dr_mw": (decision.dr_mw, (t,)),
        "curtail_above_usd_per_mwh": (decision.curtail_above_usd_per_mwh, (j,)),
    }
    for name, (arr, shape) in want.items():
        if np.shape(arr) != shape:
            raise ConfigError(
                f"decision.{name} has shape {np.shape(arr)} but the problem needs {shape} "
                f"({k} products, {j} job classes, {t} intervals); rebuild the decision for it"
            )
    if problem.dr_deployed.shape != (s, t) or problem.cp_weight_usd_per_mw.shape != (s, t):
        raise ConfigError(f"problem dr_deployed / cp_weight_usd_per_mw must have shape {(s, t)}")


def _policy(
    problem: HedgeProblem, decision: Decision, rows: slice
) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], tuple[np.ndarray, ...]]:
    """Where the real-time policy departs from the day-ahead schedule, for scenarios ``rows``.

    Returns
    -------
    changes : list over classes of (row, col, power_mw)
        Cells (scenario index within ``rows``, interval) in which class j draws ``power_mw``
        instead of ``schedule_mw[j, col]``; each cell appears at most once per class. In all
        other cells the class draws its schedule. Kept sparse: curtailment is rare, so the
        cost of a chunk is a few passes over its prices.
    shortfall : (row, col, mw)
        DR-deployed cells and the MW of the call not delivered there.
    """
    prices = problem.prices_usd_per_mwh[rows]
    limit = decision.curtail_above_usd_per_mwh
    schedule = decision.schedule_mw
    rt = [j for j, c in enumerate(problem.flex) if c.rt_curtailable]
    empty = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0))
    changes = [empty] * len(problem.flex)
    for j in rt:
        r, c = np.nonzero(prices > limit[j])
        changes[j] = (r, c, np.zeros(r.size))
    r, c = np.nonzero(problem.dr_deployed[rows] & (decision.dr_mw > 0.0))
    price = prices[r, c]
    running = {j: np.where(price > limit[j], 0.0, schedule[j, c]) for j in rt}
    need = decision.dr_mw[c] - sum((schedule[j, c] - running[j] for j in rt), np.zeros(r.size))
    need = np.maximum(need, 0.0)
    for j in sorted(rt, key=lambda j: problem.flex[j].break_even_usd_per_mwh):
        cut = np.minimum(running[j], need)
        need = need - cut
        hit = cut > 0.0
        changes[j] = tuple(
            np.concatenate(pair)
            for pair in zip(changes[j], (r[hit], c[hit], running[j][hit] - cut[hit]), strict=True)
        )
    return changes, (r, c, need)


def _work_gpu_hours(
    problem: HedgeProblem, j: int, power_mw: np.ndarray, cols: np.ndarray | slice
) -> np.ndarray:
    """GPU-hours class j delivers in intervals ``cols`` when drawing ``power_mw`` there."""
    cls = problem.flex[j]
    max_mw = cls.max_mw[cols]
    full = cls.gpu_hours_per_mwh * max_mw * problem.interval_hours[cols]
    frac = np.divide(power_mw, max_mw, out=np.zeros(np.shape(power_mw)), where=max_mw > 0)
    return full * np.interp(frac, cls.curve_power_frac, cls.curve_work_frac)


def _unserved_usd(cls: FlexClass, work_gpu_hours: np.ndarray | float) -> np.ndarray | float:
    """Penalty for delivering less than the work requirement ($); 0 when the penalty is
    infinite, as then the requirement is a hard constraint of the optimiser, not a cost."""
    if not np.isfinite(cls.unserved_usd_per_gpu_hour):
        return np.zeros_like(work_gpu_hours)
    short = np.maximum(cls.work_requirement_gpu_hours - work_gpu_hours, 0.0)
    return cls.unserved_usd_per_gpu_hour * short


def _full_work_gpu_hours(problem: HedgeProblem) -> np.ndarray:
    """GPU-hours each class would deliver at max_mw in every interval, [J]."""
    return np.array(
        [c.gpu_hours_per_mwh * float(c.max_mw @ problem.interval_hours) for c in problem.flex]
    )


def _premium_usd(problem: HedgeProblem, product_mw: np.ndarray) -> float:
    """Premium paid for all products held ($)."""
    return float(
        sum(x * p.premium_usd_per_mw for x, p in zip(product_mw, problem.products, strict=True))
    )


def value_decision(problem: HedgeProblem, decision: Decision) -> CostBreakdown:
    """Every line of the scenario cost of ``decision`` under the real-time policy, per scenario.

    Parameters
    ----------
    problem : HedgeProblem
        Scenarios to value on (in sample, out of sample, or one realised path).
    decision : Decision
        Trades, schedule, DR offer and curtailment thresholds.

    Returns
    -------
    CostBreakdown
        Arrays of shape [S]. Scenarios are valued in chunks of at most
        ``SCENARIO_CHUNK_CELLS`` scenario-intervals, so memory does not grow with S.
    """
    _check(problem, decision)
    s_total, t = problem.prices_usd_per_mwh.shape
    h = problem.interval_hours
    x = np.asarray(decision.product_mw, dtype=float)
    lines = {
        name: np.zeros(s_total)
        for name in (
            "energy_mwh",
            "energy_cost_usd",
            "cp_tag_usd",
            "dr_penalty_usd",
            "value_lost_usd",
            "unserved_penalty_usd",
            "value_produced_usd",
            "gpu_hours",
        )
    }
    full_work = _full_work_gpu_hours(problem)
    firm_gpu_hours = float(problem.firm_gpu_hours.sum())
    schedule = decision.schedule_mw
    base_load = problem.firm_load_mw + schedule.sum(axis=0)
    scheduled_work = [
        _work_gpu_hours(problem, j, schedule[j], slice(None)) for j in range(len(schedule))
    ]
    chunk = max(1, SCENARIO_CHUNK_CELLS // max(t, 1))
    for start in range(0, s_total, chunk):
        rows = slice(start, min(start + chunk, s_total))
        n = rows.stop - rows.start
        prices = problem.prices_usd_per_mwh[rows]
        cp_weight = problem.cp_weight_usd_per_mw[rows]
        changes, (dr_r, dr_c, short_mw) = _policy(problem, decision, rows)
        energy_mwh = np.full(n, float(base_load @ h))
        energy_cost = prices @ (base_load * h)
        cp_tag = cp_weight @ base_load
        produced = np.full(n, firm_gpu_hours * problem.firm_value_usd_per_gpu_hour)
        gpu_hours = np.full(n, firm_gpu_hours)
        for j, (r, c, power) in enumerate(changes):
            cls = problem.flex[j]
            delta_mw = power - schedule[j, c]
            energy_mwh += np.bincount(r, delta_mw * h[c], n)
            energy_cost += np.bincount(r, prices[r, c] * delta_mw * h[c], n)
            cp_tag += np.bincount(r, cp_weight[r, c] * delta_mw, n)
            lost_work = scheduled_work[j][c] - _work_gpu_hours(problem, j, power, c)
            work = scheduled_work[j].sum() - np.bincount(r, lost_work, n)
            gpu_hours += work
            produced += cls.value_usd_per_gpu_hour * work
            lines["value_lost_usd"][rows] += cls.value_usd_per_gpu_hour * (full_work[j] - work)
            lines["unserved_penalty_usd"][rows] += _unserved_usd(cls, work)
        lines["energy_mwh"][rows] = energy_mwh
        lines["energy_cost_usd"][rows] = energy_cost
        lines["cp_tag_usd"][rows] = cp_tag
        lines["dr_penalty_usd"][rows] = problem.dr_penalty_usd_per_mwh * np.bincount(
            dr_r, short_mw * h[dr_c], n
        )
        lines["value_produced_usd"][rows] = produced
        lines["gpu_hours"][rows] = gpu_hours
    premium = _premium_usd(problem, x)
    payoff = np.zeros(s_total)
    for xk, p in zip(x, problem.products, strict=True):
        payoff += xk * p.payoff_usd_per_mw
    dr_revenue = float(np.sum(h * problem.dr_price_usd_per_mw_h * decision.dr_mw))
    total = (
        lines["energy_cost_usd"]
        + premium
        - payoff
        + lines["cp_tag_usd"]
        - dr_revenue
        + lines["dr_penalty_usd"]
        + lines["value_lost_usd"]
        + lines["unserved_penalty_usd"]
    )
    gpu = lines["gpu_hours"]
    per_gpu_hour = np.divide(total, gpu, out=np.full(s_total, np.nan), where=gpu > 0)
    return CostBreakdown(
        premium_usd=np.full(s_total, premium),
        hedge_payoff_usd=payoff,
        dr_revenue_usd=np.full(s_total, dr_revenue),
        total_cost_usd=total,
        cost_per_gpu_hour_usd=per_gpu_hour,
        **lines,
    )


def interval_breakdown(
    problem: HedgeProblem,
    decision: Decision,
    payoff_usd_per_mw_by_interval: np.ndarray,
    scenario: int = 0,
) -> dict[str, np.ndarray]:
    """The cost lines of one scenario interval by interval, each [T], summing to its C_s.

    Parameters
    ----------
    problem, decision
        As for ``value_decision``.
    payoff_usd_per_mw_by_interval : ndarray [K, T]
        Payoff of 1 MW of each product in each interval of this scenario ($/MW); must add up
        to ``product.payoff_usd_per_mw[scenario]`` (checked to a cent per MW).
    scenario : int
        Which scenario (0 for a back-test's realised path).

    Notes
    -----
    Horizon-level lines are allocated so that columns re-add to the totals: premiums pro rata
    to interval length over the whole horizon; the work-requirement penalty, known only once
    the horizon is over, on the last interval. Value lost per interval is
    ``value_j * (gpu_hours_per_mwh * max_mw_jt * h_t - work_jst)``.
    """
    _check(problem, decision)
    k, t = len(problem.products), problem.n_intervals
    by_interval = np.asarray(payoff_usd_per_mw_by_interval, dtype=float).reshape(k, t)
    for p, row in zip(problem.products, by_interval, strict=True):
        if abs(row.sum() - p.payoff_usd_per_mw[scenario]) > 0.01:
            raise ConfigError(
                f"interval payoffs of product {p.name!r} add to {row.sum():.2f} $/MW but the "
                f"problem says {p.payoff_usd_per_mw[scenario]:.2f} $/MW; they must match"
            )
    changes, (_, dr_c, short_mw) = _policy(problem, decision, slice(scenario, scenario + 1))
    power = decision.schedule_mw.astype(float)
    for j, (_, c, power_mw) in enumerate(changes):
        power[j, c] = power_mw
    shortfall = np.zeros(t)
    shortfall[dr_c] = short_mw
    h = problem.interval_hours
    price = problem.prices_usd_per_mwh[scenario]
    load = problem.firm_load_mw + power.sum(axis=0)
    x = np.asarray(decision.product_mw, dtype=float)
    premium_total = _premium_usd(problem, x)
    gpu_hours = problem.firm_gpu_hours.astype(float).copy()
    produced = problem.firm_value_usd_per_gpu_hour * gpu_hours
    value_lost = np.zeros(t)
    unserved = np.zeros(t)
    for j, cls in enumerate(problem.flex):
        work = _work_gpu_hours(problem, j, power[j], slice(None))
        gpu_hours += work
        produced += cls.value_usd_per_gpu_hour * work
        full = cls.gpu_hours_per_mwh * cls.max_mw * h
        value_lost += cls.value_usd_per_gpu_hour * (full - work)
        if t:
            unserved[-1] += _unserved_usd(cls, work.sum())
    columns = {
        "price_usd_per_mwh": price,
        "load_mw": load,
        "energy_mwh": load * h,
        "energy_cost_usd": price * load * h,
        "hedge_payoff_usd": x @ by_interval if k else np.zeros(t),
        "premium_usd": premium_total * h / h.sum() if t else np.zeros(t),
        "dr_revenue_usd": h * problem.dr_price_usd_per_mw_h * decision.dr_mw,
        "dr_penalty_usd": problem.dr_penalty_usd_per_mwh * shortfall * h,
        "cp_tag_usd": problem.cp_weight_usd_per_mw[scenario] * load,
        "value_lost_usd": value_lost,
        "unserved_penalty_usd": unserved,
        "value_produced_usd": produced,
        "gpu_hours": gpu_hours,
    }
    for j, cls in enumerate(problem.flex):
        columns[f"power_mw_{cls.name}"] = power[j]
    columns["total_cost_usd"] = (
        columns["energy_cost_usd"]
        + columns["premium_usd"]
        - columns["hedge_payoff_usd"]
        + columns["cp_tag_usd"]
        - columns["dr_revenue_usd"]
        + columns["dr_penalty_usd"]
        + value_lost
        + unserved
    )
    return columns


def weighted_quantile(values: np.ndarray, probabilities: np.ndarray, q: float) -> float:
    """Lower q-quantile of a discrete distribution: the smallest v with P(V <= v) >= q.

    ``q`` in [0, 1]; probabilities need not be sorted with values. A relative tolerance of
    1e-12 on the cumulative sum keeps e.g. q = 0.95 on 20 equal scenarios at the 19th value.
    """
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=float)[order]
    cum = np.cumsum(np.asarray(probabilities, dtype=float)[order])
    cum /= cum[-1]
    i = int(np.searchsorted(cum, q - 1e-12, side="left"))
    return float(v[min(i, len(v) - 1)])


def risk_metrics(
    cost_usd: np.ndarray,
    probabilities: np.ndarray,
    alpha: float,
    *,
    gpu_hours: np.ndarray | None = None,
) -> dict[str, float]:
    """Expected cost, VaR, CVaR and worst case of a discrete cost distribution.

    Parameters
    ----------
    cost_usd : ndarray [S]
        Scenario costs ($); larger is worse.
    probabilities : ndarray [S]
        Scenario probabilities (non-negative, summing to 1).
    alpha : float
        Confidence level in (0, 1), e.g. 0.95.
    gpu_hours : ndarray [S], optional
        GPU-hours delivered per scenario; adds the distribution of cost per GPU-hour.

    Returns
    -------
    dict
        ``expected_cost_usd``; ``var_usd``, the lower alpha-quantile (smallest c with
        P(C <= c) >= alpha); ``cvar_usd`` by Rockafellar-Uryasev,
        ``VaR + E[(C - VaR)+] / (1 - alpha)``, which equals
        ``min_eta eta + E[(C - eta)+] / (1 - alpha)`` (the optimiser's definition);
        ``worst_usd`` (largest cost with positive probability); ``alpha``. With
        ``gpu_hours``: ``expected_cost_per_gpu_hour_usd`` (probability-weighted mean of the
        per-scenario ratio) and ``cost_per_gpu_hour_p5_usd`` / ``_p50`` / ``_p95`` / ``_p99``
        (lower quantiles as for VaR).
    """
    cost = np.asarray(cost_usd, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if cost.ndim != 1 or cost.shape != p.shape or cost.size == 0:
        raise ConfigError(
            f"risk_metrics needs costs and probabilities of the same length [S], got "
            f"{cost.shape} and {p.shape}"
        )
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha must be strictly between 0 and 1, got {alpha}")
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ConfigError("scenario probabilities must be non-negative and sum to 1")
    var = weighted_quantile(cost, p, alpha)
    out = {
        "alpha": float(alpha),
        "expected_cost_usd": float(p @ cost),
        "var_usd": var,
        "cvar_usd": var + float(p @ np.maximum(cost - var, 0.0)) / (1.0 - alpha),
        "worst_usd": float(cost[p > 0].max()),
    }
    if gpu_hours is not None:
        ratio = cost / np.asarray(gpu_hours, dtype=float)
        out["expected_cost_per_gpu_hour_usd"] = float(p @ ratio)
        for q in PERCENTILES:
            out[f"cost_per_gpu_hour_p{q}_usd"] = weighted_quantile(ratio, p, q / 100.0)
    return out


def full_schedule_mw(problem: HedgeProblem) -> np.ndarray:
    """Every class at max_mw within the grid headroom, highest break-even first, [J, T] (MW)."""
    headroom = np.maximum(problem.grid_limit_mw - problem.firm_load_mw, 0.0)
    schedule = np.zeros((len(problem.flex), problem.n_intervals))
    order = sorted(range(len(problem.flex)), key=lambda j: -problem.flex[j].break_even_usd_per_mwh)
    for j in order:
        schedule[j] = np.minimum(problem.flex[j].max_mw, headroom)
        headroom = headroom - schedule[j]
    return schedule


def break_even_thresholds(problem: HedgeProblem) -> np.ndarray:
    """Virtual-peaker thresholds [J] ($/MWh): break-even if curtailable in real time, else inf."""
    return np.array(
        [c.break_even_usd_per_mwh if c.rt_curtailable else np.inf for c in problem.flex]
    )


def strategies(problem: HedgeProblem, recommended: Decision) -> dict[str, Decision]:
    """The four strategies reports compare, keyed by ``STRATEGIES``.

    - ``unhedged``: no products, every class at full schedule, never curtailed, no DR.
    - ``flexibility_only`` (virtual peaker without hedges): full schedule, each real-time
      curtailable class stops above its break-even price, no products, no DR.
    - ``hedges_only``: the recommended products, full schedule, never curtailed, no DR.
    - ``recommended``: the decision as given (products, schedule, thresholds, DR).
    """
    j, t, k = len(problem.flex), problem.n_intervals, len(problem.products)
    inflexible = Decision(
        product_mw=np.zeros(k),
        schedule_mw=full_schedule_mw(problem),
        dr_mw=np.zeros(t),
        curtail_above_usd_per_mwh=np.full(j, np.inf),
    )
    return {
        "unhedged": inflexible,
        "flexibility_only": replace(
            inflexible, curtail_above_usd_per_mwh=break_even_thresholds(problem)
        ),
        "hedges_only": replace(
            inflexible, product_mw=np.asarray(recommended.product_mw, dtype=float)
        ),
        "recommended": recommended,
    }


def transfer(
    decision: Decision, source: HedgeProblem, target: HedgeProblem
) -> tuple[HedgeProblem, Decision]:
    """Carry a decision made on ``source`` over to ``target`` (fresh scenarios or a realised path).

    Products are matched by name; each keeps the premium agreed on ``source`` (the trade was
    struck at that price, whatever the new scenarios say its fair value is). Products of the
    target that the decision does not hold get 0 MW. Job classes must match by name and both
    problems must share the interval grid, since the schedule is first-stage.

    Returns
    -------
    (HedgeProblem, Decision)
        ``target`` with the source's premiums, and the decision indexed like ``target``.
    """
    if not np.array_equal(source.interval_start_utc, target.interval_start_utc):
        raise ConfigError(
            "out-of-sample scenarios must cover the same intervals as the decision's scenarios; "
            "generate them for the same start date and number of days"
        )
    src_classes = [c.name for c in source.flex]
    if [c.name for c in target.flex] != src_classes:
        raise ConfigError(
            f"job classes differ: decision has {src_classes}, target problem has "
            f"{[c.name for c in target.flex]}; build both problems from the same campus"
        )
    held = {
        p.name: (float(x), p) for x, p in zip(decision.product_mw, source.products, strict=True)
    }
    names = {p.name for p in target.products}
    missing = [n for n, (x, _) in held.items() if x != 0.0 and n not in names]
    if missing:
        raise ConfigError(
            f"products {missing} are held by the decision but absent from the target problem's "
            "catalogue; value it with the same contracts file"
        )
    products, mw = [], []
    for p in target.products:
        x, src = held.get(p.name, (0.0, None))
        mw.append(x)
        products.append(p if src is None else replace(p, premium_usd_per_mw=src.premium_usd_per_mw))
    return (
        replace(target, products=tuple(products)),
        replace(decision, product_mw=np.array(mw)),
    )


def compare(
    problem: HedgeProblem,
    recommended: Decision,
    alpha: float,
    *,
    out_of_sample: HedgeProblem | None = None,
    in_sample_objective_usd: float | None = None,
) -> dict:
    """Risk metrics of every strategy in sample and, if given, out of sample, with the gap.

    Parameters
    ----------
    problem : HedgeProblem
        The scenarios the decision was optimised on.
    recommended : Decision
    alpha : float
        CVaR level.
    out_of_sample : HedgeProblem, optional
        Fresh scenarios on the same intervals (another seed or model); the decision is carried
        over with ``transfer``.
    in_sample_objective_usd : float, optional
        The optimiser's objective, reported beside the policy's in-sample value: the optimiser
        chooses recourse per scenario with hindsight, the policy does not.

    Returns
    -------
    dict
        ``{"in_sample": {strategy: metrics}, "out_of_sample": {...}, "gap": {strategy:
        {"expected_cost_usd": out - in, "cvar_usd": out - in}}, "in_sample_objective_usd"}``.
    """
    summary: dict = {"alpha": float(alpha), "in_sample_objective_usd": in_sample_objective_usd}
    summary["in_sample"] = _metrics_by_strategy(problem, recommended, alpha)
    if out_of_sample is not None:
        target, decision = transfer(recommended, problem, out_of_sample)
        summary["out_of_sample"] = _metrics_by_strategy(target, decision, alpha)
        summary["gap"] = {
            name: {
                key: summary["out_of_sample"][name][key] - summary["in_sample"][name][key]
                for key in ("expected_cost_usd", "cvar_usd", "expected_cost_per_gpu_hour_usd")
            }
            for name in STRATEGIES
        }
    return summary


def describe_gap(summary: dict, strategy: str = "recommended") -> str:
    """One plain sentence on how ``strategy`` fared out of sample versus in sample.

    ``summary`` is the output of ``compare`` with ``out_of_sample`` given.
    """
    ins, outs = summary["in_sample"][strategy], summary["out_of_sample"][strategy]
    d_mean = outs["expected_cost_usd"] - ins["expected_cost_usd"]
    d_cvar = outs["cvar_usd"] - ins["cvar_usd"]
    pct = 100.0 * summary["alpha"]
    return (
        f"Out of sample, the {strategy.replace('_', ' ')} strategy's expected cost is "
        f"${abs(d_mean):,.0f} {'higher' if d_mean >= 0 else 'lower'} and its CVaR{pct:g} "
        f"${abs(d_cvar):,.0f} {'higher' if d_cvar >= 0 else 'lower'} than in sample "
        f"(${ins['expected_cost_usd']:,.0f} -> ${outs['expected_cost_usd']:,.0f} expected, "
        f"${ins['cvar_usd']:,.0f} -> ${outs['cvar_usd']:,.0f} CVaR)."
    )


def _metrics_by_strategy(problem: HedgeProblem, recommended: Decision, alpha: float) -> dict:
    out = {}
    for name, decision in strategies(problem, recommended).items():
        costs = value_decision(problem, decision)
        out[name] = risk_metrics(
            costs.total_cost_usd, problem.probabilities, alpha, gpu_hours=costs.gpu_hours
        )
    return out
