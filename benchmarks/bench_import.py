"""Import throughput on an ERCOT annual RTM archive-sized CSV, and a one-year one-node export.

Builds (deterministically, in a temporary folder) an NP6-785-ER layout CSV for 2023: every hub
and load zone, the energy-weighted zones, 15-minute intervals, with the DST days labelled as
ERCOT does. Then times `read_prices` + `PriceStore.upsert` into a fresh store (one commit), a
re-import, reads of one node-year and of the whole store, and the export of one node for the
whole year. Run: ``python3 benchmarks/bench_import.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

# Runnable from a plain checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from energyhedge.commands.data import run_export
from energyhedge.data.importers import read_prices
from energyhedge.data.store import PriceStore

HUBS = {"HB_BUSAVG": "SH", "HB_HUBAVG": "AH"} | dict.fromkeys(
    ["HB_HOUSTON", "HB_NORTH", "HB_PAN", "HB_SOUTH", "HB_WEST"], "HU"
)
ZONES = ["LZ_AEN", "LZ_CPS", "LZ_HOUSTON", "LZ_LCRA", "LZ_NORTH", "LZ_RAYBN", "LZ_SOUTH", "LZ_WEST"]
POINTS = (
    list(HUBS.items()) + [(z, "LZ") for z in ZONES] + [(z, "LZEW") for z in ZONES]
)  # 23 settlement points


def write_archive(path: Path, year: int = 2023, seed: int = 0) -> int:
    """Write the synthetic archive CSV; return its number of data rows."""
    start = pl.select(pl.datetime(year, 1, 1, time_zone="America/Chicago")).item()
    end = pl.select(pl.datetime(year + 1, 1, 1, time_zone="America/Chicago")).item()
    utc = pl.datetime_range(start, end, "15m", closed="left", eager=True, time_zone="UTC")
    local = utc.dt.convert_time_zone("America/Chicago").dt.replace_time_zone(None)
    grid = pl.DataFrame({"local": local}).with_columns(
        date=pl.col("local").dt.strftime("%m/%d/%Y"),
        hour=pl.col("local").dt.hour() + 1,
        interval=pl.col("local").dt.minute() // 15 + 1,
        flag=pl.when(pl.int_range(pl.len()).over("local") > 0)
        .then(pl.lit("Y"))
        .otherwise(pl.lit("N")),
    )
    rng = np.random.default_rng(seed)
    parts = []
    for name, kind in POINTS:
        price = np.round(30 + 15 * rng.standard_normal(grid.height), 2)
        parts.append(
            grid.select(
                pl.col("date").alias("Delivery Date"),
                pl.col("hour").alias("Delivery Hour"),
                pl.col("interval").alias("Delivery Interval"),
                pl.col("flag").alias("Repeated Hour Flag"),
                pl.lit(name).alias("Settlement Point Name"),
                pl.lit(kind).alias("Settlement Point Type"),
                pl.Series("Settlement Point Price", price),
            )
        )
    table = pl.concat(parts).sort("Delivery Date", "Delivery Hour", "Delivery Interval")
    table.write_csv(path)
    return table.height


def main() -> None:
    """Build the file, time import and export, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = folder / "RTMLZHBSPP_2023.csv"
        n = write_archive(csv_path)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"file: {n:,} rows, {len(POINTS)} settlement points, {size_mb:.1f} MB")

        store = PriceStore(folder / "store")
        t0 = time.perf_counter()
        result = read_prices(csv_path)
        t1 = time.perf_counter()
        counts = store.upsert(result.frame, {"kind": "benchmark"})
        t2 = time.perf_counter()
        assert counts.inserted == n, counts
        print(f"parse:  {t1 - t0:.2f} s ({n / (t1 - t0):,.0f} rows/s)")
        print(f"upsert: {t2 - t1:.2f} s into a fresh store")
        print(f"import: {t2 - t0:.2f} s total, {n / (t2 - t0):,.0f} rows/s")

        t3 = time.perf_counter()
        again = store.upsert(result.frame, {"kind": "benchmark"})
        t4 = time.perf_counter()
        assert again.unchanged == n, again
        print(f"re-import upsert (all unchanged): {t4 - t3:.2f} s")

        t5 = time.perf_counter()
        one = store.read("ercot", "rtm", "HB_NORTH")
        t6 = time.perf_counter()
        every = store.read_all()
        t7 = time.perf_counter()
        assert every.height == n, every.height
        print(f"read: one node-year ({one.height:,} rows) in {t6 - t5:.3f} s; ", end="")
        print(f"whole store ({every.height:,} rows) in {t7 - t6:.3f} s")

        out = folder / "export.csv"
        args = argparse.Namespace(
            store=store.root, iso="ercot", market="rtm", node="HB_NORTH",
            start=date(2023, 1, 1), end=date(2023, 12, 31), utc=False, out=out,
            interval_minutes=None,
        )  # fmt: skip
        t8 = time.perf_counter()
        run_export(args)
        t9 = time.perf_counter()
        exported = sum(1 for _ in out.open()) - 1
        print(f"export: {exported:,} rows of one node for one year in {t9 - t8:.3f} s")
        print(f"(run {datetime.now(UTC):%Y-%m-%dT%H:%MZ})")


if __name__ == "__main__":
    main()
