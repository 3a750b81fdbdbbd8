"""The nightly run's stages: lock, refresh, decide, report, registry, publish.

``run_nightly`` is what cron calls through ``energyhedge nightly``. Under an exclusive lock on
the output directory it refreshes prices, makes and values the decision with
``energyhedge.decide``, and builds every output of the architecture notes (section 4) in a
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
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from energyhedge.atomic_dir import atomic_directory
from energyhedge.campus import Campus, load_campus
from energyhedge.config import shown_path
from energyhedge.data import ercot_api, pjm_api
from energyhedge.data.fetch import fetch
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.quality import assess
from energyhedge.data.store import PriceStore, default_root, open_store
from energyhedge.decide import DecisionRun, decide, joint_points
from energyhedge.errors import DataError, EnergyHedgeError
from energyhedge.lock import OutputLock
from energyhedge.log import RunLog
from energyhedge.progress import Progress
from energyhedge.report import outputs
from energyhedge.report.assemble import ReportContext
from energyhedge.report.content import key_metrics, with_mtm_change
from energyhedge.report.html import render_report
from energyhedge.report.record import report_and_recommendation, run_alerts
from energyhedge.report.registry import Registry, changes_since
from energyhedge.run_inputs import (
    combined_hash,
    decision_history,
    input_record,
    sha256_file,
    sha256_prices,
)
from energyhedge.runs import load_run_profile

LATEST = "latest"
REFRESH_DAYS = 7
"""Days before the as-of date that a refresh fetches again (late revisions land in them)."""
REFRESH_DEADLINE_S = 120.0
"""Longest a refresh may take before the run goes on with the store as it is (s)."""
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


def point_latest(final_dir: Path, out: Path) -> None:
    """Point ``out/latest`` at ``final_dir`` with one rename (readers see old or new)."""
    link_tmp = out / f".{LATEST}.{os.getpid()}.tmp"
    link_tmp.unlink(missing_ok=True)
    os.symlink(final_dir.relative_to(out), link_tmp)
    os.replace(link_tmp, out / LATEST)


STALE_BUILD = re.compile(r"\.\d{8}T\d{6}Z-[0-9a-f]{6}\.tmp(\..*)?")
"""Name of a run's temporary build folder (``.<run-id>.tmp...``, see ``new_run_id``)."""


def remove_stale_builds(out: Path) -> list[str]:
    """Delete the temporary build folders (``<out>/<as-of>/.<run-id>.tmp*``) and ``latest``
    links (``<out>/.latest.<pid>.tmp``) of killed runs.

    Only folders named like a run's build inside a date folder, and such links, are touched.
    Call only while holding the output lock: then no live run owns such a folder.
    """
    stale = sorted(
        p for p in out.glob("*-*-*/.*.tmp*") if p.is_dir() and STALE_BUILD.fullmatch(p.name)
    )
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    links = sorted(p for p in out.glob(f".{LATEST}.*.tmp") if p.is_symlink())
    for link in links:  # left by a run killed while repointing latest
        link.unlink(missing_ok=True)
    return [str(p) for p in (*stale, *links)]


STEPS = ("profile", "data", "scenarios", "solve", "frontier", "value", "outputs")
"""Stages of a run, in order; each is timed and logged, and advances the progress bar."""


