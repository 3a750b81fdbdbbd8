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

from energyhedge.atomic_dir import atomic_directory
from energyhedge.data.calendar import local_time
from energyhedge.model.problem import Decision, HedgeProblem

SCHEMA_PATH = Path(__file__).with_name("recommendation.schema.json")
TRADE_MW_TOLERANCE = 1e-6
"""Products held below this |MW| are not traded."""


def risk_block(metrics: dict) -> dict:
    """A ``risk.hedged`` / ``risk.unhedged`` object from ``energyhedge.risk.risk_metrics``
    (called with ``gpu_hours``)."""
    return {
        "expected_cost_usd": metrics["expected_cost_usd"],
        "var_usd": metrics["var_usd"],
        "cvar_usd": metrics["cvar_usd"],
        "worst_usd": metrics["worst_usd"],
        "alpha": metrics["alpha"],
        "cost_per_gpu_hour": {
            f"p{q}": metrics[f"cost_per_gpu_hour_p{q}_usd"] for q in (5, 50, 95, 99)
        },
    }


def build_recommendation(
    *,
    run_id: str,
    as_of: date,
    campus,
    inputs: dict,
    config: dict,
    problem: HedgeProblem,
    solution,
    hedged: dict,
    unhedged: dict,
    interval_minutes: int,
    out_of_sample: dict | None = None,
) -> dict:
    """The recommendation.json object (see the schema) of one solved run.

    Parameters
    ----------
    campus : Campus
        Supplies name, iso, node, market and grid_limit_mw.
    inputs : dict
        Input name -> {"sha256": "sha256:<hex>", ...}.
    config : dict
        The resolved run profile.
    solution : energyhedge.optimize.Solution
    hedged, unhedged : dict
        ``risk_block`` objects of the recommended decision and of the unhedged campus.
    out_of_sample : dict, optional
        ``{"hedged": ..., "unhedged": ..., "scenarios": n, "seed": k}`` on fresh scenarios.
    """
    decision = solution.decision
    start, end = _horizon(problem)
    names = [p.name for p in problem.products]
    risk = {
        "hedged": hedged,
        "unhedged": unhedged,
        "in_sample": {
            "objective_usd": solution.objective_usd,
            "expected_cost_usd": solution.expected_cost_usd,
            "var_usd": solution.var_usd,
            "cvar_usd": solution.cvar_usd,
            "alpha": solution.alpha,
        },
    }
    if out_of_sample is not None:
        risk["out_of_sample"] = out_of_sample
    return {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "campus": {
            "name": campus.name,
            "iso": campus.iso,
            "node": campus.node,
            "market": campus.market,
            "grid_limit_mw": campus.grid_limit_mw,
        },
        "inputs": inputs,
        "config": config,
        "horizon": {
            "start_utc": start,
            "end_utc": end,
            "intervals": problem.n_intervals,
            "interval_minutes": int(interval_minutes),
            "scenarios": problem.n_scenarios,
        },
        "trades": trades(problem, decision),
        "risk": risk,
        "curtail_above_usd_per_mwh": {
            f.name: float(decision.curtail_above_usd_per_mwh[j]) for j, f in enumerate(problem.flex)
        },
        "marginals": {
            "flex_value_usd_per_mw": dict(solution.flex_value_usd_per_mw),
            "cvar_budget_price_usd_per_usd": solution.cvar_budget_price_usd_per_usd,
            "product_cvar_contribution_usd": dict(
                zip(names, solution.product_cvar_contribution_usd.tolist(), strict=True)
            ),
            "product_cvar_without_usd": dict(
                zip(names, solution.product_cvar_without_usd.tolist(), strict=True)
            ),
        },
        "notes": list(solution.notes),
        "solver": solution.solver,
    }


def trades(problem: HedgeProblem, decision: Decision) -> list[dict]:
    """Recommended trades: every product held, with MW, strike and premiums ($)."""
    start, end = _horizon(problem)
    out = []
    for k, product in enumerate(problem.products):
        mw = float(decision.product_mw[k])
        if abs(mw) < TRADE_MW_TOLERANCE:
            continue
        meta = product.meta
        strike = meta.get("strike_usd_per_mwh")
        out.append(
            {
                "product": product.name,
                "kind": product.kind,
                "iso": meta.get("iso"),
                "node": meta.get("node"),
                "shape": meta.get("shape"),
                "start": start if meta.get("start", "horizon") == "horizon" else meta["start"],
                "end": end if meta.get("end", "horizon") == "horizon" else meta["end"],
                "mw": mw,
                "strike_usd_per_mwh": None if strike is None else float(strike),
                "premium_usd": mw * product.premium_usd_per_mw + 0.0,  # + 0.0: no "-0.0"
                "fair_premium_usd": mw * product.fair_premium_usd_per_mw + 0.0,
            }
        )
    return out


