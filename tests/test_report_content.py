"""Report rows from a tiny hand-built problem, checked against hand arithmetic."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from report_sample import sample_report

from energyhedge.model.problem import Decision, FlexClass, HedgeProblem, Product
from energyhedge.report import content
from energyhedge.report.html import BREAKDOWN_LINES, LadderRung
from energyhedge.risk import STRATEGIES, value_strategies

# 4 hourly intervals from 2023-08-17 00:00 CDT; 4 equally likely scenarios.
PRICES = np.array(
    [
        [50.0, 50.0, 50.0, 50.0],
        [150.0, 50.0, 50.0, 50.0],
        [50.0, 150.0, 50.0, 50.0],
        [200.0, 200.0, 200.0, 200.0],
    ]
)
BLOCK_MASK = np.array([1.0, 1.0, 0.0, 0.0])  # the block covers the first two hours


def _problem() -> HedgeProblem:
    s, t = PRICES.shape
    block = ((PRICES - 50.0) * BLOCK_MASK).sum(axis=1)  # 0, 100, 100, 300 $/MW
    call = np.maximum(PRICES - 100.0, 0.0).sum(axis=1)  # 0, 50, 50, 400 $/MW
    cp = np.zeros((s, t))
    cp[:, 2] = 10.0  # a $10/MW tag weight at 02:00
    return HedgeProblem(
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(t) * np.timedelta64(1, "h"),
        interval_hours=np.ones(t),
        prices_usd_per_mwh=PRICES,
        probabilities=np.full(s, 0.25),
        firm_load_mw=np.full(t, 30.0),
        firm_gpu_hours=np.full(t, 1000.0),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(  # 20 MW, break-even 100 x 1.0 = $100/MWh
            FlexClass(
                "training", np.full(t, 20.0), 100.0, 1.0, np.array([0.0, 1.0]), np.array([0.0, 1.0])
            ),
        ),
        grid_limit_mw=100.0,
        products=(
            Product(
                "blk",
                "block",
                block,
                20.0,
                0.0,
                -20.0,
                2.0,
                -50.0,
                50.0,
                {"shape": "2x16", "strike_usd_per_mwh": 50.0, "start": "horizon", "end": "horizon"},
            ),
            Product(
                "call",
                "call",
                call,
                30.0,
                20.0,
                10.0,
                4.0,
                0.0,
                50.0,
                {"shape": "7x24", "strike_usd_per_mwh": 100.0},
            ),
        ),
        dr_price_usd_per_mw_h=np.zeros(t),
        dr_max_mw=0.0,
        dr_deployed=np.zeros((s, t), dtype=bool),
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=cp,
    )


def _decision(block_mw: float = 15.0) -> Decision:
    return Decision(np.array([block_mw, 5.0]), np.full((1, 4), 20.0), np.zeros(4))


def test_trades_at_ask_or_bid_per_mwh() -> None:
    bought = content.trades(_problem(), np.array([15.0, 5.0]), quoted={"call"})
    # Block: reference $50 + ask $20/MW over 2 h = $60/MWh, $300 for 15 MW.
    # Call: ask $30/MW over 4 h = $7.50/MWh (mid $5.00), strike $100, $150 for 5 MW.
    assert [(t.product, t.side, t.mw, t.price_usd_per_mwh, t.mid_usd_per_mwh) for t in bought] == [
        ("blk", "buy at ask", 15.0, 60.0, 50.0),
        ("call", "buy at ask", 5.0, 7.5, 5.0),
    ]
    assert [(t.premium_usd, t.strike_usd_per_mwh, t.quoted) for t in bought] == [
        (300.0, None, False),
        (150.0, 100.0, True),
    ]
    # A 4 MW sale of the block receives the bid: 50 - 20 / 2 = $40/MWh and pays the $80 spread;
    # a position below 0.05 MW is not a trade.
    (sold,) = content.trades(_problem(), np.array([-4.0, 0.04]), quoted=set())
    assert (sold.side, sold.mw_shown, sold.price_usd_per_mwh, sold.premium_usd) == (
        "sell at bid",
        -4.0,
        40.0,
        80.0,
    )
    assert (
        content.trades(_problem(), np.array([99.99999999999999, 0.0]), set())[0].mw_shown == 100.0
    )


def test_hedge_load_by_interval_equals_hand_arithmetic() -> None:
    view = content.hedge_load(
        _problem(), _decision(), {"blk": BLOCK_MASK, "call": np.ones(4)}, "America/Chicago"
    )
    assert view.block_mw.tolist() == [15.0, 15.0, 0.0, 0.0]
    assert view.option_mw.tolist() == [5.0, 5.0, 5.0, 5.0]
    # Training (20 MW, $100/MWh) stops where the price (+ $10 tag at 02:00) exceeds 100:
    # load 50 or 30 MW. Hour 0: s1 and s3 stop; hour 1: s2 and s3; hours 2-3: s3 only.
    assert view.load_mean_mw.tolist() == [40.0, 40.0, 45.0, 45.0]
    assert view.load_low_mw.tolist() == [30.0, 30.0, 30.0, 30.0]
    assert view.load_high_mw.tolist() == [50.0, 50.0, 50.0, 50.0]
    assert view.scheduled_mw.tolist() == [50.0, 50.0, 50.0, 50.0]
    assert view.over_hedged == (0, 0.0)
    over = content.hedge_load(
        _problem(), _decision(48.0), {"blk": BLOCK_MASK, "call": np.ones(4)}, "America/Chicago"
    )
    assert over.over_hedged == (2, 8.0)  # 48 MW of block against a mean load of 40 MW


def test_ladder_rungs_and_tag_hours() -> None:
    ladder = content.ladder(_problem(), _decision(), "ercot")
    assert ladder.rungs == (LadderRung("training", 20.0, 100.0, 90.0, 90.0),)
    assert ladder.tag_hours == "2023-08-17 02:00 CDT"
    assert ladder.fixed == ()
    fixed = content.ladder(_problem(), replace(_decision(), follows_ladder=False), "ercot")
    assert fixed.rungs == () and fixed.fixed == (("training", 20.0),)


def test_schedule_panel_first_shed_price_and_price_band() -> None:
    panel = content.schedule(_problem(), _decision(), np.arange(3), "America/Chicago")
    assert panel.first_shed_usd_per_mwh["training"].tolist() == [100.0, 100.0, 90.0, 100.0]
    # Scenarios 0-2 (equal weights): lower P5 and P95 and the mean of each hour.
    assert panel.price_low_usd_per_mwh.tolist() == [50.0, 50.0, 50.0, 50.0]
    assert panel.price_high_usd_per_mwh.tolist() == [150.0, 150.0, 50.0, 50.0]
    assert panel.price_mean_usd_per_mwh == pytest.approx([250 / 3, 250 / 3, 50.0, 50.0])


@pytest.fixture(scope="module")
def valuation():
    return value_strategies(_problem(), _decision(), 0.75, basis="out of sample", resamples=50)


def test_strategy_rows_add_up_and_carry_the_valuation(valuation) -> None:
    rows = content.strategy_rows(valuation)
    assert [r.key for r in rows] == list(STRATEGIES)
    for row in rows:
        value = valuation.strategies[row.key]
        assert sum(row.lines_usd.values()) == pytest.approx(row.expected_usd, rel=1e-12)
        assert sum(row.per_gpu_hour(v) for v in row.lines_usd.values()) == pytest.approx(
            value.mean_lines["cost_per_gpu_hour_usd"], rel=1e-12
        )
        assert row.expected_usd == value.cost.expected_usd and row.cvar_usd == value.cost.cvar_usd
        assert row.cvar_band_usd == (value.cvar_interval.low, value.cvar_interval.high)
    both = rows[3].lines_usd
    # Payoffs 15 x 125 + 5 x 125 = 2,500 (a negative line); premiums 15 x 20 + 5 x 30 = 450.
    assert both["hedge_payoff_usd"] == pytest.approx(-2500.0)
    assert both["premium_usd"] == pytest.approx(450.0)
    assert rows[0].lines_usd["hedge_payoff_usd"] == 0.0
    assert set(both) == {k for k, _, _ in BREAKDOWN_LINES}


def test_frontier_chosen_point_is_the_valuations_both(valuation) -> None:
    points = [SimpleNamespace(cvar_weight=w, expected_cost_usd=e, cvar_usd=c)
              for w, e, c in ((0.0, 1.0, 9.0), (1.0, 2.0, 3.0))]  # fmt: skip
    f = content.frontier(points, valuation)
    assert f.lambdas.tolist() == [0.0, 1.0] and f.cvar_usd.tolist() == [9.0, 3.0]
    assert (f.chosen_expected_usd, f.chosen_cvar_usd) == (
        valuation.recommended.cost.expected_usd,
        valuation.recommended.cost.cvar_usd,
    )
    assert f.unhedged_cvar_usd == valuation.unhedged.cost.cvar_usd


def test_cost_distribution_and_stress_rows(valuation) -> None:
    dist = content.cost_distribution(valuation)
    hedged = valuation.costs["recommended"].cost_per_gpu_hour_usd
    # Four equal scenarios: P50 is the 2nd smallest value, P95 the largest (lower quantiles).
    assert dist.hedged_percentiles["P50"] == np.sort(hedged)[1]
    assert dist.hedged_percentiles["P95"] == np.sort(hedged)[3]
    assert dist.sample == "out of sample"
    kinds = np.array(["bootstrap", "bootstrap", "stress:uri", "stress:cap_4h"])
    rows = content.stress_rows(kinds, valuation)
    assert [r.event for r in rows] == ["uri", "cap_4h"]
    assert rows[1].hedged_usd == valuation.costs["recommended"].total_cost_usd[3]
    assert rows[0].unhedged_usd == valuation.costs["unhedged"].total_cost_usd[2]


def test_key_metrics() -> None:
    metrics = content.key_metrics(sample_report())
    assert metrics["trades"] == {"call_100_5x16": 12.5, "block_7x24": 95.5, "block_5x16": -3.0}
    assert metrics["schedule"] == {"train_flex": 720.0, "Campus A batch": 240.0}
    assert metrics["risk"]["CVaR 95% cost (out of sample, both)"] == ["$", 101_000.0]
    assert metrics["risk"]["Expected cost (out of sample, both)"] == ["$", 74_000.0]


def test_ancillary_rows_one_per_product_offered() -> None:
    def product(name, series, offered, revenue):
        dist = {"expected_usd": revenue, "p5_usd": revenue / 2, "p95_usd": revenue * 2}
        zero = {"expected_usd": 0.0, "p5_usd": 0.0, "p95_usd": 0.0}
        return {
            "name": name,
            "kind": name,
            "price_series": series,
            "largest_offer_mw": offered / 24,
            "offered_mw_h": offered,
            "revenue": dist,
            "penalty": zero,
            "called_mwh": 2.0,
            "delivered_mwh": 1.5,
            "work_cost": {**zero, "expected_usd": 300.0},
            "energy_saved": {**zero, "expected_usd": 100.0},
            "net_value": {**zero, "expected_usd": revenue - 200.0},
        }

    solution = SimpleNamespace(hedge_ratio=(), lot_rounding=None)
    offered = [product("ecrs", "ECRS", 480.0, 4_000.0), product("rrs", None, 0.0, 0.0)]
    section = content.trading(solution, ancillary=offered)
    (row,) = section.ancillary  # rrs offers nothing: no row
    assert (row.name, row.paid, row.offered_mw_h) == ("ecrs", "ECRS clearing price", 480.0)
    assert (row.revenue_p5_usd, row.revenue_usd, row.revenue_p95_usd) == (2_000.0, 4_000.0, 8_000.0)
    assert (row.work_cost_usd, row.energy_saved_usd, row.net_usd) == (300.0, 100.0, 3_800.0)
    assert content.trading(solution, ancillary=offered[1:]) is None
