"""build_problem on a 2-interval, 2-scenario campus and catalogue with every array by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from energyhedge import assemble
from energyhedge.assemble import build_problem, struck_catalogue
from energyhedge.campus import load_campus
from energyhedge.errors import ConfigError, InfeasibleError
from energyhedge.instruments import load_catalogue, payoff_usd_per_mwh
from energyhedge.model.cost import premium_usd, product_cash_usd
from energyhedge.scenarios.scenario_set import ScenarioSet

REPO = Path(__file__).resolve().parents[1]

# PUE 1.25, 1 kW IT per GPU, 20 % idle.
# inference: 800 GPUs x (0.2 + 0.8 x 0.5) x 1.25 / 1000 = 0.6 MW, 400 GPU-h per hour
# fast: 4000 GPUs -> base 1.0 MW, flexible 4.0 MW, 1000 GPU-h/MWh, break-even $2,000/MWh
# slow: 2000 GPUs -> base 0.5 MW, flexible 2.0 MW, 1000 GPU-h/MWh, break-even $1,000/MWh
CAMPUS = """
[site]
name = "tiny"
iso = "ercot"
node = "LZ_NORTH"
grid_limit_mw = 10.0
pue = 1.25

[[gpu]]
name = "g"
it_kw_per_gpu = 1.0
idle_fraction = 0.2

[[inference]]
name = "inf"
gpu = "g"
gpus = 800
utilisation = 0.5
value_usd_per_gpu_hour = 4.0

[[training]]
name = "slow"
gpu = "g"
gpus = 2000
value_usd_per_gpu_hour = 1.0
flex_tier = 2
notice = "day_ahead"
ramp_mw_per_h = 1.5
unserved_usd_per_gpu_hour = 0.5

[[training]]
name = "fast"
gpu = "g"
gpus = 4000
value_usd_per_gpu_hour = 2.0
flex_tier = 3

[coincident_peak]
kind = "4cp"
rate_usd_per_mw = 80000.0
months = [8]
hours_ending = [17, 18]
probability_per_hour = 0.01

[[dr_programme]]
name = "ers"
kind = "ers"
availability_usd_per_mw_h = 5.0
max_mw = 2.0
trigger_usd_per_mwh = 1000.0
penalty_usd_per_mwh = 300.0
hours_ending = [17]

[[curtailment_event]]
name = "shed"
start = 2025-08-20T17:00:00
hours = 1.0
max_campus_mw = 4.0
"""

CATALOGUE = """
[catalogue]
iso = "ercot"
node = "LZ_NORTH"
market = "rtm"

[[product]]
name = "block_100"
kind = "block"
shape = "7x24"
tenor = "horizon"
price_usd_per_mwh = 100.0
min_mw = -5.0
max_mw = 5.0

[[product]]
name = "call_500"
kind = "call"
shape = "5x16"
tenor = "horizon"
strike_usd_per_mwh = 500.0
loading = 0.1

[[product]]
name = "scarcity_quoted"
kind = "scarcity"
shape = "7x24"
tenor = "horizon"
strike_usd_per_mwh = 1000.0
payout_cap_usd_per_mwh = 1500.0
premium_usd_per_mwh = 20.0

[[product]]
name = "heat_rate"
kind = "heat_rate_call"
shape = "5x16"
tenor = "horizon"
heat_rate_mmbtu_per_mwh = 10.0
gas_usd_per_mmbtu = 5.0
loading = 0.2

[[product]]
name = "block_forward"
kind = "block"
shape = "5x16"
tenor = "horizon"
loading = 0.1
min_mw = -5.0

