"""The hedge book in the outputs: positions block, trades.csv rows, positions.xlsx read back with
openpyxl, the "no trade" statement, and MTM moves in the nightly "changes since the last run"."""

from __future__ import annotations

import csv
import dataclasses
import html
import json
import re
from pathlib import Path

import jsonschema
import openpyxl
import pytest

from energyhedge.book import COLUMNS as BOOK_FILE_COLUMNS
from energyhedge.book import OPTIONAL_COLUMNS, mtm_change
from energyhedge.cli import main
from energyhedge.commands.optimize import run_optimize
from energyhedge.report.html import NO_TRADE
from energyhedge.report.outputs import POSITIONS_FILE, SCHEMA_PATH
from energyhedge.report.positions import DELTA_COLUMNS, MTM_COLUMNS, SHEETS
from energyhedge.runs import load_run_profile

REPO = Path(__file__).resolve().parents[1]
BOOK_PROFILE = REPO / "models" / "runs" / "demo-ercot-book.toml"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def book_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "out"
    run_optimize(load_run_profile(BOOK_PROFILE).with_overrides(n=60), out)
    record = json.loads((out / "recommendation.json").read_text(encoding="utf-8"))
    jsonschema.validate(record, SCHEMA)
    return out, record


def _same(value):
    """``value`` as a cell read back must equal it: numbers to 1e-14 relative (15 significant
    digits are stored), anything else exactly."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-14, abs=1e-9)
    return value


def _sheet(workbook, title: str) -> list[dict]:
    rows = list(workbook[title].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_positions_xlsx_has_the_numbers_of_the_json(book_run):
    out, record = book_run
    positions = record["positions"]
    workbook = openpyxl.load_workbook(out / POSITIONS_FILE)
    assert workbook.sheetnames == list(SHEETS)
    mtm = _sheet(workbook, "MTM")
    *per_trade, total = mtm
    assert [r["trade_id"] for r in per_trade] == [e["trade_id"] for e in positions["existing"]]
    for row, existing in zip(per_trade, positions["existing"], strict=True):
        for column in MTM_COLUMNS[2:]:  # numbers to 15 significant digits, as Excel keeps them
            assert row[column] == _same(existing[column]), column
    assert total["trade_id"] == "total"
    assert total["mtm_mid_usd"] == _same(positions["mtm"]["mid_usd"])
    assert total["mtm_exit_usd"] == _same(positions["mtm"]["exit_usd"])
    assert total["settled_pnl_usd"] == _same(positions["mtm"]["settled_pnl_usd"])
    grid = _sheet(workbook, "Delta grid")
    assert [[r[c] for c in DELTA_COLUMNS] for r in grid] == [
        [_same(c[k]) for k in DELTA_COLUMNS] for c in positions["delta_grid"]
    ]
    trades = _sheet(workbook, "Incremental trades")
    assert [(t["product"], t["mw"]) for t in trades] == [
        (t["product"], t["mw"]) for t in record["trades"]
    ]
    book = _sheet(workbook, "Book")
    assert [r["mw"] for r in book] == [e["mw"] for e in positions["existing"]]
    assert list(book[0]) == list(BOOK_FILE_COLUMNS)


def test_trades_csv_shows_existing_incremental_and_resulting_positions(book_run):
    out, record = book_run
    with (out / "trades.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by = {kind: [r for r in rows if r["position"] == kind] for kind in ("existing", "incremental")}
    assert [(r["product"], float(r["mw"])) for r in by["incremental"]] == [
        (t["product"], t["mw"]) for t in record["trades"]
    ]
    existing = record["positions"]["existing"]
    assert [r["product"] for r in by["existing"]] == [f"book:{e['trade_id']}" for e in existing]
    resulting = {r["product"]: float(r["mw"]) for r in rows if r["position"] == "resulting"}
    incremental = {t["product"]: t["mw"] for t in record["trades"]}
    held = {e["trade_id"]: e["mw"] for e in existing}
    # the book holds B-003 (10 MW of call_250_5x16's terms) and B-004 (5 MW of the uncapped
    # scarcity's): resulting = held + incremental; trades matching no product stand alone
    assert resulting["call_250_5x16"] == pytest.approx(
        held["B-003"] + incremental.get("call_250_5x16", 0.0)
    )
    assert resulting["scarcity_1000_7x24"] == pytest.approx(
        held["B-004"] + incremental.get("scarcity_1000_7x24", 0.0)
    )
    assert resulting["book:B-001"] == held["B-001"] and resulting["book:B-005"] == held["B-005"]
    assert "book:B-003" not in resulting
    assert record["positions"]["no_trade"] is False


def test_a_book_at_the_optimum_says_no_trade(tmp_path):
    """Tonight's optimum, written as a book at its traded prices, leaves nothing to add: the
    record, its sentence and the workbook say so."""
    profile = load_run_profile(REPO / "models" / "runs" / "demo-ercot-marks.toml")
    profile = profile.with_overrides(n=60)
    plain = tmp_path / "plain"
    run_optimize(profile, plain)
    optimum = json.loads((plain / "recommendation.json").read_text(encoding="utf-8"))
    assert optimum["positions"] is None and optimum["trades"]
    book = tmp_path / "book.csv"
    book.write_text(_book_csv(optimum["trades"], profile.contracts()), encoding="utf-8")
    out = tmp_path / "out"
    run_optimize(dataclasses.replace(profile, book=str(book)), out)
    again = json.loads((out / "recommendation.json").read_text(encoding="utf-8"))
    jsonschema.validate(again, SCHEMA)
    assert again["trades"] == []
    assert again["positions"]["no_trade"] is True
    assert again["positions"]["summary"] == NO_TRADE
    assert f"): {NO_TRADE}; out of sample" in again["recommendation"]
    workbook = openpyxl.load_workbook(out / POSITIONS_FILE)
    assert list(workbook["Incremental trades"].iter_rows(values_only=True))[1][0] == NO_TRADE


def _book_csv(trades: list[dict], catalogue) -> str:
    """The trades of a record as a book traded at their prices, delivering on the horizon day,
    with the catalogue product's payoff terms."""
    specs = {spec.name: spec for spec in catalogue}
    lines = [",".join(BOOK_FILE_COLUMNS + OPTIONAL_COLUMNS)]
    for t in trades:
        spec = specs[t["product"]]
        block = t["kind"] == "block"
        price = repr(t["price_usd_per_mwh"])
        terms = (
            spec.strike_usd_per_mwh,
            spec.payout_cap_usd_per_mwh,
            spec.heat_rate_mmbtu_per_mwh,
            spec.vom_usd_per_mwh,
            spec.gas_usd_per_mmbtu,
        )
        strike, *optional = ("" if v is None or block else repr(v) for v in terms)
        row = [f"N-{t['product']}", "2023-08-16", "Broker A", t["kind"], t["iso"]]
        row += [t["settlement_point"], t["market"], t["shape"], "2023-08-17", "2023-08-17"]
        row += [repr(t["mw"]), price if block else "", strike, "" if block else price]
        lines.append(",".join(row + optional))
    return "\n".join(lines) + "\n"


