"""The run's machine-readable outputs: recommendation.json, schedule.csv, trades.csv.

``recommendation.json`` follows ``recommendation.schema.json`` (JSON Schema, in this folder; the
tests validate every file they write against it). ``write_outputs`` publishes a whole output
directory atomically: files go to a temporary sibling directory, which is then renamed into place,
so readers see the previous directory or the new one (or, for the instant between two renames
when replacing, none), never a mix of both.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge.assemble import product_intervals
from energyhedge.atomic_dir import atomic_directory
from energyhedge.book import BOOK_PREFIX, is_book
from energyhedge.config import shown_path
from energyhedge.data.calendar import local_time
from energyhedge.decide import DecisionRun
from energyhedge.forwards import is_indicative, price_source
from energyhedge.model.cost import ladder_steps
from energyhedge.model.measures import mean_p5_p95
from energyhedge.model.problem import Decision, HedgeProblem
from energyhedge.report.html import NO_TRADE
from energyhedge.report.positions import write_positions
from energyhedge.risk import StrategyValue, Valuation
from energyhedge.safe_text import neutralise_frame

SCHEMA_PATH = Path(__file__).with_name("recommendation.schema.json")
POSITIONS_FILE = "positions.xlsx"
"""The hedge book workbook a run with a book writes beside the other outputs."""
TRADE_MW_TOLERANCE = 1e-6
"""Products held below this |MW| are not traded."""

COST_LINES = (
    "energy_cost_usd",
    "cp_tag_usd",
    "dr_revenue_usd",
    "dr_penalty_usd",
    "hedge_payoff_usd",
    "premium_usd",
    "value_lost_usd",
    "unserved_penalty_usd",
    "restart_usd",
    "stops",
    "total_cost_usd",
    "gpu_hours",
    "energy_mwh",
)
"""Mean cost lines written per strategy (``CostBreakdown`` names)."""


def risk_block(value: StrategyValue) -> dict:
    """One strategy on one scenario set, as written in ``recommendation.json``."""
    cost, per_gpu = value.cost, value.per_gpu_hour
    return {
        "expected_cost_usd": cost.expected_usd,
        "expected_cost_interval_usd": _interval(value.expected_interval),
        "var_usd": cost.var_usd,
        "cvar_usd": cost.cvar_usd,
        "cvar_interval_usd": _interval(value.cvar_interval),
        "worst_usd": cost.worst_usd,
        "alpha": cost.alpha,
        "cost_per_gpu_hour": {
            "expected": per_gpu.expected_usd,
            "cvar": per_gpu.cvar_usd,
            **{f"p{q}": v for q, v in value.per_gpu_hour_percentiles.items()},
        },
        "mean_lines": {name: value.mean_lines[name] for name in COST_LINES},
    }


def valuation_block(valuation: Valuation) -> dict:
    """Every strategy of a ``Valuation``, with the improvement intervals of the recommendation."""
    return {
        "basis": valuation.basis,
        "scenarios": int(valuation.probabilities.size),
        "strategies": {name: risk_block(v) for name, v in valuation.strategies.items()},
        "saving_vs_unhedged_interval_usd": _interval(valuation.saving_interval),
        "cvar_reduction_vs_unhedged_interval_usd": _interval(valuation.cvar_reduction_interval),
    }


def build_recommendation(
    run: DecisionRun, context, *, as_of: date, sentence: str, stress: list[dict]
) -> dict:
    """The recommendation.json object of one decision (schema: ``recommendation.schema.json``).

    ``energyhedge optimize`` and the nightly run both write exactly this; nothing else adds to it.

    Parameters
    ----------
    run : DecisionRun
    context : energyhedge.report.assemble.ReportContext
        Run id, creation time, inputs, data refresh and quality findings, alerts, warnings.
    as_of : date
    sentence : str
        The one-sentence recommendation, as the report states it.
    stress : list of dict
        Stress-event rows, as the report shows them.
    """
    solution, problem = run.solution, run.problem
    start, end = _horizon(problem)
    names = [p.name for p in problem.products]
    config = run.profile.resolved()
    config["scenarios"]["start"] = run.start.isoformat()
    gap = run.ladder_gap
    settings = run.profile.scenarios
    return {
        "run_id": context.run_id,
        "created_utc": context.created_utc,
        "as_of": as_of.isoformat(),
        "campus": {
            "name": run.campus.name,
            "iso": run.campus.iso,
            "node": run.campus.node,
            "market": run.campus.market,
            "grid_limit_mw": run.campus.grid_limit_mw,
        },
        "inputs": context.inputs,
        "config": config,
        "horizon": {
            "start_utc": start,
            "end_utc": end,
            "intervals": problem.n_intervals,
            "interval_minutes": int(run.scenarios.interval_minutes),
            "scenarios": problem.n_scenarios,
        },
        "recommendation": sentence,
        "trades": trades(problem, solution.decision.product_mw),
        "positions": positions_block(run),
        "ladder": ladder_summary(problem, solution.decision),
        "risk": {
            "alpha": solution.alpha,
            "in_sample": valuation_block(run.in_sample),
            "out_of_sample": valuation_block(run.out_of_sample),
            "out_of_sample_history": run.split.description,
            "out_of_sample_seed": settings.out_of_sample_seed,
            "in_sample_vs_out_of_sample": run.gap_sentence,
            "lp": {
                "objective_usd": solution.objective_usd,
                "expected_cost_usd": solution.expected_cost_usd,
                "var_usd": solution.var_usd,
                "cvar_usd": solution.cvar_usd,
            },
            "lp_vs_ladder": {
                "lp_expected_cost_usd": gap.lp_expected_usd,
                "ladder_expected_cost_usd": gap.ladder_expected_usd,
                "lp_cvar_usd": gap.lp_cvar_usd,
                "ladder_cvar_usd": gap.ladder_cvar_usd,
                "meaning": "in sample; the LP's recourse sees each whole price path, the ladder "
                "only the current interval: the difference is the value of foresight",
            },
            "frontier": [
                {
                    "cvar_weight": p.cvar_weight,
                    "expected_cost_usd": p.expected_cost_usd,
                    "cvar_usd": p.cvar_usd,
                    "in_sample_objective_usd": p.in_sample_objective_usd,
                    "product_mw": dict(zip(names, p.product_mw.tolist(), strict=True)),
                }
                for p in run.frontier
            ],
        },
        "stress": stress,
        "alerts": [alert.record() for alert in context.alerts],
        "data": {
            "refresh": context.refresh,
            "quality": [str(finding) for finding in context.findings],
        },
        "trading": trading_block(run),
        "marginals": {
            "flex_value_usd_per_mw": dict(solution.flex_value_usd_per_mw),
            "cvar_budget_price_usd_per_usd": solution.cvar_budget_price_usd_per_usd,
            "product_cvar_contribution_usd": dict(
                zip(names, np.asarray(solution.product_cvar_contribution_usd).tolist(), strict=True)
            ),
            "product_cvar_without_usd": dict(
                zip(names, np.asarray(solution.product_cvar_without_usd).tolist(), strict=True)
            ),
        },
        "notes": list(context.warnings),
        "solver": solution.solver,
    }


def trades(problem: HedgeProblem, product_mw: np.ndarray) -> list[dict]:
    """Recommended trades: every product held, with side, MW and the price it trades at.

    ``price_usd_per_mwh`` is what the trade pays per MWh of notional: a block's fixed price
    (reference price plus the ask, or plus the bid for a sale), an option's premium per MWh.
    ``mid_usd_per_mwh`` is the same at the mid. ``pricing`` is ``"mark"`` when a forward mark
    gave the price (``price_source`` is then the mark id), ``"quote"`` when the catalogue or
    ``--quote`` gave it, ``"model"`` when it comes from the engine's scenarios: ``indicative``,
    not an executable price. ``settlement_point`` and ``market`` are where the product settles;
    ``lots`` is the number of lots of ``lot_mw`` (null when the product has no lot size). With a
    hedge book these are the incremental trades only (book positions are in ``positions_block``).
    """
    start, end = _horizon(problem)
    out = []
    for k, product in enumerate(problem.products):
        mw = float(product_mw[k])
        if abs(mw) < TRADE_MW_TOLERANCE or product.kind == "day_ahead" or is_book(product):
            continue  # day-ahead purchases are the campus's energy (schedule.csv), book
            # positions are held already (``positions_block``): neither is a trade
        meta = product.meta
        buy = mw > 0
        premium_per_mw = product.premium_usd_per_mw if buy else product.bid_usd_per_mw
        hours = product.notional_hours
        per_mwh = premium_per_mw / hours if hours else 0.0
        mid_per_mwh = (
            (0.0 if product.kind == "block" else product.fair_premium_usd_per_mw / hours)
            if hours
            else 0.0
        )
        strike = meta.get("strike_usd_per_mwh")
        base = float(strike) if product.kind == "block" and strike is not None else 0.0
        lot = float(meta.get("lot_mw", 0.0) or 0.0)
        out.append(
            {
                "product": product.name,
                "kind": product.kind,
                "iso": meta.get("iso"),
                "node": meta.get("node"),
                "settlement_point": meta.get("node"),
                "market": meta.get("market"),
                "shape": meta.get("shape"),
                "start": start if meta.get("start", "horizon") == "horizon" else meta["start"],
                "end": end if meta.get("end", "horizon") == "horizon" else meta["end"],
                "side": "buy" if buy else "sell",
                "mw": mw,
                "notional_mwh": abs(mw) * hours,
                "price_usd_per_mwh": base + per_mwh,
                "price_side": "ask" if buy else "bid",
                "mid_usd_per_mwh": base + mid_per_mwh,
                "pricing": meta.get("pricing", "model"),
                "price_source": price_source(meta),
                "indicative": is_indicative(meta),
                "lots": round(abs(mw) / lot, 6) if lot > 0 else None,
                "strike_usd_per_mwh": None
                if product.kind == "block" or strike is None
                else float(strike),
                "premium_usd": (mw * premium_per_mw) + 0.0,  # + 0.0: no "-0.0"
                "fair_premium_usd": mw * product.fair_premium_usd_per_mw + 0.0,
            }
        )
    return out


def positions_block(run: DecisionRun) -> dict | None:
    """The hedge book of a run (None without one): existing positions with their marks,
    resulting positions (book + incremental trades; the incremental trades are ``trades``), the
    book's MTM and settled P&L, delta grid, horizon P&L distribution and collateral estimate.
    """
    view = run.positions
    if view is None:
        return None
    incremental = trades(run.problem, run.decision.product_mw)
    return {
        "book": shown_path(run.book.path),
        "as_of": view.as_of.isoformat(),
        "no_trade": not incremental,
        "summary": NO_TRADE
        if not incremental
        else f"{len(incremental)} incremental trade(s) on top of {len(view.marks)} position(s)",
        "existing": [m.record() for m in view.marks],
        "resulting": resulting_positions(run),
        "mtm": {
            "mid_usd": view.mtm_mid_usd,
            "exit_usd": view.mtm_exit_usd,
            "settled_pnl_usd": view.settled_pnl_usd,
            "marked_to_model": [m.trade.trade_id for m in view.marks if m.basis == "model"],
            "meaning": "mw x (mark - traded price) x remaining delivery hours after as_of, at "
            "the mark's mid and at the exit side (long: bid, short: ask); marked to model: the "
            "scenarios' expected payoff over the hours inside the horizon only",
        },
        "delta_grid": [c.record() for c in view.delta],
        "pnl": view.pnl_summary(),
        "collateral": [c.record() for c in view.collateral],
    }


def resulting_positions(run: DecisionRun) -> list[dict]:
    """Book + incremental trades per instrument: each catalogue product traded or held (its
    matching book trades), then each book trade no catalogue product matches (MW)."""
    rows, matched = [], set()
    horizon = _horizon(run.problem)
    for product, x in zip(run.problem.products, run.decision.product_mw, strict=True):
        held = product.meta.get("held_trades", [])
        if is_book(product) or product.kind == "day_ahead":
            continue
        if not held and abs(float(x)) < TRADE_MW_TOLERANCE:
            continue
        matched.update(held)
        existing = float(product.meta.get("held_mw", 0.0))
        rows.append(_resulting(product, existing, float(x), held, horizon))
    for product in run.problem.products:
        trade_id = product.meta.get("trade_id")
        if is_book(product) and trade_id not in matched:
            rows.append(_resulting(product, product.min_mw, 0.0, [trade_id], horizon))
    return rows


def _resulting(
    product, existing: float, incremental: float, trade_ids: list, horizon: tuple[str, str]
) -> dict:
    """One resulting position (MW) of ``product``; a horizon tenor as the horizon's UTC bounds."""
    meta, kind = product.meta, product.kind
    strike = meta.get("strike_usd_per_mwh")
    start, end = meta.get("start", "horizon"), meta.get("end", "horizon")
    return {
        "product": product.name,
        "kind": kind,
        "iso": meta.get("iso"),
        "settlement_point": meta.get("node"),
        "market": meta.get("market"),
        "shape": meta.get("shape"),
        "start": horizon[0] if start == "horizon" else start,
        "end": horizon[1] if end == "horizon" else end,
        "strike_usd_per_mwh": None if kind == "block" or strike is None else float(strike),
        "existing_mw": existing + 0.0,
        "incremental_mw": incremental + 0.0,
        "mw": existing + incremental + 0.0,
        "trade_ids": list(trade_ids),
    }


