"""Run profiles, `energyhedge optimize` on the shipped ERCOT data, and the benchmark smoke test."""

from __future__ import annotations

import json
import multiprocessing
import resource
from datetime import date

import jsonschema
import polars as pl
import pytest

from energyhedge.cli import main
from energyhedge.errors import ConfigError
from energyhedge.optimize import SolveOptions, model_size, solve
from energyhedge.optimize.benchmark import bench_optimize, peak_rss_mb, peak_rss_upper_bound_mb
from energyhedge.optimize.synthetic import synthetic_problem
from energyhedge.report.outputs import SCHEMA_PATH
from energyhedge.runs import load_run_profile
from energyhedge.scenarios import CapEvent, HistoricalReplay

SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def test_demo_profiles_load(repo_root):
    ercot = load_run_profile(repo_root / "models/runs/demo-ercot.toml")
    assert ercot.campus_path.resolve() == (repo_root / "models/campus/tx-100mw.toml").resolve()
    assert ercot.contracts_path.name == "ercot-standard.toml"
    s = ercot.scenarios
    assert (s.model, s.n, s.seed, s.start, s.days) == ("bootstrap", 300, 7, date(2023, 8, 17), 1)
    assert (s.out_of_sample_seed, s.out_of_sample_n) == (8, 300)
    assert s.stress == (
        HistoricalReplay("aug2023-evenings", date(2023, 8, 15), date(2023, 8, 15), 0.02, (16, 22)),
        CapEvent("cap4h", 4, 17, 0.01),
    )
    o = ercot.solve_options
    assert (o.alpha, o.cvar_weight, o.cvar_budget_usd, o.time_limit_s) == (0.95, 1.0, None, 60.0)
    assert o.highs_options == {"solver": "simplex", "presolve": "off"}
    pjm = load_run_profile(repo_root / "models/runs/demo-pjm.toml")
    assert pjm.campus_path.name == "pjm-western-100mw.toml"
    assert pjm.scenarios.offer_cap_usd_per_mwh == 2000.0


def test_marks_profile_names_its_marks_and_limits(repo_root):
    profile = load_run_profile(repo_root / "models/runs/demo-ercot-marks.toml")
    assert profile.forward_marks.endswith("models/forwards/ercot-sample-marks.csv")
    limits = {(r.shape, r.lower, r.upper) for r in profile.solve_options.hedge_ratio}
    assert limits == {("5x16", -0.1, 1.0), ("7x8", -0.1, 1.0)}
    # 21 rows (17 LZ_HOUSTON, 4 HB_HOUSTON), one superseded BOM mark
    assert len(profile.marks(date(2023, 8, 16))) == 20
    assert profile.resolved()["forward_marks"].endswith("ercot-sample-marks.csv")
    lots = {(s.name, s.lot_mw, s.min_trade_mw, s.pricing) for s in profile.contracts()}
    assert ("block_5x16", 1.0, 1.0, None) in lots
    assert ("scarcity_1000_7x24", 1.0, 1.0, "model") in lots
    assert load_run_profile(repo_root / "models/runs/demo-ercot.toml").marks(None) is None


