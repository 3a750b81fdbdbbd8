"""gridstatus-layout tables (CSV and Parquet) to exact canonical rows, on hand-made files."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from data_helpers import rows, utc

from energyhedge.cli import main
from energyhedge.data import importers
from energyhedge.data.gridstatus import GridstatusOptions, conflicting_intervals
from energyhedge.data.importers import read_prices
from energyhedge.data.schema import PRICE_SCHEMA
from energyhedge.data.store import open_store
from energyhedge.errors import ConfigError, DataError

HEADER = "Time,Interval Start,Interval End,Location,Location Type,Market,SPP\n"


def _csv(tmp_path, text: str, name: str = "gs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _row(start: str, end: str, location: str, kind: str, price: float) -> str:
    return f"{start},{start},{end},{location},{kind},REAL_TIME_15_MIN,{price}\n"


def test_csv_with_offsets_across_the_fall_back_hour(tmp_path):
    # 01:45 CDT, then 01:00 and 01:15 CST: the repeated local hour, told apart by the offsets.
    path = _csv(
        tmp_path,
        HEADER
        + _row("2023-11-05 01:45:00-05:00", "2023-11-05 01:00:00-06:00", "HB_HOUSTON",
               "Trading Hub", 20.5)
        + _row("2023-11-05 01:00:00-06:00", "2023-11-05 01:15:00-06:00", "HB_HOUSTON",
               "Trading Hub", 21.25)
        + _row("2023-11-05 01:15:00-06:00", "2023-11-05 01:30:00-06:00", "HB_HOUSTON",
               "Trading Hub", -3.0),
    )  # fmt: skip
    frame = read_prices(path).frame
    assert dict(frame.schema) == PRICE_SCHEMA
    assert set(frame["iso"]) == {"ercot"} and set(frame["market"]) == {"rtm"}
    assert rows(frame) == [
        ("HB_HOUSTON", "2023-11-05T06:45", 15, 20.5),
        ("HB_HOUSTON", "2023-11-05T07:00", 15, 21.25),
        ("HB_HOUSTON", "2023-11-05T07:15", 15, -3.0),
    ]
    assert frame["local_label"][1] == "2023-11-05 01:00:00-06:00"
    assert frame["dst_flag"].null_count() == 3


def test_parquet_tz_aware_float32_prices_are_stored_as_published(tmp_path):
    start = (
        pl.Series([datetime(2025, 4, 7, 6, 45), datetime(2025, 4, 7, 7, 0)])
        .dt.cast_time_unit("ns")
        .dt.replace_time_zone("US/Central")
    )
    frame = pl.DataFrame(
        {
            "Time": start,
            "Interval Start": start,
            "Interval End": start + timedelta(minutes=15),
            "Location": ["HB_HOUSTON", "HB_HOUSTON"],
            "Location Type": pl.Series(["Trading Hub"] * 2, dtype=pl.Categorical),
            "Market": ["REAL_TIME_15_MIN"] * 2,
            "SPP": pl.Series([3777.15, 17.9], dtype=pl.Float32),
        }
    )
    path = tmp_path / "gs.parquet"
    frame.write_parquet(path)
    # The float32 value widened to float64 is not the published price ...
    assert float(np.float32(3777.15)) == 3777.14990234375
    stored = read_prices(path).frame
    # ... the stored price is: the shortest decimal that identifies the float32 value.
    assert rows(stored) == [
        ("HB_HOUSTON", "2025-04-07T11:45", 15, 3777.15),
        ("HB_HOUSTON", "2025-04-07T12:00", 15, 17.9),
    ]


def test_time_only_layout_takes_the_interval_from_the_market_name(tmp_path):
    path = _csv(
        tmp_path,
        "Time,Location,Location Type,Market,SPP\n"
        "2024-03-10T01:00:00-06:00,HB_NORTH,Trading Hub,DAY_AHEAD_HOURLY,30\n"
        "2024-03-10T03:00:00-05:00,HB_NORTH,Trading Hub,DAY_AHEAD_HOURLY,31\n",
    )
    frame = read_prices(path).frame
    assert set(frame["market"]) == {"dam"}
    assert rows(frame) == [
        ("HB_NORTH", "2024-03-10T07:00", 60, 30.0),
        ("HB_NORTH", "2024-03-10T08:00", 60, 31.0),
    ]


def test_lmp_table_takes_the_iso_from_the_option_or_ercot_names(tmp_path):
    pjm = _csv(
        tmp_path,
        "Interval Start,Interval End,Location,Location Type,Market,LMP\n"
        "2025-06-24T18:00:00-04:00,2025-06-24T19:00:00-04:00,WESTERN HUB,HUB,REAL_TIME_HOURLY,"
        "1903.83\n",
        "pjm.csv",
    )
    with pytest.raises(DataError, match=r"pjm\.csv, column 'LMP': an LMP table of an unknown ISO"):
        read_prices(pjm)
    frame = read_prices(pjm, gridstatus=GridstatusOptions(iso="pjm")).frame
    assert set(frame["iso"]) == {"pjm"}
    assert rows(frame) == [("WESTERN HUB", "2025-06-24T22:00", 60, 1903.83)]
    ercot = _csv(tmp_path, pjm.read_text().replace("WESTERN HUB,HUB", "HB_WEST,Hub"), "e.csv")
    assert set(read_prices(ercot).frame["iso"]) == {"ercot"}
    with pytest.raises(ConfigError, match=r"iso='miso'"):
        GridstatusOptions(iso="miso")


def test_identical_duplicates_are_collapsed_and_reported(tmp_path):
    a = ("2023-01-01 00:00:00-06:00", "2023-01-01 00:15:00-06:00")
    path = _csv(
        tmp_path,
        HEADER
        + _row(*a, "HB_WEST", "Trading Hub", 10.0)
        + _row(*a, "LZ_WEST", "Load Zone", 11.0)
        + _row(*a, "LZ_WEST", "Load Zone", 11.0),
    )
    result = read_prices(path)
    assert rows(result.frame) == [
        ("HB_WEST", "2023-01-01T06:00", 15, 10.0),
        ("LZ_WEST", "2023-01-01T06:00", 15, 11.0),
    ]
    assert [str(f) for f in result.quality] == [
        "ercot/rtm/LZ_WEST/15min: duplicate: 1 identical duplicate rows dropped"
    ]


def test_location_types_keep_only_those_rows_and_conflicts_elsewhere_do_not_matter(tmp_path):
    a = ("2023-01-01 00:00:00-06:00", "2023-01-01 00:15:00-06:00")
    path = _csv(
        tmp_path,
        HEADER
        + _row(*a, "HB_WEST", "Trading Hub", 10.0)
        + _row(*a, "LZ_WEST", "Load Zone", 11.0)
        + _row(*a, "LZ_WEST", "Load Zone", 11.5)
        + _row(*a, "LZ_WEST", "Load Zone Energy Weighted", 11.4),
    )
    with pytest.raises(DataError, match=r"lines 3 and 4, column 'SPP': LZ_WEST"):
        read_prices(path)
    hubs = read_prices(path, gridstatus=GridstatusOptions(location_types=(" trading HUB ",)))
    assert rows(hubs.frame) == [("HB_WEST", "2023-01-01T06:00", 15, 10.0)]
    # An energy-weighted type is a series of its own, named like ERCOT's own files do.
    weighted = read_prices(
        path, gridstatus=GridstatusOptions(location_types=("Load Zone Energy Weighted",))
    )
    assert rows(weighted.frame) == [("LZ_WEST_EW", "2023-01-01T06:00", 15, 11.4)]


def test_conflicting_intervals_lists_every_conflict_in_order():
    t0, t1 = utc("2023-01-01T06:00"), utc("2023-01-01T06:15")
    frame = pl.DataFrame(
        {
            "market": ["rtm"] * 6,
            "node": ["LZ_WEST", "LZ_WEST", "LZ_AEN", "LZ_AEN", "LZ_AEN", "HB_WEST"],
            "interval_start_utc": [t1, t1, t0, t0, t1, t0],
            "price_usd_per_mwh": [2.0, 2.5, 1.0, 1.5, 3.0, 9.0],
            "_line": [2, 3, 4, 5, 6, 7],
        }
    )
    listed = conflicting_intervals(frame)
    assert listed.select("node", "interval_start_utc").rows() == [("LZ_AEN", t0), ("LZ_WEST", t1)]
    assert listed["prices"].to_list() == [[1.0, 1.5], [2.0, 2.5]]
    assert listed["lines"].to_list() == [[4, 5], [2, 3]]


def test_cli_location_types_comma_list_and_repeated(tmp_path, capsys):
    a = ("2023-01-01 00:00:00-06:00", "2023-01-01 00:15:00-06:00")
    path = _csv(
        tmp_path,
        HEADER
        + _row(*a, "HB_WEST", "Trading Hub", 10.0)
        + _row(*a, "LZ_WEST", "Load Zone", 11.0)
        + _row(*a, "LZ_WEST", "Load Zone", 11.5)
        + _row(*a, "LZ_AEN_DC", "Load Zone DC Tie", 12.0)
        + _row(*a, "HB_BUSAVG", "Hub Bus Average", 13.0),
    )
    store = tmp_path / "s"
    args = ["data", "import", "--store", str(store), str(path)]
    assert main([*args, "--location-types", "Trading Hub,Load Zone DC Tie",
                 "--location-types", "Hub Bus Average"]) == 0  # fmt: skip
    assert "gs.csv: 3 rows: 3 inserted" in capsys.readouterr().out
    stored = open_store(store).read_all("ercot", "rtm").filter(pl.col("interval_minutes") == 15)
    assert sorted(stored["node"]) == ["HB_BUSAVG", "HB_WEST", "LZ_AEN_DC"]
    assert main([*args, "--time-col", "Time", "--location-types", "Trading Hub"]) == 2
    assert "--location-types applies to gridstatus tables" in capsys.readouterr().err


def test_a_parquet_decoder_crash_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    """polars aborts the process on some damaged Parquet files: decoding runs in a child."""
    path = tmp_path / "damaged.parquet"
    path.write_bytes(b"PAR1" + b"\x01" * 64 + b"PAR1")
    monkeypatch.setattr(importers, "_PARQUET_CHILD", "import os; os.abort()")
    store = tmp_path / "s"
    assert main(["data", "import", "--store", str(store), str(path)]) == 3
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        f"energyhedge: error: {path}: not a readable Parquet file ('the decoder crashed on it'); "
        "export it again"
    )


def test_parquet_row_limit_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "gs.parquet"
    pl.DataFrame({"Location": ["HB_WEST"] * 3}).write_parquet(path)
    monkeypatch.setattr(importers, "MAX_PARQUET_ROWS", 2)
    with pytest.raises(DataError, match=r"gs\.parquet: 3 rows, more than 2; split the file"):
        read_prices(path)
