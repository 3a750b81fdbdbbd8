"""Bad-input corpus for every importer: each file ends in one line naming file and place, exit 3.

Every case runs ``energyhedge data import`` (in process) on a good file followed by the bad one,
into one seeded store shared by the whole module, and asserts: the documented exit code, exactly
one stderr line that names the bad file and the line/column (or record, key, sheet row), no
traceback, and every byte under the store unchanged (so the good file was not imported either).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from data_helpers import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energyhedge.cli import main
from energyhedge.data import importers
from energyhedge.data.importers import parse_payload, read_prices
from energyhedge.data.store import open_store
from energyhedge.errors import DataError

DAM = "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n"
RTM = (
    "DeliveryDate,DeliveryHour,DeliveryInterval,SettlementPointName,SettlementPointType,"
    "SettlementPointPrice,DSTFlag\n"
)
PJM = (
    "datetime_beginning_utc,datetime_beginning_ept,pnode_name,total_lmp_rt,row_is_current,"
    "version_nbr\n"
)
GENERIC = "time,node,price\n"
GENERIC_ARGS = ("--time-col", "time", "--price-col", "price", "--node-col", "node")


def dam(price="20.5", node="HB_NORTH", date="01/02/2024", hour="05:00", flag="N") -> str:
    return DAM + f"01/02/2024,04:00,HB_NORTH,19.5,N\n{date},{hour},{node},{price},{flag}\n"


def rtm(price="20.5", node="HB_NORTH", hour="5", interval="1") -> str:
    return RTM + f"01/02/2024,{hour},{interval},{node},HU,{price},N\n"


def pjm(price="30.1", node="WESTERN HUB", utc="2024-07-01T16:00:00", version="1", current="True"):
    return PJM + f"{utc},2024-07-01T12:00:00,{node},{price},{current},{version}\n"


def generic(price="20.5", node="HB_WEST", time="2024-01-02 05:00") -> str:
    return GENERIC + f"{time},{node},{price}\n"


def ercot_page(price: object = 20.5, node: object = "HB_NORTH", **extra) -> str:
    doc = {
        "fields": [{"name": n} for n in ("deliveryDate", "hourEnding", "settlementPoint",
                                          "settlementPointPrice", "DSTFlag")],
        "data": [["2024-01-02", "05:00", node, price, False]],
    }  # fmt: skip
    return json.dumps({**doc, **extra})


def pjm_page(price: object = 30.1, node: object = "WESTERN HUB", **item) -> str:
    row = {
        "datetime_beginning_utc": "2024-07-01T16:00:00",
        "pnode_name": node,
        "total_lmp_da": price,
        "row_is_current": True,
        "version_nbr": 1,
    }
    return json.dumps({"items": [{**row, **item}]})


GS_HEADER = "Interval Start,Interval End,Location,Location Type,Market,SPP\n"
GS_ROW = "{start},{end},{location},{kind},{market},{price}\n"


def gs(
    price="20.5",
    *,
    start="2023-01-01 00:00:00-06:00",
    end="2023-01-01 00:15:00-06:00",
    location="HB_HOUSTON",
    kind="Trading Hub",
    market="REAL_TIME_15_MIN",
) -> str:
    """A gridstatus-layout CSV of one row."""
    row = dict(start=start, end=end, location=location, kind=kind, market=market, price=price)
    return GS_HEADER + GS_ROW.format(**row)


def gs_parquet(price=(20.5, 21.5), location=("HB_HOUSTON", "HB_NORTH"), minutes=(0, 0),
               tz="US/Central", drop=None) -> bytes:  # fmt: skip
    """A two-row gridstatus-layout Parquet file."""
    start = pl.Series([datetime(2023, 1, 1, 0, m) for m in minutes]).dt.cast_time_unit("ns")
    if tz is not None:
        start = start.dt.replace_time_zone(tz)
    frame = pl.DataFrame(
        {
            "Interval Start": start,
            "Interval End": start + timedelta(minutes=15),
            "Location": list(location),
            "Location Type": pl.Series(["Trading Hub"] * 2, dtype=pl.Categorical),
            "Market": ["REAL_TIME_15_MIN"] * 2,
            "SPP": list(price),
        },
        strict=False,
    )
    buffer = io.BytesIO()
    frame.drop(drop or []).write_parquet(buffer)
    return buffer.getvalue()


AS_HEADER = "Delivery Date,Hour Ending,Repeated Hour Flag,REGDN,REGUP ,RRS,NSPIN,ECRS\n"
AS_ROW = "{date},{hour},{flag},4.69,{regup},1.45,0.97,{ecrs}\n"


def as_prices(regup="1.95", ecrs="", date="01/01/2023", hour="01:00", flag="N") -> str:
    """ERCOT's DAMASMCPC layout, one row."""
    return AS_HEADER + AS_ROW.format(date=date, hour=hour, flag=flag, regup=regup, ecrs=ecrs)


