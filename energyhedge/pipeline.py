"""The nightly run: data, scenarios, optimisation, valuation, stress, outputs, report.

``run_nightly`` is what cron calls through ``energyhedge nightly``. Under an exclusive lock on
the output directory it builds every output of the architecture notes (section 4) in a
temporary sibling folder ``<out>/<as-of>/.<run-id>.tmp``, renames it to
``<out>/<as-of>/<run-id>`` only when everything succeeded, and then repoints ``<out>/latest``
(a relative symlink replaced atomically). A failed run leaves no report directory and the
previous ``latest`` untouched; its log is kept as ``<out>/<as-of>/<run-id>.failed.log`` and the
run registry (``<out>/registry.sqlite``) records its status and message.

Determinism: given the same profile, inputs and seeds, ``recommendation.json`` is identical
apart from the run id, timestamps and the solver's measured durations. Scenarios see only
prices before the earlier of the as-of date and the horizon start (no look-ahead).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from energyhedge import risk
from energyhedge.alerts import Alert, operator_alerts
from energyhedge.assemble import build_problem
from energyhedge.campus import Campus, load_campus
from energyhedge.config import shown_path
from energyhedge.data import ercot_api, pjm_api
from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.fetch import fetch
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.quality import assess
from energyhedge.data.store import PriceStore, default_root, open_store
from energyhedge.errors import DataError, EnergyHedgeError, SolverError
from energyhedge.instruments import Catalogue, payoff_usd_per_mwh, product_mask
from energyhedge.lock import OutputLock
from energyhedge.log import RunLog
from energyhedge.optimize import frontier, solve
from energyhedge.model.problem import HedgeProblem
from energyhedge.progress import Progress
from energyhedge.report import content, outputs
from energyhedge.report.content import key_metrics
from energyhedge.report.html import (
    PayoffCurve,
    Provenance,
    ReportData,
    recommendation_sentence,
    render_report,
)
from energyhedge.report.plots import payoff_grid
from energyhedge.report.registry import Registry, changes_since
from energyhedge.risk import CostBreakdown
from energyhedge.run_inputs import (
    combined_hash,
    input_record,
    read_history,
    scenario_sets,
    sha256_file,
    sha256_prices,
)
from energyhedge.runs import load_run_profile
from energyhedge.scenarios import ScenarioSet

LATEST = "latest"
REFRESH_DAYS = 7
"""Days before the as-of date that a refresh fetches again (late revisions land in them)."""
ISO_KEYS = {
    "ercot": (ercot_api.ENV_USERNAME, ercot_api.ENV_PASSWORD, ercot_api.ENV_KEY),
    "pjm": (pjm_api.ENV_KEY,),
}
"""Environment variables without which no refresh is attempted."""


@dataclass(frozen=True)
class NightlyOptions:
    """Command-line options of ``energyhedge nightly`` (see ``commands/nightly.py``)."""

    config: Path
    as_of: date | None = None
    out: Path = Path("reports")
    offline: bool = False
    quiet: bool = False
    wait_s: float = 0.0
    store: Path | None = None
    quotes_usd_per_mwh: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class NightlyResult:
    """Where a successful run wrote its outputs."""

    run_id: str
    directory: Path
    sentence: str


def new_run_id(now_utc: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ-xxxxxx``: sortable by start time, unique by a random suffix."""
    return f"{now_utc:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def publish(tmp_dir: Path, final_dir: Path, out: Path) -> None:
    """Rename the finished ``tmp_dir`` to ``final_dir`` and point ``out/latest`` at it.

    Both steps are single renames: readers see the old ``latest`` or the new one, never a
    half-written directory.
    """
    os.rename(tmp_dir, final_dir)
    link_tmp = out / f".{LATEST}.{os.getpid()}.tmp"
    link_tmp.unlink(missing_ok=True)
    os.symlink(final_dir.relative_to(out), link_tmp)
    os.replace(link_tmp, out / LATEST)


