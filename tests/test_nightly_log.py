"""The structured run log: one JSON object per line with the fixed keys."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from energyhedge.log import RunLog, read_log


def test_lines_are_json_with_fixed_keys(tmp_path: Path) -> None:
    echo = io.StringIO()
    with RunLog(tmp_path / "run.log", "run-1", echo=echo) as log:
        log.event("data.refresh", mode="offline", reason="--offline given")
        log.event("solve.done", seconds=np.float64(0.25), status="Optimal", limit=float("inf"))
        log.event("data.gap", level="warning", message="3 intervals missing")
    records = read_log(tmp_path / "run.log")
    assert [r["event"] for r in records] == ["data.refresh", "solve.done", "data.gap"]
    assert all(r["run_id"] == "run-1" and r["ts"].endswith("Z") for r in records)
    assert records[1]["seconds"] == 0.25 and records[1]["limit"] == "inf"
    assert records[2]["level"] == "warning"
    assert echo.getvalue() == "energyhedge: warning: data.gap: 3 intervals missing\n"


def test_unknown_level_is_rejected(tmp_path: Path) -> None:
    with RunLog(tmp_path / "run.log", "r") as log, pytest.raises(ValueError, match="debug"):
        log.event("x", level="debug")
