"""`--out` never deletes or moves what the engine did not create (atomic_dir rule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from energyhedge.atomic_dir import (
    MARKER_NAME,
    atomic_directory,
    check_out_dir,
    check_out_file,
)
from energyhedge.cli import main
from energyhedge.errors import ConfigError


def _publish(out: Path, files: dict[str, str], command: str = "optimize") -> None:
    with atomic_directory(out, command=command) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)


def test_new_folder_is_created_with_the_marker(tmp_path):
    out = tmp_path / "new" / "run"
    _publish(out, {"recommendation.json": "{}"})
    assert sorted(p.name for p in out.iterdir()) == [MARKER_NAME, "recommendation.json"]
    marker = json.loads((out / MARKER_NAME).read_text())
    assert marker == {"command": "optimize", "files": ["recommendation.json"]}
    assert not list(out.parent.glob(".run.tmp.*"))


def test_our_folder_keeps_user_notes_and_subfolders(tmp_path):
    out = tmp_path / "run"
    _publish(out, {"recommendation.json": "old", "trades.csv": "old"})
    (out / "notes.md").write_text("my notes")
    (out / "analysis").mkdir()
    (out / "analysis" / "a.txt").write_text("keep")
    _publish(out, {"recommendation.json": "new"})
    assert (out / "recommendation.json").read_text() == "new"
    assert (out / "trades.csv").read_text() == "old"  # engine file not rewritten: kept
    assert (out / "notes.md").read_text() == "my notes"
    assert (out / "analysis" / "a.txt").read_text() == "keep"
    marker = json.loads((out / MARKER_NAME).read_text())
    assert marker["files"] == ["recommendation.json", "trades.csv"]


def test_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    _publish(out, {"backtest.json": "{}"}, command="backtest")
    assert (out / "backtest.json").read_text() == "{}"
    assert json.loads((out / MARKER_NAME).read_text())["command"] == "backtest"


def test_failure_while_writing_leaves_our_folder_as_it_was(tmp_path):
    out = tmp_path / "run"
    _publish(out, {"recommendation.json": "old"})
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        (tmp / "recommendation.json").write_text("half")
        raise RuntimeError("solver died")
    assert (out / "recommendation.json").read_text() == "old"
    assert not list(tmp_path.glob(".run.tmp.*"))


def test_foreign_non_empty_folder_is_refused_and_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(ConfigError, match="not written by energyhedge") as info:
        _publish(out, {"recommendation.json": "{}"})
    assert info.value.exit_code == 2
    assert str(out / "run-1") in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    assert not list(tmp_path.glob(".mine.tmp.*"))


def test_a_file_where_a_folder_is_expected_is_refused(tmp_path):
    path = tmp_path / "report.txt"
    path.write_text("keep")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_out_dir(path)
    assert path.read_text() == "keep"


def test_a_folder_where_a_file_is_expected_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="is a folder, expected a file"):
        check_out_file(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_out_file(blocker / "s.parquet")


@pytest.mark.parametrize("relative", [".", "..", "reports", "market_data"])
def test_working_dir_store_and_reports_ancestors_are_refused(tmp_path, monkeypatch, relative):
    (tmp_path / "reports").mkdir()
    (tmp_path / MARKER_NAME).write_text("{}")  # even a folder that looks like ours
    store = tmp_path / "market_data" / "store"
    store.mkdir(parents=True)
    monkeypatch.setenv("ENERGYHEDGE_STORE", str(store))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="refusing to write into"):
        check_out_dir(relative)
    with pytest.raises(ConfigError, match="the price store"):
        check_out_dir(tmp_path / "elsewhere", protected=(tmp_path / "elsewhere" / "s",))


def test_killed_during_the_moves_is_completed_by_the_next_run(tmp_path):
    """A temporary sibling holding the marker (complete) of a dead process is rolled forward;
    one without it (incomplete) is removed."""
    out = tmp_path / "run"
    _publish(out, {"a.csv": "old", "b.csv": "old"})
    code = "import os; print(os.getpid())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    complete = tmp_path / f".run.tmp.{pid}.aaaa"
    complete.mkdir()
    (complete / "b.csv").write_text("new")  # a.csv was already moved before the kill
    (out / "a.csv").write_text("new")
    (complete / MARKER_NAME).write_text(json.dumps({"command": "x", "files": ["a.csv", "b.csv"]}))
    partial = tmp_path / f".run.tmp.{pid}.bbbb"
    partial.mkdir()
    (partial / "a.csv").write_text("half")
    _publish(out, {"c.csv": "third"})
    assert [(out / n).read_text() for n in ("a.csv", "b.csv", "c.csv")] == ["new", "new", "third"]
    assert not complete.exists() and not partial.exists()


def test_live_process_temporary_folder_is_left_alone(tmp_path):
    out = tmp_path / "run"
    live = tmp_path / f".run.tmp.{os.getpid()}.cccc"
    live.mkdir()
    _publish(out, {"a.csv": "x"})
    assert live.is_dir()


def test_optimize_cli_refuses_a_foreign_folder_before_solving(tmp_path, capsys, repo_root):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "registry.sqlite").write_bytes(b"nightly runs")
    config = repo_root / "models/runs/demo-ercot.toml"
    assert main(["optimize", "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not written by energyhedge" in err[0]
    assert (out / "registry.sqlite").read_bytes() == b"nightly runs"


@pytest.mark.parametrize("command", ["optimize", "backtest"])
def test_cli_refuses_the_working_directory_and_a_file(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("keep")
    argv = [command, "--config", "missing.toml"]
    assert main([*argv, "--out", "."]) == 2
    assert "refusing to write into" in capsys.readouterr().err
    assert main([*argv, "--out", "keep.txt"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder" in err
    assert (tmp_path / "keep.txt").read_text() == "keep"


def test_scenarios_generate_refuses_a_folder_as_out(tmp_path, capsys):
    argv = ["scenarios", "generate", "--iso", "ercot", "--node", "LZ_HOUSTON", "--n", "3"]
    argv += ["--seed", "1", "--start", "2023-08-01", "--days", "1", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a folder, expected a file" in err


def test_nightly_refuses_the_working_directory_and_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("keep")
    argv = ["nightly", "--config", "missing.toml", "--offline"]
    assert main([*argv, "--out", "."]) == 2
    assert "refusing to write into" in capsys.readouterr().err
    assert main([*argv, "--out", "keep.txt"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_sigkill_between_the_moves_is_rolled_forward(tmp_path):
    """A folder with the user's own file is published into file by file: a process killed after
    moving one of two files is completed by the next publish, and the user's file stays."""
    out = tmp_path / "run"
    _publish(out, {"a.csv": "old", "b.csv": "old"})
    (out / "notes.txt").write_text("mine")
    code = f"""
import os, signal
from pathlib import Path
from energyhedge import atomic_dir
real = os.replace
def replace_then_die(src, dst):
    real(src, dst)
    os.kill(os.getpid(), signal.SIGKILL)
with atomic_dir.atomic_directory({str(out)!r}) as tmp:
    (tmp / "a.csv").write_text("new")
    (tmp / "b.csv").write_text("new")
    atomic_dir.os.replace = replace_then_die
"""
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert child.returncode == -9
    assert [(out / n).read_text() for n in ("a.csv", "b.csv")] == ["new", "old"]  # torn
    _publish(out, {"c.csv": "third"})
    assert [(out / n).read_text() for n in ("a.csv", "b.csv", "c.csv")] == ["new", "new", "third"]
    assert (out / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_folder_of_engine_files_is_swapped_whole(tmp_path):
    """Only engine files: the folder is exchanged whole; a process killed with the new folder
    staged leaves the old one, never a mix, and the next publish sweeps the staged folder."""
    out = tmp_path / "run"
    _publish(out, {"a.csv": "old", "b.csv": "old"})
    code = f"""
import os, signal
from energyhedge import atomic_dir
real = os.rename
def rename_then_die(src, dst):
    real(src, dst)
    os.kill(os.getpid(), signal.SIGKILL)
with atomic_dir.atomic_directory({str(out)!r}) as tmp:
    (tmp / "a.csv").write_text("new")
    (tmp / "b.csv").write_text("new")
    atomic_dir.os.rename = rename_then_die
"""
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert child.returncode == -9
    assert [(out / n).read_text() for n in ("a.csv", "b.csv")] == ["old", "old"]
    _publish(out, {"c.csv": "third"})
    assert [(out / n).read_text() for n in ("a.csv", "b.csv", "c.csv")] == ["old", "old", "third"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


_PUBLISHER = """
import os, sys, time
from energyhedge import atomic_dir
tag, slow = sys.argv[1], sys.argv[2] == "slow"
real = os.replace
def replace(src, dst):
    real(src, dst)
    if slow:
        print("moved", flush=True)
        time.sleep(0.4)
with atomic_dir.atomic_directory(sys.argv[3]) as tmp:
    (tmp / "a.csv").write_text(tag)
    (tmp / "b.csv").write_text(tag)
    atomic_dir.os.replace = replace
"""


def test_two_publishers_on_one_folder_do_not_interleave(tmp_path):
    out = tmp_path / "run"
    _publish(out, {"a.csv": "old", "b.csv": "old"})
    (out / "notes.txt").write_text("mine")  # published file by file
    slow = subprocess.Popen(
        [sys.executable, "-c", _PUBLISHER, "A", "slow", str(out)], stdout=subprocess.PIPE, text=True
    )
    assert slow.stdout.readline().strip() == "moved"  # A is between its moves
    fast = subprocess.run(
        [sys.executable, "-c", _PUBLISHER, "B", "fast", str(out)], capture_output=True, check=False
    )
    assert slow.wait(timeout=30) == 0 and fast.returncode == 0
    assert (out / "a.csv").read_text() == (out / "b.csv").read_text() == "B"
