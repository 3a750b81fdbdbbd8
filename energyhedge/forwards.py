"""Forward marks: the market's bid and ask for blocks (and option premiums), kept with history.

A marks file is a CSV the trader maintains, one row per mark (lines starting with ``#`` are
comments)::

    iso,settlement_point,market,shape,period,bid_usd_per_mwh,ask_usd_per_mwh,as_of,source
    ercot,LZ_HOUSTON,rtm,5x16,2023-08,118.50,121.50,2023-08-16,broker sheet

- ``market``: ``dam`` or ``rtm``; ``shape``: ``7x24``, ``5x16``, ``2x16``, ``7x8`` or ``wrap``
  (every hour outside 5x16).
- ``period`` (ISO-local delivery days): a day ``2026-08-17``, balance of month ``BOM-2026-08``
  (the day after ``as_of`` to the month's end), a month ``2026-08``, a quarter ``2026-Q3``, a
  calendar strip ``CAL-2026``.
- ``bid_usd_per_mwh`` <= ``ask_usd_per_mwh``, in $/MWh; each within the ISO's plausible band
  (``energyhedge.units``).
- Optional columns ``kind`` (``block`` when empty; ``call``, ``scarcity``, ``heat_rate_call``
  for option quotes, whose bid and ask are premiums per MWh of notional) and
  ``strike_usd_per_mwh`` (the option's strike; empty for blocks and heat-rate calls).

A mark is identified by (iso, point, market, shape, period, kind, strike) and its ``as_of`` date;
one file may not give the same mark twice for the same ``as_of``. ``energyhedge forwards import``
keeps every ``as_of`` in a store (``MarkStore``); a run uses, per mark, the latest ``as_of`` on
or before its own as-of date (``latest_marks``).

Which mark prices a product (``select_mark``): the marks at the product's settlement point,
market, shape and kind (and strike, for options) whose period covers the product's delivery days
(its tenor when it names one, else the horizon's local days); of those the shortest period (a day
mark for a one-day horizon, then balance-of-month, month, quarter, calendar strip), and of equal
periods the latest ``as_of``.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge import user_csv
from energyhedge.data.calendar import ISO_TZ, SHAPES, local_fields, shape_mask
from energyhedge.data.store import default_root
from energyhedge.errors import ConfigError, DataError
from energyhedge.instruments import KINDS, ProductSpec
from energyhedge.lock import folder_lock
from energyhedge.safe_text import name_problem, shown
from energyhedge.scenarios.daygrid import Horizon
from energyhedge.scenarios.forward import centre_on_forward
from energyhedge.units import PREMIUM, PRICE, REMEDY, price_problem

MARK_SHAPES = (*SHAPES, "wrap")
MARKETS = ("dam", "rtm")
COLUMNS = (
    "iso",
    "settlement_point",
    "market",
    "shape",
    "period",
    "bid_usd_per_mwh",
    "ask_usd_per_mwh",
    "as_of",
    "source",
)
OPTIONAL_COLUMNS = ("kind", "strike_usd_per_mwh")
FORWARDS_ENV = "ENERGYHEDGE_FORWARDS"
MAX_SOURCE_CHARS = 200
MAX_MARK_ROWS = 100_000
"""Most rows one marks file may hold."""

_PERIOD_RANK = {"day": 0, "bom": 1, "month": 2, "quarter": 3, "cal": 4}


@dataclass(frozen=True)
class Period:
    """A delivery period: its text, kind (``day``, ``bom``, ``month``, ``quarter``, ``cal``)
    and first and last ISO-local days, both inclusive."""

    text: str
    kind: str
    first: date
    last: date

    def covers(self, first: date, last: date) -> bool:
        return self.first <= first and last <= self.last

    @property
    def order(self) -> tuple[int, int]:
        """Shorter periods first: by kind, then by days."""
        return _PERIOD_RANK[self.kind], (self.last - self.first).days


def parse_period(text: str, as_of: date) -> Period:
    """``text`` as a ``Period``; ValueError with the accepted forms when it is none of them."""
    t = text.strip().upper()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", t):
            day = date(*map(int, m.groups()))
            return Period(text, "day", day, day)
        if m := re.fullmatch(r"BOM-(\d{4})-(\d{2})", t):
            year, month = map(int, m.groups())
            end = date(year, month, calendar.monthrange(year, month)[1])
            first = max(date(year, month, 1), as_of + timedelta(days=1))
            if first > end:
                raise ValueError(f"balance of month {text} has no day after as_of {as_of}")
            return Period(text, "bom", first, end)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", t):
            year, month = map(int, m.groups())
            end = date(year, month, calendar.monthrange(year, month)[1])
            return Period(text, "month", date(year, month, 1), end)
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", t):
            year, q = map(int, m.groups())
            last_month = 3 * q
            end = date(year, last_month, calendar.monthrange(year, last_month)[1])
            return Period(text, "quarter", date(year, last_month - 2, 1), end)
        if m := re.fullmatch(r"CAL-(\d{4})", t):
            year = int(m.group(1))
            return Period(text, "cal", date(year, 1, 1), date(year, 12, 31))
    except ValueError as exc:
        if "has no day" in str(exc):
            raise
        raise ValueError(f"{text!r} is not a calendar date or month") from None
    raise ValueError(
        f"unknown period {text!r}; expected a day 2026-08-17, BOM-2026-08, a month 2026-08, "
        "a quarter 2026-Q3 or CAL-2026"
    )


@dataclass(frozen=True)
class Mark:
    """One forward mark: bid and ask in $/MWh (premiums per MWh of notional for options)."""

    iso: str
    settlement_point: str
    market: str
    shape: str
    period: Period
    bid_usd_per_mwh: float
    ask_usd_per_mwh: float
    as_of: date
    source: str
    kind: str = "block"
    strike_usd_per_mwh: float | None = None

    @property
    def key(self) -> tuple:
        """What the mark prices, without its date."""
        return (
            self.iso,
            self.settlement_point,
            self.market,
            self.shape,
            self.period.text.upper(),
            self.kind,
            self.strike_usd_per_mwh,
        )

    @property
    def mid_usd_per_mwh(self) -> float:
        return 0.5 * (self.bid_usd_per_mwh + self.ask_usd_per_mwh)

    @property
    def mark_id(self) -> str:
        """``iso:point:market:shape:period[:kind@strike]@as_of``, e.g.
        ``ercot:LZ_HOUSTON:rtm:5x16:2023-08@2023-08-16``."""
        what = f"{self.iso}:{self.settlement_point}:{self.market}:{self.shape}:{self.period.text}"
        if self.kind != "block":
            strike = "" if self.strike_usd_per_mwh is None else f"{self.strike_usd_per_mwh:g}"
            what += f":{self.kind}@{strike}" if strike else f":{self.kind}"
        return f"{what}@{self.as_of.isoformat()}"

    def row(self) -> dict[str, str]:
        """The mark as a CSV row of ``COLUMNS + OPTIONAL_COLUMNS``."""
        strike = self.strike_usd_per_mwh
        return {
            "iso": self.iso,
            "settlement_point": self.settlement_point,
            "market": self.market,
            "shape": self.shape,
            "period": self.period.text,
            "bid_usd_per_mwh": repr(self.bid_usd_per_mwh),
            "ask_usd_per_mwh": repr(self.ask_usd_per_mwh),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "kind": self.kind,
            "strike_usd_per_mwh": "" if strike is None else repr(strike),
        }


def read_marks(path: str | Path, *, allow_unusual_values: bool = False) -> tuple[Mark, ...]:
    """Parse a marks file; DataError ``file:line: column: reason; remedy`` on the first bad cell.

    Refused: a missing column, an unknown iso, market, shape, kind or period, a bid above the
    ask, a price outside the ISO's plausible band (unless ``allow_unusual_values``), a strike on
    a block or none on a call or scarcity quote, and the same mark twice for one ``as_of``.
    """
    return parse_marks(
        user_csv.read_text(path, "marks"), path, allow_unusual_values=allow_unusual_values
    )


def parse_marks(
    text: str, path: str | Path = "<marks>", *, allow_unusual_values: bool = False
) -> tuple[Mark, ...]:
    """``read_marks`` on the file's text (``path`` names it in errors)."""
    marks: list[Mark] = []
    seen: dict[tuple, int] = {}
    for number, row in user_csv.rows(
        text, path, columns=COLUMNS, optional=OPTIONAL_COLUMNS, max_rows=MAX_MARK_ROWS, what="marks"
    ):
        mark = _mark(row, f"{path}:{number}", allow_unusual_values)
        first = seen.setdefault((*mark.key, mark.as_of), number)
        if first != number:
            raise DataError(
                f"{path}:{number}: column period: mark {mark.mark_id} already given on line "
                f"{first}; keep one row per mark and as_of"
            )
        marks.append(mark)
    return tuple(marks)


