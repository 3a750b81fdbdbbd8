"""The real gridstatus ERCOT 15-minute files (2023, 2025) beside the repo: refusal and hubs import.

The files are never shipped in the project (no licence); the tests skip when they are absent.
Expected figures come from polars reading the Parquet file directly (not through the importer)
and from numpy's float32 formatting.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from energyhedge.cli import main
from energyhedge.data.store import open_store

ERCOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ercot"
HUBS = ["HB_BUSAVG", "HB_HOUSTON", "HB_HUBAVG", "HB_NORTH", "HB_PAN", "HB_SOUTH", "HB_WEST"]


def _file(year: int) -> Path:
    path = ERCOT / f"ercot_rtm_spp_hubs_lz_15min_{year}_gridstatus.parquet"
    if not path.exists():
        pytest.skip(f"gridstatus file not present at {path}")
    return path


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _published(value: float, float32: bool) -> float:
    """The price as published: numpy's shortest float32 decimal for float32 files."""
    return float(str(np.float32(value))) if float32 else value


def _expected_refusal(path: Path, float32: bool) -> list[str]:
    """Pieces of the refusal message, computed with polars on the raw file."""
    raw = pl.read_parquet(path).with_row_index("row", 1)
    key = ["Location", "Interval Start"]
    conflicts = raw.filter(pl.col("SPP").n_unique().over(key) > 1)
    per_location = (
        conflicts.group_by("Location").agg(pl.col("Interval Start").n_unique()).sort("Location")
    )
    location, count = per_location.row(0)
    first = (
        conflicts.filter(pl.col("Location") == location)
        .sort("Interval Start", "row")
        .group_by("Interval Start", maintain_order=True)
        .agg("SPP", "row")
        .head(3)
    )
    shown = []
    for start, prices, _ in first.rows():
        a, b = (_published(p, float32) for p in prices)
        shown.append(
            f"{start.astimezone(UTC):%Y-%m-%dT%H:%MZ} ({start:%Y-%m-%d %H:%M %Z}) {a:,} vs {b:,}"
        )
    rows = first["row"][0].to_list()
    kind = conflicts.filter(pl.col("Location") == location)["Location Type"][0]
    return [
        f"rows {rows[0]} and {rows[1]}, column 'SPP': {location} (Location Type '{kind}') has two "
        f"different prices for {count:,} of its intervals, first " + "; ".join(shown) + " $/MWh",
        f"; {per_location.height - 1} more locations conflict too",
        "--location-types 'Trading Hub'",
    ]


@pytest.mark.parametrize("year", [2023, 2025])
def test_whole_file_is_refused_naming_a_load_zone_and_its_first_conflicts(year, tmp_path, capsys):
    path = _file(year)
    store = tmp_path / "store"
    open_store(store)
    before = _hashes(store)
    assert main(["data", "import", "--store", str(store), str(path)]) == 3
    (line,) = capsys.readouterr().err.splitlines()
    for piece in _expected_refusal(path, float32=year == 2025):
        assert piece in line, line
    assert re.search(r": LZ_\w+ \(Location Type 'Load Zone'\)", line)
    assert _hashes(store) == before


def test_the_documented_lz_west_conflict_of_2023_09_06(tmp_path, capsys):
    """PROVENANCE's example, LZ_WEST 2023-09-06 19:30 CDT, refused with both prices."""
    raw = pl.read_parquet(_file(2023))
    start = pl.col("Interval Start").dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    one = raw.filter(
        (pl.col("Location") == "LZ_WEST") & (start == datetime(2023, 9, 7, 0, 30, tzinfo=UTC))
    )
    assert one["SPP"].to_list() == [5340.88, 5339.52]
    path = tmp_path / "lz_west_2023-09-06.parquet"  # a temporary extract, never kept
    one.write_parquet(path)
    store = tmp_path / "store"
    open_store(store)
    before = _hashes(store)
    assert main(["data", "import", "--store", str(store), str(path)]) == 3
    assert (
        "rows 1 and 2, column 'SPP': LZ_WEST (Location Type 'Load Zone') has two different prices "
        "for 1 of its intervals, first 2023-09-07T00:30Z (2023-09-06 19:30 CDT) 5,340.88 vs "
        "5,339.52 $/MWh; the file gives two price series one name"
    ) in capsys.readouterr().err
    assert _hashes(store) == before


