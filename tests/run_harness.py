"""Run commands as subprocesses on a copied store and check what they leave behind.

Shared by the crash, concurrency and hostile-string suites and by ``benchmarks/crash_trials.py``:
a seeded store, the CLI in a child process with a time limit, file hashes, the completeness
checks of a published folder, the registry checks, and the random-SIGKILL trials.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from test_nightly import AS_OF, OUTPUTS

from energyhedge.atomic_dir import MARKER_NAME
from energyhedge.data.store import open_store
from energyhedge.lock import LOCK_NAME
from energyhedge.report.registry import REGISTRY_NAME

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
RUN_TIMEOUT_S = 180.0
"""Upper bound on one command in these suites (seconds); a run ten times slower is a hang."""
NIGHTLY_FILES = OUTPUTS
OPTIMIZE_FILES = ("recommendation.json", "schedule.csv", "trades.csv", MARKER_NAME)
BACKTEST_FILES = ("backtest.json", "backtest_intervals.csv", MARKER_NAME)
BACKTEST_DAYS = ("2023-08-14", "2023-08-16")
"""A three-day back-test window of the shipped data (first and last local day)."""


def seeded_store(folder: Path) -> Path:
    """A store at ``folder`` filled from the shipped ERCOT 2023 file (the default seed)."""
    open_store(folder)
    return folder


def copy_store(source: Path, folder: Path) -> Path:
    """A byte-for-byte copy of the store ``source`` at ``folder``."""
    shutil.copytree(source, folder)
    return folder


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, keyed by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def cli_argv(*args: str) -> list[str]:
    """The command line running ``energyhedge ARGS`` in a fresh interpreter."""
    return [sys.executable, "-m", "energyhedge", *args]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = RUN_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run ``energyhedge ARGS`` to its end (at most ``timeout_s`` seconds)."""
    return subprocess.run(
        cli_argv(*args),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``energyhedge ARGS`` in the background; output is captured."""
    return subprocess.Popen(
        cli_argv(*args),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lock_holder(out: Path, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Return once ``process`` holds the output lock of ``out`` (the lock file names a holder)."""
    deadline = time.monotonic() + timeout_s
    lock = out / LOCK_NAME
    while time.monotonic() < deadline:
        if lock.is_file() and lock.read_text(encoding="utf-8", errors="replace").strip():
            return
        if process.poll() is not None:
            raise AssertionError(f"run ended (exit {process.returncode}) before taking the lock")
        time.sleep(0.02)
    raise AssertionError(f"no run took the lock of {out} within {timeout_s:g} s")


def wait_for_lock_waiter(out: Path, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Return once ``process`` has the lock file of ``out`` open (it is queued on the lock)."""
    lock = str((out / LOCK_NAME).resolve())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            fds = Path(f"/proc/{process.pid}/fd")
            if any(os.readlink(fd) == lock for fd in fds.iterdir()):
                return
        if process.poll() is not None:
            raise AssertionError(f"run ended (exit {process.returncode}) before queuing")
        time.sleep(0.02)
    raise AssertionError(f"no run queued on the lock of {out} within {timeout_s:g} s")


def one_line_error(stderr: str) -> bool:
    """True when ``stderr`` is one ``energyhedge: error:`` line and holds no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("energyhedge: error: ")]
    return len(errors) == 1 and "Traceback" not in stderr


def nightly_args(profile: Path, out: Path, store: Path, *more: str) -> list[str]:
    """Arguments of an offline, quiet nightly run as of ``AS_OF``."""
    return [
        "nightly",
        "--config",
        str(profile),
        "--as-of",
        AS_OF,
        "--out",
        str(out),
        "--store",
        str(store),
        "--offline",
        "--quiet",
        *more,
    ]


def optimize_args(profile: Path, out: Path, store: Path) -> list[str]:
    """Arguments of ``optimize`` on ``store``."""
    return ["optimize", "--config", str(profile), "--out", str(out), "--store", str(store)]


def backtest_args(profile: Path, out: Path, store: Path) -> list[str]:
    """Arguments of a three-day back-test on ``store``."""
    first, last = BACKTEST_DAYS
    return [
        "backtest",
        "--config",
        str(profile),
        "--prices",
        "store",
        "--start",
        first,
        "--end",
        last,
        "--out",
        str(out),
        "--store",
        str(store),
    ]


def missing_outputs(folder: Path, files: tuple[str, ...]) -> list[str]:
    """Output files absent from ``folder`` or unreadable (a JSON output that does not parse)."""
    missing = [name for name in files if not (folder / name).is_file()]
    for name in files:
        if name.endswith(".json") and name not in missing:
            try:
                json.loads((folder / name).read_text(encoding="utf-8"))
            except ValueError:
                missing.append(f"{name} (does not parse)")
    return missing


def registry_problems(out: Path) -> list[str]:
    """Why ``out/registry.sqlite`` is damaged (``pragma integrity_check``); [] when sound."""
    path = out / REGISTRY_NAME
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
    return [] if result == ["ok"] else [f"integrity_check: {result}"]


def registry_statuses(out: Path) -> list[tuple[str, str]]:
    """(run id, status) of every registry row, oldest first."""
    with sqlite3.connect(out / REGISTRY_NAME) as db:
        return db.execute("SELECT run_id, status FROM runs ORDER BY started_utc, run_id").fetchall()


def temporary_leftovers(out: Path) -> list[str]:
    """Paths under ``out`` and beside it that are temporary (``*.tmp*``, ``.replaced.*``)."""
    found = [*out.rglob("*.tmp*"), *out.rglob(".replaced.*"), *out.parent.glob(f".{out.name}.tmp*")]
    return sorted(str(p) for p in found)


@dataclass(frozen=True)
class Command:
    """A command under test: its arguments for an output path and the files it publishes."""

    name: str
    args: Callable[[Path], list[str]]
    files: tuple[str, ...]

    @property
    def nightly(self) -> bool:
        return self.name == "nightly"


def commands(profile: Path, store: Path) -> dict[str, Command]:
    """``nightly``, ``optimize`` and ``backtest`` on ``profile`` and ``store``."""
    return {
        "nightly": Command("nightly", lambda out: nightly_args(profile, out, store), NIGHTLY_FILES),
        "optimize": Command(
            "optimize", lambda out: optimize_args(profile, out, store), OPTIMIZE_FILES
        ),
        "backtest": Command(
            "backtest", lambda out: backtest_args(profile, out, store), BACKTEST_FILES
        ),
    }


def published_state(command: Command, out: Path) -> dict[str, object] | None:
    """What a reader of the output sees: file name -> inode, or None when nothing is published.

    For nightly that is the run ``out/latest`` points to (plus its target under ``"->"``).
    """
    folder = out / "latest" if command.nightly else out
    if not folder.is_dir():
        return None
    state: dict[str, object] = {p.name: p.stat().st_ino for p in folder.iterdir() if p.is_file()}
    if command.nightly:
        state["->"] = os.readlink(out / "latest")
    return state


def classify(
    command: Command, out: Path, before: dict[str, object] | None, after: dict[str, object] | None
) -> str:
    """``absent``, ``previous`` or ``new`` for a sound output; ``partial: ...`` otherwise.

    ``new`` must be complete and its outputs all files the previous output did not have (by
    inode: the publisher moves new files in, so a mix of old and new outputs is a torn output;
    the marker file, which lists the outputs, may still be the old one).
    """
    if after is None:
        return "absent" if before is None else "partial: the previous output vanished"
    if after == before:
        return "previous"
    folder = out / "latest" if command.nightly else out
    missing = missing_outputs(folder, command.files)
    if missing:
        return f"partial: missing {missing}"
    if before is not None:
        outputs = (name for name in command.files if name != MARKER_NAME)  # bookkeeping only
        kept = sorted(name for name in outputs if after.get(name) == before.get(name))
        if kept:
            return f"partial: old {kept} beside new files"
    return "new"


@dataclass
class TrialReport:
    """Counts of one command's crash trials, and every broken invariant found."""

    command: str
    trials: int = 0
    kills_landed: int = 0
    finished_first: int = 0
    outcomes: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"{self.command}: {self.trials} trials, {self.kills_landed} kills landed, "
            f"{self.finished_first} finished before the kill; after the kill: {outcomes}; "
            f"{len(self.problems)} problems"
        )


