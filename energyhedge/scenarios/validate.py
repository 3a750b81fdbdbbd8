"""Compare simulated and historical price statistics by month and hour of day.

Statistics (prices in $/MWh): ``mean``, ``p50``, ``p95``, ``p99``, ``p99_9``, the share of
intervals above $1,000 and $3,000 (``share_above_1000``, ``share_above_3000``) and, per month,
the mean length in hours of a spike (a run of consecutive intervals above $1,000, attributed to
the month it starts in; ``spike_hours``). Local months and hours-beginning are those of the ISO.

The table has one row per (month, hour, statistic); ``hour`` is null for whole-month rows.
``simulated`` pools every scenario. For whole-month rows, ``simulated_p05`` and
``simulated_p95`` give the 5th and 95th percentile of the statistic computed scenario by scenario
(the spread of a single simulated month), and ``inside_band`` says whether the historical value
lies in it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from energyhedge.data.calendar import local_fields
from energyhedge.scenarios.scenario_set import ScenarioSet

SPIKE_USD_PER_MWH = 1000.0
QUANTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0, "p99_9": 99.9}
STATISTICS = (
    "mean",
    *QUANTILES,
    "share_above_1000",
    "share_above_3000",
    "spike_hours",
)


def _stats(prices: np.ndarray) -> dict[str, np.ndarray]:
    """Price statistics along the last axis."""
    out = {"mean": prices.mean(axis=-1)}
    qs = np.percentile(prices, list(QUANTILES.values()), axis=-1)
    out.update(zip(QUANTILES, qs, strict=True))
    out["share_above_1000"] = (prices > 1000.0).mean(axis=-1)
    out["share_above_3000"] = (prices > 3000.0).mean(axis=-1)
    return out


def spike_runs(prices: np.ndarray, threshold: float = SPIKE_USD_PER_MWH) -> tuple[np.ndarray, ...]:
    """Runs of consecutive intervals above ``threshold`` in each row of ``prices`` [S, T].

    Returns
    -------
    row, start, length : ndarray [R] of int
        Scenario, first interval and number of intervals of every run.
    """
    above = np.zeros((prices.shape[0], prices.shape[1] + 2), dtype=np.int8)
    above[:, 1:-1] = prices > threshold
    step = np.diff(above, axis=1)
    row, start = np.nonzero(step == 1)
    _, end = np.nonzero(step == -1)
    return row, start, end - start


def _month_spike_hours(
    prices: np.ndarray, month: np.ndarray, interval_hours: float
) -> tuple[np.ndarray, np.ndarray]:
    """Total spike hours and number of spikes per scenario and start month, each [S, 12]."""
    row, start, length = spike_runs(prices)
    cell = row * 12 + month[start] - 1
    size = prices.shape[0] * 12
    count = np.bincount(cell, minlength=size).reshape(-1, 12)
    total = np.bincount(cell, weights=length * interval_hours, minlength=size).reshape(-1, 12)
    return total, count


def _ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def compare(history: pl.DataFrame, scenarios: ScenarioSet) -> pl.DataFrame:
    """Statistics table of a canonical history of one series against a scenario set."""
    hist_fields = local_fields(
        history["interval_start_utc"].dt.replace_time_zone(None).to_numpy(), scenarios.iso
    )
    sim_fields = local_fields(scenarios.interval_start_utc, scenarios.iso)
    hist = history["price_usd_per_mwh"].to_numpy()[None, :]
    sim = scenarios.prices_usd_per_mwh
    hours = scenarios.interval_minutes / 60.0
    hist_spike = _ratio(*_month_spike_hours(hist, hist_fields["month"], hours))[0]
    sim_total, sim_count = _month_spike_hours(sim, sim_fields["month"], hours)
    sim_spike_rows = _ratio(sim_total, sim_count)
    pooled_spike = _ratio(sim_total.sum(axis=0), sim_count.sum(axis=0))

    records = []
    for month in np.unique(hist_fields["month"]):
        h_mask = hist_fields["month"] == month
        s_mask = sim_fields["month"] == month
        if not s_mask.any():
            continue
        per_scenario = _stats(sim[:, s_mask])
        pooled = _stats(sim[:, s_mask].ravel())
        historical = _stats(hist[0, h_mask])
        per_scenario["spike_hours"] = sim_spike_rows[:, month - 1]
        pooled["spike_hours"] = pooled_spike[month - 1]
        historical["spike_hours"] = hist_spike[month - 1]
        for stat in STATISTICS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanpercentile(per_scenario[stat], [5, 95])
            value = float(historical[stat])
            records.append(
                (
                    int(month),
                    None,
                    stat,
                    value,
                    float(pooled[stat]),
                    float(lo),
                    float(hi),
                    bool(lo <= value <= hi) if np.isfinite(value) else None,
                )
            )
        for hour in range(24):
            hh = h_mask & (hist_fields["hour_ending"] == hour + 1)
            sh = s_mask & (sim_fields["hour_ending"] == hour + 1)
            if not hh.any() or not sh.any():
                continue
            historical = _stats(hist[0, hh])
            pooled = _stats(sim[:, sh].ravel())
            for stat in STATISTICS[:-1]:
                records.append(
                    (
                        int(month),
                        hour,
                        stat,
                        float(historical[stat]),
                        float(pooled[stat]),
                        None,
                        None,
                        None,
                    )
                )
    schema = {
        "month": pl.Int32,
        "hour": pl.Int32,
        "statistic": pl.Utf8,
        "historical": pl.Float64,
        "simulated": pl.Float64,
        "simulated_p05": pl.Float64,
        "simulated_p95": pl.Float64,
        "inside_band": pl.Boolean,
    }
    return pl.DataFrame(records, schema=schema, orient="row")


def plot(table: pl.DataFrame, path: str | Path, title: str) -> Path:
    """Write a PNG (or SVG, by suffix) of four panels.

    Monthly mean, P99 and share above $1,000 (historical, pooled simulated and the simulated
    5-95 % band), and the mean price by local hour of day over all months.
    """
    months = table.filter(pl.col("hour").is_null())
    hourly = (
        table.filter(pl.col("hour").is_not_null() & (pl.col("statistic") == "mean"))
        .group_by("hour")
        .agg(pl.col("historical", "simulated").mean())
        .sort("hour")
    )
    fig = Figure(figsize=(11, 7))
    axes = fig.subplots(2, 2)
    panels = (("mean", "mean $/MWh"), ("p99", "P99 $/MWh"), ("share_above_1000", "share > $1,000"))
    for ax, (stat, label) in zip(axes.ravel(), panels, strict=False):
        rows = months.filter(pl.col("statistic") == stat).sort("month")
        x = rows["month"].to_numpy()
        ax.fill_between(
            x,
            rows["simulated_p05"].to_numpy(),
            rows["simulated_p95"].to_numpy(),
            alpha=0.3,
            label="simulated 5-95 %",
        )
        ax.plot(x, rows["simulated"].to_numpy(), label="simulated (pooled)")
        ax.plot(x, rows["historical"].to_numpy(), "o-", label="historical")
        ax.set_xlabel("month")
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot(hourly["hour"].to_numpy(), hourly["simulated"].to_numpy(), label="simulated")
    ax.plot(hourly["hour"].to_numpy(), hourly["historical"].to_numpy(), "o-", label="historical")
    ax.set_xlabel("local hour beginning")
    ax.set_ylabel("mean of monthly means $/MWh")
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path
