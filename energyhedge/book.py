"""The hedge book: positions already held, their mark-to-market, delta and collateral at risk.

A book file is a CSV the trader maintains (``models/book/*.csv``), one row per trade (lines
starting with ``#`` are comments)::

    trade_id,trade_date,counterparty,kind,iso,settlement_point,market,shape,delivery_start,delivery_end,mw,price_usd_per_mwh,strike_usd_per_mwh,premium_usd_per_mwh
    B-001,2023-07-20,Broker A,block,ercot,LZ_HOUSTON,rtm,5x16,2023-08-01,2023-08-31,25,140.00,,

- ``kind``: ``block`` (``price_usd_per_mwh``: its fixed price), ``call``, ``scarcity`` or
  ``heat_rate_call`` (``premium_usd_per_mwh`` paid per MWh of notional, ``strike_usd_per_mwh``
  for calls and scarcity; optional columns ``payout_cap_usd_per_mwh``,
  ``heat_rate_mmbtu_per_mwh``, ``vom_usd_per_mwh``, ``gas_usd_per_mmbtu``).
- ``mw``: signed MW of notional (negative: sold; options may only be held long).
- ``delivery_start``/``delivery_end``: ISO-local days, both inclusive; ``shape`` as in the
  catalogue (``5x16``, ``2x16``, ``7x8``, ``7x24``).
- Every $/MWh figure is checked against the ISO's band (``energyhedge.units``); names against
  ``safe_text``; a trade id may appear once.

In a decision (``assemble.build_problem(book=...)``) each trade is a FIXED product (bounds
min = max = its MW, premium 0 because it was paid, payoff at its own traded price) with
``meta["book"] = True``; a catalogue product with the same terms (kind, point, market, shape,
strike, delivery days: its tenor, or the horizon's days) trades relative to the held MW:
its bounds apply to book + new trades, so an option held may be sold back up to the held MW.

Mark-to-market (``mark_to_market``), per trade over its remaining delivery hours (local days
after ``as_of``): ``mw x (mark - traded price) x hours`` for a block and ``mw x (mark premium -
premium paid) x hours`` for an option, at the mark's mid and at the exit side (a long exits at
the bid, a short at the ask). Where no forward mark covers the trade it is marked to model:
the scenarios' probability-weighted payoff over the hours inside the horizon only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge import user_csv
from energyhedge.data.calendar import ISO_TZ, SHAPES, day_start_utc, local_fields, shape_mask
from energyhedge.data.schema import ENERGY_MARKETS
from energyhedge.errors import DataError
from energyhedge.forwards import select_mark
from energyhedge.instruments import KINDS, ProductSpec, interval_payoff
from energyhedge.model.measures import var_cvar, weighted_quantile
from energyhedge.safe_text import name_problem, shown
from energyhedge.units import PREMIUM, PRICE, REMEDY, heat_rate_problem, price_problem

COLUMNS = (
    "trade_id",
    "trade_date",
    "counterparty",
    "kind",
    "iso",
    "settlement_point",
    "market",
    "shape",
    "delivery_start",
    "delivery_end",
    "mw",
    "price_usd_per_mwh",
    "strike_usd_per_mwh",
    "premium_usd_per_mwh",
)
OPTIONAL_COLUMNS = (
    "payout_cap_usd_per_mwh",
    "heat_rate_mmbtu_per_mwh",
    "vom_usd_per_mwh",
    "gas_usd_per_mmbtu",
)
MAX_BOOK_ROWS = 10_000
"""Most trades one book file may hold."""
MAX_TRADE_MW = 100_000.0
"""Largest |MW| of one trade."""
BOOK_PREFIX = "book:"
"""Product names of book trades in a problem: ``book:<trade_id>``."""
MARGIN_PERIOD_DAYS = 2
"""Margin period of risk of the collateral estimate (days)."""
COLLATERAL_ALPHA = 0.95
"""Tail level of the collateral-at-risk CVaR."""


@dataclass(frozen=True)
class BookTrade:
    """One position held: terms as traded (``mw`` signed, $/MWh figures as in the file)."""

    trade_id: str
    trade_date: date
    counterparty: str
    kind: str
    iso: str
    settlement_point: str
    market: str
    shape: str
    delivery_start: date
    delivery_end: date
    mw: float
    price_usd_per_mwh: float | None = None
    strike_usd_per_mwh: float | None = None
    premium_usd_per_mwh: float = 0.0
    payout_cap_usd_per_mwh: float | None = None
    heat_rate_mmbtu_per_mwh: float | None = None
    vom_usd_per_mwh: float | None = None
    gas_usd_per_mmbtu: float | None = None

    @property
    def product_name(self) -> str:
        return BOOK_PREFIX + self.trade_id

    def spec(self) -> ProductSpec:
        """The trade as a fixed product: bounds at its MW, its own price, premium 0 (paid)."""
        return ProductSpec(
            name=self.product_name,
            kind=self.kind,
            iso=self.iso,
            node=self.settlement_point,
            market=self.market,
            shape=self.shape,
            start=self.delivery_start,
            end=self.delivery_end,
            min_mw=self.mw,
            max_mw=self.mw,
            fixed_price_usd_per_mwh=self.price_usd_per_mwh,
            strike_usd_per_mwh=self.strike_usd_per_mwh,
            payout_cap_usd_per_mwh=self.payout_cap_usd_per_mwh,
            heat_rate_mmbtu_per_mwh=self.heat_rate_mmbtu_per_mwh,
            vom_usd_per_mwh=self.vom_usd_per_mwh,
            gas_usd_per_mmbtu=self.gas_usd_per_mmbtu,
            premium_usd_per_mwh=None if self.kind == "block" else 0.0,
        )

    def terms(self) -> tuple:
        """What a catalogue product must share to unwind this trade (``matching_terms``)."""
        return _terms(self.spec(), self.delivery_start, self.delivery_end)

    def record(self) -> dict:
        """JSON-ready terms."""
        return {
            "trade_id": self.trade_id,
            "trade_date": self.trade_date.isoformat(),
            "counterparty": self.counterparty,
            "kind": self.kind,
            "iso": self.iso,
            "settlement_point": self.settlement_point,
            "market": self.market,
            "shape": self.shape,
            "delivery_start": self.delivery_start.isoformat(),
            "delivery_end": self.delivery_end.isoformat(),
            "mw": self.mw,
            "price_usd_per_mwh": self.price_usd_per_mwh,
            "strike_usd_per_mwh": self.strike_usd_per_mwh,
            "premium_usd_per_mwh": self.premium_usd_per_mwh,
        }


@dataclass(frozen=True)
class Book:
    """The trades of one book file."""

    path: Path
    trades: tuple[BookTrade, ...]

    def __iter__(self):
        return iter(self.trades)

    def __len__(self) -> int:
        return len(self.trades)

    def on(self, as_of: date) -> Book:
        """The book as held on ``as_of``: trades dated on or before it."""
        return Book(self.path, tuple(t for t in self.trades if t.trade_date <= as_of))


def load_book(path: str | Path, *, allow_unusual_values: bool = False) -> Book:
    """Read and validate a book CSV; DataError ``file:line: column c: reason`` on bad input."""
    return parse_book(
        user_csv.read_text(path, "book"), path, allow_unusual_values=allow_unusual_values
    )


def parse_book(
    text: str, path: str | Path = "<book>", *, allow_unusual_values: bool = False
) -> Book:
    """``load_book`` on the file's text (``path`` names it in errors)."""
    trades: list[BookTrade] = []
    seen: dict[str, int] = {}
    for number, row in user_csv.rows(
        text,
        path,
        columns=COLUMNS,
        optional=OPTIONAL_COLUMNS,
        max_rows=MAX_BOOK_ROWS,
        what="trades",
    ):
        trade = _trade(row, f"{path}:{number}", allow_unusual_values)
        first = seen.setdefault(trade.trade_id, number)
        if first != number:
            raise DataError(
                f"{path}:{number}: column trade_id: {trade.trade_id!r} already given on line "
                f"{first}; give each trade its own id"
            )
        trades.append(trade)
    return Book(path=Path(path), trades=tuple(trades))


