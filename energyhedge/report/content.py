"""Turn the numbers of one decision run into report rows and key metrics.

Pure functions over the array contract (``energyhedge.model``), the valuations of
``energyhedge.risk`` and the alerts; no files, no solver. ``energyhedge.report.assemble`` calls
them to fill ``ReportData``; the registry stores ``key_metrics``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from energyhedge.alerts import Alert, first_shed, rung_sheds, window_labels
from energyhedge.book import MARGIN_PERIOD_DAYS, mtm_change
from energyhedge.model.cost import ladder_steps, real_time_power_mw
from energyhedge.model.measures import QUANTILE_TOLERANCE, weighted_quantile
from energyhedge.model.problem import Decision, HedgeProblem
from energyhedge.report import outputs
from energyhedge.report.html import (
    BREAKDOWN_LINES,
    MW_SHOWN,
    NO_TRADE,
    AlertRow,
    AncillaryRow,
    CostDistribution,
    Frontier,
    GridCell,
    HedgeLoad,
    Ladder,
    LadderRung,
    LimitRow,
    PositionRow,
    Positions,
    ReportData,
    Schedule,
    SettlementRow,
    StrategyRow,
    StressRow,
    Trade,
    Trading,
    schedule_energy,
)
from energyhedge.risk import STRATEGIES, STRATEGY_LABELS, Valuation

PERCENTILE_MARKS = {"P50": 0.50, "P95": 0.95, "P99": 0.99}
LOAD_BAND = (0.05, 0.95)
"""Lower quantiles of the load band of the hedge-versus-load view."""


def alert_rows(alerts: list[Alert]) -> tuple[AlertRow, ...]:
    """Report rows of operator alerts: the local window in its own column, not in the text."""
    return tuple(
        AlertRow(a.level, a.when, a.message.removeprefix(f"{a.when}: ") if a.when else a.message)
        for a in alerts
    )


def trades(problem: HedgeProblem, product_mw: np.ndarray, quoted: set[str]) -> tuple[Trade, ...]:
    """Report rows of the products held (at least ``MW_SHOWN``): the records of
    ``outputs.trades`` (the same trades, prices and sources as ``trades.csv``).

    ``problem`` is the one the decision was made on (its products carry ask, bid and mid);
    ``quoted`` names the products whose price is a broker quote.
    """
    return tuple(
        Trade(
            product=r["product"],
            kind=r["kind"],
            shape=str(r["shape"] or ""),
            start=str(r["start"]),
            end=str(r["end"]),
            mw=r["mw"],
            price_usd_per_mwh=r["price_usd_per_mwh"],
            mid_usd_per_mwh=r["mid_usd_per_mwh"],
            strike_usd_per_mwh=r["strike_usd_per_mwh"],
            premium_usd=r["premium_usd"],
            quoted=r["product"] in quoted,
            source=r["price_source"],
            settlement_point=str(r["settlement_point"] or ""),
            market=str(r["market"] or ""),
            lots=r["lots"],
        )
        for r in outputs.trades(problem, product_mw)
        if abs(r["mw"]) >= MW_SHOWN
    )


def trading(
    solution,
    market_views=(),
    market_consistent: str | None = None,
    *,
    basis=None,
    settlement_choice: dict | None = None,
    dr_revenue: tuple[float, float, float] | None = None,
    ancillary: list[dict] | None = None,
) -> Trading | None:
    """The report's "Market and limits" section, or None when there is nothing to say.

    Parameters
    ----------
    solution : energyhedge.optimize.Solution
        Its ``hedge_ratio`` results and ``lot_rounding``.
    market_views : iterable of ``energyhedge.forwards.MarketView``
    market_consistent : str or None
        The sentence ``forwards.market_consistent`` returned, when the scenarios were shifted.
    basis : energyhedge.decide.BasisExposure or None
    settlement_choice : dict of name -> StrategyValue (``risk.SETTLEMENT_CHOICES``), optional
    dr_revenue : (expected, P5, P95) of the DR/AS revenue out of sample ($), optional
        Shown when it is uncertain (paid an ancillary-service clearing price).
    ancillary : list of dict, optional
        ``outputs.ancillary_services``: one row per DR/AS product offered.
    """
    limits = tuple(
        LimitRow(r.shape, r.lower, r.upper, r.load_mw, r.net_mw, r.binding, r.dual_usd_per_mw)
        for r in solution.hedge_ratio
    )
    lots = solution.lot_rounding
    rounding = None
    if lots is not None:
        moved = int(np.sum(np.abs(lots.rounded_mw - lots.continuous_mw) > 1e-9))
        rounding = (
            f"Trades are in lots: {moved} position(s) were rounded ({lots.rule}) and the "
            f"schedule re-optimised around them; rounding costs ${lots.cost_usd:,.0f} of "
            "objective against the unrounded optimum."
        )
    views = tuple(v.sentence() for v in market_views)
    basis_text = None
    if basis is not None:
        basis_text = (
            f"{', '.join(basis.products)} settle away from the campus's own price: out of sample "
            f"the basis costs ${basis.expected_usd:,.0f} on average (P5 ${basis.p5_usd:,.0f}, "
            f"P95 ${basis.p95_usd:,.0f}; negative: the hub hedges paid more than zone hedges "
            f"would have) and contributes ${basis.cvar_contribution_usd:,.0f} to the CVaR."
        )
    labels = {
        "real_time_only": "all in real time",
        "day_ahead_only": "the whole schedule day-ahead",
        "optimised_split": "optimised day-ahead purchase (recommended)",
    }
    settlement = tuple(
        SettlementRow(
            labels.get(name, name),
            value.cost.expected_usd,
            value.cost.cvar_usd,
            value.per_gpu_hour.expected_usd,
        )
        for name, value in (settlement_choice or {}).items()
    )
    revenue_text = None
    if dr_revenue is not None and dr_revenue[2] > dr_revenue[1]:
        revenue_text = (
            f"DR/AS availability is paid the clearing price of each scenario: out of sample the "
            f"offers earn ${dr_revenue[0]:,.0f} on average (P5 ${dr_revenue[1]:,.0f}, P95 "
            f"${dr_revenue[2]:,.0f})."
        )
    rows = tuple(_ancillary_row(a) for a in ancillary or () if a["offered_mw_h"] > 0)
    if (
        not (limits or rounding or views or market_consistent or basis_text or settlement)
        and not revenue_text
        and not rows
    ):
        return None
    return Trading(
        views, market_consistent, limits, rounding, basis_text, settlement, revenue_text, rows
    )


def _ancillary_row(product: dict) -> AncillaryRow:
    """A row of the DR/AS table from one ``outputs.ancillary_services`` entry."""
    series = product["price_series"]
    return AncillaryRow(
        name=product["name"],
        paid=f"{series} clearing price" if series else "fixed availability price",
        offered_mw_h=product["offered_mw_h"],
        revenue_usd=product["revenue"]["expected_usd"],
        revenue_p5_usd=product["revenue"]["p5_usd"],
        revenue_p95_usd=product["revenue"]["p95_usd"],
        penalty_usd=product["penalty"]["expected_usd"],
        called_mwh=product["called_mwh"],
        delivered_mwh=product["delivered_mwh"],
        work_cost_usd=product["work_cost"]["expected_usd"],
        energy_saved_usd=product["energy_saved"]["expected_usd"],
        net_usd=product["net_value"]["expected_usd"],
    )


def strategy_rows(valuation: Valuation) -> tuple[StrategyRow, ...]:
    """The four strategies of a valuation (``risk.STRATEGIES`` order) as table rows."""
    rows = []
    for key in STRATEGIES:
        v = valuation.strategies[key]
        rows.append(
            StrategyRow(
                key=key,
                label=STRATEGY_LABELS[key],
                expected_usd=v.cost.expected_usd,
                expected_band_usd=_band(v.expected_interval),
                cvar_usd=v.cost.cvar_usd,
                cvar_band_usd=_band(v.cvar_interval),
                expected_usd_per_gpu_hour=v.per_gpu_hour.expected_usd,
                cvar_usd_per_gpu_hour=v.per_gpu_hour.cvar_usd,
                lines_usd={k: sign * v.mean_lines[k] for k, _, sign in BREAKDOWN_LINES},
                gpu_hours=v.mean_lines["gpu_hours"],
            )
        )
    return tuple(rows)


def cost_distribution(valuation: Valuation) -> CostDistribution:
    """Cost per GPU-hour of "both" and "none" and their P50/P95/P99 (lower quantiles)."""
    p = valuation.probabilities
    hedged = valuation.costs["recommended"].cost_per_gpu_hour_usd
    unhedged = valuation.costs["unhedged"].cost_per_gpu_hour_usd

    def marks(values: np.ndarray) -> dict[str, float]:
        return {k: weighted_quantile(values, p, q) for k, q in PERCENTILE_MARKS.items()}

    return CostDistribution(hedged, unhedged, p, marks(hedged), marks(unhedged), valuation.basis)


def frontier(points, valuation: Valuation) -> Frontier:
    """``decide.FrontierPoint``s (valued out of sample with the ladder) and, on the same
    valuation, the chosen decision ("both") and the unhedged campus ("none")."""
    both, none = valuation.recommended.cost, valuation.unhedged.cost
    return Frontier(
        lambdas=np.array([p.cvar_weight for p in points], dtype=float),
        expected_usd=np.array([p.expected_cost_usd for p in points], dtype=float),
        cvar_usd=np.array([p.cvar_usd for p in points], dtype=float),
        chosen_expected_usd=both.expected_usd,
        chosen_cvar_usd=both.cvar_usd,
        unhedged_expected_usd=none.expected_usd,
        unhedged_cvar_usd=none.cvar_usd,
    )


def stress_rows(kinds: np.ndarray, valuation: Valuation) -> tuple[StressRow, ...]:
    """One row per scenario whose kind is ``stress:<event>``: "none" against "both"."""
    hedged, unhedged = valuation.costs["recommended"], valuation.costs["unhedged"]
    return tuple(
        StressRow(
            event=str(kinds[s]).removeprefix("stress:"),
            probability=float(valuation.probabilities[s]),
            unhedged_usd=float(unhedged.total_cost_usd[s]),
            hedged_usd=float(hedged.total_cost_usd[s]),
            unhedged_usd_per_gpu_hour=float(unhedged.cost_per_gpu_hour_usd[s]),
            hedged_usd_per_gpu_hour=float(hedged.cost_per_gpu_hour_usd[s]),
        )
        for s in np.flatnonzero(np.char.startswith(kinds.astype(str), "stress:"))
    )


def hedge_load(
    problem: HedgeProblem, decision: Decision, masks: dict[str, np.ndarray], tz: str
) -> HedgeLoad:
    """Hedge position against load by interval on ``problem`` (the out-of-sample one).

    ``masks`` maps each product to its intervals [T] (shape and tenor). Blocks add their signed
    MW in those intervals, options their notional; load is firm plus every class's power under
    the ladder (``model.cost.real_time_power_mw``), summarised by its mean and lower P5 / P95.
    """
    t_n = problem.n_intervals
    block, option = np.zeros(t_n), np.zeros(t_n)
    for product, x in zip(problem.products, np.asarray(decision.product_mw), strict=True):
        target = block if product.kind == "block" else option
        target += float(x) * np.asarray(masks[product.name], dtype=float)
    load = problem.firm_load_mw[None, :] + real_time_power_mw(problem, decision).sum(axis=0)
    p = problem.probabilities
    return HedgeLoad(
        interval_start_utc=problem.interval_start_utc,
        tz=tz,
        block_mw=block,
        option_mw=option,
        load_mean_mw=p @ load,
        load_low_mw=_quantiles_by_interval(load, p, LOAD_BAND[0]),
        load_high_mw=_quantiles_by_interval(load, p, LOAD_BAND[1]),
        scheduled_mw=problem.firm_load_mw + np.asarray(decision.schedule_mw).sum(axis=0),
    )


def ladder(problem: HedgeProblem, decision: Decision, iso: str) -> Ladder:
    """The ladder's rungs per class (``model.cost.ladder_steps``), with the tag hours.

    A rung's price outside tag hours is its curve segment's value; in tag hours the expected
    tag lowers it (the range over those hours is given).
    """
    rungs, fixed = [], []
    tag_hours = np.zeros(problem.n_intervals, dtype=bool)
    for flex, steps in zip(problem.flex, ladder_steps(problem, decision), strict=True):
        shed, level = rung_sheds(steps)
        if not np.isfinite(level).any():
            fixed.append((flex.name, float(shed.sum(axis=0).max(initial=0.0))))
            continue
        for m, value in enumerate(flex.segment_value_usd_per_mwh()):
            if shed[m].max(initial=0.0) < MW_SHOWN:
                continue
            moved = ~np.isclose(level[m], value)
            tag_hours |= moved
            low = float(level[m][moved].min()) if moved.any() else None
            high = float(level[m][moved].max()) if moved.any() else None
            rungs.append(LadderRung(flex.name, float(shed[m].max()), float(value), low, high))
    labels = window_labels(problem, iso, tag_hours) if tag_hours.any() else []
    return Ladder(tuple(rungs), tuple(fixed), ", ".join(labels))


def schedule(
    problem: HedgeProblem, decision: Decision, model_scenarios: np.ndarray, tz: str
) -> Schedule:
    """Schedule panel: MW per class, mean and P5-P95 of the model scenarios' prices ($/MWh),
    and the price above which each class's ladder starts to shed, per interval."""
    prices = problem.prices_usd_per_mwh[model_scenarios]
    p = problem.probabilities[model_scenarios]
    p = p / p.sum()
    low, high = _quantiles_by_interval(prices, p, 0.05), _quantiles_by_interval(prices, p, 0.95)
    shed = first_shed(problem, decision).price_usd_per_mwh
    return Schedule(
        interval_start_utc=problem.interval_start_utc,
        tz=tz,
        firm_mw=problem.firm_load_mw,
        class_mw={f.name: decision.schedule_mw[j] for j, f in enumerate(problem.flex)},
        price_mean_usd_per_mwh=p @ prices,
        price_low_usd_per_mwh=low,
        price_high_usd_per_mwh=high,
        first_shed_usd_per_mwh={f.name: shed[j] for j, f in enumerate(problem.flex)},
    )


