"""Trading in lots, hedge-ratio limits and executable mark prices in the optimiser, on a campus
small enough to solve by hand.

The hand campus: 10 MW firm load for the 24 hours of Thursday 2023-08-17 (ERCOT), no flexible
work; four equally likely scenarios whose 16 on-peak (5x16) hours are at P_s in {50, 80, 120,
250} $/MWh and whose 8 other hours are at 25. A 5x16 block struck at the mean F = 125 with no
spread pays 16 x (P_s - F) per MW, so x MW leave the cost C_s = 16 F x + 16 P_s (10 - x) + 2000:
E[C] = 22,000 whatever x, and CVaR 95 % (the worst scenario, P = 250) = 22,000 + 16 x 125 x
(10 - x) for x <= 10. At lambda 1 the optimum is the full hedge x = 10 (objective 44,000).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from energyhedge.errors import InfeasibleError
from energyhedge.forwards import parse_marks, price_product
from energyhedge.instruments import ProductSpec
from energyhedge.model.problem import FlexClass, HedgeProblem, Product
from energyhedge.optimize import SolveOptions, solve
from energyhedge.optimize.lots import fixed_at, round_to_lots
from energyhedge.optimize.options import HedgeRatioLimit
from energyhedge.optimize.pyomo_model import solve_pyomo

STAMPS = np.datetime64("2023-08-17T05:00", "us") + np.arange(24) * np.timedelta64(1, "h")
PEAK = (np.arange(24) >= 6) & (np.arange(24) < 22)  # HE07-HE22 local (CDT)
PEAK_PRICES = np.array([50.0, 80.0, 120.0, 250.0])
FAST = SolveOptions(alpha=0.95, cvar_weight=1.0, marginals=False)


def campus(products: tuple[Product, ...], prices: np.ndarray | None = None) -> HedgeProblem:
    if prices is None:
        prices = np.where(PEAK[None, :], PEAK_PRICES[:, None], 25.0)
    s_n, t_n = prices.shape
    return HedgeProblem(
        interval_start_utc=STAMPS,
        interval_hours=np.ones(t_n),
        prices_usd_per_mwh=prices,
        probabilities=np.full(s_n, 1.0 / s_n),
        firm_load_mw=np.full(t_n, 10.0),
        firm_gpu_hours=np.zeros(t_n),
        firm_value_usd_per_gpu_hour=0.0,
        flex=(),
        grid_limit_mw=100.0,
        products=products,
        dr_price_usd_per_mw_h=np.zeros(t_n),
        dr_max_mw=0.0,
        dr_deployed=np.zeros((s_n, t_n), dtype=bool),
        dr_penalty_usd_per_mwh=0.0,
        cp_weight_usd_per_mw=np.zeros((s_n, t_n)),
    )


def peak_block(lot_mw: float = 0.0, min_trade_mw: float = 0.0, max_mw: float = 50.0) -> Product:
    forward = float(PEAK_PRICES.mean())
    return Product(
        "block_5x16",
        "block",
        16.0 * (PEAK_PRICES - forward),
        premium_usd_per_mw=0.0,
        fair_premium_usd_per_mw=0.0,
        sale_premium_usd_per_mw=0.0,
        notional_hours=16.0,
        min_mw=-max_mw,
        max_mw=max_mw,
        meta={
            "iso": "ercot",
            "node": "LZ_HOUSTON",
            "market": "rtm",
            "shape": "5x16",
            "start": "horizon",
            "end": "horizon",
            "strike_usd_per_mwh": forward,
            "lot_mw": lot_mw,
            "min_trade_mw": min_trade_mw,
            "pricing": "mark",
        },
    )


def limited(*limits: HedgeRatioLimit) -> SolveOptions:
    return dataclasses.replace(FAST, hedge_ratio=limits)


def test_hand_campus_hedges_fully_without_limits():
    solution = solve(campus((peak_block(),)), FAST)
    assert solution.decision.product_mw[0] == pytest.approx(10.0, abs=1e-6)
    assert solution.objective_usd == pytest.approx(44_000.0, rel=1e-9)
    assert solution.lot_rounding is None and solution.hedge_ratio == ()


def test_binding_hedge_ratio_limit_holds_the_net_mw_at_the_limit():
    solution = solve(campus((peak_block(),)), limited(HedgeRatioLimit("5x16", 0.0, 0.5)))
    assert solution.decision.product_mw[0] == pytest.approx(5.0, abs=1e-6)
    (limit,) = solution.hedge_ratio
    assert (limit.shape, limit.binding) == ("5x16", "upper")
    assert (limit.load_mw, limit.net_mw, limit.ratio) == pytest.approx((10.0, 5.0, 0.5))
    # CVaR falls by 16 x 125 = 2,000 $ per MW of hedge up to 10 MW: the bound's shadow price
    assert limit.dual_usd_per_mw == pytest.approx(2_000.0, rel=1e-6)
    assert solution.objective_usd == pytest.approx(22_000.0 + 22_000.0 + 2_000.0 * 5, rel=1e-9)


def test_binding_limit_keeps_its_shadow_price_when_trading_in_lots():
    problem = campus((peak_block(lot_mw=1.0, min_trade_mw=1.0),))
    solution = solve(problem, limited(HedgeRatioLimit("5x16", 0.0, 0.5)))
    assert solution.decision.product_mw.tolist() == [5.0]
    (limit,) = solution.hedge_ratio
    assert limit.binding == "upper"
    assert limit.dual_usd_per_mw == pytest.approx(2_000.0, rel=1e-6)


def test_pyomo_reference_has_the_same_hedge_ratio_rows():
    idle = FlexClass("idle", np.zeros(24), 800.0, 1.0, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    problem = dataclasses.replace(campus((peak_block(),)), flex=(idle,))  # pyomo needs a class
    options = limited(HedgeRatioLimit("7x24", 0.0, 0.5))
    reference = solve_pyomo(problem, options)
    assert reference["objective_usd"] == pytest.approx(solve(problem, options).objective_usd)
    assert reference["objective_usd"] == pytest.approx(22_000.0 + 22_000.0 + 2_000.0 * 2.5)


def test_slack_hedge_ratio_limit_does_not_bind():
    solution = solve(campus((peak_block(),)), limited(HedgeRatioLimit("5x16", -0.1, 1.5)))
    (limit,) = solution.hedge_ratio
    assert limit.net_mw == pytest.approx(10.0, abs=1e-6)
    assert limit.binding is None and limit.dual_usd_per_mw == 0.0
    assert solution.objective_usd == pytest.approx(44_000.0, rel=1e-9)


def test_a_block_counts_by_its_share_of_the_limits_hours():
    """A 5x16 block delivers in 16 of 7x24's 24 hours: at most 5 MW mean means 7.5 MW."""
    solution = solve(campus((peak_block(),)), limited(HedgeRatioLimit("7x24", 0.0, 0.5)))
    assert solution.decision.product_mw[0] == pytest.approx(7.5, abs=1e-6)
    assert solution.hedge_ratio[0].binding == "upper"