def _trade(row: dict[str, str], where: str, allow: bool) -> BookTrade:
    def bad(column: str, reason: str) -> DataError:
        return DataError(f"{where}: column {column}: {reason}")

    def choice(column: str, options: tuple[str, ...]) -> str:
        value = row[column].lower()
        if value not in options:
            raise bad(column, f"{shown(row[column])} is not one of {', '.join(options)}")
        return value

    def day(column: str) -> date:
        try:
            return date.fromisoformat(row[column])
        except ValueError:
            raise bad(column, f"{shown(row[column])} is not a date YYYY-MM-DD") from None

    def number(column: str, unit: str | None = None) -> float | None:
        text = row.get(column) or ""
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise bad(column, f"{shown(text)} is not a number") from None
        if not np.isfinite(value):
            raise bad(column, f"{shown(text)} is not a finite number")
        problem = None if allow or unit is None else price_problem(value, unit, iso)
        if problem:
            raise bad(column, f"{problem}; {REMEDY.replace('fix the unit', 'fix the book')}")
        return value

    def name(column: str) -> str:
        value = row[column]
        if problem := name_problem(value):
            raise bad(column, f"{shown(value)}: {problem}")
        return value

    trade_id = name("trade_id")
    counterparty = name("counterparty")
    kind = choice("kind", KINDS)
    iso = choice("iso", tuple(ISO_TZ))
    point = name("settlement_point")
    market = choice("market", ENERGY_MARKETS)
    shape = choice("shape", SHAPES)
    first, last = day("delivery_start"), day("delivery_end")
    if last < first:
        raise bad("delivery_end", f"{last} is before delivery_start {first}")
    traded = day("trade_date")
    mw = number("mw")
    if mw is None or mw == 0.0 or abs(mw) > MAX_TRADE_MW:
        raise bad("mw", f"need a non-zero MW within +-{MAX_TRADE_MW:,.0f}, got {shown(row['mw'])}")
    if kind != "block" and mw < 0:
        raise bad("mw", f"a {kind} is held long only (options bought); got {mw:g}")
    price = number("price_usd_per_mwh", PRICE)
    strike = number("strike_usd_per_mwh", PRICE)
    premium = number("premium_usd_per_mwh", PREMIUM)
    if kind == "block":
        if price is None:
            raise bad("price_usd_per_mwh", "a block needs its fixed price ($/MWh)")
        for column in ("strike_usd_per_mwh", "premium_usd_per_mwh", *OPTIONAL_COLUMNS):
            if row.get(column):
                raise bad(column, "does not apply to a block; leave the cell empty")
    else:
        if price is not None:
            raise bad("price_usd_per_mwh", f"a {kind} has no fixed price; leave the cell empty")
        if premium is None:
            raise bad("premium_usd_per_mwh", f"give the premium paid for the {kind} ($/MWh)")
        if kind in ("call", "scarcity") and strike is None:
            raise bad("strike_usd_per_mwh", f"a {kind} needs its strike ($/MWh)")
    cap = number("payout_cap_usd_per_mwh", PRICE)
    if cap is not None and (kind != "scarcity" or cap <= strike):
        raise bad("payout_cap_usd_per_mwh", "only a scarcity option has a cap above its strike")
    heat_rate = number("heat_rate_mmbtu_per_mwh")
    if kind != "heat_rate_call":
        for column in OPTIONAL_COLUMNS[1:]:
            if row.get(column):
                raise bad(column, f"does not apply to a {kind}; leave the cell empty")
    if kind == "heat_rate_call":
        if heat_rate is None or row.get("gas_usd_per_mmbtu", "") == "":
            raise bad(
                "heat_rate_mmbtu_per_mwh",
                "a heat_rate_call needs heat_rate_mmbtu_per_mwh and gas_usd_per_mmbtu",
            )
        if not allow and (problem := heat_rate_problem(heat_rate)):
            raise bad("heat_rate_mmbtu_per_mwh", problem)
    return BookTrade(
        trade_id=trade_id,
        trade_date=traded,
        counterparty=counterparty,
        kind=kind,
        iso=iso,
        settlement_point=point,
        market=market,
        shape=shape,
        delivery_start=first,
        delivery_end=last,
        mw=mw,
        price_usd_per_mwh=price,
        strike_usd_per_mwh=strike,
        premium_usd_per_mwh=premium or 0.0,
        payout_cap_usd_per_mwh=cap,
        heat_rate_mmbtu_per_mwh=heat_rate,
        vom_usd_per_mwh=number("vom_usd_per_mwh", PREMIUM)
        or (0.0 if kind == "heat_rate_call" else None),
        gas_usd_per_mmbtu=number("gas_usd_per_mmbtu"),
    )