TRADE_SCHEMA = {
    "position": pl.Utf8,
    "product": pl.Utf8,
    "kind": pl.Utf8,
    "iso": pl.Utf8,
    "node": pl.Utf8,
    "settlement_point": pl.Utf8,
    "market": pl.Utf8,
    "shape": pl.Utf8,
    "start": pl.Utf8,
    "end": pl.Utf8,
    "side": pl.Utf8,
    "mw": pl.Float64,
    "notional_mwh": pl.Float64,
    "price_usd_per_mwh": pl.Float64,
    "price_side": pl.Utf8,
    "mid_usd_per_mwh": pl.Float64,
    "pricing": pl.Utf8,
    "price_source": pl.Utf8,
    "indicative": pl.Boolean,
    "lots": pl.Float64,
    "strike_usd_per_mwh": pl.Float64,
    "premium_usd": pl.Float64,
    "fair_premium_usd": pl.Float64,
}
"""Columns of trades.csv (the trade records of ``trades``)."""


def trades_frame(trade_list: list[dict], positions: dict | None = None) -> pl.DataFrame:
    """trades.csv as a table: one row per incremental trade (``position`` "incremental"); with
    a hedge book (``positions_block``) also one "existing" row per book trade (its traded
    price, ``mid_usd_per_mwh`` the mark's mid) and one "resulting" row per instrument (side
    long or short)."""
    rows = [{"position": "incremental", **t} for t in trade_list]
    if positions is not None:
        rows += [_existing_row(m) for m in positions["existing"]]
        rows += [_resulting_row(r) for r in positions["resulting"]]
    return pl.DataFrame(rows, schema=TRADE_SCHEMA)


