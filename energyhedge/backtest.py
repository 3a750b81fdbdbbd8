"""Back-tests: what each strategy would have cost on a realised price path.

``energyhedge backtest`` replays a run profile over a period, one window of local days at a
time. For each window a decision is made on price scenarios for that window, learnt from
prices before it (the default; or, labelled as looking ahead, from all prices outside it),
never from the window's own prices: optimised by the stochastic program, or a fixed set of
products. The decision's trades settle at the prices traded then (``assemble.struck_catalogue``);
it is valued on the realised prices (S = 1) with the real-time ladder and cost lines of
``energyhedge.model.cost``, next to the unhedged, flexibility-only and hedges-only strategies.

Outputs:

- ``backtest.json``: the settings, one record per window (products, traded prices, premiums),
  and per strategy the totals of every cost line, the all-in cost and the cost per delivered
  GPU-hour (summed from ``cost_breakdown`` of each window).
- ``backtest_intervals.csv``: one row per interval and strategy with the same lines (from
  ``interval_breakdown``), so the totals can be re-added from the rows. Each window's
  premiums are allocated pro rata to interval length over that window; a work-requirement
  penalty is booked on the window's last interval.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge.assemble import (
    DAY_AHEAD_MARKET,
    build_problem,
    product_intervals,
    struck_catalogue,
)
from energyhedge.atomic_dir import atomic_directory
from energyhedge.campus import Campus, load_campus
from energyhedge.config import load_toml
from energyhedge.data.calendar import day_start_utc, local_fields
from energyhedge.data.generic_csv import GenericOptions
from energyhedge.data.importers import read_prices
from energyhedge.data.store import open_store
from energyhedge.decide import decide_in_sample, joint_points, scenario_arguments
from energyhedge.errors import ConfigError, DataError
from energyhedge.instruments import Catalogue, payoff_usd_per_mwh
from energyhedge.model.cost import cost_breakdown, interval_breakdown, restart_rule
from energyhedge.model.problem import Decision, HedgeProblem
from energyhedge.risk import full_schedule_mw, settlement_strategies, strategies
from energyhedge.runs import load_run_profile
from energyhedge.safe_text import neutralise_frame
from energyhedge.scenarios import CapEvent, generate
from energyhedge.scenarios.daygrid import regrid
from energyhedge.scenarios.scenario_set import ScenarioSet

INTERVAL_COLUMNS = (
    "interval_start_utc",
    "strategy",
    "price_usd_per_mwh",
    "load_mw",
    "energy_mwh",
    "energy_cost_usd",
    "hedge_payoff_usd",
    "premium_usd",
    "dr_revenue_usd",
    "dr_penalty_usd",
    "cp_tag_usd",
    "value_lost_usd",
    "unserved_penalty_usd",
    "restart_usd",
    "stops",
    "total_cost_usd",
    "value_produced_usd",
    "gpu_hours",
)
"""Columns of ``backtest_intervals.csv``; ``power_mw_<class>`` columns follow them."""

TOTAL_COLUMNS = INTERVAL_COLUMNS[4:]
"""Additive columns whose sums over a strategy's rows are its totals in ``backtest.json``."""


@dataclass(frozen=True)
class BacktestResult:
    """Per-interval rows and per-strategy totals of one back-test."""

    intervals: pl.DataFrame
    totals: dict[str, dict[str, float]]


def period_utc(start: date, end: date, iso: str) -> tuple[datetime, datetime]:
    """UTC instants bounding the ISO-local days ``start`` .. ``end`` (inclusive): [from, to)."""
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}; give an end on or after it")
    return day_start_utc(start, iso), day_start_utc(end + timedelta(days=1), iso)


