"""The size of the LP is counted by the same family functions that build it."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest

from energyhedge.optimize import SolveOptions, build_lp, model_size
from energyhedge.optimize.synthetic import synthetic_problem

FAST = SolveOptions(marginals=False)
BASE = synthetic_problem(24, 30, seed=2)
TRAINING, BATCH = BASE.flex


def variant(name: str):
    """(problem, options) of a named variation of the synthetic campus."""
    p, o = BASE, FAST
    if name == "dr_off":
        p = dataclasses.replace(p, dr_max_mw=0.0)
    elif name == "hard_requirement_no_ramp":
        batch = dataclasses.replace(
            BATCH, unserved_usd_per_gpu_hour=np.inf, ramp_mw_per_h=np.inf, rt_curtailable=True
        )
        p = dataclasses.replace(p, flex=(TRAINING, batch))
    elif name == "budget_form":
        o = dataclasses.replace(o, cvar_budget_usd=1e6)
    elif name == "no_flex_no_products":
        p = dataclasses.replace(p, flex=(), products=(), dr_max_mw=0.0)
    elif name == "sellable_products":
        block, call, scarcity = p.products
        products = (
            dataclasses.replace(block, min_mw=-np.inf, max_mw=-5.0),  # must sell
            dataclasses.replace(call, min_mw=-10.0),
            dataclasses.replace(scarcity, min_mw=2.0),
        )
        p = dataclasses.replace(p, products=products)
    elif name == "day_ahead_only_ramped_one_interval":
        p = synthetic_problem(1, 12, seed=4)
        p = dataclasses.replace(
            p, flex=tuple(dataclasses.replace(f, rt_curtailable=False) for f in p.flex)
        )
    elif name == "work_on_curtailable_class_15_minute":
        p = synthetic_problem(96, 8, seed=5)
        training = dataclasses.replace(
            p.flex[0], work_requirement_gpu_hours=1e4, unserved_usd_per_gpu_hour=5.0
        )
        p = dataclasses.replace(p, flex=(training, p.flex[1]))
    elif name == "committed_classes_with_gaps_in_max_mw":
        p = synthetic_problem(30, 6, seed=6)
        max_mw = np.asarray(p.flex[0].max_mw, dtype=float).copy()
        max_mw[5:7] = 0.0  # may not run: its commitment is bounded to off there
        training = dataclasses.replace(
            p.flex[0], max_mw=max_mw, min_run_h=3.0, min_off_h=2.0, stop_cost_usd=1e4
        )
        batch = dataclasses.replace(p.flex[1], min_off_h=1.5, min_power_frac=0.5)
        p = dataclasses.replace(p, flex=(training, batch))
        o = dataclasses.replace(o, cvar_budget_usd=1e6)
    return p, o


@pytest.mark.parametrize(
    "name",
    [
        "synthetic",
        "dr_off",
        "hard_requirement_no_ramp",
        "budget_form",
        "no_flex_no_products",
        "sellable_products",
        "day_ahead_only_ramped_one_interval",
        "work_on_curtailable_class_15_minute",
        "committed_classes_with_gaps_in_max_mw",
    ],
)
def test_model_size_equals_the_built_lp(name):
    problem, options = variant(name)
    size = model_size(problem, options)
    lp = build_lp(problem, options)
    assert (size["rows"], size["columns"]) == lp.matrix.shape
    assert size["nonzeros"] == lp.structural_nonzeros  # before dropping exact zeros
    assert lp.nonzeros <= lp.structural_nonzeros
    assert (lp.cols.n, lp.rows.n) == (lp.cost.size, lp.row_lower.size)
    assert size["integers"] == lp.integer.size


def test_commitment_families_show_in_the_layout():
    problem, options = variant("committed_classes_with_gaps_in_max_mw")
    lp = build_lp(problem, options)
    t_n = problem.n_intervals
    assert lp.integer.size == 2 * t_n
    np.testing.assert_array_equal(lp.integer[:t_n], lp.cols["on0"].idx)
    assert np.all(lp.col_upper[lp.cols["on0"].idx][5:7] == 0.0)
    assert {"minrun0", "minoff0", "minoff1", "switch1"} <= set(lp.rows.blocks)
    assert "minrun1" not in lp.rows.blocks
    # 3-hour minimum run on hourly intervals: each row sums the starts of t-2, t-1 and t
    rows = lp.matrix.tocsr()[lp.rows["minrun0"].idx]
    starts = lp.cols["start0"].idx
    assert rows[:, starts].sum(axis=1).tolist() == [1, 2] + [3] * (t_n - 2)


def test_families_show_in_the_layout():
    problem, options = variant("sellable_products")
    lp = build_lp(problem, options)
    assert lp.cols["xb"].size == 3 and lp.cols["xs"].size == 2  # the call and the block
    np.testing.assert_array_equal(lp.col_lower[lp.cols["xs"].idx], [5.0, 0.0])
    np.testing.assert_array_equal(lp.col_upper[lp.cols["xs"].idx], [np.inf, 10.0])
    np.testing.assert_array_equal(lp.col_lower[lp.cols["xb"].idx], [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(lp.col_upper[lp.cols["xb"].idx], [0.0, 100.0, 100.0])
    hard, _ = variant("hard_requirement_no_ramp")
    lp = build_lp(hard, FAST)
    assert "ramp1" not in lp.rows and "work1" in lp.rows
    assert np.all(lp.col_upper[lp.cols["short1"].idx] == 0.0)


def test_size_is_counted_without_building():
    problem = synthetic_problem(2208, 60, seed=1)
    tracemalloc.start()
    size = model_size(problem, FAST)
    counted_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert size["nonzeros"] > 1_000_000
    # bytes: the index arrays are zero-stride views and no value is computed, while the LP's
    # entries alone (two int64 indices and a float each) need 24 bytes per nonzero
    assert counted_peak < 2_000_000