def _mark(row: dict[str, str], where: str, allow: bool) -> Mark:
    def bad(column: str, reason: str) -> DataError:
        return DataError(f"{where}: column {column}: {reason}")

    def choice(column: str, options: tuple[str, ...], value: str | None = None) -> str:
        value = row[column].lower() if value is None else value
        if value not in options:
            raise bad(column, f"{row[column]!r} is not one of {', '.join(options)}")
        return value

    def number(column: str) -> float:
        try:
            value = float(row[column])
        except ValueError:
            raise bad(column, f"{row[column]!r} is not a number ($/MWh)") from None
        if not np.isfinite(value):
            raise bad(column, f"{row[column]!r} is not a finite $/MWh figure")
        return value

    iso = choice("iso", tuple(ISO_TZ))
    kind = choice("kind", KINDS, (row.get("kind") or "block").lower())
    try:
        as_of = date.fromisoformat(row["as_of"])
    except ValueError:
        raise bad("as_of", f"{row['as_of']!r} is not a date YYYY-MM-DD") from None
    try:
        period = parse_period(row["period"], as_of)
    except ValueError as exc:
        raise bad("period", str(exc)) from None
    point = row["settlement_point"]
    if problem := name_problem(point):
        raise bad("settlement_point", f"{shown(point)}: {problem}")
    bid, ask = number("bid_usd_per_mwh"), number("ask_usd_per_mwh")
    unit = PRICE if kind == "block" else PREMIUM
    for column, value in (("bid_usd_per_mwh", bid), ("ask_usd_per_mwh", ask)):
        problem = None if allow else price_problem(value, unit, iso)
        if problem:
            raise bad(column, f"{problem}; {REMEDY.replace('fix the unit', 'fix the mark')}")
    if bid > ask:
        raise bad("bid_usd_per_mwh", f"bid {bid:g} is above the ask {ask:g}; swap them")
    strike_text = row.get("strike_usd_per_mwh") or ""
    strike = number("strike_usd_per_mwh") if strike_text else None
    if kind == "block" and strike is not None:
        raise bad("strike_usd_per_mwh", "a block mark has no strike; leave the cell empty")
    if kind in ("call", "scarcity") and strike is None:
        raise bad("strike_usd_per_mwh", f"a {kind} quote needs its strike")
    source = row["source"]
    if len(source) > MAX_SOURCE_CHARS or not source.isprintable():
        raise bad("source", f"at most {MAX_SOURCE_CHARS} printable characters, got {shown(source)}")
    return Mark(
        iso=iso,
        settlement_point=point,
        market=choice("market", MARKETS),
        shape=choice("shape", MARK_SHAPES),
        period=period,
        bid_usd_per_mwh=bid,
        ask_usd_per_mwh=ask,
        as_of=as_of,
        source=source,
        kind=kind,
        strike_usd_per_mwh=strike,
    )


