"""Hedge products from a contract catalogue (``models/contracts/*.toml``) and their payoffs.

Payoff per MWh per MW of notional in an interval t inside the product's shape and tenor, on the
settlement price P_t ($/MWh):

===============  ==========================================================================
block            P_t - F (F: the fixed price; a negative quantity is a sale)
call             max(P_t - K, 0)
scarcity         min(max(P_t - K, 0), cap - K) (uncapped when no payout cap is given)
heat_rate_call   max(P_t - (HR x G_d + VOM), 0), G_d the gas price of the interval's local day
===============  ==========================================================================

Outside the shape or tenor the payoff is zero. DR/AS availability and coincident-peak tags are
campus properties (``energyhedge.campus``), not catalogue products.

Catalogue file::

    [catalogue]            # defaults for every product
    iso = "ercot"
    node = "LZ_HOUSTON"
    market = "rtm"

    [[product]]
    name = "scarcity_1000_7x24"
    kind = "scarcity"      # block | call | scarcity | heat_rate_call
    shape = "7x24"         # 5x16 | 2x16 | 7x8 | 7x24
    tenor = "horizon"      # or "monthly" / "quarterly" (one product per calendar month or
                           #   quarter of the horizon, named NAME_2026-08 / NAME_2026-Q3), or
                           #   start = 2026-08-01 and end = 2026-08-31 (local dates, inclusive)
    strike_usd_per_mwh = 1000.0
    max_mw = 70.0
    loading = 0.10         # risk loading on the fair premium
    premium_usd_per_mw = 1714.29   # optional quote (or premium_usd_per_mwh)
    lot_mw = 1.0           # optional: traded in multiples of this (MW; 0: any size)
    min_trade_mw = 1.0     # optional: smallest trade (MW); smaller trades are not recommended
    pricing = "model"      # optional: with forward marks configured, price this product from
                           #   the scenarios when no mark covers it (indicative, not executable)

``lot_mw``, ``min_trade_mw`` and ``pricing`` may also be set in ``[catalogue]`` for every
product.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge.config import Table, load_toml
from energyhedge.data.calendar import ISO_TZ, SHAPES, local_fields, shape_mask
from energyhedge.data.schema import ENERGY_MARKETS
from energyhedge.errors import ConfigError, DataError
from energyhedge.units import (
    PREMIUM,
    PRICE,
    check_quote,
    checked,
    fraction_problem,
    heat_rate_problem,
    price_problem,
)

KINDS = ("block", "call", "scarcity", "heat_rate_call")


@dataclass(frozen=True)
class ProductSpec:
    """One catalogue product, before pricing on scenarios.

    Attributes
    ----------
    name, kind : str
        Catalogue id and one of ``KINDS``.
    iso, node, market : str
        Settlement point of the product (``market`` ``"rtm"`` or ``"dam"``).
    shape : str
        ``"5x16" | "2x16" | "7x8" | "7x24"``.
    start, end : date or None
        Tenor in local dates of the ISO, both inclusive; None means the scenario horizon.
    min_mw, max_mw : float
        Bounds of the quantity (MW notional); only blocks may go below zero (a sale).
    loading : float
        Risk loading: fair premium = expected payoff x (1 + loading). For a block without a
        fixed price, the price is the scenario forward x (1 + loading) instead.
    fixed_price_usd_per_mwh : float or None
        Block price F; None means the scenario forward (set by ``energyhedge.assemble``).
    strike_usd_per_mwh : float or None
        Call and scarcity strike K.
    payout_cap_usd_per_mwh : float or None
        Scarcity price cap: payoff at most ``cap - K`` per MWh.
    heat_rate_mmbtu_per_mwh, vom_usd_per_mwh, gas_usd_per_mmbtu : float or None
        Heat-rate call strike terms; ``gas_usd_per_mmbtu`` is the default gas price when no
        series or scenario array is given to the payoff.
    premium_usd_per_mw : float or None
        Quoted premium for 1 MW over the whole tenor ($/MW).
    premium_usd_per_mwh : float or None
        Quoted premium per MWh of notional in the shape ($/MWh).
    pricing : str or None
        ``"model"``: when forward marks are configured and none covers the product, price it
        from the scenarios (indicative, not executable) instead of leaving it out. None: marks
        only (model prices as before when no marks are configured).
    lot_mw : float
        Trade increment (MW); 0 means any size.
    min_trade_mw : float
        Smallest trade (MW); 0 means no minimum.
    every : str or None
        ``"month"`` or ``"quarter"``: a template that ``Catalogue.over_days`` turns into one
        product per calendar month or quarter of the horizon; None: one product.
    """

    name: str
    kind: str
    iso: str
    node: str
    market: str
    shape: str
    start: date | None
    end: date | None
    min_mw: float
    max_mw: float
    loading: float = 0.0
    fixed_price_usd_per_mwh: float | None = None
    strike_usd_per_mwh: float | None = None
    payout_cap_usd_per_mwh: float | None = None
    heat_rate_mmbtu_per_mwh: float | None = None
    vom_usd_per_mwh: float | None = None
    gas_usd_per_mmbtu: float | None = None
    premium_usd_per_mw: float | None = None
    premium_usd_per_mwh: float | None = None
    pricing: str | None = None
    lot_mw: float = 0.0
    min_trade_mw: float = 0.0
    every: str | None = None

    def meta(self) -> dict:
        """Display fields for trades tables."""
        strike = self.strike_usd_per_mwh
        if self.kind == "block":
            strike = self.fixed_price_usd_per_mwh
        elif self.kind == "heat_rate_call" and self.gas_usd_per_mmbtu is not None:
            strike = self.heat_rate_mmbtu_per_mwh * self.gas_usd_per_mmbtu + self.vom_usd_per_mwh
        return {
            "iso": self.iso,
            "node": self.node,
            "market": self.market,
            "shape": self.shape,
            "strike_usd_per_mwh": strike,
            "heat_rate_mmbtu_per_mwh": self.heat_rate_mmbtu_per_mwh,
            "start": self.start.isoformat() if self.start else "horizon",
            "end": self.end.isoformat() if self.end else "horizon",
            "lot_mw": self.lot_mw,
            "min_trade_mw": self.min_trade_mw,
        }


@dataclass(frozen=True)
class Catalogue:
    """The products of one contract file."""

    name: str
    path: Path
    products: tuple[ProductSpec, ...]

    def __iter__(self):
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)

    def over_days(self, first: date, last: date) -> Catalogue:
        """The catalogue for the local days ``first`` .. ``last``: each monthly or quarterly
        template becomes one dated product per calendar month or quarter those days touch."""
        products = []
        for spec in self.products:
            if spec.every is None:
                products.append(spec)
                continue
            for start, end, label in _periods(spec.every, first, last):
                products.append(
                    replace(spec, name=f"{spec.name}_{label}", start=start, end=end, every=None)
                )
        if len(products) > MAX_PRODUCTS:
            raise ConfigError(
                f"{self.path}: {len(products)} products over {first} .. {last} (monthly and "
                f"quarterly templates expanded), above the limit of {MAX_PRODUCTS}; use fewer "
                "templates or a shorter horizon"
            )
        return replace(self, products=tuple(products))

    def over_intervals(self, interval_start_utc: np.ndarray) -> Catalogue:
        """``over_days`` for the local days (in the templates' ISO) of the given intervals; a
        no-op without templates."""
        templates = [spec for spec in self.products if spec.every is not None]
        if not templates or len(interval_start_utc) == 0:
            return self
        days = local_fields(interval_start_utc, templates[0].iso)["date"]
        return self.over_days(days.min().item(), days.max().item())

    def with_quotes(
        self, quotes_usd_per_mwh: dict[str, float], *, allow_unusual_values: bool = False
    ) -> Catalogue:
        """The catalogue with broker quotes ($/MWh of notional) in place of the file's terms.

        For a block the quote is its fixed price F; for an option it is the premium per MWh of
        notional in the product's shape. ConfigError names an unknown product, or a quote
        outside the plausible band of ``energyhedge.units`` unless ``allow_unusual_values``.
        """
        names = [spec.name for spec in self.products]
        unknown = sorted(set(quotes_usd_per_mwh) - set(names))
        if unknown:
            raise ConfigError(
                f"{self.path}: no product {', '.join(unknown)} to quote; products are "
                f"{', '.join(names)}"
            )

        def quoted(spec: ProductSpec) -> ProductSpec:
            if spec.name not in quotes_usd_per_mwh:
                return spec
            value = float(quotes_usd_per_mwh[spec.name])
            kind = PRICE if spec.kind == "block" else PREMIUM
            check_quote(spec.name, value, kind, spec.iso, allow=allow_unusual_values)
            if spec.kind == "block":
                return replace(spec, fixed_price_usd_per_mwh=value)
            return replace(spec, premium_usd_per_mwh=value, premium_usd_per_mw=None)

        return replace(self, products=tuple(quoted(spec) for spec in self.products))


_LOT_KEYS = ("lot_mw", "min_trade_mw", "pricing")
"""Product keys that ``[catalogue]`` may also set for every product."""
PRICING = ("model",)
"""Values of a product's ``pricing`` key."""
_PRODUCT_KEYS = {
    "name",
    "kind",
    "iso",
    "node",
    "market",
    "shape",
    "tenor",
    "start",
    "end",
    "min_mw",
    "max_mw",
    "loading",
    "price_usd_per_mwh",
    "strike_usd_per_mwh",
    "payout_cap_usd_per_mwh",
    "heat_rate_mmbtu_per_mwh",
    "vom_usd_per_mwh",
    "gas_usd_per_mmbtu",
    "premium_usd_per_mw",
    "premium_usd_per_mwh",
    "description",
    *_LOT_KEYS,
}
_KIND_KEYS = {
    "block": {"price_usd_per_mwh"},
    "call": {"strike_usd_per_mwh"},
    "scarcity": {"strike_usd_per_mwh", "payout_cap_usd_per_mwh"},
    "heat_rate_call": {"heat_rate_mmbtu_per_mwh", "vom_usd_per_mwh", "gas_usd_per_mmbtu"},
}


MAX_PRODUCTS = 200
"""Most products one catalogue may list."""
MAX_PRODUCT_MW = 100_000.0
"""Largest quantity bound of a product (MW), far beyond any campus."""


def load_catalogue(path: str | Path, *, allow_unusual_values: bool = False) -> Catalogue:
    """Read a contract catalogue; ConfigError naming file, key and reason on bad input.

    Every $/MWh term is checked against the ISO's plausible band (``energyhedge.units``) unless
    ``allow_unusual_values`` (the run profile's ``[run] allow_unusual_values``).
    """
    root = load_toml(path)
    root.reject_unknown({"catalogue", "product"})
    head = root.table("catalogue", default={})
    head.reject_unknown({"name", "iso", "node", "market", "description", *_LOT_KEYS})
    head.get("description", str, "")
    defaults = {k: head.data[k] for k in ("iso", "node", "market", *_LOT_KEYS) if k in head.data}
    items = root.tables("product")
    if not items:
        raise root.error("product", "the catalogue lists no [[product]]")
    if len(items) > MAX_PRODUCTS:
        raise root.error("product", f"{len(items)} products; at most {MAX_PRODUCTS}")
    products = tuple(_product(item, defaults, allow_unusual_values) for item in items)
    names = [p.name for p in products]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise items[i].error("name", f"duplicate product name {name!r}")
    return Catalogue(head.name("name", Path(path).stem), Path(path), products)


def _product(t: Table, defaults: dict, allow: bool) -> ProductSpec:
    t.reject_unknown(_PRODUCT_KEYS)
    kind = t.choice("kind", KINDS)
    foreign = {k for k in t.data if k in set().union(*_KIND_KEYS.values())} - _KIND_KEYS[kind]
    if foreign:
        key = sorted(foreign)[0]
        raise t.error(key, f"does not apply to a {kind} product")
    merged = Table({**defaults, **t.data}, t.path, t.prefix)
    iso = merged.choice("iso", tuple(ISO_TZ))
    start, end, every = _tenor(t)
    min_default = -float("inf") if kind == "block" else 0.0
    bound = {"min_value": -MAX_PRODUCT_MW, "max_value": MAX_PRODUCT_MW}
    min_mw = t.number("min_mw", 0.0 if kind != "block" else min_default, **bound)
    max_mw = t.number("max_mw", float("inf"), **bound)
    if kind != "block" and min_mw < 0:
        raise t.error("min_mw", f"only blocks may be sold; a {kind} needs min_mw >= 0")
    if max_mw < min_mw:
        raise t.error("max_mw", f"must be >= min_mw ({min_mw:g}), got {max_mw:g}")
    if t.has("premium_usd_per_mw") and t.has("premium_usd_per_mwh"):
        raise t.error("premium_usd_per_mwh", "give the quote either per MW or per MWh, not both")
    t.get("description", str, "")
    lot_mw = merged.number("lot_mw", 0.0, min_value=0.0, max_value=MAX_PRODUCT_MW)
    min_trade_mw = merged.number("min_trade_mw", 0.0, min_value=0.0, max_value=MAX_PRODUCT_MW)
    spec = ProductSpec(
        name=t.name("name"),
        kind=kind,
        iso=iso,
        node=merged.name("node"),
        market=merged.choice("market", ENERGY_MARKETS),
        shape=t.choice("shape", SHAPES),
        start=start,
        end=end,
        every=every,
        min_mw=min_mw,
        max_mw=max_mw,
        loading=t.number("loading", 0.0, min_value=0.0),
        fixed_price_usd_per_mwh=t.number("price_usd_per_mwh", None),
        strike_usd_per_mwh=t.number("strike_usd_per_mwh", None),
        payout_cap_usd_per_mwh=t.number("payout_cap_usd_per_mwh", None),
        heat_rate_mmbtu_per_mwh=t.number("heat_rate_mmbtu_per_mwh", None, min_value=0.0),
        vom_usd_per_mwh=t.number("vom_usd_per_mwh", 0.0 if kind == "heat_rate_call" else None),
        gas_usd_per_mmbtu=t.number("gas_usd_per_mmbtu", None),
        premium_usd_per_mw=t.number("premium_usd_per_mw", None),
        premium_usd_per_mwh=t.number("premium_usd_per_mwh", None),
        pricing=merged.choice("pricing", PRICING) if merged.has("pricing") else None,
        lot_mw=lot_mw,
        min_trade_mw=min_trade_mw,
    )
    if kind in ("call", "scarcity") and spec.strike_usd_per_mwh is None:
        raise t.error("strike_usd_per_mwh", f"required key is missing for a {kind}")
    if kind == "heat_rate_call" and spec.heat_rate_mmbtu_per_mwh is None:
        raise t.error("heat_rate_mmbtu_per_mwh", "required key is missing for a heat_rate_call")
    cap = spec.payout_cap_usd_per_mwh
    if cap is not None and cap <= spec.strike_usd_per_mwh:
        raise t.error("payout_cap_usd_per_mwh", f"must exceed the strike, got {cap:g}")
    _check_units(t, spec, allow)
    return spec


_UNIT_KINDS = {
    "price_usd_per_mwh": ("fixed_price_usd_per_mwh", PRICE),
    "strike_usd_per_mwh": ("strike_usd_per_mwh", PRICE),
    "payout_cap_usd_per_mwh": ("payout_cap_usd_per_mwh", PRICE),
    "vom_usd_per_mwh": ("vom_usd_per_mwh", PREMIUM),
    "premium_usd_per_mwh": ("premium_usd_per_mwh", PREMIUM),
}


def _check_units(t: Table, spec: ProductSpec, allow: bool) -> None:
    """Refuse implausible terms (likely unit mistakes) unless ``allow``: ``energyhedge.units``."""
    for key, (field, kind) in _UNIT_KINDS.items():
        if t.has(key):
            checked(t, key, price_problem(getattr(spec, field), kind, spec.iso), allow=allow)
    if t.has("heat_rate_mmbtu_per_mwh"):
        problem = heat_rate_problem(spec.heat_rate_mmbtu_per_mwh)
        checked(t, "heat_rate_mmbtu_per_mwh", problem, allow=allow)
    if t.has("loading"):
        checked(t, "loading", fraction_problem(spec.loading), allow=allow)
    for key in ("premium_usd_per_mw", "gas_usd_per_mmbtu"):
        value = getattr(spec, key)
        if value is not None and value < 0:
            raise t.error(key, f"must not be negative, got {value:g}")


TENORS = {"horizon": None, "monthly": "month", "quarterly": "quarter"}
"""Values of a product's ``tenor`` key -> ``ProductSpec.every``."""


def _tenor(t: Table) -> tuple[date | None, date | None, str | None]:
    if t.has("tenor"):
        if t.has("start") or t.has("end"):
            raise t.error("tenor", "give either a tenor or start and end dates, not both")
        every = TENORS[t.choice("tenor", tuple(TENORS))]
        if every is not None and t.has("premium_usd_per_mw"):
            raise t.error(
                "premium_usd_per_mw",
                "a monthly or quarterly template is quoted per MWh (premium_usd_per_mwh), "
                "since its periods differ in hours",
            )
        return None, None, every
    if not (t.has("start") and t.has("end")):
        raise t.error(
            "tenor", "required: tenor = 'horizon', 'monthly' or 'quarterly', or start and end"
        )
    start, end = t.get("start", date), t.get("end", date)
    if end < start:
        raise t.error("end", f"must not be before start ({start}), got {end}")
    return start, end, None


def _periods(every: str, first: date, last: date) -> list[tuple[date, date, str]]:
    """Calendar months or quarters that the days ``first`` .. ``last`` touch, clipped to them:
    (start, end, label) with labels ``2026-08`` or ``2026-Q3``."""
    months = 1 if every == "month" else 3
    out = []
    year, month = first.year, first.month - (first.month - 1) % months
    while date(year, month, 1) <= last:
        next_year, next_month = (year, month + months) if month + months <= 12 else (year + 1, 1)
        end = date(next_year, next_month, 1) - timedelta(days=1)
        label = f"{year}-{month:02d}" if months == 1 else f"{year}-Q{(month - 1) // 3 + 1}"
        out.append((max(first, date(year, month, 1)), min(last, end), label))
        year, month = next_year, next_month
    return out


def product_mask(
    spec: ProductSpec, interval_start_utc: np.ndarray, interval_minutes: int
) -> np.ndarray:
    """Intervals [T] in the product's shape and tenor (tenor in the ISO's local dates)."""
    mask = shape_mask(spec.shape, spec.iso, interval_start_utc, interval_minutes)
    if spec.start is not None:
        days = local_fields(interval_start_utc, spec.iso)["date"]
        mask &= (days >= np.datetime64(spec.start, "D")) & (days <= np.datetime64(spec.end, "D"))
    return mask


def load_gas_series(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Daily gas prices from a CSV with columns ``date`` (YYYY-MM-DD) and ``gas_usd_per_mmbtu``.

    Returns
    -------
    days : ndarray [D] of datetime64[D], increasing
    gas_usd_per_mmbtu : ndarray [D]
    """
    try:
        frame = pl.read_csv(path, schema_overrides={"date": pl.Utf8})
        days = frame["date"].str.to_date("%Y-%m-%d").to_numpy().astype("datetime64[D]")
        gas = frame["gas_usd_per_mmbtu"].cast(pl.Float64).to_numpy()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(
            f"{path}: not a daily gas series (date, gas_usd_per_mmbtu): {exc}"
        ) from None
    if not np.isfinite(gas).all():
        raise DataError(f"{path}: gas_usd_per_mmbtu has missing or non-finite values")
    order = np.argsort(days)
    days, gas = days[order], gas[order]
    if np.any(days[1:] == days[:-1]):
        raise DataError(f"{path}: date {days[1:][days[1:] == days[:-1]][0]} appears twice")
    return days, gas


def gas_by_interval(
    gas_days: np.ndarray, gas_usd_per_mmbtu: np.ndarray, iso: str, interval_start_utc: np.ndarray
) -> np.ndarray:
    """Spread a daily gas price onto intervals by the interval's local date.

    Parameters
    ----------
    gas_days : ndarray [D] of datetime64[D]
        Gas days (local calendar dates), increasing.
    gas_usd_per_mmbtu : ndarray [D] or [S, D]
        Gas price per day, optionally per scenario ($/MMBtu).
    iso : str
    interval_start_utc : ndarray [T] of datetime64[us]

    Returns
    -------
    ndarray [T] or [S, T] ($/MMBtu)
    """
    days = np.asarray(gas_days, dtype="datetime64[D]")
    local_days = local_fields(interval_start_utc, iso)["date"]
    idx = np.searchsorted(days, local_days)
    found = idx < len(days)
    found[found] = days[idx[found]] == local_days[found]
    if not found.all():
        missing = local_days[~found][0]
        raise ConfigError(f"gas price series has no value for local day {missing}")
    return np.asarray(gas_usd_per_mmbtu, dtype=float)[..., idx]


def payoff_usd_per_mwh(
    spec: ProductSpec,
    prices_usd_per_mwh: np.ndarray,
    interval_start_utc: np.ndarray,
    interval_minutes: int,
    gas: float | np.ndarray | None = None,
) -> np.ndarray:
    """Payoff of 1 MW of notional per MWh in each scenario and interval.

    Parameters
    ----------
    spec : ProductSpec
        A block must have its fixed price set.
    prices_usd_per_mwh : ndarray [S, T]
        Settlement prices ($/MWh).
    interval_start_utc : ndarray [T] of datetime64[us]
    interval_minutes : int
    gas : float or ndarray [T] or [S, T], optional
        Gas price for heat-rate calls ($/MMBtu, see ``gas_by_interval``); defaults to the
        product's ``gas_usd_per_mmbtu``.

    Returns
    -------
    ndarray [S, T]
        $/MWh per MW of notional; zero outside the shape and tenor.
    """
    prices = np.asarray(prices_usd_per_mwh, dtype=float)
    mask = product_mask(spec, interval_start_utc, interval_minutes)
    return np.where(mask, interval_payoff(spec, prices, gas), 0.0)


def interval_payoff(
    spec: ProductSpec, prices_usd_per_mwh: np.ndarray, gas: float | np.ndarray | None = None
) -> np.ndarray:
    """The product's payoff formula on every given price, shape and tenor not applied.

    For callers that select the product's intervals themselves (``product_mask``); ``gas``
    must then be selected the same way. Same units as ``payoff_usd_per_mwh``.
    """
    return _PAYOFFS[spec.kind](spec, prices_usd_per_mwh, gas)


def _block(spec: ProductSpec, prices: np.ndarray, gas) -> np.ndarray:
    if spec.fixed_price_usd_per_mwh is None:
        raise ValueError(f"block {spec.name!r} has no fixed price; resolve it first")
    return prices - spec.fixed_price_usd_per_mwh


def _call(spec: ProductSpec, prices: np.ndarray, gas) -> np.ndarray:
    return np.maximum(prices - spec.strike_usd_per_mwh, 0.0)


def _scarcity(spec: ProductSpec, prices: np.ndarray, gas) -> np.ndarray:
    payoff = np.maximum(prices - spec.strike_usd_per_mwh, 0.0)
    if spec.payout_cap_usd_per_mwh is not None:
        payoff = np.minimum(payoff, spec.payout_cap_usd_per_mwh - spec.strike_usd_per_mwh)
    return payoff


def _heat_rate_call(spec: ProductSpec, prices: np.ndarray, gas) -> np.ndarray:
    gas = spec.gas_usd_per_mmbtu if gas is None else gas
    if gas is None:
        raise ConfigError(
            f"heat-rate call {spec.name!r} needs a gas price: set gas_usd_per_mmbtu in the "
            "catalogue or pass a gas series"
        )
    strike = spec.heat_rate_mmbtu_per_mwh * np.asarray(gas, dtype=float) + spec.vom_usd_per_mwh
    return np.maximum(prices - strike, 0.0)


_PAYOFFS = {
    "block": _block,
    "call": _call,
    "scarcity": _scarcity,
    "heat_rate_call": _heat_rate_call,
}
