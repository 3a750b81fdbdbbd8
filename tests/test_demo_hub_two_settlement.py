"""The hub and two-settlement demo profile on ERCOT's real 2023 files (skipped when absent)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from conftest import SHARED_DATA

from energyhedge.cli import main
from energyhedge.report.outputs import SCHEMA_PATH

DAM = SHARED_DATA / "ercot" / "DAMLZHBSPP_2023.xlsx"
HUBS = SHARED_DATA / "ercot" / "ercot_rtm_spp_hubs_lz_15min_2023_gridstatus.parquet"


def test_hub_hedges_and_day_ahead_purchases_on_real_2023_data(tmp_path, repo_root, capsys):
    if not (DAM.exists() and HUBS.exists()):
        pytest.skip(f"ERCOT day-ahead workbook or gridstatus hubs not present under {SHARED_DATA}")
    store = str(tmp_path / "store")
    assert main(["data", "import", str(DAM), "--store", store]) == 0
    hubs = ["data", "import", str(HUBS), "--location-types", "Trading Hub", "--store", store]
    assert main(hubs) == 0
    out = tmp_path / "run"
    config = str(repo_root / "models" / "runs" / "demo-ercot-hub-da.toml")
    run = ["optimize", "--config", config, "--scenarios", "60", "--out", str(out)]
    assert main([*run, "--store", store]) == 0
    record = json.loads((out / "recommendation.json").read_text())
    jsonschema.validate(record, json.loads(SCHEMA_PATH.read_text()))
    assert {t["settlement_point"] for t in record["trades"]} <= {"HB_HOUSTON"}
    assert all(t["pricing"] in ("mark", "model") for t in record["trades"])
    trading = record["trading"]
    assert trading["settlement"] == "two_settlement"
    assert set(trading["settlement_choice"]) == {
        "real_time_only",
        "day_ahead_only",
        "optimised_split",
    }
    if record["trades"]:
        assert trading["basis"] is not None and trading["basis"]["products"]
    assert trading["market_consistent"]
    schedule = (out / "schedule.csv").read_text().splitlines()
    assert schedule[0].split(",")[6] == "day_ahead_mw" and len(schedule) > 24
