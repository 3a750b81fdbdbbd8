"""Four ERCOT ancillary services offered at once on the real 2023 clearing prices (skipped when
the DAMASMCPC file is absent)."""

from __future__ import annotations

import json

import jsonschema
import polars as pl
import pytest
from conftest import SHARED_DATA

from energyhedge.cli import main
from energyhedge.report.outputs import SCHEMA_PATH

AS_PRICES = SHARED_DATA / "ercot" / "DAMASMCPC_2023.csv"


def test_four_services_on_real_2023_clearing_prices(tmp_path, repo_root):
    if not AS_PRICES.exists():
        pytest.skip(f"ERCOT ancillary-service prices not present under {SHARED_DATA}")
    store = tmp_path / "store"  # empty: the import seeds it from the shipped ERCOT 2023 file
    assert main(["data", "import", str(AS_PRICES), "--store", str(store)]) == 0
    out = tmp_path / "run"
    config = str(repo_root / "models" / "runs" / "demo-ercot-as.toml")
    run = ["optimize", "--config", config, "--scenarios", "60", "--out", str(out)]
    assert main([*run, "--store", str(store)]) == 0
    record = json.loads((out / "recommendation.json").read_text())
    jsonschema.validate(record, json.loads(SCHEMA_PATH.read_text()))
    trading = record["trading"]
    products = trading["ancillary_services"]
    assert [p["price_series"] for p in products] == ["RRS", "ECRS", "REGUP", "NSPIN"]
    limits = {"rrs": 20.0, "ecrs": 30.0, "reg_up": 10.0, "non_spin": 30.0}
    for p in products:
        assert 0.0 <= p["largest_offer_mw"] <= limits[p["name"]] + 1e-9
        assert p["revenue"]["p5_usd"] <= p["revenue"]["expected_usd"] <= p["revenue"]["p95_usd"]
        assert 0.0 <= p["delivered_mwh"] <= p["called_mwh"] + 1e-9
    # revenues add up to the recommendation's DR/AS revenue (prices differ per scenario)
    total = sum(p["revenue"]["expected_usd"] for p in products)
    assert total == pytest.approx(trading["dr_revenue"]["expected_usd"])
    assert trading["dr_revenue"]["p95_usd"] > trading["dr_revenue"]["p5_usd"]
    # together the offers never exceed the 70 MW of training the ladder can shed
    schedule = pl.read_csv(out / "schedule.csv").filter(pl.col("rung") == 1)
    assert schedule["dr_offered_mw"].max() <= 70.0 + 1e-6
    assert sum(p["offered_mw_h"] for p in products) == pytest.approx(
        schedule["dr_offered_mw"].sum()
    )
