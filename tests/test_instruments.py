"""Product payoffs against hand-computed values (a DST day included) and catalogue validation."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from energyhedge.errors import ConfigError, DataError
from energyhedge.instruments import (
    ProductSpec,
    gas_by_interval,
    load_catalogue,
    load_gas_series,
    payoff_usd_per_mwh,
    product_mask,
)

REPO = Path(__file__).resolve().parents[1]

# Sunday 2023-11-05 is the Central fall-back day: 06:00 and 07:00 UTC are both 01:00 local.
STAMPS = np.array(
    [
        "2023-11-05T06:00",  # 01:00 CDT, HE02, Sunday -> 7x8
        "2023-11-05T07:00",  # 01:00 CST, HE02 again -> 7x8
        "2023-11-05T18:00",  # 12:00 CST, HE13, Sunday -> 2x16
        "2023-11-06T18:00",  # 12:00 CST, HE13, Monday -> 5x16
    ],
    dtype="datetime64[us]",
)
PRICES = np.array([[100.0, -20.0, 1500.0, 50.0], [30.0, 40.0, 9000.0, 5200.0]])


def spec(**kw) -> ProductSpec:
    base = dict(
        name="p",
        kind="call",
        iso="ercot",
        node="LZ_HOUSTON",
        market="rtm",
        shape="7x24",
        start=None,
        end=None,
        min_mw=0.0,
        max_mw=100.0,
    )
    return ProductSpec(**{**base, **kw})


def pay(s: ProductSpec, prices=PRICES, gas=None) -> np.ndarray:
    return payoff_usd_per_mwh(s, prices, STAMPS, 60, gas=gas)


def test_block_5x16_pays_price_minus_fixed_on_peak_weekday_only():
    got = pay(spec(kind="block", shape="5x16", fixed_price_usd_per_mwh=60.0, min_mw=-50.0))
    assert got.tolist() == [[0, 0, 0, -10], [0, 0, 0, 5140]]


def test_call_7x8_counts_both_repeated_hours():
    got = pay(spec(kind="call", shape="7x8", strike_usd_per_mwh=35.0))
    assert got.tolist() == [[65, 0, 0, 0], [0, 5, 0, 0]]


def test_scarcity_with_payout_cap():
    got = pay(spec(kind="scarcity", strike_usd_per_mwh=1000.0, payout_cap_usd_per_mwh=5000.0))
    assert got.tolist() == [[0, 0, 500, 0], [0, 0, 4000, 4000]]
    uncapped = pay(spec(kind="scarcity", strike_usd_per_mwh=1000.0))
    assert uncapped.tolist() == [[0, 0, 500, 0], [0, 0, 8000, 4200]]


def test_heat_rate_call_constant_daily_and_scenario_gas():
    hr = spec(
        kind="heat_rate_call",
        shape="7x24",
        heat_rate_mmbtu_per_mwh=10.0,
        vom_usd_per_mwh=2.0,
        gas_usd_per_mmbtu=3.5,
    )
    # strike 10 x 3.5 + 2 = 37
    assert pay(hr).tolist() == [[63, 0, 1463, 13], [0, 3, 8963, 5163]]
    days = np.array(["2023-11-04", "2023-11-05", "2023-11-06"], dtype="datetime64[D]")
    daily = gas_by_interval(days, np.array([9.0, 4.0, 5.0]), "ercot", STAMPS)
    assert daily.tolist() == [4.0, 4.0, 4.0, 5.0]  # 06:00 UTC is still 5 Nov locally
    # strikes 42, 42, 42, 52
    assert pay(hr, gas=daily).tolist() == [[58, 0, 1458, 0], [0, 0, 8958, 5148]]
    per_scenario = gas_by_interval(days, np.array([[0, 1, 1], [0, 2, 3.0]]), "ercot", STAMPS)
    # strikes s0: 12,12,12,12; s1: 22,22,22,32
    assert pay(hr, gas=per_scenario).tolist() == [[88, 0, 1488, 38], [8, 18, 8978, 5168]]


def test_gas_series_missing_day_is_an_error():
    days = np.array(["2023-11-05"], dtype="datetime64[D]")
    with pytest.raises(ConfigError, match="no value for local day 2023-11-06"):
        gas_by_interval(days, np.array([4.0]), "ercot", STAMPS)


def test_load_gas_series_feeds_heat_rate_call(tmp_path):
    path = tmp_path / "gas.csv"
    path.write_text("date,gas_usd_per_mmbtu\n2023-11-06,5.0\n2023-11-05,4.0\n")
    days, gas = load_gas_series(path)
    assert days.astype(str).tolist() == ["2023-11-05", "2023-11-06"]
    daily = gas_by_interval(days, gas, "ercot", STAMPS)
    assert daily.tolist() == [4.0, 4.0, 4.0, 5.0]
    path.write_text("date,gas_usd_per_mmbtu\n2023-11-05,4.0\n2023-11-05,4.5\n")
    with pytest.raises(DataError, match="date 2023-11-05 appears twice"):
        load_gas_series(path)
    path.write_text("day,price\n2023-11-05,4.0\n")
    with pytest.raises(DataError, match="not a daily gas series"):
        load_gas_series(path)


def test_tenor_in_local_dates():
    got = pay(spec(strike_usd_per_mwh=0.0, start=date(2023, 11, 6), end=date(2023, 11, 6)))
    assert got.tolist() == [[0, 0, 0, 50], [0, 0, 0, 5200]]


price_arrays = arrays(
    float, (3, 4), elements=st.floats(-500, 10_000, allow_nan=False, allow_infinity=False)
)


@settings(max_examples=60, deadline=None)
@given(price_arrays, st.floats(-100, 5000), st.floats(0, 3000))
def test_call_payoff_nonnegative_and_monotone(prices, strike, bump):
    s = spec(strike_usd_per_mwh=strike)
    base = pay(s, prices)
    assert (base >= 0).all()
    assert (pay(s, prices + bump) >= base).all()


@settings(max_examples=60, deadline=None)
@given(price_arrays, price_arrays, st.floats(-200, 500), st.floats(-3, 3))
def test_block_payoff_is_linear_in_price(p1, p2, fixed, a):
    s = spec(kind="block", shape="5x16", fixed_price_usd_per_mwh=fixed, min_mw=-10.0)
    mixed = pay(s, a * p1 + p2)
    # payoff(a p1 + p2) = a payoff(p1) + payoff(p2) + a F on the shape hours
    expect = a * pay(s, p1) + pay(s, p2) + a * fixed * product_mask(s, STAMPS, 60)
    np.testing.assert_allclose(mixed, expect, rtol=1e-9, atol=1e-6)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


HEAD = '[catalogue]\niso = "ercot"\nnode = "LZ_HOUSTON"\nmarket = "rtm"\n'


def test_load_catalogue_reads_defaults_and_tenor(tmp_path):
    cat = load_catalogue(
        write(
            tmp_path,
            HEAD + '[[product]]\nname = "b"\nkind = "block"\nshape = "5x16"\n'
            "start = 2026-08-01\nend = 2026-08-31\nprice_usd_per_mwh = 80.0\nmin_mw = -20\n"
            "max_mw = 50\n",
        )
    )
    (b,) = cat.products
    assert (b.iso, b.node, b.market, b.start, b.end) == (
        "ercot",
        "LZ_HOUSTON",
        "rtm",
        date(2026, 8, 1),
        date(2026, 8, 31),
    )
    assert (b.min_mw, b.max_mw, b.fixed_price_usd_per_mwh) == (-20.0, 50.0, 80.0)


def test_lots_and_pricing_default_from_the_catalogue_head(tmp_path):
    text = (
        HEAD
        + 'lot_mw = 5.0\nmin_trade_mw = 10.0\npricing = "model"\n'
        + '[[product]]\nname = "a"\nkind = "block"\nshape = "5x16"\ntenor = "horizon"\n'
        + '[[product]]\nname = "b"\nkind = "block"\nshape = "7x8"\ntenor = "horizon"\n'
        + "lot_mw = 1.0\nmin_trade_mw = 0.0\n"
    )
    a, b = load_catalogue(write(tmp_path, text)).products
    assert (a.lot_mw, a.min_trade_mw, a.pricing) == (5.0, 10.0, "model")
    assert (b.lot_mw, b.min_trade_mw, b.pricing) == (1.0, 0.0, "model")
    assert (a.meta()["lot_mw"], a.meta()["min_trade_mw"]) == (5.0, 10.0)
    plain = load_catalogue(
        write(
            tmp_path,
            HEAD + '[[product]]\nname = "c"\nkind = "block"\nshape = "5x16"\ntenor = "horizon"\n',
        )
    ).products[0]
    assert (plain.lot_mw, plain.min_trade_mw, plain.pricing) == (0.0, 0.0, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('kind = "call"\nshape = "5x16"\ntenor = "horizon"\nstrke_usd_per_mwh = 5', "unknown key"),
        ('kind = "call"\nshape = "5x16"\ntenor = "horizon"', "strike_usd_per_mwh: required"),
        ('kind = "swap"\nshape = "5x16"\ntenor = "horizon"', "kind: must be one of"),
        ('kind = "block"\nshape = "5x8"\ntenor = "horizon"', "shape: must be one of"),
        ('kind = "block"\nshape = "5x16"', "tenor: required"),
        (
            'kind = "call"\nshape = "5x16"\ntenor = "horizon"\nstrike_usd_per_mwh = 5\nmin_mw = -1',
            "only blocks may be sold",
        ),
        (
            'kind = "block"\nshape = "5x16"\ntenor = "horizon"\nstrike_usd_per_mwh = 5',
            "does not apply to a block",
        ),
        (
            'kind = "scarcity"\nshape = "7x24"\ntenor = "horizon"\nstrike_usd_per_mwh = 1000\n'
            "payout_cap_usd_per_mwh = 900",
            "must exceed the strike",
        ),
        (
            'kind = "block"\nshape = "5x16"\nstart = 2026-08-31\nend = 2026-08-01',
            "must not be before start",
        ),
        ('kind = "block"\nshape = "5x16"\ntenor = "horizon"\npricing = "mark"', "pricing: must be"),
        ('kind = "block"\nshape = "5x16"\ntenor = "horizon"\nlot_mw = -1', "lot_mw: must be >= 0"),
    ],
)
def test_catalogue_errors_name_file_key_reason(tmp_path, body, message):
    path = write(tmp_path, HEAD + '[[product]]\nname = "x"\n' + body + "\n")
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    assert str(path) in str(err.value)
    assert "product[0]." in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "name", ["ercot-standard", "ercot-marks", "pjm-standard", "virtual-peaker-example"]
)
def test_shipped_catalogues_load(name):
    cat = load_catalogue(REPO / "models" / "contracts" / f"{name}.toml")
    assert len(cat) >= 1
    assert all(dataclasses.is_dataclass(p) for p in cat)


def test_virtual_peaker_example_terms():
    (p,) = load_catalogue(REPO / "models/contracts/virtual-peaker-example.toml").products
    assert (p.kind, p.strike_usd_per_mwh, p.max_mw, p.node) == (
        "scarcity",
        1000.0,
        70.0,
        "LZ_HOUSTON",
    )
    assert p.premium_usd_per_mw * 70.0 == pytest.approx(120_000.0, abs=1e-6)


def test_quotes_replace_block_price_and_option_premium(repo_root):
    catalogue = load_catalogue(repo_root / "models/contracts/ercot-standard.toml")
    quoted = catalogue.with_quotes({"block_7x24": 61.5, "call_250_5x16": 4.0})
    by_name = {spec.name: spec for spec in quoted}
    assert by_name["block_7x24"].fixed_price_usd_per_mwh == 61.5
    assert by_name["call_250_5x16"].premium_usd_per_mwh == 4.0
    assert by_name["call_250_5x16"].premium_usd_per_mw is None
    untouched = [s for s in quoted if s.name not in ("block_7x24", "call_250_5x16")]
    assert untouched == [s for s in catalogue if s.name not in ("block_7x24", "call_250_5x16")]
    with pytest.raises(ConfigError, match="no product block_9x9 to quote"):
        catalogue.with_quotes({"block_9x9": 1.0})