def remove_stale_builds(out: Path) -> list[str]:
    """Delete ``<out>/<as-of>/.<run-id>.tmp`` folders left by runs that were killed.

    Call only while holding the output lock: then no live run owns such a folder.
    """
    stale = sorted(out.glob("*/.*.tmp"))
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return [str(p) for p in stale]


STEPS = ("profile", "data", "scenarios", "problem", "solve", "frontier", "value", "outputs")
"""Stages of a run, in order; each is timed and logged, and advances the progress bar."""


@dataclass(frozen=True)
class _Outcome:
    sentence: str
    metrics: dict
    inputs_hash: str


@dataclass
class _Results:
    """What the stages of a run produce, filled in stage order."""

    profile: object = None
    campus: Campus | None = None
    catalogue: Catalogue | None = None
    refresh: str = ""
    history: pl.DataFrame | None = None
    findings: list = field(default_factory=list)
    problem: HedgeProblem | None = None
    fresh: ScenarioSet | None = None
    solution: object = None
    points: list = field(default_factory=list)
    comparison: dict = field(default_factory=dict)
    gap: str = ""
    hedged: CostBreakdown | None = None
    unhedged: CostBreakdown | None = None
    trades: list = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    start: date | None = None


@dataclass
class _Run:
    """The stages of one run, sharing its options, log, inputs, timings and warnings."""

    options: NightlyOptions
    run_id: str
    as_of: date
    started: datetime
    tmp_dir: Path
    log: RunLog
    registry: Registry
    inputs: dict[str, dict]
    stale: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def stage(self, name: str, bar: Progress) -> _Stage:
        return _Stage(self, name, bar)

    def warn(self, event: str, message: str) -> None:
        self.warnings.append(message)
        self.log.event(event, level="warning", message=message)

    def execute(self) -> _Outcome:
        o = self.options
        self.log.event(
            "run.start",
            config=str(o.config),
            as_of=self.as_of.isoformat(),
            out=str(o.out),
            offline=o.offline,
            config_hash=self.inputs["profile"]["sha256"],
            removed_stale_builds=self.stale,
        )
        r = _Results()
        with Progress(len(STEPS), "nightly", enabled=not o.quiet) as bar:
            with self.stage("profile", bar):
                r.profile = load_run_profile(o.config).with_overrides(
                    quotes_usd_per_mwh=o.quotes_usd_per_mwh
                )
                r.campus = load_campus(r.profile.campus_path)
                r.catalogue = r.profile.contracts()
                self.inputs["campus"] = input_record(r.campus.path)
                self.inputs["contracts"] = input_record(r.catalogue.path)
                r.start = r.profile.scenarios.start or self.as_of + timedelta(days=1)
            with self.stage("data", bar):
                store = open_store(o.store)
                r.refresh = self.refresh(store, r.campus)
                r.history = read_history(store, r.campus, min(self.as_of, r.start))
                self.inputs["history"] = {
                    "series": f"{r.campus.iso}/{r.campus.market}/{r.campus.node}",
                    "rows": r.history.height,
                    "sha256": sha256_prices(r.history),
                }
                r.findings = assess(r.history)
                for f in r.findings:
                    self.log.event(
                        "data.quality", kind=f.kind, series=f.series, count=f.count, detail=f.detail
                    )
            with self.stage("scenarios", bar):
                settings = r.profile.scenarios
                scenarios, r.fresh = scenario_sets(r.profile, r.campus, r.history, r.start)
                self.log.event(
                    "scenarios.generated",
                    model=settings.model,
                    scenarios=scenarios.prices_usd_per_mwh.shape[0],
                    out_of_sample_scenarios=r.fresh.prices_usd_per_mwh.shape[0],
                    intervals=scenarios.prices_usd_per_mwh.shape[1],
                    seed=settings.seed,
                    out_of_sample_seed=settings.out_of_sample_seed,
                    start=r.start.isoformat(),
                )
            with self.stage("problem", bar):
                r.problem = build_problem(r.campus, r.catalogue, scenarios)
                fresh_problem = build_problem(r.campus, r.catalogue, r.fresh)
            with self.stage("solve", bar):
                solve_options = r.profile.solve_options
                r.solution = solve(r.problem, solve_options)
                self.log.event(
                    "solve.result",
                    status=r.solution.status,
                    objective_usd=r.solution.objective_usd,
                    product_mw=dict(
                        zip(
                            [p.name for p in r.problem.products],
                            r.solution.decision.product_mw,
                            strict=True,
                        )
                    ),
                    solver=r.solution.solver,
                )
                for note in r.solution.notes:
                    self.warn("solve.note", note)
            with self.stage("frontier", bar):
                try:
                    r.points = frontier(r.problem, r.profile.frontier_lambdas, solve_options)
                except SolverError as exc:  # the recommendation stands without the frontier
                    self.warn("frontier.failed", f"efficient frontier not computed: {exc}")
            with self.stage("value", bar):
                alpha = solve_options.alpha
                r.comparison = risk.compare(
                    r.problem,
                    r.solution.decision,
                    alpha,
                    out_of_sample=fresh_problem,
                    in_sample_objective_usd=r.solution.objective_usd,
                )
                target, decision = risk.transfer(r.solution.decision, r.problem, fresh_problem)
                by_strategy = risk.strategies(target, decision)
                r.hedged = risk.value_decision(target, by_strategy["recommended"])
                r.unhedged = risk.value_decision(target, by_strategy["unhedged"])
                r.gap = risk.describe_gap(r.comparison)
                self.log.event(
                    "value.out_of_sample",
                    message=r.gap,
                    recommended=r.comparison["out_of_sample"]["recommended"],
                    unhedged=r.comparison["out_of_sample"]["unhedged"],
                )
                r.alerts = operator_alerts(
                    target,
                    decision,
                    findings=r.findings,
                    solver=r.solution.solver,
                    refresh=r.refresh,
                    iso=r.campus.iso,
                )
                for alert in r.alerts:
                    record = alert.record()
                    self.log.event(f"alert.{alert.kind}", level=record.pop("level"), **record)
            with self.stage("outputs", bar):
                recommendation = self.recommendation(r)
                r.trades = recommendation["trades"]
                data = self.report_data(r)
                recommendation["recommendation"] = recommendation_sentence(data)
                recommendation["stress"] = [asdict(row) for row in data.stress]
                outputs.write_files(
                    self.tmp_dir,
                    recommendation,
                    outputs.schedule_frame(r.problem, r.solution.decision, r.campus.iso),
                    outputs.trades_frame(r.trades),
                )
                (self.tmp_dir / "report.html").write_text(render_report(data), encoding="utf-8")
        inputs_hash = combined_hash({k: v["sha256"] for k, v in self.inputs.items()})
        self.log.event("run.done", inputs_hash=inputs_hash, timings_s=self.timings)
        return _Outcome(recommendation_sentence(data), key_metrics(data), inputs_hash)

    def recommendation(self, r: _Results) -> dict:
        """``recommendation.json`` (``report/recommendation.schema.json``) plus the nightly extras.

        As in ``energyhedge optimize``, ``risk.hedged`` / ``risk.unhedged`` value the policy on
        the in-sample scenarios and ``risk.out_of_sample`` on fresh ones; the nightly adds every
        strategy out of sample, the in/out-of-sample gap, the data refresh and quality findings,
        the operator alerts (on the out-of-sample scenarios), and (filled in by the caller) the
        one-sentence recommendation and the stress events.
        """
        ins, oos = r.comparison["in_sample"], r.comparison["out_of_sample"]
        settings = r.profile.scenarios
        config = r.profile.resolved()
        config["scenarios"]["start"] = r.start.isoformat()
        recommendation = outputs.build_recommendation(
            run_id=self.run_id,
            as_of=self.as_of,
            campus=r.campus,
            inputs=self.inputs,
            config=config,
            problem=r.problem,
            solution=r.solution,
            hedged=outputs.risk_block(ins["recommended"]),
            unhedged=outputs.risk_block(ins["unhedged"]),
            out_of_sample={
                "hedged": outputs.risk_block(oos["recommended"]),
                "unhedged": outputs.risk_block(oos["unhedged"]),
                "scenarios": int(r.fresh.probabilities.size),
                "seed": settings.out_of_sample_seed,
            },
            interval_minutes=r.fresh.interval_minutes,
        )
        recommendation["created_utc"] = self.started.strftime("%Y-%m-%dT%H:%M:%SZ")
        recommendation["risk"]["strategies_out_of_sample"] = {
            name: outputs.risk_block(metrics) for name, metrics in oos.items()
        }
        recommendation["risk"]["in_sample_vs_out_of_sample"] = r.gap
        recommendation["data"] = {
            "refresh": r.refresh,
            "quality": [str(f) for f in r.findings],
        }
        recommendation["alerts"] = [a.record() for a in r.alerts]
        recommendation["notes"] += self.warnings
        return recommendation

    def refresh(self, store: PriceStore, campus: Campus) -> str:
        """Fetch the last ``REFRESH_DAYS`` days when allowed and keyed; say what was done."""
        if self.options.offline:
            mode = "offline (--offline): used the price store as is"
            self.log.event("data.refresh", mode="offline", message=mode)
            return mode
        missing = [name for name in ISO_KEYS[campus.iso] if not os.environ.get(name)]
        if missing:
            mode = f"no ISO keys ({', '.join(missing)} unset): used the price store as is"
            self.log.event("data.refresh", mode="store", message=mode)
            return mode
        request = FetchRequest(
            iso=campus.iso,
            market=campus.market,
            nodes=(campus.node,),
            start=self.as_of - timedelta(days=REFRESH_DAYS),
            end=self.as_of - timedelta(days=1),
        )
        try:
            report = fetch(request, store_root=store.root, progress=False)
        except DataError as exc:
            self.warn("data.refresh", f"refresh failed, used the price store as is: {exc}")
            return "refresh failed: used the price store as is"
        if not report.complete:
            self.warn(
                "data.refresh",
                f"refresh incomplete ({'; '.join(report.failed + report.empty)}); "
                "used what the store holds",
            )
        mode = f"fetched {report.rows} rows for {request.start}..{request.end} from the ISO API"
        self.log.event("data.refresh", mode="fetched", rows=report.rows, message=mode)
        return mode

    def report_data(self, r: _Results) -> ReportData:
        """Everything the report shows, including the changes since the last good run."""
        tz = ISO_TZ[r.campus.iso]
        stamps = r.problem.interval_start_utc
        model = np.flatnonzero(~np.char.startswith(r.fresh.kind.astype(str), "stress:"))
        quoted = {
            spec.name
            for spec in r.catalogue
            if spec.premium_usd_per_mw is not None or spec.premium_usd_per_mwh is not None
        }
        oos = r.comparison["out_of_sample"]
        first = r.history["interval_start_utc"].min()
        last = r.history["interval_start_utc"].max()
        data = ReportData(
            run_id=self.run_id,
            as_of=self.as_of.isoformat(),
            created_utc=self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            profile=Path(self.options.config).stem,
            campus=r.campus.name,
            iso=r.campus.iso,
            node=r.campus.node,
            horizon=_horizon_label(stamps, r.fresh.interval_minutes, tz),
            alpha=r.solution.alpha,
            trades=content.trades(r.trades, quoted, tz),
            risk=content.risk_rows(r.comparison),
            cost=content.cost_distribution(
                r.hedged, r.unhedged, r.fresh.probabilities, "out of sample"
            ),
            frontier=content.frontier(
                r.points,
                (r.solution.expected_cost_usd, r.solution.cvar_usd),
                r.comparison["in_sample"]["unhedged"],
            )
            if r.points
            else None,
            payoffs=_payoff_curves(r.catalogue, r.problem, r.fresh.interval_minutes),
            schedule=content.schedule(r.problem, r.solution.decision, model, tz),
            stress=content.stress_rows(r.fresh.kind, r.fresh.probabilities, r.hedged, r.unhedged),
            changes=None,
            provenance=Provenance(
                sources=(
                    ("price store", shown_path(self.options.store or default_root())),
                    ("market data refresh", r.refresh),
                    ("settlement point", f"{r.campus.iso}/{r.campus.market}/{r.campus.node}"),
                    (
                        "scenarios",
                        f"{r.profile.scenarios.model}, seed {r.profile.scenarios.seed}; "
                        f"valued out of sample on seed {r.profile.scenarios.out_of_sample_seed}",
                    ),
                    ("in sample vs out of sample", r.gap),
                ),
                coverage=(
                    (
                        f"{r.campus.iso}/{r.campus.market}/{r.campus.node}",
                        f"{first:%Y-%m-%d %H:%M}",
                        f"{last:%Y-%m-%d %H:%M}",
                        r.history.height,
                    ),
                ),
                findings=tuple((f.series, f.kind, f.count, f.detail) for f in r.findings),
                inputs=tuple(
                    (f"{name}: {item.get('path', item.get('series'))}", item["sha256"])
                    for name, item in sorted(self.inputs.items())
                ),
                solver=tuple((k, _text(v)) for k, v in sorted(r.solution.solver.items())),
                timings_s=tuple(self.timings.items()),
                notes=r.solution.notes,
            ),
            headline={
                "expected_usd_per_gpu_hour": oos["recommended"]["expected_cost_per_gpu_hour_usd"],
                "unhedged_expected_usd_per_gpu_hour": oos["unhedged"][
                    "expected_cost_per_gpu_hour_usd"
                ],
                "cvar_usd_per_gpu_hour": _cvar_per_gpu_hour(
                    r.hedged, r.fresh.probabilities, r.solution.alpha
                ),
                "unhedged_cvar_usd_per_gpu_hour": _cvar_per_gpu_hour(
                    r.unhedged, r.fresh.probabilities, r.solution.alpha
                ),
            },
            warnings=tuple(self.warnings),
            alerts=content.alert_rows(r.alerts),
        )
        previous = self.registry.previous_success(data.profile, before_run_id=self.run_id)
        return replace(data, changes=changes_since(previous, key_metrics(data)))