def test_overrides_switch_the_risk_form(repo_root):
    profile = load_run_profile(repo_root / "models/runs/demo-ercot.toml")
    budget = profile.with_overrides(cvar_budget_usd=5e5, n=40, seed=3)
    assert budget.solve_options.budget_form and budget.solve_options.cvar_budget_usd == 5e5
    assert (budget.scenarios.n, budget.scenarios.seed) == (40, 3)
    back = budget.with_overrides(cvar_weight=2.0, alpha=0.9)
    assert back.resolved()["risk"] == {
        "alpha": 0.9,
        "lambda": 2.0,
        "cvar_budget_usd": None,
        "frontier_lambdas": [0.0, 0.25, 0.5, 1.0, 2.0, 4.0],
        "hedge_ratio": {},
    }
    assert not back.solve_options.budget_form
    assert (back.solve_options.cvar_weight, back.solve_options.alpha) == (2.0, 0.9)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[risk]\nlambda = 1\ncvar_budget_usd = 5", r"risk\.cvar_budget_usd: give either"),
        ("[risk]\nalpah = 0.9", r"risk\.alpah: unknown key"),
        ("[risk]\nalpha = 1.5", r"risk\.alpha: must be <= 0.9999"),
        ("[risk]\nfrontier_lambdas = [-1]", r"risk\.frontier_lambdas: expected a non-empty"),
        ("[scenarios]\nmodel = 'garch'", r"scenarios\.model: must be one of"),
        (
            "[risk.hedge_ratio]\n'5x16' = [1.0, 0.5]",
            r"risk\.hedge_ratio\.5x16: hedge-ratio limit for 5x16: need -10 <= lower <= upper",
        ),
        ("[risk.hedge_ratio]\n'6x16' = [0, 1]", r"risk\.hedge_ratio\.6x16: hedge-ratio shape"),
        ("[risk.hedge_ratio]\n'7x8' = [0]", r"risk\.hedge_ratio\.7x8: expected \[lower, upper\]"),
        ("[scenarios]\nmarket_consistent = true", r"scenarios\.market_consistent: needs forward"),
    ],
)
def test_bad_profiles_name_file_and_key(tmp_path, text, message):
    base = {
        "run": "[run]\ncampus = 'c.toml'\ncontracts = 'k.toml'\n",
        "scenarios": "[scenarios]\nn = 10\nseed = 1\n",
        "risk": "[risk]\nalpha = 0.95\n",
    }
    section = text.split("]")[0].strip("[")
    base[section] = text + ("\nn = 10\nseed = 1\n" if section == "scenarios" else "\n")
    path = tmp_path / "bad.toml"
    path.write_text("\n".join(base.values()))
    with pytest.raises(ConfigError, match=rf"bad\.toml: {message}"):
        load_run_profile(path)


def test_highs_options_extend_the_defaults(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        "[run]\ncampus = 'c.toml'\ncontracts = 'k.toml'\n[scenarios]\nn = 10\nseed = 1\n"
        "[risk]\ncvar_budget_usd = 1e6\n[solver]\ntime_limit_s = 5\n[solver.highs]\nthreads = 1\n"
    )
    profile = load_run_profile(path)
    assert profile.solve_options.highs_options == {
        "solver": "simplex",
        "presolve": "off",
        "threads": 1,
    }
    assert profile.solve_options.budget_form and profile.solve_options.time_limit_s == 5.0
    assert profile.campus_path == tmp_path / "c.toml"
    assert profile.scenarios.out_of_sample_seed == 2  # seed + 1 unless given


def _strip_timings(record: dict) -> dict:
    """The record without what a re-run may change: measured durations and the creation time."""
    solver = {k: v for k, v in record["solver"].items() if not k.endswith("_s")}
    return {**record, "solver": solver, "created_utc": None}