def crash_trials(
    command: Command, out: Path, store: Path, *, trials: int, seed: int, fresh_share: float = 0.3
) -> TrialReport:
    """SIGKILL ``command`` ``trials`` times at random points; check its output after each kill.

    One clean run first publishes an output and times the command; each trial then kills a run
    after a delay drawn uniformly from [0, that time] (seeded). Before a trial of optimize or
    back-test, the output folder is removed with probability ``fresh_share`` (so both publishing
    paths, new folder and existing folder, are killed), else reset to the clean run's output.
    After each kill: the output is absent, the previous one or a complete new one; the registry
    passes ``integrity_check``; the store is byte-identical. A final clean run must succeed and
    leave no temporary file and no ``running`` registry row.
    """
    report = TrialReport(command.name)
    rng = random.Random(seed)
    store_before = tree_hashes(store)
    t0 = time.monotonic()
    first = run_cli(*command.args(out))
    duration_s = time.monotonic() - t0
    if first.returncode != 0:
        report.problems.append(f"clean run failed (exit {first.returncode}): {first.stderr[-300:]}")
        return report
    published = out.with_name(f"{out.name}-published")
    if not command.nightly:
        shutil.copytree(out, published)
    for trial in range(trials):
        if not command.nightly:
            shutil.rmtree(out, ignore_errors=True)
            if rng.random() >= fresh_share:
                shutil.copytree(published, out)
        before = published_state(command, out)
        delay_s = rng.uniform(0.0, duration_s)
        process = subprocess.Popen(
            cli_argv(*command.args(out)),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            process.wait(timeout=delay_s)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=RUN_TIMEOUT_S)
        report.trials += 1
        if process.returncode == -signal.SIGKILL:
            report.kills_landed += 1
        elif process.returncode == 0:
            report.finished_first += 1
        else:
            tail = process.stderr.read().decode(errors="replace")[-300:]
            report.problems.append(f"trial {trial}: exit {process.returncode}: {tail}")
        process.stderr.close()
        outcome = classify(command, out, before, published_state(command, out))
        report.outcomes[outcome.split(":")[0]] += 1
        if outcome.startswith("partial"):
            report.problems.append(f"trial {trial} (killed after {delay_s:.2f} s): {outcome}")
        report.problems += [f"trial {trial}: {p}" for p in registry_problems(out)]
        if tree_hashes(store) != store_before:
            report.problems.append(f"trial {trial}: the store changed")
    report.problems += next_run_problems(command, out)
    if tree_hashes(store) != store_before:
        report.problems.append("the store changed")
    return report