def _existing_row(mark: dict) -> dict:
    return {
        "position": "existing",
        "product": BOOK_PREFIX + mark["trade_id"],
        "kind": mark["kind"],
        "iso": mark["iso"],
        "node": mark["settlement_point"],
        "settlement_point": mark["settlement_point"],
        "market": mark["market"],
        "shape": mark["shape"],
        "start": mark["delivery_start"],
        "end": mark["delivery_end"],
        "side": "buy" if mark["mw"] > 0 else "sell",
        "mw": mark["mw"],
        "notional_mwh": abs(mark["mw"]) * mark["remaining_hours"],
        "price_usd_per_mwh": mark["traded_usd_per_mwh"],
        "mid_usd_per_mwh": mark["mark_mid_usd_per_mwh"],
        "pricing": "book",
        "price_source": mark["mark_id"] or mark["basis"],
        "indicative": mark["basis"] == "model",
        "strike_usd_per_mwh": mark["strike_usd_per_mwh"],
    }


def _resulting_row(row: dict) -> dict:
    return {
        "position": "resulting",
        **{k: row[k] for k in ("product", "kind", "iso", "settlement_point", "market", "shape")},
        "node": row["settlement_point"],
        "start": row["start"],
        "end": row["end"],
        "side": "long" if row["mw"] >= 0 else "short",
        "mw": row["mw"],
        "strike_usd_per_mwh": row["strike_usd_per_mwh"],
    }


