"""`energyhedge bench optimize`: measure the optimiser on a synthetic campus of a named size."""

from __future__ import annotations

import argparse
import json

from energyhedge.optimize.benchmark import bench_optimize
from energyhedge.optimize.synthetic import SIZES


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `bench` command to the CLI."""
    parser = sub.add_parser("bench", help="benchmarks anyone can run on their own machine")
    family = parser.add_subparsers(dest="bench_command", required=True, metavar="TARGET")
    opt = family.add_parser(
        "optimize",
        help="time the array build and HiGHS solve (optionally against a Pyomo build)",
        description="Builds and solves the synthetic campus: small (24 intervals x 100 "
        "scenarios), daily (96 x 1,000), weekly (168 x 2,000), season (2,208 x 500: June-August "
        "hourly).",
    )
    opt.add_argument("--size", choices=tuple(SIZES), default="small")
    opt.add_argument("--compare-pyomo", action="store_true", help="also build the model in Pyomo")
    opt.add_argument("--json", action="store_true", help="print one JSON object")
    opt.set_defaults(func=_optimize)


def _optimize(args: argparse.Namespace) -> int:
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
