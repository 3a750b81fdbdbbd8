"""Bid/ask in the optimiser: purchases pay the ask, sales receive the bid, so no self-arbitrage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from energyhedge.errors import ConfigError
from energyhedge.model.cost import product_cash_usd
from energyhedge.model.problem import HedgeProblem, Product
from energyhedge.optimize import SolveOptions, build_lp, solve
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import hedge_bounds, product_limits
from energyhedge.optimize.notional import least_notional_mw
from energyhedge.optimize.pyomo_model import solve_pyomo
from energyhedge.optimize.synthetic import synthetic_problem

FAST = SolveOptions(marginals=False)


def quoted(name, kind, payoff, mid, hours, *, spread, min_mw=-50.0, max_mw=50.0) -> Product:
    """A product quoted ``spread`` $/MWh either side of ``mid`` ($/MW over the horizon)."""
    return Product(
        name,
        kind,
        payoff,
        premium_usd_per_mw=mid + spread * hours,
        fair_premium_usd_per_mw=mid,
        sale_premium_usd_per_mw=mid - spread * hours,
        notional_hours=hours,
        min_mw=min_mw,
        max_mw=max_mw,
    )


def fair_forwards(problem: HedgeProblem, spread: float) -> HedgeProblem:
    """Replace the products by 7x24, peak (07-22) and off-peak blocks struck at the scenario mean
    price of each interval (fair: expected payoff 0), quoted ``spread`` $/MWh either side."""
    prices, h = problem.prices_usd_per_mwh, problem.interval_hours
    hour = np.arange(problem.n_intervals) % 24
    peak = (hour >= 7) & (hour < 23)
    forward = problem.probabilities @ prices
    products = []
    for name, mask in (("7x24", np.ones_like(peak)), ("peak", peak), ("offpeak", ~peak)):
        payoff = ((prices - forward) * h * mask).sum(axis=1)
        products.append(quoted(name, "block", payoff, 0.0, float(h @ mask), spread=spread))
    return dataclasses.replace(problem, products=tuple(products))


def raw_sides(problem: HedgeProblem, options: SolveOptions) -> tuple[np.ndarray, np.ndarray]:
    """MW bought and MW sold of each product [K], straight from the LP's columns."""
    lp = build_lp(problem, options)
    values = HighsRunner(lp, options.highs_options, options.time_limit_s).run().values
    bought = lp.cols["xb"].take(values)
    sold = np.zeros_like(bought)
    sold[hedge_bounds(*product_limits(problem))[2]] = lp.cols["xs"].take(values)
    return bought, sold


@pytest.fixture(scope="module")
def campus():
    return synthetic_problem(24, 60, seed=11)


@pytest.mark.parametrize("spread", [0.0, 0.01, 0.05])
def test_fair_forwards_at_lambda_zero_leave_the_book_empty(campus, spread):
    # A fair block changes no expected cost; a sale must not earn the buyer's price.
    problem = fair_forwards(campus, spread)
    options = dataclasses.replace(FAST, cvar_weight=0.0)
    bought, sold = raw_sides(problem, options)
    assert np.abs(bought).max() < 1e-6 and np.abs(sold).max() < 1e-6
    np.testing.assert_allclose(solve(problem, options).decision.product_mw, 0.0, atol=1e-6)


@pytest.mark.parametrize("spread", [0.01, 0.05])
@pytest.mark.parametrize("cvar_weight", [0.5, 4.0])
def test_no_product_is_both_bought_and_sold(campus, spread, cvar_weight):
    problem = fair_forwards(campus, spread)
    bought, sold = raw_sides(problem, dataclasses.replace(FAST, cvar_weight=cvar_weight))
    assert bought.max() > 1.0  # the campus does hedge
    assert np.minimum(bought, sold).max() < 1e-9


def two_scenarios(block_payoff, bid: float) -> HedgeProblem:
    """1 MW of firm load for one hour at $10 or $110 (equally likely); one block, ask $2/MW."""
    base = synthetic_problem(1, 2, seed=0)
    block = Product(
        "block",
        "block",
        np.asarray(block_payoff, dtype=float),
        premium_usd_per_mw=2.0,
        fair_premium_usd_per_mw=0.0,
        sale_premium_usd_per_mw=bid,
        notional_hours=1.0,
        min_mw=-2.0,
        max_mw=2.0,
    )
    return dataclasses.replace(
        base,
        interval_hours=np.ones(1),
        prices_usd_per_mwh=np.array([[10.0], [110.0]]),
        probabilities=np.array([0.5, 0.5]),
        firm_load_mw=np.ones(1),
        flex=(),
        products=(block,),
        dr_max_mw=0.0,
        dr_deployed=np.zeros((2, 1), dtype=bool),
        cp_weight_usd_per_mw=np.zeros((2, 1)),
    )


