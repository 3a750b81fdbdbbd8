"""`energyhedge backtest`: replay a run profile on realised prices, strategy by strategy."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from energyhedge.atomic_dir import check_out_dir
from energyhedge.backtest import (
    REPLAY_KEYS,
    BacktestSpec,
    backtest_profile,
    load_replay,
    write_backtest,
)
from energyhedge.commands.arguments import (
    add_csv_layout_options,
    add_store_option,
    csv_layout,
    local_day,
    product_value,
)
from energyhedge.data.store import STORE_ENV
from energyhedge.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `backtest` command to the CLI."""
    parser = sub.add_parser(
        "backtest",
        help="what each strategy would have cost on realised prices",
        description=(
            "Optimise the run profile for each window of days on scenarios learnt from prices "
            "outside the window, then value the unhedged, flexibility-only, hedges-only and "
            "recommended strategies on the realised prices. Writes OUT/backtest.json (totals "
            "per strategy) and OUT/backtest_intervals.csv (one row per interval and strategy)."
        ),
    )
    parser.add_argument(
        "--replay", type=Path, help="replay file (models/backtests/*.toml) giving the options below"
    )
    parser.add_argument("--config", type=Path, help="run profile, e.g. models/runs/NAME.toml")
    parser.add_argument("--prices", help="'store' or a price file the importers accept")
    parser.add_argument("--node", help="settlement point (default: the campus's)")
    parser.add_argument("--market", choices=("dam", "rtm"), help="default: the campus's")
    parser.add_argument("--start", type=local_day, help="first local day, YYYY-MM-DD")
    parser.add_argument("--end", type=local_day, help="last local day (inclusive), YYYY-MM-DD")
    parser.add_argument(
        "--window-days", type=int, help="days per decision (default: the profile's horizon)"
    )
    history = parser.add_mutually_exclusive_group()
    history.add_argument(
        "--past-only",
        dest="past_only",
        action="store_const",
        const=True,
        default=None,
        help="learn scenarios only from prices before each window (the default)",
    )
    history.add_argument(
        "--leave-window-out",
        dest="past_only",
        action="store_const",
        const=False,
        help="learn from all prices outside each window, later ones included (looks ahead; "
        "labelled so in backtest.json)",
    )
    parser.add_argument(
        "--fill-missing",
        type=int,
        metavar="N",
        help="fill up to N missing intervals with the price before (default 0: refuse gaps)",
    )
    parser.add_argument(
        "--fixed",
        action="append",
        type=product_value,
        metavar="PRODUCT=MW",
        help="hold this product instead of optimising (repeat; others 0 MW)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder: new, empty, or written by energyhedge before (its files are "
        "replaced, anything else in it is kept)",
    )
    add_store_option(parser)
    add_csv_layout_options(
        parser, "give --time-col to read --prices FILE with these options", with_iso_market=False
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the back-test and print one line per strategy."""
    check_out_dir(args.out, protected=(args.store,))  # refuse a bad --out before optimising
    fields = load_replay(args.replay) if args.replay else {}
    if args.fixed:
        fields["fixed_product_mw"] = dict(args.fixed)
    layout = csv_layout(args)
    if layout:
        fields["csv_layout"] = layout
    for key in REPLAY_KEYS - {"fixed_product_mw", "csv_layout"}:
        value = getattr(args, key)
        if value is not None:
            fields[key] = value
    fields.setdefault("prices", "store")
    missing = [f"--{k}" for k in ("config", "start", "end") if fields.get(k) is None]
    if missing:
        raise ConfigError(f"backtest needs {', '.join(missing)} (or a --replay file giving them)")
    if fields["end"] < fields["start"]:
        source = f"{args.replay}: backtest.end" if args.replay else "--end"
        raise ConfigError(f"{source}: {fields['end']} is before the start {fields['start']}")
    if fields.get("window_days") is not None and fields["window_days"] < 1:
        raise ConfigError(f"--window-days must be at least 1, got {fields['window_days']}")
    if fields.get("fill_missing", 0) < 0:
        raise ConfigError(f"--fill-missing must be >= 0, got {fields['fill_missing']}")
    fields.setdefault("node", None)
    fields.setdefault("market", None)
    with _store_root(args.store):
        result, meta = backtest_profile(BacktestSpec(**fields))
    out = write_backtest(result, args.out, meta)
    print(f"back-test {meta['node']} {meta['start']}..{meta['end']} -> {out}")
    print(f"{'strategy':<18}{'all-in cost $':>16}{'$/GPU-hour':>12}{'margin $':>16}")
    for name, line in result.totals.items():
        per = line["cost_per_gpu_hour_usd"]
        per_text = f"{per:>12.4f}" if per is not None else f"{'n/a':>12}"
        print(f"{name:<18}{line['total_cost_usd']:>16,.0f}{per_text}{line['margin_usd']:>16,.0f}")
    return 0


@contextmanager
def _store_root(store: Path | None) -> Iterator[None]:
    """Point the back-test's store at ``--store`` (via ``ENERGYHEDGE_STORE``) for the call."""
    if store is None:
        yield
        return
    before = os.environ.get(STORE_ENV)
    os.environ[STORE_ENV] = str(store)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(STORE_ENV, None)
        else:
            os.environ[STORE_ENV] = before