def next_run_problems(command: Command, out: Path) -> list[str]:
    """Run ``command`` once more without any cleanup; say what is wrong afterwards."""
    result = run_cli(*command.args(out))
    if result.returncode != 0:
        return [f"next run failed (exit {result.returncode}): {result.stderr[-300:]}"]
    folder = out / "latest" if command.nightly else out
    problems = [f"next run: missing {m}" for m in missing_outputs(folder, command.files)]
    problems += [f"left after the next run: {p}" for p in temporary_leftovers(out)]
    if command.nightly:
        problems += registry_problems(out)
        rows = registry_statuses(out)
        problems += [
            f"registry row {r} is {s} after the next run"
            for r, s in rows
            if s in ("running", "failed")
        ]
        for day in out.glob("[0-9]*"):
            for run in day.iterdir():
                if run.is_dir() and missing_outputs(run, command.files):
                    problems.append(f"published run {run} is incomplete")
    return problems


PUBLISH_STEPS = {
    "nightly": (("atomic_directory", 1), ("point_latest", 1), ("point_latest", 2)),
    "optimize": (("atomic_directory", 1), ("_swap", 1)),
    "backtest": (("atomic_directory", 1), ("_swap", 1)),
}
"""Every rename of publishing, as (function, n-th rename in it) for ``tests/signal_at_call.py``.

``atomic_directory`` renames a new folder into place (optimize and backtest: ``--out`` absent;
nightly: the run folder); ``_swap`` stages the new folder under a swept name, then exchanges it
with an existing ``--out`` in one step; ``point_latest`` makes the new link, then renames it over
``latest``."""


def signal_argv(signal_name: str, function: str, n: int, args: list[str]) -> list[str]:
    """``energyhedge ARGS`` that sends itself SIG``signal_name`` before the ``n``-th rename made
    by ``function`` (see ``tests/signal_at_call.py``)."""
    script = TESTS / "signal_at_call.py"
    return [sys.executable, str(script), signal_name, function, str(n), *args]


def kill_at(function: str, n: int, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``energyhedge ARGS``, killed just before the ``n``-th rename made by ``function``."""
    return subprocess.run(
        signal_argv("KILL", function, n, args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def start_stopped_at(function: str, n: int, args: list[str]) -> subprocess.Popen[str]:
    """Start ``energyhedge ARGS``; return once it has stopped itself (SIGSTOP) before the
    ``n``-th rename made by ``function``. Send it SIGCONT (or SIGKILL) to go on."""
    process = subprocess.Popen(
        signal_argv("STOP", function, n, args),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while _state(process.pid) != "T":
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, stderr = process.communicate()
            raise AssertionError(
                f"run did not reach {function} (exit {process.returncode}): {stderr[-300:]}"
            )
        time.sleep(0.02)
    return process


def _state(pid: int) -> str:
    """The one-letter state of process ``pid`` (``T``: stopped), from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def step_kill(command: Command, out: Path, function: str, n: int) -> tuple[str, list[str]]:
    """Kill ``command`` at one publishing step over a published output; (outcome, problems).

    The outcome is what a reader sees right after the kill (see :func:`classify`); the problems
    are what the next run leaves wrong (see :func:`next_run_problems`).
    """
    first = run_cli(*command.args(out))
    if first.returncode != 0:
        return "clean run failed", [first.stderr[-300:]]
    if function == "atomic_directory" and not command.nightly:
        shutil.rmtree(out)  # a new --out folder is renamed into place
    before = published_state(command, out)
    killed = kill_at(function, n, command.args(out))
    if killed.returncode != -signal.SIGKILL:
        return f"not killed (exit {killed.returncode})", [killed.stderr[-300:]]
    outcome = classify(command, out, before, published_state(command, out))
    return outcome, registry_problems(out) + next_run_problems(command, out)
