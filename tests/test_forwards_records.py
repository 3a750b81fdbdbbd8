"""Trade records and the report: settlement point, lots, price source (mark id, quote or model)
and the indicative flag; the report's market-and-limits section."""

from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

import jsonschema
import numpy as np
from report_sample import sample_report
from test_optimize_lots import campus, peak_block

from energyhedge.forwards import MarketView
from energyhedge.model.problem import Decision, Product
from energyhedge.optimize.hedge_ratio import RatioResult
from energyhedge.optimize.lots import LotRounding
from energyhedge.report import content
from energyhedge.report.html import Trade, render_report
from energyhedge.report.outputs import SCHEMA_PATH, trades, trades_frame

MARK_ID = "ercot:LZ_HOUSTON:rtm:5x16:2023-08-17@2023-08-16"


def marked_and_model_products() -> tuple[Product, ...]:
    """A 5x16 block at a mark of bid 50 / ask 52 (mid 51 as its reference, 16 h) in lots of
    1 MW, and a model-priced call."""
    block = dataclasses.replace(
        peak_block(lot_mw=1.0, min_trade_mw=1.0),
        premium_usd_per_mw=16.0,
        sale_premium_usd_per_mw=-16.0,
    )
    block = dataclasses.replace(
        block, meta={**block.meta, "strike_usd_per_mwh": 51.0, "mark_id": MARK_ID}
    )
    call = Product(
        "call_250_5x16",
        "call",
        np.zeros(4),
        premium_usd_per_mw=160.0,
        fair_premium_usd_per_mw=128.0,
        notional_hours=16.0,
        max_mw=50.0,
        meta={"iso": "ercot", "node": "LZ_HOUSTON", "market": "rtm", "shape": "5x16",
              "strike_usd_per_mwh": 250.0, "pricing": "model"},
    )  # fmt: skip
    return block, call


def test_trade_records_carry_point_lots_source_and_mid():
    problem = campus(marked_and_model_products())
    decision = Decision(np.array([-3.0, 2.0]), np.zeros((0, 24)), np.zeros(24))
    sold, bought = trades(problem, decision.product_mw)
    assert (sold["settlement_point"], sold["market"], sold["side"]) == ("LZ_HOUSTON", "rtm", "sell")
    assert (sold["lots"], sold["price_side"], sold["pricing"]) == (3.0, "bid", "mark")
    assert (sold["price_usd_per_mwh"], sold["mid_usd_per_mwh"]) == (50.0, 51.0)  # bid, mid
    assert (sold["price_source"], sold["indicative"]) == (MARK_ID, False)
    assert (bought["price_usd_per_mwh"], bought["mid_usd_per_mwh"]) == (10.0, 8.0)  # per MWh
    assert (bought["price_source"], bought["indicative"], bought["lots"]) == ("model", True, None)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    item = {**schema["$defs"]["trade"], "$defs": schema["$defs"]}
    for record in (sold, bought):
        jsonschema.validate(record, item)
    frame = trades_frame([sold, bought])
    assert frame["price_source"].to_list() == [MARK_ID, "model"]
    assert frame["indicative"].to_list() == [False, True]


def cells(html: str, table_id: str) -> list[str]:
    body = html[html.index(f'id="{table_id}"') :]
    body = body[: body.index("</table>")]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", body)]


def test_report_shows_price_source_and_indicative_prices():
    problem = campus(marked_and_model_products())
    rows = content.trades(problem, np.array([-3.0, 2.0]), quoted=set())
    assert [(t.source, t.lots, t.indicative) for t in rows] == [
        (MARK_ID, 3.0, False),
        ("model", None, True),
    ]
    html = render_report(dataclasses.replace(sample_report(), trades=rows))
    trades_section = html[html.index('id="trades"') : html.index('id="risk"')]
    text = re.sub(r"<[^>]+>", " ", trades_section)
    assert f"mark {MARK_ID}" in text and "LZ_HOUSTON rtm" in text
    assert re.search(r"model mid \+ loading\s+indicative, not executable", text)
    assert "Indicative, not executable:" in text


def test_report_market_and_limits_section():
    limit = RatioResult("5x16", 0.0, 0.5, 10.0, 5.0, "upper", 2000.0)
    slack = RatioResult("7x8", -0.1, 1.0, 10.0, 2.0, None, 0.0)
    rounding = LotRounding(np.array([10.0]), np.array([9.0]), 44_000.0, 46_000.0, "nearest lot")
    solution = SimpleNamespace(hedge_ratio=(limit, slack), lot_rounding=rounding)
    view = MarketView("5x16", "2023-08-17", MARK_ID, 150.0, 120.0, 16.0)
    trading = content.trading(solution, (view,), "Market-consistent valuation: scaled.")
    html = render_report(dataclasses.replace(sample_report(), trading=trading))
    assert cells(html, "hedge-ratio") == [
        "5x16", "0% to 50%", "10.0", "5.0", "upper", "$2,000.00",
        "7x8", "-10% to 100%", "10.0", "2.0", "no", "—",
    ]  # fmt: skip
    assert "the model expects 30.00 $/MWh above the market" in html
    assert "Market-consistent valuation: scaled." in html
    assert "1 position(s) were rounded (nearest lot)" in html and "$2,000 of objective" in html
    assert content.trading(SimpleNamespace(hedge_ratio=(), lot_rounding=None)) is None


def test_trade_without_source_reads_as_before():
    """Rows built without the new fields (older callers) keep the old labels."""
    row = Trade("b", "block", "7x24", "horizon", "horizon", 1.0, 50.0, 50.0, None, 0.0)
    assert (row.source_label, row.indicative) == ("model mid + loading", True)
    quoted = dataclasses.replace(row, quoted=True)
    assert (quoted.source_label, quoted.indicative) == ("broker quote", False)