def write_marks(path: Path, marks: Iterable[Mark]) -> None:
    """Write marks as a CSV (all columns), atomically (temporary file, then rename)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS + OPTIONAL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for mark in sorted(marks, key=lambda m: (*_sort_key(m.key), m.as_of)):
        writer.writerow(mark.row())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _sort_key(key: tuple) -> tuple:
    return tuple("" if v is None else str(v) for v in key)


def latest_marks(marks: Iterable[Mark], as_of: date | None = None) -> tuple[Mark, ...]:
    """Per mark, the one with the latest ``as_of`` on or before ``as_of`` (all dates if None)."""
    best: dict[tuple, Mark] = {}
    for mark in marks:
        if as_of is not None and mark.as_of > as_of:
            continue
        held = best.get(mark.key)
        if held is None or mark.as_of > held.as_of:
            best[mark.key] = mark
    return tuple(best.values())


def default_marks_dir() -> Path:
    """``$ENERGYHEDGE_FORWARDS`` if set, else ``forwards/`` beside the price store's folder
    (``market_data/forwards`` by default)."""
    env = os.environ.get(FORWARDS_ENV)
    if env:
        return Path(env)
    return default_root().parent / "forwards"


@dataclass(frozen=True)
class ImportCounts:
    """What one import did: marks new to the store, corrected (same mark and as_of, other
    prices), and unchanged."""

    inserted: int
    replaced: int
    unchanged: int


class MarkStore:
    """Every imported mark with its history, in ``<root>/marks.csv`` (one row per mark and
    as_of); an import of the same mark and as_of replaces the stored prices. Imports hold a lock
    on the folder and replace the file atomically, so readers see the whole old or new file."""

    FILE = "marks.csv"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def path(self) -> Path:
        return self.root / self.FILE

    def marks(self) -> tuple[Mark, ...]:
        """Every stored mark (empty when nothing was imported)."""
        if not self.path.exists():
            return ()
        return read_marks(self.path, allow_unusual_values=True)

    def latest(self, as_of: date | None = None) -> tuple[Mark, ...]:
        """The marks a run on ``as_of`` uses (``latest_marks``)."""
        return latest_marks(self.marks(), as_of)

    def import_file(self, path: str | Path, *, allow_unusual_values: bool = False) -> ImportCounts:
        """Validate ``path`` whole, then merge it into the store (nothing changes on an error)."""
        incoming = read_marks(path, allow_unusual_values=allow_unusual_values)
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"marks store {self.root}: not a folder; give a folder as --marks")
        self.root.mkdir(parents=True, exist_ok=True)
        with folder_lock(self.root):  # two imports at once must not drop each other's marks
            return self._merge(incoming)

    def _merge(self, incoming: tuple[Mark, ...]) -> ImportCounts:
        stored = {(*m.key, m.as_of): m for m in self.marks()}
        inserted = replaced = unchanged = 0
        for mark in incoming:
            key = (*mark.key, mark.as_of)
            held = stored.get(key)
            if held is None:
                inserted += 1
            elif (held.bid_usd_per_mwh, held.ask_usd_per_mwh, held.source) == (
                mark.bid_usd_per_mwh,
                mark.ask_usd_per_mwh,
                mark.source,
            ):
                unchanged += 1
            else:
                replaced += 1
            stored[key] = mark
        write_marks(self.path, stored.values())
        return ImportCounts(inserted, replaced, unchanged)


def load_marks(source: str | Path, as_of: date | None) -> tuple[Mark, ...]:
    """The marks a run profile names: ``"store"`` (the default store), a store folder, or a
    marks CSV; the latest on or before ``as_of``."""
    if str(source) == "store":
        return MarkStore(default_marks_dir()).latest(as_of)
    path = Path(source)
    if path.is_dir():
        return MarkStore(path).latest(as_of)
    if not path.exists():
        raise ConfigError(
            f"forward marks {path}: no such file or folder; import marks with "
            '`energyhedge forwards import FILE` and set forward_marks = "store"'
        )
    return latest_marks(read_marks(path), as_of)


@dataclass(frozen=True)
class MarkPrice:
    """What a mark says a product trades at ($/MWh of notional; premiums for options)."""

    mid_usd_per_mwh: float
    ask_usd_per_mwh: float
    bid_usd_per_mwh: float
    mark_id: str
    source: str


def horizon_days(horizon_stamps: np.ndarray, iso: str) -> tuple[date, date]:
    """First and last ISO-local day of a horizon's intervals."""
    days = local_fields(np.asarray(horizon_stamps, dtype="datetime64[us]"), iso)["date"]
    return days.min().astype(date), days.max().astype(date)


