"""A term run's outputs: term.json (``term.schema.json``), trades.csv, term.html and the
first stage the next run starts from (``term_run.STATE_FILE``), published together atomically.

Every figure says what it is: in or out of sample, which strategy (``term_run.STRATEGIES``),
and, for the decision, which engine found it with which bounds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from energyhedge.atomic_dir import atomic_directory
from energyhedge.data.calendar import ISO_TZ
from energyhedge.instruments import product_mask
from energyhedge.model.measures import RiskMeasures
from energyhedge.report import outputs
from energyhedge.report.html import environment
from energyhedge.report.plots import term_months_svg
from energyhedge.safe_text import neutralise_frame
from energyhedge.term_run import STATE_FILE, STRATEGIES, TermRun

SCHEMA_PATH = Path(__file__).with_name("term.schema.json")


def term_document(run: TermRun, context: dict) -> dict:
    """term.json as a dict: horizon, engine and bounds, trades, DR per month, risk in and out of
    sample, and the sentence that explains the recommendation. ``context`` holds run_id,
    as_of, created_utc and inputs."""
    solution, term = run.solution, run.term
    trades = outputs.trades(term.problem, solution.product_mw)
    cap = term.dr_cap_mw()
    return {
        "kind": "term",
        "run_id": context["run_id"],
        "as_of": context["as_of"],
        "created_utc": context["created_utc"],
        "campus": run.campus.name,
        "iso": run.campus.iso,
        "node": run.campus.node,
        "months": list(term.period_labels),
        "recommendation": recommendation_sentence(run, trades),
        "engine": {
            "name": run.engine,
            "reason": run.engine_reason,
            "size": run.size,
            "iterations": solution.iterations,
            "upper_bound_usd": solution.objective_usd,
            "lower_bound_usd": solution.lower_bound_usd,
            "relative_gap": solution.relative_gap,
            "ranks": run.ranks,
            "workers": run.profile.term.workers,
            "timings_s": run.timings_s,
        },
        "warm_start": _warm_block(run),
        "trades": trades,
        "dr_commitment": [
            {
                "product": name,
                "month": label,
                "mw": float(solution.dr_by_period_mw[a, m]),
                "cap_mw": float(cap[a, m]),
            }
            for a, name in enumerate(term.problem.dr_names)
            for m, label in enumerate(term.period_labels)
            if term.commits_dr
        ],
        "risk": {
            "alpha": run.profile.solve_options.alpha,
            "objective": _objective_label(run),
            "strategies": dict(STRATEGIES),
            "in_sample": {
                "basis": "in sample: the scenarios the decision was made on (model-priced)",
                "scenarios": term.problem.n_scenarios,
                **{name: _measures(m) for name, m in run.in_sample.items()},
            },
            "out_of_sample": {
                "basis": "out of sample: fresh paths from the held-out half of history, "
                "products settled at the prices traded",
                "scenarios": run.out_of_sample_paths,
                **{name: _measures(m) for name, m in run.out_of_sample.items()},
            },
        },
        "inputs": context["inputs"],
        "notes": list(run.notes),
    }


def recommendation_sentence(run: TermRun, trades: list[dict]) -> str:
    """What to do and why, in one paragraph, from out-of-sample figures."""
    alpha = run.profile.solve_options.alpha
    oos = run.out_of_sample
    rec, bare = oos["recommended"], oos["unhedged"]
    y = run.solution.dr_by_period_mw.sum(axis=0)
    parts = []
    if trades:
        bought = sum(1 for t in trades if t["side"] == "buy")
        parts.append(
            f"Trade {len(trades)} products ({bought} bought, {len(trades) - bought} sold) "
            f"over {run.term.n_periods} months"
        )
    else:
        parts.append(f"No hedge trade over {run.term.n_periods} months")
    committed = [label for label, mw in zip(run.term.period_labels, y, strict=True) if mw > 0]
    if committed:
        parts.append(f"commit DR in {len(committed)} of them ({', '.join(committed)})")
    sentence = " and ".join(parts) + "."
    sentence += (
        f" Out of sample ({run.out_of_sample_paths:,} fresh paths) this moves CVaR{alpha:.0%} "
        f"from ${bare.cvar_usd:,.0f} (unhedged, nothing committed) to ${rec.cvar_usd:,.0f} and "
        f"the expected cost from ${bare.expected_usd:,.0f} to ${rec.expected_usd:,.0f}; "
        f"decided by the {run.engine} engine on {run.term.problem.n_scenarios:,} in-sample "
        f"scenarios (bound gap {run.solution.relative_gap:.1e})."
    )
    return sentence


def _objective_label(run: TermRun) -> str:
    o = run.profile.solve_options
    if o.budget_form:
        return f"minimise E[C] subject to CVaR{o.alpha:.0%} <= ${o.cvar_budget_usd:,.0f}"
    return f"minimise E[C] + {o.cvar_weight:g} x CVaR{o.alpha:.0%}(C)"


def _measures(m: RiskMeasures) -> dict:
    return {
        "expected_cost_usd": m.expected_usd,
        "var_usd": m.var_usd,
        "cvar_usd": m.cvar_usd,
        "worst_usd": m.worst_usd,
    }


def _warm_block(run: TermRun) -> dict | None:
    if run.warm_start is None:
        return None
    previous = run.warm_start
    return {
        "from_run": previous.get("run_id"),
        "previous_iterations": previous.get("iterations"),
        "previous_solve_s": previous.get("solve_s"),
        "iterations": run.solution.iterations,
        "solve_s": run.timings_s.get("solve_s"),
    }


def term_state(run: TermRun, run_id: str) -> dict:
    """The first stage and its cost to reach, for the next run (``term_run.read_warm_start``)."""
    return {
        "structure": run.structure,
        "run_id": run_id,
        "dr_by_period_mw": run.solution.dr_by_period_mw.tolist(),  # [A, P]
        "product_mw": run.solution.product_mw.tolist(),
        "iterations": run.solution.iterations,
        "solve_s": run.timings_s.get("solve_s"),
    }


def monthly_positions(run: TermRun) -> dict[str, np.ndarray]:
    """Month averages over all hours (MW, [P]): net block MW and option notional held, and the
    campus load with every class running."""
    term, problem = run.term, run.term.problem
    h = problem.interval_hours
    month_hours = np.bincount(term.period_of_interval, h, term.n_periods)
    specs = {spec.name: spec for spec in run.catalogue}
    minutes = round(float(h[0]) * 60)
    block, option = np.zeros(term.n_periods), np.zeros(term.n_periods)
    for product, mw in zip(problem.products, run.solution.product_mw, strict=True):
        if abs(mw) < outputs.TRADE_MW_TOLERANCE or product.name not in specs:
            continue
        mask = product_mask(specs[product.name], problem.interval_start_utc, minutes)
        held = np.bincount(term.period_of_interval, mask * h * mw, term.n_periods)
        if product.kind == "block":
            block += held / month_hours
        else:
            option += held / month_hours
    full = problem.firm_load_mw + sum(
        (np.asarray(f.max_mw, dtype=float) for f in problem.flex), np.zeros(problem.n_intervals)
    )
    load = np.bincount(term.period_of_interval, full * h, term.n_periods) / month_hours
    return {"block_mw": block, "option_mw": option, "full_load_mw": load}


def render_term_html(document: dict, run: TermRun) -> str:
    """term.html: the recommendation, trades, DR per month, the chart and the risk tables."""
    months = monthly_positions(run)
    chart = term_months_svg(
        list(run.term.period_labels),
        block_mw=months["block_mw"],
        option_mw=months["option_mw"],
        dr_mw=run.solution.dr_by_period_mw.sum(axis=0),
        full_load_mw=months["full_load_mw"],
    )
    template = environment().get_template("term.html.j2")
    return template.render(data=document, chart=chart, tz=ISO_TZ[run.campus.iso])


def write_term_outputs(out_dir: Path, run: TermRun, context: dict) -> Path:
    """Publish term.json, trades.csv, term.html and the state file as ``out_dir``, atomically."""
    document = outputs.json_ready(term_document(run, context))
    html = render_term_html(document, run)
    trades_table = outputs.trades_frame(document["trades"])
    with atomic_directory(out_dir, command="optimize") as tmp:
        text = json.dumps(document, indent=2, allow_nan=False) + "\n"
        (tmp / "term.json").write_text(text, encoding="utf-8")
        neutralise_frame(trades_table).write_csv(tmp / "trades.csv")
        (tmp / "term.html").write_text(html, encoding="utf-8")
        state = term_state(run, context["run_id"])
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return Path(out_dir).resolve()
