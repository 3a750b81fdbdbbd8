"""The nightly run end to end on the shipped ERCOT data: outputs, atomicity, registry, exit codes.

Runs go through ``energyhedge.cli.main`` with small profiles written into a temporary folder
(the shipped campus and contracts, 40 scenarios), so each takes a few seconds.
"""

from __future__ import annotations

import csv
import html
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from markupsafe import escape

from energyhedge.cli import main
from energyhedge.lock import LOCK_NAME
from energyhedge.log import read_log
from energyhedge.report.html import SECTION_IDS
from energyhedge.report.outputs import SCHEMA_PATH

REPO = Path(__file__).resolve().parents[1]
CAMPUS = REPO / "models" / "campus" / "tx-100mw.toml"
CONTRACTS = REPO / "models" / "contracts" / "ercot-standard.toml"
AS_OF = "2026-08-19"
OUTPUTS = (
    "recommendation.json",
    "schedule.csv",
    "trades.csv",
    "report.html",
    "run.log",
    ".energyhedge-output",
)


def write_profile(
    folder: Path,
    *,
    campus: Path = CAMPUS,
    name: str = "small",
    extra: str = "",
    stale_ok: bool = True,
) -> Path:
    """A small run profile: 40 bootstrap scenarios over one day, one stress replay.

    The shipped prices are from 2023 and the runs are as of 2026: ``stale_ok`` allows that.
    """
    path = folder / f"{name}.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [run]
            campus = "{campus}"
            contracts = "{CONTRACTS}"
            allow_stale_data = {"true" if stale_ok else "false"}

            [scenarios]
            model = "bootstrap"
            n = 40
            seed = 11
            days = 1
            month_window = 1
            [[scenarios.replay]]
            name = "aug2023"
            first_day = 2023-08-17
            last_day = 2023-08-17
            probability = 0.02

            [risk]
            alpha = 0.9
            lambda = 1.0
            frontier_lambdas = [0.0, 1.0, 4.0]

            [solver]
            time_limit_s = 60
            marginals = false

            [out_of_sample]
            seed = 12
            n = 40
            """
        )
        + extra,
        encoding="utf-8",
    )
    return path


def nightly(profile: Path, out: Path, *more: str) -> int:
    return main(
        [
            "nightly",
            "--config",
            str(profile),
            "--as-of",
            AS_OF,
            "--out",
            str(out),
            "--offline",
            "--quiet",
            *more,
        ]
    )


def registry_rows(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "registry.sqlite") as db:
        return db.execute(
            "SELECT run_id, status, exit_code, message FROM runs ORDER BY started_utc"
        ).fetchall()


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in (out / AS_OF).iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """Two successful runs of the same profile into one output folder."""
    folder = tmp_path_factory.mktemp("nightly")
    profile = write_profile(folder)
    out = folder / "reports"
    assert nightly(profile, out) == 0
    assert nightly(profile, out) == 0
    return out, run_dirs(out)


def test_a_run_writes_every_output_and_points_latest_at_it(two_runs) -> None:
    out, dirs = two_runs
    assert len(dirs) == 2
    for d in dirs:
        assert sorted(p.name for p in d.iterdir()) == sorted(OUTPUTS)
    latest = out / "latest"
    assert latest.is_symlink() and not Path(os.readlink(latest)).is_absolute()
    assert latest.resolve() == dirs[-1].resolve()
    assert not [p for p in (out / AS_OF).iterdir() if p.name.startswith(".")]
    page = (latest / "report.html").read_text(encoding="utf-8")
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in page
    assert "offline (--offline): used the price store as is" in page
    assert "aug2023" in page  # the stress replay appears in the stress table


def test_run_log_is_structured_and_says_offline(two_runs) -> None:
    _, dirs = two_runs
    records = read_log(dirs[0] / "run.log")
    events = [r["event"] for r in records]
    assert events[0] == "run.start" and events[-1] == "run.done"
    for stage in ("profile", "data", "scenarios", "solve", "frontier", "value"):
        assert f"{stage}.done" in events
    refresh = next(r for r in records if r["event"] == "data.refresh")
    assert refresh["mode"] == "offline"
    assert {r["run_id"] for r in records} == {dirs[0].name}


def test_recommendation_follows_the_schema_and_the_report(two_runs) -> None:
    _, dirs = two_runs
    doc = json.loads((dirs[0] / "recommendation.json").read_text())
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    assert doc["run_id"] == dirs[0].name and doc["as_of"] == AS_OF
    assert [s["event"] for s in doc["stress"]] == ["aug2023"]
    assert doc["data"]["refresh"] == "offline (--offline): used the price store as is"
    page = (dirs[0] / "report.html").read_text(encoding="utf-8")
    assert html.escape(doc["recommendation"], quote=False) in page
    trades = {t["product"]: t["mw"] for t in doc["trades"]}
    with (dirs[0] / "trades.csv").open() as f:
        assert {row["product"]: float(row["mw"]) for row in csv.DictReader(f)} == trades
    for product, mw in trades.items():
        assert f"<td>{product}</td>" in page and f"{mw:,.1f}".replace("-", "−") in page


def test_alerts_in_recommendation_log_and_report(two_runs) -> None:
    _, dirs = two_runs
    alerts = json.loads((dirs[0] / "recommendation.json").read_text())["alerts"]
    levels = [a["level"] for a in alerts]
    assert levels == sorted(levels, key=("warning", "info").index) and "warning" in levels
    # 2026-08-20 is a summer weekday: the 4CP hours ending 16-19 are 15:00-19:00 CDT.
    (cp,) = [a for a in alerts if a["kind"] == "coincident_peak"]
    assert cp["message"].startswith("2026-08-20 15:00-19:00 CDT: coincident-peak risk")
    assert (cp["interval_start_utc"], cp["interval_end_utc"]) == (
        "2026-08-20T20:00:00Z",
        "2026-08-21T00:00:00Z",
    )
    # The shipped history has one gap (the 2023 fall-back repeat): an info alert, no window.
    (data,) = [a for a in alerts if a["kind"] == "data"]
    assert data["level"] == "info" and data["interval_start_utc"] is None
    assert "gap" in data["message"]
    logged = [r for r in read_log(dirs[0] / "run.log") if r["event"].startswith("alert.")]
    assert [(r["level"], r["event"], r["message"]) for r in logged] == [
        (a["level"], f"alert.{a['kind']}", a["message"]) for a in alerts
    ]
    page = (dirs[0] / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="alerts">') : page.index('<section id="trades">')]
    assert section.count("<tr class=") == len(alerts)
    for a in alerts:
        when, _, text = a["message"].partition(": ") if a["interval_start_utc"] else ("", "", "")
        assert str(escape(text or a["message"])) in section
        assert not when or f"<td>{when}</td>" in section


def test_same_inputs_and_seed_give_the_same_recommendation(two_runs) -> None:
    _, dirs = two_runs
    first, second = (json.loads((d / "recommendation.json").read_text()) for d in dirs)
    assert first["run_id"] != second["run_id"]
    assert _without_volatile(first) == _without_volatile(second)
    for name in ("schedule.csv", "trades.csv"):
        assert (dirs[0] / name).read_bytes() == (dirs[1] / name).read_bytes()


def test_registry_and_changes_since_the_previous_run(two_runs) -> None:
    out, dirs = two_runs
    rows = registry_rows(out)
    assert [(r[0], r[1], r[2]) for r in rows] == [(d.name, "success", 0) for d in dirs]
    with sqlite3.connect(out / "registry.sqlite") as db:
        hashes = db.execute("SELECT config_hash, inputs_hash FROM runs").fetchall()
    assert hashes[0] == hashes[1] and hashes[0][1].startswith("sha256:")
    second = (dirs[1] / "report.html").read_text(encoding="utf-8")
    assert f"Compared with run {dirs[0].name}" in second
    assert "no change" in second
    first = (dirs[0] / "report.html").read_text(encoding="utf-8")
    assert "nothing to compare yet" in first


def test_failed_run_leaves_no_half_report_and_keeps_latest(two_runs, tmp_path: Path) -> None:
    out, dirs = two_runs
    before = os.readlink(out / "latest")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\ncampus = 1\n", encoding="utf-8")
    assert nightly(bad, out) == 2
    assert os.readlink(out / "latest") == before
    assert run_dirs(out) == dirs
    failed = sorted((out / AS_OF).glob("*.failed.log"))
    assert len(failed) == 1
    last = read_log(failed[0])[-1]
    assert last["event"] == "run.failed" and last["exit_code"] == 2
    assert registry_rows(out)[-1][1:3] == ("failed", 2)


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    profile = write_profile(tmp_path, extra="\n[typo]\nx = 1\n")
    assert nightly(profile, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "typo" in err and str(profile) in err
    assert nightly(tmp_path / "missing.toml", tmp_path / "out") == 2


def test_missing_data_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    campus = tmp_path / "campus.toml"
    campus.write_text(CAMPUS.read_text().replace('"LZ_HOUSTON"', '"LZ_NOWHERE"'), encoding="utf-8")
    profile = write_profile(tmp_path, campus=campus)
    assert nightly(profile, tmp_path / "out") == 3
    assert "LZ_NOWHERE" in capsys.readouterr().err
    assert not (tmp_path / "out" / "latest").exists()


def test_infeasible_campus_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    campus = tmp_path / "campus.toml"
    text = CAMPUS.read_text()
    assert "grid_limit_mw = 100.0" in text
    campus.write_text(
        text.replace("grid_limit_mw = 100.0", "grid_limit_mw = 20.0"), encoding="utf-8"
    )
    profile = write_profile(tmp_path, campus=campus)
    assert nightly(profile, tmp_path / "out") == 4
    assert "grid" in capsys.readouterr().err.lower()


def test_second_run_on_a_locked_output_exits_5(tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from energyhedge.lock import OutputLock\n"
            f"with OutputLock({str(out)!r}, owner='run holder'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "energyhedge",
                "nightly",
                "--config",
                str(write_profile(tmp_path)),
                "--out",
                str(out),
                "--offline",
                "--quiet",
                "--wait",
                "0.5",
            ],
            cwd=REPO,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 5
    assert "another run holds the output lock" in done.stderr
    assert str(out / LOCK_NAME) in done.stderr and "run holder" in done.stderr
    assert done.stdout == ""


def _without_volatile(doc):
    """Drop the run id, timestamps (``*_utc``) and measured durations (``*_s``, e.g. solve_s)."""
    if isinstance(doc, dict):
        return {
            k: _without_volatile(v)
            for k, v in doc.items()
            if k != "run_id" and not k.endswith(("_utc", "_s"))
        }
    if isinstance(doc, list):
        return [_without_volatile(v) for v in doc]
    return doc


def test_builds_left_by_a_killed_run_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stale = out / "2026-08-18" / ".20260818T040000Z-dead00.tmp"
    stale.mkdir(parents=True)
    (stale / "run.log").write_text("{}\n")
    assert nightly(write_profile(tmp_path), out) == 0
    assert not stale.exists()
    start = read_log(out / "latest" / "run.log")[0]
    assert start["removed_stale_builds"] == [str(stale)]