def ladder_summary(problem: HedgeProblem, decision: Decision) -> dict:
    """Per class: its curve segments' value ($/MWh) and cumulative share of the class's MW.

    The per-interval ladder (MW and price per rung, tag weight included) is in schedule.csv.
    """
    out = {}
    for flex in problem.flex:
        width, _ = flex.segments()
        curtailable = flex.rt_curtailable and decision.follows_ladder
        out[flex.name] = {
            "real_time_curtailable": bool(curtailable),
            "rungs": [
                {"up_to_share_of_max": float(share), "value_usd_per_mwh": float(value)}
                for share, value in zip(
                    np.cumsum(width), flex.segment_value_usd_per_mwh(), strict=True
                )
            ]
            if curtailable
            else [],
        }
    return out


def schedule_frame(problem: HedgeProblem, decision: Decision, iso: str) -> pl.DataFrame:
    """schedule.csv: the day-ahead schedule and the real-time curtailment ladder.

    One row per interval, job class and ladder rung: ``interval_start_utc`` (ISO 8601 with
    ``Z``), ``interval_start_local`` (wall clock with its UTC offset, so DST repeats stay
    distinct), ``job_class``, ``scheduled_mw`` (day-ahead), ``firm_mw``, ``dr_offered_mw``
    (all DR/AS products together), ``day_ahead_mw`` (the campus's day-ahead purchase, 0 when it
    buys in real time only),
    ``rung`` (1 = steepest segment), ``run_mw`` and ``price_at_most_usd_per_mwh``: run
    ``run_mw`` while the real-time price is at most that price; the class runs the largest
    ``run_mw`` whose price is not exceeded, and nothing above rung 1's price. A class that is
    not curtailed in real time has one rung with an empty price (runs its schedule at any price).
    A DR call sheds further, lowest rung first (see ``energyhedge.model.cost``).
    """
    stamps = np.asarray(problem.interval_start_utc, dtype="datetime64[s]")
    utc_text, local_text = _stamp_labels(stamps, iso)
    t_n = stamps.size
    day_ahead = day_ahead_mw(problem, decision)
    parts = []
    for j, (flex, steps) in enumerate(
        zip(problem.flex, ladder_steps(problem, decision), strict=True)
    ):
        for rung, step in enumerate(steps, start=1):
            price = step.price_at_most_usd_per_mwh
            parts.append(
                pl.DataFrame(
                    {
                        "interval_start_utc": utc_text,
                        "interval_start_local": local_text,
                        "job_class": [flex.name] * t_n,
                        "scheduled_mw": np.asarray(decision.schedule_mw[j], dtype=float),
                        "firm_mw": np.asarray(problem.firm_load_mw, dtype=float),
                        "dr_offered_mw": np.asarray(decision.dr_mw, dtype=float).sum(axis=0),
                        "day_ahead_mw": day_ahead,
                        "rung": np.full(t_n, rung, dtype=np.int64),
                        "run_mw": np.asarray(step.run_mw, dtype=float),
                        "price_at_most_usd_per_mwh": pl.Series(
                            np.where(np.isfinite(price), price, np.nan), dtype=pl.Float64
                        ).fill_nan(None),
                    }
                )
            )
    if not parts:
        return pl.DataFrame({"interval_start_utc": utc_text, "interval_start_local": local_text})
    return pl.concat(parts).sort(["interval_start_utc", "job_class", "rung"], maintain_order=True)


