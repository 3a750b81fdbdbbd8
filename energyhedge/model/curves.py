"""Concave piecewise-linear power-to-throughput curves: the one validator and segment maths."""

from __future__ import annotations

import numpy as np

from energyhedge.errors import ConfigError

CURVE_TOLERANCE = 1e-9
"""Absolute tolerance on curve end points and on slope increases (fractions)."""


def curve_segments(
    power_frac: np.ndarray, work_frac: np.ndarray, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """Widths and slopes of a concave curve through (0, 0) and (1, 1), validated.

    Parameters
    ----------
    power_frac, work_frac : ndarray [M + 1]
        Breakpoints as fractions of full power and of full-speed throughput.
    where : str
        What the curve belongs to, for error messages (e.g. ``"job class 'batch'"``).

    Returns
    -------
    width_frac, slope : ndarray [M]
        Segment m covers ``width_frac[m]`` of full power and delivers ``slope[m]`` units of
        full-speed throughput per unit of power; slopes do not increase.

    Raises
    ------
    ConfigError
        Mismatched or too few breakpoints, not from (0, 0) to (1, 1), power not strictly
        increasing, throughput falling, or not concave (all within ``CURVE_TOLERANCE``).
    """
    power = np.asarray(power_frac, dtype=float)
    work = np.asarray(work_frac, dtype=float)
    where = f"{where}: power-to-throughput curve"
    if power.shape != work.shape or power.ndim != 1 or power.size < 2:
        raise ConfigError(f"{where} needs matching power and work breakpoints (at least 2)")
    if not (np.all(np.isfinite(power)) and np.all(np.isfinite(work))):
        raise ConfigError(f"{where} has a non-finite breakpoint")
    if abs(power[0]) > CURVE_TOLERANCE or abs(work[0]) > CURVE_TOLERANCE:
        raise ConfigError(f"{where} must start at (0, 0)")
    if abs(power[-1] - 1) > CURVE_TOLERANCE or abs(work[-1] - 1) > CURVE_TOLERANCE:
        raise ConfigError(f"{where} must end at (1, 1)")
    width = np.diff(power)
    if np.any(width <= 0):
        raise ConfigError(f"{where}: power fractions must increase strictly")
    slope = np.diff(work) / width
    if np.any(slope < -CURVE_TOLERANCE):
        raise ConfigError(f"{where}: throughput must not fall as power rises")
    if np.any(np.diff(slope) > CURVE_TOLERANCE):
        raise ConfigError(
            f"{where} is not concave (slopes {', '.join(f'{s:.3g}' for s in slope)}); "
            "the optimiser needs diminishing returns to power"
        )
    return width, np.maximum(slope, 0.0)


def work_fraction(power_frac: np.ndarray, width: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Throughput as a fraction of full speed at ``power_frac`` of full power (any shape)."""
    knots = np.concatenate([[0.0], np.cumsum(width)])
    return np.interp(power_frac, knots, np.concatenate([[0.0], np.cumsum(width * slope)]))
