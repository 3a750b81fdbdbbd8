"""`energyhedge backtest` end to end on the shipped ERCOT data, with an optimised decision."""

from __future__ import annotations

import json
import os

import numpy as np
import polars as pl
import pytest

from energyhedge.backtest import TOTAL_COLUMNS, load_replay
from energyhedge.campus import load_campus
from energyhedge.cli import main
from energyhedge.risk import STRATEGIES

PROFILE = """
[run]
campus = "{repo}/models/campus/tx-100mw.toml"
contracts = "{repo}/models/contracts/ercot-standard.toml"

[scenarios]
model = "bootstrap"
n = 12
seed = 3
days = 7

[risk]
alpha = 0.9
lambda = 0.5

[solver]
time_limit_s = 120
"""


@pytest.fixture(scope="module")
def profile(tmp_path_factory, repo_root):
    path = tmp_path_factory.mktemp("runs") / "bt.toml"
    path.write_text(PROFILE.format(repo=repo_root))
    return path


def raw_prices(repo_root, zone: str, first_day: int, last_day: int) -> np.ndarray:
    """August 2023 hourly prices of one zone, straight from the shipped CSV."""
    raw = pl.read_csv(repo_root / "market_data/ercot/ercot_rtm_spp_lz_hourly_2023.csv")
    days = [f"8/{d}/2023 " for d in range(first_day, last_day + 1)]
    in_days = pl.any_horizontal(pl.col("Date").str.starts_with(d) for d in days)
    return raw.filter((pl.col("Zone") == zone) & in_days)["Price"].to_numpy()


@pytest.fixture(scope="module")
def two_weeks(profile, tmp_path_factory):
    out = tmp_path_factory.mktemp("bt") / "aug"
    argv = ["backtest", "--config", str(profile), "--prices", "store", "--start", "2023-08-01"]
    assert main([*argv, "--end", "2023-08-14", "--out", str(out)]) == 0
    return json.loads((out / "backtest.json").read_text()), pl.read_csv(
        out / "backtest_intervals.csv"
    )


def test_totals_re_add_from_interval_rows_to_the_cent(two_weeks):
    doc, rows = two_weeks
    assert list(doc["strategies"]) == list(STRATEGIES)
    assert rows.height == 4 * 14 * 24
    for name, totals in doc["strategies"].items():
        mine = rows.filter(pl.col("strategy") == name)
        for column in TOTAL_COLUMNS:
            assert abs(mine[column].sum() - totals[column]) < 0.005, (name, column)
        assert totals["cost_per_gpu_hour_usd"] == pytest.approx(
            totals["total_cost_usd"] / totals["gpu_hours"]
        )


def test_unhedged_energy_is_load_times_realised_price(two_weeks, repo_root):
    doc, rows = two_weeks
    price = raw_prices(repo_root, "LZ_HOUSTON", 1, 14)
    unhedged = rows.filter(pl.col("strategy") == "unhedged")
    np.testing.assert_array_equal(unhedged["price_usd_per_mwh"].to_numpy(), price)
    np.testing.assert_allclose(unhedged["energy_cost_usd"].to_numpy(), 100.0 * price, rtol=1e-15)
    assert doc["strategies"]["unhedged"]["hedge_payoff_usd"] == 0.0
    assert doc["strategies"]["unhedged"]["premium_usd"] == 0.0


def test_metadata_states_windows_and_history_rule(two_weeks):
    doc, _ = two_weeks
    assert [w["first_day"] for w in doc["windows"]] == ["2023-08-01", "2023-08-08"]
    assert all(w["scenarios"] == 12 for w in doc["windows"])
    assert doc["history"] == "past only: prices before each window"
    assert doc["node"] == "LZ_HOUSTON" and doc["intervals"] == 336


def test_leave_window_out_is_opt_in_and_labelled_as_looking_ahead(profile, tmp_path):
    out = tmp_path / "lwo"
    argv = ["backtest", "--config", str(profile), "--start", "2023-08-15", "--end", "2023-08-15"]
    assert main([*argv, "--leave-window-out", "--out", str(out)]) == 0
    doc = json.loads((out / "backtest.json").read_text())
    assert doc["history"].startswith("leave-window-out") and "looks ahead" in doc["history"]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--leave-window-out", "--past-only", "--out", str(tmp_path / "both")])
    assert info.value.code == 2


def test_replay_file_and_node_override(profile, tmp_path, repo_root):
    replay = tmp_path / "r.toml"
    replay.write_text(
        f'[backtest]\nconfig = "{profile}"\nstart = 2023-08-15\nend = 2023-08-16\nwindow_days = 2\n'
    )
    assert load_replay(replay)["prices"] == "store"
    out = tmp_path / "north"
    assert main(["backtest", "--replay", str(replay), "--node", "LZ_NORTH", "--out", str(out)]) == 0
    rows = pl.read_csv(out / "backtest_intervals.csv").filter(pl.col("strategy") == "unhedged")
    price = raw_prices(repo_root, "LZ_NORTH", 15, 16)
    np.testing.assert_allclose(rows["energy_cost_usd"].to_numpy(), 100.0 * price, rtol=1e-15)
    assert json.loads((out / "backtest.json").read_text())["node"] == "LZ_NORTH"