@dataclass(frozen=True)
class _Outcome:
    sentence: str
    metrics: dict
    inputs_hash: str


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
        with Progress(len(STEPS), "nightly", enabled=not o.quiet) as bar:
            with self.stage("profile", bar):
                profile = load_run_profile(o.config).with_overrides(
                    quotes_usd_per_mwh=o.quotes_usd_per_mwh
                )
                campus = load_campus(profile.campus_path)
                catalogue = profile.contracts()
                self.inputs["campus"] = input_record(campus.path)
                self.inputs["contracts"] = input_record(catalogue.path)
                if profile.book is not None:
                    self.inputs["book"] = input_record(profile.book)
                start = profile.scenarios.start or self.as_of + timedelta(days=1)
            with self.stage("data", bar):
                store = open_store(o.store)
                refresh = self.refresh(store, campus, joint_points(profile, campus, catalogue))
                history, stale = decision_history(
                    store,
                    profile,
                    campus,
                    as_of=self.as_of,
                    start=start,
                    joint=joint_points(profile, campus, catalogue),
                )
                for message in stale:
                    self.warn("data.stale", message)
                    print(message, file=sys.stderr)  # even with --quiet: cron mails it
                self.inputs["history"] = {
                    "series": ", ".join(
                        f"{campus.iso}/{m}/{n}"
                        for n, m in (
                            (campus.node, campus.market),
                            *joint_points(profile, campus, catalogue),
                        )
                    ),
                    "rows": history.height,
                    "sha256": sha256_prices(history),
                }
                findings = assess(history)
                for f in findings:
                    self.log.event(
                        "data.quality", kind=f.kind, series=f.series, count=f.count, detail=f.detail
                    )
            run = decide(
                profile,
                campus,
                catalogue,
                history,
                start,
                stage=lambda name: self.stage(name, bar),
                warnings=tuple(self.warnings),
                as_of=self.as_of,
            )
            self.log_decision(run)
            with self.stage("outputs", bar):
                alerts = run_alerts(run, findings=findings, refresh=refresh)
                for alert in alerts:
                    record = alert.record()
                    self.log.event(f"alert.{alert.kind}", level=record.pop("level"), **record)
                context = ReportContext(
                    run_id=self.run_id,
                    as_of=self.as_of.isoformat(),
                    created_utc=self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    profile_name=Path(o.config).stem,
                    store_label=shown_path(o.store or default_root()),
                    refresh=refresh,
                    findings=tuple(findings),
                    inputs=self.inputs,
                    timings_s=dict(self.timings),
                    warnings=run.warnings,
                    alerts=alerts,
                )
                data, recommendation = report_and_recommendation(run, context, as_of=self.as_of)
                previous = self.registry.previous_success(data.profile, before_run_id=self.run_id)
                data = replace(data, changes=changes_since(previous, key_metrics(data)))
                data = with_mtm_change(data, previous.metrics if previous else None)
                outputs.write_files(
                    self.tmp_dir,
                    recommendation,
                    outputs.schedule_frame(run.problem, run.decision, campus.iso),
                    outputs.trades_frame(recommendation["trades"], recommendation["positions"]),
                )
                (self.tmp_dir / "report.html").write_text(render_report(data), encoding="utf-8")
        inputs_hash = combined_hash({k: v["sha256"] for k, v in self.inputs.items()})
        self.log.event("run.done", inputs_hash=inputs_hash, timings_s=self.timings)
        return _Outcome(recommendation["recommendation"], key_metrics(data), inputs_hash)

    def log_decision(self, run: DecisionRun) -> None:
        """Log lines of the decision: solver result, notes, out-of-sample value."""
        names = [p.name for p in run.problem.products]
        self.log.event(
            "solve.result",
            status=run.solution.status,
            objective_usd=run.solution.objective_usd,
            product_mw=dict(zip(names, run.decision.product_mw.tolist(), strict=True)),
            solver=run.solution.solver,
        )
        for note in run.warnings:
            if note == run.frontier_error:
                self.warn("frontier.failed", note)
            elif note not in self.warnings:
                self.warn("solve.note", note)
        oos = run.out_of_sample
        self.log.event(
            "value.out_of_sample",
            message=run.gap_sentence,
            history=run.split.description,
            recommended_expected_usd=oos.recommended.cost.expected_usd,
            recommended_cvar_usd=oos.recommended.cost.cvar_usd,
            unhedged_expected_usd=oos.unhedged.cost.expected_usd,
            unhedged_cvar_usd=oos.unhedged.cost.cvar_usd,
        )

    def refresh(
        self, store: PriceStore, campus: Campus, joint: tuple[tuple[str, str], ...] = ()
    ) -> str:
        """Fetch the last ``REFRESH_DAYS`` days of every series the run needs (the campus's and
        the ``joint`` points) when allowed and keyed; say what was done."""
        if self.options.offline:
            mode = "offline (--offline): used the price store as is"
            self.log.event("data.refresh", mode="offline", message=mode)
            return mode
        missing = [name for name in ISO_KEYS[campus.iso] if not os.environ.get(name)]
        if missing:
            mode = f"no ISO keys ({', '.join(missing)} unset): used the price store as is"
            self.log.event("data.refresh", mode="store", message=mode)
            return mode
        start, end = self.as_of - timedelta(days=REFRESH_DAYS), self.as_of - timedelta(days=1)
        by_market: dict[str, list[str]] = {}
        for node, market in ((campus.node, campus.market), *joint):
            by_market.setdefault(market, []).append(node)
        rows, gaps = 0, []
        try:
            for market, nodes in by_market.items():
                request = FetchRequest(
                    iso=campus.iso, market=market, nodes=tuple(nodes), start=start, end=end
                )
                report = fetch(
                    request, store_root=store.root, progress=False, deadline_s=REFRESH_DEADLINE_S
                )
                rows += report.rows
                gaps += report.failed + report.empty
        except DataError as exc:
            self.warn("data.refresh", f"refresh failed, used the price store as is: {exc}")
            return "refresh failed: used the price store as is"
        mode = f"fetched {rows} rows for {start}..{end} from the ISO API"
        if gaps:
            mode = f"refresh incomplete ({'; '.join(gaps)}): {mode}; used what the store holds"
            self.warn("data.refresh", mode)
        self.log.event(
            "data.refresh", mode="incomplete" if gaps else "fetched", rows=rows, message=mode
        )
        return mode


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
        try:
            with atomic_directory(day_dir / run_id, command="nightly") as tmp_dir:
                log = RunLog(
                    tmp_dir / "run.log", run_id, echo=None if options.quiet else sys.stderr
                )
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
                except BaseException as exc:
                    _keep_failed_log(log, day_dir / f"{run_id}.failed.log", exc)
                    raise
                log.close()
            point_latest(day_dir / run_id, out)
        except BaseException as exc:
            code = exc.exit_code if isinstance(exc, EnergyHedgeError) else 1
            registry.finish(
                run_id, status="failed", exit_code=code, message=str(exc) or type(exc).__name__
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


def _keep_failed_log(log: RunLog, failed_log: Path, exc: BaseException) -> None:
    """Log the error, close the run log and keep it as ``failed_log`` (the build is removed)."""
    code = exc.exit_code if isinstance(exc, EnergyHedgeError) else 1
    message = str(exc) or type(exc).__name__
    log.event(
        "run.failed", level="error", exit_code=code, error=type(exc).__name__, message=message
    )
    log.close()
    os.replace(log.path, failed_log)


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