def matching_terms(spec: ProductSpec, horizon_first: date, horizon_last: date) -> tuple:
    """A catalogue product's terms in the form of ``BookTrade.terms`` (a horizon tenor is the
    horizon's local days)."""
    return _terms(spec, spec.start or horizon_first, spec.end or horizon_last)


def _terms(spec: ProductSpec, first: date, last: date) -> tuple:
    """Kind, settlement point, shape, payoff terms (not a block's price) and delivery days."""
    payoff = (
        ()
        if spec.kind == "block"
        else (
            spec.strike_usd_per_mwh,
            spec.payout_cap_usd_per_mwh,
            spec.heat_rate_mmbtu_per_mwh,
            spec.vom_usd_per_mwh,
            spec.gas_usd_per_mmbtu,
        )
    )
    return (spec.kind, spec.iso, spec.node, spec.market, spec.shape, *payoff, first, last)


def held_trades(
    book: Book | None, spec: ProductSpec, horizon_first: date, horizon_last: date
) -> tuple[BookTrade, ...]:
    """The trades of ``book`` in the catalogue product ``spec``'s exact terms."""
    if book is None:
        return ()
    terms = matching_terms(spec, horizon_first, horizon_last)
    return tuple(t for t in book if t.terms() == terms)


def is_book(product) -> bool:
    """True for a product that is a position of the book (fixed), not a tradable one."""
    return bool(product.meta.get("book"))


