"""Turn the numbers of one run (decision, valuations, frontier) into report rows and key metrics.

Pure functions over arrays and the dicts of ``energyhedge.risk``; no files, no solver. The
nightly pipeline calls them to fill ``ReportData``; the registry stores ``key_metrics``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from energyhedge.alerts import Alert
from energyhedge.model.problem import Decision, HedgeProblem
from energyhedge.report.html import (
    AlertRow,
    CostDistribution,
    Frontier,
    ReportData,
    RiskRow,
    Schedule,
    StressRow,
    Trade,
    schedule_energy,
)
from energyhedge.risk import CostBreakdown, weighted_quantile

PERCENTILE_MARKS = {"P50": 0.50, "P95": 0.95, "P99": 0.99}


def alert_rows(alerts: list[Alert]) -> tuple[AlertRow, ...]:
    """Report rows of operator alerts: the local window in its own column, not in the text."""
    return tuple(
        AlertRow(a.level, a.when, a.message.removeprefix(f"{a.when}: ") if a.when else a.message)
        for a in alerts
    )


def trades(trade_records: list[dict], quoted: set[str], tz: str) -> tuple[Trade, ...]:
    """Report rows from ``energyhedge.report.outputs.trades`` records.

    ``quoted`` names the products whose premium is a broker quote; the others were priced fair.
    UTC instants of the tenor are shown in the local clock ``tz``; dates stay as they are.
    """
    return tuple(
        Trade(
            product=t["product"],
            kind=t["kind"],
            shape=str(t["shape"]),
            start=_local(t["start"], tz),
            end=_local(t["end"], tz),
            mw=t["mw"],
            strike_usd_per_mwh=t["strike_usd_per_mwh"],
            fair_premium_usd=t["fair_premium_usd"],
            quoted_premium_usd=t["premium_usd"] if t["product"] in quoted else None,
        )
        for t in trade_records
    )


def risk_rows(comparison: dict) -> tuple[RiskRow, ...]:
    """Unhedged vs recommended rows from ``energyhedge.risk.compare`` output.

    Out-of-sample figures come first when present (they are the honest ones); the in-sample
    policy figures follow for the gap.
    """
    rows = []
    samples = [("out of sample", "out_of_sample")] if "out_of_sample" in comparison else []
    samples.append(("in sample", "in_sample"))
    for label, key in samples:
        un, rec = comparison[key]["unhedged"], comparison[key]["recommended"]
        alpha = comparison["alpha"]
        for name, unit, metric in (
            ("Expected cost", "$", "expected_cost_usd"),
            (f"VaR {alpha:.0%} cost", "$", "var_usd"),
            (f"CVaR {alpha:.0%} cost", "$", "cvar_usd"),
            ("Worst scenario cost", "$", "worst_usd"),
            ("Expected cost per GPU-hour", "$/GPU-h", "expected_cost_per_gpu_hour_usd"),
            ("P95 cost per GPU-hour", "$/GPU-h", "cost_per_gpu_hour_p95_usd"),
        ):
            rows.append(RiskRow(f"{name} ({label})", unit, un[metric], rec[metric]))
    return tuple(rows)


def cost_distribution(
    hedged: CostBreakdown, unhedged: CostBreakdown, probabilities: np.ndarray, sample: str
) -> CostDistribution:
    """Cost per GPU-hour arrays and their P50/P95/P99 (lower quantiles, as in ``risk``)."""

    def marks(values: np.ndarray) -> dict[str, float]:
        return {k: weighted_quantile(values, probabilities, q) for k, q in PERCENTILE_MARKS.items()}

    return CostDistribution(
        hedged_usd_per_gpu_hour=hedged.cost_per_gpu_hour_usd,
        unhedged_usd_per_gpu_hour=unhedged.cost_per_gpu_hour_usd,
        probabilities=probabilities,
        hedged_percentiles=marks(hedged.cost_per_gpu_hour_usd),
        unhedged_percentiles=marks(unhedged.cost_per_gpu_hour_usd),
        sample=sample,
    )


def frontier(points: list, chosen: tuple[float, float], unhedged: dict | None) -> Frontier:
    """``FrontierPoint`` list to a ``Frontier``; ``chosen`` is (expected, CVaR) in $."""
    return Frontier(
        lambdas=np.array([p.cvar_weight for p in points]),
        expected_usd=np.array([p.expected_cost_usd for p in points]),
        cvar_usd=np.array([p.cvar_usd for p in points]),
        chosen_expected_usd=chosen[0],
        chosen_cvar_usd=chosen[1],
        unhedged_expected_usd=None if unhedged is None else unhedged["expected_cost_usd"],
        unhedged_cvar_usd=None if unhedged is None else unhedged["cvar_usd"],
    )


def stress_rows(
    kinds: np.ndarray,
    probabilities: np.ndarray,
    hedged: CostBreakdown,
    unhedged: CostBreakdown,
) -> tuple[StressRow, ...]:
    """One row per scenario whose kind is ``stress:<event>``."""
    return tuple(
        StressRow(
            event=str(kinds[s]).removeprefix("stress:"),
            probability=float(probabilities[s]),
            unhedged_usd=float(unhedged.total_cost_usd[s]),
            hedged_usd=float(hedged.total_cost_usd[s]),
            unhedged_usd_per_gpu_hour=float(unhedged.cost_per_gpu_hour_usd[s]),
            hedged_usd_per_gpu_hour=float(hedged.cost_per_gpu_hour_usd[s]),
        )
        for s in np.flatnonzero(np.char.startswith(kinds.astype(str), "stress:"))
    )


def schedule(
    problem: HedgeProblem, decision: Decision, model_scenarios: np.ndarray, tz: str
) -> Schedule:
    """Schedule panel: MW per class, mean and P5-P95 of the model scenarios' prices ($/MWh)."""
    prices = problem.prices_usd_per_mwh[model_scenarios]
    p = problem.probabilities[model_scenarios]
    p = p / p.sum()
    low, high = _quantiles_by_interval(prices, p, 0.05), _quantiles_by_interval(prices, p, 0.95)
    return Schedule(
        interval_start_utc=problem.interval_start_utc,
        tz=tz,
        firm_mw=problem.firm_load_mw,
        class_mw={f.name: decision.schedule_mw[j] for j, f in enumerate(problem.flex)},
        price_mean_usd_per_mwh=p @ prices,
        price_low_usd_per_mwh=low,
        price_high_usd_per_mwh=high,
        thresholds_usd_per_mwh={
            f.name: float(decision.curtail_above_usd_per_mwh[j]) for j, f in enumerate(problem.flex)
        },
    )


def key_metrics(data: ReportData) -> dict:
    """What the registry keeps for the next run's "changes since" section (see ``registry``)."""
    return {
        "trades": {t.product: t.mw for t in data.trades},
        "risk": {r.metric: [r.unit, r.hedged] for r in data.risk},
        "schedule": {name: mwh for name, mwh, _peak in schedule_energy(data.schedule)},
    }


def _quantiles_by_interval(prices: np.ndarray, p: np.ndarray, q: float) -> np.ndarray:
    """Lower q-quantile of each column of ``prices`` [S, T] under probabilities ``p`` [S]."""
    order = np.argsort(prices, axis=0, kind="stable")
    cum = np.cumsum(p[order], axis=0)
    idx = np.minimum((cum < q - 1e-12).sum(axis=0), prices.shape[0] - 1)
    cols = np.arange(prices.shape[1])
    return prices[order[idx, cols], cols]


def _local(text: str, tz: str) -> str:
    """``2026-08-20T05:00:00Z`` -> ``2026-08-20 00:00 CDT``; a plain date is returned as is."""
    if "T" not in text:
        return text
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return f"{instant.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M %Z}"
