"""The mpisppy engine (progressive hedging under MPI) against the term extensive form.

Skipped when mpiexec, mpi4py or mpi-sppy are missing, unless ENERGYHEDGE_REQUIRE_MPI=1 (CI sets
it), in which case their absence is a failure.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
from mpi_launch import mpiexec, require_mpi
from mpisppy_run import seeded_term
from pyomo.contrib.solver.common.factory import SolverFactory

from energyhedge.errors import ConfigError
from energyhedge.model.measures import var_cvar
from energyhedge.optimize import mpisppy_engine
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.term import solve_extensive

TESTS = Path(__file__).resolve().parent
SMALL = (48, 4, 2)
"""Intervals, scenarios and commitment periods of the seeded test problem."""


def _run_mpiexec(ranks: int, out: Path, size: tuple[int, int, int], dr: bool) -> dict:
    """``solve_mpisppy`` on ``ranks`` MPI ranks for ``seeded_term(*size, dr)``: rank 0's JSON."""
    argv = [str(TESTS / "mpisppy_run.py"), str(out), *map(str, size), "1" if dr else "0"]
    mpiexec(ranks, argv, cwd=out.parent)
    # mpi-sppy opens log files in the working directory when imported: none may be left
    assert sorted(os.listdir(out.parent)) == [out.name]
    return json.loads(out.read_text())


def _assert_agrees(objective, lower, product_mw, dr_mw, exact) -> None:
    """Within 1e-5 of the extensive form, which lies between the bounds."""
    scale = abs(exact.objective_usd)
    assert abs(objective - exact.objective_usd) <= 1e-5 * scale
    assert lower <= exact.objective_usd * (1 + 1e-9)
    np.testing.assert_allclose(product_mw, exact.product_mw, atol=1e-3)
    np.testing.assert_allclose(dr_mw, exact.dr_by_period_mw, atol=1e-3)


@pytest.mark.parametrize("dr", [True, False], ids=["dr", "no-dr"])
def test_one_rank_agrees_with_extensive_form(dr: bool) -> None:
    require_mpi()
    term = seeded_term(*SMALL, dr=dr)
    options = SolveOptions()
    exact = solve_extensive(term, options)
    got = mpisppy_engine.solve_mpisppy(term, options)
    _assert_agrees(
        got.objective_usd, got.lower_bound_usd, got.product_mw, got.dr_by_period_mw, exact
    )
    assert got.engine == "mpisppy" and got.record["ranks"] == 1
    assert got.record["relative_gap"] == pytest.approx(got.relative_gap)
    assert got.iterations == got.record["ph_iterations"] >= 1
    # the scenario costs are the decision's own: Q_s plus the products' cash
    objective = got.scenario_cost_usd @ term.problem.probabilities
    objective += (
        options.cvar_weight
        * var_cvar(got.scenario_cost_usd, term.problem.probabilities, options.alpha)[1]
    )
    assert got.objective_usd == pytest.approx(objective, rel=1e-12)


def _ranks_agree(ranks: int, tmp_path: Path) -> dict:
    """The small problem with DR on ``ranks`` MPI ranks, checked against the extensive form;
    rank 0's JSON."""
    got = _run_mpiexec(ranks, tmp_path / "out.json", SMALL, dr=True)
    exact = solve_extensive(seeded_term(*SMALL, dr=True), SolveOptions())
    _assert_agrees(
        got["objective_usd"],
        got["lower_bound_usd"],
        got["product_mw"],
        got["dr_by_period_mw"],
        exact,
    )
    return got


def test_two_ranks_agree_with_extensive_form(tmp_path: Path) -> None:
    got = _ranks_agree(2, tmp_path)
    assert got["record"]["ranks"] == 2
    assert got["record"]["cylinders"] == ["ph", "xhatshuffle"]
    assert got["record"]["first_stage_from"] == "xhatshuffle"


@pytest.mark.skipif((os.cpu_count() or 1) < 3, reason="3 MPI ranks need 3 cores to run in time")
def test_three_ranks_close_the_gap_with_the_lagrangian_bound(tmp_path: Path) -> None:
    got = _ranks_agree(3, tmp_path)
    assert got["record"]["cylinders"] == ["ph", "xhatshuffle", "lagrangian"]
    assert got["record"]["relative_gap"] <= 1e-4