def read_realised(
    source: str,
    *,
    iso: str,
    market: str,
    node: str,
    start: date,
    end: date,
    options: GenericOptions | None = None,
    max_filled: int = 0,
    joint: tuple[tuple[str, str], ...] = (),
) -> tuple[ScenarioSet, list[str]]:
    """The realised prices of one node (and jointly of other points) as a one-scenario set.

    Parameters
    ----------
    source : str
        ``"store"`` for the price store, or the path of any file the importers accept.
    iso, market, node : str
    start, end : date
        First and last ISO-local day (inclusive).
    options : GenericOptions, optional
        How to read a file in a generic CSV layout (ISO formats are detected without it).
    max_filled : int
        Missing intervals that may be filled with the price of the interval before (e.g. the
        repeated fall-back hour some files drop); more gaps are an error.
    joint : tuple of (node, market)
        Other points whose realised prices the products or the day-ahead settlement need
        (complete, with equal or coarser intervals).

    Returns
    -------
    (ScenarioSet, list of str)
        The realised path, and the UTC starts of the intervals that were filled.

    Raises
    ------
    DataError
        No rows for the series in the period, mixed interval lengths, intervals off the
        grid, or more than ``max_filled`` gaps.
    """
    first, last = period_utc(start, end, iso)
    frame = _stored_or_file(source, options, iso, (node, market), first=first, last=last)
    expected, minutes, prices, missing = _on_grid(
        frame, source, node, first=first, last=last, max_filled=max_filled
    )
    joint_prices = {}
    for point in joint:
        other = _stored_or_file(source, options, iso, point, first=first, last=last)
        _, other_minutes, values, _ = _on_grid(
            other, source, point[0], first=first, last=last, max_filled=max_filled
        )
        joint_prices[point] = regrid(values, other_minutes, minutes).reshape(1, -1)
    realised = ScenarioSet(
        iso=iso,
        market=market,
        node=node,
        interval_start_utc=expected,
        interval_minutes=minutes,
        prices_usd_per_mwh=prices.reshape(1, -1),
        probabilities=np.ones(1),
        kind=np.array(["realised"]),
        joint=joint_prices,
    )
    return realised, [f"{m}Z" for m in missing.astype("datetime64[s]")]


def _stored_or_file(source: str, options, iso: str, point, *, first, last) -> pl.DataFrame:
    """Rows of one series between ``first`` and ``last`` (UTC) from the store or a file."""
    node, market = point
    if source == "store":
        frame = open_store().read(iso, market, node, first, last)
    else:
        frame = read_prices(source, options).frame.filter(
            (pl.col("iso") == iso)
            & (pl.col("market") == market)
            & (pl.col("node") == node)
            & (pl.col("interval_start_utc") >= first)
            & (pl.col("interval_start_utc") < last)
        )
    if frame.height == 0:
        where = "the price store" if source == "store" else source
        raise DataError(
            f"{where}: no {iso} {market} prices for node {node} between {first:%Y-%m-%d %H:%M} "
            f"and {last:%Y-%m-%d %H:%M} UTC; check --node/--market/--start/--end or import the "
            "data first"
        )
    return frame.sort("interval_start_utc")


def _on_grid(frame: pl.DataFrame, source: str, node: str, *, first, last, max_filled: int):
    """The series on its regular grid from ``first`` to ``last``: (starts [T], minutes,
    prices [T], missing starts); gaps filled with the price before, at most ``max_filled``."""
    where = "the price store" if source == "store" else source
    minutes = frame["interval_minutes"].unique().to_list()
    if len(minutes) != 1:
        raise DataError(f"{where}: {node} has mixed interval lengths {sorted(minutes)} minutes")
    stamps = frame["interval_start_utc"].dt.replace_time_zone(None).to_numpy()
    stamps = stamps.astype("datetime64[us]")
    step = np.timedelta64(minutes[0], "m")
    expected = (
        np.datetime64(first.replace(tzinfo=None), "us")
        + np.arange(int((last - first) / timedelta(minutes=minutes[0]))) * step
    )
    off_grid = np.setdiff1d(stamps, expected)
    if off_grid.size:
        raise DataError(
            f"{where}: {node} has an interval starting at {off_grid[0]} UTC, off the "
            f"{minutes[0]}-minute grid from {first:%Y-%m-%d %H:%M} UTC; fix the data"
        )
    missing = np.setdiff1d(expected, stamps)
    if missing.size > max_filled:
        raise DataError(
            f"{where}: {node} has {len(stamps)} of {len(expected)} intervals between "
            f"{first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC (first missing at "
            f"{missing[0]} UTC); back-test a complete period or allow filling with "
            f"--fill-missing {missing.size}"
        )
    prices = frame["price_usd_per_mwh"].to_numpy().astype(float)
    before = np.maximum(np.searchsorted(stamps, expected, side="right") - 1, 0)
    return expected, int(minutes[0]), prices[before], missing