def test_shape_without_hours_in_the_horizon_gives_no_row():
    solution = solve(campus((peak_block(),)), limited(HedgeRatioLimit("2x16", 0.0, 0.1)))
    assert solution.hedge_ratio == ()
    assert solution.decision.product_mw[0] == pytest.approx(10.0, abs=1e-6)


def test_unreachable_hedge_ratio_is_explained():
    options = limited(HedgeRatioLimit("5x16", 0.5, 1.0))
    with pytest.raises(InfeasibleError, match=r"hedge-ratio limits \(5x16 \[0.5, 1\]"):
        solve(campus((peak_block(max_mw=2.0),)), options)


def test_round_to_lots_nearest_and_toward_zero():
    products = tuple(
        dataclasses.replace(peak_block(lot_mw=1.0, min_trade_mw=2.0), name=f"p{k}")
        for k in range(5)
    )
    problem = campus(products)
    x = np.array([0.2, 1.2, 2.6, -3.4, 60.0])
    assert round_to_lots(problem, x).tolist() == [0.0, 2.0, 3.0, -3.0, 50.0]
    assert round_to_lots(problem, x, toward_zero=True).tolist() == [0.0, 0.0, 2.0, -3.0, 50.0]


def test_lots_are_respected_and_rounding_cost_is_the_objective_difference():
    """Lots of 3 MW: the 10 MW optimum rounds to 9 MW; by hand the CVaR rises by 2,000 $."""
    problem = campus((peak_block(lot_mw=3.0, min_trade_mw=3.0),))
    solution = solve(problem, FAST)
    rounding = solution.lot_rounding
    assert solution.decision.product_mw.tolist() == [9.0]
    assert rounding.continuous_mw[0] == pytest.approx(10.0, abs=1e-6)
    assert rounding.rule == "nearest lot"
    free = solve(campus((peak_block(),)), FAST).objective_usd
    at_nine = solve(fixed_at(campus((peak_block(),)), np.array([9.0])), FAST).objective_usd
    assert rounding.cost_usd == pytest.approx(at_nine - free, rel=1e-9)
    assert rounding.cost_usd == pytest.approx(2_000.0, rel=1e-9)
    assert solution.objective_usd == pytest.approx(46_000.0, rel=1e-9)


