"""Benchmark of the optimiser on the synthetic campus (``synthetic.SIZES``).

Times each phase of one solve (checks, array build, HiGHS, solution by-products), and, when
asked, builds the same model in Pyomo in the same process so the two build times are measured
side by side on the same machine.
"""

from __future__ import annotations

import resource
import sys
import time

from energyhedge.optimize.engine import make_solution
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import build_lp, model_size
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.prechecks import check_problem
from energyhedge.optimize.synthetic import SIZES, synthetic_problem


def bench_optimize(size: str, *, compare_pyomo: bool = False, seed: int = 0) -> dict:
    """Solve the synthetic problem of ``size`` once and return sizes, timings (s) and memory (MB).

    Keys: size, intervals, scenarios, columns, rows, nonzeros, check_s, array_build_s, solve_s,
    solution_s (decision, in-sample costs and risk by-products from the LP values),
    solution_to_solve_ratio, total_s, objective, status, simplex_iterations, peak_rss_mb; with
    ``compare_pyomo`` also pyomo_build_s, pyomo_columns and pyomo_rows (the same model, so
    the same counts), build_speedup (Pyomo / array) and peak_rss_mb_with_pyomo.
    """
    intervals, scenarios = SIZES[size]
    problem = synthetic_problem(intervals, scenarios, seed=seed)
    options = SolveOptions(marginals=False)
    out = {"size": size, "intervals": intervals, "scenarios": scenarios}
    out.update(model_size(problem, options))
    start = time.perf_counter()
    check_problem(problem)
    out["check_s"] = time.perf_counter() - start
    lp = build_lp(problem, options)
    out["array_build_s"] = lp.build_s
    runner = HighsRunner.for_options(lp, options)
    result = runner.run()
    out["solve_s"] = result.record["solve_s"]
    start = time.perf_counter()
    solution = make_solution(problem, options, lp, result)
    out["solution_s"] = time.perf_counter() - start
    out["solution_to_solve_ratio"] = out["solution_s"] / max(out["solve_s"], 1e-9)
    out["total_s"] = out["check_s"] + out["array_build_s"] + out["solve_s"] + out["solution_s"]
    out["objective"] = solution.objective_usd
    out["status"] = solution.status
    out["simplex_iterations"] = result.record["iterations"]["simplex"]
    out["highs_options"] = result.record["options"]
    out["peak_rss_mb"] = _peak_rss_mb()
    if compare_pyomo:
        from energyhedge.optimize.pyomo_model import build_pyomo  # noqa: PLC0415 (slow import)

        start = time.perf_counter()
        model = build_pyomo(problem, options)
        out["pyomo_build_s"] = time.perf_counter() - start
        out["pyomo_columns"] = model.nvariables()
        out["pyomo_rows"] = model.nconstraints()
        out["build_speedup"] = out["pyomo_build_s"] / out["array_build_s"]
        out["peak_rss_mb_with_pyomo"] = _peak_rss_mb()
    return out


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