[[product]]
name = "call_day_quote"
kind = "call"
shape = "5x16"
start = 2025-08-20
end = 2025-08-20
strike_usd_per_mwh = 500.0
premium_usd_per_mw = 1600.0
"""

# Wednesday 2025-08-20, HE17 and HE18 Central daylight time (on-peak, in the 4CP window).
STAMPS = np.array(["2025-08-20T21:00", "2025-08-20T22:00"], dtype="datetime64[us]")
PRICES = np.array([[50.0, 2000.0], [1200.0, 30.0]])
PROBS = np.array([0.25, 0.75])


def scenarios(node="LZ_NORTH", prices=PRICES) -> ScenarioSet:
    return ScenarioSet(
        iso="ercot",
        market="rtm",
        node=node,
        interval_start_utc=STAMPS,
        interval_minutes=60,
        prices_usd_per_mwh=prices,
        probabilities=PROBS,
        kind=np.array(["test", "test"]),
    )


@pytest.fixture
def files(tmp_path):
    campus, catalogue = tmp_path / "campus.toml", tmp_path / "contracts.toml"
    campus.write_text(CAMPUS)
    catalogue.write_text(CATALOGUE)
    return campus, catalogue


def build(files, text=None, **kw):
    campus, catalogue = files
    if text is not None:
        campus.write_text(text)
    return build_problem(load_campus(campus), load_catalogue(catalogue), scenarios(), **kw)


def test_every_array_by_hand(files):
    p = build(files)
    assert p.interval_hours.tolist() == [1.0, 1.0]
    assert np.array_equal(p.prices_usd_per_mwh, PRICES)
    assert np.array_equal(p.probabilities, PROBS)
    np.testing.assert_allclose(p.firm_load_mw, [2.1, 2.1])  # 0.6 + 1.0 + 0.5
    np.testing.assert_allclose(p.firm_gpu_hours, [400.0, 400.0])
    assert p.firm_value_usd_per_gpu_hour == pytest.approx(4.0)
    assert p.grid_limit_mw == 10.0

    slow, fast = p.flex
    # event 17:00-18:00 CDT covers interval 2 (HE18): headroom 4.0 - 2.1 = 1.9 MW goes to
    # "fast" (break-even $2,000 > $1,000), nothing left for "slow".
    np.testing.assert_allclose(fast.max_mw, [4.0, 1.9])
    np.testing.assert_allclose(slow.max_mw, [2.0, 0.0])
    assert fast.gpu_hours_per_mwh == pytest.approx(1000.0)
    assert slow.gpu_hours_per_mwh == pytest.approx(1000.0)
    assert fast.break_even_usd_per_mwh == pytest.approx(2000.0)
    assert (slow.rt_curtailable, fast.rt_curtailable) == (False, True)
    assert (slow.ramp_mw_per_h, fast.ramp_mw_per_h) == (1.5, float("inf"))
    # Flex 2 tolerates 25 % loss: 0.75 x (2.0 MWh x 1000 GPU-h/MWh) = 1500 GPU-h
    assert slow.work_requirement_gpu_hours == pytest.approx(1500.0)
    assert slow.unserved_usd_per_gpu_hour == 0.5
    assert fast.work_requirement_gpu_hours == 0.0  # no unserved cost, no requirement
    assert fast.curve_power_frac[0] == 0.0 and fast.curve_work_frac[-1] == 1.0

    products = {k.name: k for k in p.products}
    # On-peak (5x16) and 7x24 both cover the two hours: notional 2 h each.
    expected = {
        # name: (payoff per MW [s0, s1], ask, bid, mid, pricing)
        # fixed-price block: the swap at 100, no premium on either side
        "block_100": ([1850.0, 1030.0], 0.0, 0.0, 1235.0, "quote"),
        # mid 0.25 x 1500 + 0.75 x 700 = 900; ask 900 x 1.1, bid 900 x 0.9
        "call_500": ([1500.0, 700.0], 990.0, 810.0, 900.0, "model"),
        # quoted $20/MWh x 2 h sets both sides; mid 0.25 x 500 + 0.75 x 200
        "scarcity_quoted": ([500.0, 200.0], 40.0, 40.0, 275.0, "quote"),
        # strike 10 x 5 = 50; mid 1350; ask x 1.2, bid x 0.8
        "heat_rate": ([1950.0, 1150.0], 1620.0, 1080.0, 1350.0, "model"),
        # forward F = (0.25 x 2050 + 0.75 x 1230) / 2 = 717.5, payoff sum (P - F): mid 0;
        # bought at F + 0.1 x F (x 2 h = 143.5 $/MW), sold at F - 0.1 x F
        "block_forward": ([615.0, -205.0], 143.5, -143.5, 0.0, "model"),
        # $1,600 per MW for the 16 on-peak hours of 20 Aug; 2 of them in the horizon
        "call_day_quote": ([1500.0, 700.0], 200.0, 200.0, 900.0, "quote"),
    }
    assert list(products) == list(expected)
    for name, (payoff, ask, bid, mid, pricing) in expected.items():
        k = products[name]
        np.testing.assert_allclose(k.payoff_usd_per_mw, payoff, err_msg=name)
        assert k.premium_usd_per_mw == pytest.approx(ask), name
        assert k.bid_usd_per_mw == pytest.approx(bid), name
        assert k.fair_premium_usd_per_mw == pytest.approx(mid), name
        assert k.notional_hours == 2.0, name
        assert k.meta["pricing"] == pricing, name
    assert (products["block_100"].min_mw, products["block_100"].max_mw) == (-5.0, 5.0)
    assert products["block_100"].meta["strike_usd_per_mwh"] == 100.0
    assert products["block_forward"].meta["strike_usd_per_mwh"] == pytest.approx(717.5)
    assert products["block_forward"].sellable and not products["call_500"].sellable
    assert products["call_500"].meta["shape"] == "5x16"

    np.testing.assert_allclose(p.dr_price_usd_per_mw_h, [[[5.0, 0.0]] * 2])  # HE17 only
    assert p.dr_max_mw.tolist() == [2.0] and p.dr_names == ("ers",)
    assert p.dr_penalty_usd_per_mwh.tolist() == [300.0]
    assert p.dr_deployed.tolist() == [[[False, False], [True, False]]]
    # 80,000 $/MW / 4 peaks x 0.01 per hour
    np.testing.assert_allclose(p.cp_weight_usd_per_mw, [[200.0, 200.0], [200.0, 200.0]])


def test_gas_per_scenario_array(files):
    gas = np.array([[5.0, 100.0], [200.0, 2.0]])  # strikes [[50, 1000], [2000, 20]]
    p = build(files, gas=gas)
    heat_rate = next(k for k in p.products if k.name == "heat_rate")
    np.testing.assert_allclose(heat_rate.payoff_usd_per_mw, [1000.0, 10.0])
    with pytest.raises(ConfigError, match=r"gas prices have shape \(3,\)"):
        build(files, gas=np.ones(3))


def test_event_below_firm_load_is_infeasible(files):
    with pytest.raises(
        InfeasibleError, match=r"event 'shed' allows 2 MW but the firm load is 2\.10"
    ):
        build(files, CAMPUS.replace("max_campus_mw = 4.0", "max_campus_mw = 2.0"))


def test_firm_load_above_grid_limit_is_infeasible(files):
    with pytest.raises(InfeasibleError, match="exceeds the grid limit 2 MW"):
        build(files, CAMPUS.replace("grid_limit_mw = 10.0", "grid_limit_mw = 2.0"))


def test_settlement_point_mismatch(files):
    campus, catalogue = files
    with pytest.raises(ConfigError, match="campus settles at ercot/LZ_NORTH/rtm but the scen"):
        build_problem(load_campus(campus), load_catalogue(catalogue), scenarios("LZ_WEST"))


def test_unknown_dr_programme(files):
    with pytest.raises(ConfigError, match="no dr_programme named 'ecrs'; known: ers"):
        build(files, dr_programme="ecrs")


def test_worked_example_event_totals():
    """The virtual-peaker contract on the tx-100mw campus, 4 hours at $9,000/MWh."""
    campus = load_campus(REPO / "models/campus/tx-100mw.toml")
    catalogue = load_catalogue(REPO / "models/contracts/virtual-peaker-example.toml")
    stamps = np.datetime64("2023-08-18T00:00", "us") + np.arange(4) * np.timedelta64(1, "h")
    event = ScenarioSet(
        "ercot",
        "rtm",
        "LZ_HOUSTON",
        stamps,
        60,
        np.full((1, 4), 9000.0),
        np.ones(1),
        np.array(["stress"]),
    )
    p = build_problem(campus, catalogue, event)
    (k,) = p.products
    assert k.payoff_usd_per_mw[0] * 70 == pytest.approx(2_240_000.0)
    assert k.premium_usd_per_mw * 70 == pytest.approx(120_000.0)
    (flex,) = p.flex
    assert flex.break_even_usd_per_mwh == pytest.approx(3000.0)
    np.testing.assert_allclose(flex.max_mw, 70.0)
    np.testing.assert_allclose(p.firm_load_mw, 30.0)
    assert p.firm_value_usd_per_gpu_hour == pytest.approx(3.75)


def test_blocked_payoff_sum_equals_full_array(files, monkeypatch):
    """Summing payoffs in scenario blocks on the product's columns changes nothing."""
    campus, catalogue = files
    cat = load_catalogue(catalogue)
    rng = np.random.default_rng(7)
    stamps = np.datetime64("2025-08-18T05:00", "us") + np.arange(72) * np.timedelta64(1, "h")
    prices = rng.lognormal(4.0, 1.5, (5, 72))
    big = ScenarioSet(
        "ercot", "rtm", "LZ_NORTH", stamps, 60, prices, np.full(5, 0.2), np.array(["t"] * 5)
    )
    gas = rng.uniform(2, 6, (5, 72))
    monkeypatch.setattr(assemble, "_BLOCK_ELEMENTS", 7)  # 1 scenario per block
    p = build_problem(load_campus(campus), cat, big, gas=gas)
    for spec, product in zip(cat, p.products, strict=True):
        if spec.kind == "block" and spec.fixed_price_usd_per_mwh is None:
            continue
        full = payoff_usd_per_mwh(spec, prices, stamps, 60, gas=gas) @ big.interval_hours
        np.testing.assert_allclose(product.payoff_usd_per_mw, full, rtol=1e-12, err_msg=spec.name)


