"""`energyhedge nightly`: the unattended run for cron (see ``energyhedge.pipeline``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from energyhedge.atomic_dir import check_runs_root
from energyhedge.commands.arguments import add_quote_option, add_store_option, local_day
from energyhedge.errors import ConfigError
from energyhedge.pipeline import NightlyOptions, run_nightly


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `nightly` command to the CLI."""
    parser = sub.add_parser(
        "nightly",
        help="refresh data, optimise, value, and write the report directory",
        description=(
            "Refresh market data (when a network and ISO keys are present, unless --offline), "
            "generate scenarios, optimise hedges and schedule, value them out of sample, replay "
            "stress events, and write recommendation.json, schedule.csv, trades.csv, "
            "report.html and run.log into OUT/<as-of>/<run-id>/ atomically; OUT/latest points "
            "at the newest successful run. Exit codes: 0 success, 2 configuration, 3 data, "
            "4 infeasible or solver failure, 5 another run holds the lock."
        ),
    )
    parser.add_argument(
        "--config", required=True, type=Path, help="run profile, e.g. models/runs/demo-ercot.toml"
    )
    parser.add_argument(
        "--as-of", type=local_day, default=None, help="as-of date YYYY-MM-DD (default: today, UTC)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="output directory (default reports/)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="do not fetch; use the local price store as is"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar, summary or warnings on the terminal (run.log has them all)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run on the same --out to finish (default: refuse)",
    )
    add_quote_option(parser)
    add_store_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the nightly pipeline; errors propagate to the CLI, which maps them to exit codes."""
    if args.wait < 0:
        raise ConfigError(f"--wait must be >= 0 seconds, got {args.wait:g}")
    check_runs_root(args.out, protected=(args.store,))
    result = run_nightly(
        NightlyOptions(
            config=args.config,
            as_of=args.as_of,
            out=args.out,
            offline=args.offline,
            quiet=args.quiet,
            wait_s=args.wait,
            store=args.store,
            quotes_usd_per_mwh=tuple(args.quotes),
        )
    )
    if not args.quiet:
        print(f"energyhedge: nightly run {result.run_id} written to {result.directory}")
        print(f"energyhedge: {result.sentence}")
    sys.stdout.flush()
    return 0
