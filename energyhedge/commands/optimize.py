"""`energyhedge optimize`: one run profile -> recommendation.json, schedule.csv, trades.csv."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from energyhedge.atomic_dir import check_out_dir
from energyhedge.campus import Campus, load_campus
from energyhedge.commands.arguments import add_cvar_options, add_quote_option, add_store_option
from energyhedge.config import shown_path
from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.quality import assess
from energyhedge.data.store import PriceStore, open_store
from energyhedge.decide import decide, joint_points
from energyhedge.errors import ConfigError, DataError
from energyhedge.instruments import Catalogue
from energyhedge.report import outputs
from energyhedge.report.assemble import ReportContext
from energyhedge.report.record import report_and_recommendation, run_alerts
from energyhedge.run_inputs import combined_hash, decision_history, input_record, sha256_prices
from energyhedge.runs import TERM_ENGINES, RunProfile, load_run_profile


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `optimize` command to the CLI."""
    parser = sub.add_parser(
        "optimize",
        help="optimise hedges and the GPU schedule for one run profile",
        description="Generate scenarios from the local price store, solve the CVaR stochastic "
        "program and write DIR/recommendation.json, DIR/schedule.csv and DIR/trades.csv "
        "(atomically: a temporary sibling directory renamed into place).",
    )
    parser.add_argument(
        "--config", required=True, type=Path, metavar="FILE", help="models/runs/NAME.toml"
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output folder: new, empty, or written by energyhedge before (its files are "
        "replaced, anything else in it is kept)",
    )
    add_cvar_options(parser)
    parser.add_argument("--scenarios", type=int, metavar="N", help="in-sample scenarios")
    parser.add_argument("--seed", type=int, metavar="K", help="in-sample scenario seed")
    add_quote_option(parser)
    add_store_option(parser)
    parser.add_argument(
        "--engine",
        choices=TERM_ENGINES,
        help="term runs ([term] in the profile): extensive form, decomposition over scenarios, "
        "or mpi-sppy under mpiexec (default: the profile's, else auto from the model size)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="term runs: local processes solving scenario bundles (default: the profile's)",
    )
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    check_out_dir(args.out, protected=(args.store,))  # refuse a bad --out before solving
    profile = load_run_profile(args.config).with_overrides(
        cvar_weight=args.cvar_weight,
        alpha=args.alpha,
        cvar_budget_usd=args.cvar_budget,
        n=args.scenarios,
        seed=args.seed,
        quotes_usd_per_mwh=tuple(args.quotes),
    )
    if profile.term is None:
        if args.engine not in (None, "auto", "ef") or args.workers is not None:
            raise ConfigError(
                f"--engine {args.engine} / --workers apply to term runs; {args.config} has no "
                "[term] table (a day-ahead run is one extensive-form LP)"
            )
    else:
        from energyhedge.commands.term import run_term  # noqa: PLC0415

        profile = profile.with_term(engine=args.engine, workers=args.workers)
        return run_term(profile, args.out, store_root=args.store)
    out = run_optimize(profile, args.out, store_root=args.store)
    print(summary(json.loads((out / "recommendation.json").read_text(encoding="utf-8"))))
    book = ", " + outputs.POSITIONS_FILE if (out / outputs.POSITIONS_FILE).is_file() else ""
    print(f"wrote {out}/recommendation.json, schedule.csv, trades.csv{book}")
    return 0


def summary(recommendation: dict) -> str:
    """One line for the terminal: the recommendation, then CVaR and mean out of sample."""
    strategies = recommendation["risk"]["out_of_sample"]["strategies"]
    hedged, unhedged = strategies["recommended"], strategies["unhedged"]
    return (
        f"{recommendation['recommendation']} Out of sample: CVaR{hedged['alpha']:.0%} "
        f"${hedged['cvar_usd']:,.0f} (unhedged ${unhedged['cvar_usd']:,.0f}), mean "
        f"${hedged['expected_cost_usd']:,.0f} (unhedged ${unhedged['expected_cost_usd']:,.0f})"
    )


@dataclass(frozen=True)
class DecisionInputs:
    """What one optimize run decides on: the campus, catalogue, store, history and dates."""

    campus: Campus
    catalogue: Catalogue
    store: PriceStore
    history: pl.DataFrame
    start: date
    as_of: date
    warnings: tuple[str, ...]


def decision_inputs(profile: RunProfile, store_root: Path | None) -> DecisionInputs:
    """Read the campus, catalogue and the history before the horizon from the price store.

    The horizon starts on the profile's start day, else the day after the last stored price.
    """
    campus = load_campus(profile.campus_path)
    catalogue = profile.contracts()
    store = open_store(store_root)
    series = (campus.iso, campus.market, campus.node)
    stored = store.read(*series)
    if stored.height == 0:
        raise DataError(
            f"{store.root}: no {'/'.join(series)} prices; import them first (energyhedge data)"
        )
    last_day = stored.select(
        pl.col("interval_start_utc").max().dt.convert_time_zone(ISO_TZ[campus.iso]).dt.date()
    ).item()
    start = profile.scenarios.start or last_day + timedelta(days=1)
    as_of = start - timedelta(days=1)
    history, warnings = decision_history(
        store,
        profile,
        campus,
        as_of=as_of,
        start=start,
        joint=joint_points(profile, campus, catalogue),
    )
    for warning in warnings:
        print(warning, file=sys.stderr)
    return DecisionInputs(campus, catalogue, store, history, start, as_of, tuple(warnings))


def input_records(profile: RunProfile, inputs: DecisionInputs) -> dict:
    """name -> file or series record with its SHA-256, for the outputs."""
    campus, history = inputs.campus, inputs.history
    records = {
        "profile": input_record(profile.path),
        "campus": input_record(profile.campus_path),
        "contracts": input_record(profile.contracts_path),
        "history": {
            "series": f"{campus.iso}/{campus.market}/{campus.node}",
            "rows": history.height,
            "first_utc": str(history["interval_start_utc"].min()),
            "last_utc": str(history["interval_start_utc"].max()),
            "sha256": sha256_prices(history),
        },
    }
    if profile.book is not None:
        records["book"] = input_record(profile.book)
    return records


def run_key(profile: RunProfile, records: dict) -> str:
    """12 hex digits naming the run by its inputs and resolved profile."""
    key = hashlib.sha256(combined_hash({k: v["sha256"] for k, v in records.items()}).encode())
    key.update(repr(profile.resolved()).encode())
    return key.hexdigest()[:12]


def run_optimize(profile: RunProfile, out_dir: Path, *, store_root: Path | None = None) -> Path:
    """Decide on the local price store and publish recommendation.json, schedule.csv, trades.csv.

    The horizon starts on the profile's start day, else the day after the last stored price.
    """
    loaded = decision_inputs(profile, store_root)
    campus, catalogue, store = loaded.campus, loaded.catalogue, loaded.store
    history, start, as_of, warnings = loaded.history, loaded.start, loaded.as_of, loaded.warnings
    run = decide(profile, campus, catalogue, history, start, warnings=tuple(warnings), as_of=as_of)
    findings = assess(history)
    refresh = "not refreshed: energyhedge optimize reads the price store as it is"
    inputs = input_records(profile, loaded)
    context = ReportContext(
        run_id=f"{campus.name}-{start:%Y%m%d}-{run_key(profile, inputs)}",
        as_of=as_of.isoformat(),
        created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        profile_name=Path(profile.path).stem,
        store_label=shown_path(store.root),
        refresh=refresh,
        findings=tuple(findings),
        inputs=inputs,
        timings_s={},
        warnings=run.warnings,
        alerts=run_alerts(run, findings=findings, refresh=refresh),
    )
    _, recommendation = report_and_recommendation(run, context, as_of=as_of)
    return outputs.write_outputs(
        out_dir,
        recommendation,
        outputs.schedule_frame(run.problem, run.decision, campus.iso),
        outputs.trades_frame(recommendation["trades"], recommendation["positions"]),
    )
