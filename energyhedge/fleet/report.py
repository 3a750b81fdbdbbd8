"""The fleet run's outputs: ``fleet.json`` (machine-readable, ``report/fleet.schema.json``) and
``fleet.html`` (the page).

Every figure is out of sample (held-out joint days, products at their traded prices, real-time
migration rule and ladders) unless named otherwise; ``fleet_record`` builds the plain record
both files are written from.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from energyhedge.atomic_dir import atomic_directory
from energyhedge.config import shown_path
from energyhedge.fleet.service import FleetRun, figures, horizon_label
from energyhedge.fleet.value import migration_ladder
from energyhedge.report.html import render_fleet
from energyhedge.report.plots import distributions_svg

JSON_FILE = "fleet.json"
HTML_FILE = "fleet.html"


def fleet_record(run: FleetRun) -> dict:
    """The record of a fleet run (plain JSON types; NaN as null)."""
    profile = run.profile
    fleet = profile.fleet
    fig = figures(run)
    best = run.strategies["both"].solution
    first = next(iter(run.in_sample.sets.values()))
    stamps = np.asarray(first.interval_start_utc, dtype="datetime64[us]")
    trades = [
        {"campus": name, "product": product.name, "mw": float(mw)}
        for name, problem in run.oos_problems["both"].problems.items()
        for product, mw in zip(problem.products, best.decisions[name].product_mw, strict=True)
        if abs(mw) > 1e-6
    ]
    schedule = []
    for m in fleet.movable:
        for site in m.sites:
            problem = run.oos_problems["both"].problems[site]
            j = [f.name for f in problem.flex].index(m.name)
            schedule.append(
                {"class": m.name, "site": site, "mw": best.decisions[site].schedule_mw[j].tolist()}
            )
    record = {
        "fleet": fleet.name,
        "profile": shown_path(profile.path),
        "horizon": horizon_label(profile),
        "interval_start_utc": [str(t) + "Z" for t in stamps],
        "hours": list(range(len(stamps))),
        "alpha": profile.options.alpha,
        "campuses": [
            {"name": c.campus.name, "iso": c.campus.iso, "node": c.campus.node}
            for c in fleet.campuses
        ],
        "movable": [
            {
                "name": m.name,
                "home": m.home,
                "gpus": m.gpus,
                "capacity_gpus": m.capacity_gpus,
                "migration_mw_per_h": m.migration_mw_per_h,
                "migration_usd_per_mw": m.migration_usd_per_mw,
            }
            for m in fleet.movable
        ],
        "scenarios": {"in_sample": profile.n, "out_of_sample": profile.oos_n},
        "split": run.split_description,
        "validation": run.validation,
        "index_source": profile.compute.index.source,
        "reservations": [
            {
                "campus": r.campus,
                "tier": r.tier,
                "sizes_gpus": list(r.sizes),
                "price_usd_per_gpu_hour": r.price_usd_per_gpu_hour,
            }
            for r in profile.compute.reservations
        ],
        "strategies": fig["strategies"],
        "mobility": fig["value_of_mobility_usd_per_gpu_hour"],
        "risk_removed": fig["margin_risk_removed"],
        "worst": fig["worst_scenarios"],
        "migration_ladder": migration_ladder(run.oos_problems["both"]),
        "trades": trades,
        "schedule": schedule,
        "solver": {
            name: {k: r.solution.solver[k] for k in ("status", "solve_s", "columns", "rows")}
            for name, r in run.strategies.items()
        },
    }
    return _plain(record)


def write_fleet_outputs(out_dir: str | Path, run: FleetRun) -> tuple[Path, dict]:
    """Publish ``fleet.json`` and ``fleet.html`` to ``out_dir`` atomically; (path, record)."""
    record = fleet_record(run)
    with atomic_directory(out_dir, command="fleet") as tmp:
        (tmp / JSON_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        (tmp / HTML_FILE).write_text(render_fleet(record, charts(run)), encoding="utf-8")
    return Path(out_dir).resolve(), record


MARGIN_STRATEGIES = ("none", "power_only", "compute_only", "both")
"""The hedging strategies whose margin distributions the page draws (moving work allowed)."""


def charts(run: FleetRun) -> dict[str, str]:
    """The page's charts: margin per GPU-hour out of sample under each hedging strategy."""
    margins = {
        name.replace("_", " "): run.strategies[name].margin.margin_per_gpu_hour_usd
        for name in MARGIN_STRATEGIES
        if name in run.strategies
    }
    return {
        "margin": distributions_svg(
            margins,
            run.out_of_sample.probabilities,
            xlabel="margin per GPU-hour, out of sample",
            title="Margin per GPU-hour under each hedging strategy, out of sample",
            name="fleet-margin",
        )
    }


def _plain(value):
    """``value`` with numpy scalars as Python numbers and NaN as None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
