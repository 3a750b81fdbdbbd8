"""A calibrated regime-switching price model: seasonal base, mean reversion and a spike regime.

On the local day x slot grid (see ``daygrid``), with ``m`` the calendar month and ``k`` the
clock slot of step ``t``::

    base_t  = scale * sinh(mu[m, k] + e_t)            ($/MWh)
    e_t     = phi * e_{t-1} + sigma[m, k] * z_t       z_t ~ N(0, 1)
    price_t = threshold + (ceiling_t - threshold) * Q(Phi(v_t))   while a spike is active,
            = base_t                                                otherwise,
    v_t     = w_t at a spike's first step, size_rho * v_{t-1} + sqrt(1 - size_rho^2) * w_t
              at its later steps,                                   w_t ~ N(0, 1)

``asinh(price / scale)`` behaves like a log for large prices and stays defined for negative
ones. ``ceiling_t`` is the offer cap plus adder room in force on the day (``caps``), so a spike
size is a position between the threshold and the ceiling and scales with the cap of the period;
``Q`` is the quantile function of that position in the step's month (``size_quantiles[m]`` at
evenly spaced levels, linearly interpolated) and ``size_rho`` keeps consecutive hours of one
spike alike. A spike starts at step t with probability ``entry[m, k]`` when none was active at
t-1; each of its steps is its last with probability ``exit[m, k]`` of that step's month and clock
slot, so the duration distribution depends on the season and the hour a spike starts (evening
spikes end with the evening), and no spike lasts longer than ``MAX_SPIKE_DAYS`` days.

Fitting: a step is a spike step when its price exceeds ``threshold``; ``mu`` is the mean of
``asinh(price / scale)`` over non-spike steps per (month, slot); ``phi`` the least-squares
slope of the residual on its previous value over consecutive non-spike pairs; ``sigma`` the
root-mean-square innovation per (month, slot) (the month's value where a cell has fewer than
``MIN_CELL`` innovations); ``entry`` the number of spike starts over the number of steps
that follow a non-spike step, per (month, slot); ``exit[m, k]`` the slot share times a month
factor (at most 1): the slot share is the share of spike steps in slot k that end their spike
(the next step is not a spike or not in the history), the share over all slots where a slot has
fewer than ``MIN_CELL`` spike steps; the month factor is ``(E_m + a) / (X_m + a)`` with ``E_m``
the spike ends in month m, ``X_m`` the sum of the slot shares over its spike steps (the ends
expected at the slot shares) and ``a`` the ends of ``PRIOR_STEPS`` spike steps at the all-slot
share, so a month with few spikes keeps the slot shares; ``size_quantiles[m]`` the quantiles of
the position ``(price - threshold) / (ceiling - threshold)`` (clipped to [0, 1]) over the spike
steps of month m, averaged level by level with those over all spike steps with weight
``n_m / (n_m + PRIOR_STEPS)`` on the month's own (``n_m`` its spike steps), so a month with few
spikes keeps the all-year sizes; ``size_rho`` the correlation of the normal scores of
consecutive steps of the same spike.
Months absent from the history borrow the parameters of the nearest month that has data.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from energyhedge.errors import ConfigError, DataError
from energyhedge.scenarios.daygrid import DayMatrix, months

MIN_CELL = 5
SIZE_LEVELS = 101
MAX_SPIKE_DAYS = 2
PRIOR_STEPS = 20.0  # all-year spike steps a month's spike sizes and exits are shrunk toward
DEFAULT_SCALE_USD_PER_MWH = 20.0
DEFAULT_THRESHOLD_USD_PER_MWH = 300.0


@dataclass(frozen=True)
class RegimeParams:
    """Parameters of the regime model (see module docstring); arrays are [12, K] by month, slot.

    Attributes
    ----------
    interval_minutes : int
        Length of one step (min); K = 1440 / interval_minutes.
    scale_usd_per_mwh, threshold_usd_per_mwh : float
    mu, sigma, entry : ndarray [12, K]
    phi : float
    exit : ndarray [12, K]
        Probability that a spike step in month m and clock slot k is the spike's last.
    size_quantiles : ndarray [12, Q]
        Quantiles of a spike's position between threshold and ceiling in month m at levels 0 .. 1.
    size_rho : float
        Correlation of spike sizes in consecutive steps of one spike (normal scores).
    """

    interval_minutes: int
    scale_usd_per_mwh: float
    threshold_usd_per_mwh: float
    mu: np.ndarray
    sigma: np.ndarray
    phi: float
    entry: np.ndarray
    exit: np.ndarray
    size_quantiles: np.ndarray
    size_rho: float

    def save(self, path: Path) -> None:
        """Write the parameters as JSON (one line per key, one per month for [12, K] tables)."""
        lines = []
        for name, value in self.__dict__.items():
            if isinstance(value, np.ndarray) and value.ndim == 2:
                rows = ",\n  ".join(json.dumps(row) for row in value.tolist())
                lines.append(f'"{name}": [\n  {rows}\n ]')
            else:
                plain = value.tolist() if isinstance(value, np.ndarray) else value
                lines.append(f'"{name}": {json.dumps(plain)}')
        Path(path).write_text("{\n " + ",\n ".join(lines) + "\n}\n")

    @classmethod
    def load(cls, path: Path) -> RegimeParams:
        """Read parameters written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text())
            names = ("mu", "sigma", "entry", "exit", "size_quantiles")
            arrays = {k: np.asarray(data[k], dtype=float) for k in names}
            params = cls(
                interval_minutes=int(data["interval_minutes"]),
                scale_usd_per_mwh=float(data["scale_usd_per_mwh"]),
                threshold_usd_per_mwh=float(data["threshold_usd_per_mwh"]),
                phi=float(data["phi"]),
                size_rho=float(data["size_rho"]),
                **arrays,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a regime parameter file ({exc})") from None
        k = params.mu.shape[-1] if params.mu.ndim else 0
        for name in ("mu", "sigma", "entry", "exit", "size_quantiles"):
            shape = getattr(params, name).shape
            levels = name == "size_quantiles" and len(shape) == 2 and shape[1] >= 2
            if shape != (12, shape[1] if levels else k) or k < 1:
                raise ConfigError(
                    f"{path}: key '{name}' has shape {list(shape)}, expected 12 monthly rows"
                    f"{'' if name == 'size_quantiles' else f' of {k} slots'}; re-create the "
                    "file with `energyhedge scenarios fit`"
                )
        return params


def _cell_stat(values: np.ndarray, month: np.ndarray, slot: np.ndarray, k: int) -> np.ndarray:
    """Per (month, slot) mean of ``values`` and count, as [2, 12, k]; NaN mean where empty."""
    cell = month * k + slot
    count = np.bincount(cell, minlength=12 * k).astype(float)
    total = np.bincount(cell, weights=values, minlength=12 * k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.stack([mean.reshape(12, k), count.reshape(12, k)])


def _fill_months(table: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Copy the nearest present month (circularly) into months without history."""
    have = np.flatnonzero(present)
    out = table.copy()
    for m in np.flatnonzero(~present):
        gap = np.abs(have - m)
        out[m] = table[have[np.argmin(np.minimum(gap, 12 - gap))]]
    return out


def _monthly_quantiles(position: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Quantiles [12, SIZE_LEVELS] of ``position`` per month, shrunk toward all months'.

    Each month's quantiles are averaged level by level with the all-year quantiles, with weight
    ``n_m / (n_m + PRIOR_STEPS)`` on the month's own (``n_m`` its number of values).
    """
    levels = np.linspace(0.0, 1.0, SIZE_LEVELS)
    pooled = np.quantile(position, levels)
    out = np.tile(pooled, (12, 1))
    for m in np.unique(month):
        own = position[month == m]
        weight = own.size / (own.size + PRIOR_STEPS)
        out[m] = weight * np.quantile(own, levels) + (1.0 - weight) * pooled
    return out


def fit_regime(
    history: DayMatrix,
    ceiling_by_day: np.ndarray,
    *,
    scale_usd_per_mwh: float = DEFAULT_SCALE_USD_PER_MWH,
    threshold_usd_per_mwh: float = DEFAULT_THRESHOLD_USD_PER_MWH,
) -> RegimeParams:
    """Fit the regime model to historical prices (see module docstring for the estimators).

    Parameters
    ----------
    history : DayMatrix
    ceiling_by_day : ndarray [H]
        Offer cap plus adder room ($/MWh) in force on each historical day.
    """
    prices = history.prices_usd_per_mwh
    n_days, k = prices.shape
    if n_days < 2:
        raise DataError("regime model needs at least two historical days to fit")
    p = prices.ravel()
    month = np.repeat(months(history.dates) - 1, k)
    slot = np.tile(np.arange(k), n_days)
    step_index = np.repeat((history.dates - history.dates[0]).astype(np.int64), k) * k + slot
    follows = np.r_[False, np.diff(step_index) == 1]  # step t has its step t-1 in the history
    present = np.bincount(month, minlength=12) > 0

    y = np.arcsinh(p / scale_usd_per_mwh)
    spike = p > threshold_usd_per_mwh
    calm = ~spike
    mu_cell, _ = _cell_stat(y[calm], month[calm], slot[calm], k)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        month_mu = np.nanmean(mu_cell, axis=1, keepdims=True)
    mu = _fill_months(np.where(np.isnan(mu_cell), month_mu, mu_cell), present)

    resid = y - mu[month, slot]
    pair = follows & calm & np.r_[False, calm[:-1]]
    prev = np.r_[0.0, resid[:-1]]
    phi = float(np.sum(resid[pair] * prev[pair]) / np.sum(prev[pair] ** 2))
    if not -1.0 < phi < 1.0:
        raise DataError(f"fitted mean reversion phi={phi:.3f} is not stationary")
    innovation = resid - phi * prev
    var_cell, count = _cell_stat(innovation[pair] ** 2, month[pair], slot[pair], k)
    var_month = np.bincount(month[pair], weights=innovation[pair] ** 2, minlength=12) / np.maximum(
        np.bincount(month[pair], minlength=12), 1
    )
    variance = np.where(count >= MIN_CELL, var_cell, var_month[:, None])
    sigma = _fill_months(np.sqrt(variance), present)

    at_risk = follows & np.r_[False, calm[:-1]]
    start_rate, _ = _cell_stat(spike[at_risk].astype(float), month[at_risk], slot[at_risk], k)
    entry = _fill_months(np.nan_to_num(start_rate), present)

    starts = spike & ~(follows & np.r_[False, spike[:-1]])
    if starts.any():
        ends = spike & ~(np.r_[follows[1:], False] & np.r_[spike[1:], False])
        ended, spike_count = (
            np.bincount(slot[ends], minlength=k),
            np.bincount(slot[spike], minlength=k),
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            slot_exit = np.where(
                spike_count >= MIN_CELL, ended / spike_count, ended.sum() / spike_count.sum()
            )
        # Month factor: the month's ends over those its spike steps would have at the slot
        # shares, each side plus the ends of PRIOR_STEPS spike steps at the all-slot share.
        prior = PRIOR_STEPS * ended.sum() / spike_count.sum()
        expected = np.bincount(month[spike], weights=slot_exit[slot[spike]], minlength=12)
        factor = (np.bincount(month[ends], minlength=12) + prior) / (expected + prior)
        exit_rate = _fill_months(np.minimum(factor[:, None] * slot_exit, 1.0), present)
        ceiling = np.repeat(ceiling_by_day, k)[spike]
        position = (p[spike] - threshold_usd_per_mwh) / (ceiling - threshold_usd_per_mwh)
        position = np.clip(position, 0.0, 1.0)
        size_quantiles = _fill_months(_monthly_quantiles(position, month[spike]), present)
        score = np.zeros(p.size)
        score[spike] = ndtri((rankdata(position) - 0.5) / position.size)
        again = spike & ~starts  # later steps of a spike, with the previous step in it
        size_rho = (
            float(np.corrcoef(score[again], score[np.flatnonzero(again) - 1])[0, 1])
            if again.sum() > 2
            else 0.0
        )
    else:
        exit_rate, size_quantiles, size_rho = np.ones((12, k)), np.ones((12, 2)), 0.0
    return RegimeParams(
        interval_minutes=history.interval_minutes,
        scale_usd_per_mwh=scale_usd_per_mwh,
        threshold_usd_per_mwh=threshold_usd_per_mwh,
        mu=mu,
        sigma=sigma,
        phi=phi,
        entry=entry,
        exit=exit_rate,
        size_quantiles=size_quantiles,
        size_rho=size_rho,
    )


def simulate_regime(
    params: RegimeParams,
    dates: np.ndarray,
    ceiling_by_day: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Simulate ``n`` price paths over local days ``dates`` on the day x slot grid.

    ``ceiling_by_day`` [D] is the offer cap plus adder room ($/MWh) in force on each day.

    The residual starts from its stationary distribution on the first day; no spike is active
    at the first step. A spike can start only after a step without one, as in the fit.

    Returns
    -------
    ndarray [n, D * K] ($/MWh), days in order, slots within each day.
    """
    k = params.mu.shape[1]
    month = np.repeat(months(dates) - 1, k)
    slot = np.tile(np.arange(k), dates.size)
    steps = month.size
    sigma = params.sigma[month, slot]
    e0 = rng.standard_normal(n) * sigma[0] / np.sqrt(1.0 - params.phi**2)
    eps = rng.standard_normal((n, steps)) * sigma
    resid, _ = lfilter([1.0], [1.0, -params.phi], eps, axis=1, zi=params.phi * e0[:, None])
    prices = params.scale_usd_per_mwh * np.sinh(params.mu[month, slot] + resid)
    del eps, resid

    entry = params.entry[month, slot]
    # Candidate starts, in time order; a candidate becomes a spike only if the scenario had no
    # spike at the step before (a loop over the steps that have candidates, vectorised over them).
    step_of, row_of = np.nonzero(rng.random((steps, n)) < entry[:, None])
    first = step_of > 0
    step_of, row_of = step_of[first], row_of[first]
    if step_of.size == 0:
        return prices
    longest = MAX_SPIKE_DAYS * k
    offset = np.arange(longest)
    ahead = np.minimum(step_of[:, None] + offset, steps - 1)
    ending = rng.random((step_of.size, longest)) < params.exit[month[ahead], slot[ahead]]
    del ahead
    ending[:, -1] = True
    length = np.argmax(ending, axis=1) + 1
    del ending
    accepted = np.zeros(step_of.size, dtype=bool)
    last_active = np.full(n, -2, dtype=np.int64)
    group = np.flatnonzero(np.diff(step_of, prepend=-1))
    for lo, hi in zip(group, np.r_[group[1:], step_of.size], strict=True):
        t, rows = step_of[lo], row_of[lo:hi]
        ok = last_active[rows] < t - 1
        accepted[lo:hi] = ok
        last_active[rows[ok]] = t + length[lo:hi][ok] - 1
    step_of, row_of, length = step_of[accepted], row_of[accepted], length[accepted]

    # Size levels along each spike: AR(1) normal scores restarted at each spike's first step.
    level = rng.standard_normal((step_of.size, longest))
    keep = np.sqrt(1.0 - params.size_rho**2)
    for j in range(1, longest):
        level[:, j] = params.size_rho * level[:, j - 1] + keep * level[:, j]
    at = step_of[:, None] + offset
    inside = (offset < length[:, None]) & (at < steps)
    rows, at = np.broadcast_to(row_of[:, None], at.shape)[inside], at[inside]
    # Piecewise-linear quantile function of each step's month, at the level's probability.
    n_levels = params.size_quantiles.shape[1]
    where = ndtr(level[inside]) * (n_levels - 1)
    below = np.minimum(where.astype(np.int64), n_levels - 2)
    cell = month[at] * n_levels + below
    table = params.size_quantiles.ravel()
    size = table[cell] + (where - below) * (table[cell + 1] - table[cell])
    room = np.repeat(ceiling_by_day, k)[at] - params.threshold_usd_per_mwh
    prices[rows, at] = params.threshold_usd_per_mwh + room * size
    return prices
