"""Hub products with basis, and day-ahead/real-time settlement, on hand-made joint prices."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from energyhedge.assemble import build_problem, day_ahead_products, dr_price_points
from energyhedge.backtest import replay
from energyhedge.campus import load_campus
from energyhedge.decide import BasisExposure, basis_exposure
from energyhedge.errors import ConfigError
from energyhedge.instruments import load_catalogue
from energyhedge.model.cost import cost_breakdown
from energyhedge.model.measures import tail_weights
from energyhedge.model.problem import Decision
from energyhedge.report.content import trading
from energyhedge.risk import full_schedule_mw, settlement_strategies, value_decisions
from energyhedge.scenarios import ScenarioSet, generate

CAMPUS = "models/campus/tx-100mw.toml"
DAYS = 21  # 2023-07-01 .. 2023-07-21, hourly, CDT (UTC-5)


def _series(node: str, market: str, prices: np.ndarray) -> pl.DataFrame:
    start = datetime(2023, 7, 1, 5)
    stamps = [start + timedelta(hours=h) for h in range(prices.size)]
    return pl.DataFrame(
        {
            "iso": "ercot",
            "market": market,
            "node": node,
            "interval_start_utc": pl.Series(stamps).dt.replace_time_zone("UTC"),
            "interval_minutes": pl.Series([60] * prices.size, dtype=pl.Int32),
            "price_usd_per_mwh": prices,
        }
    )


@pytest.fixture(scope="module")
def history() -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Zone, hub and day-ahead prices whose every day is distinct and whose spreads differ."""
    hours = DAYS * 24
    day = np.repeat(np.arange(DAYS), 24)
    hour = np.tile(np.arange(24), DAYS)
    zone = 30.0 + day * 7.0 + hour * 1.5
    zone[(day == 4) & (hour == 18)] = 3_000.0  # a zone spike the hub does not see
    hub = zone - 2.0 - (day % 3) * 1.25
    hub[(day == 4) & (hour == 18)] = 900.0
    da = zone + 4.0 - (hour % 2) * 3.0
    paths = {"zone": zone, "hub": hub, "da": da}
    frame = pl.concat(
        [
            _series("LZ_HOUSTON", "rtm", zone),
            _series("HB_HOUSTON", "rtm", hub),
            _series("LZ_HOUSTON", "dam", da),
        ]
    )
    assert frame.height == 3 * hours
    return frame, paths


def _scenarios(frame, **kwargs):
    return generate(
        frame,
        iso="ercot",
        node="LZ_HOUSTON",
        market="rtm",
        start=date(2023, 7, 24),
        days=1,
        n=40,
        seed=5,
        month_window=0,
        **kwargs,
    )


def test_joint_scenarios_take_every_point_from_the_same_historical_day(history):
    frame, paths = history
    scenarios = _scenarios(frame, joint=(("HB_HOUSTON", "rtm"), ("LZ_HOUSTON", "dam")))
    zone_days = {tuple(paths["zone"][d * 24 : d * 24 + 24]): d for d in range(DAYS)}
    for s in range(scenarios.probabilities.size):
        d = zone_days[tuple(scenarios.prices_usd_per_mwh[s])]  # the drawn historical day
        np.testing.assert_array_equal(
            scenarios.prices_at("HB_HOUSTON", "rtm")[s], paths["hub"][d * 24 : d * 24 + 24]
        )
        np.testing.assert_array_equal(
            scenarios.prices_at("LZ_HOUSTON", "dam")[s], paths["da"][d * 24 : d * 24 + 24]
        )
    with pytest.raises(ConfigError, match="no ercot rtm prices at HB_NORTH"):
        scenarios.prices_at("HB_NORTH", "rtm")