def delivery_grid(iso: str, shape: str, first: date, last: date) -> np.ndarray:
    """Hourly UTC starts [H] (datetime64[us]) of ``shape`` over local days ``first..last``."""
    if last < first:
        return np.zeros(0, dtype="datetime64[us]")
    begin = day_start_utc(first, iso).replace(tzinfo=None)
    end = day_start_utc(last + timedelta(days=1), iso).replace(tzinfo=None)
    grid = np.arange(np.datetime64(begin, "us"), np.datetime64(end, "us"), np.timedelta64(1, "h"))
    return grid[shape_mask(shape, iso, grid, 60)]


@dataclass(frozen=True)
class PositionMark:
    """One trade marked to market on the run's as-of date ($, $/MWh, h).

    ``basis``: ``"mark"`` (a forward mark covers its remaining delivery), ``"model"`` (marked
    to model: the scenarios' probability-weighted payoff over its hours inside the horizon
    only) or ``"expired"`` (no delivery left). ``traded_usd_per_mwh`` is a block's fixed price
    or an option's premium paid; ``mark_*`` the same at tonight's mark (mid, exit side: a long
    exits at the bid, a short at the ask). ``settled_pnl_usd`` is the realised P&L of the
    delivery hours already past that the price history covers (``settled_hours`` of them; None
    when it covers none).
    """

    trade: BookTrade
    remaining_hours: float
    basis: str
    mark_id: str | None
    mark_mid_usd_per_mwh: float | None
    mark_exit_usd_per_mwh: float | None
    mtm_mid_usd: float
    mtm_exit_usd: float
    past_hours: float
    settled_hours: float
    settled_pnl_usd: float | None

    @property
    def traded_usd_per_mwh(self) -> float:
        t = self.trade
        return t.price_usd_per_mwh if t.kind == "block" else t.premium_usd_per_mwh

    def record(self) -> dict:
        return {
            **self.trade.record(),
            "remaining_hours": self.remaining_hours,
            "basis": self.basis,
            "mark_id": self.mark_id,
            "traded_usd_per_mwh": self.traded_usd_per_mwh,
            "mark_mid_usd_per_mwh": self.mark_mid_usd_per_mwh,
            "mark_exit_usd_per_mwh": self.mark_exit_usd_per_mwh,
            "mtm_mid_usd": self.mtm_mid_usd,
            "mtm_exit_usd": self.mtm_exit_usd,
            "past_hours": self.past_hours,
            "settled_hours": self.settled_hours,
            "settled_pnl_usd": self.settled_pnl_usd,
        }