@pytest.mark.parametrize(("payoff", "want_mw"), [([-50.0, 50.0], 1.0), ([50.0, -50.0], -1.0)])
def test_hand_solved_two_scenarios_pay_the_spread(payoff, want_mw):
    # Buying x of a block paying [-50, 50] at $2: costs [10 + 52x, 110 - 48x]; selling y of the
    # mirror block at a bid of -$2 (the seller pays $2): the same [10 + 52y, 110 - 48y].
    # CVaR_0.5 is the larger cost: E + CVaR = 60 + 2x + max(...), least at x = 1: 62 + 62.
    problem = two_scenarios(payoff, bid=-2.0)
    sol = solve(problem, SolveOptions(alpha=0.5, cvar_weight=1.0, marginals=False))
    assert sol.decision.product_mw[0] == pytest.approx(want_mw, abs=1e-9)
    assert sol.objective_usd == pytest.approx(124.0, rel=1e-12)
    np.testing.assert_allclose(sol.scenario_cost_usd, [62.0, 62.0], rtol=1e-12)
    # At lambda 0.02 the hedge's risk relief (0.02 x 48 per MW) is below its $2 spread: no trade.
    sol = solve(problem, SolveOptions(alpha=0.5, cvar_weight=0.02, marginals=False))
    assert sol.decision.product_mw[0] == pytest.approx(0.0, abs=1e-9)
    assert sol.objective_usd == pytest.approx(60.0 + 0.02 * 110.0, rel=1e-12)


def test_a_sale_at_the_ask_would_be_a_free_lunch():
    # The same mirror block with its bid at the ask (+$2): selling 1 MW gives [58, 58], 116.
    problem = two_scenarios([50.0, -50.0], bid=2.0)
    sol = solve(problem, SolveOptions(alpha=0.5, cvar_weight=1.0, marginals=False))
    assert sol.decision.product_mw[0] == pytest.approx(-1.0, abs=1e-9)
    assert sol.objective_usd == pytest.approx(116.0, rel=1e-12)


def with_sellable_put(problem: HedgeProblem, spread: float) -> HedgeProblem:
    """The synthetic catalogue quoted ``spread`` $/MWh either side, plus a sellable $30 put."""
    h = problem.interval_hours
    hours = float(h.sum())
    put = np.maximum(30.0 - problem.prices_usd_per_mwh, 0.0) @ h
    products = [
        quoted(p.name, p.kind, p.payoff_usd_per_mw, p.fair_premium_usd_per_mw, hours, spread=spread)
        for p in problem.products
    ]
    products.append(
        quoted("put_30", "put", put, float(problem.probabilities @ put), hours, spread=spread)
    )
    return dataclasses.replace(problem, products=tuple(products))


@pytest.mark.parametrize("options", [FAST, dataclasses.replace(FAST, alpha=0.9, cvar_weight=3.0)])
def test_array_build_equals_pyomo_with_sales(options):
    problem = with_sellable_put(synthetic_problem(24, 40, seed=5), spread=0.2)
    fast = solve(problem, options)
    ref = solve_pyomo(problem, options)
    assert fast.decision.product_mw.min() < -1.0  # something is sold
    assert fast.objective_usd == pytest.approx(ref["objective_usd"], rel=1e-6)
    np.testing.assert_allclose(fast.scenario_cost_usd, ref["scenario_cost_usd"], rtol=1e-5, atol=1)


def test_least_notional_keeps_each_scenarios_cash_on_both_sides(campus):
    problem = fair_forwards(campus, spread=0.05)
    cash = problem.products  # 7x24, peak, off-peak: 7x24 = peak + off-peak, premiums included

    def same_cash(a, b):
        np.testing.assert_allclose(
            product_cash_usd(problem, a).sum(axis=1), product_cash_usd(problem, b).sum(axis=1)
        )

    for held, want in (([0, 5, 5], [5, 0, 0]), ([0, -5, -5], [-5, 0, 0])):
        reduced = least_notional_mw(problem, np.array(held, dtype=float))
        np.testing.assert_allclose(reduced, want, atol=1e-9)
        same_cash(reduced, held)
    # Buying peak and selling 7x24 pays two spreads; selling off-peak alone pays one, so the
    # cash flow differs and the book is kept as it is.
    held = np.array([-5.0, 5.0, 0.0])
    np.testing.assert_allclose(least_notional_mw(problem, held), held)
    no_spread = fair_forwards(campus, spread=0.0)
    np.testing.assert_allclose(least_notional_mw(no_spread, held), [0, 0, -5], atol=1e-9)
    assert len(cash) == 3


def test_crossed_quote_is_refused_before_building():
    crossed = two_scenarios([-50.0, 50.0], bid=3.0)  # bid $3 above the $2 ask
    with pytest.raises(ConfigError, match=r"product 'block': bid \$3\.00/MW exceeds ask \$2\.00"):
        solve(crossed, FAST)
    buy_only = dataclasses.replace(
        crossed, products=(dataclasses.replace(crossed.products[0], min_mw=0.0),)
    )
    assert solve(buy_only, FAST).status == "Optimal"  # a bid that cannot be hit does not matter