def test_optimize_command_on_shipped_ercot_data(tmp_path, repo_root, capsys):
    config = str(repo_root / "models/runs/demo-ercot.toml")
    args = ["optimize", "--config", config, "--scenarios", "60", "--seed", "11"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    first = json.loads((tmp_path / "a/recommendation.json").read_text())
    second = json.loads((tmp_path / "b/recommendation.json").read_text())
    jsonschema.validate(first, SCHEMA)
    assert _strip_timings(first) == _strip_timings(second)  # deterministic given the inputs
    assert first["as_of"] == "2023-08-16"
    assert first["horizon"] == {
        "start_utc": "2023-08-17T05:00:00Z",
        "end_utc": "2023-08-18T05:00:00Z",
        "intervals": 24,
        "interval_minutes": 60,
        "scenarios": 62,  # 60 + 2 stress scenarios
    }
    assert first["config"]["scenarios"]["n"] == 60 and first["config"]["scenarios"]["seed"] == 11
    assert first["inputs"]["history"]["last_utc"] < "2023-08-17 05:00"  # no look-ahead
    strategies = first["risk"]["out_of_sample"]["strategies"]
    hedged, unhedged = strategies["recommended"], strategies["unhedged"]
    assert hedged["alpha"] == 0.95
    assert hedged["cvar_usd"] < unhedged["cvar_usd"]
    assert f"CVaR95% ${hedged['cvar_usd']:,.0f} (unhedged $" in printed[0]
    assert printed[1].endswith("recommendation.json, schedule.csv, trades.csv")
    trades = pl.read_csv(tmp_path / "a/trades.csv")
    assert trades["product"].to_list() == [t["product"] for t in first["trades"]]
    schedule = pl.read_csv(tmp_path / "a/schedule.csv")
    rungs = schedule.filter(pl.col("job_class") == "training")["rung"].n_unique()
    assert schedule.height == 24 * rungs and schedule["interval_start_utc"].n_unique() == 24
    top = schedule.filter(pl.col("rung") == rungs)
    assert (top["firm_mw"] + top["run_mw"]).max() <= 100.0 + 1e-6


def test_broker_quote_replaces_the_fair_premium(tmp_path, repo_root, capsys):
    # A scarcity call quoted at $1/MWh of notional over the 24-hour 7x24 horizon: the optimiser
    # pays exactly quote x hours x MW for it, and the quote is recorded with the run.
    config = str(repo_root / "models/runs/demo-ercot.toml")
    args = ["optimize", "--config", config, "--scenarios", "40", "--seed", "3"]
    out = tmp_path / "quoted"
    assert main([*args, "--quote", "scarcity_1000_7x24=1", "--out", str(out)]) == 0
    record = json.loads((out / "recommendation.json").read_text())
    assert record["config"]["quotes_usd_per_mwh"] == {"scarcity_1000_7x24": 1.0}
    (call,) = [t for t in record["trades"] if t["product"] == "scarcity_1000_7x24"]
    assert call["mw"] > 0
    assert call["premium_usd"] == pytest.approx(1.0 * 24 * call["mw"], rel=1e-9)
    assert call["fair_premium_usd"] != pytest.approx(call["premium_usd"])
    assert main([*args, "--quote", "no_such=1", "--out", str(tmp_path / "bad")]) == 2
    assert "no product no_such to quote" in capsys.readouterr().err


def test_optimize_command_reports_unreachable_budget(tmp_path, repo_root, capsys):
    config = str(repo_root / "models/runs/demo-ercot.toml")
    code = main(
        [
            "optimize",
            "--config",
            config,
            "--out",
            str(tmp_path / "x"),
            "--scenarios",
            "30",
            "--cvar-budget",
            "1000",
        ]
    )
    assert code == 4
    assert "CVaR budget $1,000 is below the lowest CVaR" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_bench_optimize_small_smoke():
    result = bench_optimize("small", compare_pyomo=True)
    problem = synthetic_problem(24, 100, seed=0)
    options = SolveOptions(marginals=False)
    size = model_size(problem, options)
    assert (result["columns"], result["rows"], result["nonzeros"]) == (
        size["columns"],
        size["rows"],
        size["nonzeros"],
    )
    assert result["status"] == "Optimal"
    assert result["objective"] == pytest.approx(solve(problem, options).objective_usd, rel=1e-9)
    assert (result["pyomo_columns"], result["pyomo_rows"]) == (size["columns"], size["rows"])
    assert result["peak_rss_mb"] > 0 and result["pyomo_build_s"] > result["array_build_s"] > 0


def _hold_mb(mb: int) -> None:
    block = bytearray(mb * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident


def test_peak_memory_counts_the_workers():
    worker = multiprocessing.get_context("spawn").Process(target=_hold_mb, args=(300,))
    worker.start()
    worker.join()
    largest_worker = peak_rss_mb(resource.RUSAGE_CHILDREN)
    assert largest_worker >= 300.0
    own = peak_rss_mb()
    assert peak_rss_upper_bound_mb(1) == pytest.approx(own, abs=1.0)
    assert peak_rss_upper_bound_mb(3) == pytest.approx(own + 2 * largest_worker, abs=1.0)