@dataclass(frozen=True)
class DeltaCell:
    """Open notional of the book in one month x shape x settlement point: MWh (MW x hours of
    remaining delivery), the mean MW over the cell's ``hours`` and the mid MTM allocated pro
    rata to hours ($). Options count at their notional MW (not delta-adjusted)."""

    month: str
    shape: str
    settlement_point: str
    mwh: float
    hours: float
    mtm_mid_usd: float

    @property
    def mw(self) -> float:
        return self.mwh / self.hours if self.hours else 0.0

    def record(self) -> dict:
        return {
            "month": self.month,
            "shape": self.shape,
            "settlement_point": self.settlement_point,
            "mw": self.mw,
            "mwh": self.mwh,
            "hours": self.hours,
            "mtm_mid_usd": self.mtm_mid_usd,
        }


@dataclass(frozen=True)
class Collateral:
    """Collateral at risk with one counterparty, an estimate: CVaR at ``alpha`` of the loss of
    MTM over ``days`` (``-sum_trades mw x remaining hours x change of the marked shape's daily
    mean price over ``days``), over ``observations`` historical changes ($)."""

    counterparty: str
    cvar_usd: float | None
    days: int
    alpha: float
    observations: int

    def record(self) -> dict:
        return {
            "counterparty": self.counterparty,
            "cvar_usd": self.cvar_usd,
            "margin_period_days": self.days,
            "alpha": self.alpha,
            "observations": self.observations,
            "label": "estimate",
        }


@dataclass(frozen=True)
class BookView:
    """The book on the run's as-of date: marks, delta grid, horizon P&L and collateral."""

    as_of: date
    marks: tuple[PositionMark, ...]
    delta: tuple[DeltaCell, ...]
    pnl_usd: np.ndarray
    """The book's cash over the horizon in each out-of-sample scenario ($, [S]): sum of
    MW x payoff at the traded prices (premiums were paid before)."""
    probabilities: np.ndarray
    alpha: float
    collateral: tuple[Collateral, ...]

    @property
    def mtm_mid_usd(self) -> float:
        return float(sum(m.mtm_mid_usd for m in self.marks))

    @property
    def mtm_exit_usd(self) -> float:
        return float(sum(m.mtm_exit_usd for m in self.marks))

    @property
    def settled_pnl_usd(self) -> float:
        return float(sum(m.settled_pnl_usd or 0.0 for m in self.marks))

    def pnl_summary(self) -> dict:
        """Expected P&L, its 5th and 95th percentiles and the CVaR of the loss ($)."""
        p, pnl = self.probabilities, self.pnl_usd
        return {
            "expected_usd": float(p @ pnl),
            "p5_usd": weighted_quantile(pnl, p, 0.05),
            "p95_usd": weighted_quantile(pnl, p, 0.95),
            "loss_cvar_usd": var_cvar(-pnl, p, self.alpha)[1],
            "alpha": self.alpha,
            "basis": "out of sample, over the horizon",
        }


