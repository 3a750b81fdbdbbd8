"""Forward marks: parsing and errors by file/line/column, history in the store, pricing by hand,
model against market, and market-consistent scenarios."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from energyhedge.cli import main
from energyhedge.errors import ConfigError, DataError
from energyhedge.forwards import (
    MarkStore,
    latest_marks,
    market_consistent,
    model_vs_market,
    parse_marks,
    parse_period,
    price_product,
    read_marks,
)
from energyhedge.instruments import ProductSpec
from energyhedge.scenarios.scenario_set import ScenarioSet

HEADER = "iso,settlement_point,market,shape,period,bid_usd_per_mwh,ask_usd_per_mwh,as_of,source"
# 2023-08-17 (a Thursday) in ERCOT: local midnight is 05:00 UTC (CDT); 24 hourly intervals.
STAMPS = np.datetime64("2023-08-17T05:00", "us") + np.arange(24) * np.timedelta64(1, "h")
PEAK = (np.arange(24) >= 6) & (np.arange(24) < 22)  # HE07-HE22 local on a business day


def marks_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def block(shape: str = "5x16", **changes) -> ProductSpec:
    spec = dict(
        name=f"block_{shape}",
        kind="block",
        iso="ercot",
        node="LZ_HOUSTON",
        market="rtm",
        shape=shape,
        start=None,
        end=None,
        min_mw=-50.0,
        max_mw=50.0,
    )
    return ProductSpec(**{**spec, **changes})


def test_periods_cover_their_days():
    assert (parse_period("2026-08-17", date(2026, 8, 1)).first) == date(2026, 8, 17)
    bom = parse_period("BOM-2026-08", date(2026, 8, 16))
    assert (bom.first, bom.last) == (date(2026, 8, 17), date(2026, 8, 31))
    q3 = parse_period("2026-Q3", date(2026, 1, 1))
    assert (q3.first, q3.last) == (date(2026, 7, 1), date(2026, 9, 30))
    cal = parse_period("CAL-2026", date(2026, 1, 1))
    assert (cal.first, cal.last) == (date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(ValueError, match="unknown period 'Aug-26'"):
        parse_period("Aug-26", date(2026, 1, 1))


def test_parse_marks_reads_blocks_and_option_quotes():
    text = (
        "# illustrative\n"
        + HEADER
        + ",kind,strike_usd_per_mwh\n"
        + "ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52,2023-08-16,sheet,,\n"
        + "ercot,LZ_HOUSTON,rtm,5x16,2023-08,10,12.5,2023-08-16,sheet,call,250\n"
    )
    block_mark, call = parse_marks(text, "m.csv")
    assert (block_mark.mid_usd_per_mwh, block_mark.kind) == (51.0, "block")
    assert block_mark.mark_id == "ercot:LZ_HOUSTON:rtm:5x16:2023-08@2023-08-16"
    assert (call.kind, call.strike_usd_per_mwh, call.mid_usd_per_mwh) == ("call", 250.0, 11.25)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,53,52,2023-08-16,s",
            "m.csv:3: column bid_usd_per_mwh: bid 53 is above the ask 52",
        ),
        (
            "ercot,LZ_HOUSTON,rtm,6x16,2023-08,50,52,2023-08-16,s",
            "m.csv:3: column shape: '6x16' is not one of 5x16, 2x16, 7x8, 7x24, wrap",
        ),
        (
            "ercot,LZ_HOUSTON,rtm,5x16,Aug-23,50,52,2023-08-16,s",
            "m.csv:3: column period: unknown period 'Aug-23'",
        ),
        (
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,0.050,0.052,2023-08-16,s",
            "m.csv:3: column bid_usd_per_mwh: 0.05 looks like \\$/kWh: 50 \\$/MWh",
        ),
        (
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52000,2023-08-16,s",
            "m.csv:3: column ask_usd_per_mwh: 52000 \\$/MWh is above the ERCOT offer cap",
        ),
        (
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52,2023-08-16",
            "m.csv:3: 8 cells, the header has 9",
        ),
        (
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52,16/08/2023,s",
            "m.csv:3: column as_of: '16/08/2023' is not a date",
        ),
    ],
)
def test_bad_marks_are_refused_by_file_line_and_column(row, message):
    text = marks_text("ercot,LZ_HOUSTON,rtm,7x24,2023-08,40,41,2023-08-16,s", row)
    with pytest.raises(DataError, match=f"^{message}"):
        parse_marks(text, "m.csv")


def test_duplicate_mark_for_one_as_of_names_both_lines():
    row = "ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52,2023-08-16,s"
    with pytest.raises(
        DataError,
        match=r"m\.csv:3: column period: mark .* already given on line 2",
    ):
        parse_marks(marks_text(row, row.replace("50,52", "49,53")), "m.csv")
    # the same mark on another as_of is history, not a duplicate
    assert len(parse_marks(marks_text(row, row.replace("2023-08-16", "2023-08-15")), "m")) == 2


def test_missing_column_names_the_header_line():
    with pytest.raises(DataError, match=r"^m.csv:1: missing column\(s\) source"):
        parse_marks(HEADER.removesuffix(",source") + "\n", "m.csv")


def test_store_keeps_every_as_of_and_a_run_uses_the_latest_on_its_date(tmp_path):
    first = tmp_path / "a.csv"
    first.write_text(
        marks_text(
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52,2023-08-15,s",
            "ercot,LZ_HOUSTON,rtm,7x8,2023-08,20,21,2023-08-15,s",
        )
    )
    second = tmp_path / "b.csv"
    second.write_text(
        marks_text(
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,60,62,2023-08-16,s",
            "ercot,LZ_HOUSTON,rtm,7x8,2023-08,20,22,2023-08-15,corrected",
        )
    )
    store = MarkStore(tmp_path / "forwards")
    counts = store.import_file(first)
    assert (counts.inserted, counts.replaced, counts.unchanged) == (2, 0, 0)
    counts = store.import_file(second)
    assert (counts.inserted, counts.replaced, counts.unchanged) == (1, 1, 0)
    assert len(store.marks()) == 3
    on_15 = {m.shape: m.ask_usd_per_mwh for m in store.latest(date(2023, 8, 15))}
    on_16 = {m.shape: m.ask_usd_per_mwh for m in store.latest(date(2023, 8, 16))}
    assert on_15 == {"5x16": 52.0, "7x8": 22.0}
    assert on_16 == {"5x16": 62.0, "7x8": 22.0}
    assert store.latest(date(2023, 8, 14)) == ()


def test_forwards_cli_imports_lists_and_refuses_a_bad_file_with_exit_3(tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(marks_text("ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52,2023-08-16,sheet"))
    bad = tmp_path / "bad.csv"
    bad.write_text(marks_text("ercot,LZ_HOUSTON,rtm,5x16,2023-08,53,52,2023-08-16,sheet"))
    store = tmp_path / "marks"
    assert main(["forwards", "import", str(good), "--marks", str(store)]) == 0
    assert "1 new, 0 corrected, 0 unchanged" in capsys.readouterr().out
    assert main(["forwards", "import", str(bad), "--marks", str(store)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.csv:2: column bid_usd_per_mwh" in err
    assert main(["forwards", "list", "--marks", str(store), "--as-of", "2023-08-16"]) == 0
    listed = capsys.readouterr().out
    assert "ercot:LZ_HOUSTON:rtm:5x16:2023-08@2023-08-16" in listed and "51.00" in listed


def test_block_priced_by_hand_from_a_mark():
    """Bid 50 / ask 52 on a 16-hour 5x16 day: mid 51; the lead's premiums are +-1 x 16 per MW."""
    marks = parse_marks(marks_text("ercot,LZ_HOUSTON,rtm,5x16,2023-08,50,52,2023-08-16,s"))
    price = price_product(block(), marks, STAMPS)
    assert (price.mid_usd_per_mwh, price.ask_usd_per_mwh, price.bid_usd_per_mwh) == (51, 52, 50)
    hours = 16.0
    assert (price.ask_usd_per_mwh - price.mid_usd_per_mwh) * hours == 16.0
    assert (price.bid_usd_per_mwh - price.mid_usd_per_mwh) * hours == -16.0
    assert price.mark_id == "ercot:LZ_HOUSTON:rtm:5x16:2023-08@2023-08-16"
    assert price_product(block("7x8"), marks, STAMPS) is None  # no 7x8 mark
    assert price_product(block(node="HB_HOUSTON"), marks, STAMPS) is None