def zipped(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def nested_zip(depth: int) -> bytes:
    data: bytes = zipped({"inner.csv": dam()})
    for _ in range(depth - 1):
        data = zipped({"inner.zip": data})
    return data


def xlsx(rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Jan")
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            (sheet.write_string if isinstance(value, str) else sheet.write)(i, j, value)
    workbook.close()
    return buffer.getvalue()


XLSX_HEADER = ["Delivery Date", "Hour Ending", "Settlement Point", "Settlement Point Price"]
INJECTION = "=cmd|' /C calc'!A0"
BAD_PRICES = {
    "nan": "nan", "NaN": "NaN", "inf": "inf", "minus_inf": "-inf", "huge": "1e308",
    "minus_huge": "-1e308", "decimal_comma": '"20,50"', "text": "abc", "empty": "",
    "ten_million": "1e7", "two_points": "1.2.3", "unit_suffix": "20.5$",
}  # fmt: skip
PRICE_WHERE = {
    "dam": r"line 3, column 'SettlementPointPrice'",
    "rtm": r"line 2, column 'SettlementPointPrice'",
    "pjm": r"line 2, column 'total_lmp_rt'",
    "gen": r"line 2, column 'price'",
}
BAD_NAMES = {
    "formula_eq": INJECTION, "formula_plus": "+SUM(A1)", "formula_minus": "-2+3",
    "formula_at": "@SUM(A1)", "dotdot": "../../etc/passwd", "slash": "HB/NORTH",
    "backslash": "HB\\\\NORTH", "long": "N" * 300, "pipe": "HB|NORTH", "unicode": "HB_NÖRTH",
}  # fmt: skip
NAME_WHERE = {
    "dam": r"line 3, column 'SettlementPoint': name",
    "pjm": r"line 2, column 'pnode_name': name",
    "gen": r"line 2, column 'node': name",
}


def _cases() -> list[tuple[str, str, object, tuple[str, ...], str]]:
    """(id, file name, content, extra CLI args, regex the error must match)."""
    c: list[tuple[str, str, object, tuple[str, ...], str]] = []
    for key, value in BAD_PRICES.items():
        c.append((f"dam_price_{key}", "dam.csv", dam(price=value), (), PRICE_WHERE["dam"]))
        c.append((f"rtm_price_{key}", "rtm.csv", rtm(price=value), (), PRICE_WHERE["rtm"]))
        c.append((f"pjm_price_{key}", "pjm.csv", pjm(price=value), (), PRICE_WHERE["pjm"]))
        c.append(
            (f"gen_price_{key}", "gen.csv", generic(price=value), GENERIC_ARGS, PRICE_WHERE["gen"])
        )
    json_prices = {
        "nan": float("nan"), "inf": float("inf"), "huge": 1e308, "minus_huge": -1e308,
        "comma": "20,50", "null": None, "text": "abc", "bool": True,
    }  # fmt: skip
    for key, value in json_prices.items():
        c.append((f"ercot_json_price_{key}", "page.json", ercot_page(price=value), (),
                  r"record 1, column 'settlementPointPrice'"))  # fmt: skip
        c.append((f"pjm_json_price_{key}", "page.json", pjm_page(price=value), (),
                  r"record 1, column 'total_lmp_da'"))  # fmt: skip
    for key, name in BAD_NAMES.items():
        csv_name = f'"{name}"' if "," in name or '"' in name else name
        c.append((f"dam_name_{key}", "dam.csv", dam(node=csv_name), (), NAME_WHERE["dam"]))
        c.append((f"pjm_name_{key}", "pjm.csv", pjm(node=csv_name), (), NAME_WHERE["pjm"]))
        c.append((f"gen_name_{key}", "gen.csv", generic(node=csv_name), GENERIC_ARGS,
                  NAME_WHERE["gen"]))  # fmt: skip
        c.append((f"pjm_json_name_{key}", "page.json", pjm_page(node=name), (),
                  r"record 1, column 'pnode_name': name"))  # fmt: skip
    for key, name in {
        "nul": "HB\x00NORTH",
        "tab": "HB\tNORTH",
        "empty": "",
        "cr": "HB\rNORTH",
    }.items():
        c.append((f"ercot_json_name_{key}", "page.json", ercot_page(node=name), (),
                  r"record 1, column 'settlementPoint': (empty )?name"))  # fmt: skip
    c += [
        ("dam_empty_node", "dam.csv", dam(node=""), (), r"line 3, column 'SettlementPoint': empty"),
        ("pjm_empty_node", "pjm.csv", pjm(node=""), (), r"line 2, column 'pnode_name': empty"),
        ("dam_year_1800", "dam.csv", dam(date="01/02/1800"), (),
         r"line 3, column 'DeliveryDate': year outside"),
        ("dam_year_2101", "dam.csv", dam(date="01/02/2101"), (),
         r"line 3, column 'DeliveryDate': year outside"),
        ("pjm_year_0001", "pjm.csv", pjm(utc="0001-01-01T00:00:00"), (),
         r"line 2, column 'datetime_beginning_utc': year outside"),
        ("pjm_5min_0001_9999", "rt_fivemin_hrl_lmps.csv",
         PJM + "0001-01-01T00:05:00,x,WESTERN HUB,1,True,1\n"
         "9999-12-31T23:55:00,x,WESTERN HUB,2,True,1\n", (),
         r"line 2, column 'datetime_beginning_utc': year outside"),
        ("gen_year_1800_offset", "gen.csv", generic(time="1800-01-01T00:00Z"), GENERIC_ARGS,
         r"line 2, column 'time': year outside"),
        ("dam_hour_25_ordinary_day", "dam.csv", dam(hour="25"), (),
         r"line 3, column 'HourEnding': hour 25 on a date that is not a fall-back day"),
        ("dam_hour_26", "dam.csv", dam(hour="26"), (), r"line 3, column 'HourEnding': not a whole"),
        ("dam_hour_0", "dam.csv", dam(hour="0"), (), r"line 3, column 'HourEnding': not a whole"),
        ("dam_spring_gap", "dam.csv", dam(date="03/10/2024", hour="03:00"), (),
         r"line 3, column 'HourEnding': this hour does not exist"),
        ("dam_flag_on_single_hour", "dam.csv", dam(flag="Y"), (),
         r"line 3, column 'DSTFlag': repeated-hour flag"),
        ("dam_bad_flag", "dam.csv", dam(flag="maybe"), (), r"line 3, column 'DSTFlag': not a flag"),
        ("rtm_interval_5", "rtm.csv", rtm(interval="5"), (),
         r"line 2, column 'DeliveryInterval': not a whole"),
        ("rtm_spring_gap", "rtm.csv", RTM + "03/10/2024,3,1,HB_NORTH,HU,20,N\n", (),
         r"line 2, column 'DeliveryHour': this hour does not exist"),
        ("dam_month_13", "dam.csv", dam(date="13/02/2024"), (),
         r"line 3, column 'DeliveryDate': not a date"),
        ("gen_local_gap", "gen.csv", generic(time="2024-03-10 02:30"), GENERIC_ARGS,
         r"line 2, column 'time': this time does not exist"),
        ("gen_bad_time", "gen.csv", generic(time="tomorrow"), GENERIC_ARGS,
         r"line 2, column 'time': not a date-time"),
        ("pjm_no_version", "pjm.csv",
         "datetime_beginning_utc,pnode_name,total_lmp_rt\n2024-07-01T16:00:00,WESTERN HUB,30\n",
         (), r"line 1, column 'version_nbr': required column is missing"),
        ("pjm_version_text", "pjm.csv", pjm(version="two"), (),
         r"line 2, column 'version_nbr': not a whole number"),
        ("pjm_version_negative", "pjm.csv", pjm(version="-1"), (),
         r"line 2, column 'version_nbr': not a whole number"),
        ("pjm_all_superseded", "pjm.csv", pjm(current="False"), (), r"row_is_current is false"),
        ("pjm_json_all_superseded", "page.json", pjm_page(row_is_current=False), (),
         r"row_is_current is false"),
        ("dam_conflict_in_file", "dam.csv", dam() + "01/02/2024,05:00,HB_NORTH,99,N\n", (),
         r"line 3, column 'SettlementPointPrice': conflicting duplicate of line 4"),
        ("pjm_conflict_same_version", "pjm.csv",
         pjm() + "2024-07-01T16:00:00,x,WESTERN HUB,31,True,1\n", (),
         r"line 2, column 'total_lmp_rt': conflicting duplicate of line 3"),
        ("mixed_iso_header", "mixed.csv",
         "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,datetime_beginning_utc,"
         "pnode_name,total_lmp_rt\n01/02/2024,05:00,HB_NORTH,20,2024-07-01T16:00:00,W,30\n", (),
         r"match both the ERCOT and the PJM layout"),
        ("gridstatus_csv_bad_start", "gridstatus.csv",
         "Time,Interval Start,Interval End,Location,Location Type,Market,SPP\n"
         "2023-01-01 00:00:00-06:00,x,y,HB_HOUSTON,Trading Hub,REAL_TIME_15_MIN,-2.56\n", (),
         r"line 2, column 'Interval Start': not an ISO-8601 time"),
        ("unrecognised", "other.csv", "a,b\n1,2\n", (), r"unrecognised price table"),
        ("missing_price_column", "dam.csv", "DeliveryDate,HourEnding,SettlementPoint\n1,2,3\n",
         (), r"line 1, column 'SettlementPointPrice': required column is missing"),
        ("gen_missing_node_column", "gen.csv", "time,price\n2024-01-02 05:00,1\n", GENERIC_ARGS,
         r"line 1, column 'node': required column is missing"),
        # structure and encoding
        ("empty_file", "empty.csv", b"", (), r"not a readable CSV"),
        ("whitespace_only", "blank.csv", b"   \n\n  \n", (), r"line 2: no data rows"),
        ("dam_header_only", "dam.csv", DAM, (), r"line 2: no data rows"),
        ("rtm_header_only", "rtm.csv", RTM, (), r"line 2: no data rows"),
        ("pjm_header_only", "pjm.csv", PJM, (), r"line 2: no data rows"),
        ("gen_header_only", "gen.csv", GENERIC, GENERIC_ARGS, r"line 2: no data rows"),
        ("bom_header_only", "dam.csv", "\ufeff" + DAM, (), r"line 2: no data rows"),
        ("dam_blank_rows_only", "dam.csv", DAM + ",,,,\n\n", (), r"line 2: no data rows"),
        ("cr_only", "dam.csv", dam().replace("\n", "\r"), (), r"line 1: lines end in CR only"),
        ("utf16", "dam.csv", dam().encode("utf-16"), (), r"line 1: UTF-16 text"),
        ("utf16_be", "dam.csv", b"\xfe\xff" + dam().encode("utf-16-be"), (), r"line 1: UTF-16"),
        ("bom_bad_price", "dam.csv", "\ufeff" + dam(price="x"), (), PRICE_WHERE["dam"]),
        ("binary_junk", "junk.csv", bytes(random.Random(7).randrange(256) for _ in range(4096)),
         (), r"line \d+: (binary data|not UTF-8)"),
        ("nul_in_line_3", "dam.csv", dam().replace("HB_NORTH,20", "HB_NORTH\x00,20"), (),
         r"line 3: binary data"),
        ("latin1", "dam.csv", dam(node="HB_N\xd6RTH").encode("latin-1"), (),
         r"line 3: not UTF-8"),
        ("truncated_in_quote", "dam.csv", dam()[: dam().rindex("HB_NORTH")] + '"HB_NO', (),
         r"not a readable CSV"),
        ("truncated_line", "dam.csv", dam()[: dam().rindex(",")- 6], (),
         r"line 3, column 'SettlementPointPrice': not a finite number"),
        ("ragged_extra_field", "dam.csv", dam() + "01/02/2024,06:00,HB_NORTH,1,N,extra\n", (),
         r"not a readable CSV"),
        ("long_price_cell", "dam.csv", dam(price="9" * 2_000_000), (), PRICE_WHERE["dam"]),
        ("long_header", "dam.csv", "x" * 1_000_000 + "\n1\n", (), r"unrecognised price table"),
        ("long_name_line", "dam.csv", dam(node="N" * 500_000), (), NAME_WHERE["dam"]),
        ("parquet_damaged", "prices.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1", (),
         r"not a readable Parquet file"),
        ("xlsx_that_is_csv", "prices.xlsx", dam(), (), r"named \.xlsx but is not an xlsx"),
        ("xlsx_damaged", "prices.xlsx", b"PK\x03\x04" + b"\x00" * 100, (),
         r"not a readable xlsx workbook"),
        ("xlsx_bad_price", "prices.xlsx",
         xlsx([XLSX_HEADER, ["01/02/2024", "05:00", "HB_NORTH", "20,50"]]), (),
         r"\[Jan\], row 2, column 'Settlement Point Price': decimal comma"),
        ("xlsx_formula_name", "prices.xlsx",
         xlsx([XLSX_HEADER, ["01/02/2024", "05:00", INJECTION, 20]]), (),
         r"\[Jan\], row 2, column 'Settlement Point': name"),
        ("xlsx_header_only", "prices.xlsx", xlsx([XLSX_HEADER]), (),
         r"no price table found|no data rows"),
        ("zip_damaged", "prices.zip", zipped({"a.csv": dam()})[:-30], (), r"damaged zip file"),
        ("zip_no_members", "prices.zip", zipped({"readme.txt": "hi"}), (),
         r"no price table found"),
        ("zip_bad_member", "prices.zip", zipped({"a.csv": dam(), "b.csv": dam(price="x")}), (),
         r"prices\.zip/b\.csv, line 3, column 'SettlementPointPrice'"),
        ("zip_member_conflict", "prices.zip",
         zipped({"a.csv": dam(), "b.csv": dam(price="21")}), (),
         r"prices\.zip/a\.csv, line 3, column 'SettlementPointPrice': conflicting duplicate of "
         r"\S*prices\.zip/b\.csv line 3"),
        ("zip_nested_600", "prices.zip", nested_zip(600), (), r"nested more than 4 deep"),
        ("zip_nested_6", "prices.zip", nested_zip(6), (), r"nested more than 4 deep"),
        ("zip_in_zip_bad", "prices.zip", zipped({"in.zip": zipped({"x.json": "[1,2]"})}), (),
         r"prices\.zip/in\.zip/x\.json: JSON is neither"),
        # JSON shapes
        ("json_list", "page.json", "[1, 2, 3]", (), r"JSON is neither"),
        ("json_string", "page.json", '"abc"', (), r"not a readable CSV|unrecognised|no data rows"),
        ("json_object_other", "page.json", '{"rows": []}', (), r"JSON is neither"),
        ("json_invalid", "page.json", '{"items": [1, 2', (), r"line 1, column \d+: not valid JSON"),
        ("json_items_null", "page.json", '{"items": null}', (), r"key 'items': expected a list"),
        ("json_items_object", "page.json", '{"items": {}}', (), r"key 'items': expected a list"),
        ("json_items_numbers", "page.json", '{"items": [1, 2, 3]}', (),
         r"key 'items', record 1: expected an object"),
        ("json_items_empty", "page.json", '{"items": []}', (), r"record 1: no data rows"),
        ("json_items_nested_value", "page.json", pjm_page(total_lmp_da={"v": 1}), (),
         r"record 1: a value is a nested dict"),
        ("json_fields_null", "page.json", '{"fields": null, "data": []}', (),
         r"key 'fields': expected a non-empty list"),
        ("json_fields_string", "page.json", '{"fields": "abc", "data": [[1]]}', (),
         r"key 'fields': expected a non-empty list"),
        ("json_fields_unnamed", "page.json", '{"fields": [{"nom": "x"}], "data": [[1]]}', (),
         r"key 'fields', entry 1: expected a distinct column name"),
        ("json_fields_repeated", "page.json", '{"fields": ["a", "a"], "data": [[1, 2]]}', (),
         r"key 'fields', entry 2: expected a distinct column name"),
        ("json_data_null", "page.json", ercot_page(data=None), (),
         r"key 'data': expected a list of rows"),
        ("json_data_numbers", "page.json", ercot_page(data=[1, 2]), (),
         r"key 'data', record 1: expected a list of 5 values"),
        ("json_data_short_row", "page.json", ercot_page(data=[["2024-01-02", "05:00"]]), (),
         r"key 'data', record 1: expected a list of 5 values"),
        ("json_data_nested", "page.json", ercot_page(price=[1, [2]]), (),
         r"record 1: a value is a nested list"),
        ("json_deep_nesting", "page.json", "[" * 100_000 + "]" * 100_000, (),
         r"JSON nested too deeply"),
        ("json_deep_items", "page.json", '{"items": [' + "[" * 600 + "]" * 600 + "]}", (),
         r"key 'items', record 1: expected an object"),
        ("json_utf16", "page.json", '{"items": [1]}'.encode("utf-16"), (), r"line 1: UTF-16"),
    ]  # fmt: skip
    return c + _gridstatus_cases() + _as_cases()


def _gridstatus_cases() -> list[tuple[str, str, object, tuple[str, ...], str]]:
    c: list[tuple[str, str, object, tuple[str, ...], str]] = []
    for key in ("nan", "inf", "text", "empty", "decimal_comma", "ten_million"):
        c.append((f"gs_price_{key}", "gs.csv", gs(price=BAD_PRICES[key]), (),
                  r"line 2, column 'SPP'"))  # fmt: skip
    c += [
        ("gs_naive_start", "gs.csv", gs(start="2023-01-01 00:00:00"), (),
         r"line 2, column 'Interval Start': not an ISO-8601 time with Z or offset"),
        ("gs_end_before_start", "gs.csv", gs(end="2022-12-31 23:45:00-06:00"), (),
         r"line 2, column 'Interval End': interval end - start is not one of"),
        ("gs_end_20_minutes", "gs.csv", gs(end="2023-01-01 00:20:00-06:00"), (),
         r"line 2, column 'Interval End': interval end - start is not one of"),
        ("gs_hour_in_15_min_market", "gs.csv", gs(end="2023-01-01 01:00:00-06:00"), (),
         r"line 2, column 'Interval End': interval length disagrees with the market name"),
        ("gs_unknown_market", "gs.csv", gs(market="FORWARD_MONTHLY"), (),
         r"line 2, column 'Market': unknown market"),
        ("gs_missing_market", "gs.csv",
         gs().replace(",Market", "").replace(",REAL_TIME_15_MIN", ""), (),
         r"line 1, column 'Market': required column is missing"),
        ("gs_no_end_no_length", "gs.csv",
         "Interval Start,Location,Market,SPP\n2023-01-01 00:00:00-06:00,HB_WEST,DAY_AHEAD,1\n", (),
         r"line 2, column 'Market': no interval length"),
        ("gs_formula_location", "gs.csv", gs(location=INJECTION), (),
         r"line 2, column 'Location': name"),
        ("gs_year_1800", "gs.csv",
         gs(start="1800-01-01 00:00:00-06:00", end="1800-01-01 00:15:00-06:00"), (),
         r"line 2, column 'Interval Start': year outside"),
        ("gs_lmp_unknown_iso", "gs.csv",
         gs(location="WESTERN HUB", kind="HUB").replace(",SPP", ",LMP"), (),
         r"column 'LMP': an LMP table of an unknown ISO; give --iso"),
        ("gs_conflicting_duplicate", "gs.csv",
         gs(location="LZ_WEST", kind="Load Zone") + GS_ROW.format(
             start="2023-01-01 00:00:00-06:00", end="2023-01-01 00:15:00-06:00",
             location="LZ_WEST", kind="Load Zone", market="REAL_TIME_15_MIN", price="20.4"),
         (), r"lines 2 and 3, column 'SPP': LZ_WEST \(Location Type 'Load Zone'\) has two "
         r"different prices for 1 of its intervals, first 2023-01-01T06:00Z \(2023-01-01 00:00 "
         r"CST\) 20\.5 vs 20\.4"),
        ("gs_location_type_absent", "gs.csv", gs(price="20.8"), ("--location-types", "Load Zone"),
         r"column 'Location Type': no row of location type 'Load Zone'; the file has "
         r"'Trading Hub'"),
        ("gs_location_types_without_column", "gs.csv",
         "Interval Start,Interval End,Location,Market,SPP\n"
         "2023-01-01 00:00:00-06:00,2023-01-01 00:15:00-06:00,HB_WEST,REAL_TIME_15_MIN,1\n",
         ("--location-types", "Trading Hub"),
         r"line 1, column 'Location Type': required column is missing"),
        ("gs_location_types_on_ercot_file", "dam.csv", dam(price="20.6"),
         ("--location-types", "Trading Hub"),
         r"--location-types applies only to gridstatus tables"),
        ("gs_iso_mismatch_on_ercot_file", "dam.csv", dam(price="20.7"), ("--iso", "pjm"),
         r"an ERCOT table, not PJM as --iso pjm says"),
        ("gs_parquet_price_text", "gs.parquet", gs_parquet(price=["20.5", "abc"]), (),
         r"row 2, column 'SPP': not a finite number"),
        ("gs_parquet_price_nan", "gs.parquet", gs_parquet(price=[20.5, float("nan")]), (),
         r"row 2, column 'SPP': not a finite number"),
        ("gs_parquet_price_null", "gs.parquet", gs_parquet(price=[20.5, None]), (),
         r"row 2, column 'SPP': not a finite number"),
        ("gs_parquet_naive_times", "gs.parquet", gs_parquet(tz=None), (),
         r"row 1, column 'Interval Start': not an ISO-8601 time"),
        ("gs_parquet_missing_market", "gs.parquet", gs_parquet(drop="Market"), (),
         r"header, column 'Market': required column is missing"),
        ("gs_parquet_conflict", "gs.parquet",
         gs_parquet(price=[20.5, 21.5], location=["LZ_WEST", "LZ_WEST"], minutes=[0, 0]), (),
         r"rows 1 and 2, column 'SPP': LZ_WEST \(Location Type 'Trading Hub'\) has two "
         r"different prices for 1 of its intervals"),
        ("gs_parquet_truncated", "gs.parquet", gs_parquet()[:-40], (),
         r"not a readable Parquet file"),
    ]  # fmt: skip
    return c


def _as_cases() -> list[tuple[str, str, object, tuple[str, ...], str]]:
    c: list[tuple[str, str, object, tuple[str, ...], str]] = []
    for key in ("nan", "text", "decimal_comma", "huge", "unit_suffix"):
        c.append((f"as_regup_{key}", "as.csv", as_prices(regup=BAD_PRICES[key]), (),
                  r"line 2, column 'REGUP ': "))  # fmt: skip
    c += [
        ("as_ecrs_text", "as.csv", as_prices(ecrs="n/a"), (),
         r"line 2, column 'ECRS': not a finite number"),
        ("as_spring_gap", "as.csv", as_prices(date="03/12/2023", hour="03:00"), (),
         r"line 2, column 'Hour Ending': this hour does not exist"),
        ("as_flag_on_single_hour", "as.csv", as_prices(flag="Y"), (),
         r"line 2, column 'Repeated Hour Flag': repeated-hour flag"),
        ("as_bad_date", "as.csv", as_prices(date="2023/01/01"), (),
         r"line 2, column 'Delivery Date': not a date"),
        ("as_hour_text", "as.csv", as_prices(hour="noon"), (),
         r"line 2, column 'Hour Ending': not a whole number"),
        ("as_conflicting_duplicate", "as.csv", as_prices() + AS_ROW.format(
            date="01/01/2023", hour="01:00", flag="N", regup="2.95", ecrs=""), (),
         r"line 2, column 'REGUP ': conflicting duplicate of line 3 for REGUP at "
         r"2023-01-01T06:00Z \(1\.95 vs 2\.95"),
        ("as_every_cell_blank", "as.csv", AS_HEADER + "01/01/2023,01:00,N,,,,,\n", (),
         r"every price cell is blank"),
        ("as_unknown_product", "as.csv", AS_HEADER.replace("NSPIN", "NSPNX") + AS_ROW.format(
            date="01/01/2023", hour="01:00", flag="N", regup="1", ecrs=""), (),
         r"unrecognised price table"),
    ]  # fmt: skip
    return c


CASES = _cases()


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def store_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "store"
    open_store(root)  # seeded
    return root


@pytest.fixture(scope="module")
def good_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good_dam.csv"
    shutil.copy(FIXTURES / "ercot_dam_np4_190.csv", path)
    return path


def _import(store_root: Path, *paths: Path | str, args: tuple[str, ...] = ()) -> int:
    return main(["data", "import", "--store", str(store_root), *args, *map(str, paths)])


def _assert_refused(capsys, store_root, before, code, *, pattern, name):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 3, captured.err
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("energyhedge: error: ")
    assert "Traceback" not in captured.err
    assert name in lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert _hashes(store_root) == before


def test_corpus_is_large_and_distinct():
    assert len(CASES) >= 110
    assert len({case[0] for case in CASES}) == len(CASES)
    contents = [c if isinstance(c, bytes) else str(c).encode() for _, _, c, _, _ in CASES]
    assert len(set(contents)) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_one_line_error_and_store_unchanged(case, tmp_path, capsys, store_root,
                                                       good_file):  # fmt: skip
    _, name, content, args, pattern = case
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else str(content).encode())
    before = _hashes(store_root)
    inputs = (path,) if args else (good_file, path)  # generic options apply to every file
    code = _import(store_root, *inputs, args=args)
    _assert_refused(capsys, store_root, before, code, pattern=pattern, name=str(path))


def _special_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    return {
        "fifo": (str(fifo), r"not a regular file \(a device, pipe or socket\)"),
        "dev_zero": ("/dev/zero", r"not a regular file \(a device, pipe or socket\)"),
        "link_to_dev_zero": (str(link), r"not a regular file"),
        "folder": (str(folder), r"not a regular file \(a folder\)"),
        "missing": (str(tmp_path / "nope.csv"), r"cannot read \(No such file or directory\)"),
    }


SPECIAL = ("fifo", "dev_zero", "link_to_dev_zero", "folder", "missing")


@pytest.mark.parametrize("kind", SPECIAL)
def test_non_regular_paths_are_refused_up_front(kind, tmp_path, capsys, store_root, good_file):
    path, pattern = _special_paths(tmp_path)[kind]
    before = _hashes(store_root)
    code = _import(store_root, good_file, path)
    _assert_refused(capsys, store_root, before, code, pattern=pattern, name=path)


def test_oversized_file_and_zip_bomb_are_refused(tmp_path, capsys, store_root, good_file,
                                                 monkeypatch):  # fmt: skip
    monkeypatch.setattr(importers, "MAX_INPUT_BYTES", 100_000)
    big = tmp_path / "big.csv"
    big.write_text(dam() + "01/02/2024,06:00,HB_NORTH,1,N\n" * 5_000)
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(zipped({"a.csv": dam() + " " * 5_000_000}))
    assert bomb.stat().st_size < 100_000
    for path, pattern in (
        (big, r"big\.csv: larger than 100,000 bytes"),
        (bomb, r"bomb\.zip/a\.csv: larger than 100,000 bytes \(after unzip"),
    ):
        before = _hashes(store_root)
        code = _import(store_root, good_file, path)
        _assert_refused(capsys, store_root, before, code, pattern=pattern, name=str(path))


def test_two_files_disagreeing_on_a_price_are_refused(tmp_path, capsys, store_root):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(dam())
    b.write_text(dam(price="25"))
    before = _hashes(store_root)
    code = _import(store_root, a, b)
    _assert_refused(
        capsys, store_root, before, code,
        pattern=r"a\.csv, line 3, column 'SettlementPointPrice': conflicting duplicate of "
        r"\S*b\.csv line 3 for HB_NORTH at 2024-01-02T10:00Z \(20\.5 vs 25\.0 \$/MWh\)",
        name=str(a),
    )  # fmt: skip


def test_pjm_files_of_different_versions_are_not_a_conflict(tmp_path, capsys):
    a, b = tmp_path / "v1.csv", tmp_path / "v2.csv"
    a.write_text(pjm(price="30", version="1"))
    b.write_text(pjm(price="31", version="2"))
    root = tmp_path / "s"
    assert _import(root, b, a) == 0
    stored = open_store(root).read("pjm", "rtm", "WESTERN HUB")
    assert stored.select("price_usd_per_mwh", "revision").rows() == [(31.0, 2)]


def test_unrevised_price_never_overwrites_a_stored_revision(tmp_path, capsys):
    root = tmp_path / "s"
    v2 = tmp_path / "v2.csv"
    v2.write_text(pjm(price="31", version="2"))
    assert _import(root, v2) == 0
    before = _hashes(root)
    plain = tmp_path / "plain.csv"
    plain.write_text("time,node,price\n2024-07-01T16:00:00Z,WESTERN HUB,99\n")
    capsys.readouterr()
    code = main(["data", "import", "--store", str(root), *GENERIC_ARGS, "--iso", "pjm",
                 str(plain)])  # fmt: skip
    _assert_refused(
        capsys, root, before, code,
        pattern=r"pjm/rtm/WESTERN HUB/60min at 2024-07-01T16:00Z: a price without a revision "
        r"\(99\.0 \$/MWh\) would overwrite the stored revision 2",
        name="WESTERN HUB",
    )  # fmt: skip


def test_a_valid_bom_file_still_imports(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + dam())
    assert _import(tmp_path / "s", path) == 0
    assert "2 rows: 2 inserted" in capsys.readouterr().out


# property-based fuzzing: any bytes give canonical rows or a one-line DataError ----------------

_ALPHABET = st.sampled_from(list(DAM + PJM + "0123456789,.:-/ \n\r\"'=+@NaYn\ufeff\x00{}[]"))


@settings(max_examples=150, deadline=2_000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(_ALPHABET, max_size=400).map(str.encode),
        st.builds(lambda cut, extra: (dam() + extra)[:cut].encode(), st.integers(0, 120),
                  st.text(_ALPHABET, max_size=40)),
    )
)  # fmt: skip
def test_fuzzed_csv_bytes_parse_or_fail_cleanly(data):
    try:
        frame = parse_payload(data, "fuzz.csv")
    except DataError as exc:
        assert "\n" not in str(exc) and "fuzz.csv" in str(exc)
    else:
        assert frame.columns[:4] == ["iso", "market", "node", "interval_start_utc"]
        assert frame["price_usd_per_mwh"].abs().max() is None or (
            frame["price_usd_per_mwh"].abs().max() <= 1e6
        )


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=150, deadline=2_000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.fixed_dictionaries({"items": _JSON}),
        st.fixed_dictionaries({"fields": _JSON, "data": _JSON}),
        st.fixed_dictionaries({"items": st.lists(st.dictionaries(
            st.sampled_from(["datetime_beginning_utc", "pnode_name", "total_lmp_da",
                             "row_is_current", "version_nbr"]), _JSON), max_size=3)}),
    )
)  # fmt: skip
def test_fuzzed_json_pages_parse_or_fail_cleanly(doc):
    try:
        parse_payload(json.dumps(doc).encode(), "fuzz.json")
    except DataError as exc:
        assert "\n" not in str(exc) and "fuzz.json" in str(exc)


def test_read_prices_of_every_case_raises_data_error_only(tmp_path):
    """The library entry point gives the same DataError as the command (no other exception)."""
    for ident, name, content, args, _ in CASES:
        if args:
            continue
        path = tmp_path / f"{ident}_{name}"
        path.write_bytes(content if isinstance(content, bytes) else str(content).encode())
        with pytest.raises(DataError):
            read_prices(path)
            pytest.fail(f"{ident}: accepted")