def test_hub_block_of_a_zone_campus_carries_the_basis_by_hand(history, tmp_path):
    frame, _ = history
    scenarios = _scenarios(frame, joint=(("HB_HOUSTON", "rtm"),))
    contracts = tmp_path / "hub.toml"
    contracts.write_text(
        '[catalogue]\niso = "ercot"\nnode = "HB_HOUSTON"\nmarket = "rtm"\n\n'
        '[[product]]\nname = "hub_7x24"\nkind = "block"\nshape = "7x24"\ntenor = "horizon"\n'
        "price_usd_per_mwh = 60.0\nmin_mw = -100.0\nmax_mw = 100.0\n"
    )
    campus = load_campus(CAMPUS)
    problem = build_problem(campus, load_catalogue(contracts), scenarios)
    (hub,) = problem.products
    hub_prices = scenarios.prices_at("HB_HOUSTON", "rtm")
    zone_prices = scenarios.prices_usd_per_mwh
    np.testing.assert_allclose(hub.payoff_usd_per_mw, (hub_prices - 60.0).sum(axis=1))
    decision = Decision(
        product_mw=np.array([100.0]),
        schedule_mw=full_schedule_mw(problem),
        dr_mw=np.zeros(24),
        follows_ladder=False,
    )
    costs = cost_breakdown(problem, decision)
    load = problem.firm_load_mw + decision.schedule_mw.sum(axis=0)  # 100 MW every hour
    assert np.allclose(load, 100.0)
    # Energy at the zone, 100 MW of the hub at $60: the campus pays $60 plus the basis
    # (zone - hub) on every MWh, not a flat $60.
    by_hand = 100.0 * (zone_prices.sum(axis=1) - (hub_prices - 60.0).sum(axis=1))
    lines = costs.energy_cost_usd - costs.hedge_payoff_usd + costs.premium_usd
    np.testing.assert_allclose(lines, by_hand, rtol=1e-12)
    basis = 100.0 * (zone_prices - hub_prices).sum(axis=1)
    np.testing.assert_allclose(lines - 100.0 * 60.0 * 24, basis, rtol=1e-9, atol=1e-6)
    assert basis.max() - basis.min() > 1_000.0  # the basis varies by scenario: a real risk


def test_two_settlements_by_hand(history):
    frame, _ = history
    scenarios = _scenarios(frame, joint=(("LZ_HOUSTON", "dam"),))
    campus = load_campus(CAMPUS)
    empty = load_catalogue("models/contracts/virtual-peaker-example.toml")
    problem = build_problem(
        campus, type(empty)(empty.name, empty.path, ()), scenarios, day_ahead=True
    )
    assert [p.kind for p in problem.products] == ["day_ahead"] * 24
    assert len(day_ahead_products(campus, scenarios)) == 24
    q = np.linspace(40.0, 100.0, 24)  # MW bought day-ahead per hour
    decision = Decision(
        product_mw=q,
        schedule_mw=full_schedule_mw(problem),
        dr_mw=np.zeros(24),
        follows_ladder=False,
    )
    costs = cost_breakdown(problem, decision)
    rt, da = scenarios.prices_usd_per_mwh, scenarios.prices_at("LZ_HOUSTON", "dam")
    load = problem.firm_load_mw + decision.schedule_mw.sum(axis=0)
    # Day-ahead q at D, the deviation (load - q) at R.
    by_hand = (da * q).sum(axis=1) + (rt * (load - q)).sum(axis=1)
    energy = costs.energy_cost_usd - costs.hedge_payoff_usd + costs.premium_usd
    np.testing.assert_allclose(energy, by_hand, rtol=1e-12)
    choices = settlement_strategies(problem, decision)
    np.testing.assert_allclose(choices["real_time_only"].product_mw, 0.0)
    np.testing.assert_allclose(choices["day_ahead_only"].product_mw, load)
    all_da = cost_breakdown(problem, choices["day_ahead_only"])
    np.testing.assert_allclose(
        all_da.energy_cost_usd - all_da.hedge_payoff_usd, (da * load).sum(axis=1), rtol=1e-12
    )