def test_the_shortest_covering_period_prices_the_horizon():
    marks = parse_marks(
        marks_text(
            "ercot,LZ_HOUSTON,rtm,5x16,CAL-2023,70,72,2023-08-16,s",
            "ercot,LZ_HOUSTON,rtm,5x16,2023-Q3,80,82,2023-08-16,s",
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08,90,92,2023-08-16,s",
            "ercot,LZ_HOUSTON,rtm,5x16,BOM-2023-08,100,102,2023-08-16,s",
            "ercot,LZ_HOUSTON,rtm,5x16,2023-08-18,120,122,2023-08-16,s",
        )
    )
    assert price_product(block(), marks, STAMPS).mid_usd_per_mwh == 101.0  # BOM
    day = marks + parse_marks(
        marks_text("ercot,LZ_HOUSTON,rtm,5x16,2023-08-17,110,112,2023-08-16,s")
    )
    assert price_product(block(), day, STAMPS).mid_usd_per_mwh == 111.0  # the day itself
    # a September tenor is priced by the quarter, not by an August mark
    sept = block(start=date(2023, 9, 1), end=date(2023, 9, 30))
    assert price_product(sept, marks, STAMPS).mid_usd_per_mwh == 81.0


def test_option_quote_matches_kind_and_strike():
    text = (
        HEADER
        + ",kind,strike_usd_per_mwh\n"
        + ("ercot,LZ_HOUSTON,rtm,5x16,2023-08,10,12,2023-08-16,s,call,250\n")
    )
    marks = parse_marks(text)
    call = block(name="call_250", kind="call", strike_usd_per_mwh=250.0, min_mw=0.0)
    assert price_product(call, marks, STAMPS).ask_usd_per_mwh == 12.0
    other = block(name="call_300", kind="call", strike_usd_per_mwh=300.0, min_mw=0.0)
    assert price_product(other, marks, STAMPS) is None
    assert price_product(block(), marks, STAMPS) is None  # a block is not priced by a call


