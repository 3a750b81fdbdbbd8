"""Back-tests on realised prices: re-addable rows, exact unhedged cost, payoffs by formula at
the traded prices, decisions that never see the window (past-only by default)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from energyhedge import backtest
from energyhedge.assemble import build_problem
from energyhedge.backtest import (
    TOTAL_COLUMNS,
    BacktestSpec,
    backtest_profile,
    interval_payoffs_usd_per_mw,
    load_replay,
    read_realised,
    replay,
    run_backtest,
    write_backtest,
)
from energyhedge.campus import load_campus
from energyhedge.data.generic_csv import SHIPPED_ERCOT_OPTIONS
from energyhedge.errors import ConfigError, DataError
from energyhedge.instruments import load_catalogue
from energyhedge.model.problem import Decision, FlexClass, HedgeProblem, Product
from energyhedge.risk import STRATEGIES, full_schedule_mw, strategies

ERCOT_FILE = "market_data/ercot/ercot_rtm_spp_lz_hourly_2023.csv"

CATALOGUE = """
[catalogue]
iso = "{iso}"
node = "{node}"
market = "rtm"

[[product]]
name = "scarcity_1000"
kind = "scarcity"
shape = "7x24"
tenor = "horizon"
strike_usd_per_mwh = 1000.0
max_mw = 70.0
premium_usd_per_mw = 2000.0