def positions(view, incremental: int) -> Positions | None:
    """The report's position section of a ``book.BookView`` (None without a book);
    ``incremental`` is the number of incremental trades."""
    if view is None:
        return None
    rows = tuple(
        PositionRow(
            trade_id=m.trade.trade_id,
            counterparty=m.trade.counterparty,
            kind=m.trade.kind,
            shape=m.trade.shape,
            tenor=f"{m.trade.delivery_start} → {m.trade.delivery_end}",
            mw=m.trade.mw,
            traded_usd_per_mwh=m.traded_usd_per_mwh,
            mark_mid_usd_per_mwh=m.mark_mid_usd_per_mwh,
            mtm_mid_usd=m.mtm_mid_usd,
            mtm_exit_usd=m.mtm_exit_usd,
            basis=m.basis,
            settled_pnl_usd=m.settled_pnl_usd,
        )
        for m in view.marks
    )
    grid = {
        (c.month, f"{c.shape} @ {c.settlement_point}"): GridCell(c.mw, c.mtm_mid_usd)
        for c in view.delta
    }
    pnl = view.pnl_summary()
    summary = (
        NO_TRADE
        if not incremental
        else f"{incremental} incremental trade(s) on top of {len(rows)} position(s) held"
    )
    return Positions(
        summary=summary,
        rows=rows,
        months=tuple(sorted({month for month, _ in grid})),
        columns=tuple(sorted({column for _, column in grid})),
        grid=grid,
        mtm_mid_usd=view.mtm_mid_usd,
        mtm_exit_usd=view.mtm_exit_usd,
        settled_pnl_usd=view.settled_pnl_usd,
        pnl_expected_usd=pnl["expected_usd"],
        pnl_p5_usd=pnl["p5_usd"],
        pnl_p95_usd=pnl["p95_usd"],
        pnl_loss_cvar_usd=pnl["loss_cvar_usd"],
        collateral=tuple((c.counterparty, c.cvar_usd, c.observations) for c in view.collateral),
        margin_period_days=MARGIN_PERIOD_DAYS,
    )