def test_finer_joint_series_are_averaged_onto_the_hour(history):
    frame, paths = history
    quarter = frame.filter(pl.col("node") == "HB_HOUSTON").with_columns(
        pl.col("interval_minutes") * 0 + 15
    )
    fifteen = pl.concat(
        [
            quarter.with_columns(
                pl.col("interval_start_utc") + pl.duration(minutes=15 * k),
                pl.col("price_usd_per_mwh") + (k - 1.5),  # quarter-hours around the hour
            )
            for k in range(4)
        ]
    ).with_columns(pl.col("interval_minutes").cast(pl.Int32))
    mixed = pl.concat([frame.filter(pl.col("node") != "HB_HOUSTON"), fifteen])
    scenarios = _scenarios(mixed, joint=(("HB_HOUSTON", "rtm"),))
    zone_days = {tuple(paths["zone"][d * 24 : d * 24 + 24]): d for d in range(DAYS)}
    d = zone_days[tuple(scenarios.prices_usd_per_mwh[0])]
    np.testing.assert_allclose(
        scenarios.prices_at("HB_HOUSTON", "rtm")[0], paths["hub"][d * 24 : d * 24 + 24]
    )


def test_basis_exposure_by_hand(history, tmp_path):
    frame, _ = history
    scenarios = _scenarios(frame, joint=(("HB_HOUSTON", "rtm"),))
    contracts = tmp_path / "mixed.toml"
    contracts.write_text(
        '[catalogue]\niso = "ercot"\nmarket = "rtm"\n\n'
        '[[product]]\nname = "hub_7x24"\nkind = "block"\nshape = "7x24"\ntenor = "horizon"\n'
        'node = "HB_HOUSTON"\nprice_usd_per_mwh = 60.0\nmin_mw = -100.0\nmax_mw = 100.0\n\n'
        '[[product]]\nname = "zone_call"\nkind = "call"\nshape = "7x24"\ntenor = "horizon"\n'
        'node = "LZ_HOUSTON"\nstrike_usd_per_mwh = 100.0\nmax_mw = 100.0\n'
    )
    campus = load_campus(CAMPUS)
    catalogue = load_catalogue(contracts)
    problem = build_problem(campus, catalogue, scenarios)
    decision = Decision(np.array([80.0, 10.0]), full_schedule_mw(problem), np.zeros(24), False)
    total = cost_breakdown(problem, decision).total_cost_usd
    basis = basis_exposure(
        campus, catalogue, problem, scenarios, decision, total_cost_usd=total, alpha=0.9
    )
    zone, hub = scenarios.prices_usd_per_mwh, scenarios.prices_at("HB_HOUSTON", "rtm")
    by_hand = 80.0 * (zone - hub).sum(axis=1)  # the zone call has no basis
    np.testing.assert_allclose(basis.cost_usd, by_hand, rtol=1e-12)
    assert basis.products == ("hub_7x24",)
    p = scenarios.probabilities
    assert basis.expected_usd == pytest.approx(p @ by_hand)
    tail = tail_weights(total, p, 0.9)
    assert basis.cvar_contribution_usd == pytest.approx(tail @ by_hand)
    zone_only = Decision(np.array([0.0, 10.0]), full_schedule_mw(problem), np.zeros(24), False)
    none = basis_exposure(
        campus, catalogue, problem, scenarios, zone_only, total_cost_usd=total, alpha=0.9
    )
    assert none is None


