"""Offer caps: the highest price a scenario may print, per ISO and period.

ERCOT's system-wide offer cap was $9,000/MWh from 1 June 2014 to the end of 2021 and is
$5,000/MWh since 1 January 2022. Real-time settlement prices add reserve adders (ORDC) on top
of the offers and can print a little above the cap (5,497.90 $/MWh in the 2023 data), so
scenarios are clipped to the cap plus a stated room for adders. Other ISOs (PJM) take the cap
as an explicit parameter.
"""

from __future__ import annotations

import numpy as np

from energyhedge.errors import ConfigError

# (first day in force, cap $/MWh), in date order.
ERCOT_OFFER_CAPS = (
    (np.datetime64("2014-06-01"), 9000.0),
    (np.datetime64("2022-01-01"), 5000.0),
)
DEFAULT_ADDER_ROOM_USD_PER_MWH = 500.0


def offer_cap_usd_per_mwh(
    iso: str, dates: np.ndarray, offer_cap: float | None = None
) -> np.ndarray:
    """Offer cap in force on each local market day.

    Parameters
    ----------
    iso : str
        ``"ercot"`` uses the table above when ``offer_cap`` is None; any other ISO needs it.
    dates : ndarray [D] of datetime64[D]
    offer_cap : float, optional
        A cap ($/MWh) that overrides the table for every day.

    Returns
    -------
    ndarray [D] of float ($/MWh)
    """
    if offer_cap is not None:
        if not offer_cap > 0:
            raise ConfigError(f"offer_cap must be a positive $/MWh figure, got {offer_cap}")
        return np.full(dates.shape, float(offer_cap))
    if iso != "ercot":
        raise ConfigError(f"no offer-cap table for iso {iso!r}: pass offer_cap ($/MWh)")
    starts = np.array([d for d, _ in ERCOT_OFFER_CAPS])
    caps = np.array([c for _, c in ERCOT_OFFER_CAPS])
    which = np.searchsorted(starts, dates, side="right") - 1
    if (which < 0).any():
        raise ConfigError(f"no ERCOT offer cap on file before {starts[0]}: pass offer_cap ($/MWh)")
    return caps[which]


def history_cap_usd_per_mwh(iso: str, dates: np.ndarray, offer_cap: float | None) -> np.ndarray:
    """Offer cap in force on historical days: the ISO's table where it has one, else
    ``offer_cap`` (the cap of the scenarios is then assumed to have held in the past too)."""
    return offer_cap_usd_per_mwh(iso, dates, None if iso == "ercot" else offer_cap)
