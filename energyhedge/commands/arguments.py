"""Command-line options shared by several command families."""

from __future__ import annotations

import argparse
import math
from datetime import date
from pathlib import Path

from energyhedge.data.schema import INTERVAL_MINUTES, ISOS, MARKETS
from energyhedge.errors import ConfigError

CSV_LAYOUT_OPTIONS = ("time_col", "price_col", "node_col", "tz", "label", "interval_minutes")


def local_day(text: str) -> date:
    """argparse type for a day given as YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store DIR``: the price store folder."""
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="price store folder (default: ENERGYHEDGE_STORE or market_data/store)",
    )


def add_cvar_options(parser: argparse.ArgumentParser) -> None:
    """``--lambda L`` or ``--cvar-budget B`` (never both: argparse exits 2), and ``--alpha A``."""
    form = parser.add_mutually_exclusive_group()
    form.add_argument(
        "--lambda", dest="cvar_weight", type=float, metavar="L", help="CVaR weight (>= 0)"
    )
    form.add_argument(
        "--cvar-budget", type=float, metavar="B", help="CVaR budget ($): minimise E[C] under it"
    )
    parser.add_argument("--alpha", type=float, metavar="A", help="CVaR level, e.g. 0.95")


def add_csv_layout_options(
    parser: argparse.ArgumentParser, description: str, *, with_iso_market: bool
) -> None:
    """Options that describe a price CSV in the user's own layout (``GenericOptions`` fields)."""
    group = parser.add_argument_group("your own CSV", description)
    group.add_argument("--time-col", help="column of local time labels")
    group.add_argument("--price-col", help="$/MWh column (default: price)")
    group.add_argument("--node-col", help="node / zone column (default: node)")
    group.add_argument(
        "--tz",
        help="IANA zone of naive labels (default: the ISO's zone; not needed for ISO-8601 "
        "times with Z or an offset)",
    )
    group.add_argument(
        "--label",
        choices=("beginning", "ending"),
        help="labels name interval beginnings (default) or endings",
    )
    if with_iso_market:
        group.add_argument("--iso", choices=ISOS, help="ISO (default: ercot)")
        group.add_argument("--market", choices=MARKETS, help="market (default: rtm)")
    group.add_argument(
        "--interval-minutes", type=int, choices=INTERVAL_MINUTES, help="interval (default: 60)"
    )


def csv_layout(args: argparse.Namespace, names: tuple[str, ...] = CSV_LAYOUT_OPTIONS) -> dict:
    """The given CSV layout options as a dict; empty when none is given.

    ConfigError when layout options are given without ``--time-col``.
    """
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if given and "time_col" not in given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise ConfigError(f"{flags} only apply to your own CSV layout: add --time-col")
    return given


def product_value(text: str) -> tuple[str, float]:
    """argparse type for ``PRODUCT=NUMBER`` (e.g. ``scarcity_1000_7x24=70``)."""
    name, _, value = text.partition("=")
    problem = argparse.ArgumentTypeError(
        f"{text!r}: expected PRODUCT=NUMBER, e.g. scarcity_1000_7x24=70"
    )
    try:
        number = float(value)
    except ValueError:
        raise problem from None
    if not name.strip() or not math.isfinite(number):
        raise problem
    return name.strip(), number


def add_quote_option(parser: argparse.ArgumentParser) -> None:
    """``--quote PRODUCT=USD_PER_MWH`` (repeatable): a broker quote in place of the file's terms."""
    parser.add_argument(
        "--quote",
        dest="quotes",
        action="append",
        type=product_value,
        default=[],
        metavar="PRODUCT=USD_PER_MWH",
        help="broker quote: premium per MWh of notional for an option, the fixed price for a "
        "block (repeat for several products)",
    )
