"""The decision service on the shipped demo: honest out-of-sample figures, re-derived by hand."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from energyhedge.campus import load_campus
from energyhedge.data.calendar import local_fields
from energyhedge.data.store import open_store
from energyhedge.decide import decide
from energyhedge.errors import DataError
from energyhedge.instruments import product_mask
from energyhedge.run_inputs import decision_history
from energyhedge.runs import load_run_profile
from energyhedge.scenarios.holdout import split_history

DEMO = "models/runs/demo-ercot.toml"


@pytest.fixture(scope="module")
def demo_run():
    profile = load_run_profile(DEMO).with_overrides(n=120)
    campus = load_campus(profile.campus_path)
    start = profile.scenarios.start
    history, _ = decision_history(
        open_store(), profile, campus, as_of=start - timedelta(days=1), start=start
    )
    return decide(profile, campus, profile.contracts(), history, start)


def test_out_of_sample_blocks_settle_at_the_traded_ask(demo_run):
    """Defect: out of sample, blocks were re-struck at the fresh scenarios' forward."""
    run = demo_run
    held = [k for k, x in enumerate(run.decision.product_mw) if abs(x) > 1e-6]
    assert held, "the demo decision holds products"
    for k in held:
        bought, fresh = run.problem.products[k], run.fresh_problem.products[k]
        if bought.kind != "block":
            continue
        traded = (
            bought.meta["strike_usd_per_mwh"] + bought.premium_usd_per_mw / bought.notional_hours
        )
        # The in-sample forward x (1 + loading), the ask a purchase pays ...
        mask = product_mask(run.catalogue.products[k], run.scenarios.interval_start_utc, 60)
        h = run.scenarios.interval_hours
        forward = float(
            run.scenarios.probabilities @ (run.scenarios.prices_usd_per_mwh @ (mask * h))
        ) / float(h @ mask)
        assert traded == pytest.approx(forward * 1.02, rel=1e-12)  # loading 0.02 in the catalogue
        # ... is the price the out-of-sample problem settles at, not the fresh forward.
        assert fresh.meta["strike_usd_per_mwh"] == pytest.approx(traded, rel=1e-12)
        assert fresh.premium_usd_per_mw == 0.0
        fresh_forward = float(
            run.fresh.probabilities @ (run.fresh.prices_usd_per_mwh @ (mask * h))
        ) / float(h @ mask)
        assert abs(fresh_forward - forward) > 1.0  # the two sets do price differently


def _ladder_cost_by_loop(problem, decision) -> np.ndarray:
    """Scenario cost by explicit loops over scenarios, intervals, classes and segments."""
    assert problem.n_dr == 1  # the demo campus offers one DR/AS programme
    s_n, t_n = problem.prices_usd_per_mwh.shape
    out = np.zeros(s_n)
    for s in range(s_n):
        total = 0.0
        for t in range(t_n):
            h = problem.interval_hours[t]
            price = problem.prices_usd_per_mwh[s, t]
            q = price + problem.cp_weight_usd_per_mw[s, t] / h
            pieces = []  # [class, segment value $/MWh, MW running, slope]
            for j, flex in enumerate(problem.flex):
                width, slope = flex.segments()
                left = decision.schedule_mw[j, t]
                for w, sl in zip(width, slope, strict=True):
                    value = flex.break_even_usd_per_mwh * sl
                    mw = min(w * flex.max_mw[t], left)
                    left -= mw
                    if flex.rt_curtailable and value < q:
                        mw = 0.0
                    pieces.append([j, value, mw, sl])
            short = 0.0
            if problem.dr_deployed[0, s, t] and decision.dr_mw[0, t] > 0:
                shed = sum(
                    decision.schedule_mw[j, t]
                    for j, f in enumerate(problem.flex)
                    if f.rt_curtailable
                ) - sum(piece[2] for piece in pieces if problem.flex[piece[0]].rt_curtailable)
                need = max(decision.dr_mw[0, t] - shed, 0.0)
                for piece in sorted(pieces, key=lambda piece: piece[1]):
                    if need <= 0 or piece[1] >= q + problem.dr_penalty_usd_per_mwh[0]:
                        continue
                    if problem.flex[piece[0]].rt_curtailable:
                        cut = min(piece[2], need)
                        piece[2] -= cut
                        need -= cut
                short = need
            load = problem.firm_load_mw[t] + sum(piece[2] for piece in pieces)
            for j, flex in enumerate(problem.flex):
                work_frac = (
                    sum(piece[3] * piece[2] / flex.max_mw[t] for piece in pieces if piece[0] == j)
                    if flex.max_mw[t]
                    else 0.0
                )
                full = flex.gpu_hours_per_mwh * flex.max_mw[t] * h
                total += flex.value_usd_per_gpu_hour * full * (1.0 - work_frac)
            total += price * load * h + problem.cp_weight_usd_per_mw[s, t] * load
            total += problem.dr_penalty_usd_per_mwh[0] * short * h
            total -= problem.dr_price_usd_per_mw_h[0, s, t] * decision.dr_mw[0, t] * h
        for k, product in enumerate(problem.products):
            x = decision.product_mw[k]
            total += (product.premium_usd_per_mw if x >= 0 else product.bid_usd_per_mw) * x
            total -= x * product.payoff_usd_per_mw[s]
        out[s] = total
    return out