def scenario_set(prices: np.ndarray, probabilities: np.ndarray) -> ScenarioSet:
    return ScenarioSet(
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        interval_start_utc=STAMPS,
        interval_minutes=60,
        prices_usd_per_mwh=prices,
        probabilities=probabilities,
        kind=np.array(["bootstrap"] * prices.shape[0]),
    )


def two_scenarios() -> tuple[np.ndarray, np.ndarray]:
    """Scenario 1: 100 on peak, 20 off; scenario 2: 300 on peak, 40 off; p = 0.75, 0.25."""
    prices = np.array([np.where(PEAK, 100.0, 20.0), np.where(PEAK, 300.0, 40.0)])
    return prices, np.array([0.75, 0.25])


SHAPE_MARKS = marks_text(
    "ercot,LZ_HOUSTON,rtm,5x16,BOM-2023-08,118,122,2023-08-16,s",
    "ercot,LZ_HOUSTON,rtm,wrap,BOM-2023-08,29,31,2023-08-16,s",
    "ercot,LZ_HOUSTON,rtm,7x24,BOM-2023-08,89,91,2023-08-16,s",
)


def test_model_against_market_by_hand():
    prices, p = two_scenarios()
    views = model_vs_market(
        parse_marks(SHAPE_MARKS),
        iso="ercot",
        point="LZ_HOUSTON",
        market="rtm",
        interval_start_utc=STAMPS,
        interval_minutes=60,
        prices_usd_per_mwh=prices,
        probabilities=p,
    )
    got = {v.shape: (v.model_mean_usd_per_mwh, v.mid_usd_per_mwh, v.hours) for v in views}
    # peak: 0.75 x 100 + 0.25 x 300 = 150; off: 0.75 x 20 + 0.25 x 40 = 25;
    # 7x24: (16 x 150 + 8 x 25) / 24 = 108.33
    assert got["5x16"] == pytest.approx((150.0, 120.0, 16.0))
    assert got["wrap"] == pytest.approx((25.0, 30.0, 8.0))
    assert got["7x24"] == pytest.approx((2600.0 / 24, 90.0, 24.0))
    peak = next(v for v in views if v.shape == "5x16")
    assert peak.sentence().startswith("5x16 BOM-2023-08: the model expects 30.00 $/MWh above")
    off = next(v for v in views if v.shape == "wrap")
    assert "the model expects 5.00 $/MWh below the market" in off.sentence()


def test_market_consistent_scenarios_match_the_mids():
    prices, p = two_scenarios()
    shifted, sentence = market_consistent(scenario_set(prices, p), parse_marks(SHAPE_MARKS))
    mean = p @ shifted.prices_usd_per_mwh
    assert mean[PEAK] == pytest.approx(np.full(16, 120.0))
    assert mean[~PEAK] == pytest.approx(np.full(8, 30.0))
    # the shape of each path is kept: scenario 2 stays three times scenario 1 on peak
    assert shifted.prices_usd_per_mwh[1, PEAK] == pytest.approx(
        3 * shifted.prices_usd_per_mwh[0, PEAK]
    )
    assert prices[0, 10] == 100.0  # the input is not modified
    assert "Market-consistent valuation" in sentence and "LZ_HOUSTON rtm" in sentence


def test_market_consistent_off_peak_implied_by_flat_and_peak_marks():
    prices, p = two_scenarios()
    marks = [m for m in parse_marks(SHAPE_MARKS) if m.shape != "wrap"]
    shifted, _ = market_consistent(scenario_set(prices, p), marks)
    mean = p @ shifted.prices_usd_per_mwh
    # 7x24 mid 90 over 24 h with 5x16 mid 120 over 16 h: off-peak (24 x 90 - 16 x 120) / 8 = 30
    assert mean[~PEAK] == pytest.approx(np.full(8, 30.0))
    with pytest.raises(ConfigError, match="need 5x16 marks for LZ_HOUSTON rtm"):
        market_consistent(scenario_set(prices, p), [m for m in marks if m.shape != "5x16"])


def test_shipped_sample_marks_are_valid_and_marked_illustrative(repo_root):
    path = repo_root / "models" / "forwards" / "ercot-sample-marks.csv"
    assert "ILLUSTRATIVE" in path.read_text().splitlines()[0]
    latest = latest_marks(read_marks(path), date(2023, 8, 16))
    price = price_product(block(), latest, STAMPS)
    assert price.mark_id == "ercot:LZ_HOUSTON:rtm:5x16:2023-08-17@2023-08-16"  # the day mark
    assert (price.bid_usd_per_mwh, price.ask_usd_per_mwh) == (258.75, 272.25)
