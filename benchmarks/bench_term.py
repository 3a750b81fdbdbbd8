"""A year's term problem by one engine: wall time, objective, bounds, gap, decision.

``synthetic_term(8760, 20)`` (the term of ``energyhedge bench optimize --size year``, with 20
scenarios: 12 periods of 730 hours, monthly products, DR committed per period), solved by
``solve_extensive`` (``--engine ef``), ``solve_decomposed`` or ``solve_mpisppy``. The last two
run under ``mpiexec -n N`` (the decomposition splits the scenarios across the ranks); rank 0
prints one JSON line with the peak resident memory of the largest rank and of all ranks (MB).
Run: ``python3 benchmarks/bench_term.py --engine decomposed`` or
``mpiexec -n 2 python3 benchmarks/bench_term.py --engine decomposed --scenarios 1000``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Runnable from a plain checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from energyhedge.optimize.benchmark import peak_rss_upper_bound_mb
from energyhedge.optimize.mpisppy_engine import solve_mpisppy
from energyhedge.optimize.options import SolveOptions
from energyhedge.optimize.ranks import world
from energyhedge.optimize.synthetic import synthetic_term
from energyhedge.optimize.term import solve_decomposed, solve_extensive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("ef", "decomposed", "mpisppy"), required=True)
    parser.add_argument("--intervals", type=int, default=8760)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--max-iterations", type=int, default=200, help="mpisppy: PH iterations")
    parser.add_argument("--workers", type=int, default=1, help="decomposed: processes per rank")
    args = parser.parse_args()
    term = synthetic_term(args.intervals, args.scenarios)
    options = SolveOptions(marginals=False, time_limit_s=3600.0)
    ranks = world()
    started = time.perf_counter()
    if args.engine == "ef":
        solution = solve_extensive(term, options)
    elif args.engine == "decomposed":
        say = (lambda line: print(line, file=sys.stderr, flush=True)) if ranks.root else None
        solution = solve_decomposed(term, options, workers=args.workers, say=say, ranks=ranks)
    else:
        solution = solve_mpisppy(term, options, max_iterations=args.max_iterations)
    wall_s = time.perf_counter() - started
    peaks_mb = ranks.gather(peak_rss_upper_bound_mb(args.workers))
    if ranks.root:
        figures = {
            "engine": args.engine,
            "intervals": args.intervals,
            "scenarios": args.scenarios,
            "ranks": ranks.size,
            "workers_per_rank": args.workers,
            "wall_s": round(wall_s, 1),
            "subproblem_s": solution.record.get("subproblem_s"),
            "master_s": solution.record.get("master_s"),
            "peak_rss_largest_rank_mb": round(max(peaks_mb)),
            "peak_rss_all_ranks_mb": round(sum(peaks_mb)),
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
