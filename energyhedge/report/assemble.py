"""The report's view model from one decision run: ``report_data(run, context)``.

Everything the trader's page shows comes from a ``energyhedge.decide.DecisionRun`` and the
nightly run's context (ids, data refresh, findings, inputs, timings, alerts). Out-of-sample
figures are on ``run.fresh_problem`` (fresh scenarios from history disjoint from the in-sample
one, products settled at their traded prices, curtailment by the ladder); in-sample figures and
the LP-vs-ladder gap are labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from energyhedge.data.calendar import ISO_TZ
from energyhedge.instruments import Catalogue, payoff_usd_per_mwh, product_mask
from energyhedge.model.measures import mean_p5_p95
from energyhedge.model.problem import HedgeProblem
from energyhedge.report import content, outputs
from energyhedge.report.html import LadderGap, PayoffCurve, Provenance, ReportData, RiskTable
from energyhedge.report.plots import payoff_grid
from energyhedge.risk import CONFIDENCE_LEVEL

if TYPE_CHECKING:
    from energyhedge.decide import DecisionRun


@dataclass(frozen=True)
class ReportContext:
    """What the report shows beyond the decision run.

    Attributes
    ----------
    run_id, as_of, created_utc : str
        Run id, ISO as-of date, creation instant (``2026-12-01T14:00:00Z``).
    profile_name : str
        Run profile name (its file stem).
    store_label : str
        Shown path of the price store.
    refresh : str
        What the data refresh did, one sentence.
    findings : tuple
        ``energyhedge.data.quality.Finding`` (series, kind, count, detail).
    inputs : dict
        name -> ``{"path" or "series": str, "sha256": str}``.
    timings_s : dict
        stage -> seconds.
    warnings : tuple of str
    alerts : tuple
        ``energyhedge.alerts.Alert``.
    """

    run_id: str
    as_of: str
    created_utc: str
    profile_name: str
    store_label: str
    refresh: str
    findings: tuple
    inputs: dict
    timings_s: dict
    warnings: tuple
    alerts: tuple


def report_data(run: DecisionRun, context: ReportContext) -> ReportData:
    """Everything the report shows for ``run``; ``changes`` is None (the pipeline fills it from
    the registry)."""
    campus, problem, fresh = run.campus, run.problem, run.fresh_problem
    decision = run.decision
    tz = ISO_TZ[campus.iso]
    minutes = run.fresh.interval_minutes
    oos, ins = run.out_of_sample, run.in_sample
    quoted = {
        spec.name
        for spec in run.catalogue
        if spec.premium_usd_per_mw is not None or spec.premium_usd_per_mwh is not None
    }
    masks = {
        spec.name: product_mask(spec, fresh.interval_start_utc, minutes) for spec in run.catalogue
    }
    # Day-ahead purchases are the campus's energy bought a day early (schedule.csv), not hedges.
    no_hedge = np.zeros(fresh.interval_start_utc.size, dtype=bool)
    masks.update({p.name: no_hedge for p in run.problem.products if p.kind == "day_ahead"})
    # Book positions hedge the campus like the trades: the chart shows book + new trades.
    for trade in run.book or ():
        masks[trade.product_name] = product_mask(trade.spec(), fresh.interval_start_utc, minutes)
    model = np.flatnonzero(~np.char.startswith(run.fresh.kind.astype(str), "stress:"))
    series = f"{campus.iso}/{campus.market}/{campus.node}"
    first = run.history["interval_start_utc"].min()
    last = run.history["interval_start_utc"].max()
    gap = run.ladder_gap
    settings = run.profile.scenarios
    return ReportData(
        trading=content.trading(
            run.solution,
            run.market_views,
            run.market_sentence,
            basis=run.basis,
            settlement_choice=run.settlement_choice,
            dr_revenue=mean_p5_p95(oos.costs["recommended"].dr_revenue_usd, oos.probabilities),
            ancillary=outputs.ancillary_services(run),
        ),
        run_id=context.run_id,
        as_of=context.as_of,
        created_utc=context.created_utc,
        profile=context.profile_name,
        campus=campus.name,
        iso=campus.iso,
        node=campus.node,
        horizon=horizon_label(problem.interval_start_utc, minutes, tz),
        alpha=oos.alpha,
        trades=content.trades(problem, decision.product_mw, quoted),
        positions=content.positions(
            run.positions, len(outputs.trades(problem, decision.product_mw))
        ),
        risk=RiskTable(
            alpha=oos.alpha,
            out_of_sample=content.strategy_rows(oos),
            in_sample=content.strategy_rows(ins),
            out_of_sample_scenarios=fresh.n_scenarios,
            in_sample_scenarios=problem.n_scenarios,
            split=run.split.description,
            gap_sentence=run.gap_sentence,
            ladder_gap=LadderGap(
                lp_expected_usd=gap.lp_expected_usd,
                lp_cvar_usd=gap.lp_cvar_usd,
                ladder_expected_usd=gap.ladder_expected_usd,
                ladder_cvar_usd=gap.ladder_cvar_usd,
                work_requirement=any(f.work_requirement_gpu_hours > 0 for f in problem.flex),
            ),
            level=CONFIDENCE_LEVEL,
        ),
        cost=content.cost_distribution(oos),
        frontier=content.frontier(run.frontier, oos) if run.frontier else None,
        hedge_load=content.hedge_load(fresh, decision, masks, tz),
        ladder=content.ladder(fresh, decision, campus.iso),
        payoffs=payoff_curves(run.catalogue, problem, minutes),
        schedule=content.schedule(fresh, decision, model, tz),
        stress=content.stress_rows(run.fresh.kind, oos),
        changes=None,
        provenance=Provenance(
            sources=(
                ("price store", context.store_label),
                ("market data refresh", context.refresh),
                ("settlement point", series),
                (
                    "scenarios",
                    f"{settings.model}: {problem.n_scenarios} in sample (seed {settings.seed}), "
                    f"{fresh.n_scenarios} out of sample (seed {settings.out_of_sample_seed})",
                ),
                ("out-of-sample history", run.split.description),
                ("in sample vs out of sample", run.gap_sentence),
            ),
            coverage=(
                (series, f"{first:%Y-%m-%d %H:%M}", f"{last:%Y-%m-%d %H:%M}", run.history.height),
            ),
            findings=tuple((f.series, f.kind, f.count, f.detail) for f in context.findings),
            inputs=tuple(
                (f"{name}: {item.get('path', item.get('series'))}", item["sha256"])
                for name, item in sorted(context.inputs.items())
            ),
            solver=tuple((k, _text(v)) for k, v in sorted(run.solution.solver.items())),
            timings_s=tuple(context.timings_s.items()),
            notes=tuple(run.solution.notes),
        ),
        warnings=tuple(context.warnings),
        alerts=content.alert_rows(list(context.alerts)),
    )


def horizon_label(stamps: np.ndarray, interval_minutes: int, tz: str) -> str:
    """``2026-11-27 00:00 to 2026-11-28 00:00 CST (24 intervals of 60 min)`` in local time."""
    zone = ZoneInfo(tz)
    first = datetime.fromisoformat(str(stamps[0])).replace(tzinfo=UTC).astimezone(zone)
    end = datetime.fromisoformat(str(stamps[-1])).replace(tzinfo=UTC) + timedelta(
        minutes=interval_minutes
    )
    end = end.astimezone(zone)
    return (
        f"{first:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {end:%Z} "
        f"({len(stamps)} intervals of {interval_minutes} min)"
    )


def payoff_curves(
    catalogue: Catalogue, problem: HedgeProblem, interval_minutes: int
) -> tuple[PayoffCurve, ...]:
    """Payoff per MWh of 1 MW of each product against the price, in one of its own intervals.

    Blocks use the reference price the problem priced them at; the premium line spreads the
    product's ask over its shape hours in the horizon. Products with no interval in the horizon,
    and those the problem left out (no forward mark covers them), are left out.
    """
    stamps = problem.interval_start_utc
    priced = {p.name: p for p in problem.products}
    grid = payoff_grid([p.meta.get("strike_usd_per_mwh") for p in problem.products])
    curves = []
    for spec in catalogue:
        product = priced.get(spec.name)
        mask = product_mask(spec, stamps, interval_minutes)
        if product is None or not mask.any():
            continue
        traded = spec
        if spec.kind == "block":
            traded = replace(spec, fixed_price_usd_per_mwh=product.meta["strike_usd_per_mwh"])
        t = int(np.flatnonzero(mask)[0])
        payoff = payoff_usd_per_mwh(traded, grid[:, None], stamps[t : t + 1], interval_minutes)
        hours = float(problem.interval_hours @ mask)
        curves.append(
            PayoffCurve(spec.name, grid, payoff[:, 0], product.premium_usd_per_mw / hours)
        )
    return tuple(curves)


def _text(value: object) -> str:
    """Solver record values for the provenance table."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in sorted(value.items())) or "(defaults)"
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value)
    return str(value)
