"""Data-quality findings per price series: gaps, duplicates, revisions, out-of-range prices.

Findings describe, they never repair: a gap stays a gap. The known defect of the shipped 2023
ERCOT file (the standard-time repeat of 01:00 on 2023-11-05 is absent) shows up as a one-interval
gap described as the missing second occurrence of the repeated hour. Ancillary-service prices
(market ``as``, $/MW per hour) are screened against :data:`AS_BOUNDS`, never against energy-price
caps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.schema import AS_MARKET, price_unit

SERIES = ("iso", "market", "node", "interval_minutes")


@dataclass(frozen=True)
class PriceBounds:
    """Screening bounds for one ISO, in $/MWh; not market rules, only what deserves a look.

    ``caps`` is a tuple of (first UTC instant, offer cap) in time order; the upper bound is the
    cap in force plus ``adder_allowance`` (real-time prices include scarcity adders).
    """

    floor: float
    caps: tuple[tuple[datetime, float], ...]
    adder_allowance: float

    def upper(self, instants_utc: pl.Series) -> pl.Series:
        """Upper bound per instant: cap in force + adder allowance."""
        expr = pl.lit(self.caps[0][1])
        for start, cap in self.caps[1:]:
            expr = pl.when(pl.col("t") >= start).then(pl.lit(cap)).otherwise(expr)
        cap_in_force = pl.DataFrame({"t": instants_utc}).select(expr).to_series()
        return cap_in_force + self.adder_allowance


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_BOUNDS: dict[str, PriceBounds] = {
    # ERCOT: offer floor -$250; cap $9,000 (June 2014 to 2021), $5,000 since 1 Jan 2022.
    # Years before June 2014 had lower caps and are screened against $9,000 too.
    "ercot": PriceBounds(
        floor=-250.0,
        caps=((_EPOCH, 9_000.0), (datetime(2022, 1, 1, 6, tzinfo=UTC), 5_000.0)),
        adder_allowance=1_000.0,
    ),
    # PJM: energy offer cap $2,000 for cost-verified offers, plus shortage pricing.
    "pjm": PriceBounds(floor=-250.0, caps=((_EPOCH, 2_000.0),), adder_allowance=1_700.0),
}
AS_BOUNDS: dict[str, PriceBounds] = {
    # ERCOT day-ahead AS clearing prices ($/MW per hour): never negative; AS offers are capped
    # at the system-wide offer cap, and the day-ahead market has no scarcity adders.
    "ercot": PriceBounds(floor=0.0, caps=DEFAULT_BOUNDS["ercot"].caps, adder_allowance=0.0),
}
"""Screening bounds of market ``as`` per ISO, in $/MW per hour (no entry: not screened)."""


@dataclass(frozen=True)
class Finding:
    """One quality finding for one series.

    Attributes
    ----------
    kind
        ``gap``, ``duplicate``, ``blank`` (cells without a price, skipped), ``revision`` or
        ``out_of_range``.
    series
        ``iso/market/node/<minutes>min``.
    count
        Intervals (or rows) concerned.
    detail
        Human-readable description with the first examples.
    """

    kind: str
    series: str
    count: int
    detail: str

    def __str__(self) -> str:
        return f"{self.series}: {self.kind}: {self.detail}"


def series_name(iso: str, market: str, node: str, interval_minutes: int) -> str:
    """The display name of a series."""
    return f"{iso}/{market}/{node}/{interval_minutes}min"


def assess(
    frame: pl.DataFrame, bounds: dict[str, PriceBounds] | None = None, *, examples: int = 3
) -> list[Finding]:
    """Gaps, revised rows and out-of-range prices of every series in a canonical frame.

    Gaps are intervals missing from the regular grid between a series' first and last start.
    ``bounds`` screen energy prices; market ``as`` uses :data:`AS_BOUNDS`.
    """
    bounds = DEFAULT_BOUNDS if bounds is None else bounds
    findings: list[Finding] = []
    parts = frame.partition_by(SERIES, as_dict=True)
    for key in sorted(parts):
        iso, market, node, minutes = key
        part = parts[key].sort("interval_start_utc")
        name = series_name(iso, market, node, minutes)
        findings += _gaps(part, name, iso, minutes, examples)
        revised = part.filter(pl.col("revision") > 1)
        if revised.height:
            findings.append(
                Finding(
                    "revision",
                    name,
                    revised.height,
                    f"{revised.height} intervals carry a "
                    f"revised price (version > 1), e.g. {_stamps(revised, examples)}",
                )
            )
        screen = AS_BOUNDS if market == AS_MARKET else bounds
        if iso in screen:
            findings += _out_of_range(part, name, screen[iso], price_unit(market), examples)
    return findings


def _gaps(part: pl.DataFrame, name: str, iso: str, minutes: int, examples: int) -> list[Finding]:
    """Missing grid intervals, counted from the steps between rows (memory O(rows), not span)."""
    step_us = minutes * 60_000_000
    stamps = part["interval_start_utc"]
    diffs = stamps.cast(pl.Int64).diff().slice(1)
    lacking = ((diffs + step_us - 1) // step_us - 1).clip(lower_bound=0)
    total = int(lacking.sum())
    if not total:
        return []
    first: list[datetime] = []
    for i in (lacking > 0).arg_true().head(examples).to_list():
        n = min(int(lacking[i]), examples - len(first))
        first += [stamps[i] + timedelta(minutes=minutes * (k + 1)) for k in range(n)]
        if len(first) >= examples:
            break
    described = [_describe_missing(t, iso) for t in first]
    more = f" and {total - examples} more" if total > examples else ""
    return [
        Finding(
            "gap",
            name,
            total,
            f"{total} missing intervals: " + "; ".join(described) + more,
        )
    ]


def _describe_missing(instant: datetime, iso: str) -> str:
    """``2023-11-05T07:00Z (01:00 CST, the standard-time repeat of the fall-back hour)``."""
    stamp = instant.strftime("%Y-%m-%dT%H:%MZ")
    tz = ISO_TZ.get(iso)
    if tz is None or not 1 < instant.year < 9999:  # no local time at the ends of the calendar
        return stamp
    local = instant.astimezone(ZoneInfo(tz))
    text = f"{stamp} ({local:%Y-%m-%d %H:%M %Z}"
    if local.fold == 1:
        text += ", the standard-time repeat of the fall-back hour"
    elif (instant + timedelta(hours=1)).astimezone(ZoneInfo(tz)).fold == 1:
        text += ", the daylight-time first occurrence of the fall-back hour"
    return text + ")"


def _out_of_range(
    part: pl.DataFrame, name: str, bound: PriceBounds, unit: str, examples: int
) -> list[Finding]:
    upper = bound.upper(part["interval_start_utc"])
    price = part["price_usd_per_mwh"]
    outside = part.filter((price < bound.floor) | (price > upper))
    if outside.is_empty():
        return []
    shown = ", ".join(
        f"{t:%Y-%m-%dT%H:%MZ} {p:.2f}"
        for t, p in outside.select("interval_start_utc", "price_usd_per_mwh").head(examples).rows()
    )
    return [
        Finding(
            "out_of_range",
            name,
            outside.height,
            f"{outside.height} prices outside "
            f"[{bound.floor:g}, cap + {bound.adder_allowance:g}] {unit}, e.g. {shown}",
        )
    ]


def _stamps(part: pl.DataFrame, examples: int) -> str:
    return ", ".join(f"{t:%Y-%m-%dT%H:%MZ}" for t in part["interval_start_utc"].head(examples))