def _import_hubs(path: Path, store: Path, capsys) -> pl.DataFrame:
    code = main(
        ["data", "import", "--store", str(store), "--location-types", "Trading Hub", str(path)]
    )
    assert code == 0
    assert f"{path}: 245280 rows: 245280 inserted" in capsys.readouterr().out
    return open_store(store).read_all("ercot", "rtm").filter(pl.col("interval_minutes") == 15)


def _direct_hubs(path: Path, float32: bool) -> pl.DataFrame:
    """Hub rows straight from the file: node, UTC start, price as published."""
    raw = pl.read_parquet(path).filter(pl.col("Location Type") == "Trading Hub")
    prices = raw["SPP"].to_list()
    return pl.DataFrame(
        {
            "node": raw["Location"],
            "interval_start_utc": raw["Interval Start"]
            .dt.convert_time_zone("UTC")
            .dt.cast_time_unit("us"),
            "price": [_published(p, float32) for p in prices],
        }
    ).sort("node", "interval_start_utc")


def test_2023_hubs_import_exactly(tmp_path, capsys):
    path = _file(2023)
    stored = _import_hubs(path, tmp_path / "store", capsys).sort("node", "interval_start_utc")
    counts = stored.group_by("node").len().sort("node")
    assert counts.rows() == [(hub, 35_040) for hub in HUBS]
    direct = _direct_hubs(path, float32=False)
    assert stored["interval_start_utc"].to_list() == direct["interval_start_utc"].to_list()
    assert stored["price_usd_per_mwh"].to_list() == direct["price"].to_list()

    houston = stored.filter(pl.col("node") == "HB_HOUSTON")
    top = houston.sort("price_usd_per_mwh").row(-1, named=True)
    assert top["price_usd_per_mwh"] == 5149.93
    assert top["interval_start_utc"] == datetime(2023, 9, 7, 0, 15, tzinfo=UTC)  # 19:15 CDT
    plain = direct.filter(pl.col("node") == "HB_HOUSTON")["price"].to_list()
    assert round(math.fsum(plain) / len(plain), 2) == 49.58
    assert abs(houston["price_usd_per_mwh"].mean() - math.fsum(plain) / len(plain)) < 1e-9


def test_2025_hubs_import_float32_prices_as_published(tmp_path, capsys):
    path = _file(2025)
    stored = _import_hubs(path, tmp_path / "store", capsys).sort("node", "interval_start_utc")
    assert stored.group_by("node").len().sort("node").rows() == [(hub, 35_040) for hub in HUBS]
    direct = _direct_hubs(path, float32=True)
    assert stored["interval_start_utc"].to_list() == direct["interval_start_utc"].to_list()
    assert stored["price_usd_per_mwh"].to_list() == direct["price"].to_list()
    cents = stored["price_usd_per_mwh"] * 100
    assert (cents - cents.round()).abs().max() < 1e-6  # published to the cent

    houston = stored.filter(pl.col("node") == "HB_HOUSTON")
    top = houston.sort("price_usd_per_mwh").row(-1, named=True)
    assert top["price_usd_per_mwh"] == 3777.15  # the file holds float32 3777.1499
    assert top["interval_start_utc"] == datetime(2025, 4, 7, 11, 45, tzinfo=UTC)  # 06:45 CDT
    local = houston.with_columns(
        pl.col("interval_start_utc").dt.convert_time_zone("America/Chicago").alias("local")
    )
    summer = local.filter(pl.col("local").dt.month().is_in([5, 6, 7]))
    assert round(summer["price_usd_per_mwh"].mean(), 2) == 35.78
    assert summer["price_usd_per_mwh"].max() == 2260.82
