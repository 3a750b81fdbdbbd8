"""`energyhedge data fetch`: the command line of ``energyhedge.data.fetch``."""

from __future__ import annotations

import argparse
import logging
import math
import sys

from energyhedge.commands.arguments import add_store_option, local_day
from energyhedge.data.ercot_api import QUERY_API_START
from energyhedge.data.fetch import DEADLINE_S, fetch, finish, parse_nodes
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.http import DeadlineError
from energyhedge.data.schema import ENERGY_MARKETS, ISOS
from energyhedge.errors import ConfigError


def register_fetch(data_subparsers: argparse._SubParsersAction) -> None:
    """Add ``fetch`` under ``energyhedge data``."""
    parser = data_subparsers.add_parser(
        "fetch",
        help="download prices from ERCOT or PJM into the store",
        description=(
            "Download prices for local market days START..END (inclusive) into the store. "
            "Credentials come from the environment: ERCOT_API_USERNAME, ERCOT_API_PASSWORD, "
            "ERCOT_PUBLIC_API_SUBSCRIPTION_KEY (ERCOT --source api) or PJM_API_KEY (PJM); "
            "ERCOT --source mis needs none. Completed chunks are kept if the fetch stops; "
            "run the same command again to fill what is missing. Retries and failed chunks "
            "are reported on stderr as they happen."
        ),
    )
    parser.add_argument("--iso", required=True, choices=ISOS)
    parser.add_argument("--market", required=True, choices=ENERGY_MARKETS)
    parser.add_argument(
        "--node",
        required=True,
        help="settlement point(s), comma-separated, e.g. HB_NORTH,LZ_HOUSTON or 'WESTERN HUB'",
    )
    parser.add_argument(
        "--start", required=True, type=local_day, help="first local day, YYYY-MM-DD"
    )
    parser.add_argument("--end", required=True, type=local_day, help="last local day, YYYY-MM-DD")
    add_store_option(parser)
    parser.add_argument(
        "--source",
        choices=("api", "mis"),
        default="api",
        help="ERCOT only: 'api' (public API, needs credentials) or 'mis' (annual files, no key)",
    )
    parser.add_argument(
        "--interval-minutes",
        type=int,
        choices=(5, 60),
        default=None,
        help="PJM real-time feed: 60 (rt_hrl_lmps, default) or 5 (rt_fivemin_hrl_lmps)",
    )
    parser.add_argument(
        "--archive-before",
        type=local_day,
        default=QUERY_API_START,
        help=f"ERCOT api: delivery days before this date come from the archive "
        f"(default {QUERY_API_START})",
    )
    parser.add_argument(
        "--deadline-s",
        type=seconds,
        default=DEADLINE_S,
        help=f"give up the whole fetch after this many seconds, keeping completed chunks "
        f"(default {DEADLINE_S:g})",
    )
    parser.set_defaults(func=run)


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``energyhedge data fetch``; print what was stored and raise if anything is missing."""
    if args.iso == "ercot" and args.interval_minutes is not None:
        raise ConfigError("--interval-minutes is for PJM; ERCOT rtm is 15-minute, dam hourly")
    request = FetchRequest(
        iso=args.iso,
        market=args.market,
        nodes=parse_nodes(args.node),
        start=args.start,
        end=args.end,
        source=args.source,
        interval_minutes=args.interval_minutes or 60,
    )
    messages = logging.getLogger("energyhedge.data")
    echo = logging.StreamHandler(sys.stderr)
    echo.setFormatter(logging.Formatter("energyhedge: %(message)s"))
    level = messages.level
    messages.addHandler(echo)
    messages.setLevel(logging.INFO)
    try:
        report = fetch(
            request,
            store_root=args.store,
            archive_before=args.archive_before,
            deadline_s=args.deadline_s,
        )
    except DeadlineError as exc:
        raise DeadlineError(f"{exc}; allow more time with --deadline-s") from None
    finally:
        messages.removeHandler(echo)
        messages.setLevel(level)
    return finish(request, report, sys.stdout)