def test_shipped_replays_parse(repo_root):
    for name, first, last in (
        ("ercot-aug-2023", "2023-08-01", "2023-08-31"),
        ("ercot-2023", "2023-01-01", "2023-12-31"),
    ):
        spec = load_replay(repo_root / "models" / "backtests" / f"{name}.toml")
        assert (spec["start"].isoformat(), spec["end"].isoformat()) == (first, last)
        assert spec["node"] == "LZ_HOUSTON" and spec["window_days"] == 7


def test_missing_options_exit_2_and_write_nothing(profile, tmp_path, capsys):
    out = tmp_path / "none"
    assert main(["backtest", "--config", str(profile), "--out", str(out)]) == 2
    assert "--start" in capsys.readouterr().err
    assert not out.exists()
    argv = ["backtest", "--config", str(profile), "--start", "2024-01-01", "--end", "2024-01-02"]
    assert main([*argv, "--out", str(out)]) == 3
    assert "no ercot rtm prices" in capsys.readouterr().err
    assert not out.exists()


def test_pjm_june_2025_heat_wave_from_the_data_miner_file(pjm_data_dir, repo_root, tmp_path):
    """PJM Western Hub, 22-28 June 2025 (heat wave 23-25 June), prices read from the file."""
    prices = pjm_data_dir / "pjm_rt_hrl_lmps_hubs_2025-05_2025-07.csv"
    profile = tmp_path / "pjm.toml"
    profile.write_text(
        PROFILE.replace("tx-100mw", "pjm-western-100mw")
        .replace("ercot-standard", "pjm-standard")
        .format(repo=repo_root)
        .replace("[risk]", "offer_cap_usd_per_mwh = 3700.0\n\n[risk]")
    )
    out = tmp_path / "pjm"
    argv = ["backtest", "--config", str(profile), "--prices", str(prices)]
    assert main([*argv, "--start", "2025-06-22", "--end", "2025-06-28", "--out", str(out)]) == 0
    doc = json.loads((out / "backtest.json").read_text())
    rows = pl.read_csv(out / "backtest_intervals.csv")
    raw = pl.read_csv(prices).filter(
        (pl.col("pnode_name") == "WESTERN HUB")
        & pl.col("datetime_beginning_ept").str.contains(r"^6/(2[2-8])/2025 ")
    )
    unhedged = rows.filter(pl.col("strategy") == "unhedged")
    price = unhedged["price_usd_per_mwh"].to_numpy()
    np.testing.assert_array_equal(price, raw["total_lmp_rt"].to_numpy())
    assert price.max() == pytest.approx(1_903.826455)
    np.testing.assert_allclose(
        unhedged["energy_cost_usd"].to_numpy(), unhedged["load_mw"].to_numpy() * price, rtol=1e-15
    )
    np.testing.assert_allclose(
        unhedged["total_cost_usd"].to_numpy(),
        (unhedged["energy_cost_usd"] + unhedged["cp_tag_usd"]).to_numpy(),
        rtol=1e-15,
    )
    for name, totals in doc["strategies"].items():
        mine = rows.filter(pl.col("strategy") == name)
        for column in TOTAL_COLUMNS:
            assert abs(mine[column].sum() - totals[column]) < 0.005, (name, column)