def day_ahead_mw(problem: HedgeProblem, decision: Decision) -> np.ndarray:
    """MW bought day-ahead in each interval ([T]; zeros without two settlements)."""
    out = np.zeros(problem.n_intervals)
    for product, mw in zip(problem.products, np.asarray(decision.product_mw), strict=True):
        if product.kind == "day_ahead":
            out[product_intervals(product, problem.interval_start_utc)] = mw
    return out


def trading_block(run: DecisionRun) -> dict:
    """Market view, hedge-ratio limits, lot rounding, basis and the day-ahead choice."""
    solution, basis = run.solution, run.basis
    rounding = solution.lot_rounding
    names = [p.name for p in run.problem.products]
    return {
        "market_views": [view.sentence() for view in run.market_views],
        "market_consistent": run.market_sentence,
        "hedge_ratio": [
            {
                "shape": r.shape,
                "lower": r.lower,
                "upper": r.upper,
                "load_mw": r.load_mw,
                "net_mw": r.net_mw,
                "binding": r.binding,
                "dual_usd_per_mw": r.dual_usd_per_mw,
            }
            for r in solution.hedge_ratio
        ],
        "lot_rounding": None
        if rounding is None
        else {
            "continuous_mw": dict(zip(names, rounding.continuous_mw.tolist(), strict=True)),
            "rounded_mw": dict(zip(names, rounding.rounded_mw.tolist(), strict=True)),
            "cost_usd": rounding.cost_usd,
            "rule": rounding.rule,
        },
        "basis": None
        if basis is None
        else {
            "products": list(basis.products),
            "expected_usd": basis.expected_usd,
            "p5_usd": basis.p5_usd,
            "p95_usd": basis.p95_usd,
            "cvar_contribution_usd": basis.cvar_contribution_usd,
            "meaning": "out of sample: how much more the same trades would have paid settled at "
            "the campus's own point (positive: the basis costs the campus)",
        },
        "dr_revenue": _distribution(
            run.out_of_sample.costs["recommended"].dr_revenue_usd, run.out_of_sample.probabilities
        ),
        "ancillary_services": ancillary_services(run),
        "settlement": run.profile.settlement,
        "settlement_choice": {
            name: risk_block(value) for name, value in run.settlement_choice.items()
        },
    }


