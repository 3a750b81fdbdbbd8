"""Run registry: rows, statuses, previous successful run, and the change rows for the report."""

from __future__ import annotations

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
