"""The real files: the shipped ERCOT 2023 hourly RTM file and the PJM hub exports beside the repo.

Expected figures are recomputed here with the csv module and plain Python, independently of
polars and of the importers.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime

import polars as pl

from energyhedge.data.generic_csv import SHIPPED_ERCOT_OPTIONS
from energyhedge.data.importers import read_prices
from energyhedge.data.store import SHIPPED_ERCOT_FILE

ZONES = ["LZ_AEN", "LZ_CPS", "LZ_HOUSTON", "LZ_LCRA", "LZ_NORTH", "LZ_RAYBN", "LZ_SOUTH", "LZ_WEST"]


def _august_houston_mean_plain() -> float:
    with SHIPPED_ERCOT_FILE.open(newline="") as handle:
        values = [
            float(row["Price"])
            for row in csv.DictReader(handle)
            if row["Zone"] == "LZ_HOUSTON" and row["Date"].startswith("8/")
        ]
    assert len(values) == 744
    return math.fsum(values) / len(values)


def test_shipped_ercot_file():
    result = read_prices(SHIPPED_ERCOT_FILE, SHIPPED_ERCOT_OPTIONS)
    frame = result.frame
    assert frame.height == 70_072
    counts = frame.group_by("node").len().sort("node")
    assert counts["node"].to_list() == ZONES
    assert counts["len"].to_list() == [8_759] * 8
    assert set(frame["interval_minutes"]) == {60}

    houston = frame.filter(pl.col("node") == "LZ_HOUSTON").with_columns(
        local=pl.col("interval_start_utc").dt.convert_time_zone("America/Chicago")
    )
    august = houston.filter(pl.col("local").dt.month() == 8)["price_usd_per_mwh"]
    expected = _august_houston_mean_plain()
    assert abs(expected - 198.70581989247302) < 1e-9
    assert abs(august.mean() - expected) < 1e-9

    top = frame.sort("price_usd_per_mwh").row(-1, named=True)
    # 5,497.90 rounded; the file holds 5497.895.
    assert (top["node"], top["price_usd_per_mwh"]) == ("LZ_CPS", 5497.895)
    assert top["interval_start_utc"] == datetime(2023, 8, 18, 0, tzinfo=UTC)  # 19:00 CDT

    # The single 2023-11-05 01:00 is read as the first (CDT) occurrence: 06:00Z.
    fall = houston.filter(pl.col("local_label") == "11/5/2023 1:00:00 AM")
    assert fall["interval_start_utc"].to_list() == [datetime(2023, 11, 5, 6, tzinfo=UTC)]
    gaps = [f for f in result.quality if f.kind == "gap"]
    assert len(gaps) == 8 and all(f.count == 1 for f in gaps)
    assert "2023-11-05T07:00Z (2023-11-05 01:00 CST, the standard-time repeat" in gaps[0].detail


def _plain_pjm(path, price_column):
    by_hub: dict[str, list[tuple[datetime, float]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            stamp = datetime.strptime(row["datetime_beginning_utc"], "%m/%d/%Y %I:%M:%S %p")
            by_hub.setdefault(row["pnode_name"], []).append(
                (stamp.replace(tzinfo=UTC), float(row[price_column]))
            )
    return by_hub


def test_pjm_hub_exports(pjm_data_dir):
    feeds = (("da", "dam", "total_lmp_da"), ("rt", "rtm", "total_lmp_rt"))
    for feed, market, price_column in feeds:
        path = pjm_data_dir / f"pjm_{feed}_hrl_lmps_hubs_2025-05_2025-07.csv"
        frame = read_prices(path).frame
        plain = _plain_pjm(path, price_column)
        assert set(frame["market"]) == {market}
        counts = dict(frame.group_by("node").len().rows())
        assert len(counts) == 12 and set(counts.values()) == {2_209}
        for hub, values in plain.items():
            mine = frame.filter(pl.col("node") == hub)
            assert mine["interval_start_utc"].to_list() == sorted(t for t, _ in values)
            plain_mean = math.fsum(p for _, p in values) / 2209
            assert abs(mine["price_usd_per_mwh"].mean() - plain_mean) < 1e-9
        top = frame.sort("price_usd_per_mwh").row(-1, named=True)
        if feed == "rt":
            assert top["node"] == "NEW JERSEY HUB"
            assert round(top["price_usd_per_mwh"], 2) == 1989.05
            assert top["interval_start_utc"] == datetime(2025, 6, 24, 22, tzinfo=UTC)
            assert top["local_label"] == "6/24/2025 6:00:00 PM"
        else:
            assert round(top["price_usd_per_mwh"], 2) == 578.37
        assert top["price_usd_per_mwh"] == max(p for v in plain.values() for _, p in v)