def test_fixed_decision_holds_the_given_products(profile, tmp_path, repo_root, capsys):
    out = tmp_path / "fixed"
    argv = ["backtest", "--config", str(profile), "--start", "2023-08-15", "--end", "2023-08-21"]
    argv += ["--fixed", "scarcity_1000_7x24=70", "--out", str(out)]
    assert main(argv) == 0
    doc = json.loads((out / "backtest.json").read_text())
    (window,) = doc["windows"]
    assert window["product_mw"]["scarcity_1000_7x24"] == 70.0
    assert sum(window["product_mw"].values()) == 70.0
    assert window["real_time"] == "curtailment ladder"
    assert doc["decision"] == "fixed products, curtailment ladder"
    price = raw_prices(repo_root, "LZ_HOUSTON", 15, 21)
    payoff = 70.0 * np.maximum(price - 1_000.0, 0.0).sum()
    assert payoff > 0.0
    for name in ("hedges_only", "recommended"):
        assert doc["strategies"][name]["hedge_payoff_usd"] == pytest.approx(payoff, rel=1e-12)
    premium = 70.0 * window["premium_usd_per_mw"]["scarcity_1000_7x24"]
    assert doc["strategies"]["recommended"]["premium_usd"] == pytest.approx(premium)
    rows = pl.read_csv(out / "backtest_intervals.csv").filter(pl.col("strategy") == "recommended")
    # The ladder: training's steepest segment (56.7 % of its MW, slope 1.422) is worth
    # $3.75/GPU-h x 800 GPU-h/MWh x 1.422 = $4,267/MWh; above that price training draws nothing,
    # between the next segment's value ($2,099) and it, only that first segment.
    tier = load_campus(repo_root / "models/campus/tx-100mw.toml").training[0]
    width = np.diff(tier.curve_power_frac)
    value = 3.75 * 800.0 * np.diff(tier.curve_work_frac) / width
    stopped = rows.filter(pl.col("price_usd_per_mwh") > value[0])["power_mw_training"]
    assert stopped.len() > 0 and (stopped == 0.0).all()
    first = rows.filter(
        (pl.col("price_usd_per_mwh") > value[1]) & (pl.col("price_usd_per_mwh") <= value[0])
    )["power_mw_training"]
    assert first.len() > 0
    np.testing.assert_allclose(first.to_numpy(), width[0] * 70.0, rtol=1e-9)
    bad = ["backtest", "--config", str(profile), "--start", "2023-08-15", "--end", "2023-08-15"]
    assert main([*bad, "--fixed", "nope=5", "--out", str(tmp_path / "bad")]) == 2
    assert "nope" in capsys.readouterr().err


def test_own_csv_layout_file(profile, tmp_path, repo_root):
    """A trader's own CSV (the shipped ERCOT file is one) read with the column options."""
    prices = repo_root / "market_data/ercot/ercot_rtm_spp_lz_hourly_2023.csv"
    out = tmp_path / "own"
    argv = ["backtest", "--config", str(profile), "--prices", str(prices)]
    argv += ["--start", "2023-08-15", "--end", "2023-08-16", "--window-days", "2"]
    argv += ["--time-col", "Date", "--price-col", "Price", "--node-col", "Zone"]
    assert main([*argv, "--out", str(out)]) == 0
    rows = pl.read_csv(out / "backtest_intervals.csv").filter(pl.col("strategy") == "unhedged")
    np.testing.assert_array_equal(
        rows["price_usd_per_mwh"].to_numpy(), raw_prices(repo_root, "LZ_HOUSTON", 15, 16)
    )
    assert main(["backtest", "--config", str(profile), "--price-col", "P", "--out", str(out)]) == 2


def test_shipped_august_2023_replay_runs(repo_root, tmp_path):
    out = tmp_path / "aug"
    replay = repo_root / "models" / "backtests" / "ercot-aug-2023.toml"
    assert main(["backtest", "--replay", str(replay), "--out", str(out)]) == 0
    doc = json.loads((out / "backtest.json").read_text())
    rows = pl.read_csv(out / "backtest_intervals.csv")
    assert rows.height == 4 * 744 and len(doc["windows"]) == 5
    price = raw_prices(repo_root, "LZ_HOUSTON", 1, 31)
    assert doc["strategies"]["unhedged"]["energy_cost_usd"] == pytest.approx(100.0 * price.sum())
    for name, totals in doc["strategies"].items():
        mine = rows.filter(pl.col("strategy") == name)
        for column in TOTAL_COLUMNS:
            assert abs(mine[column].sum() - totals[column]) < 0.005, (name, column)


def test_store_option_is_where_the_back_test_reads(profile, tmp_path, capsys, monkeypatch):
    store = tmp_path / "own-store"
    monkeypatch.setenv("ENERGYHEDGE_STORE", str(tmp_path / "default-store"))
    argv = ["backtest", "--config", str(profile), "--start", "2024-01-01", "--end", "2024-01-02"]
    assert main([*argv, "--store", str(store), "--out", str(tmp_path / "o")]) == 3
    assert "no ercot rtm prices" in capsys.readouterr().err
    assert any(store.iterdir())  # opened (and seeded) there, not in the default store
    assert not (tmp_path / "default-store").exists()
    assert os.environ["ENERGYHEDGE_STORE"] == str(tmp_path / "default-store")


def test_out_that_is_a_file_or_a_foreign_folder_exits_2(profile, tmp_path, capsys):
    argv = ["backtest", "--config", str(profile), "--start", "2023-08-15", "--end", "2023-08-15"]
    (tmp_path / "file").write_text("keep")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "n.md").write_text("keep")
    for out, said in (("file", "is a file, not a folder"), ("notes", "not written by energyhedge")):
        assert main([*argv, "--out", str(tmp_path / out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err
    assert (tmp_path / "file").read_text() == (tmp_path / "notes" / "n.md").read_text() == "keep"
