"""Plausible bands for $/MWh inputs, to catch unit mistakes before they become trades.

A block price of 0.055 (meant as $/kWh), a strike of 250000 or a negative premium is refused with
the key, the value and the likely mistake, unless the run profile sets
``allow_unusual_values = true`` in its ``[run]`` table.

Bands per ISO ($/MWh):

=====  =========  ========  =================================================================
ISO    floor      ceiling   where the numbers come from
=====  =========  ========  =================================================================
ercot  -250       9,500     ceiling: the highest ERCOT offer cap on file, $9,000 (June 2014 to
                            end-2021; $5,000 since 2022), plus 500 of room for reserve adders
                            (ORDC; 2023 real-time max 5,497.90): shared/docs/domain.md section 3
                            and ``scenarios.caps``. Floor: ERCOT's energy offer floor of -$250,
                            not stated in the shared docs.
pjm    -1,100     5,000     ceiling: PJM's $2,000 cap on cost-based offers that set LMP (FERC
                            order of Dec 2015; the demo profile uses 2,000) plus 3,000 of room
                            for shortage-pricing adders, an assumption. Floor: below PJM's
                            -$1,000 offer floor with 100 of room; neither is in the shared docs.
=====  =========  ========  =================================================================

The bands are wide on purpose: they catch a factor of 1,000 (kWh for MWh), not a bad trade.
Values with no ISO (run-profile keys) use the widest band over all ISOs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from energyhedge.config import Table
from energyhedge.errors import ConfigError

ALLOW_KEY = "allow_unusual_values"
REMEDY = f"fix the unit, or set {ALLOW_KEY} = true in the run profile's [run] table"

MIN_PRICE_MAGNITUDE_USD_PER_MWH = 1.0
"""A price level (block, strike, cap, trigger) between -1 and 1 $/MWh, other than 0, is taken
for $/kWh."""

HEAT_RATE_BAND_MMBTU_PER_MWH = (3.0, 30.0)
"""Heat rates of thermal plants (an efficient CCGT is about 6.5, an old peaker about 15)."""


@dataclass(frozen=True)
class PriceBand:
    """Lowest and highest price an ISO can print, with room for adders ($/MWh)."""

    floor_usd_per_mwh: float
    ceiling_usd_per_mwh: float


BANDS = {
    "ercot": PriceBand(-250.0, 9_500.0),
    "pjm": PriceBand(-1_100.0, 5_000.0),
}
WIDEST = PriceBand(
    min(b.floor_usd_per_mwh for b in BANDS.values()),
    max(b.ceiling_usd_per_mwh for b in BANDS.values()),
)

PRICE = "price"
"""A price level: block fixed price, strike, payout cap, offer cap, DR trigger."""
PREMIUM = "premium"
"""What is paid per MWh (option premium, VOM, DR penalty): never negative."""
OFFER_CAP = "offer cap"
"""An offer cap or a price held at the cap: at least ``MIN_OFFER_CAP_USD_PER_MWH``."""

MIN_OFFER_CAP_USD_PER_MWH = 1_000.0
"""The lowest offer cap on file: PJM's $1,000/MWh before December 2015 (ERCOT's low cap is
$2,000)."""


def price_problem(value: float, kind: str, iso: str | None = None) -> str | None:
    """Why ``value`` ($/MWh) is implausible as a ``kind`` for ``iso``, with the likely unit
    mistake; None when it is plausible."""
    band = BANDS.get(iso or "", WIDEST)
    market = iso.upper() if iso in BANDS else "any ISO"
    if not math.isfinite(value):
        return f"{value} is not a finite $/MWh figure"
    if kind == PREMIUM and value < 0:
        return f"{value:g} $/MWh is negative; enter what is paid as a positive figure"
    if kind == PRICE and 0 < abs(value) < MIN_PRICE_MAGNITUDE_USD_PER_MWH:
        return f"{value:g} looks like $/kWh: {value * 1000:g} $/MWh?"
    if kind == OFFER_CAP and value < MIN_OFFER_CAP_USD_PER_MWH:
        guess = value * 1000
        hint = (
            f"; {value:g} looks like $/kWh: {guess:g} $/MWh?"
            if MIN_OFFER_CAP_USD_PER_MWH <= guess <= band.ceiling_usd_per_mwh
            else ""
        )
        return (
            f"{value:g} $/MWh is below the lowest offer cap on file "
            f"({MIN_OFFER_CAP_USD_PER_MWH:,.0f} $/MWh){hint}"
        )
    if value > band.ceiling_usd_per_mwh:
        guess = value / 1000
        hint = (
            f"; {value:g} looks like $/GWh or a factor of 1,000 too high: {guess:g} $/MWh?"
            if guess >= MIN_PRICE_MAGNITUDE_USD_PER_MWH
            else ""
        )
        return (
            f"{value:g} $/MWh is above the {market} offer cap plus adders "
            f"({band.ceiling_usd_per_mwh:,.0f} $/MWh){hint}"
        )
    if value < band.floor_usd_per_mwh:
        return f"{value:g} $/MWh is below the {market} price floor ({band.floor_usd_per_mwh:,.0f})"
    return None


def heat_rate_problem(value: float) -> str | None:
    """Why ``value`` (MMBtu/MWh) is implausible as a heat rate; None when plausible."""
    low, high = HEAT_RATE_BAND_MMBTU_PER_MWH
    if low <= value <= high:
        return None
    if low * 1000 <= value <= high * 1000:
        return f"{value:g} looks like Btu/kWh: {value / 1000:g} MMBtu/MWh?"
    return f"{value:g} MMBtu/MWh is outside the plausible {low:g}..{high:g}"


def fraction_problem(value: float) -> str | None:
    """Why ``value`` is implausible as a fraction such as a risk loading (0.10 is 10 %)."""
    if value > 1:
        return f"{value:g} looks like a percentage: {value / 100:g}?"
    return None


def checked(table: Table, key: str, problem: str | None, *, allow: bool) -> None:
    """Raise ``problem`` (from the functions above) for ``key`` of ``table`` unless ``allow``."""
    if problem is not None and not allow:
        raise table.error(key, f"{problem}; {REMEDY}")


def check_quote(name: str, value: float, kind: str, iso: str, *, allow: bool) -> None:
    """ConfigError for an implausible ``--quote name=value`` ($/MWh) unless ``allow``."""
    problem = None if allow else price_problem(value, kind, iso)
    if problem is not None:
        raise ConfigError(f"--quote {name}={value:g}: {problem}; {REMEDY}")