def select_mark(
    marks: Iterable[Mark],
    *,
    iso: str,
    point: str,
    market: str,
    shape: str,
    first: date,
    last: date,
    kind: str = "block",
    strike: float | None = None,
) -> Mark | None:
    """The mark that prices delivery from ``first`` to ``last`` (module docstring), or None."""
    fits = [
        m
        for m in marks
        if (m.iso, m.settlement_point, m.market, m.shape, m.kind)
        == (iso, point, market, shape, kind)
        and (kind in ("block", "heat_rate_call") or m.strike_usd_per_mwh == strike)
        and m.period.covers(first, last)
    ]
    if not fits:
        return None
    return min(fits, key=lambda m: (m.period.order, -m.as_of.toordinal()))


def price_product(
    spec: ProductSpec, marks: Iterable[Mark], horizon_stamps: np.ndarray
) -> MarkPrice | None:
    """The mark price of a catalogue product over a horizon, or None when no mark covers it.

    The delivery days are the product's tenor when it names one, else the horizon's local days
    (``horizon_stamps``, [T] datetime64 UTC). Blocks: bid, ask and mid are prices ($/MWh);
    options: premiums per MWh of notional, matched on kind and strike.
    """
    if spec.start is not None:
        first, last = spec.start, spec.end
    else:
        first, last = horizon_days(horizon_stamps, spec.iso)
    mark = select_mark(
        marks,
        iso=spec.iso,
        point=spec.node,
        market=spec.market,
        shape=spec.shape,
        first=first,
        last=last,
        kind=spec.kind,
        strike=spec.strike_usd_per_mwh,
    )
    if mark is None:
        return None
    return MarkPrice(
        mark.mid_usd_per_mwh, mark.ask_usd_per_mwh, mark.bid_usd_per_mwh, mark.mark_id, mark.source
    )


