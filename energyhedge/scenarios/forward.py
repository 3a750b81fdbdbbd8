"""Centring scenarios on a trader's forward curve of monthly on-peak and off-peak prices."""

from __future__ import annotations

import numpy as np
import polars as pl

from energyhedge.data.calendar import shape_mask
from energyhedge.errors import ConfigError, DataError
from energyhedge.scenarios.daygrid import Horizon

FORWARD_COLUMNS = ("month", "peak_usd_per_mwh", "offpeak_usd_per_mwh")


def centre_on_forward(
    prices_usd_per_mwh: np.ndarray,
    probabilities: np.ndarray,
    grid: Horizon,
    iso: str,
    forward_curve: pl.DataFrame,
) -> None:
    """Scale scenario prices in place so each month's mean matches the forward curve.

    Within each local month of the horizon, on-peak intervals (the ISO's 5x16 shape) are
    multiplied by ``peak / m_peak`` and all other intervals by ``offpeak / m_off``, where ``m``
    is the probability-weighted mean price of those intervals over all scenarios. Intervals
    keep their relative shape and spikes.

    Parameters
    ----------
    prices_usd_per_mwh : ndarray [S, T]
        Modified in place.
    probabilities : ndarray [S]
    grid : Horizon
    iso : str
    forward_curve : pl.DataFrame
        Columns ``month`` (a date in the month, or ``"YYYY-MM"``), ``peak_usd_per_mwh``,
        ``offpeak_usd_per_mwh``; one row per month, covering every month of the horizon.
    """
    missing = [c for c in FORWARD_COLUMNS if c not in forward_curve.columns]
    if missing:
        raise ConfigError(f"forward curve lacks columns {missing}; needs {list(FORWARD_COLUMNS)}")
    month_col = forward_curve["month"]
    if month_col.dtype == pl.Utf8:
        month_col = (month_col + "-01").str.to_date("%Y-%m-%d", strict=False)
    if month_col.null_count():
        raise ConfigError("forward curve column 'month' must hold dates or 'YYYY-MM' strings")
    curve_months = month_col.cast(pl.Date).to_numpy().astype("datetime64[M]")
    if np.unique(curve_months).size != curve_months.size:
        raise ConfigError("forward curve has more than one row for a month")
    order = np.argsort(curve_months)
    curve_months = curve_months[order]
    interval_month = grid.dates.astype("datetime64[M]")[grid.day_of_interval]
    row = np.minimum(np.searchsorted(curve_months, interval_month), curve_months.size - 1)
    found = curve_months[row] == interval_month
    if not found.all():
        absent = sorted({str(m) for m in interval_month[~found]})
        raise ConfigError(f"forward curve has no row for month(s) {', '.join(absent)}")
    peak = shape_mask("5x16", iso, grid.interval_start_utc, grid.interval_minutes)
    target = np.where(
        peak,
        forward_curve["peak_usd_per_mwh"].to_numpy()[order][row],
        forward_curve["offpeak_usd_per_mwh"].to_numpy()[order][row],
    )
    group = row * 2 + peak
    mean_path = probabilities @ prices_usd_per_mwh
    count = np.bincount(group, minlength=2 * curve_months.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        group_mean = np.bincount(group, weights=mean_path, minlength=count.size) / count
    model_mean = group_mean[group]
    bad = (model_mean <= 0) | (target <= 0)
    if bad.any():
        t = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"cannot centre by scaling in {interval_month[t]}: model mean "
            f"{model_mean[t]:.2f} and forward {target[t]:.2f} $/MWh must both be positive"
        )
    prices_usd_per_mwh *= (target / model_mean).astype(prices_usd_per_mwh.dtype)