def with_mtm_change(data: ReportData, previous_metrics: dict | None) -> ReportData:
    """``data`` with its position section's MTM change since the run whose key metrics are
    ``previous_metrics`` (unchanged without a book or a previous book)."""
    before = (previous_metrics or {}).get("book")
    if data.positions is None or before is None:
        return data
    after = {r.trade_id: r.mtm_mid_usd for r in data.positions.rows}
    expired = {r.trade_id for r in data.positions.rows if r.basis == "expired"}
    change = mtm_change(before["mtm_mid_usd"], after, expired)
    return replace(data, positions=replace(data.positions, change=change))


def key_metrics(data: ReportData) -> dict:
    """What the registry keeps for the next run's "changes since" section (see ``registry``):
    trades (MW as shown), the out-of-sample figures of "both", and scheduled MWh per class;
    with a hedge book also its MTM and settled P&L (risk rows) and each trade's mid MTM
    (``book``, for the split of the MTM change)."""
    both = data.risk.row("recommended")
    pct = f"{data.alpha:.0%}"
    metrics = _key_metrics(data, both, pct)
    if data.positions is not None:
        book = data.positions
        metrics["risk"].update(
            {
                "Book MTM (mid)": ["$", book.mtm_mid_usd],
                "Book MTM (exit side)": ["$", book.mtm_exit_usd],
                "Book settled P&L": ["$", book.settled_pnl_usd],
            }
        )
        metrics["book"] = {"mtm_mid_usd": {r.trade_id: r.mtm_mid_usd for r in book.rows}}
    return metrics