def interval_payoffs_usd_per_mw(
    problem: HedgeProblem, catalogue: Catalogue, realised: ScenarioSet, gas=None
) -> np.ndarray:
    """Payoff of 1 MW of each of the problem's products in each interval ($/MW), [K, T].

    Computed from the catalogue's product formulas on the realised prices at each product's own
    point (products matched by name), i.e. ``payoff_usd_per_mwh x interval hours``; a day-ahead
    purchase pays (real time - day-ahead) x hours in each interval of its hour.
    """
    specs = {spec.name: spec for spec in catalogue.products}
    rows = []
    for product in problem.products:
        if product.kind == "day_ahead":
            cols = product_intervals(product, realised.interval_start_utc)
            spread = (
                realised.prices_usd_per_mwh[0]
                - realised.prices_at(realised.node, DAY_AHEAD_MARKET)[0]
            )
            rows.append(np.where(cols, spread * realised.interval_hours, 0.0))
            continue
        if product.name not in specs:
            raise ConfigError(
                f"{catalogue.path}: product {product.name!r} of the problem is not in the catalogue"
            )
        spec = specs[product.name]
        per_mwh = payoff_usd_per_mwh(
            spec,
            realised.prices_at(spec.node, spec.market),
            realised.interval_start_utc,
            realised.interval_minutes,
            gas,
        )
        rows.append(per_mwh[0] * realised.interval_hours)
    return np.array(rows).reshape(len(problem.products), realised.prices_usd_per_mwh.shape[1])


def run_backtest(
    realised: HedgeProblem,
    decisions: dict[str, Decision],
    payoff_usd_per_mw_by_interval: np.ndarray,
) -> BacktestResult:
    """Value each strategy's decision on the realised path (``realised`` has S = 1).

    Parameters
    ----------
    realised : HedgeProblem
        One scenario, the realised prices; products at the prices traded when the decision was
        made (built from ``assemble.struck_catalogue``).
    decisions : dict
        Strategy name -> Decision indexed like ``realised``.
    payoff_usd_per_mw_by_interval : ndarray [K, T]
        See ``interval_payoffs_usd_per_mw``.
    """
    if realised.n_scenarios != 1:
        raise ConfigError(f"a back-test values one realised path, got {realised.n_scenarios}")
    stamps = pl.Series(realised.interval_start_utc).dt.replace_time_zone("UTC")
    frames, totals = [], {}
    for name, decision in decisions.items():
        cols = interval_breakdown(realised, decision, payoff_usd_per_mw_by_interval, scenario=0)
        cost = cost_breakdown(realised, decision)
        frames.append(
            pl.DataFrame(
                {"interval_start_utc": stamps, "strategy": [name] * len(stamps), **cols}
            ).select([*INTERVAL_COLUMNS, *sorted(c for c in cols if c.startswith("power_mw_"))])
        )
        line = cost.scenario(0)
        totals[name] = {c: line[c] for c in (*TOTAL_COLUMNS, "margin_usd")}
        per_gpu_hour = line["cost_per_gpu_hour_usd"]
        totals[name]["cost_per_gpu_hour_usd"] = per_gpu_hour if np.isfinite(per_gpu_hour) else None
    return BacktestResult(pl.concat(frames, how="diagonal"), totals)


