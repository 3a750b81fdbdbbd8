"""Generic CSV: column mapping, hour-ending labels, repeated hours read in file order."""

from __future__ import annotations

import pytest
from data_helpers import FIXTURES, rows

from energyhedge.data.generic_csv import GenericOptions
from energyhedge.data.importers import read_prices
from energyhedge.errors import ConfigError, DataError

ENDING = GenericOptions(
    time_col="time stamp",
    price_col="lmp",
    node_col="HUB",
    iso="ercot",
    market="dam",
    interval_minutes=60,
    tz="America/Chicago",
    label="ending",
)


def test_hour_ending_labels_with_repeated_hour_in_file_order():
    frame = read_prices(FIXTURES / "generic_hour_ending.csv", ENDING).frame
    assert set(frame["market"]) == {"dam"}
    assert rows(frame) == [
        ("MY_NODE", "2023-11-05T05:00", 60, 10.5),
        ("MY_NODE", "2023-11-05T06:00", 60, 11.5),
        ("MY_NODE", "2023-11-05T07:00", 60, 12.5),
        ("MY_NODE", "2023-11-05T08:00", 60, 13.5),
    ]


def test_beginning_labels_in_new_york(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("t,price,node\n2024-03-10 01:00,5,X\n2024-03-10 03:00,6,X\n")
    options = GenericOptions(time_col="t", iso="pjm", market="rtm", interval_minutes=60)
    frame = read_prices(path, options).frame
    assert rows(frame) == [("X", "2024-03-10T06:00", 60, 5.0), ("X", "2024-03-10T07:00", 60, 6.0)]


def test_iso_instants_with_z_or_offset_need_no_zone(tmp_path):
    # Absolute instants are taken as written, whatever --tz says; hour-ending labels shift 60 min.
    path = tmp_path / "utc.csv"
    path.write_text(
        "t,price,node\n"
        "2023-11-05T07:00:00Z,1,X\n"
        "2023-11-05T02:00:00-06:00,2,X\n"
        "2023-11-05 09:00+00:00,3,X\n"
        "2023-11-05T05:00:00.000-05:00,4,X\n"
    )
    options = GenericOptions(time_col="t", interval_minutes=60, label="ending", tz="Asia/Tokyo")
    frame = read_prices(path, options).frame
    assert rows(frame) == [
        ("X", "2023-11-05T06:00", 60, 1.0),
        ("X", "2023-11-05T07:00", 60, 2.0),
        ("X", "2023-11-05T08:00", 60, 3.0),
        ("X", "2023-11-05T09:00", 60, 4.0),
    ]
    bad = tmp_path / "mixed.csv"
    bad.write_text("t,price,node\n2023-11-05T07:00:00Z,1,X\n2023-11-05 08:00,2,X\n")
    with pytest.raises(DataError, match=r"mixed\.csv, line 3, column 't': not an ISO-8601 time"):
        read_prices(bad, options)


def test_spring_forward_gap_label_is_an_error(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("t,price,node\n2024-03-10 01:00,5,X\n2024-03-10 02:00,6,X\n")
    with pytest.raises(DataError, match=r"gap\.csv, line 3, column 't': this time does not exist"):
        read_prices(path, GenericOptions(time_col="t", iso="pjm"))


def test_options_are_validated():
    with pytest.raises(ConfigError, match="interval_minutes=30"):
        GenericOptions(time_col="t", interval_minutes=30)
    with pytest.raises(ConfigError, match="label='middle'"):
        GenericOptions(time_col="t", label="middle")
    with pytest.raises(ConfigError, match="tz='Mars/Olympus': not an IANA time zone"):
        GenericOptions(time_col="t", tz="Mars/Olympus")
