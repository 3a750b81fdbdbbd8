"""recommendation.json / schedule.csv / trades.csv: schema, content, atomic publication."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import jsonschema
import numpy as np
import polars as pl
import pytest

from energyhedge.optimize import SolveOptions, solve
from energyhedge.optimize.synthetic import synthetic_problem
from energyhedge.report import outputs

SCHEMA = json.loads(outputs.SCHEMA_PATH.read_text(encoding="utf-8"))
CAMPUS = SimpleNamespace(
    name="synthetic", iso="ercot", node="LZ_HOUSTON", market="rtm", grid_limit_mw=110.0
)
HASH = "sha256:" + "0" * 64


def risk(expected: float) -> dict:
    return outputs.risk_block(
        {
            "expected_cost_usd": expected,
            "var_usd": expected * 1.5,
            "cvar_usd": expected * 2,
            "worst_usd": expected * 3,
            "alpha": 0.95,
            "cost_per_gpu_hour_p5_usd": 0.1,
            "cost_per_gpu_hour_p50_usd": 0.2,
            "cost_per_gpu_hour_p95_usd": 0.4,
            "cost_per_gpu_hour_p99_usd": 0.8,
        }
    )


@pytest.fixture(scope="module")
def solved():
    problem = synthetic_problem(24, 30, seed=2)
    solution = solve(problem, SolveOptions(marginals=True))
    recommendation = outputs.build_recommendation(
        run_id="test-run",
        as_of=date(2023, 8, 16),
        campus=CAMPUS,
        inputs={"campus": {"path": "x.toml", "sha256": HASH}},
        config={"risk": {"alpha": 0.95}},
        problem=problem,
        solution=solution,
        hedged=risk(100.0),
        unhedged=risk(120.0),
        interval_minutes=60,
    )
    return problem, solution, recommendation


def publish(tmp_path, problem, solution, recommendation, name="run"):
    return outputs.write_outputs(
        tmp_path / name,
        recommendation,
        outputs.schedule_frame(problem, solution.decision, "ercot"),
        outputs.trades_frame(recommendation["trades"]),
    )


def test_written_recommendation_follows_schema(tmp_path, solved):
    problem, solution, recommendation = solved
    out = publish(tmp_path, problem, solution, recommendation)
    written = json.loads((out / "recommendation.json").read_text())
    jsonschema.validate(written, SCHEMA)
    assert written["risk"]["hedged"]["cost_per_gpu_hour"] == {
        "p5": 0.1,
        "p50": 0.2,
        "p95": 0.4,
        "p99": 0.8,
    }
    assert written["solver"]["status"] == "Optimal"
    assert written["solver"]["objective"] == pytest.approx(solution.objective_usd)
    assert written["risk"]["in_sample"]["cvar_usd"] == pytest.approx(solution.cvar_usd)
    assert set(written["marginals"]["flex_value_usd_per_mw"]) == {"training", "batch"}
    assert written["curtail_above_usd_per_mwh"]["batch"] is None  # inf -> null


def test_schema_rejects_incomplete_records(solved):
    _, _, recommendation = solved
    clean = json.loads(json.dumps(outputs._json_ready(recommendation)))
    jsonschema.validate(clean, SCHEMA)
    for broken in (
        {k: v for k, v in clean.items() if k != "solver"},
        {**clean, "risk": {"hedged": clean["risk"]["hedged"]}},
        {**clean, "trades": [{**t, "mw": "10"} for t in clean["trades"]] or [{"mw": 1}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_trades_and_schedule_match_the_decision(tmp_path, solved):
    problem, solution, recommendation = solved
    out = publish(tmp_path, problem, solution, recommendation)
    trades = pl.read_csv(out / "trades.csv")
    held = [k for k, x in enumerate(solution.decision.product_mw) if abs(x) >= 1e-6]
    assert trades["product"].to_list() == [problem.products[k].name for k in held]
    np.testing.assert_allclose(trades["mw"].to_numpy(), solution.decision.product_mw[held])
    np.testing.assert_allclose(
        trades["premium_usd"].to_numpy(),
        [solution.decision.product_mw[k] * problem.products[k].premium_usd_per_mw for k in held],
    )
    assert trades["start"][0] == "2023-08-17T05:00:00Z"
    assert trades["end"][0] == "2023-08-18T05:00:00Z"
    schedule = pl.read_csv(out / "schedule.csv")
    assert schedule.columns == [
        "interval_start_utc",
        "interval_start_local",
        "firm_mw",
        "training_mw",
        "batch_mw",
        "dr_offered_mw",
        "training_curtail_above_usd_per_mwh",
        "batch_curtail_above_usd_per_mwh",
    ]
    assert schedule["interval_start_utc"][0] == "2023-08-17T05:00:00Z"
    assert schedule["interval_start_local"][0] == "2023-08-17T00:00:00-05:00"  # CDT
    np.testing.assert_allclose(schedule["training_mw"].to_numpy(), solution.decision.schedule_mw[0])
    assert schedule["batch_curtail_above_usd_per_mwh"].null_count() == 24


def test_publication_is_atomic(tmp_path, solved):
    problem, solution, recommendation = solved
    out = publish(tmp_path, problem, solution, recommendation)
    before = (out / "recommendation.json").read_bytes()
    broken = {**recommendation, "notes": [object()]}  # not JSON-serialisable: fails mid-write
    with pytest.raises(TypeError):
        publish(tmp_path, problem, solution, broken)
    assert (out / "recommendation.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary left behind
    replaced = publish(tmp_path, problem, solution, {**recommendation, "run_id": "second"})
    assert json.loads((replaced / "recommendation.json").read_text())["run_id"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_committed_example_report_follows_schema(repo_root):
    # reports/example/ is what a new user opens first; it must match the current contract.
    example = repo_root / "reports" / "example"
    recommendation = json.loads((example / "recommendation.json").read_text(encoding="utf-8"))
    jsonschema.validate(recommendation, SCHEMA)
    trades = pl.read_csv(example / "trades.csv")
    assert trades["product"].to_list() == [t["product"] for t in recommendation["trades"]]
    assert trades["mw"].to_list() == pytest.approx([t["mw"] for t in recommendation["trades"]])
