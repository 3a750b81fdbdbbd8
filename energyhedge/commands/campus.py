"""`energyhedge campus` subcommands: inspect a campus file."""

from __future__ import annotations

import argparse
import json
import math

from energyhedge.campus import load_campus


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `campus` command to the CLI."""
    parser = sub.add_parser("campus", help="inspect a campus model (models/campus/*.toml)")
    actions = parser.add_subparsers(dest="campus_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", help="validate a campus file and print its derived quantities"
    )
    show.add_argument("file", help="campus TOML file")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.add_argument(
        "--month",
        type=int,
        default=7,
        choices=range(1, 13),
        metavar="1-12",
        help="month of the firm vs flexible MW by hour table (default 7)",
    )
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    summary = load_campus(args.file).summary(month=args.month)
    if args.json:
        print(json.dumps(_finite(summary), indent=2))
    else:
        print(format_summary(summary))
    return 0


def _finite(value):
    """JSON has no infinity: unbounded quantities (e.g. no ramp limit) become null."""
    if isinstance(value, float) and math.isinf(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def format_summary(summary: dict) -> str:
    """Readable text of ``Campus.summary()``."""
    s = summary
    lines = [
        f"campus {s['name']}  ({s['file']})",
        f"  {s['iso'].upper()} node {s['node']} ({s['market']}), grid limit "
        f"{s['grid_limit_mw']:,.1f} MW, PUE {s['pue']}",
        f"  {s['gpus']:,.0f} GPUs, {s['full_power_mw']:,.1f} MW at full speed, "
        f"{s['gpu_hours_per_mwh']:,.1f} GPU-h/MWh",
    ]
    for g in s["gpu_types"]:
        lines.append(
            f"  gpu {g['name']}: {g['it_kw_per_gpu']:.3f} kW IT, {g['facility_kw_per_gpu']:.3f} kW "
            f"facility per GPU, idle {g['idle_fraction']:.0%}"
        )
    for c in s["inference"]:
        gpus = "given as MW" if c["gpus"] is None else f"{c['gpus']:,.0f} GPUs"
        lines.append(f"  must-serve {c['name']}: {gpus}, ${c['value_usd_per_gpu_hour']:.2f}/GPU-h")
    if s["training"]:
        lines.append("  flexible training tiers:")
        lines.append(
            f"    {'name':<16}{'GPUs':>9}{'flex MW':>9}{'base MW':>9}{'$/GPU-h':>9}"
            f"{'GPU-h/MWh':>11}{'break-even $/MWh':>18}  flex  notice     ramp MW/h"
        )
        for t in s["training"]:
            lines.append(
                f"    {t['name']:<16}{t['gpus']:>9,.0f}{t['flexible_mw']:>9.1f}"
                f"{t['base_mw']:>9.1f}{t['value_usd_per_gpu_hour']:>9.2f}"
                f"{t['gpu_hours_per_mwh']:>11.1f}{t['break_even_usd_per_mwh']:>18,.0f}"
                f"  {t['flex_tier']:>4}  {t['notice']:<10} {t['ramp_mw_per_h']:g}"
            )
    cp = s["coincident_peak"]
    if cp:
        lines.append(
            f"  coincident peak {cp['kind']}: ${cp['rate_usd_per_mw']:,.0f}/MW of tag, "
            f"{cp['peaks']} peaks, months {cp['months']}, HE {cp['hours_ending']}, P(peak) up "
            f"to {cp['max_probability_per_hour']:g} per hour (rule {cp['rule']})"
        )
    for d in s["dr_programmes"]:
        lines.append(
            f"  DR/AS {d['name']} ({d['kind']}): ${d['availability_usd_per_mw_h']:g}/MW-h up to "
            f"{d['max_mw']:g} MW, deployed at >= ${d['trigger_usd_per_mwh']:,.0f}/MWh, penalty "
            f"${d['penalty_usd_per_mwh']:,.0f}/MWh"
        )
    for e in s["curtailment_events"]:
        lines.append(
            f"  curtailment event {e['name']}: {e['start_utc']} UTC for {e['hours']:g} h, "
            f"campus at most {e['max_campus_mw']:g} MW"
        )
    lines.append(f"  firm vs flexible MW by hour ending (15th of month {s['by_hour_month']}):")
    firm, flex = s["firm_mw_by_hour_ending"], s["flexible_mw_by_hour_ending"]
    for he in range(24):
        lines.append(f"    HE{he + 1:02d}  firm {firm[he]:8.1f}  flexible {flex[he]:8.1f}")
    return "\n".join(lines)
