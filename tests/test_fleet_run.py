"""The fleet run on the real ERCOT 2025 and PJM May-July 2025 hub files beside the repo.

The files are never shipped (PJM may not be republished); the test skips when they are absent.
The historical cross-ISO correlation is recomputed here from the raw files with polars (not
through the importers or the fleet's day grid).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import polars as pl
import pytest

from energyhedge.cli import main
from energyhedge.report.html import FLEET_SECTION_IDS

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
ERCOT = SHARED / "ercot" / "ercot_rtm_spp_hubs_lz_15min_2025_gridstatus.parquet"
PJM = SHARED / "pjm" / "pjm_rt_hrl_lmps_hubs_2025-05_2025-07.csv"


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo fleet run with fewer scenarios (the files read from beside the repo)."""
    for path in (ERCOT, PJM):
        if not path.exists():
            pytest.skip(f"fleet price file not present at {path}")
    tmp = tmp_path_factory.mktemp("fleet")
    profile = tmp / "fleet.toml"
    demo = (REPO / "models" / "runs" / "fleet-demo.toml").read_text(encoding="utf-8")
    demo = demo.replace('"../fleet/tx-pjm.toml"', f'"{REPO / "models" / "fleet" / "tx-pjm.toml"}"')
    demo = demo.replace(f'"../../../shared/data/ercot/{ERCOT.name}"', f'"{ERCOT}"')
    demo = demo.replace(f'"../../../shared/data/pjm/{PJM.name}"', f'"{PJM}"')
    demo = demo.replace("n = 200", "n = 40").replace("n = 300", "n = 60")
    profile.write_text(demo, encoding="utf-8")
    out = tmp / "out"
    assert main(["fleet", "--config", str(profile), "--offline", "--out", str(out)]) == 0
    return {
        "record": json.loads((out / "fleet.json").read_text(encoding="utf-8")),
        "html": (out / "fleet.html").read_text(encoding="utf-8"),
    }


def _hourly_history() -> tuple[np.ndarray, np.ndarray]:
    """HB_HOUSTON (hourly mean of its quarter-hours, float32 prices as their shortest decimal,
    i.e. as published) and WESTERN HUB real-time prices on the
    UTC hours of the Central days 1 May - 31 July 2025, straight from the files."""
    raw = pl.read_parquet(ERCOT).filter(pl.col("Location") == "HB_HOUSTON")
    published = [float(str(np.float32(v))) for v in raw["SPP"].to_numpy()]  # as published
    ercot = (
        raw.select(hour=pl.col("Interval Start").dt.convert_time_zone("UTC").dt.truncate("1h"))
        .with_columns(price=pl.Series(published))
        .group_by("hour")
        .agg(pl.col("price").mean())
    )
    pjm = (
        pl.read_csv(PJM)
        .filter((pl.col("pnode_name") == "WESTERN HUB") & pl.col("row_is_current"))
        .select(
            hour=pl.col("datetime_beginning_utc")
            .str.strptime(pl.Datetime("us"), "%m/%d/%Y %I:%M:%S %p")
            .dt.replace_time_zone("UTC"),
            pjm=pl.col("total_lmp_rt"),
        )
    )
    first = pl.datetime(2025, 5, 1, 5, time_zone="UTC")  # Central midnight, CDT
    end = pl.datetime(2025, 8, 1, 5, time_zone="UTC")
    joined = (
        ercot.with_columns(pl.col("hour").dt.cast_time_unit("us"))
        .join(pjm, on="hour")
        .filter((pl.col("hour") >= first) & (pl.col("hour") < end))
        .sort("hour")
    )
    return joined["price"].to_numpy(), joined["pjm"].to_numpy()


def test_historical_dependence_matches_the_raw_files(fleet_run):
    ercot, pjm = _hourly_history()
    assert ercot.size == 92 * 24
    history = fleet_run["record"]["validation"]["all_history"]
    assert history["price_correlation"] == pytest.approx(np.corrcoef(ercot, pjm)[0, 1], abs=1e-9)
    # Spikes: hours above each series' 95th percentile (numpy's linear interpolation).
    sa, sb = ercot > np.quantile(ercot, 0.95), pjm > np.quantile(pjm, 0.95)
    assert history["spike_frequency_a"] == pytest.approx(sa.mean())
    assert history["spike_b_given_spike_a"] == pytest.approx((sa & sb).sum() / sa.sum())


def test_record_figures_are_consistent(fleet_run):
    r = fleet_run["record"]
    s = r["strategies"]
    assert set(s) == {"both", "power_only", "compute_only", "none", "both_fixed", "none_fixed"}
    for name in ("both_fixed", "none_fixed"):
        assert s[name]["migration_usd"] == {"mean": 0.0, "scenarios_with_moves": 0.0}
    for name in ("power_only", "none", "none_fixed"):
        assert s[name]["swap_gpus"] == 0.0
    assert 0.0 <= s["both"]["swap_gpus"] <= 60000.0
    mobility = r["mobility"]
    assert mobility["hedged"] == pytest.approx(
        s["both_fixed"]["cost_per_gpu_hour_usd"]["mean"]
        - s["both"]["cost_per_gpu_hour_usd"]["mean"]
    )
    removed = r["risk_removed"]["both"]["std"]
    assert removed == pytest.approx(
        1 - s["both"]["margin_usd"]["std"] / s["none"]["margin_usd"]["std"]
    )
    # Work placed at each site never exceeds the class's GPUs x 24 hours.
    for sites in r["worst"]["movable_gpu_hours_by_site"].values():
        assert sum(w["all_mean"] for w in sites.values()) <= 56000 * 24 * (1 + 1e-9)
    assert all(r["solver"][name]["status"] == "Optimal" for name in s)


def test_record_follows_its_schema(fleet_run):
    schema = json.loads((REPO / "energyhedge/report/fleet.schema.json").read_text())
    jsonschema.validate(fleet_run["record"], schema)
    broken = {**fleet_run["record"], "unknown": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_page_has_every_section(fleet_run):
    for sid in FLEET_SECTION_IDS:
        assert f'id="{sid}"' in fleet_run["html"]
    assert "illustrative" in fleet_run["html"]
    # the margin distributions of the four hedging strategies, drawn in the margin section
    margin = fleet_run["html"].split('id="fleet-margin"')[1].split("</section>")[0]
    assert margin.count("<svg") == 1 and "Margin per GPU-hour under each hedging" in margin
    for label in ("none", "power only", "compute only", "both"):
        assert f">{label}<" in margin
