"""Concurrent runs: two nightly runs on one ``--out``, and an import during a nightly run.

Serialised or refused, never interleaved: a second nightly run on the same ``--out`` exits 5
(or queues behind the first with ``--wait``), and a nightly run's history hash is that of the
store either before or after an import made meanwhile.
"""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from run_harness import (
    NIGHTLY_FILES,
    RUN_TIMEOUT_S,
    copy_store,
    missing_outputs,
    nightly_args,
    one_line_error,
    registry_problems,
    run_cli,
    seeded_store,
    start_cli,
    start_stopped_at,
    temporary_leftovers,
    tree_hashes,
    wait_for_lock_holder,
    wait_for_lock_waiter,
)
from test_nightly import AS_OF, write_profile

from energyhedge.campus import load_campus
from energyhedge.data.store import open_store
from energyhedge.errors import LockedError
from energyhedge.report.registry import Registry
from energyhedge.run_inputs import decision_history, sha256_prices
from energyhedge.runs import load_run_profile

NODE = ("ercot", "rtm", "LZ_HOUSTON")


@pytest.fixture(scope="module")
def shipped_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store seeded from the shipped ERCOT file, copied by each test."""
    return seeded_store(tmp_path_factory.mktemp("seeded") / "store")


@pytest.fixture
def spawn():
    """Start ``energyhedge ARGS`` (``stopped_at=(function, n)``: see ``start_stopped_at``);
    processes a failed check left running are killed at teardown."""
    started: list[subprocess.Popen] = []

    def start(*args: str, stopped_at: tuple[str, int] | None = None) -> subprocess.Popen:
        if stopped_at is None:
            started.append(start_cli(*args))
        else:
            started.append(start_stopped_at(*stopped_at, list(args)))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=RUN_TIMEOUT_S)


def finish(process, timeout_s: float = RUN_TIMEOUT_S) -> tuple[int, str]:
    """Wait for ``process``; its exit code and stderr."""
    _, stderr = process.communicate(timeout=timeout_s)
    return process.returncode, stderr


HOLD = ("atomic_directory", 1)
"""Where the first nightly run is stopped: build complete, output lock held, not yet published."""


def test_second_nightly_on_one_out_is_refused_or_queued(shipped_store, tmp_path: Path, spawn):
    profile, store = write_profile(tmp_path), copy_store(shipped_store, tmp_path / "store")
    out = tmp_path / "reports"
    first = spawn(*nightly_args(profile, out, store), stopped_at=HOLD)
    code, stderr = finish(spawn(*nightly_args(profile, out, store)))
    assert code == LockedError.exit_code == 5
    assert one_line_error(stderr) and "another run holds the output lock" in stderr, stderr
    queued = spawn(*nightly_args(profile, out, store, "--wait", "120"))
    wait_for_lock_waiter(out, queued)
    first.send_signal(signal.SIGCONT)
    assert finish(first)[0] == 0
    code, stderr = finish(queued)
    assert code == 0, stderr

    runs = Registry(out).runs()
    assert [r.status for r in runs] == ["success", "success"]  # the refused run left no row
    assert runs[0].finished_utc <= runs[1].started_utc  # the queued run began after the first
    for run in runs:
        assert missing_outputs(Path(run.output_dir), NIGHTLY_FILES) == []
    assert (out / "latest").resolve() == Path(runs[1].output_dir).resolve()
    assert registry_problems(out) == [] and temporary_leftovers(out) == []


def test_queued_nightly_takes_over_from_a_killed_holder(shipped_store, tmp_path: Path, spawn):
    profile, store = write_profile(tmp_path), copy_store(shipped_store, tmp_path / "store")
    out = tmp_path / "reports"
    first = spawn(*nightly_args(profile, out, store), stopped_at=HOLD)
    queued = spawn(*nightly_args(profile, out, store, "--wait", "120"))
    wait_for_lock_waiter(out, queued)
    first.kill()
    assert finish(first)[0] == -signal.SIGKILL
    code, stderr = finish(queued)
    assert code == 0, stderr
    runs = Registry(out).runs()
    assert [r.status for r in runs] == ["killed", "success"]
    assert (out / "latest").resolve() == Path(runs[1].output_dir).resolve()
    assert missing_outputs(out / "latest", NIGHTLY_FILES) == []
    assert registry_problems(out) == [] and temporary_leftovers(out) == []


def history_hash(profile: Path, store: Path) -> str:
    """SHA-256 of the history a nightly run as of ``AS_OF`` decides on, read from ``store``."""
    run_profile = load_run_profile(profile)
    campus = load_campus(run_profile.campus_path)
    as_of = date.fromisoformat(AS_OF)
    start = run_profile.scenarios.start or as_of + timedelta(days=1)
    history, _ = decision_history(open_store(store), run_profile, campus, as_of=as_of, start=start)
    return sha256_prices(history)


def shifted_prices_file(store: Path, folder: Path) -> Path:
    """A CSV of every stored LZ_HOUSTON hour priced 1 $/MWh higher (an import that changes it)."""
    stored = open_store(store).read(*NODE)
    path = folder / "houston_plus_1.csv"
    stored.select(
        pl.col("interval_start_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("time"),
        "node",
        (pl.col("price_usd_per_mwh") + 1.0).alias("price"),
    ).write_csv(path)
    return path


@pytest.mark.parametrize("first", ["nightly", "import"])
def test_import_during_nightly_is_seen_whole_or_not_at_all(
    shipped_store: Path, tmp_path: Path, first: str, spawn
) -> None:
    """The import starts once the nightly run holds its output lock (the run reads the store
    just after), or the nightly run starts right after the import (it reads the store after
    the import's commit, about 0.5 s later)."""
    profile, store = write_profile(tmp_path), copy_store(shipped_store, tmp_path / "store")
    changes = shifted_prices_file(store, tmp_path)
    import_args = ["data", "import", str(changes), "--time-col", "time", "--store"]
    after = copy_store(store, tmp_path / "after")
    assert run_cli(*import_args, str(after)).returncode == 0
    hashes = {"before": history_hash(profile, store), "after": history_hash(profile, after)}
    assert hashes["before"] != hashes["after"]

    out, store_before = tmp_path / "reports", tree_hashes(store)
    if first == "nightly":
        nightly = spawn(*nightly_args(profile, out, store))
        wait_for_lock_holder(out, nightly)
        importing = spawn(*import_args, str(store))
    else:
        importing = spawn(*import_args, str(store))
        nightly = spawn(*nightly_args(profile, out, store))
    import_code, import_err = finish(importing)
    code, stderr = finish(nightly)
    assert code == 0, stderr
    assert import_code == 0 or (import_code == 3 and one_line_error(import_err)), import_err

    doc = json.loads((out / "latest" / "recommendation.json").read_text(encoding="utf-8"))
    seen = doc["inputs"]["history"]["sha256"]
    assert seen in hashes.values(), f"history hash {seen} is neither of {hashes}"
    if import_code == 0:
        assert open_store(store).read(*NODE).equals(open_store(after).read(*NODE))
    else:
        assert tree_hashes(store) == store_before
