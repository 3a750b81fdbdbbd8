"""recommendation.json / schedule.csv / trades.csv of `energyhedge optimize` on the demo: closed
schema, trades and the curtailment ladder as decided, inert CSV text, atomic publication."""

from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import numpy as np
import polars as pl
import pytest

from energyhedge.cli import main
from energyhedge.commands import optimize as optimize_command
from energyhedge.report import outputs
from energyhedge.risk import STRATEGIES
from energyhedge.safe_text import neutralise_formula

SCHEMA = json.loads(outputs.SCHEMA_PATH.read_text(encoding="utf-8"))
DEMO = "models/runs/demo-ercot.toml"
SCHEDULE_COLUMNS = [
    "interval_start_utc",
    "interval_start_local",
    "job_class",
    "scheduled_mw",
    "firm_mw",
    "dr_offered_mw",
    "day_ahead_mw",
    "rung",
    "run_mw",
    "price_at_most_usd_per_mwh",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, repo_root):
    """The folder `energyhedge optimize` writes for the demo (60 scenarios) and its decision."""
    runs = []
    decide = optimize_command.decide

    def keep(*args, **kwargs):
        runs.append(decide(*args, **kwargs))
        return runs[-1]

    out = tmp_path_factory.mktemp("optimize") / "demo"
    argv = ["optimize", "--config", str(repo_root / DEMO), "--scenarios", "60"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(optimize_command, "decide", keep)
        assert main([*argv, "--out", str(out)]) == 0
    (run,) = runs
    return out, run


def written(out) -> dict:
    return json.loads((out / "recommendation.json").read_text(encoding="utf-8"))


def test_written_recommendation_follows_schema(demo):
    out, run = demo
    record = written(out)
    jsonschema.validate(record, SCHEMA)
    assert record["horizon"] == {
        "start_utc": "2023-08-17T05:00:00Z",
        "end_utc": "2023-08-18T05:00:00Z",
        "intervals": 24,
        "interval_minutes": 60,
        "scenarios": run.problem.n_scenarios,
    }
    risk = record["risk"]
    assert risk["lp"]["objective_usd"] == run.solution.objective_usd
    for key, valuation in (("in_sample", run.in_sample), ("out_of_sample", run.out_of_sample)):
        block = risk[key]
        assert block["basis"] == valuation.basis
        assert block["scenarios"] == valuation.probabilities.size
        assert list(block["strategies"]) == list(STRATEGIES)
        for name, value in valuation.strategies.items():
            assert block["strategies"][name]["expected_cost_usd"] == value.cost.expected_usd
            assert block["strategies"][name]["cvar_usd"] == value.cost.cvar_usd
            band = value.cvar_interval
            assert block["strategies"][name]["cvar_interval_usd"] == [band.low, band.high]
    assert risk["out_of_sample"]["scenarios"] == run.fresh_problem.n_scenarios
    assert risk["lp_vs_ladder"]["ladder_expected_cost_usd"] == run.ladder_gap.ladder_expected_usd
    assert list(record["ladder"]) == [f.name for f in run.problem.flex]
    for flex in run.problem.flex:
        rungs = record["ladder"][flex.name]["rungs"]
        values = [r["value_usd_per_mwh"] for r in rungs]
        np.testing.assert_allclose(values, flex.segment_value_usd_per_mwh(), rtol=1e-15)
        assert rungs[-1]["up_to_share_of_max"] == pytest.approx(1.0)


def test_schema_rejects_unknown_and_malformed_keys(demo):
    out, _ = demo
    clean = written(out)
    assert clean["trades"], "the demo decision trades"
    trade = clean["trades"][0]
    cases = {
        "unknown top-level key": ({**clean, "curtail_above_usd_per_mwh": {}}, []),
        "unknown key in a trade": ({**clean, "trades": [{**trade, "note": "x"}]}, ["trades", 0]),
        "missing solver": ({k: v for k, v in clean.items() if k != "solver"}, []),
        "mw as text": ({**clean, "trades": [{**trade, "mw": "10"}]}, ["trades", 0, "mw"]),
    }
    for label, (broken, path) in cases.items():
        with pytest.raises(jsonschema.ValidationError) as caught:
            jsonschema.validate(broken, SCHEMA)
        assert list(caught.value.absolute_path) == path, label


def test_trades_match_the_decision(demo):
    out, run = demo
    problem, x = run.problem, run.decision.product_mw
    trades = pl.read_csv(out / "trades.csv")
    held = [k for k, mw in enumerate(x) if abs(mw) >= outputs.TRADE_MW_TOLERANCE]
    assert trades["product"].to_list() == [problem.products[k].name for k in held]
    assert trades["product"].to_list() == [t["product"] for t in written(out)["trades"]]
    for row, k in zip(trades.iter_rows(named=True), held, strict=True):
        product, mw = problem.products[k], x[k]
        paid = product.premium_usd_per_mw if mw > 0 else product.bid_usd_per_mw
        base = product.meta["strike_usd_per_mwh"] if product.kind == "block" else 0.0
        assert row["side"] == ("buy" if mw > 0 else "sell")
        assert row["price_side"] == ("ask" if mw > 0 else "bid")
        assert row["mw"] == pytest.approx(mw, rel=1e-15)
        assert row["notional_mwh"] == pytest.approx(abs(mw) * product.notional_hours, rel=1e-15)
        assert row["price_usd_per_mwh"] == pytest.approx(
            base + paid / product.notional_hours, rel=1e-15
        )
        assert row["premium_usd"] == pytest.approx(mw * paid, rel=1e-15)
        assert row["pricing"] == product.meta["pricing"]
        assert (row["start"], row["end"]) == ("2023-08-17T05:00:00Z", "2023-08-18T05:00:00Z")


def test_a_sold_forward_block_trades_at_its_bid(demo):
    _, run = demo
    problem = run.problem
    k = next(
        k
        for k, p in enumerate(problem.products)
        if p.kind == "block" and p.sellable and p.meta["pricing"] == "model"
    )
    product, spec = problem.products[k], run.catalogue.products[k]
    assert spec.name == product.name and spec.loading > 0
    book = np.zeros(len(problem.products))
    book[k] = -5.0
    (row,) = outputs.trades(problem, book)
    forward = product.meta["strike_usd_per_mwh"]
    assert (row["side"], row["price_side"], row["mw"]) == ("sell", "bid", -5.0)
    assert row["price_usd_per_mwh"] == pytest.approx(forward * (1 - spec.loading), rel=1e-12)
    assert row["mid_usd_per_mwh"] == pytest.approx(forward, rel=1e-12)
    assert row["premium_usd"] == pytest.approx(
        5.0 * spec.loading * forward * product.notional_hours
    )


def test_schedule_is_the_ladder_of_the_decision(demo):
    out, run = demo
    problem, decision = run.problem, run.decision
    schedule = pl.read_csv(out / "schedule.csv")
    assert schedule.columns == SCHEDULE_COLUMNS
    rungs = {f.name: f.segments()[0].size for f in problem.flex}
    assert schedule.height == problem.n_intervals * sum(rungs.values())
    assert schedule["interval_start_utc"][0] == "2023-08-17T05:00:00Z"
    assert schedule["interval_start_local"][0] == "2023-08-17T00:00:00-05:00"  # CDT
    tag = problem.probabilities @ problem.cp_weight_usd_per_mw / problem.interval_hours
    stamps = schedule["interval_start_utc"].unique(maintain_order=True).to_list()
    assert len(stamps) == problem.n_intervals
    for j, flex in enumerate(problem.flex):
        assert flex.rt_curtailable and decision.follows_ladder
        mine = schedule.filter(pl.col("job_class") == flex.name)
        for t, stamp in enumerate(stamps):
            cell = mine.filter(pl.col("interval_start_utc") == stamp)
            assert cell["rung"].to_list() == list(range(1, rungs[flex.name] + 1))
            price = cell["price_at_most_usd_per_mwh"].to_numpy()
            run_mw = cell["run_mw"].to_numpy()
            np.testing.assert_allclose(price, flex.segment_value_usd_per_mwh() - tag[t])
            assert np.all(np.diff(price) < 0)  # later rungs are for lower prices ...
            assert np.all(np.diff(run_mw) >= 0)  # ... and never run less
            assert run_mw[-1] == pytest.approx(decision.schedule_mw[j, t], rel=1e-15)
            assert cell["scheduled_mw"].to_list() == [decision.schedule_mw[j, t]] * len(price)
            assert cell["dr_offered_mw"][0] == decision.dr_mw[:, t].sum()
    inflexible = outputs.schedule_frame(problem, replace(decision, follows_ladder=False), "ercot")
    assert inflexible.height == problem.n_intervals * len(problem.flex)
    assert inflexible["price_at_most_usd_per_mwh"].null_count() == inflexible.height
    np.testing.assert_array_equal(inflexible["run_mw"].to_numpy(), decision.schedule_mw.ravel())


def test_trades_csv_neutralises_formula_like_product_names(demo, tmp_path):
    out, run = demo
    names = ['=HYPERLINK("http://example.invalid","x")', "@SUM(A1)"]
    problem = replace(
        run.problem,
        products=(
            *(replace(p, name=n) for p, n in zip(run.problem.products, names, strict=False)),
            *run.problem.products[len(names) :],
        ),
    )
    book = np.zeros(len(problem.products))
    book[: len(names)] = 1.0  # hold the two renamed products
    decision = replace(run.decision, product_mw=book)
    trades = outputs.trades(problem, decision.product_mw)
    record = {**written(out), "trades": trades}
    schedule = outputs.schedule_frame(problem, decision, "ercot")
    outputs.write_files(tmp_path, record, schedule, outputs.trades_frame(trades))
    shown = pl.read_csv(tmp_path / "trades.csv")["product"].to_list()
    assert shown == [neutralise_formula(n) for n in names]
    assert shown == ["'" + n for n in names]
    # JSON is not a spreadsheet: the record keeps the name as it is
    assert [t["product"] for t in written(tmp_path)["trades"]] == names


def test_publication_is_atomic(demo, tmp_path):
    out, run = demo
    record = written(out)
    schedule = outputs.schedule_frame(run.problem, run.decision, "ercot")
    trades = outputs.trades_frame(record["trades"])
    target = outputs.write_outputs(tmp_path / "run", record, schedule, trades)
    before = (target / "recommendation.json").read_bytes()
    broken = {**record, "notes": [object()]}  # not JSON-serialisable: fails mid-write
    with pytest.raises(TypeError):
        outputs.write_outputs(tmp_path / "run", broken, schedule, trades)
    assert (target / "recommendation.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary left behind
    outputs.write_outputs(tmp_path / "run", {**record, "run_id": "second"}, schedule, trades)
    assert written(target)["run_id"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_committed_example_report_follows_schema(repo_root):
    # reports/example/ is what a new user opens first; it must match the current contract.
    example = repo_root / "reports" / "example"
    recommendation = json.loads((example / "recommendation.json").read_text(encoding="utf-8"))
    jsonschema.validate(recommendation, SCHEMA)
    trades = pl.read_csv(example / "trades.csv")
    assert trades["product"].to_list() == [t["product"] for t in recommendation["trades"]]
    assert trades["mw"].to_list() == pytest.approx([t["mw"] for t in recommendation["trades"]])


def test_ancillary_services_per_product(demo):
    # The demo campus offers one programme (ECRS at a fixed 9.62 $/MW-h): its revenue is the
    # offer's MW-h times that price in every scenario, and the product's lines add to the
    # recommendation's DR lines out of sample.
    out, run = demo
    (product,) = written(out)["trading"]["ancillary_services"]
    assert (product["name"], product["kind"], product["price_series"]) == ("ecrs", "ecrs", None)
    offer = run.decision.dr_mw[0]
    assert product["offered_mw_h"] == pytest.approx(float(offer @ run.problem.interval_hours))
    assert product["largest_offer_mw"] == pytest.approx(float(offer.max()))
    revenue = product["revenue"]
    assert revenue["expected_usd"] == pytest.approx(9.62 * product["offered_mw_h"])
    assert revenue["p5_usd"] == pytest.approx(revenue["p95_usd"])  # a fixed price
    recommended = run.out_of_sample.costs["recommended"]
    p = run.out_of_sample.probabilities
    assert product["penalty"]["expected_usd"] == pytest.approx(p @ recommended.dr_penalty_usd)
    assert 0.0 <= product["delivered_mwh"] <= product["called_mwh"] + 1e-9
    assert product["net_value"]["expected_usd"] == pytest.approx(
        revenue["expected_usd"]
        - product["penalty"]["expected_usd"]
        - product["work_cost"]["expected_usd"]
        + product["energy_saved"]["expected_usd"]
    )
