"""The real ERCOT NP4-180-ER workbook (DAM hubs and load zones, 2023) through the xlsx importer.

The workbook is never shipped in the project (no licence); the test skips when it is absent.
Expected figures come from an independent reader: the workbook's XML parts read with the standard
library (zipfile + ElementTree), times converted with zoneinfo.
"""

from __future__ import annotations

import math
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from energyhedge.cli import main
from energyhedge.data.store import open_store

WORKBOOK = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "ercot" / "DAMLZHBSPP_2023.xlsx"
)
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
CENTRAL = ZoneInfo("America/Chicago")


def _column(ref: str) -> str:
    return ref.rstrip("0123456789")


def _sheets(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet's rows as text cells, by sheet name, in workbook order."""
    with zipfile.ZipFile(path) as book:
        strings = [
            "".join(t.text or "" for t in si.iter(f"{MAIN}t"))
            for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).iter(f"{MAIN}si")
        ]
        rels = {
            r.get("Id"): r.get("Target")
            for r in ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        }
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        sheets = {}
        for sheet in workbook.iter(f"{MAIN}sheet"):
            xml = ElementTree.fromstring(book.read("xl/" + rels[sheet.get(REL)]))
            rows = []
            for row in xml.iter(f"{MAIN}row"):
                cells = {}
                for cell in row.iter(f"{MAIN}c"):
                    value = cell.find(f"{MAIN}v")
                    text = "" if value is None else value.text
                    if cell.get("t") == "s":
                        text = strings[int(text)]
                    elif cell.get("t") == "inlineStr":
                        text = "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
                    cells[_column(cell.get("r"))] = text
                rows.append([cells.get(c, "") for c in "ABCDE"])
            sheets[sheet.get("name")] = rows
    return sheets


def _utc(day: str, hour_ending: str, flag: str) -> datetime:
    """HE01 is 00:00-01:00 Central; flag Y is the standard-time repeat of the fall-back hour."""
    month, dom, year = (int(x) for x in day.split("/"))
    naive = datetime(year, month, dom) + timedelta(hours=int(hour_ending[:2]) - 1)
    return naive.replace(tzinfo=CENTRAL, fold=int(flag == "Y")).astimezone(UTC)


@pytest.fixture(scope="module")
def independent() -> tuple[dict[str, list[list[str]]], list[tuple[str, datetime, float, str]]]:
    if not WORKBOOK.exists():
        pytest.skip(f"ERCOT DAM workbook not present at {WORKBOOK}")
    sheets = _sheets(WORKBOOK)
    rows = []
    for table in sheets.values():
        assert table[0] == [
            "Delivery Date", "Hour Ending", "Repeated Hour Flag", "Settlement Point",
            "Settlement Point Price",
        ]  # fmt: skip
        for day, hour, flag, point, price in table[1:]:
            rows.append((point, _utc(day, hour, flag), float(price), flag))
    return sheets, rows


def test_dam_workbook_imports_exactly(independent, tmp_path, capsys):
    sheets, expected = independent
    assert list(sheets) == [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]  # fmt: skip
    assert len(expected) == 131_400
    store = tmp_path / "store"
    assert main(["data", "import", "--store", str(store), str(WORKBOOK)]) == 0
    assert f"{WORKBOOK}: 131400 rows: 131400 inserted" in capsys.readouterr().out

    stored = open_store(store).read_all("ercot", "dam").sort("node", "interval_start_utc")
    assert stored.height == 131_400
    counts = stored.group_by("node").len().sort("node")
    assert counts.height == 15 and set(counts["len"]) == {8_760}
    assert set(stored["interval_minutes"]) == {60}
    assert stored["source"].n_unique() == 12  # one per sheet: file.xlsx[Jan] ...
    mine = stored.select("node", "interval_start_utc", "price_usd_per_mwh").rows()
    assert mine == sorted((p, t, v) for p, t, v, _ in expected)

    # The fall-back hour: 15 rows flagged Y, each the CST repeat of 01:00 on 2023-11-05.
    repeats = [(p, t, v) for p, t, v, flag in expected if flag == "Y"]
    assert len(repeats) == 15 and {t for _, t, _ in repeats} == {
        datetime(2023, 11, 5, 7, tzinfo=UTC)
    }
    flagged = stored.filter(pl.col("dst_flag") == "Y")
    assert sorted(flagged.select("node", "interval_start_utc", "price_usd_per_mwh").rows()) == (
        sorted(repeats)
    )
    first = stored.filter(
        (pl.col("interval_start_utc") == datetime(2023, 11, 5, 6, tzinfo=UTC))
        & (pl.col("dst_flag") == "N")
    )
    assert first.height == 15 and set(first["local_label"]) == {"11/05/2023 02:00"}

    # Max 4,250.00 at LZ_RAYBN on 08/25/2023 HE20 (19:00-20:00 CDT = 2023-08-26T00:00Z).
    top = max(expected, key=lambda r: r[2])
    he20 = datetime(2023, 8, 26, 0, tzinfo=UTC)
    assert top[:3] == ("LZ_RAYBN", he20, 4250.0)
    best = stored.sort("price_usd_per_mwh").row(-1, named=True)
    assert (best["node"], best["interval_start_utc"], best["price_usd_per_mwh"]) == top[:3]
    assert best["local_label"] == "08/25/2023 20:00"
    north = stored.filter((pl.col("node") == "HB_NORTH") & (pl.col("interval_start_utc") == he20))
    assert north["price_usd_per_mwh"].to_list() == [4200.0]
    assert (
        abs(stored["price_usd_per_mwh"].mean() - math.fsum(v for _, _, v, _ in expected) / 131_400)
        < 1e-9
    )