def mark_to_market(
    book: Book,
    marks,
    as_of: date,
    *,
    model_products: dict | None = None,
    history: pl.DataFrame | None = None,
) -> tuple[PositionMark, ...]:
    """Every trade of ``book`` marked on ``as_of`` (module docstring).

    Parameters
    ----------
    marks : sequence of ``forwards.Mark`` or None
    model_products : dict, optional
        ``{product name: Product}`` of the book's products in the decision's problem: the
        scenarios' expected payoff marks a trade no forward mark covers.
    history : pl.DataFrame, optional
        Canonical realised prices: the settled P&L of delivery hours up to ``as_of``.
    """
    return tuple(
        _position_mark(t, marks, as_of, (model_products or {}).get(t.product_name), history)
        for t in book
    )


def _position_mark(
    trade: BookTrade, marks, as_of: date, model, history: pl.DataFrame | None
) -> PositionMark:
    first = max(trade.delivery_start, as_of + timedelta(days=1))
    hours = float(delivery_grid(trade.iso, trade.shape, first, trade.delivery_end).size)
    paid = trade.price_usd_per_mwh if trade.kind == "block" else trade.premium_usd_per_mwh
    mark = None
    if marks is not None and hours:
        mark = select_mark(
            marks,
            iso=trade.iso,
            point=trade.settlement_point,
            market=trade.market,
            shape=trade.shape,
            first=first,
            last=trade.delivery_end,
            kind=trade.kind,
            strike=trade.strike_usd_per_mwh,
        )
    mark_id = mid = exit_price = None
    if not hours:
        basis, mtm_mid, mtm_exit = "expired", 0.0, 0.0
    elif mark is not None:
        basis, mark_id, mid = "mark", mark.mark_id, mark.mid_usd_per_mwh
        exit_price = mark.bid_usd_per_mwh if trade.mw > 0 else mark.ask_usd_per_mwh
        mtm_mid = trade.mw * (mid - paid) * hours
        mtm_exit = trade.mw * (exit_price - paid) * hours
    elif model is not None and model.notional_hours:
        basis, inside = "model", float(model.notional_hours)
        expected = model.fair_premium_usd_per_mw / inside  # per MWh, vs the traded price
        mid = exit_price = expected + (paid if trade.kind == "block" else 0.0)
        mtm_mid = mtm_exit = trade.mw * (mid - paid) * inside
    else:
        basis, mtm_mid, mtm_exit = "model", 0.0, 0.0
    past, settled_hours, settled = _settled(trade, as_of, history)
    return PositionMark(
        trade=trade,
        remaining_hours=hours,
        basis=basis,
        mark_id=mark_id,
        mark_mid_usd_per_mwh=mid,
        mark_exit_usd_per_mwh=exit_price,
        mtm_mid_usd=mtm_mid + 0.0,
        mtm_exit_usd=mtm_exit + 0.0,
        past_hours=past,
        settled_hours=settled_hours,
        settled_pnl_usd=settled,
    )


