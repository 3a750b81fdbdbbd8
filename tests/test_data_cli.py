"""`energyhedge data import|list|quality|export` end to end on a temporary store."""

from __future__ import annotations

import csv

from data_helpers import FIXTURES

from energyhedge.cli import main
from energyhedge.data.store import SHIPPED_ERCOT_FILE, open_store


def test_import_list_quality_and_reimport(tmp_path, capsys):
    store = tmp_path / "store"
    files = [FIXTURES / "pjm_rt_hrl_lmps.csv", FIXTURES / "ercot_rtm_np6_905.csv"]
    assert main(["data", "import", "--store", str(store), *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "pjm_rt_hrl_lmps.csv: 6 rows: 6 inserted, 0 updated, 0 unchanged" in out
    assert "ercot_rtm_np6_905.csv: 8 rows: 8 inserted" in out
    assert main(["data", "import", "--store", str(store), *map(str, files)]) == 0
    assert "6 rows: 0 inserted, 0 updated, 6 unchanged" in capsys.readouterr().out

    assert main(["data", "list", "--store", str(store)]) == 0
    listing = capsys.readouterr().out
    assert "pjm   rtm    WESTERN HUB" in listing
    assert "ercot rtm    LZ_HOUSTON_EW" in listing
    assert "ercot rtm    LZ_HOUSTON                60" in listing  # seeded hourly series

    assert main(["data", "quality", "--store", str(store), "--iso", "pjm"]) == 0
    quality = capsys.readouterr().out
    assert "pjm/rtm/WESTERN HUB/60min: revision: 1 intervals carry a revised price" in quality
    assert "pjm/rtm/WESTERN HUB/60min: gap: " in quality  # March to November
    assert "ercot" not in quality.split("\n", 2)[2]


def test_quality_reports_the_shipped_fall_back_defect(tmp_path, capsys):
    assert main(["data", "quality", "--store", str(tmp_path), "--node", "LZ_WEST"]) == 0
    out = capsys.readouterr().out
    assert "1 series, 8,759 rows" in out
    assert (
        "ercot/rtm/LZ_WEST/60min: gap: 1 missing intervals: 2023-11-05T07:00Z "
        "(2023-11-05 01:00 CST, the standard-time repeat of the fall-back hour)"
    ) in out


def test_generic_import_options(tmp_path, capsys):
    args = [
        "data", "import", "--store", str(tmp_path), str(FIXTURES / "generic_hour_ending.csv"),
        "--time-col", "Time Stamp", "--price-col", "LMP", "--node-col", "Hub",
        "--tz", "America/Chicago", "--label", "ending", "--iso", "ercot", "--market", "dam",
        "--interval-minutes", "60",
    ]  # fmt: skip
    assert main(args) == 0
    prices = open_store(tmp_path).read("ercot", "dam", "MY_NODE")["price_usd_per_mwh"]
    assert prices.to_list() == [10.5, 11.5, 12.5, 13.5]


def _plain_houston(day_prefix: str) -> list[str]:
    with SHIPPED_ERCOT_FILE.open(newline="") as handle:
        return [
            row["Price"]
            for row in csv.DictReader(handle)
            if row["Zone"] == "LZ_HOUSTON" and row["Date"].startswith(day_prefix)
        ]


def test_export_local_market_day_with_fall_back(tmp_path, capsys):
    out = tmp_path / "houston.csv"
    args = ["data", "export", "--store", str(tmp_path / "s"), "--iso", "ercot", "--market",
            "rtm", "--node", "LZ_HOUSTON", "--start", "2023-11-05", "--end", "2023-11-05",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "iso,market,node,interval_start_utc,interval_minutes,price_usd_per_mwh"
    stamps = [line.split(",")[3] for line in lines[1:]]
    # Local day 00:00 CDT (05:00Z) .. next 00:00 CST (06:00Z): 25 hours, 07:00Z missing.
    expected = [f"2023-11-05T{h:02d}:00:00Z" for h in (5, 6, *range(8, 24))] + [
        f"2023-11-06T{h:02d}:00:00Z" for h in range(6)
    ]
    assert stamps == expected
    assert lines[1].startswith("ercot,rtm,LZ_HOUSTON,2023-11-05T05:00:00Z,60,")
    prices = [float(line.split(",")[5]) for line in lines[1:]]
    assert prices == [float(p) for p in _plain_houston("11/5/2023")]


def test_export_utc_days_and_missing_series(tmp_path, capsys):
    out = tmp_path / "cps.csv"
    args = ["data", "export", "--store", str(tmp_path / "s"), "--iso", "ercot", "--market",
            "rtm", "--node", "LZ_CPS", "--start", "2023-08-18", "--end", "2023-08-18", "--utc",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 25
    assert lines[1] == "ercot,rtm,LZ_CPS,2023-08-18T00:00:00Z,60,5497.895"
    assert lines[-1].split(",")[3] == "2023-08-18T23:00:00Z"
    missing = ["data", "export", "--store", str(tmp_path / "s"), "--iso", "ercot", "--market",
               "rtm", "--node", "HB_NOPE", "--start", "2023-08-18", "--end", "2023-08-18",
               "--out", str(tmp_path / "none.csv")]  # fmt: skip
    assert main(missing) == 3
    assert "no ercot/rtm prices for node 'HB_NOPE'" in capsys.readouterr().err
    assert not (tmp_path / "none.csv").exists()


def test_store_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENERGYHEDGE_STORE", str(tmp_path / "envstore"))
    assert main(["data", "list"]) == 0
    assert f"store: {tmp_path / 'envstore'}" in capsys.readouterr().out
    assert (tmp_path / "envstore" / "manifest.jsonl").exists()


def test_quality_lists_duplicates_dropped_at_import(tmp_path, capsys):
    lines = (FIXTURES / "ercot_dam_np4_190.csv").read_text().splitlines()
    doubled = tmp_path / "doubled.csv"
    doubled.write_text("\n".join([*lines, lines[3]]) + "\n")
    store = str(tmp_path / "s")
    assert main(["data", "import", "--store", store, str(doubled)]) == 0
    assert "ercot/dam/HB_NORTH/60min: duplicate: 1 identical duplicate rows dropped" in (
        capsys.readouterr().out
    )
    assert main(["data", "quality", "--store", store, "--market", "dam"]) == 0
    out = capsys.readouterr().out
    assert "ercot/dam/HB_NORTH/60min: duplicate: 1 identical duplicate rows dropped" in out
    assert str(doubled.resolve()) in out


def test_export_pjm_local_day_across_fall_back(tmp_path, capsys):
    store = str(tmp_path / "s")
    assert main(["data", "import", "--store", store, str(FIXTURES / "pjm_rt_hrl_lmps.csv")]) == 0
    out = tmp_path / "west.csv"
    args = ["data", "export", "--store", store, "--iso", "pjm", "--market", "rtm",
            "--node", "WESTERN HUB", "--start", "2024-11-03", "--end", "2024-11-03",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert out.read_text().splitlines()[1:] == [
        "pjm,rtm,WESTERN HUB,2024-11-03T04:00:00Z,60,26.1",
        "pjm,rtm,WESTERN HUB,2024-11-03T05:00:00Z,60,27.2",
        "pjm,rtm,WESTERN HUB,2024-11-03T06:00:00Z,60,28.3",
        "pjm,rtm,WESTERN HUB,2024-11-03T07:00:00Z,60,29.4",
    ]
