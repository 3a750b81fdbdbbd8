"""`energyhedge scenarios generate|validate`: price scenarios from the local store."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge.atomic_dir import atomic_directory, check_out_dir, check_out_file
from energyhedge.commands.arguments import local_day
from energyhedge.data.store import open_store
from energyhedge.errors import ConfigError, DataError
from energyhedge.safe_text import neutralise_frame
from energyhedge.scenarios import MODELS, CapEvent, HistoricalReplay, RegimeParams, generate
from energyhedge.scenarios.caps import DEFAULT_ADDER_ROOM_USD_PER_MWH, history_cap_usd_per_mwh
from energyhedge.scenarios.daygrid import day_matrix, iso_zone
from energyhedge.scenarios.io import write_scenarios
from energyhedge.scenarios.regime import fit_regime
from energyhedge.scenarios.validate import compare, plot
from energyhedge.units import OFFER_CAP, price_problem

REPLAY_SPEC = re.compile(
    r"^(?P<name>[\w-]+):(?P<first>\d{4}-\d\d-\d\d):(?P<last>\d{4}-\d\d-\d\d)"
    r"(?::(?P<lo>\d+)-(?P<hi>\d+))?@(?P<p>[\d.eE-]+)$"
)
CAP_SPEC = re.compile(
    r"^(?P<name>[\w-]+):(?P<day>\d{4}-\d\d-\d\d):(?P<hour>\d+):(?P<hours>\d+)@(?P<p>[\d.eE-]+)$"
)


def _replay(text: str) -> HistoricalReplay:
    match = REPLAY_SPEC.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"--replay {text!r}: expected NAME:FIRST_DAY:LAST_DAY[:FROM-TO]@PROBABILITY, "
            "e.g. aug2023:2023-08-14:2023-08-18:16-22@0.02"
        )
    hours = (int(match["lo"]), int(match["hi"])) if match["lo"] else None
    return HistoricalReplay(
        name=match["name"],
        first_day=local_day(match["first"]),
        last_day=local_day(match["last"]),
        probability=float(match["p"]),
        hours=hours,
    )


def _cap_event(text: str) -> CapEvent:
    match = CAP_SPEC.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"--cap-event {text!r}: expected NAME:DAY:START_HOUR:HOURS@PROBABILITY, "
            "e.g. cap4h:2024-08-20:17:4@0.01"
        )
    return CapEvent(
        name=match["name"],
        day=local_day(match["day"]),
        start_hour=int(match["hour"]),
        hours=int(match["hours"]),
        probability=float(match["p"]),
    )


def _forward(path: Path) -> pl.DataFrame:
    try:
        return pl.read_csv(path, schema_overrides={"month": pl.Utf8})
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"{path}: cannot read forward curve CSV ({exc})") from None


def _history(args: argparse.Namespace) -> pl.DataFrame:
    history = open_store(args.store).read(args.iso, args.market, args.node)
    if history.height == 0:
        raise DataError(
            f"store has no prices for {args.iso}/{args.market}/{args.node}: "
            "import them with `energyhedge data import` or `energyhedge data fetch` first"
        )
    return history


def _offer_cap(args: argparse.Namespace) -> float | None:
    """``--offer-cap`` ($/MWh), refused when it looks like a unit mistake (``units``)."""
    if args.offer_cap is not None:
        problem = price_problem(args.offer_cap, OFFER_CAP, args.iso)
        if problem is not None:
            raise ConfigError(f"--offer-cap {args.offer_cap:g}: {problem}")
    return args.offer_cap


def _params(args: argparse.Namespace) -> RegimeParams | None:
    if args.regime_params is None:
        return None
    if args.model != "regime":
        raise ConfigError("--regime-params applies to --model regime only")
    return RegimeParams.load(args.regime_params)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--iso", required=True, choices=("ercot", "pjm"))
    parser.add_argument("--node", required=True, help="settlement point, e.g. LZ_HOUSTON")
    parser.add_argument("--market", default="rtm", choices=("rtm", "dam"))
    parser.add_argument("--model", default="bootstrap", choices=MODELS)
    parser.add_argument("--n", type=int, required=True, help="number of scenarios")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--store", type=Path, default=None, help="price store folder")
    parser.add_argument("--offer-cap", type=float, default=None, help="$/MWh (PJM: required)")
    parser.add_argument(
        "--month-window", type=int, default=0, help="bootstrap: months either side to draw from"
    )
    parser.add_argument(
        "--regime-params",
        type=Path,
        default=None,
        help="regime: parameters saved by `scenarios fit` instead of fitting the history",
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `scenarios` command to the CLI."""
    parser = sub.add_parser("scenarios", help="generate and validate price scenarios")
    family = parser.add_subparsers(dest="scenarios_command", required=True, metavar="ACTION")

    gen = family.add_parser(
        "generate",
        help="write price scenarios to Parquet",
        description="Write scenarios as a long Parquet table: one row per (scenario, interval) "
        "with scenario, kind, probability, interval_start_utc, price_usd_per_mwh, iso, market, "
        "node, interval_minutes.",
    )
    _common(gen)
    gen.add_argument("--start", type=local_day, required=True, help="first local market day")
    gen.add_argument("--days", type=int, required=True)
    gen.add_argument("--out", type=Path, required=True, help="output .parquet file")
    gen.add_argument("--float32", action="store_true", help="store prices as float32")
    gen.add_argument(
        "--forward",
        type=Path,
        default=None,
        help="CSV month,peak_usd_per_mwh,offpeak_usd_per_mwh to centre on",
    )
    gen.add_argument(
        "--replay",
        type=_replay,
        action="append",
        default=[],
        help="NAME:FIRST_DAY:LAST_DAY[:FROM-TO]@P historical replay",
    )
    gen.add_argument(
        "--cap-event",
        type=_cap_event,
        action="append",
        default=[],
        help="NAME:DAY:START_HOUR:HOURS@P hours at the offer cap",
    )
    gen.set_defaults(func=run_generate)

    val = family.add_parser(
        "validate",
        help="compare simulated and historical statistics by month and hour",
    )
    _common(val)
    val.add_argument("--out", type=Path, required=True, help="output folder")
    val.add_argument("--plot-format", choices=("png", "svg"), default="png")
    val.set_defaults(func=run_validate)

    fit = family.add_parser("fit", help="fit the regime model and save its parameters (JSON)")
    fit.add_argument("--iso", required=True, choices=("ercot", "pjm"))
    fit.add_argument("--node", required=True)
    fit.add_argument("--market", default="rtm", choices=("rtm", "dam"))
    fit.add_argument("--store", type=Path, default=None, help="price store folder")
    fit.add_argument("--offer-cap", type=float, default=None, help="$/MWh (PJM: required)")
    fit.add_argument("--out", type=Path, required=True, help="output .json file")
    fit.set_defaults(func=run_fit)


