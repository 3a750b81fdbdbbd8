"""Is the price history recent enough to decide on? One rule for every run.

The decision is made on the day before the horizon starts, or on the as-of date when that is
earlier (a forward decision). The history's age is the number of days from its last stored
interval (UTC date) to that decision day. Over ``max_history_age_days`` the data is stale: a
``DataError`` (exit 3), or, when the run profile sets ``allow_stale_data = true``, warnings the
run must print on stderr (even with ``--quiet``) and in the report's first line.

A history that reaches past the decision day (a replay of a past horizon) is never stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from energyhedge.errors import DataError

DEFAULT_MAX_HISTORY_AGE_DAYS = 7.0
"""Default limit (days): covers a weekend plus ISO publication delays."""


@dataclass(frozen=True)
class FreshnessRule:
    """The run profile's ``[run]`` keys ``max_history_age_days`` and ``allow_stale_data``."""

    max_history_age_days: float = DEFAULT_MAX_HISTORY_AGE_DAYS
    allow_stale_data: bool = False


def check_freshness(
    last_interval_utc: datetime,
    horizon_start: date,
    as_of: date,
    rule: FreshnessRule,
    *,
    series: str = "price",
) -> list[str]:
    """Warnings (empty when fresh) or DataError when the history is stale and not allowed.

    Parameters
    ----------
    last_interval_utc : datetime
        Start of the newest stored interval of the series (UTC; naive means UTC).
    horizon_start : date
        First local market day of the horizon.
    as_of : date
        The run's as-of date.
    rule : FreshnessRule
    series : str
        Series named in the message, e.g. ``"ercot/rtm/LZ_HOUSTON"``.
    """
    decision_day = min(as_of, horizon_start - timedelta(days=1))
    last_day = last_interval_utc.date()
    age_days = (decision_day - last_day).days
    if age_days <= rule.max_history_age_days:
        return []
    what = (
        f"stale data: the newest stored {series} price is from {last_day} (UTC), {age_days:,} "
        f"days before the decision day {decision_day} (horizon starts {horizon_start}, as of "
        f"{as_of}; max_history_age_days = {rule.max_history_age_days:g})"
    )
    if not rule.allow_stale_data:
        raise DataError(
            f"{what}: fetch or import recent prices (energyhedge data fetch / data import), give "
            "a horizon start inside the data, or set allow_stale_data = true in the run "
            "profile's [run] table"
        )
    return [f"WARNING {what}; allow_stale_data = true, so the run goes on with old prices"]
