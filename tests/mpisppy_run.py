"""Run ``solve_mpisppy`` on the seeded term problem of ``test_term_mpisppy`` under mpiexec.

    mpiexec -n N python3 tests/mpisppy_run.py OUT.json INTERVALS SCENARIOS PERIODS DR(0|1)

Rank 0 writes the decision, its bounds and the run's record to OUT.json.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np

from energyhedge.model.term import TermProblem
from energyhedge.optimize.mpisppy_engine import solve_mpisppy
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.ranks import world
from energyhedge.optimize.synthetic import synthetic_problem


def seeded_term(intervals: int, scenarios: int, periods: int, dr: bool) -> TermProblem:
    """``synthetic_problem(intervals, scenarios, seed=0)`` in ``periods`` equal periods, with
    its DR programme or without one."""
    problem = synthetic_problem(intervals, scenarios, seed=0)
    if not dr:
        problem = dataclasses.replace(problem, dr_max_mw=0.0)
    period = np.repeat(np.arange(periods), intervals // periods)
    return TermProblem(problem, period, tuple(f"period-{p}" for p in range(periods)))


def main(out: str, intervals: str, scenarios: str, periods: str, dr: str) -> None:
    term = seeded_term(int(intervals), int(scenarios), int(periods), dr == "1")
    solution = solve_mpisppy(term, SolveOptions())
    if world().root:
        with open(out, "w") as f:
            json.dump(
                {
                    "product_mw": solution.product_mw.tolist(),
                    "dr_by_period_mw": solution.dr_by_period_mw.tolist(),
                    "objective_usd": solution.objective_usd,
                    "lower_bound_usd": solution.lower_bound_usd,
                    "iterations": solution.iterations,
                    "record": solution.record,
                },
                f,
            )


if __name__ == "__main__":
    main(*sys.argv[1:])