def test_nightly_changes_since_the_last_run_show_mtm_moves(tmp_path):
    """Two nightly runs (as of 15 and 16 August): the second shows the book's MTM against the
    first, split into price moves (new marks as of the 16th), new trades (B-005, dated the 16th)
    and expiries (none)."""
    text = BOOK_PROFILE.read_text(encoding="utf-8")
    for key in ("campus", "contracts", "forward_marks", "book"):
        text = re.sub(
            rf'^{key} = "([^"]+)"',
            lambda m: (
                f'{m.group(0).split("=")[0]}= "{(BOOK_PROFILE.parent / m.group(1)).resolve()}"'
            ),
            text,
            flags=re.M,
        )
    text = text.replace("n = 300", "n = 60")
    profile = tmp_path / "book.toml"
    profile.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    records = []
    for as_of in ("2023-08-15", "2023-08-16"):
        code = main(
            ["nightly", "--config", str(profile), "--offline", "--as-of", as_of, "--out", str(out)]
        )
        assert code == 0
        latest = out / "latest"
        records.append(json.loads((latest / "recommendation.json").read_text(encoding="utf-8")))
        assert (latest / POSITIONS_FILE).is_file()
    before, after = ({e["trade_id"]: e for e in r["positions"]["existing"]} for r in records)
    assert "B-005" not in before and "B-005" in after  # dated 2023-08-16
    split = mtm_change(
        {k: v["mtm_mid_usd"] for k, v in before.items()},
        {k: v["mtm_mid_usd"] for k, v in after.items()},
        set(),
    )
    assert split.new_trades_usd == pytest.approx(after["B-005"]["mtm_mid_usd"])
    assert split.price_moves_usd == pytest.approx(
        sum(after[k]["mtm_mid_usd"] - before[k]["mtm_mid_usd"] for k in before)
    )
    assert split.price_moves_usd != 0.0 and split.expiries_usd == 0.0
    page = html.unescape((out / "latest" / "report.html").read_text(encoding="utf-8"))
    section = page[page.index('<table id="mtm-change">') :]
    section = section[: section.index("</table>")]
    for value in (split.price_moves_usd, split.new_trades_usd, split.total_usd):
        shown = f"{'+' if value > 0 else '−'}${abs(value):,.0f}"
        assert shown in section
    changes = page[page.index('<section id="changes">') :]
    assert "Book MTM (mid)" in changes[: changes.index("</section>")]


def test_mtm_change_parts_sum_to_the_total():
    split = mtm_change({"a": 10.0, "b": 5.0, "c": 7.0}, {"a": 12.0, "c": 0.0, "d": 3.0}, {"c"})
    assert (split.price_moves_usd, split.new_trades_usd, split.expiries_usd) == (2.0, 3.0, -12.0)
    assert split.total_usd == (12.0 + 0.0 + 3.0) - (10.0 + 5.0 + 7.0)