def test_back_test_of_two_settlements_values_each_choice_on_realised_prices(history):
    frame, paths = history
    realised = ScenarioSet(
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        interval_start_utc=np.datetime64("2023-07-01T05:00", "us")
        + np.arange(48) * np.timedelta64(1, "h"),
        interval_minutes=60,
        prices_usd_per_mwh=paths["zone"][:48].reshape(1, -1),
        probabilities=np.ones(1),
        kind=np.array(["realised"]),
        joint={("LZ_HOUSTON", "dam"): paths["da"][:48].reshape(1, -1)},
    )
    campus = load_campus(CAMPUS)
    empty = load_catalogue("models/contracts/virtual-peaker-example.toml")
    catalogue = type(empty)(empty.name, empty.path, ())

    def decide(window):
        assert np.isnan(window.prices_at("LZ_HOUSTON", "dam")).all()  # no peeking
        problem = build_problem(
            campus, catalogue, _scenarios(frame, joint=(("LZ_HOUSTON", "dam"),)), day_ahead=True
        )
        q = np.full(len(problem.products), 50.0)
        return problem, Decision(q, full_schedule_mw(problem), np.zeros(24), False)

    result, _ = replay(campus, catalogue, realised, decide, window_days=1, day_ahead=True)
    assert {"real_time_only", "day_ahead_only", "optimised_split"} <= set(result.totals)
    load = 100.0  # the campus's full schedule, every hour
    rt, da = paths["zone"][:48], paths["da"][:48]
    totals = result.totals
    energy = {k: v["energy_cost_usd"] - v["hedge_payoff_usd"] for k, v in totals.items()}
    assert energy["real_time_only"] == pytest.approx(load * rt.sum())
    assert energy["day_ahead_only"] == pytest.approx(load * da.sum())
    assert energy["optimised_split"] == pytest.approx((50.0 * da + 50.0 * rt).sum())


def test_report_states_basis_and_settlement_choice(history, tmp_path):
    frame, _ = history
    scenarios = _scenarios(frame, joint=(("LZ_HOUSTON", "dam"),))
    campus = load_campus(CAMPUS)
    empty = load_catalogue("models/contracts/virtual-peaker-example.toml")
    problem = build_problem(
        campus, type(empty)(empty.name, empty.path, ()), scenarios, day_ahead=True
    )
    decision = Decision(np.full(24, 60.0), full_schedule_mw(problem), np.zeros(24), False)
    choice = value_decisions(problem, settlement_strategies(problem, decision), 0.95)
    basis = BasisExposure(np.zeros(3), -2_939.2, -20_120.7, 343.3, -795.3, ("hub_7x24",))
    solution = SimpleNamespace(hedge_ratio=(), lot_rounding=None)
    section = trading(solution, basis=basis, settlement_choice=choice)
    assert "basis costs $-2,939 on average (P5 $-20,121, P95 $343" in section.basis
    assert "contributes $-795 to the CVaR" in section.basis
    rows = {r.label: r for r in section.settlement}
    all_rt = rows["all in real time"]
    rt = scenarios.prices_usd_per_mwh
    load = problem.firm_load_mw + decision.schedule_mw.sum(axis=0)
    expected_energy = float(scenarios.probabilities @ (rt * load).sum(axis=1))
    assert all_rt.expected_usd == pytest.approx(
        choice["real_time_only"].mean_lines["total_cost_usd"]
    )
    assert choice["real_time_only"].mean_lines["energy_cost_usd"] == pytest.approx(expected_energy)
    assert set(rows) == {
        "all in real time",
        "the whole schedule day-ahead",
        "optimised day-ahead purchase (recommended)",
    }


def test_day_ahead_is_bought_by_the_hour_on_quarter_hour_intervals():
    t = 96
    rng = np.random.default_rng(2)
    rt, da = rng.uniform(10, 90, (3, t)), np.repeat(rng.uniform(10, 90, (3, 24)), 4, axis=1)
    quarter = ScenarioSet(
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        interval_start_utc=np.datetime64("2023-07-24T05:00", "us")
        + np.arange(t) * np.timedelta64(15, "m"),
        interval_minutes=15,
        prices_usd_per_mwh=rt,
        probabilities=np.full(3, 1 / 3),
        kind=np.array(["bootstrap"] * 3),
        joint={("LZ_HOUSTON", "dam"): da},
    )
    products = day_ahead_products(load_campus(CAMPUS), quarter)
    assert len(products) == 24 and len({p.name for p in products}) == 24
    np.testing.assert_allclose(
        products[5].payoff_usd_per_mw, ((rt - da)[:, 20:24] * 0.25).sum(axis=1)
    )
    assert products[5].notional_hours == 1.0
    assert (products[5].meta["start"], products[5].meta["end"]) == (
        "2023-07-24T10:00:00Z",
        "2023-07-24T11:00:00Z",
    )