def _settled(
    trade: BookTrade, as_of: date, history: pl.DataFrame | None
) -> tuple[float, float, float | None]:
    """(past delivery hours, hours the history prices, realised P&L $ or None)."""
    grid = delivery_grid(
        trade.iso, trade.shape, trade.delivery_start, min(trade.delivery_end, as_of)
    )
    if grid.size == 0 or history is None or history.is_empty():
        return float(grid.size), 0.0, None
    hourly = _hourly_prices(history, trade.iso, trade.settlement_point, trade.market)
    if hourly is None:
        return float(grid.size), 0.0, None
    stamps, prices = hourly
    idx = np.searchsorted(stamps, grid)
    found = idx < stamps.size
    found[found] = stamps[idx[found]] == grid[found]
    if not found.any():
        return float(grid.size), 0.0, None
    realised = prices[idx[found]]
    payoff = interval_payoff(trade.spec(), realised)
    paid = 0.0 if trade.kind == "block" else trade.premium_usd_per_mwh
    return float(grid.size), float(found.sum()), float(trade.mw * (payoff - paid).sum()) + 0.0


def _hourly_prices(history: pl.DataFrame, iso: str, point: str, market: str):
    """Hour-start UTC stamps (datetime64[us], increasing) and mean prices of the history at a
    point, or None when it has none."""
    rows = history.filter(
        (pl.col("iso") == iso) & (pl.col("node") == point) & (pl.col("market") == market)
    )
    if rows.is_empty():
        return None
    hourly = (
        rows.with_columns(pl.col("interval_start_utc").dt.replace_time_zone(None).dt.truncate("1h"))
        .group_by("interval_start_utc")
        .agg(pl.col("price_usd_per_mwh").mean())
        .sort("interval_start_utc")
    )
    stamps = hourly["interval_start_utc"].to_numpy().astype("datetime64[us]")
    return stamps, hourly["price_usd_per_mwh"].to_numpy().astype(float)