def write_backtest(result: BacktestResult, out_dir: str | Path, meta: dict) -> Path:
    """Write ``backtest.json`` and ``backtest_intervals.csv`` into ``out_dir`` atomically.

    The files are written into a temporary sibling folder that then replaces ``out_dir``, so a
    failure leaves either the previous outputs or none, never half of them.
    """
    with atomic_directory(out_dir, command="backtest") as tmp:
        neutralise_frame(
            result.intervals.with_columns(
                pl.col("interval_start_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        ).write_csv(tmp / "backtest_intervals.csv")
        doc = {**meta, "strategies": result.totals}
        (tmp / "backtest.json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return Path(out_dir).resolve()


Decide = Callable[[ScenarioSet], tuple[HedgeProblem, Decision]]
"""Makes the decision for a window: given the window's dates and interval grid (its prices are
NaN: the decision may not see them), returns the problem it was optimised on and the decision."""


def replay(
    campus: Campus,
    catalogue: Catalogue,
    realised: ScenarioSet,
    decide: Decide,
    *,
    window_days: int,
    gas=None,
    day_ahead: bool = False,
) -> tuple[BacktestResult, list[dict]]:
    """Back-test every strategy over ``realised``, deciding anew for each window of local days.

    For each window of ``window_days`` ISO-local days: ``decide`` optimises on scenarios for
    the window's intervals; the decision (products at the prices traded then, schedule, DR
    offer, the real-time ladder) is valued on the realised prices with the four strategies of
    ``risk.strategies``. With ``day_ahead`` the campus buys in two settlements (the decision's
    day-ahead purchases settle at the realised day-ahead prices, deviations in real time), and
    the recommendation is also valued with all energy in real time and all day-ahead
    (``risk.settlement_strategies``). When job classes have a stop cost, the recommendation
    (restart-aware ladder) is also valued with the plain ladder (``recommended_plain_ladder``).

    Returns
    -------
    (BacktestResult, list of dict)
        Rows and totals over the whole period, and one record per window (dates, products
        traded and their prices).
    """
    if window_days < 1:
        raise ConfigError(f"window_days must be at least 1, got {window_days}")
    days = local_fields(realised.interval_start_utc, realised.iso)["date"]
    unique = np.unique(days)
    results, windows = [], []
    for lo in range(0, unique.size, window_days):
        chosen = np.isin(days, unique[lo : lo + window_days])
        window = realised.select_intervals(chosen)
        in_sample, decision = decide(window.with_prices(np.nan))
        struck = struck_catalogue(catalogue, in_sample, decision.product_mw)
        actual = build_problem(campus, struck, window, gas=gas, day_ahead=day_ahead)
        payoffs = interval_payoffs_usd_per_mw(actual, struck, window, gas)
        decisions = strategies(actual, decision)
        if day_ahead:  # the recommendation with all energy in real time, all day-ahead
            decisions.update(settlement_strategies(actual, decision))
        if decision.stop_above_usd_per_mwh is not None:  # today's ladder, blind to restarts
            decisions["recommended_plain_ladder"] = replace(decision, stop_above_usd_per_mwh=None)
        results.append(run_backtest(actual, decisions, payoffs))
        windows.append(
            {
                "first_day": str(unique[lo]),
                "last_day": str(unique[min(lo + window_days, unique.size) - 1]),
                "intervals": int(chosen.sum()),
                "scenarios": in_sample.n_scenarios,
                "product_mw": {
                    p.name: float(x)
                    for p, x in zip(actual.products, decision.product_mw, strict=True)
                },
                "traded_price_usd_per_mwh": _traded_prices(struck),
                "premium_usd_per_mw": {p.name: p.premium_usd_per_mw for p in actual.products},
                "real_time": "curtailment ladder" if decision.follows_ladder else "schedule",
            }
        )
    return combine(results), windows


def _traded_prices(struck: Catalogue) -> dict[str, float | None]:
    """Per product: the block price or option premium ($/MWh of notional) the window traded."""
    return {
        spec.name: spec.fixed_price_usd_per_mwh
        if spec.kind == "block"
        else spec.premium_usd_per_mwh
        for spec in struck.products
    }


def combine(results: list[BacktestResult]) -> BacktestResult:
    """Rows and totals of consecutive back-test windows as one back-test."""
    names = list(results[0].totals)
    intervals = pl.concat(
        [r.intervals.filter(pl.col("strategy") == n) for n in names for r in results],
        how="diagonal",
    )
    totals: dict[str, dict[str, float]] = {}
    for result in results:
        for name, line in result.totals.items():
            into = totals.setdefault(name, dict.fromkeys((*TOTAL_COLUMNS, "margin_usd"), 0.0))
            for key in into:
                into[key] += line[key]
    for line in totals.values():
        gpu = line["gpu_hours"]
        line["cost_per_gpu_hour_usd"] = line["total_cost_usd"] / gpu if gpu > 0 else None
    return BacktestResult(intervals, totals)


def optimised_decider(
    campus: Campus,
    catalogue: Catalogue,
    history: pl.DataFrame,
    options,
    *,
    fixed_product_mw: dict[str, float] | None = None,
    past_only: bool = True,
    gas=None,
    day_ahead: bool = False,
    **scenario_settings,
) -> Decide:
    """A ``Decide`` that generates scenarios for the window and solves the stochastic program.

    Parameters
    ----------
    campus, catalogue
    history : pl.DataFrame
        Canonical prices the scenario model may learn from.
    options : SolveOptions
    fixed_product_mw : dict, optional
        Product name -> MW: instead of solving, hold these products (others 0 MW), run every
        class at full schedule along the curtailment ladder, offer no DR. The scenarios then
        only price the premiums (mid plus loading unless quoted).
    past_only : bool
        True (the default): learn only from prices before the window, as a trader would have.
        False: from every price outside the window, later weeks included (leave-window-out:
        looks ahead, labelled so in the outputs; for data with no earlier period).
    **scenario_settings
        Passed to ``energyhedge.scenarios.generate`` (``n``, ``seed``, ``model``, ...; see
        ``decide.scenario_arguments``); the window sets the point, start and days.
    """

    def decide(window: ScenarioSet) -> tuple[HedgeProblem, Decision]:
        stamps = window.interval_start_utc
        days = np.unique(local_fields(stamps, window.iso)["date"])
        first = pl.lit(np.datetime64(stamps[0], "us")).dt.replace_time_zone("UTC")
        end = stamps[-1] + np.timedelta64(window.interval_minutes, "m")
        after = pl.lit(np.datetime64(end, "us")).dt.replace_time_zone("UTC")
        outside = pl.col("interval_start_utc") < first
        if not past_only:
            outside = outside | (pl.col("interval_start_utc") >= after)
        window_settings = {
            **scenario_settings,
            "iso": window.iso,
            "node": window.node,
            "market": window.market,
            "start": days[0].item(),
            "days": int(days.size),
        }
        scenarios = generate(history.filter(outside), **window_settings)
        if fixed_product_mw is None:
            problem, solution = decide_in_sample(
                campus, catalogue, scenarios, options, gas=gas, day_ahead=day_ahead
            )
            return problem, solution.decision
        problem = build_problem(campus, catalogue, scenarios, gas=gas, day_ahead=day_ahead)
        return problem, fixed_decision(problem, fixed_product_mw)

    return decide


def fixed_decision(problem: HedgeProblem, product_mw: dict[str, float]) -> Decision:
    """Given products (name -> MW, others 0), full schedule along the ladder, no DR."""
    names = [p.name for p in problem.products]
    unknown = sorted(set(product_mw) - set(names))
    if unknown:
        raise ConfigError(
            f"fixed products {unknown} are not in the contracts file; expected names among "
            f"{', '.join(names)}"
        )
    return Decision(
        product_mw=np.array([float(product_mw.get(n, 0.0)) for n in names]),
        schedule_mw=full_schedule_mw(problem),
        dr_mw=problem.no_dr_offer(),
        follows_ladder=True,
        stop_above_usd_per_mwh=restart_rule(problem),
    )


@dataclass(frozen=True)
class BacktestSpec:
    """What to back-test: a run profile replayed on realised prices.

    Attributes
    ----------
    config : Path
        Run profile (``models/runs/*.toml``): campus, contracts, scenario and solver settings.
    prices : str
        ``"store"`` or the path of a price file the importers accept.
    node, market : str or None
        Settlement point of the realised prices; the campus's when None. A different point
        settles the campus and every contract there.
    start, end : date
        First and last ISO-local day (inclusive).
    window_days : int or None
        Days per decision; the profile's scenario horizon when None.
    past_only : bool
        Scenario models learn only from prices before each window (else from all prices
        outside it).
    fill_missing : int
        Missing realised intervals that may be filled with the price before (listed in the
        output).
    fixed_product_mw : dict or None
        Product name -> MW to hold instead of optimising (see ``optimised_decider``).
    csv_layout : dict or None
        For a price file in your own CSV layout: ``GenericOptions`` fields (``time_col``
        required; iso and market default to the campus's).
    """

    config: Path
    prices: str
    node: str | None
    market: str | None
    start: date
    end: date
    window_days: int | None = None
    past_only: bool = True
    fill_missing: int = 0
    fixed_product_mw: dict[str, float] | None = None
    csv_layout: dict | None = None


REPLAY_KEYS = {
    "config",
    "prices",
    "node",
    "market",
    "start",
    "end",
    "window_days",
    "past_only",
    "fill_missing",
    "fixed_product_mw",
    "csv_layout",
}


def _whole(table, key: str, default, *, min_value: int) -> int | None:
    """A finite whole number at ``key`` (``7`` or ``7.0``; ``1.5`` is an error)."""
    value = table.number(key, default, min_value=min_value)
    if value is None:
        return None
    if value != int(value):
        raise table.error(key, f"must be a whole number, got {value}")
    return int(value)


def load_replay(path: str | Path) -> dict:
    """The ``[backtest]`` table of a replay file (``models/backtests/*.toml``) as spec fields.

    Relative paths (``config``, a ``prices`` file) are resolved against the file's folder.
    """
    table = load_toml(path).table("backtest")
    table.reject_unknown(REPLAY_KEYS)
    folder = Path(path).resolve().parent
    out: dict = {"config": folder / table.get("config", str)}
    prices = table.get("prices", str, "store")
    out["prices"] = prices if prices == "store" else str(folder / prices)
    out["node"] = table.name("node", None)
    out["market"] = table.get("market", str, None)
    for key in ("start", "end"):
        out[key] = table.get(key, date)
    out["window_days"] = _whole(table, "window_days", None, min_value=1)
    out["past_only"] = table.get("past_only", bool, True)
    out["fill_missing"] = _whole(table, "fill_missing", 0, min_value=0)
    if table.has("csv_layout"):
        out["csv_layout"] = dict(table.table("csv_layout").data)
    if table.has("fixed_product_mw"):
        fixed = table.table("fixed_product_mw")
        out["fixed_product_mw"] = {name: fixed.number(name) for name in fixed.data}
    return out


def backtest_profile(spec: BacktestSpec) -> tuple[BacktestResult, dict]:
    """Replay a run profile on realised prices: optimise per window, value every strategy.

    Scenarios are the profile's model scenarios plus its cap events without a fixed day; its
    historical replays are left out, since they replay the very prices the back-test is judged
    on. By-products that need extra solves (marginal values) are not computed.

    Returns
    -------
    (BacktestResult, dict)
        Rows and totals, and the metadata written at the top of ``backtest.json``.
    """
    profile = load_run_profile(spec.config)
    campus = load_campus(profile.campus_path)
    catalogue = profile.contracts()
    node = spec.node or campus.node
    market = spec.market or campus.market
    if (node, market) != (campus.node, campus.market):
        campus = replace(campus, node=node, market=market)
        catalogue = replace(
            catalogue,
            products=tuple(replace(p, node=node, market=market) for p in catalogue.products),
        )
    iso = campus.iso
    options = None
    if spec.csv_layout is not None:
        options = GenericOptions(**{"iso": iso, "market": market, **spec.csv_layout})
    joint = joint_points(profile, campus, catalogue)
    realised, filled = read_realised(
        spec.prices,
        iso=iso,
        market=market,
        node=node,
        start=spec.start,
        end=spec.end,
        options=options,
        max_filled=spec.fill_missing,
        joint=joint,
    )
    if spec.prices == "store":
        store = open_store()
        history = pl.concat(
            [store.read(iso, m, n) for n, m in ((node, market), *joint)], how="vertical_relaxed"
        )
    else:
        history = read_prices(spec.prices, options).frame
    settings = profile.scenarios
    window_days = spec.window_days or settings.days
    decide = optimised_decider(
        campus,
        catalogue,
        history,
        replace(profile.solve_options, marginals=False),
        fixed_product_mw=spec.fixed_product_mw,
        past_only=spec.past_only,
        day_ahead=profile.day_ahead,
        **scenario_arguments(
            profile,
            campus,
            spec.start,
            joint,
            stress=tuple(e for e in settings.stress if isinstance(e, CapEvent) and e.day is None),
        ),
    )
    result, windows = replay(
        campus, catalogue, realised, decide, window_days=window_days, day_ahead=profile.day_ahead
    )
    meta = {
        "config": str(spec.config),
        "campus": str(campus.path),
        "contracts": str(catalogue.path),
        "prices": spec.prices,
        "iso": iso,
        "market": market,
        "node": node,
        "start": spec.start.isoformat(),
        "end": spec.end.isoformat(),
        "intervals": int(realised.interval_start_utc.size),
        "interval_minutes": realised.interval_minutes,
        "settlement": profile.settlement,
        "product_points": sorted({f"{p.node}/{p.market}" for p in catalogue.products}),
        "filled_intervals_utc": filled,
        "window_days": window_days,
        "history": "past only: prices before each window"
        if spec.past_only
        else "leave-window-out: all prices outside each window, later ones included "
        "(looks ahead; not an honest out-of-sample test)",
        "scenarios": {"n": settings.n, "seed": settings.seed, "model": settings.model},
        "decision": "fixed products, curtailment ladder"
        if spec.fixed_product_mw is not None
        else "optimised per window",
        "alpha": profile.solve_options.alpha,
        "premium_allocation": "each window's premiums pro rata to interval length over the window",
        "windows": windows,
    }
    return result, meta