def test_out_of_sample_figures_rederived_at_traded_prices(demo_run):
    run = demo_run
    problem = run.fresh_problem
    assert problem.dr_deployed.any() and run.decision.dr_mw.any()  # DR dispatch is exercised
    by_loop = _ladder_cost_by_loop(problem, run.decision)
    # Block payoffs re-derived from the fresh prices and the traded price, by hand.
    for k, product in enumerate(problem.products):
        spec = run.catalogue.products[k]
        if spec.kind != "block":
            continue
        mask = product_mask(spec, problem.interval_start_utc, 60)
        by_hand = (problem.prices_usd_per_mwh - product.meta["strike_usd_per_mwh"]) @ (
            mask * problem.interval_hours
        )
        np.testing.assert_allclose(product.payoff_usd_per_mw, by_hand, rtol=1e-12)
    costs = run.out_of_sample.costs["recommended"].total_cost_usd
    np.testing.assert_allclose(costs, by_loop, rtol=1e-10)
    p = problem.probabilities
    assert run.out_of_sample.recommended.cost.expected_usd == pytest.approx(p @ by_loop)
    order = np.argsort(-by_loop)
    tail = np.clip(0.05 - (np.cumsum(p[order]) - p[order]), 0, p[order])
    assert run.out_of_sample.recommended.cost.cvar_usd == pytest.approx(
        tail @ by_loop[order] / 0.05
    )


def test_ladder_equals_the_lp_in_sample_when_no_work_requirement_binds(demo_run):
    gap = demo_run.ladder_gap
    assert gap.ladder_expected_usd == pytest.approx(gap.lp_expected_usd, rel=1e-9)
    assert gap.ladder_cvar_usd == pytest.approx(gap.lp_cvar_usd, rel=1e-9)


def test_out_of_sample_scenarios_use_days_the_in_sample_ones_do_not(demo_run):
    run = demo_run
    split = run.split
    day = pl.col("interval_start_utc").dt.convert_time_zone("America/Chicago").dt.date()
    fit_days = set(split.fit.select(day.alias("d"))["d"].to_list())
    held_days = set(split.held_out.select(day.alias("d"))["d"].to_list())
    assert fit_days and held_days and not fit_days & held_days
    assert split.fit.height + split.held_out.height == run.history.height

    # Every bootstrapped in-sample day is a fit day's price path, every out-of-sample one a
    # held-out day's (stress scenarios aside).
    def day_paths(frame):
        local = local_fields(
            frame["interval_start_utc"].dt.replace_time_zone(None).to_numpy(), "ercot"
        )
        prices = frame["price_usd_per_mwh"].to_numpy()
        paths = {}
        for d in np.unique(local["date"]):
            sel = local["date"] == d
            if sel.sum() == 24:
                paths[d] = tuple(np.round(prices[sel], 6))
        return set(paths.values())

    fit_paths, held_paths = day_paths(split.fit), day_paths(split.held_out)
    for scenarios, own, other in (
        (run.scenarios, fit_paths, held_paths),
        (run.fresh, held_paths, fit_paths),
    ):
        model = scenarios.kind == "bootstrap"
        rows = {tuple(np.round(r, 6)) for r in scenarios.prices_usd_per_mwh[model]}
        assert rows <= own
        assert not rows & (other - own)


def test_model_risk_intervals_contain_the_estimates(demo_run):
    for valuation in (demo_run.in_sample, demo_run.out_of_sample):
        for value in valuation.strategies.values():
            lo, hi = value.expected_interval.low, value.expected_interval.high
            assert lo <= value.cost.expected_usd <= hi
            assert value.cvar_interval.low <= value.cvar_interval.high
        assert valuation.cvar_reduction_interval.low > 0  # the hedge's value is not noise


def test_frontier_is_valued_out_of_sample_and_holds_the_chosen_point(demo_run):
    run = demo_run
    lam = run.profile.solve_options.cvar_weight
    chosen = [p for p in run.frontier if p.cvar_weight == lam]
    assert chosen
    assert chosen[0].expected_cost_usd == pytest.approx(
        run.out_of_sample.recommended.cost.expected_usd, rel=1e-9
    )
    assert chosen[0].cvar_usd == pytest.approx(
        run.out_of_sample.recommended.cost.cvar_usd, rel=1e-9
    )


def test_split_needs_two_blocks():
    frame = pl.DataFrame(
        {
            "interval_start_utc": pl.datetime_range(
                pl.datetime(2023, 8, 1, 5, time_zone="UTC"),
                pl.datetime(2023, 8, 3, 4, time_zone="UTC"),
                "1h",
                eager=True,
            )
        }
    )
    with pytest.raises(DataError, match="at least 8 are needed"):
        split_history(frame, "ercot", seed=1)
