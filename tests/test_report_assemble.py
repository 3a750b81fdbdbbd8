"""The report view model from a real decision run on the shipped ERCOT data (demo profile,
60 + 60 scenarios): same basis everywhere, numbers traceable to the valuation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from energyhedge.alerts import operator_alerts
from energyhedge.campus import load_campus
from energyhedge.data.store import open_store
from energyhedge.decide import decide
from energyhedge.report.assemble import ReportContext, report_data
from energyhedge.report.html import SECTION_IDS, recommendation_sentence, render_report
from energyhedge.risk import STRATEGIES
from energyhedge.run_inputs import read_history
from energyhedge.runs import load_run_profile

PROFILE = Path(__file__).resolve().parents[1] / "models" / "runs" / "demo-ercot.toml"


@pytest.fixture(scope="module")
def run():
    profile = load_run_profile(PROFILE).with_overrides(n=60)
    profile = dataclasses.replace(
        profile, scenarios=dataclasses.replace(profile.scenarios, out_of_sample_n=60)
    )
    campus = load_campus(profile.campus_path)
    start = profile.scenarios.start
    history = read_history(open_store(), campus, start)
    return decide(profile, campus, profile.contracts(), history, start)


@pytest.fixture(scope="module")
def data(run):
    alerts = operator_alerts(run.fresh_problem, run.decision, iso=run.campus.iso)
    context = ReportContext(
        run_id="20230816T040000Z-abc123",
        as_of="2023-08-16",
        created_utc="2023-08-16T04:00:00Z",
        profile_name="demo-ercot",
        store_label="market_data/store",
        refresh="offline (--offline): used the price store as is",
        findings=(),
        inputs={"profile": {"path": "models/runs/demo-ercot.toml", "sha256": "sha256:00"}},
        timings_s={"solve": 0.1},
        warnings=(),
        alerts=tuple(alerts),
    )
    return report_data(run, context)


def test_risk_table_is_the_valuations(run, data) -> None:
    assert [r.key for r in data.risk.out_of_sample] == list(STRATEGIES)
    for basis, valuation in (("out of sample", run.out_of_sample), ("in sample", run.in_sample)):
        for key in STRATEGIES:
            row, value = data.risk.row(key, basis), valuation.strategies[key]
            assert (row.expected_usd, row.cvar_usd) == (
                value.cost.expected_usd,
                value.cost.cvar_usd,
            )
            assert row.expected_band_usd == (
                value.expected_interval.low,
                value.expected_interval.high,
            )
            assert sum(row.lines_usd.values()) == pytest.approx(row.expected_usd, rel=1e-9)
    assert data.risk.out_of_sample_scenarios == run.fresh_problem.n_scenarios
    assert data.risk.split == run.split.description
    gap = data.risk.ladder_gap
    assert (gap.lp_expected_usd, gap.ladder_cvar_usd) == (
        run.ladder_gap.lp_expected_usd,
        run.ladder_gap.ladder_cvar_usd,
    )


def test_frontier_chosen_point_is_the_tables_out_of_sample_both(run, data) -> None:
    both = data.risk.row("recommended")
    assert (data.frontier.chosen_expected_usd, data.frontier.chosen_cvar_usd) == (
        both.expected_usd,
        both.cvar_usd,
    )
    assert data.frontier.unhedged_cvar_usd == data.risk.row("unhedged").cvar_usd
    assert data.frontier.expected_usd.tolist() == [p.expected_cost_usd for p in run.frontier]


def test_hedge_against_load_matches_the_blocks_and_the_energy_line(run, data) -> None:
    x = dict(zip([p.name for p in run.problem.products], run.decision.product_mw, strict=True))
    view = data.hedge_load
    # Thursday 17 Aug 2023, local hours: 7x24 every hour, 7x8 00:00-06:00 and 22:00-24:00,
    # 5x16 06:00-22:00; 2x16 is weekends only.
    night = x["block_7x24"] + x["block_7x8"]
    day = x["block_7x24"] + x["block_5x16"]
    assert view.block_mw == pytest.approx([night] * 6 + [day] * 16 + [night] * 2)
    # Mean load x hours is the out-of-sample expected energy of "both" in the cost model.
    energy = run.out_of_sample.recommended.mean_lines["energy_mwh"]
    assert float(view.load_mean_mw @ run.fresh_problem.interval_hours) == pytest.approx(energy)
    # The ladder only sheds: load stays between the firm load and the schedule.
    assert np.all(run.fresh_problem.firm_load_mw <= view.load_low_mw + 1e-9)
    assert np.all(view.load_low_mw <= view.load_high_mw)
    assert np.all(view.load_high_mw <= view.scheduled_mw + 1e-9)
    assert np.all(view.load_mean_mw <= view.scheduled_mw + 1e-9)


def test_trades_show_the_price_the_decision_settles_at(run, data) -> None:
    struck = {p.name: p for p in run.fresh_problem.products}
    assert data.trades, "the demo decision trades"
    for t in data.trades:
        product = struck[t.product]
        if t.kind == "block":  # the struck block's fixed price is what was paid or received
            assert t.price_usd_per_mwh == pytest.approx(product.meta["strike_usd_per_mwh"])
        else:
            per_mwh = product.premium_usd_per_mw / product.notional_hours
            assert t.price_usd_per_mwh == pytest.approx(per_mwh)
    sentence = recommendation_sentence(data)
    first = data.trades[0]
    side = "ask" if first.mw > 0 else "bid"
    assert f"{first.product} at " in sentence and f"/MWh ({side})" in sentence


def test_alerts_and_page(data) -> None:
    (cp,) = [a for a in data.alerts if a.when == "2023-08-17 15:00-19:00 CDT"]
    assert cp.message.startswith("coincident-peak risk: the schedule runs ")
    assert "the ladder starts to shed load" in cp.message and "keep load low" not in cp.message
    page = render_report(data)
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in page
    assert page.count('class="chart"') == 4 + len(data.payoffs)  # frontier, load, CDF, schedule