def run_nightly(options: NightlyOptions) -> NightlyResult:
    """Run the whole nightly job; raise an ``EnergyHedgeError`` subclass on failure.

    Nothing is published unless every step succeeds (see the module docstring).
    """
    out = Path(options.out)
    started = datetime.now(UTC)
    as_of = options.as_of or started.date()
    run_id = new_run_id(started)
    with OutputLock(out, wait_s=options.wait_s, owner=f"run {run_id}"):
        stale = remove_stale_builds(out)
        day_dir = out / as_of.isoformat()
        day_dir.mkdir(parents=True, exist_ok=True)
        tmp_dir = day_dir / f".{run_id}.tmp"
        tmp_dir.mkdir()
        config = Path(options.config)
        config_hash = sha256_file(config) if config.is_file() else "missing"
        registry = Registry(out)
        registry.start(
            run_id,
            as_of=as_of.isoformat(),
            profile=config.stem,
            config_hash=config_hash,
            inputs_hash="pending",
        )
        log = RunLog(tmp_dir / "run.log", run_id, echo=None if options.quiet else sys.stderr)
        run = _Run(
            options=options,
            run_id=run_id,
            as_of=as_of,
            started=started,
            tmp_dir=tmp_dir,
            log=log,
            registry=registry,
            inputs={"profile": {"path": shown_path(config), "sha256": config_hash}},
            stale=stale,
        )
        try:
            outcome = run.execute()
            log.close()
            publish(tmp_dir, day_dir / run_id, out)
        except BaseException as exc:
            _fail(
                exc,
                log=log,
                tmp_dir=tmp_dir,
                failed_log=day_dir / f"{run_id}.failed.log",
                registry=registry,
                run_id=run_id,
            )
            raise
        registry.finish(
            run_id,
            status="success",
            exit_code=0,
            message=outcome.sentence,
            output_dir=str(day_dir / run_id),
            metrics=outcome.metrics,
            inputs_hash=outcome.inputs_hash,
        )
    return NightlyResult(run_id, day_dir / run_id, outcome.sentence)