def test_ancillary_service_offer_is_paid_each_scenarios_clearing_price(tmp_path):
    text = (
        Path(CAMPUS)
        .read_text()
        .replace("availability_usd_per_mw_h = 9.62", 'price_series = "ECRS"')
    )
    assert 'price_series = "ECRS"' in text
    path = tmp_path / "campus.toml"
    path.write_text(text)
    campus = load_campus(path)
    rng = np.random.default_rng(4)
    ecrs = rng.uniform(0.0, 400.0, (3, 24))
    scenarios = ScenarioSet(
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(24) * np.timedelta64(1, "h"),
        interval_minutes=60,
        prices_usd_per_mwh=rng.uniform(20.0, 90.0, (3, 24)),
        probabilities=np.full(3, 1 / 3),
        kind=np.array(["bootstrap"] * 3),
        joint={("ECRS", "as"): ecrs},
    )
    empty = load_catalogue("models/contracts/virtual-peaker-example.toml")
    problem = build_problem(campus, type(empty)(empty.name, empty.path, ()), scenarios)
    np.testing.assert_allclose(problem.dr_price_usd_per_mw_h, [ecrs])  # every hour is active
    offer = np.full(24, 30.0)
    decision = Decision(np.zeros(0), full_schedule_mw(problem), offer, False)
    revenue = cost_breakdown(problem, decision).dr_revenue_usd
    np.testing.assert_allclose(revenue, (ecrs * 30.0).sum(axis=1))  # uncertain: per scenario
    assert revenue.std() > 0


def test_several_ancillary_services_each_with_its_clearing_price():
    # models/campus/tx-100mw-as.toml offers RRS, ECRS, Reg Up and Non-Spin together.
    campus = load_campus("models/campus/tx-100mw-as.toml")
    series = ("RRS", "ECRS", "REGUP", "NSPIN")
    assert dr_price_points(campus) == tuple((name, "as") for name in series)
    rng = np.random.default_rng(6)
    as_prices = {name: rng.uniform(0.0, 300.0, (3, 24)) for name in series}
    energy = rng.uniform(20.0, 90.0, (3, 24))
    energy[1, 18] = 3_500.0  # calls ECRS (3,000), Non-Spin (2,500) and Reg Up (1,000), not RRS
    scenarios = ScenarioSet(
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        interval_start_utc=np.datetime64("2023-08-17T05:00", "us")
        + np.arange(24) * np.timedelta64(1, "h"),
        interval_minutes=60,
        prices_usd_per_mwh=energy,
        probabilities=np.full(3, 1 / 3),
        kind=np.array(["bootstrap"] * 3),
        joint={(name, "as"): prices for name, prices in as_prices.items()},
    )
    empty = load_catalogue("models/contracts/virtual-peaker-example.toml")
    problem = build_problem(campus, type(empty)(empty.name, empty.path, ()), scenarios)
    assert problem.dr_names == ("rrs", "ecrs", "reg_up", "non_spin")
    np.testing.assert_allclose(problem.dr_price_usd_per_mw_h, [as_prices[n] for n in series])
    assert problem.dr_max_mw.tolist() == [20.0, 30.0, 10.0, 30.0]
    assert problem.dr_penalty_usd_per_mwh.tolist() == [6_000.0, 5_000.0, 2_000.0, 3_000.0]
    assert problem.dr_deployed[:, 1, 18].tolist() == [False, True, True, True]
    assert problem.dr_deployed.sum() == 3