def test_a_fraction_of_a_lot_is_never_recommended():
    """The limit allows 0.2 MW; lots of 1 MW (minimum 1) make it no trade, at a cost of
    16 x 125 x 0.2 = 400 $ of CVaR."""
    problem = campus((peak_block(lot_mw=1.0, min_trade_mw=1.0),))
    solution = solve(problem, limited(HedgeRatioLimit("5x16", 0.0, 0.02)))
    assert solution.lot_rounding.continuous_mw[0] == pytest.approx(0.2, abs=1e-6)
    assert solution.decision.product_mw.tolist() == [0.0]
    assert solution.lot_rounding.cost_usd == pytest.approx(400.0, rel=1e-6)


def test_lots_round_toward_zero_when_the_nearest_lot_breaks_a_limit():
    problem = campus((peak_block(lot_mw=2.0),))
    solution = solve(problem, limited(HedgeRatioLimit("5x16", 0.3, 0.55)))
    assert solution.decision.product_mw.tolist() == [4.0]  # 5.5 -> 6 breaks 5.5; 4 >= 3
    assert solution.lot_rounding.rule == "toward zero"
    with pytest.raises(InfeasibleError, match="no book in lots meets the run's limits"):
        solve(problem, limited(HedgeRatioLimit("5x16", 0.5, 0.55)))


HEADER = "iso,settlement_point,market,shape,period,bid_usd_per_mwh,ask_usd_per_mwh,as_of,source"


@pytest.mark.parametrize("spread", [0.0, 0.5, 5.0])
def test_no_self_arbitrage_at_fair_marks_at_lambda_zero(spread):
    """Scenario means equal the mids (antithetic noise): at lambda 0 no book beats none."""
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 30.0, (10, 24))
    base = np.where(PEAK, 120.0, 30.0)
    prices = base + np.vstack([noise, -noise])  # exact mean: 120 on peak, 30 off peak
    rows = [
        f"ercot,LZ_HOUSTON,rtm,{shape},BOM-2023-08,{mid - spread},{mid + spread},2023-08-16,s"
        for shape, mid in (("5x16", 120.0), ("7x8", 30.0), ("7x24", 90.0))
    ]
    marks = parse_marks("\n".join([HEADER, *rows]) + "\n")
    products = []
    for shape in ("5x16", "7x8", "7x24"):
        spec = ProductSpec(
            f"block_{shape}", "block", "ercot", "LZ_HOUSTON", "rtm", shape, None, None, -50, 50
        )
        mark = price_product(spec, marks, STAMPS)
        mask = PEAK if shape == "5x16" else ~PEAK if shape == "7x8" else np.ones(24, bool)
        hours = float(mask.sum())
        products.append(
            Product(
                spec.name,
                "block",
                ((prices - mark.mid_usd_per_mwh) * mask).sum(axis=1),
                premium_usd_per_mw=(mark.ask_usd_per_mwh - mark.mid_usd_per_mwh) * hours,
                fair_premium_usd_per_mw=0.0,
                sale_premium_usd_per_mw=(mark.bid_usd_per_mwh - mark.mid_usd_per_mwh) * hours,
                notional_hours=hours,
                min_mw=-50.0,
                max_mw=50.0,
                meta={"iso": "ercot", "shape": shape, "lot_mw": 1.0, "pricing": "mark"},
            )
        )
    solution = solve(campus(tuple(products), prices), dataclasses.replace(FAST, cvar_weight=0.0))
    assert np.abs(solution.decision.product_mw).max() < 1e-6
