"""Scenario sets on disk: one long Parquet table, one row per (scenario, interval).

Columns: ``scenario`` (UInt32, 0-based), ``kind`` (Enum: model name or ``stress:<event>``),
``probability`` (Float64, of the scenario), ``interval_start_utc`` (Datetime us UTC),
``price_usd_per_mwh`` (Float32 or Float64 as generated), and the constant columns ``iso``,
``market``, ``node`` and ``interval_minutes``. Rows are sorted by scenario, then time. The file is
written to a temporary name and renamed, so readers never see a half-written table.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl

from energyhedge.atomic_dir import check_out_file
from energyhedge.errors import DataError
from energyhedge.scenarios.scenario_set import ScenarioSet

COLUMNS = (
    "scenario",
    "kind",
    "probability",
    "interval_start_utc",
    "price_usd_per_mwh",
    "iso",
    "market",
    "node",
    "interval_minutes",
)


def to_frame(scenarios: ScenarioSet) -> pl.DataFrame:
    """The long table described in the module docstring."""
    s, t = scenarios.prices_usd_per_mwh.shape
    row_scenario = pl.Series("scenario", np.repeat(np.arange(s, dtype=np.uint32), t))
    kind_dtype = pl.Enum(sorted(set(scenarios.kind.tolist())))
    kinds = pl.Series("kind", scenarios.kind.tolist(), dtype=kind_dtype)
    stamps = pl.Series("interval_start_utc", scenarios.interval_start_utc).dt.replace_time_zone(
        "UTC"
    )
    return pl.DataFrame(
        [
            row_scenario,
            kinds.gather(row_scenario),
            pl.Series("probability", scenarios.probabilities).gather(row_scenario),
            stamps.gather(np.tile(np.arange(t, dtype=np.uint32), s)),
            pl.Series("price_usd_per_mwh", scenarios.prices_usd_per_mwh.ravel()),
        ]
    ).with_columns(
        iso=pl.lit(scenarios.iso),
        market=pl.lit(scenarios.market),
        node=pl.lit(scenarios.node),
        interval_minutes=pl.lit(scenarios.interval_minutes, dtype=pl.Int32),
    )


def write_scenarios(scenarios: ScenarioSet, path: str | Path) -> Path:
    """Write ``scenarios`` to ``path`` (Parquet) atomically; return the path.

    ConfigError (exit 2) when ``path`` is a folder or lies under a file.
    """
    path = check_out_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        to_frame(scenarios).write_parquet(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def read_scenarios(path: str | Path) -> ScenarioSet:
    """Read a table written by :func:`write_scenarios` back into a ScenarioSet."""
    try:
        frame = pl.read_parquet(path).sort("scenario", "interval_start_utc")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path}: cannot read scenario table ({exc})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: scenario table lacks columns {missing}")
    per = frame.group_by("scenario", maintain_order=True).agg(
        pl.len(), pl.col("kind").first().cast(pl.Utf8), pl.col("probability").first()
    )
    t = int(per["len"][0])
    if (per["len"] != t).any():
        raise DataError(f"{path}: scenarios have different numbers of intervals")
    stamps = frame["interval_start_utc"][:t].dt.replace_time_zone(None).to_numpy()
    return ScenarioSet(
        iso=str(frame["iso"][0]),
        market=str(frame["market"][0]),
        node=str(frame["node"][0]),
        interval_start_utc=stamps.astype("datetime64[us]"),
        interval_minutes=int(frame["interval_minutes"][0]),
        prices_usd_per_mwh=frame["price_usd_per_mwh"].to_numpy().reshape(per.height, t),
        probabilities=per["probability"].to_numpy(),
        kind=per["kind"].to_numpy().astype(str),
    )