# Books over the catalogue's products, in catalogue order:
# block_100, call_500, scarcity_quoted, heat_rate, block_forward, call_day_quote.
BOUGHT = np.array([3.0, 2.0, 1.0, 1.0, 2.0, 1.0])
SOLD = np.array([-3.0, -1.0, 0.0, 0.0, -4.0, 0.0])


def traded(files, product_mw):
    """The problem decided on, and the catalogue struck at what ``product_mw`` traded."""
    campus, catalogue = load_campus(files[0]), load_catalogue(files[1])
    problem = build_problem(campus, catalogue, scenarios())
    return campus, problem, struck_catalogue(catalogue, problem, product_mw)


@pytest.mark.parametrize(
    ("book", "prices"),
    [
        # every product bought: blocks at their ask, options at their ask per MWh (2 h)
        (BOUGHT, [100.0, 495.0, 20.0, 810.0, 717.5 * 1.1, 100.0]),
        # sold: block_forward at forward x (1 - loading), call_500 at its bid 810 / 2 h;
        # products not held keep their ask (options) or their mid reference (blocks)
        (SOLD, [100.0, 405.0, 20.0, 810.0, 717.5 * 0.9, 100.0]),
        (np.zeros(6), [100.0, 495.0, 20.0, 810.0, 717.5, 100.0]),
    ],
)
def test_struck_catalogue_fixes_each_product_at_its_traded_price(files, book, prices):
    _, _, struck = traded(files, book)
    original = load_catalogue(files[1])
    for spec, before, price in zip(struck.products, original.products, prices, strict=True):
        assert spec.loading == 0.0 and spec.premium_usd_per_mw is None, spec.name
        assert (spec.shape, spec.start, spec.end) == (before.shape, before.start, before.end)
        assert (spec.min_mw, spec.max_mw) == (before.min_mw, before.max_mw)
        if spec.kind == "block":
            assert spec.fixed_price_usd_per_mwh == pytest.approx(price, rel=1e-12), spec.name
            assert spec.premium_usd_per_mwh is None
        else:
            assert spec.premium_usd_per_mwh == pytest.approx(price, rel=1e-12), spec.name
            assert spec.strike_usd_per_mwh == before.strike_usd_per_mwh