def test_scenario_models_sum_to_the_term_objective() -> None:
    """Each scenario model at the extensive form's first stage (eta at its VaR), weighted by
    p_s: the extensive form's objective."""
    require_mpi()
    term = seeded_term(*SMALL, dr=True)
    options = SolveOptions()
    exact = solve_extensive(term, options)
    eta = var_cvar(exact.scenario_cost_usd, term.problem.probabilities, options.alpha)[0]
    total = 0.0
    for s, name in enumerate(mpisppy_engine.scenario_names(term)):
        model = mpisppy_engine.scenario_creator(name, term=term, options=options)
        assert model._mpisppy_probability == term.problem.probabilities[s]
        model.eta.fix(eta)
        for (a, p), mw in np.ndenumerate(exact.dr_by_period_mw):
            model.y[a, p].fix(mw)
        for k, mw in enumerate(exact.product_mw):
            model.xb[k].fix(max(mw, 0.0))
            if k in model.KS:
                model.xs[k].fix(max(-mw, 0.0))
        SolverFactory("highs").solve(model)
        total += term.problem.probabilities[s] * pyo.value(model.objective)
    assert total == pytest.approx(exact.objective_usd, rel=1e-9)


def test_first_stage_of_a_campus_without_dr_or_sellable_products() -> None:
    require_mpi()
    term = seeded_term(*SMALL, dr=False)
    buy_only = tuple(
        dataclasses.replace(k, min_mw=max(k.min_mw, 0.0)) for k in term.problem.products
    )
    term = dataclasses.replace(term, problem=dataclasses.replace(term.problem, products=buy_only))
    model = mpisppy_engine.scenario_creator("scenario1", term=term, options=SolveOptions())
    names = [v.name for v in model._mpisppy_node_list[0].nonant_vardata_list]
    assert names == [f"xb[{k}]" for k in range(len(buy_only))] + ["eta"]
    got = mpisppy_engine.solve_mpisppy(term, SolveOptions())
    exact = solve_extensive(term, SolveOptions())
    _assert_agrees(
        got.objective_usd, got.lower_bound_usd, got.product_mw, got.dr_by_period_mw, exact
    )


def test_eta_bounds_hold_the_optimal_threshold() -> None:
    require_mpi()
    term = seeded_term(*SMALL, dr=True)
    options = SolveOptions()
    exact = solve_extensive(term, options)
    var = var_cvar(exact.scenario_cost_usd, term.problem.probabilities, options.alpha)[0]
    low, high = mpisppy_engine.eta_bounds(term, options)
    assert low <= var <= high
    assert low <= exact.scenario_cost_usd.min()


def test_budget_form_and_rank_counts_are_refused_with_the_way_out() -> None:
    require_mpi()
    term = seeded_term(*SMALL, dr=True)
    with pytest.raises(ConfigError, match="--engine decomposed"):
        mpisppy_engine.solve_mpisppy(term, SolveOptions(cvar_budget_usd=1e6))
    with pytest.raises(ConfigError, match="--engine decomposed"):
        mpisppy_engine.scenario_creator(
            "scenario0", term=term, options=SolveOptions(cvar_budget_usd=1e6)
        )
    unlimited = dataclasses.replace(term.problem.products[1], max_mw=np.inf)
    products = (term.problem.products[0], unlimited, *term.problem.products[2:])
    open_ended = dataclasses.replace(
        term, problem=dataclasses.replace(term.problem, products=products)
    )
    with pytest.raises(ConfigError, match=f"{unlimited.name} have none"):
        mpisppy_engine.solve_mpisppy(open_ended, SolveOptions())
    assert mpisppy_engine.cylinders_for(1, 4) == ("ph",)
    assert mpisppy_engine.cylinders_for(4, 4) == ("ph", "xhatshuffle")
    assert mpisppy_engine.cylinders_for(6, 4) == ("ph", "xhatshuffle", "lagrangian")
    with pytest.raises(ConfigError, match="multiple of 2 or 3"):
        mpisppy_engine.cylinders_for(5, 4)
    with pytest.raises(ConfigError, match="at most 8 ranks"):
        mpisppy_engine.cylinders_for(10, 4)