PRICINGS = ("mark", "quote", "model")
"""``Product.meta["pricing"]``: a forward mark, a broker quote (catalogue or ``--quote``), or the
engine's scenarios (indicative, not executable)."""


def price_source(meta: dict) -> str:
    """Where a product's price came from: its mark id, ``"quote"`` or ``"model"``."""
    pricing = meta.get("pricing", "model")
    if pricing == "mark":
        return str(meta.get("mark_id") or "mark")
    return pricing


def is_indicative(meta: dict) -> bool:
    """True when the price is the engine's own (model), not an executable market price."""
    return meta.get("pricing", "model") == "model"


def mark_mask(shape: str, iso: str, stamps: np.ndarray, interval_minutes: int) -> np.ndarray:
    """Intervals [T] in a mark shape (``wrap``: every interval outside 5x16)."""
    if shape == "wrap":
        return ~shape_mask("5x16", iso, stamps, interval_minutes)
    return shape_mask(shape, iso, stamps, interval_minutes)


@dataclass(frozen=True)
class MarketView:
    """The scenarios' probability-weighted mean price in a shape against the forward mid."""

    shape: str
    period: str
    mark_id: str
    model_mean_usd_per_mwh: float
    mid_usd_per_mwh: float
    hours: float

    @property
    def model_minus_market_usd_per_mwh(self) -> float:
        return self.model_mean_usd_per_mwh - self.mid_usd_per_mwh

    def sentence(self) -> str:
        """``5x16 2023-08: the model expects 12.30 $/MWh above the market (...)``."""
        gap = self.model_minus_market_usd_per_mwh
        side = "above" if gap >= 0 else "below"
        return (
            f"{self.shape} {self.period}: the model expects {abs(gap):,.2f} $/MWh {side} the "
            f"market (scenario mean {self.model_mean_usd_per_mwh:,.2f} over {self.hours:g} h "
            f"of the horizon, forward mid {self.mid_usd_per_mwh:,.2f}, {self.mark_id})"
        )


def model_vs_market(
    marks: Iterable[Mark],
    *,
    iso: str,
    point: str,
    market: str,
    interval_start_utc: np.ndarray,
    interval_minutes: int,
    prices_usd_per_mwh: np.ndarray,
    probabilities: np.ndarray,
) -> tuple[MarketView, ...]:
    """Per mark shape with a block mark covering the horizon (``select_mark``): the
    scenarios' mean price over the horizon's intervals in that shape, next to the mark's mid.

    ``prices_usd_per_mwh`` [S, T] at (``point``, ``market``), ``probabilities`` [S].
    """
    marks = tuple(marks)
    first, last = horizon_days(interval_start_utc, iso)
    mean_path = np.asarray(probabilities, dtype=float) @ np.asarray(prices_usd_per_mwh, float)
    views = []
    for shape in MARK_SHAPES:
        mark = select_mark(
            marks, iso=iso, point=point, market=market, shape=shape, first=first, last=last
        )
        mask = mark_mask(shape, iso, interval_start_utc, interval_minutes)
        if mark is None or not mask.any():
            continue
        views.append(
            MarketView(
                shape=shape,
                period=mark.period.text,
                mark_id=mark.mark_id,
                model_mean_usd_per_mwh=float(mean_path[mask].mean()),
                mid_usd_per_mwh=mark.mid_usd_per_mwh,
                hours=float(mask.sum() * interval_minutes / 60.0),
            )
        )
    return tuple(views)


