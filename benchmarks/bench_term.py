"""A year's term problem by one engine: wall time, objective, bounds, gap, decision.

``synthetic_term(8760, 20)`` (the term of ``energyhedge bench optimize --size year``, with 20
scenarios: 12 periods of 730 hours, monthly products, DR committed per period), solved by
``solve_extensive`` (``--engine ef``), ``solve_decomposed`` or ``solve_mpisppy`` (run that one
under ``mpiexec -n N``; rank 0 prints). Prints one JSON line. Run:
``python3 benchmarks/bench_term.py --engine decomposed``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Runnable from a plain checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from energyhedge.optimize.mpisppy_engine import mpi_rank, solve_mpisppy
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.synthetic import synthetic_term
from energyhedge.optimize.term import solve_decomposed, solve_extensive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("ef", "decomposed", "mpisppy"), required=True)
    parser.add_argument("--intervals", type=int, default=8760)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--max-iterations", type=int, default=200, help="mpisppy: PH iterations")
    args = parser.parse_args()
    term = synthetic_term(args.intervals, args.scenarios)
    options = SolveOptions(time_limit_s=3600.0)
    started = time.perf_counter()
    rank = 0
    if args.engine == "ef":
        solution = solve_extensive(term, options)
    elif args.engine == "decomposed":
        solution = solve_decomposed(term, options)
    else:
        solution = solve_mpisppy(term, options, max_iterations=args.max_iterations)
        rank = mpi_rank()
    if rank == 0:
        figures = {
            "engine": args.engine,
            "wall_s": round(time.perf_counter() - started, 1),
            "objective_usd": round(solution.objective_usd, 2),
            "lower_bound_usd": round(solution.lower_bound_usd, 2),
            "relative_gap": solution.relative_gap,
            "iterations": solution.iterations,
            "product_mw": solution.product_mw.round(3).tolist(),
            "dr_by_period_mw": solution.dr_by_period_mw.round(3).tolist(),
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
