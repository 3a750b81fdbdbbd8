"""Degraded inputs of the nightly run: market-data refresh (keys, --offline, failures), frontier."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_nightly import AS_OF, write_profile

from energyhedge import decide, pipeline
from energyhedge.cli import main
from energyhedge.data.fetch import FetchReport
from energyhedge.errors import DataError, SolverError
from energyhedge.log import read_log

KEYS = pipeline.ISO_KEYS["ercot"]


def _run(tmp_path: Path, *more: str) -> tuple[int, list[dict], str]:
    out = tmp_path / "out"
    code = main(
        [
            "nightly",
            "--config",
            str(write_profile(tmp_path)),
            "--as-of",
            AS_OF,
            "--out",
            str(out),
            "--quiet",
            *more,
        ]
    )
    latest = out / "latest"
    if not latest.exists():
        return code, [], ""
    return code, read_log(latest / "run.log"), (latest / "report.html").read_text()


def _refresh(records: list[dict]) -> dict:
    return next(r for r in records if r["event"] == "data.refresh")


def test_without_keys_the_store_is_used_and_said(tmp_path, monkeypatch) -> None:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pipeline, "fetch", lambda *a, **k: pytest.fail("fetch was called"))
    code, records, page = _run(tmp_path)
    assert code == 0
    assert _refresh(records)["mode"] == "store"
    assert f"no ISO keys ({', '.join(KEYS)} unset): used the price store as is" in page


def test_with_keys_the_last_days_are_fetched(tmp_path, monkeypatch) -> None:
    for name in KEYS:
        monkeypatch.setenv(name, "x")
    calls = []

    def fake_fetch(request, *, store_root, progress, deadline_s):
        assert deadline_s == pipeline.REFRESH_DEADLINE_S
        calls.append((request, store_root, progress))
        return FetchReport(chunks=1, rows=168)

    monkeypatch.setattr(pipeline, "fetch", fake_fetch)
    code, records, page = _run(tmp_path)
    assert code == 0
    ((request, _, progress),) = calls
    assert (request.iso, request.market, request.nodes) == ("ercot", "rtm", ("LZ_HOUSTON",))
    assert (str(request.start), str(request.end)) == ("2026-08-12", "2026-08-18")
    assert progress is False
    assert _refresh(records)["rows"] == 168
    assert "fetched 168 rows for 2026-08-12..2026-08-18 from the ISO API" in page


def test_offline_wins_over_keys(tmp_path, monkeypatch) -> None:
    for name in KEYS:
        monkeypatch.setenv(name, "x")
    monkeypatch.setattr(pipeline, "fetch", lambda *a, **k: pytest.fail("fetch was called"))
    code, records, _ = _run(tmp_path, "--offline")
    assert code == 0 and _refresh(records)["mode"] == "offline"


def test_a_failed_refresh_warns_and_goes_on_with_the_store(tmp_path, monkeypatch) -> None:
    for name in KEYS:
        monkeypatch.setenv(name, "x")

    def failing_fetch(*args, **kwargs):
        raise DataError("ERCOT API: credentials rejected (HTTP 401)")

    monkeypatch.setattr(pipeline, "fetch", failing_fetch)
    code, records, page = _run(tmp_path)
    assert code == 0
    warning = _refresh(records)
    assert warning["level"] == "warning" and "HTTP 401" in warning["message"]
    assert "refresh failed, used the price store as is: ERCOT API: credentials rejected" in page


def test_a_failed_frontier_is_reported_and_the_run_succeeds(tmp_path, monkeypatch) -> None:
    def failing_frontier(*args, **kwargs):
        raise SolverError("frontier point lambda = 4: HiGHS status Time limit reached")

    monkeypatch.setattr(decide, "solve_frontier", failing_frontier)
    code, records, page = _run(tmp_path, "--offline")
    assert code == 0
    failed = next(r for r in records if r["event"] == "frontier.failed")
    assert failed["level"] == "warning" and "Time limit reached" in failed["message"]
    assert "The frontier was not computed in this run." in page
    assert "efficient frontier not computed: frontier point lambda = 4" in page
