"""Run registry: rows, statuses, previous successful run, and the change rows for the report."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from energyhedge.report.registry import REGISTRY_NAME, Registry, RunRecord, changes_since


def _metrics(call_mw: float, cvar: float, train_mwh: float) -> dict:
    return {
        "trades": {"call_100": call_mw},
        "risk": {"CVaR 95% cost": ["$", cvar]},
        "schedule": {"train": train_mwh},
    }


def test_previous_success_skips_failures_and_other_profiles(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    for run_id, profile, status in (
        ("r1", "demo", "success"),
        ("r2", "other", "success"),
        ("r3", "demo", "failed"),
        ("r4", "demo", "running"),
    ):
        reg.start(run_id, as_of="2026-11-26", profile=profile, config_hash="c", inputs_hash="i")
        if status != "running":
            reg.finish(
                run_id,
                status=status,
                exit_code=0 if status == "success" else 3,
                metrics=_metrics(1, 2, 3) if status == "success" else None,
            )
    prev = reg.previous_success("demo", before_run_id="r4")
    assert prev is not None and prev.run_id == "r1" and prev.metrics == _metrics(1, 2, 3)
    assert reg.previous_success("demo", before_run_id="r1") is None
    statuses = {r.run_id: (r.status, r.exit_code) for r in reg.runs()}
    assert statuses == {
        "r1": ("success", 0),
        "r2": ("success", 0),
        "r3": ("failed", 3),
        "r4": ("running", None),
    }
    assert (tmp_path / REGISTRY_NAME).exists()


def test_registry_survives_reopening(tmp_path: Path) -> None:
    Registry(tmp_path).start("a", as_of="2026-11-26", profile="p", config_hash="c", inputs_hash="i")
    assert [r.run_id for r in Registry(tmp_path).runs()] == ["a"]


def test_changes_between_runs() -> None:
    prev = RunRecord(
        "r1",
        "2026-11-25",
        "demo",
        "c",
        "i",
        "t0",
        "t1",
        "success",
        0,
        "",
        "d",
        {**_metrics(10.0, 110_000.0, 700.0), "trades": {"call_100": 10.0, "old": 5.0}},
    )
    changes = changes_since(prev, _metrics(12.5, 101_000.0, 720.0))
    assert changes.previous_run_id == "r1" and changes.previous_as_of == "2026-11-25"
    assert [(r.label, r.before, r.after, r.delta) for r in changes.trades] == [
        ("call_100", 10.0, 12.5, 2.5),
        ("old", 5.0, 0.0, -5.0),
    ]
    assert [(r.label, r.unit, r.delta) for r in changes.risk] == [("CVaR 95% cost", "$", -9000.0)]
    assert [(r.label, r.unit, r.delta) for r in changes.schedule] == [("train", "MWh", 20.0)]
    assert changes_since(None, _metrics(1, 2, 3)) is None


def _dead_pid() -> int:
    """The pid of a process that has already exited."""
    code = "import os; print(os.getpid())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_start_marks_runs_of_dead_processes_as_killed(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    reg.start("dead", as_of="2026-11-26", profile="demo", config_hash="c", inputs_hash="i")
    reg.start("alive", as_of="2026-11-26", profile="demo", config_hash="c", inputs_hash="i")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with sqlite3.connect(tmp_path / REGISTRY_NAME) as db:
            db.execute("UPDATE runs SET pid = ? WHERE run_id = 'dead'", (_dead_pid(),))
            db.execute("UPDATE runs SET pid = ? WHERE run_id = 'alive'", (sleeper.pid,))
        killed = reg.start(
            "next", as_of="2026-11-27", profile="demo", config_hash="c", inputs_hash="i"
        )
        statuses = {r.run_id: r.status for r in reg.runs()}
        assert killed == ["dead"]
        assert statuses == {"dead": "killed", "alive": "running", "next": "running"}
        (dead,) = [r for r in reg.runs() if r.run_id == "dead"]
        assert dead.finished_utc is not None and "killed" in dead.message
    finally:
        sleeper.kill()
        sleeper.wait()
    assert reg.mark_killed() == ["alive"]


def test_killed_nightly_child_row_is_swept_by_the_next_run(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "from energyhedge.report.registry import Registry\n"
        f"Registry({str(tmp_path)!r}).start('r1', as_of='2026-11-26', profile='p',"
        " config_hash='c', inputs_hash='i')\n"
        "os.kill(os.getpid(), 9)\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert child.returncode == -9
    reg = Registry(tmp_path)
    assert [r.status for r in reg.runs()] == ["running"]
    assert reg.start("r2", as_of="2026-11-27", profile="p", config_hash="c", inputs_hash="i") == [
        "r1"
    ]
    with sqlite3.connect(tmp_path / REGISTRY_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_registry_of_the_old_schema_is_migrated_and_swept(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / REGISTRY_NAME) as db:
        db.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, as_of TEXT NOT NULL, profile TEXT NOT "
            "NULL, config_hash TEXT NOT NULL, inputs_hash TEXT NOT NULL, started_utc TEXT NOT "
            "NULL, finished_utc TEXT, status TEXT NOT NULL CHECK (status IN ('running', "
            "'success', 'failed')), exit_code INTEGER, message TEXT, output_dir TEXT, "
            "metrics_json TEXT)"
        )
        db.execute(
            "INSERT INTO runs VALUES ('old', '2026-11-01', 'p', 'c', 'i', '2026-11-01T00:00:00Z',"
            " NULL, 'running', NULL, NULL, NULL, NULL)"
        )
    reg = Registry(tmp_path)
    assert reg.start("new", as_of="2026-11-27", profile="p", config_hash="c", inputs_hash="i") == [
        "old"
    ]
    assert [(r.run_id, r.status) for r in reg.runs()] == [("old", "killed"), ("new", "running")]
    assert Registry(tmp_path).runs()[1].pid == os.getpid()
