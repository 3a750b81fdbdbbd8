"""Build a ``HedgeProblem`` from a campus, a contract catalogue and price scenarios.

- Firm load: must-serve inference plus the paused base load of every training tier (facility
  MW, PUE applied); firm GPU-hours are the inference work.
- One ``FlexClass`` per training tier: its flexible MW at full speed, reduced during exogenous
  curtailment events so that firm + flexible load stays within the event's campus limit (the
  headroom goes to the tiers with the highest break-even price first).
- One ``Product`` per catalogue entry: ``payoff_usd_per_mw[s] = sum_t payoff_usd_per_mwh[s, t]
  x interval_hours[t]``, and a bid/ask around the mid (the expected payoff): a purchase pays the
  ask, a sale receives the bid, so no product can be bought and sold for a profit. Options
  (call, scarcity, heat-rate call): ask = mid x (1 + loading), bid = mid x (1 - loading), or the
  trader's quote for both when given. Blocks: a block with a fixed price F is the swap at F
  (premium 0, or the quote when given); a block without F is referenced at the scenario forward
  (probability-weighted mean price over its shape hours), bought at forward + loading x
  |forward| and sold at forward - loading x |forward| (per MWh of its shape hours).
- A quote per MW over an explicit tenor is pro-rated by the tenor's shape hours that fall in
  the horizon; a quote per MWh is multiplied by the shape hours in the horizon.
- DR/AS: every programme of the campus (or only the named one), offered together by the same
  curtailable load: each its availability price in the hours it buys (a fixed price, or with
  ``price_series`` the ancillary-service clearing price of each scenario, carried jointly), each
  deployed where the energy price reaches its own trigger, each with its own penalty.
- Coincident peak: ``cp_weight_usd_per_mw`` from the campus's coincident-peak rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from energyhedge.book import Book, held_trades, is_book
from energyhedge.campus import Campus, CampusProfile, DrProgramme, TrainingTier
from energyhedge.data.calendar import ISO_TZ, local_fields, shape_mask
from energyhedge.errors import ConfigError, InfeasibleError
from energyhedge.forwards import horizon_days, price_product
from energyhedge.instruments import Catalogue, ProductSpec, interval_payoff, product_mask
from energyhedge.model.problem import FlexClass, HedgeProblem, Product
from energyhedge.scenarios.scenario_set import ScenarioSet

_BLOCK_ELEMENTS = 4_000_000  # scenario x interval cells per payoff block (32 MB of float64)


def build_problem(
    campus: Campus,
    catalogue: Catalogue,
    scenarios: ScenarioSet,
    *,
    gas: float | np.ndarray | None = None,
    dr_programme: str | None = None,
    day_ahead: bool = False,
    marks=None,
    book: Book | None = None,
) -> HedgeProblem:
    """Assemble the arrays of one hedge-and-schedule decision.

    Parameters
    ----------
    campus : Campus
    catalogue : Catalogue
        Products, each priced on the scenarios' series at its own settlement point and market.
    scenarios : ScenarioSet
        Prices at the campus's settlement point (and jointly at the products' points).
    gas : float or ndarray [T] or [S, T], optional
        Gas price for heat-rate calls ($/MMBtu; see ``instruments.gas_by_interval``); each
        call's own ``gas_usd_per_mmbtu`` when omitted.
    dr_programme : str, optional
        Name of the one campus DR/AS programme to offer; all of them, together, when omitted.
    day_ahead : bool
        Buy the campus's energy in two settlements: add one ``day_ahead`` product per interval
        (see ``day_ahead_products``); the scenarios must carry the day-ahead prices at the
        campus node jointly.
    marks : sequence of forward marks, optional
        The trader's marks (``energyhedge.forwards``): a product without a quote or fixed price
        trades at the bid and ask of the mark covering it (reference price: the mark's mid);
        one no mark covers is left out unless the catalogue sets ``pricing = "model"``.
    book : energyhedge.book.Book, optional
        Positions already held: each is appended (after the catalogue and day-ahead products)
        as a fixed product (``book_products``), and a catalogue product with the same terms as
        held trades has its bounds shifted by the held MW, so they bound book + new trades.

    Returns
    -------
    HedgeProblem
    """
    _check_point(campus.path, "campus", (campus.iso, campus.node, campus.market), scenarios)
    stamps = scenarios.interval_start_utc
    hours = scenarios.interval_hours
    prices = scenarios.prices_usd_per_mwh
    probs = scenarios.probabilities
    profile = campus.profile(stamps, hours)
    _check_grid(campus, profile, stamps)
    flex_mw = _event_limited(campus, profile, stamps, scenarios.interval_minutes)
    flex = tuple(
        _flex_class(
            tier,
            profile.flexible_mw[j],
            flex_mw[j],
            hours,
            due=_requirement_intervals(campus, tier, stamps),
        )
        for j, tier in enumerate(campus.training)
    )
    catalogue = catalogue.over_intervals(scenarios.interval_start_utc)
    priced = (_product(spec, catalogue, scenarios, gas, marks) for spec in catalogue)
    products = tuple(p for p in priced if p is not None)
    if book is not None:
        products = _net_of_book(products, catalogue, book, scenarios)
    if day_ahead:
        products += day_ahead_products(campus, scenarios)
    if book is not None:
        products += book_products(book, scenarios, gas)
    dr_price, dr_deployed = [], []
    programmes = _programmes(campus, dr_programme)
    for programme in programmes:
        active = programme.active(campus.iso, stamps)
        level = programme.availability_usd_per_mw_h
        if programme.price_series is not None:  # the clearing price in each scenario
            level = scenarios.prices_at(programme.price_series, AS_MARKET)
        dr_price.append(np.where(active[None, :], level, 0.0) * np.ones(prices.shape))
        dr_deployed.append((prices >= programme.trigger_usd_per_mwh) & active)
    if not programmes:  # nothing to offer: one product of 0 MW
        dr_price, dr_deployed = [np.zeros(prices.shape)], [np.zeros(prices.shape, dtype=bool)]
    cp = campus.coincident_peak
    cp_weight = (
        np.zeros(prices.shape)
        if cp is None
        else cp.weight_usd_per_mw(campus.iso, stamps, hours, prices)
    )
    return HedgeProblem(
        interval_start_utc=stamps,
        interval_hours=hours,
        prices_usd_per_mwh=prices,
        probabilities=probs,
        firm_load_mw=profile.firm_mw,
        firm_gpu_hours=profile.firm_gpu_hours,
        firm_value_usd_per_gpu_hour=_firm_value(campus, profile, stamps, hours),
        flex=flex,
        grid_limit_mw=campus.grid_limit_mw,
        products=products,
        dr_price_usd_per_mw_h=np.stack(dr_price),
        dr_max_mw=np.array([p.max_mw for p in programmes] or [0.0]),
        dr_deployed=np.stack(dr_deployed),
        dr_penalty_usd_per_mwh=np.array([p.penalty_usd_per_mwh for p in programmes] or [0.0]),
        cp_weight_usd_per_mw=cp_weight,
        dr_names=tuple(p.name for p in programmes) or ("none",),
    )


def _check_point(path, what: str, point: tuple[str, str, str], scenarios: ScenarioSet) -> None:
    have = (scenarios.iso, scenarios.node, scenarios.market)
    if point != have:
        raise ConfigError(
            f"{path}: {what} settles at {'/'.join(point)} but the scenarios are for "
            f"{'/'.join(have)}; generate scenarios for that point or change the file"
        )


def _check_grid(campus: Campus, profile: CampusProfile, stamps: np.ndarray) -> None:
    over = profile.firm_mw > campus.grid_limit_mw + 1e-9
    if over.any():
        t = int(np.argmax(over))
        raise InfeasibleError(
            f"{campus.path}: firm load {profile.firm_mw[t]:.2f} MW (inference and paused "
            f"training) exceeds the grid limit {campus.grid_limit_mw:g} MW at {stamps[t]} UTC"
        )


def _event_limited(
    campus: Campus, profile: CampusProfile, stamps: np.ndarray, interval_minutes: int
) -> np.ndarray:
    """Flexible MW [J, T] after exogenous curtailment events."""
    flex = profile.flexible_mw.copy()
    pue = campus.pue.mean()
    order = sorted(
        range(len(campus.training)),
        key=lambda j: -campus.training[j].break_even_usd_per_mwh(pue),
    )
    for event in campus.curtailment_events:
        hit = event.overlaps(stamps, interval_minutes)
        headroom = event.max_campus_mw - profile.firm_mw
        short = hit & (headroom < -1e-9)
        if short.any():
            t = int(np.argmax(short))
            raise InfeasibleError(
                f"{campus.path}: curtailment event {event.name!r} allows {event.max_campus_mw:g} "
                f"MW but the firm load is {profile.firm_mw[t]:.2f} MW at {stamps[t]} UTC"
            )
        remaining = np.where(hit, np.maximum(headroom, 0.0), np.inf)
        for j in order:
            flex[j] = np.minimum(flex[j], remaining)
            remaining = remaining - np.where(hit, flex[j], 0.0)
    return flex


def _flex_class(
    tier: TrainingTier,
    full_mw: np.ndarray,
    max_mw: np.ndarray,
    hours: np.ndarray,
    *,
    due: int | None = None,
) -> FlexClass:
    full_energy_mwh = float(full_mw @ hours)
    gph_per_mwh = tier.gpus * float(hours.sum()) / full_energy_mwh if full_energy_mwh else 0.0
    requirement = tier.work_requirement_gpu_hours
    if requirement is None:
        window = slice(0, due)
        possible = float(max_mw[window] @ hours[window]) * gph_per_mwh
        requirement = (
            (1.0 - tier.allowed_loss) * possible if tier.unserved_usd_per_gpu_hour else 0.0
        )
    return FlexClass(
        name=tier.name,
        max_mw=max_mw,
        gpu_hours_per_mwh=gph_per_mwh,
        value_usd_per_gpu_hour=tier.value_usd_per_gpu_hour,
        curve_power_frac=tier.curve_power_frac,
        curve_work_frac=tier.curve_work_frac,
        ramp_mw_per_h=tier.ramp_mw_per_h,
        rt_curtailable=tier.notice == "real_time",
        work_requirement_gpu_hours=requirement,
        unserved_usd_per_gpu_hour=tier.unserved_usd_per_gpu_hour,
        stop_cost_usd=tier.stop_cost_usd,
        requirement_intervals=due,
        min_run_h=tier.min_run_h,
        min_off_h=tier.min_off_h,
        min_power_frac=tier.on_power_frac,
    )


def _requirement_intervals(campus: Campus, tier: TrainingTier, stamps: np.ndarray) -> int | None:
    """How many of the horizon's intervals start before the tier's deadline (None: no deadline,
    or one at or after the horizon's end); ConfigError when it is at or before the start."""
    if tier.deadline is None:
        return None
    local = tier.deadline.replace(tzinfo=ZoneInfo(ISO_TZ[campus.iso]))
    due_utc = np.datetime64(local.astimezone(dt.UTC).replace(tzinfo=None), "us")
    count = int(np.searchsorted(np.asarray(stamps, dtype="datetime64[us]"), due_utc, side="left"))
    if count <= 0:
        raise ConfigError(
            f"{campus.path}: training {tier.name!r}: deadline {tier.deadline} is not after the "
            f"horizon's start ({stamps[0]} UTC); move the deadline or the horizon"
        )
    return None if count >= len(stamps) else count


def _firm_value(
    campus: Campus, profile: CampusProfile, stamps: np.ndarray, hours: np.ndarray
) -> float:
    """GPU-hour-weighted value of the inference classes ($/GPU-h)."""
    total = float(profile.firm_gpu_hours.sum())
    if not campus.inference or total == 0.0:
        return 0.0
    he = local_fields(stamps, campus.iso)["hour_ending"]
    value = sum(
        c.value_usd_per_gpu_hour * float(c.gpu_hours(profile.pue, he, hours).sum())
        for c in campus.inference
    )
    return value / total


def _product(
    spec: ProductSpec, catalogue: Catalogue, scenarios: ScenarioSet, gas, marks=None
) -> Product | None:
    """The product of ``spec`` priced on the scenarios; None when forward marks are configured,
    none covers it and the catalogue does not ask for model pricing (it is left out)."""
    if spec.iso != scenarios.iso:
        raise ConfigError(
            f"{catalogue.path}: product {spec.name!r} settles in {spec.iso} but the scenarios "
            f"are for {scenarios.iso}; use a catalogue of the campus's ISO"
        )
    stamps, minutes = scenarios.interval_start_utc, scenarios.interval_minutes
    hours, probs = scenarios.interval_hours, scenarios.probabilities
    try:
        prices = scenarios.prices_at(spec.node, spec.market)
    except ConfigError as exc:
        raise ConfigError(f"{catalogue.path}: product {spec.name!r}: {exc}") from None
    mask = product_mask(spec, stamps, minutes)
    shaped_hours = float(hours @ mask)
    quoted = spec.premium_usd_per_mwh is not None or spec.premium_usd_per_mw is not None
    fixed = spec.kind == "block" and spec.fixed_price_usd_per_mwh is not None
    mark = None
    if marks is not None and not (quoted or fixed):
        mark = price_product(spec, marks, stamps)
        if mark is None and spec.pricing != "model":
            return None
    if mark is not None and spec.kind == "block":
        spec = dataclasses.replace(spec, fixed_price_usd_per_mwh=mark.mid_usd_per_mwh)
    priced_by_scenarios = spec.kind == "block" and spec.fixed_price_usd_per_mwh is None
    forward = 0.0
    if priced_by_scenarios:
        forward = float(probs @ (prices @ (mask * hours))) / shaped_hours if shaped_hours else 0.0
        spec = dataclasses.replace(spec, fixed_price_usd_per_mwh=forward)
    per_mw = _payoff_usd_per_mw(spec, prices, mask, hours, _gas(spec, gas, prices))
    mid = float(probs @ per_mw)
    pricing = "quote" if quoted or fixed else "model"
    if mark is not None:  # the market's bid and ask around its mid
        pricing = "mark"
        if spec.kind == "block":
            ask = (mark.ask_usd_per_mwh - mark.mid_usd_per_mwh) * shaped_hours
            bid = (mark.bid_usd_per_mwh - mark.mid_usd_per_mwh) * shaped_hours
        else:
            ask, bid = mark.ask_usd_per_mwh * shaped_hours, mark.bid_usd_per_mwh * shaped_hours
            mid = mark.mid_usd_per_mwh * shaped_hours
    elif spec.premium_usd_per_mwh is not None:
        ask, bid = spec.premium_usd_per_mwh * shaped_hours, None
    elif spec.premium_usd_per_mw is not None:
        ask, bid = spec.premium_usd_per_mw * _horizon_share(spec, shaped_hours, minutes), None
    elif spec.kind == "block":  # the swap at its fixed price; a scenario forward +/- the loading
        half_spread = spec.loading * abs(forward) * shaped_hours if priced_by_scenarios else 0.0
        ask, bid = half_spread, -half_spread
    else:
        half_spread = spec.loading * abs(mid)
        ask, bid = mid + half_spread, mid - half_spread
    meta = {**spec.meta(), "pricing": pricing}
    if mark is not None:
        meta["mark_id"] = mark.mark_id
    return Product(
        name=spec.name,
        kind=spec.kind,
        payoff_usd_per_mw=per_mw,
        premium_usd_per_mw=ask,
        fair_premium_usd_per_mw=mid,
        sale_premium_usd_per_mw=bid,
        notional_hours=shaped_hours,
        min_mw=spec.min_mw,
        max_mw=spec.max_mw,
        meta=meta,
    )


def book_products(book: Book, scenarios: ScenarioSet, gas=None) -> tuple[Product, ...]:
    """Each trade of ``book`` as a fixed product: bounds min = max = its MW, premium 0 (paid
    already), payoff at its own traded price; ``meta["book"]`` True, with its trade id and
    counterparty."""
    out = []
    for trade in book:
        product = _product(trade.spec(), book, scenarios, gas)
        meta = {
            **product.meta,
            "book": True,
            "trade_id": trade.trade_id,
            "counterparty": trade.counterparty,
            "pricing": "book",
            "start": trade.delivery_start.isoformat(),
            "end": trade.delivery_end.isoformat(),
        }
        out.append(dataclasses.replace(product, meta=meta))
    return tuple(out)


def _net_of_book(
    products: tuple[Product, ...], catalogue: Catalogue, book: Book, scenarios: ScenarioSet
) -> tuple[Product, ...]:
    """Catalogue products with bounds net of the MW the book holds in their exact terms
    (``book.held_trades``): the catalogue bounds then apply to book + new trades, and an option
    held may be sold back up to the held MW."""
    first, last = horizon_days(scenarios.interval_start_utc, scenarios.iso)
    specs = {spec.name: spec for spec in catalogue}
    out = []
    for product in products:
        spec = specs.get(product.name)
        held = held_trades(book, spec, first, last) if spec is not None else ()
        mw = float(sum(t.mw for t in held))
        out.append(
            dataclasses.replace(
                product,
                min_mw=product.min_mw - mw,
                max_mw=product.max_mw - mw,
                meta={**product.meta, "held_mw": mw, "held_trades": [t.trade_id for t in held]},
            )
            if held
            else product
        )
    return tuple(out)


AS_MARKET = "as"
"""Market of ancillary-service clearing prices in the store ($/MW-h, the product as the node)."""


def dr_price_points(campus: Campus, dr_programme: str | None = None) -> tuple[tuple[str, str], ...]:
    """The (node, market) of each ancillary-service price an offered programme is paid."""
    return tuple(
        (p.price_series, AS_MARKET)
        for p in _programmes(campus, dr_programme)
        if p.price_series is not None
    )


DAY_AHEAD_MARKET = "dam"
"""Market of the day-ahead settlement (hourly DAM prices, joint with the real-time ones)."""


DAY_AHEAD_HOUR = np.timedelta64(60, "m")
"""Day-ahead energy clears by the hour in ERCOT and PJM: one purchase per hour."""


def day_ahead_products(campus: Campus, scenarios: ScenarioSet) -> tuple[Product, ...]:
    """One first-stage day-ahead purchase per hour: the two-settlement energy market.

    Buying q MW day-ahead for an hour pays the day-ahead price D_t in each of its intervals and
    leaves the deviation (load - q) to real time at R_t: relative to buying all at real time the
    cash is q x sum_t (D_t - R_t) x h_t, i.e. a product with payoff sum_t (R_st - D_st) x h_t
    per MW over the hour's intervals, no premium, bounded by the grid limit (a physical
    purchase: never negative). Real-time curtailment (the ladder) still faces the real-time
    price, since every MW not drawn is sold back at R_t.
    """
    real_time = scenarios.prices_at(campus.node, campus.market)
    day_ahead = scenarios.prices_at(campus.node, DAY_AHEAD_MARKET)
    hours = scenarios.interval_hours
    stamps = np.asarray(scenarios.interval_start_utc, dtype="datetime64[us]")
    step = np.timedelta64(scenarios.interval_minutes, "m")
    hour_of = stamps.astype("datetime64[h]")
    products = []
    for hour in np.unique(hour_of):
        cols = hour_of == hour
        start = np.datetime_as_string(np.datetime64(stamps[cols][0], "s"), unit="s") + "Z"
        end = np.datetime_as_string(np.datetime64(stamps[cols][-1] + step, "s"), unit="s") + "Z"
        payoff = (real_time[:, cols] - day_ahead[:, cols]) @ hours[cols]
        products.append(
            Product(
                name=f"day_ahead_{start[:13]}",
                kind="day_ahead",
                payoff_usd_per_mw=payoff,
                premium_usd_per_mw=0.0,
                fair_premium_usd_per_mw=float(scenarios.probabilities @ payoff),
                sale_premium_usd_per_mw=0.0,
                notional_hours=float(hours[cols].sum()),
                min_mw=0.0,
                max_mw=campus.grid_limit_mw,
                meta={
                    "iso": campus.iso,
                    "node": campus.node,
                    "market": DAY_AHEAD_MARKET,
                    "shape": "hour",
                    "strike_usd_per_mwh": None,
                    "start": start,
                    "end": end,
                    "pricing": "market",
                },
            )
        )
    return tuple(products)


def product_intervals(product: Product, interval_start_utc: np.ndarray) -> np.ndarray:
    """Which intervals [T] a day-ahead purchase covers (from its ``meta`` start and end)."""
    stamps = np.asarray(interval_start_utc, dtype="datetime64[us]")
    start = np.datetime64(product.meta["start"].removesuffix("Z"), "us")
    end = np.datetime64(product.meta["end"].removesuffix("Z"), "us")
    return (stamps >= start) & (stamps < end)


def struck_catalogue(catalogue: Catalogue, problem: HedgeProblem, product_mw) -> Catalogue:
    """The catalogue with every product's price fixed at what the decision traded.

    Valuing a decision on other prices (out-of-sample scenarios, a realised path) must settle
    each product at the price actually paid, not at a price re-derived from the new prices: a
    block gets the fixed price it was bought (ask) or sold (bid) at, or its mid when not held;
    an option its premium per MWh of notional as paid (ask when bought, bid when sold). Loadings
    are cleared, so the struck problem charges exactly the traded cash. Book positions stay out
    of the struck catalogue: ``build_problem(book=...)`` adds them again, fixed at their own
    traded prices.
    """
    catalogue = catalogue.over_intervals(problem.interval_start_utc)
    traded = {}
    for product, x in zip(problem.products, np.asarray(product_mw, dtype=float), strict=True):
        if product.kind == "day_ahead" or is_book(product):
            continue
        premium = product.bid_usd_per_mw if x < 0 else product.premium_usd_per_mw
        if x == 0.0 and product.kind == "block":
            premium = 0.0
        per_mwh = premium / product.notional_hours if product.notional_hours else 0.0
        traded[product.name] = (product, per_mwh)
    specs = tuple(  # products the problem left out (no mark) stay out
        _struck(spec, *traded[spec.name]) for spec in catalogue.products if spec.name in traded
    )
    return dataclasses.replace(catalogue, products=specs)


def _struck(spec: ProductSpec, product: Product, per_mwh: float) -> ProductSpec:
    """``spec`` at the traded price: ``per_mwh`` is the premium paid per MWh of notional."""
    if spec.kind == "block":
        return dataclasses.replace(
            spec,
            fixed_price_usd_per_mwh=product.meta["strike_usd_per_mwh"] + per_mwh,
            premium_usd_per_mw=None,
            premium_usd_per_mwh=None,
            loading=0.0,
        )
    return dataclasses.replace(
        spec, premium_usd_per_mw=None, premium_usd_per_mwh=per_mwh, loading=0.0
    )


def _payoff_usd_per_mw(
    spec: ProductSpec, prices: np.ndarray, mask: np.ndarray, hours: np.ndarray, gas
) -> np.ndarray:
    """sum_t payoff_usd_per_mwh[s, t] x hours[t] over the product's intervals, [S].

    Equal to ``payoff_usd_per_mwh(...) @ hours``, computed on the product's columns only and
    in blocks of scenarios so that no full [S, T] temporary is made.
    """
    cols = np.flatnonzero(mask)
    out = np.zeros(prices.shape[0])
    if cols.size == 0:
        return out
    if isinstance(gas, np.ndarray):
        gas = gas[..., cols]
    rows_per_block = max(1, _BLOCK_ELEMENTS // cols.size)
    for first in range(0, prices.shape[0], rows_per_block):
        rows = slice(first, first + rows_per_block)
        block_gas = gas[rows] if isinstance(gas, np.ndarray) and gas.ndim == 2 else gas
        out[rows] = interval_payoff(spec, prices[rows, cols], block_gas) @ hours[cols]
    return out


def _gas(spec: ProductSpec, gas, prices: np.ndarray):
    if spec.kind != "heat_rate_call" or gas is None or np.isscalar(gas):
        return gas
    gas = np.asarray(gas, dtype=float)
    if gas.shape not in ((prices.shape[1],), prices.shape):
        raise ConfigError(
            f"gas prices have shape {gas.shape}; expected ({prices.shape[1]},) per interval "
            f"or {prices.shape} per scenario and interval"
        )
    return gas


def _horizon_share(spec: ProductSpec, shaped_hours: float, interval_minutes: int) -> float:
    """Share of the tenor's shape hours inside the horizon (1 for a horizon tenor)."""
    if spec.start is None:
        return 1.0
    tz = ZoneInfo(ISO_TZ[spec.iso])
    first = dt.datetime.combine(spec.start, dt.time(), tz).astimezone(dt.UTC)
    last = dt.datetime.combine(spec.end + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    step = np.timedelta64(interval_minutes, "m")
    grid = np.arange(
        np.datetime64(first.replace(tzinfo=None), "us"),
        np.datetime64(last.replace(tzinfo=None), "us"),
        step,
    )
    tenor_hours = shape_mask(spec.shape, spec.iso, grid, interval_minutes).sum() * (
        interval_minutes / 60.0
    )
    return shaped_hours / tenor_hours if tenor_hours else 0.0


def _programmes(campus: Campus, name: str | None) -> tuple[DrProgramme, ...]:
    """The programmes offered: all of the campus's, or the one named."""
    if name is None:
        return campus.dr_programmes
    for programme in campus.dr_programmes:
        if programme.name == name:
            return (programme,)
    known = ", ".join(p.name for p in campus.dr_programmes) or "none"
    raise ConfigError(f"{campus.path}: no dr_programme named {name!r}; known: {known}")