def run_generate(args: argparse.Namespace) -> int:
    """Generate scenarios and write them to ``args.out``."""
    check_out_file(args.out)
    forward = _forward(args.forward) if args.forward else None
    scenarios = generate(
        _history(args),
        iso=args.iso,
        node=args.node,
        market=args.market,
        start=args.start,
        days=args.days,
        n=args.n,
        seed=args.seed,
        model=args.model,
        offer_cap=_offer_cap(args),
        forward_curve=forward,
        stress=(*args.replay, *args.cap_event),
        month_window=args.month_window,
        regime_params=_params(args),
        dtype=np.float32 if args.float32 else np.float64,
    )
    path = write_scenarios(scenarios, args.out)
    s, t = scenarios.prices_usd_per_mwh.shape
    print(f"wrote {s} scenarios x {t} intervals ({args.model}) to {path}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """Simulate the history's own days and write the comparison table and plot."""
    check_out_dir(args.out, protected=(args.store,))
    history = _history(args)
    local = history["interval_start_utc"].dt.convert_time_zone(iso_zone(args.iso))
    first, last = local.min().date(), local.max().date()
    scenarios = generate(
        history,
        iso=args.iso,
        node=args.node,
        market=args.market,
        start=first,
        days=(last - first + timedelta(days=1)).days,
        n=args.n,
        seed=args.seed,
        model=args.model,
        offer_cap=_offer_cap(args),
        month_window=args.month_window,
        regime_params=_params(args),
    )
    table = compare(history, scenarios)
    stem = f"validation_{args.iso}_{args.market}_{args.node}_{args.model}"
    names = (f"{stem}.csv", f"{stem}.{args.plot_format}")
    with atomic_directory(args.out, command="scenarios validate", protected=(args.store,)) as tmp:
        neutralise_frame(table).write_csv(tmp / names[0])
        plot(table, tmp / names[1], f"{args.node} {args.market}: {args.model}")
    print(f"wrote {args.out / names[0]} and {args.out / names[1]}")
    band = table.filter(pl.col("hour").is_null() & (pl.col("statistic") == "share_above_1000"))
    for row in band.iter_rows(named=True):
        print(
            f"month {row['month']:2d}: share > $1,000 historical {row['historical']:.4f}, "
            f"simulated 5-95 % [{row['simulated_p05']:.4f}, {row['simulated_p95']:.4f}]"
            f"{'' if row['inside_band'] else '  OUTSIDE'}"
        )
    return 0


def run_fit(args: argparse.Namespace) -> int:
    """Fit the regime model to the stored history and save the parameters as JSON."""
    check_out_file(args.out)
    hist = day_matrix(_history(args), args.iso)
    cap = history_cap_usd_per_mwh(args.iso, hist.dates, _offer_cap(args))
    params = fit_regime(hist, cap + DEFAULT_ADDER_ROOM_USD_PER_MWH)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    params.save(args.out)
    print(
        f"fitted {args.iso}/{args.market}/{args.node} on {hist.dates.size} days "
        f"({hist.dates[0]} .. {hist.dates[-1]}): phi={params.phi:.3f}, "
        f"mean spike entry probability per step {params.entry.mean():.5f}; wrote {args.out}"
    )
    return 0
