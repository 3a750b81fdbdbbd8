"""Shared loaders for the scenario tests: the shipped 2023 ERCOT file in canonical form."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from energyhedge.data.schema import conform

ERCOT_2023 = (
    Path(__file__).resolve().parents[1]
    / "market_data"
    / "ercot"
    / "ercot_rtm_spp_lz_hourly_2023.csv"
)


@cache
def ercot_2023() -> pl.DataFrame:
    """All zones of the shipped file as a canonical price table (hour-beginning Central time)."""
    raw = pl.read_csv(ERCOT_2023)
    local = raw["Date"].str.strptime(pl.Datetime("us"), "%m/%d/%Y %I:%M:%S %p")
    utc = local.dt.replace_time_zone("America/Chicago", ambiguous="earliest").dt.convert_time_zone(
        "UTC"
    )
    frame = pl.DataFrame(
        {
            "iso": "ercot",
            "market": "rtm",
            "node": raw["Zone"],
            "interval_start_utc": utc,
            "interval_minutes": 60,
            "price_usd_per_mwh": raw["Price"],
            "local_label": raw["Date"],
            "source": ERCOT_2023.name,
        }
    )
    return conform(frame).sort("node", "interval_start_utc")


def houston() -> pl.DataFrame:
    """LZ_HOUSTON rows only."""
    return ercot_2023().filter(pl.col("node") == "LZ_HOUSTON")
