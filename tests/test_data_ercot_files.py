"""ERCOT DAM and RTM layouts (MIS CSV, annual archive CSV/xlsx, API JSON, zip) to exact UTC rows."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import polars as pl
import pytest
import xlsxwriter
from data_helpers import FIXTURES, rows

from energyhedge.data.importers import parse_payload, read_prices
from energyhedge.data.schema import PRICE_SCHEMA
from energyhedge.errors import DataError


def test_dam_np4_190_fall_back_and_spring_forward():
    frame = read_prices(FIXTURES / "ercot_dam_np4_190.csv").frame
    assert dict(frame.schema) == PRICE_SCHEMA
    assert set(frame["iso"]) == {"ercot"} and set(frame["market"]) == {"dam"}
    # HE01 = 00:00-01:00 local; DSTFlag Y = the second (CST) 01:00; spring day lacks HE03.
    assert rows(frame) == [
        ("HB_NORTH", "2023-11-05T05:00", 60, 21.0),
        ("HB_NORTH", "2023-11-05T06:00", 60, 22.0),
        ("HB_NORTH", "2023-11-05T07:00", 60, 23.0),
        ("HB_NORTH", "2023-11-05T08:00", 60, 24.0),
        ("HB_NORTH", "2023-11-06T05:00", 60, 45.0),
        ("HB_NORTH", "2024-03-10T06:00", 60, 31.0),
        ("HB_NORTH", "2024-03-10T07:00", 60, 32.0),
        ("HB_NORTH", "2024-03-10T08:00", 60, 34.0),
        ("HB_NORTH", "2024-03-11T04:00", 60, 54.0),
    ]
    assert frame["dst_flag"].to_list()[:3] == ["N", "N", "Y"]
    assert frame["local_label"][2] == "11/05/2023 02:00"


def test_dam_np4_180_archive_layout():
    frame = read_prices(FIXTURES / "ercot_dam_np4_180_archive.csv").frame
    assert rows(frame) == [
        ("LZ_HOUSTON", "2023-03-12T07:00", 60, 25.10),
        ("LZ_HOUSTON", "2023-03-12T08:00", 60, 26.20),
        ("LZ_HOUSTON", "2023-11-05T05:00", 60, 18.50),
        ("LZ_HOUSTON", "2023-11-05T06:00", 60, 19.25),
        ("LZ_HOUSTON", "2023-11-05T07:00", 60, 17.75),
        ("LZ_HOUSTON", "2023-11-05T08:00", 60, 16.00),
    ]


def test_fall_back_day_numbered_1_to_25_counts_elapsed_hours():
    frame = read_prices(FIXTURES / "ercot_dam_hours_1_to_25.csv").frame
    assert rows(frame) == [
        ("HB_WEST", "2023-11-05T05:00", 60, 10.0),
        ("HB_WEST", "2023-11-05T06:00", 60, 11.0),
        ("HB_WEST", "2023-11-05T07:00", 60, 12.0),
        ("HB_WEST", "2023-11-05T08:00", 60, 13.0),
        ("HB_WEST", "2023-11-06T05:00", 60, 34.0),
    ]


def test_rtm_np6_905_keeps_energy_weighted_zones_apart():
    frame = read_prices(FIXTURES / "ercot_rtm_np6_905.csv").frame
    assert set(frame["market"]) == {"rtm"}
    assert rows(frame) == [
        ("HB_NORTH", "2023-03-12T07:45", 15, -5.50),
        ("HB_NORTH", "2023-03-12T08:00", 15, 7.25),
        ("LZ_HOUSTON", "2023-11-05T06:00", 15, 20.01),
        ("LZ_HOUSTON", "2023-11-05T06:45", 15, 20.04),
        ("LZ_HOUSTON", "2023-11-05T07:00", 15, 30.01),
        ("LZ_HOUSTON", "2023-11-05T07:45", 15, 30.04),
        ("LZ_HOUSTON_EW", "2023-11-05T06:00", 15, 40.01),
        ("LZ_HOUSTON_EW", "2023-11-05T07:00", 15, 50.01),
    ]


def test_rtm_np6_785_archive_layout():
    frame = read_prices(FIXTURES / "ercot_rtm_np6_785_archive.csv").frame
    assert rows(frame) == [
        ("HB_HUBAVG", "2023-01-01T06:00", 15, -1.10),
        ("HB_HUBAVG", "2023-01-01T06:15", 15, -1.20),
        ("HB_HUBAVG", "2023-01-02T05:45", 15, 9.90),
        ("LZ_WEST", "2023-11-05T07:30", 15, 44.30),
        ("LZ_WEST_EW", "2023-11-05T07:30", 15, 45.30),
    ]


def test_api_json_pages_with_boolean_dst_flag():
    dam = parse_payload((FIXTURES / "ercot_api_np4_190_page.json").read_bytes(), "np4-190 p1")
    assert rows(dam) == [
        ("HB_SOUTH", "2024-11-03T06:00", 60, 27.5),
        ("HB_SOUTH", "2024-11-03T07:00", 60, 26.5),
        ("HB_SOUTH", "2024-11-03T08:00", 60, 25.5),
    ]
    assert set(dam["market"]) == {"dam"} and set(dam["source"]) == {"np4-190 p1"}
    rtm = parse_payload((FIXTURES / "ercot_api_np6_905_page.json").read_bytes(), "np6-905 p1")
    assert rows(rtm) == [
        ("LZ_NORTH", "2024-11-03T06:15", 15, 15.25),
        ("LZ_NORTH", "2024-11-03T07:15", 15, 14.75),
        ("LZ_NORTH_EW", "2024-11-03T06:15", 15, 15.5),
    ]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_and_zip_of_zips_read_every_member():
    csv = (FIXTURES / "ercot_rtm_np6_905.csv").read_bytes()
    direct = read_prices(FIXTURES / "ercot_rtm_np6_905.csv").frame
    single = parse_payload(_zip({"cdr.00012301.0000000000000000.csv": csv}), "mis.zip")
    assert rows(single) == rows(direct)
    assert set(single["source"]) == {"mis.zip/cdr.00012301.0000000000000000.csv"}
    dam = (FIXTURES / "ercot_dam_np4_190.csv").read_bytes()
    nested = parse_payload(
        _zip({"1.zip": _zip({"a.csv": csv}), "2.zip": _zip({"b.csv": dam})}), "bundle.zip"
    )
    assert nested.height == direct.height + 9
    assert set(nested["market"]) == {"dam", "rtm"}


def _write_archive_xlsx(path, header, sheets):
    workbook = xlsxwriter.Workbook(str(path))
    for name, body in sheets.items():
        sheet = workbook.add_worksheet(name)
        sheet.write_row(0, 0, header)
        for i, row in enumerate(body, start=1):
            sheet.write_row(i, 0, row)
    workbook.close()


def test_rtm_archive_xlsx_reads_every_sheet(tmp_path):
    header = [
        "Delivery Date", "Delivery Hour", "Delivery Interval", "Repeated Hour Flag",
        "Settlement Point Name", "Settlement Point Type", "Settlement Point Price",
    ]  # fmt: skip
    path = tmp_path / "rpt.00013061.0000000000000000.RTMLZHBSPP_2023.xlsx"
    _write_archive_xlsx(
        path,
        header,
        {
            "Jan": [["01/01/2023", 1, 1, "N", "HB_NORTH", "HU", 12.5]],
            "Nov": [
                ["11/05/2023", 2, 1, "N", "LZ_AEN", "LZ", 30.0],
                ["11/05/2023", 2, 1, "Y", "LZ_AEN", "LZ", 31.0],
                ["11/05/2023", 2, 1, "Y", "LZ_AEN", "LZEW", 32.0],
            ],
        },
    )
    frame = read_prices(path).frame
    assert rows(frame) == [
        ("HB_NORTH", "2023-01-01T06:00", 15, 12.5),
        ("LZ_AEN", "2023-11-05T06:00", 15, 30.0),
        ("LZ_AEN", "2023-11-05T07:00", 15, 31.0),
        ("LZ_AEN_EW", "2023-11-05T07:00", 15, 32.0),
    ]
    assert frame["source"][0] == f"{path}[Jan]"


def test_dam_archive_xlsx_error_names_sheet_and_row(tmp_path):
    header = [
        "Delivery Date", "Hour Ending", "Repeated Hour Flag", "Settlement Point",
        "Settlement Point Price",
    ]  # fmt: skip
    path = tmp_path / "DAMLZHBSPP_2024.xlsx"
    _write_archive_xlsx(
        path,
        header,
        {
            "Jan": [["01/01/2024", "01:00", "N", "HB_NORTH", 20.0]],
            "Feb": [
                ["02/01/2024", "01:00", "N", "HB_NORTH", 21.0],
                ["02/01/2024", "02:00", "N", "HB_NORTH", "#N/A"],
            ],
        },
    )
    with pytest.raises(DataError) as info:
        read_prices(path)
    message = str(info.value)
    assert f"{path.name}[Feb], row 3, column 'Settlement Point Price'" in message
    assert "\n" not in message


def test_headers_match_case_space_and_underscore_insensitively():
    text = (
        b"delivery_date,HOUR ENDING,settlement_point,Settlement_Point_Price,dst flag\n"
        b"01/02/2024,1,HB_PAN,5.5,false\n"
    )
    frame = parse_payload(text, "odd.csv")
    assert rows(frame) == [("HB_PAN", "2024-01-02T06:00", 60, 5.5)]


def test_identical_duplicates_are_kept_once_and_reported(tmp_path):
    lines = (FIXTURES / "ercot_dam_np4_190.csv").read_text().splitlines()
    path = tmp_path / "doubled.csv"
    path.write_text("\n".join([*lines, lines[1], lines[1]]) + "\n")
    result = read_prices(path)
    assert result.frame.height == 9
    duplicates = [f for f in result.quality if f.kind == "duplicate"]
    assert [(f.series, f.count) for f in duplicates] == [("ercot/dam/HB_NORTH/60min", 2)]


def test_price_column_is_float_and_exact():
    frame = read_prices(FIXTURES / "ercot_rtm_np6_905.csv").frame
    assert frame["price_usd_per_mwh"].dtype == pl.Float64
    assert frame.filter(pl.col("node") == "HB_NORTH")["price_usd_per_mwh"].sum() == 1.75


def test_empty_pages_and_header_only_files_give_no_rows():
    header_only = b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n"
    assert parse_payload(header_only, "empty.csv").height == 0
    assert parse_payload(b'{"fields": [{"name": "deliveryDate"}], "data": []}', "p").height == 0
    empty = parse_payload(b'{"items": []}', "pjm page")
    assert empty.height == 0 and dict(empty.schema) == PRICE_SCHEMA


def test_dam_archive_xlsx_with_date_cells(tmp_path):
    path = tmp_path / "DAMLZHBSPP_2023.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    day = workbook.add_format({"num_format": "mm/dd/yyyy"})
    march, november = datetime(2023, 3, 12), datetime(2023, 11, 5)
    sheets = {
        "Mar": [(march, "02:00", "N", 25.1), (march, "04:00", "N", 26.2)],
        "Nov": [(november, "02:00", "N", 19.25), (november, "02:00", "Y", 17.75)],
    }
    for name, rows_ in sheets.items():
        sheet = workbook.add_worksheet(name)
        sheet.write_row(0, 0, ["Delivery Date", "Hour Ending", "Repeated Hour Flag",
                               "Settlement Point", "Settlement Point Price"])  # fmt: skip
        for i, (when, hour, flag, price) in enumerate(rows_, start=1):
            sheet.write_datetime(i, 0, when, day)
            sheet.write_row(i, 1, [hour, flag, "LZ_HOUSTON", price])
    workbook.close()
    assert rows(read_prices(path).frame) == [
        ("LZ_HOUSTON", "2023-03-12T07:00", 60, 25.1),
        ("LZ_HOUSTON", "2023-03-12T08:00", 60, 26.2),
        ("LZ_HOUSTON", "2023-11-05T06:00", 60, 19.25),
        ("LZ_HOUSTON", "2023-11-05T07:00", 60, 17.75),
    ]


def test_conflict_between_zip_members_names_both():
    a = b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice\n01/02/2024,1,HB_PAN,5\n"
    b = b"DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice\n01/02/2024,1,HB_PAN,6\n"
    with pytest.raises(DataError) as info:
        parse_payload(_zip({"a.csv": a, "b.csv": b}), "two.zip")
    assert str(info.value).startswith(
        "two.zip/a.csv, line 2, column 'SettlementPointPrice': conflicting duplicate of "
        "two.zip/b.csv line 2 for HB_PAN at 2024-01-02T06:00Z (5.0 vs 6.0 $/MWh)"
    )