@pytest.mark.parametrize(
    ("book", "premium", "cash"),
    [
        # premium 2 x 990 + 40 + 1620 + 200 (+ 2 x 143.5 block spread, in the struck payoff)
        # cash s0: -5550 - 1020 - 460 - 330 - 943 - 1300; s1: -3090 + 580 - 160 + 470 + 697 - 500
        (BOUGHT, 3_840.0, [-9_603.0, -2_003.0]),
        # premium: the call sold at its bid 810; cash s0: 5550 + 690 + 4 x 758.5,
        # s1: 3090 - 110 - 4 x 61.5 (block_forward sold at 645.75: payoffs 758.5, -61.5)
        (SOLD, -810.0, [9_274.0, 2_734.0]),
    ],
)
def test_struck_problem_charges_exactly_the_traded_cash(files, book, premium, cash):
    campus, problem, struck = traded(files, book)
    again = build_problem(campus, struck, scenarios())
    assert premium_usd(again, book) == pytest.approx(premium)
    np.testing.assert_allclose(product_cash_usd(again, book).sum(axis=1), cash, rtol=1e-12)
    np.testing.assert_allclose(
        product_cash_usd(again, book), product_cash_usd(problem, book), rtol=1e-12, atol=1e-9
    )


def test_struck_problem_on_fresh_prices_keeps_the_traded_prices(files):
    campus, _, struck = traded(files, BOUGHT)
    fresh = build_problem(
        campus, struck, scenarios(prices=np.array([[100.0, 900.0], [3000.0, 10.0]]))
    )
    k = {p.name: p for p in fresh.products}
    # The fresh call mid would be 0.25 x 400 + 0.75 x 2500 = 1975; the struck one pays 990.
    assert k["call_500"].premium_usd_per_mw == pytest.approx(990.0)
    np.testing.assert_allclose(k["call_500"].payoff_usd_per_mw, [400.0, 2500.0])
    # The block settles against 789.25, not the fresh forward: sum (P - 789.25) x 1 h.
    assert k["block_forward"].meta["strike_usd_per_mwh"] == pytest.approx(789.25)
    assert k["block_forward"].premium_usd_per_mw == 0.0
    np.testing.assert_allclose(k["block_forward"].payoff_usd_per_mw, [-578.5, 1431.5])


def test_commitment_keys_reach_the_job_class(files):
    assert not any(f.committed for f in build(files).flex)
    text = (
        files[0]
        .read_text()
        .replace(
            "[[training]]",
            "[[training]]\nmin_run_h = 3.0\nmin_off_h = 2.0\nmin_power_frac = 0.25",
            1,
        )
    )
    first, second = build(files, text).flex
    assert (first.min_run_h, first.min_off_h, first.min_power_frac) == (3.0, 2.0, 0.25)
    assert first.committed and not second.committed