def _fail(
    exc: BaseException,
    *,
    log: RunLog,
    tmp_dir: Path,
    failed_log: Path,
    registry: Registry,
    run_id: str,
) -> None:
    """Record a failure: log line, kept log file, registry row; remove the half-built folder."""
    code = exc.exit_code if isinstance(exc, EnergyHedgeError) else 1
    message = str(exc) or type(exc).__name__
    if not log.closed:
        log.event(
            "run.failed", level="error", exit_code=code, error=type(exc).__name__, message=message
        )
        log.close()
    if (tmp_dir / "run.log").exists():
        os.replace(tmp_dir / "run.log", failed_log)
    shutil.rmtree(tmp_dir, ignore_errors=True)
    registry.finish(run_id, status="failed", exit_code=code, message=message)


class _Stage:
    """Times one stage, logs its end, and advances the progress bar."""

    def __init__(self, run: _Run, name: str, bar: Progress) -> None:
        self.run, self.name, self.bar = run, name, bar

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, exc_type, exc, tb) -> None:
        seconds = round(time.perf_counter() - self.t0, 3)
        self.run.timings[self.name] = seconds
        if exc_type is None:
            self.run.log.event(f"{self.name}.done", seconds=seconds)
            self.bar.advance()


def _horizon_label(stamps: np.ndarray, interval_minutes: int, tz: str) -> str:
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


