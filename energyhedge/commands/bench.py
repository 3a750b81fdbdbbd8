"""`energyhedge bench optimize`: measure the optimiser on a synthetic campus of a named size."""

from __future__ import annotations

import argparse
import json

from energyhedge.optimize.benchmark import bench_optimize, bench_term
from energyhedge.optimize.synthetic import SIZES, TERM_SIZES


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `bench` command to the CLI."""
    parser = sub.add_parser("bench", help="benchmarks anyone can run on their own machine")
    family = parser.add_subparsers(dest="bench_command", required=True, metavar="TARGET")
    opt = family.add_parser(
        "optimize",
        help="time the array build and HiGHS solve (optionally against a Pyomo build)",
        description="Builds and solves the synthetic campus: small (24 intervals x 100 "
        "scenarios), daily (96 x 1,000), weekly (168 x 2,000), season (2,208 x 500: June-August "
        "hourly). Term sizes (12 monthly periods, monthly products, DR committed per month) run "
        "each engine and worker count in a child process: term-small (720 x 50), year-100 "
        "(8,760 x 100), year (8,760 x 1,000), year-10k (8,760 x 10,000).",
    )
    opt.add_argument("--size", choices=(*SIZES, *TERM_SIZES), default="small")
    opt.add_argument(
        "--engines",
        default="ef,decomposed",
        metavar="LIST",
        help="term sizes: engines to run, comma-separated (ef, decomposed)",
    )
    opt.add_argument(
        "--workers",
        default="1,2",
        metavar="LIST",
        help="term sizes: worker counts of the decomposition, comma-separated",
    )
    opt.add_argument("--compare-pyomo", action="store_true", help="also build the model in Pyomo")
    opt.add_argument("--json", action="store_true", help="print one JSON object")
    opt.set_defaults(func=_optimize)


def _optimize(args: argparse.Namespace) -> int:
    if args.size in TERM_SIZES:
        return _term(args)
    result = bench_optimize(args.size, compare_pyomo=args.compare_pyomo)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{result['size']}: {result['intervals']} intervals x {result['scenarios']} scenarios; "
        f"{result['columns']:,} columns, {result['rows']:,} rows, {result['nonzeros']:,} nonzeros"
    )
    print(
        f"array build {result['array_build_s']:.3f} s, HiGHS {result['solve_s']:.3f} s, "
        f"solution {result['solution_s']:.3f} s "
        f"({result['solution_to_solve_ratio']:.1%} of the solve), "
        f"total {result['total_s']:.3f} s; objective ${result['objective']:,.2f} "
        f"({result['status']}); peak RSS {result['peak_rss_mb']:,.0f} MB"
    )
    if args.compare_pyomo:
        print(
            f"Pyomo build {result['pyomo_build_s']:.3f} s: array build is "
            f"{result['build_speedup']:.0f}x faster"
        )
    return 0


def _term(args: argparse.Namespace) -> int:
    """Each engine (and each worker count of the decomposition) on one term size, then the
    ratios measured in this run."""
    results = []
    for engine in args.engines.split(","):
        counts = [int(w) for w in args.workers.split(",")] if engine == "decomposed" else [1]
        for workers in counts:
            result = bench_term(args.size, engine, workers=workers, warm=engine == "decomposed")
            results.append(result)
            if not args.json:
                print(_term_line(result), flush=True)
    solved = [r for r in results if r["status"] == "solved"]
    ratios = {}
    if solved:
        base = min(solved, key=lambda r: r["solve_s"])
        ratios = {f"{r['engine']}x{r['workers']}": r["solve_s"] / base["solve_s"] for r in solved}
        objectives = [r["objective_usd"] for r in solved]
        ratios["objective_spread_relative"] = (max(objectives) - min(objectives)) / max(
            1.0, abs(base["objective_usd"])
        )
    if args.json:
        print(json.dumps({"runs": results, "time_relative_to_fastest": ratios}, indent=2))
    else:
        print(
            "time relative to the fastest: " + ", ".join(f"{k} {v:.3g}" for k, v in ratios.items())
        )
    return 0


def _term_line(r: dict) -> str:
    ef = r["size_estimate"]["extensive_form"] if "size_estimate" in r else None
    head = (
        f"{r['size']} {r['engine']} x{r['workers']}: {r['intervals']:,} h x "
        f"{r['scenarios']:,} scenarios"
    )
    if ef is not None:
        head += f" (extensive form {ef['nonzeros']:,} nonzeros, ~{ef['memory_mb']:,.0f} MB)"
    if r["status"] != "solved":
        return f"{head}: refused: {r['reason']}"
    line = (
        f"{head}: {r['solve_s']:.1f} s, {r['iterations']} iteration(s), gap "
        f"{r['relative_gap']:.1e}, objective ${r['objective_usd']:,.2f}, peak RSS "
        f"{r['peak_rss_mb']:,.0f} MB (with workers <= {r['peak_rss_upper_bound_mb']:,.0f} MB)"
    )
    if r.get("subproblem_s") is not None:
        line += f"; scenario LPs {r['subproblem_s']:.1f} s, master {r['master_s']:.1f} s"
    if "warm_solve_s" in r:
        line += (
            f"; warm start {r['warm_solve_s']:.1f} s, {r['warm_iterations']} iteration(s) "
            f"({r['warm_to_cold_time']:.2f} of cold)"
        )
    return line
