"""Generate a ScenarioSet of prices for a node over a run of local market days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl

from energyhedge.data.schema import KEY_COLUMNS
from energyhedge.errors import ConfigError, DataError
from energyhedge.scenarios import MODELS
from energyhedge.scenarios.bootstrap import sample_days
from energyhedge.scenarios.caps import (
    DEFAULT_ADDER_ROOM_USD_PER_MWH,
    history_cap_usd_per_mwh,
    offer_cap_usd_per_mwh,
)
from energyhedge.scenarios.daygrid import day_matrix, horizon, regrid
from energyhedge.scenarios.forward import centre_on_forward
from energyhedge.scenarios.regime import RegimeParams, fit_regime, simulate_regime
from energyhedge.scenarios.scenario_set import ScenarioSet
from energyhedge.scenarios.stress import StressEvent, stress_paths

# Scenarios generated per block. Fixed so that the output depends on the seed only.
CHUNK = 500


def generate(
    history: pl.DataFrame,
    *,
    iso: str,
    node: str,
    market: str,
    start: date,
    days: int,
    n: int,
    seed: int,
    model: str = "bootstrap",
    offer_cap: float | None = None,
    adder_room_usd_per_mwh: float = DEFAULT_ADDER_ROOM_USD_PER_MWH,
    forward_curve: pl.DataFrame | None = None,
    stress: tuple[StressEvent, ...] = (),
    month_window: int = 0,
    regime_params: RegimeParams | None = None,
    dtype: type[np.floating] = np.float64,
    fit_history: pl.DataFrame | None = None,
    joint: tuple[tuple[str, str], ...] = (),
) -> ScenarioSet:
    """Price scenarios on the UTC interval grid of ``days`` local days starting ``start``.

    Parameters
    ----------
    history : pl.DataFrame
        Canonical price table (``energyhedge.data.schema``); rows of other series are ignored.
    iso, node, market : str
        The series to model, e.g. ``"ercot", "LZ_HOUSTON", "rtm"``.
    start : date
        First local market day of the horizon.
    days : int
        Number of local days; DST days get 23 or 25 hourly intervals.
    n : int
        Number of model scenarios (stress scenarios come on top).
    seed : int
        Same seed and inputs give identical output.
    model : {"bootstrap", "regime"}
        Whole-day block bootstrap (``bootstrap``) or the fitted regime model (``regime``).
    offer_cap : float, optional
        Offer cap ($/MWh) for every day; default the ISO's table (ERCOT only).
    adder_room_usd_per_mwh : float
        Room above the offer cap for reserve adders; prices are clipped to cap + room.
    forward_curve : pl.DataFrame, optional
        Monthly on-peak/off-peak forward prices to centre the model scenarios on (see
        ``forward.centre_on_forward``); applied before clipping and before stress.
    stress : tuple of HistoricalReplay | CapEvent
        Stress scenarios appended with their probabilities; model scenarios share the rest.
    month_window : int
        Bootstrap only: months either side of a target day's month to draw days from.
    regime_params : RegimeParams, optional
        Regime only: use these parameters instead of fitting them to ``history``.
    dtype : numpy float type
        Of the price array (``np.float32`` halves memory).
    fit_history : pl.DataFrame, optional
        Prices the model learns from (bootstrap days, regime fit) when they must differ from
        ``history``, e.g. one half of a disjoint split (``scenarios.holdout``); historical
        replays still read ``history``.
    joint : tuple of (node, market)
        Other settlement points of the ISO to carry in the same scenarios (``ScenarioSet.joint``),
        e.g. a hub or the day-ahead market: see ``_joint_prices``. Model days are then drawn only
        from days every series has.

    Returns
    -------
    ScenarioSet
        ``n + len(stress)`` scenarios; model scenarios have equal probability
        ``(1 - sum of stress probabilities) / n`` and kind ``model``.
    """
    if model not in MODELS:
        raise ConfigError(f"unknown scenario model {model!r}; expected one of {', '.join(MODELS)}")
    if n < 1:
        raise ConfigError(f"number of scenarios n must be at least 1, got {n}")
    if month_window < 0:
        raise ConfigError(f"month_window must be >= 0, got {month_window}")
    missing = [
        c
        for c in (*KEY_COLUMNS, "interval_minutes", "price_usd_per_mwh")
        if c not in history.columns
    ]
    if missing:
        raise DataError(f"price history lacks canonical columns {missing}")
    series = history.filter(
        (pl.col("iso") == iso) & (pl.col("market") == market) & (pl.col("node") == node)
    )
    if series.height == 0:
        raise DataError(f"no price history for {iso}/{market}/{node}: load it into the store first")
    hist = day_matrix(series, iso)
    learn = hist if fit_history is None else _fit_days(fit_history, iso, node, market)
    others = {
        point: _fit_days(history if fit_history is None else fit_history, iso, *point)
        for point in joint
        if point != (node, market)
    }
    learn = _common_days(learn, others, iso, node, market)
    grid = horizon(iso, start, days, hist.interval_minutes)
    cap_by_day = offer_cap_usd_per_mwh(iso, grid.dates, offer_cap)
    ceiling_by_day = cap_by_day + adder_room_usd_per_mwh
    ceiling = ceiling_by_day[grid.day_of_interval]

    prices = np.empty((n + len(stress), grid.interval_start_utc.size), dtype=dtype)
    if model == "bootstrap":
        chosen = sample_days(learn, grid.dates, n, np.random.default_rng(seed), month_window)
        basis_days = chosen
        for lo in range(0, n, CHUNK):
            rows = chosen[lo : lo + CHUNK][:, grid.day_of_interval]
            prices[lo : lo + rows.shape[0]] = learn.prices_usd_per_mwh[rows, grid.slot_of_interval]
    else:
        if regime_params is None:
            hist_cap = history_cap_usd_per_mwh(iso, learn.dates, offer_cap)
            params = fit_regime(learn, hist_cap + adder_room_usd_per_mwh)
        else:
            params = regime_params
        if ceiling_by_day.min() <= params.threshold_usd_per_mwh:
            raise ConfigError(
                f"offer cap plus adder room ({ceiling_by_day.min():.2f} $/MWh) must exceed the "
                f"spike threshold ({params.threshold_usd_per_mwh:.2f} $/MWh)"
            )
        if params.interval_minutes != hist.interval_minutes:
            raise ConfigError(
                f"regime parameters are for {params.interval_minutes}-minute steps, "
                f"history has {hist.interval_minutes}-minute intervals"
            )
        flat = grid.day_of_interval * params.mu.shape[1] + grid.slot_of_interval
        streams = np.random.SeedSequence(seed).spawn(-(-n // CHUNK))
        for lo, stream in zip(range(0, n, CHUNK), streams, strict=True):
            size = min(CHUNK, n - lo)
            rng = np.random.default_rng(stream)
            local = simulate_regime(params, grid.dates, ceiling_by_day, size, rng)
            prices[lo : lo + size] = local[:, flat]
        basis_rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        basis_days = sample_days(learn, grid.dates, n, basis_rng, month_window) if others else None
    model_prices = prices[:n]

    probabilities = np.full(n, 1.0 / n)
    if forward_curve is not None:
        centre_on_forward(model_prices, probabilities, grid, iso, forward_curve)
    joint_prices = {
        point: _joint_prices(learn, other, basis_days, grid, model_prices)
        for point, other in others.items()
    }
    np.minimum(model_prices, ceiling, out=model_prices)
    kinds = np.full(n, model)
    if stress:
        background = probabilities @ model_prices
        paths, stress_p, stress_kinds = stress_paths(stress, background, grid, hist, cap_by_day)
        prices[n:] = np.minimum(paths, ceiling)
        mean_p = probabilities.copy()
        probabilities = np.concatenate([probabilities * (1.0 - stress_p.sum()), stress_p])
        kinds = np.concatenate([kinds, stress_kinds])
        for point, joint_model in joint_prices.items():
            basis = mean_p @ (joint_model - model_prices)  # stress paths keep the mean basis
            joint_prices[point] = np.concatenate([joint_model, prices[n:] + basis[None, :]])
    joint_prices = {
        point: np.minimum(values, ceiling).astype(dtype) for point, values in joint_prices.items()
    }
    return ScenarioSet(
        iso=iso,
        market=market,
        node=node,
        interval_start_utc=grid.interval_start_utc,
        interval_minutes=grid.interval_minutes,
        prices_usd_per_mwh=prices,
        probabilities=probabilities,
        kind=kinds,
        joint=joint_prices,
    )


def _common_days(learn, others: dict, iso: str, node: str, market: str):
    """``learn`` restricted to the days every joint series has (DataError when none)."""
    if not others:
        return learn
    keep = np.ones(learn.dates.size, dtype=bool)
    for other in others.values():
        keep &= np.isin(learn.dates, other.dates)
    if not keep.any():
        names = ", ".join(f"{n}/{m}" for n, m in others)
        raise DataError(
            f"no local day has prices for {iso}/{market}/{node} and for {names} alike: joint "
            "scenarios need the same historical days; import the missing series"
        )
    return replace(
        learn, dates=learn.dates[keep], prices_usd_per_mwh=learn.prices_usd_per_mwh[keep]
    )


def _joint_prices(learn, other, basis_days, grid, model_prices) -> np.ndarray:
    """Prices [n, T] of another settlement point in the model scenarios.

    Each scenario day adds the other point's historical spread to the main series (the "basis",
    other - main on one historical day of the candidate days, both on the same clock slot):
    for the bootstrap the very day the main price was drawn from, so the other point carries its
    own historical prices of that day; for the regime model a day drawn by the same rule, so
    the spread keeps its historical joint behaviour. Shifts of the main series (forward
    centring) apply to both. Series of another interval length are first put on the main
    series' clock (``on_clock``).
    """
    other = on_clock(other, learn.interval_minutes)
    rows = basis_days[:, grid.day_of_interval]
    other_rows = np.searchsorted(other.dates, learn.dates)[rows]
    basis = (
        other.prices_usd_per_mwh[other_rows, grid.slot_of_interval]
        - learn.prices_usd_per_mwh[rows, grid.slot_of_interval]
    )
    return model_prices + basis


def on_clock(days, interval_minutes: int):
    """A day matrix on ``interval_minutes`` slots (``daygrid.regrid``)."""
    prices = regrid(days.prices_usd_per_mwh, days.interval_minutes, interval_minutes)
    return replace(days, prices_usd_per_mwh=prices, interval_minutes=interval_minutes)


def _fit_days(fit_history: pl.DataFrame, iso: str, node: str, market: str):
    """The day matrix of the series in ``fit_history``; DataError when it holds none."""
    series = fit_history.filter(
        (pl.col("iso") == iso) & (pl.col("market") == market) & (pl.col("node") == node)
    )
    if series.height == 0:
        raise DataError(f"no {iso}/{market}/{node} prices in the history the model is fitted on")
    return day_matrix(series, iso)
