"""Power-to-throughput curves of GPU work, fitted from the measured power-cap sweep.

Every curve, fitted or given in a campus file, is checked by the one curve validator,
``energyhedge.model.curves.curve_segments`` (the optimiser uses the same one), within its
``CURVE_TOLERANCE``.

``market_data/workload/emerald_dvfs_sweep.csv`` (Emerald AI field data, Apache-2.0) holds the
throughput of eight workloads under GPU power caps of 100-400 W. Normalising each workload's
measured power per GPU by its value at the highest cap gives points (power fraction,
throughput fraction) ending at (1, 1). The default curve is the upper concave envelope of those
points and (0, 0): a concave piecewise-linear curve an LP can use directly. Being the envelope,
it is the most favourable concave curve consistent with the measurements of the chosen
workloads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from energyhedge.errors import ConfigError, DataError

SWEEP_PATH = (
    Path(__file__).resolve().parents[2] / "market_data" / "workload" / "emerald_dvfs_sweep.csv"
)

# Workload-name prefixes of the sweep: pre-training ("pt_"), fine-tuning ("ft_"), inference.
CURVE_WORKLOADS = {
    "training": ("pt_", "ft_"),
    "pretraining": ("pt_",),
    "finetuning": ("ft_",),
    "inference": ("infer_",),
}


def sweep_points(prefixes: tuple[str, ...], path: Path = SWEEP_PATH) -> np.ndarray:
    """Measured (power fraction, throughput fraction) points of the matching workloads.

    Returns
    -------
    ndarray [N, 2]
        Power per GPU over the workload's power per GPU at its highest cap, and the sweep's
        normalized throughput.
    """
    try:
        sweep = pl.read_csv(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"{path}: cannot read the power-cap sweep ({exc})") from None
    name = pl.col("Workload").str.strip_chars()
    sweep = sweep.filter(pl.any_horizontal([name.str.starts_with(p) for p in prefixes]))
    if sweep.is_empty():
        raise DataError(f"{path}: no workload starts with {', '.join(prefixes)}")
    top = pl.col("power per GPU").sort_by("GPU power cap").last().over("Workload")
    frame = sweep.select(
        (pl.col("power per GPU") / top).alias("power"), pl.col("normalized throughput")
    )
    return frame.to_numpy()


def concave_envelope(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper concave envelope through (0, 0) and (1, 1) of points in the unit square.

    Parameters
    ----------
    points : ndarray [N, 2]
        (power fraction, throughput fraction) pairs, power in (0, 1].

    Returns
    -------
    power_frac, work_frac : ndarray [M]
        Breakpoints of the envelope, from (0, 0) to (1, 1).
    """
    pts = np.vstack([[0.0, 0.0], np.asarray(points, dtype=float), [1.0, 1.0]])
    pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] <= 1)]
    pts = pts[np.lexsort((-pts[:, 1], pts[:, 0]))]
    hull: list[np.ndarray] = []
    for p in pts:
        if hull and p[0] == hull[-1][0]:
            continue  # same power, lower throughput (sorted by throughput descending)
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (a[0] - o[0]) * (p[1] - o[1]) - (a[1] - o[1]) * (p[0] - o[0])
            if cross < 0:
                break
            hull.pop()
        hull.append(p)
    curve = np.array(hull)
    end = int(np.argmax(curve[:, 1] >= 1.0))  # throughput cannot exceed full speed
    curve = curve[: end + 1]
    curve[-1] = (curve[-1][0], 1.0)
    return curve[:, 0], curve[:, 1]


def fitted_curve(name: str = "training", path: Path = SWEEP_PATH) -> tuple[np.ndarray, np.ndarray]:
    """The default curve of a workload family (``CURVE_WORKLOADS`` key), fitted from the sweep."""
    if name not in CURVE_WORKLOADS:
        raise ConfigError(f"unknown curve {name!r}; expected one of {', '.join(CURVE_WORKLOADS)}")
    return concave_envelope(sweep_points(CURVE_WORKLOADS[name], path))
