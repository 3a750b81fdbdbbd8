"""Shared test fixtures: repository paths, the real data beside the repo, an isolated store."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def pjm_data_dir() -> Path:
    """Real PJM Data Miner 2 exports (never shipped in the repo); skip the test when absent."""
    path = SHARED_DATA / "pjm"
    if not (path / "pjm_rt_hrl_lmps_hubs_2025-05_2025-07.csv").exists():
        pytest.skip(f"PJM data not present at {path}")
    return path


@pytest.fixture(autouse=True, scope="session")
def _isolated_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point the default price store at a temporary folder so tests never touch market_data/."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ENERGYHEDGE_STORE", str(tmp_path_factory.mktemp("store")))
    yield
    mp.undo()