def delta_grid(book: Book, as_of: date, marks: tuple[PositionMark, ...]) -> tuple[DeltaCell, ...]:
    """Open MWh of the book by local month x shape x settlement point (``DeltaCell``), over the
    remaining delivery hours after ``as_of``; sums to sum(mw x remaining hours)."""
    mwh: dict[tuple, float] = defaultdict(float)
    mtm: dict[tuple, float] = defaultdict(float)
    for trade, marked in zip(book, marks, strict=True):
        first = max(trade.delivery_start, as_of + timedelta(days=1))
        grid = delivery_grid(trade.iso, trade.shape, first, trade.delivery_end)
        months = local_fields(grid, trade.iso)["date"].astype("datetime64[M]").astype(str)
        names, counts = np.unique(months, return_counts=True)
        for month, count in zip(names, counts, strict=True):
            key = (str(month), trade.shape, trade.settlement_point, trade.iso)
            mwh[key] += trade.mw * float(count)
            mtm[key] += marked.mtm_mid_usd * float(count) / grid.size
    cells = []
    for key in sorted(mwh):
        month, shape, point, iso = key
        year, number = map(int, month.split("-"))
        start = max(date(year, number, 1), as_of + timedelta(days=1))
        end = (date(year + number // 12, number % 12 + 1, 1)) - timedelta(days=1)
        hours = float(delivery_grid(iso, shape, start, end).size)
        cells.append(DeltaCell(month, shape, point, mwh[key] + 0.0, hours, mtm[key] + 0.0))
    return tuple(cells)


def collateral_at_risk(
    book: Book,
    marks: tuple[PositionMark, ...],
    history: pl.DataFrame | None,
    *,
    days: int = MARGIN_PERIOD_DAYS,
    alpha: float = COLLATERAL_ALPHA,
) -> tuple[Collateral, ...]:
    """``Collateral`` per counterparty (an estimate): historical ``days``-day changes of each
    open trade's shape mean price at its point, on the dates every trade of the counterparty
    has, times its MW x remaining hours; CVaR at ``alpha`` of the loss."""
    exposure: dict[str, list[tuple[float, dict]]] = defaultdict(list)
    for trade, marked in zip(book, marks, strict=True):
        if marked.remaining_hours <= 0:
            continue
        changes = _daily_changes(history, trade, days)
        exposure[trade.counterparty].append((trade.mw * marked.remaining_hours, changes))
    out = []
    for counterparty in sorted(exposure):
        legs = exposure[counterparty]
        dates = set.intersection(*(set(changes) for _, changes in legs)) if legs else set()
        if not dates:
            out.append(Collateral(counterparty, None, days, alpha, 0))
            continue
        order = sorted(dates)
        change = sum(np.array([c[d] for d in order]) * mwh for mwh, c in legs)
        loss = -np.asarray(change, dtype=float)
        probs = np.full(loss.size, 1.0 / loss.size)
        out.append(
            Collateral(counterparty, var_cvar(loss, probs, alpha)[1], days, alpha, loss.size)
        )
    return tuple(out)


def _daily_changes(history: pl.DataFrame | None, trade: BookTrade, days: int) -> dict:
    """{local date: shape mean price on date + ``days`` minus on date} ($/MWh)."""
    if history is None or history.is_empty():
        return {}
    hourly = _hourly_prices(history, trade.iso, trade.settlement_point, trade.market)
    if hourly is None:
        return {}
    stamps, prices = hourly
    inside = shape_mask(trade.shape, trade.iso, stamps, 60)
    if not inside.any():
        return {}
    local = local_fields(stamps[inside], trade.iso)["date"]
    frame = (
        pl.DataFrame({"day": local, "price": prices[inside]})
        .group_by("day")
        .agg(pl.col("price").mean())
    )
    mean = dict(zip(frame["day"].to_list(), frame["price"].to_list(), strict=True))
    step = timedelta(days=days)
    return {d: mean[d + step] - mean[d] for d in mean if d + step in mean}


def value_book(
    book: Book,
    problem,
    fresh_problem,
    *,
    marks,
    as_of: date,
    history: pl.DataFrame | None,
    alpha: float,
) -> BookView:
    """The ``BookView`` of a decision: marks on ``as_of``, model marks and the in-sample
    expected payoffs from ``problem``, the horizon P&L distribution from ``fresh_problem``
    (its book products' cash at their traded prices)."""
    model = {p.name: p for p in problem.products if is_book(p)}
    marked = mark_to_market(book, marks, as_of, model_products=model, history=history)
    held = [(p, float(p.min_mw)) for p in fresh_problem.products if is_book(p)]
    pnl = sum((mw * p.payoff_usd_per_mw for p, mw in held), np.zeros(fresh_problem.n_scenarios))
    return BookView(
        as_of=as_of,
        marks=marked,
        delta=delta_grid(book, as_of, marked),
        pnl_usd=np.asarray(pnl, dtype=float),
        probabilities=np.asarray(fresh_problem.probabilities, dtype=float),
        alpha=alpha,
        collateral=collateral_at_risk(book, marked, history),
    )


@dataclass(frozen=True)
class MtmChange:
    """The book's mid MTM against the previous run's, split ($): ``price_moves_usd`` on trades
    held in both runs and still delivering, ``new_trades_usd`` the MTM of trades new to the
    book, ``expiries_usd`` minus the previous MTM of trades that expired or left the book."""

    price_moves_usd: float
    new_trades_usd: float
    expiries_usd: float

    @property
    def total_usd(self) -> float:
        return self.price_moves_usd + self.new_trades_usd + self.expiries_usd


def mtm_change(before: dict[str, float], after: dict[str, float], expired: set[str]) -> MtmChange:
    """Split the change of per-trade mid MTM ``before`` -> ``after`` ({trade id: $}); trades in
    ``expired`` have no delivery left (their MTM is 0 now). The parts sum to
    ``sum(after) - sum(before)``."""
    live = (before.keys() & after.keys()) - expired
    gone = before.keys() - live
    return MtmChange(
        price_moves_usd=float(sum(after[k] - before[k] for k in live)),
        new_trades_usd=float(sum(after[k] for k in after.keys() - before.keys())),
        expiries_usd=float(sum(after.get(k, 0.0) - before[k] for k in gone)),
    )