def ancillary_services(run: DecisionRun) -> list[dict]:
    """Each DR/AS product offered: its programme, offer, and out of sample its revenue, penalty,
    calls and the work and energy those calls cost or save (``model.cost.DrProductLines``)."""
    lines = run.ancillary
    if lines is None:
        return []
    programmes = {p.name: p for p in run.campus.dr_programmes}
    hours = run.problem.interval_hours
    prob = run.out_of_sample.probabilities
    out = []
    for a, name in enumerate(lines.names):
        programme = programmes[name]
        offer = np.asarray(run.decision.dr_mw[a], dtype=float)
        net = (
            lines.revenue_usd[a]
            - lines.penalty_usd[a]
            - lines.work_cost_usd[a]
            + lines.energy_saved_usd[a]
        )
        out.append(
            {
                "name": name,
                "kind": programme.kind,
                "price_series": programme.price_series,
                "largest_offer_mw": float(offer.max()),
                "offered_mw_h": float(offer @ hours),
                "revenue": _distribution(lines.revenue_usd[a], prob),
                "penalty": _distribution(lines.penalty_usd[a], prob),
                "called_mwh": float(prob @ lines.called_mwh[a]),
                "delivered_mwh": float(prob @ lines.delivered_mwh[a]),
                "work_cost": _distribution(lines.work_cost_usd[a], prob),
                "energy_saved": _distribution(lines.energy_saved_usd[a], prob),
                "net_value": _distribution(net, prob),
            }
        )
    return out


