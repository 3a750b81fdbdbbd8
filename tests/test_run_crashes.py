"""SIGKILL of nightly, optimize and backtest: at random points, and at exact steps of publishing.

After every kill a reader sees the previous output, a complete new one or none (never a torn
one), the registry passes ``integrity_check``, the price store is byte-identical, and the next
run succeeds without manual cleanup and leaves no temporary file or ``running`` row behind.
``benchmarks/crash_trials.py`` runs the random trials many more times and, with ``--steps``,
kills each command at every rename of publishing (``run_harness.PUBLISH_STEPS``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from run_harness import (
    classify,
    commands,
    copy_store,
    crash_trials,
    kill_at,
    missing_outputs,
    next_run_problems,
    published_state,
    registry_statuses,
    run_cli,
    seeded_store,
    temporary_leftovers,
    tree_hashes,
)
from test_nightly import write_profile

TRIALS = 6
"""Random kills per command in CI (benchmarks/crash_trials.py runs more)."""
SEED = 9


@pytest.fixture(scope="module")
def shipped_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store seeded from the shipped ERCOT file, copied by each test."""
    return seeded_store(tmp_path_factory.mktemp("seeded") / "store")


@pytest.fixture
def setup(tmp_path: Path, shipped_store: Path) -> tuple[Path, Path]:
    """(run profile, private copy of the store)."""
    return write_profile(tmp_path), copy_store(shipped_store, tmp_path / "store")


@pytest.mark.parametrize("name", ["nightly", "optimize", "backtest"])
def test_random_kills_leave_complete_outputs(name: str, setup, tmp_path: Path) -> None:
    profile, store = setup
    out = tmp_path / "reports" if name == "nightly" else tmp_path / "runs" / name
    report = crash_trials(commands(profile, store)[name], out, store, trials=TRIALS, seed=SEED)
    assert report.problems == [], report.line()
    assert report.trials == TRIALS and report.kills_landed >= 1, report.line()


@pytest.fixture
def optimize_killed_mid_publish(setup, tmp_path: Path):
    """An optimize output, then a second run killed with its new folder staged, not exchanged.

    Returns (command, out, state before the kill, state after it, store, its hashes before).
    """
    profile, store = setup
    command = commands(profile, store)["optimize"]
    out = tmp_path / "runs" / "optimize"
    assert run_cli(*command.args(out)).returncode == 0
    before, hashes = published_state(command, out), tree_hashes(store)
    killed = kill_at("_swap", 1, command.args(out))
    assert killed.returncode == -9, killed.stderr[-500:]
    return command, out, before, published_state(command, out), store, hashes


def test_optimize_killed_between_moves_is_not_torn(optimize_killed_mid_publish) -> None:
    command, out, before, after, _, _ = optimize_killed_mid_publish
    assert classify(command, out, before, after) in ("previous", "new")


def test_optimize_killed_between_moves_is_finished_by_next_run(optimize_killed_mid_publish):
    command, out, _, _, store, hashes = optimize_killed_mid_publish
    assert next_run_problems(command, out) == []
    assert tree_hashes(store) == hashes


def test_nightly_killed_while_repointing_latest(setup, tmp_path: Path) -> None:
    profile, store = setup
    command = commands(profile, store)["nightly"]
    out = tmp_path / "reports"
    assert run_cli(*command.args(out)).returncode == 0
    before = published_state(command, out)
    killed = kill_at("point_latest", 2, command.args(out))  # the symlink is made, not yet renamed
    assert killed.returncode == -9, killed.stderr[-500:]
    assert classify(command, out, before, published_state(command, out)) == "previous"
    assert [status for _, status in registry_statuses(out)] == ["success", "running"]
    assert next_run_problems(command, out) == []
    assert temporary_leftovers(out) == []


def test_nightly_killed_before_publishing_run_folder(setup, tmp_path: Path) -> None:
    """Killed with the build complete but not yet renamed: the next run sweeps it, marks killed."""
    profile, store = setup
    command = commands(profile, store)["nightly"]
    out = tmp_path / "reports"
    killed = kill_at("atomic_directory", 1, command.args(out))
    assert killed.returncode == -9, killed.stderr[-500:]
    assert published_state(command, out) is None
    builds = [p for p in out.glob("*/.*.tmp*") if p.is_dir()]
    assert len(builds) == 1 and missing_outputs(builds[0], command.files) == []
    assert [status for _, status in registry_statuses(out)] == ["running"]
    assert next_run_problems(command, out) == []
    assert [status for _, status in registry_statuses(out)] == ["killed", "success"]