def _payoff_curves(
    catalogue: Catalogue, problem: HedgeProblem, interval_minutes: int
) -> tuple[PayoffCurve, ...]:
    """Payoff per MWh of 1 MW of each product against the price, in one of its own intervals.

    Blocks use the fixed price the problem traded them at; the premium line spreads the
    product's premium over its shape hours in the horizon. Products with no interval in the
    horizon are left out.
    """
    stamps = problem.interval_start_utc
    priced = {p.name: p for p in problem.products}
    grid = None
    curves = []
    for spec in catalogue:
        product = priced[spec.name]
        mask = product_mask(spec, stamps, interval_minutes)
        if not mask.any():
            continue
        traded = spec
        if spec.kind == "block":  # at the fixed price the problem traded it at
            fixed = product.meta["strike_usd_per_mwh"]
            traded = replace(spec, fixed_price_usd_per_mwh=fixed)
        if grid is None:
            grid = payoff_grid([p.meta.get("strike_usd_per_mwh") for p in problem.products])
        t = int(np.flatnonzero(mask)[0])
        payoff = payoff_usd_per_mwh(traded, grid[:, None], stamps[t : t + 1], interval_minutes)
        hours = float(problem.interval_hours @ mask)
        curves.append(
            PayoffCurve(spec.name, grid, payoff[:, 0], product.premium_usd_per_mw / hours)
        )
    return tuple(curves)


def _cvar_per_gpu_hour(costs: CostBreakdown, probabilities: np.ndarray, alpha: float) -> float:
    """CVaR at ``alpha`` of the cost per GPU-hour distribution ($/GPU-h)."""
    return risk.risk_metrics(costs.cost_per_gpu_hour_usd, probabilities, alpha)["cvar_usd"]


def _text(value: object) -> str:
    """Solver record values for the provenance table."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in sorted(value.items())) or "(defaults)"
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value)
    return str(value)
