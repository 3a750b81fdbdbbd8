"""Benchmark of the optimiser on the synthetic campus (``synthetic.SIZES``).

Times each phase of one solve (checks, array build, HiGHS, solution by-products), and, when
asked, builds the same model in Pyomo in the same process so the two build times are measured
side by side on the same machine.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import time

from energyhedge.errors import SolverError
from energyhedge.optimize.engine import make_solution
from energyhedge.optimize.highs import HighsRunner
from energyhedge.optimize.lp import build_lp, model_size
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.prechecks import check_problem
from energyhedge.optimize.synthetic import SIZES, TERM_SIZES, synthetic_problem, synthetic_term


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
    out["peak_rss_mb"] = peak_rss_mb()
    if compare_pyomo:
        from energyhedge.optimize.pyomo_model import build_pyomo  # noqa: PLC0415 (slow import)

        start = time.perf_counter()
        model = build_pyomo(problem, options)
        out["pyomo_build_s"] = time.perf_counter() - start
        out["pyomo_columns"] = model.nvariables()
        out["pyomo_rows"] = model.nconstraints()
        out["build_speedup"] = out["pyomo_build_s"] / out["array_build_s"]
        out["peak_rss_mb_with_pyomo"] = peak_rss_mb()
    return out


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory (MB) of this process, or with ``resource.RUSAGE_CHILDREN`` of its
    largest finished child process."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def peak_rss_upper_bound_mb(workers: int) -> float:
    """An upper bound of the peak resident memory (MB) of this process and its ``workers - 1``
    worker processes: its own peak plus the largest worker's for each (shared pages counted
    more than once)."""
    return peak_rss_mb() + peak_rss_mb(resource.RUSAGE_CHILDREN) * max(workers - 1, 0)


TERM_TIME_LIMIT_S = 900.0
"""Wall-clock limit of each HiGHS call in the term benchmark (s): an engine that needs more
reports the limit instead of holding the machine."""


def bench_term(
    size: str, engine: str, *, workers: int = 1, seed: int = 0, warm: bool = False
) -> dict:
    """Solve the synthetic term of ``size`` (``synthetic.TERM_SIZES``) once with ``engine`` in
    a child process and return sizes, the engine's bounds and iterations, wall times (s) and
    peak memory (MB): the child's own, its largest worker's, and their sum (an upper bound of
    the run's resident memory). ``warm`` also re-solves from the solution's commitment and
    reports the warm time and iterations. An engine that refuses the size reports why."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(
        target=_term_child,
        args=(child, size, engine),
        kwargs={"workers": workers, "seed": seed, "warm": warm},
    )
    process.start()
    child.close()
    result = parent.recv()
    process.join()
    return result


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _term_child(pipe, size: str, engine: str, *, workers: int, seed: int, warm: bool) -> None:
    from energyhedge.optimize.term import (  # noqa: PLC0415
        solve_decomposed,
        solve_extensive,
        term_size,
    )

    intervals, scenarios = TERM_SIZES[size]
    out = {"size": size, "engine": engine, "workers": workers, "intervals": intervals}
    out["scenarios"] = scenarios
    try:
        start = time.perf_counter()
        term = synthetic_term(intervals, scenarios, seed=seed)
        out["build_problem_s"] = time.perf_counter() - start
        options = SolveOptions(marginals=False, time_limit_s=TERM_TIME_LIMIT_S)
        out["size_estimate"] = term_size(term, options)
        start = time.perf_counter()
        if engine == "ef":
            solution = solve_extensive(term, options)
        else:
            solution = solve_decomposed(term, options, workers=workers, say=_progress)
        out["solve_s"] = time.perf_counter() - start
        out.update(
            status="solved",
            objective_usd=solution.objective_usd,
            lower_bound_usd=solution.lower_bound_usd,
            relative_gap=solution.relative_gap,
            iterations=solution.iterations,
            subproblem_s=solution.record.get("subproblem_s"),
            master_s=solution.record.get("master_s"),
        )
        if warm and engine == "decomposed":
            start = time.perf_counter()
            again = solve_decomposed(
                term, options, workers=workers, start_dr_mw=solution.dr_by_period_mw
            )
            out["warm_solve_s"] = time.perf_counter() - start
            out["warm_iterations"] = again.iterations
            out["warm_to_cold_time"] = out["warm_solve_s"] / out["solve_s"]
    except (SolverError, MemoryError) as exc:
        out.update(status="refused", reason=str(exc))
    out["peak_rss_mb"] = peak_rss_mb()
    out["largest_worker_rss_mb"] = peak_rss_mb(resource.RUSAGE_CHILDREN)
    out["peak_rss_upper_bound_mb"] = peak_rss_upper_bound_mb(workers)
    pipe.send(out)