def _stamp_labels(stamps: np.ndarray, iso: str) -> tuple[list[str], list[str]]:
    """UTC (``...Z``) and local wall-clock labels with their offset (``...-05:00``)."""
    local = np.asarray(local_time(stamps, iso), dtype="datetime64[s]")
    offset_min = ((local - stamps) // np.timedelta64(1, "m")).astype(int)
    sign = np.where(offset_min < 0, "-", "+")
    hh, mm = np.abs(offset_min) // 60, np.abs(offset_min) % 60
    suffix = [f"{g}{h:02d}:{m:02d}" for g, h, m in zip(sign, hh, mm, strict=True)]
    utc = [f"{t}Z" for t in np.datetime_as_string(stamps, unit="s")]
    wall = [f"{t}{z}" for t, z in zip(np.datetime_as_string(local, unit="s"), suffix, strict=True)]
    return utc, wall


def _distribution(values: np.ndarray, probabilities: np.ndarray) -> dict:
    """Mean, P5 and P95 of a per-scenario figure ($)."""
    mean, p5, p95 = mean_p5_p95(values, probabilities)
    return {"expected_usd": mean, "p5_usd": p5, "p95_usd": p95}


def _interval(band) -> list[float] | None:
    return None if band is None else [band.low, band.high]


def write_files(
    folder: Path, recommendation: dict, schedule: pl.DataFrame, trades_table: pl.DataFrame
) -> None:
    """Write the three files into an existing folder (a run's temporary directory), and
    positions.xlsx (``report.positions``) when the run has a hedge book.

    Text cells that a spreadsheet would run as a formula are neutralised (``safe_text``).
    """
    text = json.dumps(json_ready(recommendation), indent=2, sort_keys=False, allow_nan=False) + "\n"
    (folder / "recommendation.json").write_text(text, encoding="utf-8")
    neutralise_frame(schedule).write_csv(folder / "schedule.csv")
    neutralise_frame(trades_table).write_csv(folder / "trades.csv")
    if recommendation.get("positions") is not None:
        write_positions(folder / POSITIONS_FILE, json_ready(recommendation))


def write_outputs(
    out_dir: str | Path, recommendation: dict, schedule: pl.DataFrame, trades_table: pl.DataFrame
) -> Path:
    """Publish the three files as ``out_dir`` atomically (temporary sibling, then rename).

    An existing ``out_dir`` is replaced only once the new one is complete.
    """
    with atomic_directory(out_dir, command="optimize") as tmp:
        write_files(tmp, recommendation, schedule, trades_table)
    return Path(out_dir).resolve()


def _horizon(problem: HedgeProblem) -> tuple[str, str]:
    stamps = np.asarray(problem.interval_start_utc, dtype="datetime64[us]")
    end = stamps[-1] + np.timedelta64(round(problem.interval_hours[-1] * 3.6e9), "us")
    return _iso_utc(stamps[0]), _iso_utc(end)


def _iso_utc(stamp: np.datetime64) -> str:
    return str(np.datetime64(stamp, "s")) + "Z"


def json_ready(value):
    """Numpy scalars and arrays to plain Python; non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_ready(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
