"""Bad input: one-line errors naming file, line and column; nothing reaches the store."""

from __future__ import annotations

import shutil

import pytest
from data_helpers import FIXTURES

from energyhedge.cli import main
from energyhedge.data.importers import parse_payload, read_prices
from energyhedge.data.store import open_store
from energyhedge.errors import DataError

CASES = {
    "bad_conflicting_duplicate.csv": (
        "bad_conflicting_duplicate.csv, line 2, column 'SettlementPointPrice': conflicting "
        "duplicate of line 5 for HB_NORTH at 2024-01-02T06:00Z (20.0 vs 25.0 $/MWh)"
    ),
    "bad_missing_price_column.csv": (
        "bad_missing_price_column.csv, line 1, column 'SettlementPointPrice': required column "
        "is missing"
    ),
    "bad_unparseable_price.csv": (
        "bad_unparseable_price.csv, line 4, column 'SettlementPointPrice': not a finite number "
        "(value 'n/a')"
    ),
    "bad_spring_forward_hour.csv": (
        "bad_spring_forward_hour.csv, line 3, column 'HourEnding': this hour does not exist in "
        "America/Chicago (spring-forward gap) (value '03:00')"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_names_file_line_and_column(name):
    with pytest.raises(DataError) as info:
        read_prices(FIXTURES / name)
    message = str(info.value)
    assert CASES[name] in message
    assert "\n" not in message


def test_flag_on_an_hour_that_occurs_once_is_an_error(tmp_path):
    path = tmp_path / "flag.csv"
    path.write_text(
        "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n"
        "01/02/2024,05:00,HB_NORTH,20.00,Y\n"
    )
    with pytest.raises(DataError, match=r"line 2, column 'DSTFlag': repeated-hour flag set"):
        read_prices(path)


def test_unrecognised_table_says_what_to_do(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="give --time-col, --price-col and --node-col"):
        read_prices(path)


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_import_of_a_bad_file_writes_nothing(tmp_path, capsys, name):
    root = tmp_path / "store"
    open_store(root)  # seeded
    before = _snapshot(root)
    good = tmp_path / "good.csv"
    shutil.copy(FIXTURES / "ercot_dam_np4_190.csv", good)
    code = main(["data", "import", "--store", str(root), str(good), str(FIXTURES / name)])
    assert code == 3
    assert CASES[name] in capsys.readouterr().err
    assert _snapshot(root) == before


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text(
        "DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag\n"
        "01/02/2024,01:00,HB_NORTH,20.00,N\n"
        "\n"
        "01/02/2024,02:00,HB_NORTH,oops,N\n"
    )
    with pytest.raises(DataError, match=r"blank\.csv, line 4, column 'SettlementPointPrice'"):
        read_prices(path)


def test_damaged_zip_is_a_data_error():
    with pytest.raises(DataError, match=r"broken\.zip: damaged zip file"):
        parse_payload(b"PK\x03\x04 not really a zip", "broken.zip")


def test_generic_options_without_time_col_are_refused(tmp_path, capsys):
    code = main(["data", "import", "--store", str(tmp_path), "--tz", "UTC", "x.csv"])
    assert code == 2
    assert "--tz only apply to your own CSV layout: add --time-col" in capsys.readouterr().err