def trades_frame(trade_list: list[dict]) -> pl.DataFrame:
    """trades.csv as a table (one row per trade)."""
    schema = {
        "product": pl.Utf8,
        "kind": pl.Utf8,
        "iso": pl.Utf8,
        "node": pl.Utf8,
        "shape": pl.Utf8,
        "start": pl.Utf8,
        "end": pl.Utf8,
        "mw": pl.Float64,
        "strike_usd_per_mwh": pl.Float64,
        "premium_usd": pl.Float64,
        "fair_premium_usd": pl.Float64,
    }
    return pl.DataFrame(trade_list, schema=schema)


def schedule_frame(problem: HedgeProblem, decision: Decision, iso: str) -> pl.DataFrame:
    """schedule.csv: interval start (UTC and local), MW per class, DR offered, thresholds.

    Columns: ``interval_start_utc`` (ISO 8601 with ``Z``), ``interval_start_local`` (ISO 8601
    wall clock with its UTC offset, so DST repeats stay distinct), ``firm_mw``, ``<class>_mw`` per
    flexible class, ``dr_offered_mw``, and ``<class>_curtail_above_usd_per_mwh`` (empty where
    the class cannot be curtailed in real time).
    """
    stamps = np.asarray(problem.interval_start_utc, dtype="datetime64[s]")
    local = np.asarray(local_time(stamps, iso), dtype="datetime64[s]")
    offset_min = ((local - stamps) // np.timedelta64(1, "m")).astype(int)
    sign = np.where(offset_min < 0, "-", "+")
    hh, mm = np.abs(offset_min) // 60, np.abs(offset_min) % 60
    suffix = [f"{g}{h:02d}:{m:02d}" for g, h, m in zip(sign, hh, mm, strict=True)]
    columns = {
        "interval_start_utc": [f"{t}Z" for t in np.datetime_as_string(stamps, unit="s")],
        "interval_start_local": [
            f"{t}{z}" for t, z in zip(np.datetime_as_string(local, unit="s"), suffix, strict=True)
        ],
        "firm_mw": np.asarray(problem.firm_load_mw, dtype=float),
    }
    for j, flex in enumerate(problem.flex):
        columns[f"{flex.name}_mw"] = np.asarray(decision.schedule_mw[j], dtype=float)
    columns["dr_offered_mw"] = np.asarray(decision.dr_mw, dtype=float)
    for j, flex in enumerate(problem.flex):
        limit = float(decision.curtail_above_usd_per_mwh[j])
        columns[f"{flex.name}_curtail_above_usd_per_mwh"] = pl.Series(
            [limit if math.isfinite(limit) else None] * problem.n_intervals, dtype=pl.Float64
        )
    return pl.DataFrame(columns)


def write_files(
    folder: Path, recommendation: dict, schedule: pl.DataFrame, trades_table: pl.DataFrame
) -> None:
    """Write the three files into an existing folder (a run's temporary directory)."""
    text = (
        json.dumps(_json_ready(recommendation), indent=2, sort_keys=False, allow_nan=False) + "\n"
    )
    (folder / "recommendation.json").write_text(text, encoding="utf-8")
    schedule.write_csv(folder / "schedule.csv")
    trades_table.write_csv(folder / "trades.csv")


def write_outputs(
    out_dir: str | Path, recommendation: dict, schedule: pl.DataFrame, trades_table: pl.DataFrame
) -> Path:
    """Publish the three files as ``out_dir`` atomically (temporary sibling, then rename).

    An existing ``out_dir`` is replaced only once the new one is complete.
    """
    with atomic_directory(out_dir) as tmp:
        write_files(tmp, recommendation, schedule, trades_table)
    return Path(out_dir).resolve()


def _horizon(problem: HedgeProblem) -> tuple[str, str]:
    stamps = np.asarray(problem.interval_start_utc, dtype="datetime64[us]")
    end = stamps[-1] + np.timedelta64(round(problem.interval_hours[-1] * 3.6e9), "us")
    return _iso_utc(stamps[0]), _iso_utc(end)


def _iso_utc(stamp: np.datetime64) -> str:
    return str(np.datetime64(stamp, "s")) + "Z"


def _json_ready(value):
    """Numpy scalars and arrays to plain Python; non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_ready(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
