"""PJM Data Miner 2 CSV exports and JSON pages: UTC key, current rows, highest version wins."""

from __future__ import annotations

from data_helpers import FIXTURES, rows

from energyhedge.data.importers import parse_payload, read_prices


def test_rt_hourly_csv_fall_back_spring_forward_and_revision():
    frame = read_prices(FIXTURES / "pjm_rt_hrl_lmps.csv").frame
    assert set(frame["iso"]) == {"pjm"} and set(frame["market"]) == {"rtm"}
    # 01:00 EPT appears twice on 2024-11-03 with distinct UTC stamps; 02:00 EPT is absent on
    # 2024-03-10; the superseded version 1 of 07:00Z (99.00, not current) is dropped.
    assert rows(frame) == [
        ("WESTERN HUB", "2024-03-10T06:00", 60, 31.50),
        ("WESTERN HUB", "2024-03-10T07:00", 60, 33.50),
        ("WESTERN HUB", "2024-11-03T04:00", 60, 26.10),
        ("WESTERN HUB", "2024-11-03T05:00", 60, 27.20),
        ("WESTERN HUB", "2024-11-03T06:00", 60, 28.30),
        ("WESTERN HUB", "2024-11-03T07:00", 60, 29.40),
    ]
    assert frame["revision"].to_list() == [1, 1, 1, 1, 1, 2]
    assert frame["local_label"][4] == "11/3/2024 1:00:00 AM"


def test_da_json_page_highest_version_wins_even_when_both_current():
    frame = parse_payload((FIXTURES / "pjm_da_hrl_lmps_page.json").read_bytes(), "da page 1")
    assert set(frame["market"]) == {"dam"}
    assert rows(frame) == [
        ("NEW JERSEY HUB", "2024-11-03T05:00", 60, 31.17),
        ("NEW JERSEY HUB", "2024-11-03T06:00", 60, 35.07),
    ]
    assert frame["revision"].to_list() == [1, 3]


def test_five_minute_json_page():
    data = (FIXTURES / "pjm_rt_fivemin_hrl_lmps_page.json").read_bytes()
    frame = parse_payload(data, "rt_fivemin_hrl_lmps page 1")
    assert rows(frame) == [
        ("WESTERN HUB", "2025-06-24T22:00", 5, 1500.25),
        ("WESTERN HUB", "2025-06-24T22:05", 5, 1490.5),
    ]


def test_revision_is_a_finding():
    result = read_prices(FIXTURES / "pjm_rt_hrl_lmps.csv")
    kinds = {(f.kind, f.series, f.count) for f in result.quality}
    assert ("revision", "pjm/rtm/WESTERN HUB/60min", 1) in kinds