def _key_metrics(data: ReportData, both, pct: str) -> dict:
    return {
        "trades": {t.product: t.mw_shown for t in data.trades},
        "risk": {
            "Expected cost (out of sample, both)": ["$", both.expected_usd],
            f"CVaR {pct} cost (out of sample, both)": ["$", both.cvar_usd],
            "Expected cost per GPU-hour (out of sample, both)": [
                "$/GPU-h",
                both.expected_usd_per_gpu_hour,
            ],
            f"CVaR {pct} cost per GPU-hour (out of sample, both)": [
                "$/GPU-h",
                both.cvar_usd_per_gpu_hour,
            ],
        },
        "schedule": {name: mwh for name, mwh, _peak in schedule_energy(data.schedule)},
    }


def _band(interval) -> tuple[float, float] | None:
    return None if interval is None else (interval.low, interval.high)


def _quantiles_by_interval(values: np.ndarray, p: np.ndarray, q: float) -> np.ndarray:
    """Lower q-quantile of each column of ``values`` [S, T] under probabilities ``p`` [S]."""
    order = np.argsort(values, axis=0, kind="stable")
    cum = np.cumsum(p[order], axis=0)
    idx = np.minimum((cum < q - QUANTILE_TOLERANCE).sum(axis=0), values.shape[0] - 1)
    cols = np.arange(values.shape[1])
    return values[order[idx, cols], cols]
