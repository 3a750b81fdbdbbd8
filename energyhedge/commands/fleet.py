"""`energyhedge fleet`: co-optimise a fleet of campuses; write fleet.json and fleet.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from energyhedge.atomic_dir import check_out_dir
from energyhedge.commands.arguments import add_store_option
from energyhedge.fleet.report import write_fleet_outputs
from energyhedge.fleet.service import load_fleet_profile, read_history, run_fleet


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `fleet` command to the CLI."""
    parser = sub.add_parser(
        "fleet",
        help="co-schedule a fleet's movable work and size each ISO's hedges and compute sales",
        description="Draw joint ERCOT-PJM scenarios from the same historical days, solve one "
        "LP for the whole fleet under each strategy (power hedges, compute sales, both or "
        "none; work moving or not), value every strategy out of sample and write "
        "DIR/fleet.json and DIR/fleet.html (atomically).",
    )
    parser.add_argument(
        "--config", required=True, type=Path, metavar="FILE", help="models/runs/fleet-NAME.toml"
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="read the price files listed in the profile's [[history]] instead of the store",
    )
    add_store_option(parser)
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    check_out_dir(args.out, protected=(args.store,))
    profile = load_fleet_profile(args.config)
    history = read_history(profile, offline=args.offline, store_root=args.store)
    out, record = write_fleet_outputs(args.out, run_fleet(profile, history))
    for line in summary(record):
        print(line)
    print(f"wrote {out}/fleet.json, fleet.html")
    return 0


def summary(record: dict) -> list[str]:
    """The headline figures, one line each, for the terminal."""
    s, m = record["strategies"], record["mobility"]
    lines = [
        f"Value of moving work (out of sample, mean cost per GPU-hour saved): hedged "
        f"${m['hedged']:,.4f}/GPU-h, unhedged ${m['unhedged']:,.4f}/GPU-h",
    ]
    for name in ("both", "both_fixed", "none", "none_fixed"):
        c = s[name]["cost_per_gpu_hour_usd"]
        lines.append(f"  cost per GPU-hour {name}: mean ${c['mean']:,.4f}, CVaR ${c['cvar']:,.4f}")
    lines.append("Margin per GPU-hour out of sample (mean / P5 / P95 / std):")
    for name in ("none", "power_only", "compute_only", "both"):
        g = s[name]["margin_per_gpu_hour_usd"]
        lines.append(
            f"  {name}: ${g['mean']:,.4f} / ${g['p5']:,.4f} / ${g['p95']:,.4f} / ${g['std']:,.4f}"
        )
    lines.append("Margin risk removed against no hedge (std of margin, tail shortfall):")
    for name, r in record["risk_removed"].items():
        lines.append(f"  {name}: {_share(r['std'])}, {_share(r['tail_shortfall'])}")
    return lines


def _share(value: float | None) -> str:
    """A fraction as a percentage; "n/a" when undefined (no risk to remove)."""
    return "n/a" if value is None else f"{value:.1%}"
