"""The hedge book: file validation, incremental trades against a fixed book, MTM by hand,
the delta grid and the collateral estimate."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from energyhedge.book import (
    Book,
    BookTrade,
    collateral_at_risk,
    delivery_grid,
    delta_grid,
    load_book,
    mark_to_market,
    parse_book,
)
from energyhedge.campus import load_campus
from energyhedge.data.store import open_store
from energyhedge.decide import decide
from energyhedge.errors import DataError
from energyhedge.forwards import COLUMNS, OPTIONAL_COLUMNS, parse_marks
from energyhedge.run_inputs import decision_history
from energyhedge.runs import load_run_profile

MARKS_PROFILE = "models/runs/demo-ercot-marks.toml"
BOOK_PROFILE = "models/runs/demo-ercot-book.toml"
HEADER = (
    "trade_id,trade_date,counterparty,kind,iso,settlement_point,market,shape,delivery_start,"
    "delivery_end,mw,price_usd_per_mwh,strike_usd_per_mwh,premium_usd_per_mwh\n"
)
BLOCK = "B-1,2023-07-20,Broker A,block,ercot,LZ_HOUSTON,rtm,5x16,2023-08-01,2023-08-31,25,140,,\n"


@pytest.fixture(scope="module")
def inputs():
    profile = load_run_profile(MARKS_PROFILE).with_overrides(n=60)
    campus = load_campus(profile.campus_path)
    start = profile.scenarios.start
    history, _ = decision_history(
        open_store(), profile, campus, as_of=start - timedelta(days=1), start=start
    )
    catalogue = profile.contracts()
    return profile, campus, catalogue, history, start


@pytest.fixture(scope="module")
def optimum(inputs):
    profile, campus, catalogue, history, start = inputs
    return decide(profile, campus, catalogue, history, start)


def _book_of(run, catalogue, start: date, extra_mw: dict[str, float]) -> Book:
    """The decision's trades (plus ``extra_mw``) as a book traded at the decision's prices,
    delivering on the horizon day (the catalogue's horizon tenor)."""
    specs = {s.name: s for s in catalogue}
    trades = []
    for product, x in zip(run.problem.products, run.decision.product_mw, strict=True):
        mw = float(x) + extra_mw.get(product.name, 0.0)
        if abs(mw) < 1e-9:
            continue
        spec = specs[product.name]
        side = product.premium_usd_per_mw if mw > 0 else product.bid_usd_per_mw
        per_mwh = side / product.notional_hours
        block = product.kind == "block"
        trades.append(
            BookTrade(
                trade_id=f"T-{product.name}",
                trade_date=date(2023, 8, 1),
                counterparty="Broker A",
                kind=product.kind,
                iso=spec.iso,
                settlement_point=spec.node,
                market=spec.market,
                shape=spec.shape,
                delivery_start=start,
                delivery_end=start,
                mw=mw,
                price_usd_per_mwh=product.meta["strike_usd_per_mwh"] + per_mwh if block else None,
                strike_usd_per_mwh=spec.strike_usd_per_mwh,
                premium_usd_per_mwh=0.0 if block else per_mwh,
                heat_rate_mmbtu_per_mwh=spec.heat_rate_mmbtu_per_mwh,
                vom_usd_per_mwh=spec.vom_usd_per_mwh,
                gas_usd_per_mmbtu=spec.gas_usd_per_mmbtu,
            )
        )
    return Book(Path("hand-made.csv"), tuple(trades))


def _incremental(run) -> dict[str, float]:
    return {
        p.name: float(x)
        for p, x in zip(run.problem.products, run.decision.product_mw, strict=True)
        if abs(x) > 1e-6 and not p.meta.get("book")
    }


def test_a_book_equal_to_tonights_optimum_yields_no_trade(inputs, optimum):
    profile, campus, catalogue, history, start = inputs
    assert _incremental(optimum), "the demo decision holds products"
    book = _book_of(optimum, catalogue, start, {})
    run = decide(profile, campus, catalogue, history, start, book=book)
    assert _incremental(run) == {}
    fixed = [p for p in run.problem.products if p.meta.get("book")]
    assert [p.name for p in fixed] == [f"book:{t.trade_id}" for t in book]
    assert all(p.min_mw == p.max_mw and p.premium_usd_per_mw == 0.0 for p in fixed)


def test_a_book_over_hedged_by_50_mw_sells_50_mw_at_the_bid(inputs, optimum):
    profile, campus, catalogue, history, start = inputs
    book = _book_of(optimum, catalogue, start, {"block_7x24": 50.0})
    run = decide(profile, campus, catalogue, history, start, book=book)
    assert _incremental(run) == {"block_7x24": pytest.approx(-50.0)}
    k = [p.name for p in run.problem.products].index("block_7x24")
    product = run.problem.products[k]
    # the catalogue's bounds [-100, 100] now bound book + new trades: the book holds 40 MW
    assert (product.min_mw, product.max_mw) == (-140.0, 60.0)
    # out of sample the sale settles at the bid: the mark's bid, the 17 Aug 7x24 day mark
    struck = run.fresh_problem.products[k]
    assert struck.meta["strike_usd_per_mwh"] == pytest.approx(181.25)


def test_an_option_held_may_be_sold_back_up_to_the_held_mw(inputs, optimum):
    profile, campus, catalogue, history, start = inputs
    book = load_book("models/book/ercot-sample-book.csv")
    profile = load_run_profile(BOOK_PROFILE).with_overrides(n=60)
    run = decide(profile, campus, catalogue, history, start)
    assert run.book.trades == book.trades
    k = [p.name for p in run.problem.products].index("call_250_5x16")
    call = run.problem.products[k]
    assert (call.min_mw, call.max_mw) == (-10.0, 90.0)  # B-003 holds 10 MW of its terms
    assert -10.0 - 1e-9 <= run.decision.product_mw[k] <= 90.0 + 1e-9


HAND_MARKS = (
    ",".join(COLUMNS + OPTIONAL_COLUMNS)
    + """
ercot,LZ_HOUSTON,rtm,5x16,BOM-2023-08,100.00,104.00,2023-08-16,hand,,
ercot,LZ_HOUSTON,rtm,5x16,BOM-2023-08,20.00,24.00,2023-08-16,hand,call,250
"""
)


def test_mtm_of_a_hand_made_book_equals_hand_arithmetic():
    book = parse_book(
        HEADER
        + BLOCK
        + "S-1,2023-07-21,Broker B,block,ercot,LZ_HOUSTON,rtm,5x16,2023-08-01,2023-08-31,-5,90,,\n"
        + "C-1,2023-07-22,Broker B,call,ercot,LZ_HOUSTON,rtm,5x16,2023-08-17,2023-08-18,4,,250,30\n"
        + "X-1,2023-07-22,Broker B,block,ercot,LZ_HOUSTON,rtm,5x16,2023-08-01,2023-08-11,7,90,,\n"
    )
    as_of = date(2023, 8, 16)
    long, short, call, expired = mark_to_market(book, parse_marks(HAND_MARKS), as_of)
    # 17..31 Aug 2023: 11 business days (17, 18, 21-25, 28-31) x 16 peak hours = 176 h
    assert long.remaining_hours == short.remaining_hours == 176.0
    assert long.mtm_mid_usd == pytest.approx(25 * (102 - 140) * 176)  # -167,200
    assert long.mtm_exit_usd == pytest.approx(25 * (100 - 140) * 176)  # a long exits at the bid
    assert short.mtm_mid_usd == pytest.approx(-5 * (102 - 90) * 176)
    assert short.mtm_exit_usd == pytest.approx(-5 * (104 - 90) * 176)  # a short at the ask
    # the call: 2 days x 16 h, premium mark 22 mid, 20 bid against 30 paid
    assert call.remaining_hours == 32.0
    assert call.mtm_mid_usd == pytest.approx(4 * (22 - 30) * 32)
    assert call.mtm_exit_usd == pytest.approx(4 * (20 - 30) * 32)
    assert (expired.basis, expired.mtm_mid_usd, expired.remaining_hours) == ("expired", 0.0, 0.0)


def test_settled_pnl_from_realised_prices_by_hand():
    book = parse_book(HEADER + BLOCK)
    grid = delivery_grid("ercot", "5x16", date(2023, 8, 1), date(2023, 8, 2))
    assert grid.size == 32
    history = pl.DataFrame(
        {
            "iso": ["ercot"] * 32,
            "market": ["rtm"] * 32,
            "node": ["LZ_HOUSTON"] * 32,
            "interval_start_utc": grid,
            "price_usd_per_mwh": [150.0] * 16 + [135.0] * 16,
        }
    ).with_columns(pl.col("interval_start_utc").dt.replace_time_zone("UTC"))
    (marked,) = mark_to_market(book, None, date(2023, 8, 16), history=history)
    assert marked.settled_hours == 32.0 and marked.past_hours == 16 * 12  # 1-4, 7-11, 14-16 Aug
    assert marked.settled_pnl_usd == pytest.approx(25 * (16 * 10 + 16 * -5))  # 2,000
    assert marked.basis == "model" and marked.mtm_mid_usd == 0.0  # no mark and no horizon


def test_delta_grid_sums_to_the_books_mw_x_hours():
    book = load_book("models/book/ercot-sample-book.csv")
    as_of = date(2023, 8, 16)
    marked = mark_to_market(book, None, as_of)
    cells = delta_grid(book, as_of, marked)
    expected = sum(
        t.mw
        * delivery_grid(
            t.iso, t.shape, max(t.delivery_start, as_of + timedelta(days=1)), t.delivery_end
        ).size
        for t in book
    )
    assert sum(c.mwh for c in cells) == pytest.approx(expected)
    by_key = {(c.month, c.shape): c for c in cells}
    assert by_key[("2023-09", "5x16")].mw == pytest.approx(-10.0)  # B-005 alone, whole month
    assert by_key[("2023-08", "7x8")].mwh == pytest.approx(20 * 8 * 15)  # B-002, 17..31 Aug


def test_collateral_estimate_is_the_cvar_of_two_day_mtm_changes():
    book = parse_book(HEADER + BLOCK)
    as_of = date(2023, 8, 16)
    days = [date(2023, 8, 1) + timedelta(days=d) for d in range(30)]
    business = [d for d in days if d.weekday() < 5]
    stamps = np.concatenate([delivery_grid("ercot", "5x16", d, d) for d in business])
    level = {d: 100.0 + 10.0 * i for i, d in enumerate(business)}
    prices = np.repeat([level[d] for d in business], 16)
    history = pl.DataFrame(
        {
            "iso": "ercot",
            "market": "rtm",
            "node": "LZ_HOUSTON",
            "interval_start_utc": stamps,
            "price_usd_per_mwh": prices,
        }
    ).with_columns(pl.col("interval_start_utc").dt.replace_time_zone("UTC"))
    marked = mark_to_market(book, None, as_of)
    (risk,) = collateral_at_risk(book, marked, history)
    # 2-day changes: Mon->Wed, Tue->Thu, Wed->Fri are +20 (two business days apart); Thu->Sat
    # and Fri->Sun have no price: every change is +20, a gain for the long, so the loss is -20
    changes = [d for d in business if d + timedelta(days=2) in level]
    assert risk.observations == len(changes)
    assert risk.cvar_usd == pytest.approx(-25 * 176 * 20.0)
    assert risk.record()["label"] == "estimate"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (BLOCK.replace(",25,", ",0,"), "line 3: column mw"),
        (BLOCK.replace(",140,", ",0.14,"), "line 3: column price_usd_per_mwh: 0.14 looks like"),
        (BLOCK.replace("2023-08-31", "2023-07-31"), "line 3: column delivery_end"),
        (BLOCK.replace("block", "swap"), "line 3: column kind"),
        (BLOCK.replace("Broker A", "=cmd()"), "line 3: column counterparty"),
        (BLOCK.replace(",140,,", ",140,250,"), "line 3: column strike_usd_per_mwh"),
        (BLOCK.replace(",,\n", ",\n"), "line 3: 13 cells, the header has 14"),
        (
            "C-9,2023-07-20,Broker A,call,ercot,LZ_HOUSTON,rtm,5x16,2023-08-01,2023-08-31,"
            "-1,,250,3\n",
            "line 3: column mw: a call is held long only",
        ),
        (BLOCK, "line 3: column trade_id: 'B-1' already given on line 2"),
    ],
)
def test_book_file_errors_name_file_line_and_column(tmp_path, line, message):
    path = tmp_path / "book.csv"
    path.write_text(HEADER + BLOCK + line, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_book(path)
    assert f"{path}:{message.split(':', 1)[0].removeprefix('line ')}" in str(caught.value)
    assert message.split(":", 1)[1].strip() in str(caught.value)


def test_book_header_errors_name_the_line(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("# comment\n" + HEADER.replace(",mw,", ",megawatts,"), encoding="utf-8")
    with pytest.raises(DataError, match=r"book.csv:2: missing column\(s\) mw"):
        load_book(path)


def test_hedge_ratio_limits_apply_to_book_plus_new_trades(inputs, optimum):
    """The demo's 5x16 limit is at most 100 % of expected load: a book of 150 MW of 5x16 for
    the horizon day must be cut back by sales to the limit."""
    profile, campus, catalogue, history, start = inputs
    book = _book_of(optimum, catalogue, start, {"block_5x16": 150.0})
    run = decide(profile, campus, catalogue, history, start, book=book)
    (limit,) = [r for r in run.solution.hedge_ratio if r.shape == "5x16"]
    assert limit.net_mw <= limit.upper * limit.load_mw + 1e-6
    sold = _incremental(run).get("block_5x16", 0.0) + _incremental(run).get("block_7x24", 0.0)
    assert sold < 0.0  # sales bring book + new trades within the limit
    # the book's own net 5x16 MW (5x16 and 7x24 blocks cover every 5x16 hour) breaks the limit
    held = sum(
        p.min_mw
        for p in run.problem.products
        if p.meta.get("book") and p.kind == "block" and p.meta["shape"] in ("5x16", "7x24")
    )
    assert held > limit.upper * limit.load_mw


def test_heat_rate_terms_on_a_call_are_refused():
    text = (
        HEADER.rstrip("\n")
        + ",heat_rate_mmbtu_per_mwh\n"
        + "C-1,2023-07-22,Broker B,call,ercot,LZ_HOUSTON,rtm,5x16,2023-08-17,2023-08-18,4,,250,30,"
        + "10\n"
    )
    with pytest.raises(DataError, match=r"<book>:2: column heat_rate_mmbtu_per_mwh: does not"):
        parse_book(text)