[[product]]
name = "block_5x16"
kind = "block"
shape = "5x16"
tenor = "horizon"
price_usd_per_mwh = 80.0
min_mw = -50.0
max_mw = 50.0
"""


@pytest.fixture(scope="module")
def august(repo_root):
    realised, filled = read_realised(
        str(repo_root / ERCOT_FILE),
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        start=date(2023, 8, 1),
        end=date(2023, 8, 31),
        options=SHIPPED_ERCOT_OPTIONS,
    )
    assert filled == []
    return realised


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    return write_catalogue(tmp_path_factory.mktemp("contracts"), "ercot", "LZ_HOUSTON")


def write_catalogue(folder, iso, node):
    path = folder / f"{iso}.toml"
    path.write_text(CATALOGUE.format(iso=iso, node=node))
    return load_catalogue(path)


def realised_problem(realised, catalogue) -> HedgeProblem:
    """A 100 MW campus (30 MW firm, 70 MW training) on the realised path, both products."""
    t = realised.prices_usd_per_mwh.shape[1]
    payoffs = interval_payoffs_usd_per_mw_from(realised, catalogue)
    products = tuple(
        Product(spec.name, spec.kind, payoffs[k].sum(keepdims=True), 2_000.0 * (k == 0), 0.0)
        for k, spec in enumerate(catalogue.products)
    )
    train = FlexClass(
        "training", np.full(t, 70.0), 800.0, 3.75, np.array([0.0, 1.0]), np.array([0.0, 1.0])
    )
    return HedgeProblem(
        interval_start_utc=realised.interval_start_utc,
        interval_hours=realised.interval_hours,
        prices_usd_per_mwh=realised.prices_usd_per_mwh,
        probabilities=np.ones(1),
        firm_load_mw=np.full(t, 30.0),
        firm_gpu_hours=np.full(t, 24_000.0),
        firm_value_usd_per_gpu_hour=3.75,
        flex=(train,),
        grid_limit_mw=100.0,
        products=products,
        dr_price_usd_per_mw_h=np.full(t, 4.0),
        dr_max_mw=20.0,
        dr_deployed=realised.prices_usd_per_mwh > 2_000.0,
        dr_penalty_usd_per_mwh=500.0,
        cp_weight_usd_per_mw=np.zeros((1, t)),
    )


def interval_payoffs_usd_per_mw_from(realised, catalogue):
    """Payoffs by interval, by the catalogue formulas (the function under test elsewhere)."""
    dummy = [Product(s.name, s.kind, np.zeros(1), 0.0, 0.0) for s in catalogue.products]
    shell = HedgeProblem(*([None] * 9), tuple(dummy), *([None] * 5))
    return interval_payoffs_usd_per_mw(shell, catalogue, realised)


def recommended(problem: HedgeProblem) -> Decision:
    t = problem.n_intervals
    return Decision(
        product_mw=np.array([70.0, 20.0]),
        schedule_mw=np.full((1, t), 70.0),
        dr_mw=np.full(t, 10.0),
        follows_ladder=True,
    )


def test_realised_prices_equal_the_raw_file(august, repo_root):
    raw = pl.read_csv(repo_root / ERCOT_FILE).filter(pl.col("Zone") == "LZ_HOUSTON")
    raw = raw.filter(pl.col("Date").str.starts_with("8/"))
    assert august.prices_usd_per_mwh.shape == (1, 744)
    np.testing.assert_array_equal(august.prices_usd_per_mwh[0], raw["Price"].to_numpy())
    assert august.interval_start_utc[0] == np.datetime64("2023-08-01T05:00", "us")  # CDT midnight
    assert august.interval_minutes == 60


def test_store_and_file_give_the_same_path(august):
    from_store, _ = read_realised(
        "store",
        iso="ercot",
        market="rtm",
        node="LZ_HOUSTON",
        start=date(2023, 8, 1),
        end=date(2023, 8, 31),
    )
    np.testing.assert_array_equal(from_store.prices_usd_per_mwh, august.prices_usd_per_mwh)
    np.testing.assert_array_equal(from_store.interval_start_utc, august.interval_start_utc)


def test_missing_period_is_a_data_error(repo_root):
    with pytest.raises(DataError, match="no ercot rtm prices for node LZ_HOUSTON"):
        read_realised(
            "store",
            iso="ercot",
            market="rtm",
            node="LZ_HOUSTON",
            start=date(2024, 8, 1),
            end=date(2024, 8, 2),
        )
    with pytest.raises(DataError, match="first missing"):
        read_realised(
            "store",
            iso="ercot",
            market="rtm",
            node="LZ_HOUSTON",
            start=date(2023, 12, 30),
            end=date(2024, 1, 2),
        )
    with pytest.raises(ConfigError, match="before"):
        read_realised(
            "store",
            iso="ercot",
            market="rtm",
            node="LZ_HOUSTON",
            start=date(2023, 8, 2),
            end=date(2023, 8, 1),
        )


def test_fall_back_hour_missing_from_the_shipped_file_is_filled_only_when_allowed():
    point = {"iso": "ercot", "market": "rtm", "node": "LZ_HOUSTON"}
    day = {"start": date(2023, 11, 5), "end": date(2023, 11, 5)}
    with pytest.raises(DataError, match=r"24 of 25 intervals .* 2023-11-05T07:00"):
        read_realised("store", **point, **day)
    realised, filled = read_realised("store", **point, **day, max_filled=1)
    assert filled == ["2023-11-05T07:00:00Z"]
    price = realised.prices_usd_per_mwh[0]
    assert price.shape == (25,)
    assert price[1] == 22.70 and price[2] == 22.70  # 01:00 CDT, then the repeat at 01:00 CST
    assert price[3] == 24.9925


def test_hedge_payoffs_equal_product_formulas_on_realised_prices(august, catalogue):
    payoffs = interval_payoffs_usd_per_mw_from(august, catalogue)
    price = august.prices_usd_per_mwh[0]
    np.testing.assert_allclose(payoffs[0], np.maximum(price - 1_000.0, 0.0), rtol=1e-15)
    assert (price > 1_000.0).sum() == 42  # domain primer: 42 hours above $1,000 in Aug 2023
    # 5x16 in ERCOT: HE07-22 Central on weekdays; Aug 2023 has 23 weekdays, no NERC holiday.
    local = august.interval_start_utc - np.timedelta64(5, "h")
    hour = local.astype("datetime64[h]").astype(int) % 24
    weekday = (local.astype("datetime64[D]").astype(int) + 3) % 7  # 0 = Monday
    on_peak = (hour >= 6) & (hour < 22) & (weekday < 5)
    assert on_peak.sum() == 23 * 16
    np.testing.assert_allclose(payoffs[1], np.where(on_peak, price - 80.0, 0.0), rtol=1e-15)


def test_unhedged_inflexible_cost_is_load_times_price(august, catalogue):
    problem = realised_problem(august, catalogue)
    decisions = strategies(problem, recommended(problem))
    result = run_backtest(problem, decisions, interval_payoffs_usd_per_mw_from(august, catalogue))
    price = august.prices_usd_per_mwh[0]
    unhedged = result.intervals.filter(pl.col("strategy") == "unhedged")
    np.testing.assert_array_equal(unhedged["energy_cost_usd"].to_numpy(), price * 100.0)
    np.testing.assert_array_equal(unhedged["total_cost_usd"].to_numpy(), price * 100.0)
    assert result.totals["unhedged"]["total_cost_usd"] == pytest.approx(
        float(np.sum(price * 100.0)), abs=1e-6
    )
    assert result.totals["unhedged"]["gpu_hours"] == 744 * 80_000.0
    hedged = result.totals["hedges_only"]
    block = interval_payoffs_usd_per_mw_from(august, catalogue)[1].sum()
    want = 70.0 * np.maximum(price - 1_000.0, 0.0).sum() + 20.0 * block
    assert hedged["hedge_payoff_usd"] == pytest.approx(want, abs=1e-6)
    assert hedged["premium_usd"] == 140_000.0


def test_csv_rows_re_add_to_json_totals_to_the_cent(august, catalogue, tmp_path):
    problem = realised_problem(august, catalogue)
    result = run_backtest(
        problem,
        strategies(problem, recommended(problem)),
        interval_payoffs_usd_per_mw_from(august, catalogue),
    )
    out = write_backtest(result, tmp_path / "bt", {"node": "LZ_HOUSTON"})
    doc = json.loads((out / "backtest.json").read_text())
    rows = pl.read_csv(out / "backtest_intervals.csv")
    assert rows.height == 4 * 744
    assert rows["interval_start_utc"][0] == "2023-08-01T05:00:00Z"
    for name, totals in doc["strategies"].items():
        mine = rows.filter(pl.col("strategy") == name)
        for column in TOTAL_COLUMNS:
            assert abs(mine[column].sum() - totals[column]) < 0.005, (name, column)
    rec = doc["strategies"]["recommended"]
    assert rec["cost_per_gpu_hour_usd"] == pytest.approx(rec["total_cost_usd"] / rec["gpu_hours"])
    # the ladder stops training above 3,000 $/MWh (its one segment), so it pays less for energy
    assert rec["energy_cost_usd"] < doc["strategies"]["hedges_only"]["energy_cost_usd"]


def test_rewriting_replaces_the_previous_outputs(august, catalogue, tmp_path):
    problem = realised_problem(august, catalogue)
    decisions = {"unhedged": strategies(problem, recommended(problem))["unhedged"]}
    payoffs = interval_payoffs_usd_per_mw_from(august, catalogue)
    result = run_backtest(problem, decisions, payoffs)
    write_backtest(result, tmp_path / "bt", {"run": 1})
    write_backtest(result, tmp_path / "bt", {"run": 2})
    assert json.loads((tmp_path / "bt" / "backtest.json").read_text())["run"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bt"]


def test_pjm_june_2025_heat_wave_replay(pjm_data_dir, tmp_path):
    """PJM Western Hub, June 2025 (heat wave 23-25 June), read from the real Data Miner file."""
    path = pjm_data_dir / "pjm_rt_hrl_lmps_hubs_2025-05_2025-07.csv"
    june, _ = read_realised(
        str(path),
        iso="pjm",
        market="rtm",
        node="WESTERN HUB",
        start=date(2025, 6, 1),
        end=date(2025, 6, 30),
    )
    raw = pl.read_csv(path).filter(
        (pl.col("pnode_name") == "WESTERN HUB")
        & pl.col("datetime_beginning_ept").str.starts_with("6/")
        & pl.col("row_is_current")
    )
    assert june.prices_usd_per_mwh.shape == (1, 720)
    np.testing.assert_array_equal(june.prices_usd_per_mwh[0], raw["total_lmp_rt"].to_numpy())
    assert june.interval_start_utc[0] == np.datetime64("2025-06-01T04:00", "us")  # EDT midnight
    catalogue = write_catalogue(tmp_path, "pjm", "WESTERN HUB")
    problem = realised_problem(june, catalogue)
    result = run_backtest(
        problem,
        strategies(problem, recommended(problem)),
        interval_payoffs_usd_per_mw_from(june, catalogue),
    )
    price = june.prices_usd_per_mwh[0]
    assert price.max() == pytest.approx(1_903.826455)
    assert result.totals["unhedged"]["total_cost_usd"] == pytest.approx(
        100.0 * price.sum(), abs=1e-6
    )
    payoff = 70.0 * np.maximum(price - 1_000.0, 0.0).sum()
    block = 20.0 * interval_payoffs_usd_per_mw_from(june, catalogue)[1].sum()
    assert result.totals["hedges_only"]["hedge_payoff_usd"] == pytest.approx(payoff + block)
    assert payoff > 0.0  # the heat wave crossed the scarcity strike
    out = write_backtest(result, tmp_path / "pjm", {"node": "WESTERN HUB"})
    rows = pl.read_csv(out / "backtest_intervals.csv")
    doc = json.loads((out / "backtest.json").read_text())
    for name, totals in doc["strategies"].items():
        mine = rows.filter(pl.col("strategy") == name)
        for column in TOTAL_COLUMNS:
            assert abs(mine[column].sum() - totals[column]) < 0.005, (name, column)


FORWARD_BLOCK = """
[[product]]
name = "block_forward_5x16"
kind = "block"
shape = "5x16"
tenor = "horizon"
loading = 0.05
min_mw = -50.0
max_mw = 50.0
"""


def on_peak_5x16(stamps: np.ndarray) -> np.ndarray:
    """ERCOT 5x16 hours (HE07-22 Central daylight time, weekdays; no NERC holiday in August)."""
    local = stamps - np.timedelta64(5, "h")
    hour = local.astype("datetime64[h]").astype(int) % 24
    weekday = (local.astype("datetime64[D]").astype(int) + 3) % 7  # 0 = Monday
    return (hour >= 6) & (hour < 22) & (weekday < 5)


def test_replay_decides_per_window_without_seeing_realised_prices(august, tmp_path, repo_root):
    campus = load_campus(repo_root / "models" / "campus" / "tx-100mw.toml")
    path = tmp_path / "forward.toml"
    path.write_text(CATALOGUE.format(iso="ercot", node="LZ_HOUSTON") + FORWARD_BLOCK)
    catalogue = load_catalogue(path)
    seen = []

    def decide(window):
        seen.append(window.prices_usd_per_mwh)
        t = window.interval_start_utc.size
        prices = np.full((2, t), 40.0)
        prices[1, 18] = 6_000.0  # 18:00 CDT on the window's first day, a Tuesday: on-peak
        scenarios = replace(
            window,
            prices_usd_per_mwh=prices,
            probabilities=np.array([0.9, 0.1]),
            kind=np.array(["model", "model"]),
        )
        problem = build_problem(campus, catalogue, scenarios)
        decision = Decision(
            product_mw=np.array([70.0, 10.0, -20.0]),
            schedule_mw=full_schedule_mw(problem),
            dr_mw=np.zeros(t),
            follows_ladder=True,
        )
        return problem, decision

    weekly, windows = replay(campus, catalogue, august, decide, window_days=7)
    monthly, month = replay(campus, catalogue, august, decide, window_days=31)
    assert all(np.isnan(p).all() for p in seen)
    assert [w["intervals"] for w in windows] == [168, 168, 168, 168, 72]
    assert windows[0]["first_day"] == "2023-08-01" and windows[-1]["last_day"] == "2023-08-31"
    assert all(w["real_time"] == "curtailment ladder" for w in windows)
    price = august.prices_usd_per_mwh[0]
    stamps = august.interval_start_utc
    peak = on_peak_5x16(stamps)
    for result, records in ((weekly, windows), (monthly, month)):
        unhedged = result.totals["unhedged"]
        assert unhedged["energy_cost_usd"] == pytest.approx(100.0 * price.sum(), abs=1e-6)
        # Each window sold the forward block at its own scenarios' forward x (1 - 0.05): 40 $/MWh
        # plus the spike's 0.1 x 5,960 $/MWh spread over the window's on-peak hours.
        payoff = 70.0 * np.maximum(price - 1_000.0, 0.0).sum() + 10.0 * (price - 80.0)[peak].sum()
        first = 0
        for record in records:
            rows = slice(first, first + record["intervals"])
            first += record["intervals"]
            assert peak[rows][18]
            forward = 40.0 + 0.1 * 5_960.0 / peak[rows].sum()
            assert record["traded_price_usd_per_mwh"] == pytest.approx(
                {
                    "scarcity_1000": 2_000.0 / record["intervals"],  # per MWh of 7x24 notional
                    "block_5x16": 80.0,
                    "block_forward_5x16": forward * 0.95,
                },
                rel=1e-12,
            )
            assert record["product_mw"] == {
                "scarcity_1000": 70.0,
                "block_5x16": 10.0,
                "block_forward_5x16": -20.0,
            }
            payoff -= 20.0 * (price[rows] - forward * 0.95)[peak[rows]].sum()
        assert result.totals["hedges_only"]["hedge_payoff_usd"] == pytest.approx(payoff, rel=1e-12)
        rows = result.intervals
        assert rows.height == 4 * 744
        for name, totals in result.totals.items():
            mine = rows.filter(pl.col("strategy") == name)
            assert mine["interval_start_utc"].is_sorted()
            for column in TOTAL_COLUMNS:
                assert abs(mine[column].sum() - totals[column]) < 0.005, (name, column)
    # the quoted premium (2,000 $/MW over each decision's horizon) is paid once per window; the
    # blocks carry their price in the payoff (no premium)
    assert weekly.totals["recommended"]["premium_usd"] == pytest.approx(5 * 140_000.0)
    assert monthly.totals["recommended"]["premium_usd"] == pytest.approx(140_000.0)


PROFILE = """
[run]
campus = "{repo}/models/campus/tx-100mw.toml"
contracts = "{repo}/models/contracts/ercot-standard.toml"

