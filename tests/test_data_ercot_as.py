"""ERCOT day-ahead ancillary-service prices (DAMASMCPC) as market ``as``: hand-made and real file.

Figures of the real file (never shipped in the project; skipped when absent) are recomputed with
the csv module and zoneinfo, independently of polars and of the importer.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from data_helpers import rows, utc

from energyhedge.cli import main
from energyhedge.data.importers import read_prices
from energyhedge.data.quality import assess
from energyhedge.data.store import open_store

AS_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "ercot" / "DAMASMCPC_2023.csv"
HEADER = "Delivery Date,Hour Ending,Repeated Hour Flag,REGDN,REGUP ,RRS,NSPIN,ECRS\n"


def test_fall_back_hours_products_as_nodes_and_blanks_skipped(tmp_path):
    path = tmp_path / "as.csv"
    path.write_text(
        HEADER + "11/05/2023,01:00,N,4.98,1.83,1.5,0.96,\n"
        "11/05/2023,02:00,N,1.49,1.83,1.5,0.96,0.94\n"
        "11/05/2023,02:00,Y,4.98,2.5,2.5,1.19,\n"
    )
    result = read_prices(path)
    frame = result.frame
    assert set(frame["iso"]) == {"ercot"} and set(frame["market"]) == {"as"}
    assert rows(frame.filter(pl.col("node").is_in(["REGUP", "ECRS"]))) == [
        ("ECRS", "2023-11-05T06:00", 60, 0.94),
        ("REGUP", "2023-11-05T05:00", 60, 1.83),
        ("REGUP", "2023-11-05T06:00", 60, 1.83),
        ("REGUP", "2023-11-05T07:00", 60, 2.5),  # HE02 flagged Y: 01:00 CST
    ]
    assert frame.group_by("node").len().sort("node").rows() == [
        ("ECRS", 1), ("NSPIN", 3), ("REGDN", 3), ("REGUP", 3), ("RRS", 3),
    ]  # fmt: skip
    assert [str(f) for f in result.quality] == [
        "ercot/as/ECRS/60min: blank: 2 blank prices skipped (no row stored, not zero), "
        "2023-11-05T05:00Z .. 2023-11-05T07:00Z"
    ]


def test_as_prices_are_screened_as_capacity_prices_not_energy_prices():
    stamps = [utc("2023-08-26T00:00"), utc("2023-08-26T01:00"), utc("2023-08-26T02:00")]
    frame = pl.DataFrame(
        {
            "iso": "ercot",
            "market": "as",
            "node": "RRS",
            "interval_start_utc": stamps,
            "interval_minutes": 60,
            "price_usd_per_mwh": [4083.28, -10.0, 5500.0],
            "revision": None,
        },
        schema_overrides={"interval_minutes": pl.Int32, "revision": pl.Int64},
    )
    (finding,) = assess(frame)
    # Energy bounds (-250 .. 5,000 + 1,000 $/MWh) would pass all three.
    assert finding.kind == "out_of_range" and finding.count == 2
    assert finding.detail == (
        "2 prices outside [0, cap + 0] $/MW-h, e.g. 2023-08-26T01:00Z -10.00, "
        "2023-08-26T02:00Z 5500.00"
    )
    energy = frame.with_columns(market=pl.lit("rtm"))
    assert [f for f in assess(energy) if f.kind == "out_of_range"] == []


def _plain_as() -> dict[str, list[tuple[datetime, float]]]:
    """Product -> [(UTC start, $/MW-h)] from the csv module; HE01 = 00:00-01:00 Central."""
    central = ZoneInfo("America/Chicago")
    series: dict[str, list[tuple[datetime, float]]] = {}
    with AS_FILE.open(newline="") as handle:
        for row in csv.DictReader(handle):
            month, day, year = (int(x) for x in row["Delivery Date"].split("/"))
            naive = datetime(year, month, day) + timedelta(hours=int(row["Hour Ending"][:2]) - 1)
            fold = int(row["Repeated Hour Flag"] == "Y")
            start = naive.replace(tzinfo=central, fold=fold).astimezone(UTC)
            for column in ("REGDN", "REGUP ", "RRS", "NSPIN", "ECRS"):
                if row[column] != "":
                    series.setdefault(column.strip(), []).append((start, float(row[column])))
    return series


def test_real_2023_as_file_imports_exactly(tmp_path, capsys):
    if not AS_FILE.exists():
        pytest.skip(f"ERCOT AS file not present at {AS_FILE}")
    plain = _plain_as()
    assert {k: len(v) for k, v in plain.items()} == {
        "REGDN": 8_760, "REGUP": 8_760, "RRS": 8_760, "NSPIN": 8_760, "ECRS": 4_921,
    }  # fmt: skip
    store = tmp_path / "store"
    assert main(["data", "import", "--store", str(store), str(AS_FILE)]) == 0
    out = capsys.readouterr().out
    assert f"{AS_FILE}: 39961 rows: 39961 inserted" in out
    assert (
        "ercot/as/ECRS/60min: blank: 3,839 blank prices skipped (no row stored, not zero), "
        "2023-01-01T06:00Z .. 2023-06-10T04:00Z"
    ) in out

    stored = open_store(store).read_all("ercot", "as")
    for product, values in plain.items():
        mine = stored.filter(pl.col("node") == product).sort("interval_start_utc")
        assert mine.select("interval_start_utc", "price_usd_per_mwh").rows() == sorted(values)
    ecrs = stored.filter(pl.col("node") == "ECRS")["interval_start_utc"]
    assert ecrs.min() == datetime(2023, 6, 10, 5, tzinfo=UTC)  # 2023-06-10 HE01, CDT

    he20 = datetime(2023, 8, 26, 0, tzinfo=UTC)  # 08/25/2023 HE20 = 19:00-20:00 CDT
    for product, top in (("REGUP", 4082.91), ("RRS", 4083.28), ("ECRS", 4085.33)):
        assert max(plain[product], key=lambda tv: tv[1]) == (he20, top)
        best = stored.filter(pl.col("node") == product).sort("price_usd_per_mwh").row(-1)
        assert (best[3], best[5]) == (he20, top)

    assert main(["data", "quality", "--store", str(store), "--market", "as"]) == 0
    quality = capsys.readouterr().out
    assert "5 series, 39,961 rows" in quality
    assert "out_of_range" not in quality and "gap" not in quality
    assert "ercot/as/ECRS/60min: blank: 3,839 blank prices skipped" in quality
    assert main(["data", "list", "--store", str(store)]) == 0
    listing = capsys.readouterr().out
    assert "ercot as     REGUP                     60  2023-01-01T06:00Z  2024-01-01T05:00Z" in (
        listing
    )
    assert listing.count("$/MW-h") == 5