def market_consistent(scenarios, marks: Iterable[Mark]):
    """The scenario set shifted so its mean price matches the forward mids
    (``scenarios.forward.centre_on_forward``), and a sentence saying what was done.

    Within the horizon, 5x16 intervals are scaled so their probability-weighted mean equals the
    5x16 mark's mid and all other intervals so theirs equals the off-peak price: the ``wrap``
    mark's mid, else the one the 7x24 and 5x16 mids imply over the horizon's hours. Marks are
    chosen by ``select_mark`` for the horizon's days. Settlement points in ``scenarios.joint``
    are centred the same way where they have marks, and left as they are otherwise.
    ConfigError names the marks missing for the scenarios' own point.
    """
    marks = tuple(marks)
    stamps, minutes = scenarios.interval_start_utc, scenarios.interval_minutes
    days = local_fields(stamps, scenarios.iso)["date"]
    dates = np.unique(days)
    grid = Horizon(stamps, minutes, np.searchsorted(dates, days), np.zeros(days.size, int), dates)
    first, last = dates[0].astype(date), dates[-1].astype(date)

    def centred(point: str, market: str, prices: np.ndarray, required: bool):
        def mid(shape: str) -> float | None:
            mark = select_mark(
                marks,
                iso=scenarios.iso,
                point=point,
                market=market,
                shape=shape,
                first=first,
                last=last,
            )
            return None if mark is None else mark.mid_usd_per_mwh

        peak_mask = shape_mask("5x16", scenarios.iso, stamps, minutes)
        peak, off, flat = mid("5x16"), mid("wrap"), mid("7x24")
        if off is None and flat is not None:
            if peak is None or not peak_mask.any():
                off = flat
            elif (~peak_mask).any():
                n_all, n_peak = peak_mask.size, int(peak_mask.sum())
                off = (flat * n_all - peak * n_peak) / (n_all - n_peak)
        need = [
            name
            for name, value, used in (
                ("5x16", peak, peak_mask.any()),
                ("wrap or 7x24", off, (~peak_mask).any()),
            )
            if used and value is None
        ]
        if need:
            if not required:
                return None
            raise ConfigError(
                f"market-consistent scenarios need {' and '.join(need)} marks for {point} "
                f"{market} covering {first}..{last}; add them to the marks file or set "
                "[scenarios] market_consistent = false"
            )
        peak = off if peak is None else peak
        off = peak if off is None else off
        months = np.unique(dates.astype("datetime64[M]"))
        curve = pl.DataFrame(
            {
                "month": [str(m) for m in months],
                "peak_usd_per_mwh": [peak] * months.size,
                "offpeak_usd_per_mwh": [off] * months.size,
            }
        )
        out = np.array(prices, dtype=float, copy=True)
        centre_on_forward(out, scenarios.probabilities, grid, scenarios.iso, curve)
        return out

    own = centred(scenarios.node, scenarios.market, scenarios.prices_usd_per_mwh, True)
    joint = dict(getattr(scenarios, "joint", {}) or {})
    shifted = []
    for (node, market), prices in joint.items():
        moved = centred(node, market, prices, False)
        if moved is not None:
            joint[(node, market)] = moved
            shifted.append(f"{node} {market}")
    changes = {"prices_usd_per_mwh": own}
    if joint:
        changes["joint"] = joint
    points = ", ".join([f"{scenarios.node} {scenarios.market}", *shifted])
    sentence = (
        f"Market-consistent valuation: scenario prices at {points} are scaled so their mean "
        f"matches the forward mids over {first}..{last} (5x16 and off-peak separately); "
        "the model's own view is set aside."
    )
    return dataclasses.replace(scenarios, **changes), sentence