[scenarios]
model = "bootstrap"
n = 4
seed = 3
days = 1

[risk]
alpha = 0.9
"""


@pytest.fixture
def history_seen(monkeypatch):
    """Latest history instant each window's scenario model was given, with the window start."""
    seen = []
    real = backtest.generate

    def spy(history, **kwargs):
        seen.append((history["interval_start_utc"].max(), kwargs["start"]))
        return real(history, **kwargs)

    monkeypatch.setattr(backtest, "generate", spy)
    return seen


def test_default_back_test_is_past_only_and_leave_window_out_is_labelled(
    tmp_path, repo_root, history_seen
):
    profile = tmp_path / "bt.toml"
    profile.write_text(PROFILE.format(repo=repo_root))
    spec = BacktestSpec(
        config=profile,
        prices="store",
        node=None,
        market=None,
        start=date(2023, 8, 15),
        end=date(2023, 8, 16),
        window_days=1,
        fixed_product_mw={},  # hold nothing: no solve needed to see what the model learns from
    )
    assert spec.past_only
    replay_file = tmp_path / "r.toml"
    replay_file.write_text(
        f'[backtest]\nconfig = "{profile}"\nstart = 2023-08-15\nend = 2023-08-16\n'
    )
    assert load_replay(replay_file)["past_only"] is True
    docs = {}
    for label, this in (("past", spec), ("leave-out", replace(spec, past_only=False))):
        history_seen.clear()
        result, meta = backtest_profile(this)
        out = write_backtest(result, tmp_path / label, meta)
        docs[label] = json.loads((out / "backtest.json").read_text())
        assert list(docs[label]["strategies"]) == list(STRATEGIES)
        latest = {str(day): stamp for stamp, day in history_seen}
        assert sorted(latest) == ["2023-08-15", "2023-08-16"]
        # window 15 Aug starts 05:00 UTC; window 16 Aug at 05:00 UTC the day after
        ahead = [latest["2023-08-15"].replace(tzinfo=None) >= datetime(2023, 8, 16, 5)]
        ahead.append(latest["2023-08-16"].replace(tzinfo=None) >= datetime(2023, 8, 17, 5))
        assert all(ahead) == (label == "leave-out"), label
        assert any(ahead) == (label == "leave-out"), label
    assert docs["past"]["history"].startswith("past only")
    assert "looks ahead" not in docs["past"]["history"]
    assert "leave-window-out" in docs["leave-out"]["history"]
    assert "looks ahead" in docs["leave-out"]["history"]


def test_fixed_decision_is_labelled_with_the_real_time_rule_it_follows(tmp_path, repo_root):
    profile = tmp_path / "bt.toml"
    profile.write_text(PROFILE.format(repo=repo_root))
    spec = BacktestSpec(profile, "store", None, None, date(2023, 8, 15), date(2023, 8, 15))
    _, meta = backtest_profile(replace(spec, fixed_product_mw={}))
    assert meta["windows"][0]["real_time"] == "curtailment ladder"
    assert "break-even" not in meta["decision"] and "ladder" in meta["decision"]
