"""The other side of the campus's business: the GPU-hours it sells, and its margin.

Revenue model. Every GPU-hour delivered is sold at the GPU rental-price index I ($/GPU-h),
except the GPU-hours of fixed-price reservations, sold at their price. Over a horizon of H
hours with index average Ibar_s in scenario s:

    revenue_s = Ibar_s x (G_s - R) + sum_r price_r x gpus_r x H + q x H x (K - Ibar_s)

where G_s is the fleet's GPU-hours delivered, R = sum_r gpus_r x H the reserved GPU-hours, and
the last term the cash settlement of an index swap sold on q GPU-hours per hour at the fixed
price K (the seller receives K and pays the period's average index). The margin is
``revenue_s - cash cost_s`` (all-in cost without the value of work not done), reported per
GPU-hour delivered.

A reservation is firm: its GPUs run whatever the power price (``reserve`` turns them into
must-run load), so it removes the flexibility to curtail that capacity. Its size is chosen
among the sizes offered by the margin objective ``-E[M] + lambda CVaR(-M)`` in sample; the
index swap is sized inside the fleet LP with the power hedges.

Index scenarios. The project ships no index data; a swap's strike is the user's forward quote
(``strike_usd_per_gpu_hour``, or ``forward_csv``: ``start,end,usd_per_gpu_hour`` rows, the
quote whose period covers the horizon). ``IndexModel`` gives the index level per
horizon day: from a user's CSV history of daily index values (``date,usd_per_gpu_hour``),
daily log-changes drawn from that history; else an explicitly illustrative lognormal walk
with the stated daily volatility around the stated level (no drift in expectation).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from energyhedge.campus import Campus
from energyhedge.campus.model import InferenceClass
from energyhedge.config import Table
from energyhedge.errors import ConfigError
from energyhedge.model.measures import mean_plus_cvar
from energyhedge.user_csv import read_text


@dataclass(frozen=True)
class IndexModel:
    """How index scenarios are drawn (see the module docstring).

    Attributes
    ----------
    level_usd_per_gpu_hour : float
        Index level on the day before the horizon ($/GPU-h).
    daily_volatility : float
        Standard deviation of the daily log-change (illustrative model).
    history_log_changes : ndarray or None
        Daily log-changes of the user's index history (then used instead of the volatility).
    source : str
        "illustrative parameters" or the CSV path, for the report.
    """

    level_usd_per_gpu_hour: float
    daily_volatility: float
    history_log_changes: np.ndarray | None
    source: str

    def daily_levels(self, days: int, n: int, seed: int) -> np.ndarray:
        """Index level of each horizon day in ``n`` scenarios, [n, days] ($/GPU-h)."""
        rng = np.random.default_rng(seed)
        if self.history_log_changes is not None:
            steps = rng.choice(self.history_log_changes, size=(n, days))
        else:
            sigma = self.daily_volatility
            steps = sigma * rng.standard_normal((n, days)) - 0.5 * sigma**2
        return self.level_usd_per_gpu_hour * np.exp(np.cumsum(steps, axis=1))


@dataclass(frozen=True)
class Reservation:
    """A fixed-price sale of ``gpus`` GPU-hours per hour of a campus's training tier.

    ``sizes`` are the GPU counts that may be offered (the fleet run keeps the one with the best
    margin objective, ``margin_objective_usd``); ``gpus`` is the size in use.
    """

    campus: str
    tier: str
    gpus: float
    price_usd_per_gpu_hour: float
    sizes: tuple[float, ...] = ()


@dataclass(frozen=True)
class IndexSwap:
    """A cash-settled swap on the index average, sold on up to ``max_gpus`` GPU-h per hour."""

    name: str
    strike_usd_per_gpu_hour: float
    max_gpus: float


@dataclass(frozen=True)
class ComputeBook:
    """The fleet's compute contracts and index model."""

    index: IndexModel
    reservations: tuple[Reservation, ...]
    swap: IndexSwap | None

    def without_sales(self) -> ComputeBook:
        """No reservation and no swap: every GPU-hour sold at the index."""
        return dataclasses.replace(self, reservations=(), swap=None)

    def candidates(self) -> list[ComputeBook]:
        """One book per combination of the reservations' sizes."""
        sizes = [r.sizes or (r.gpus,) for r in self.reservations]
        return [
            dataclasses.replace(
                self,
                reservations=tuple(
                    dataclasses.replace(r, gpus=g)
                    for r, g in zip(self.reservations, combo, strict=True)
                ),
            )
            for combo in itertools.product(*sizes)
        ]


def swap_payoff_usd(
    strike_usd_per_gpu_hour: float, index_average: np.ndarray, gpus: float, hours: float
) -> np.ndarray:
    """What the seller of the swap receives per scenario ($): ``gpus x hours x (K - Ibar)``."""
    return gpus * hours * (strike_usd_per_gpu_hour - np.asarray(index_average, dtype=float))


def reserve(campus: Campus, reservation: Reservation) -> Campus:
    """The campus with ``reservation.gpus`` of a training tier made must-run and sold.

    The reserved GPUs leave the tier and become an inference-like class running at full speed
    in every hour, worth the reservation price per GPU-hour: no ladder or schedule can curtail
    them. ConfigError when the tier is missing or smaller than the reservation.
    """
    tiers = {t.name: t for t in campus.training}
    tier = tiers.get(reservation.tier)
    if tier is None:
        raise ConfigError(
            f"reservation on {campus.name!r}: no training tier {reservation.tier!r} (tiers: "
            f"{', '.join(tiers) or 'none'}); name a tier of that campus"
        )
    if reservation.gpus > tier.gpus:
        raise ConfigError(
            f"reservation on {campus.name!r}/{tier.name}: {reservation.gpus:g} GPUs reserved "
            f"but the tier has {tier.gpus:g}; reserve at most the tier's GPUs"
        )
    firm = InferenceClass(
        name=f"{tier.name}-reserved",
        gpu=tier.gpu,
        gpus=reservation.gpus,
        utilisation_by_hour=np.ones(24),
        mw_by_hour=None,
        value_usd_per_gpu_hour=reservation.price_usd_per_gpu_hour,
    )
    left = dataclasses.replace(tier, gpus=tier.gpus - reservation.gpus)
    training = tuple(
        left if t.name == tier.name else t
        for t in campus.training
        if t.name != tier.name or left.gpus > 0  # a tier reserved whole leaves the campus
    )
    return dataclasses.replace(campus, training=training, inference=(*campus.inference, firm))


def margin_objective_usd(
    margin_usd: np.ndarray, probabilities: np.ndarray, alpha: float, cvar_weight: float
) -> float:
    """``-E[M] + lambda x CVaR_alpha(-M)`` ($): the optimiser's objective, on the margin."""
    return mean_plus_cvar(-np.asarray(margin_usd, dtype=float), probabilities, alpha, cvar_weight)


@dataclass(frozen=True)
class Margin:
    """Revenue, cash cost and margin per scenario ($, [S]) and per GPU-hour delivered."""

    revenue_usd: np.ndarray
    cash_cost_usd: np.ndarray
    gpu_hours: np.ndarray

    @property
    def margin_usd(self) -> np.ndarray:
        return self.revenue_usd - self.cash_cost_usd

    @property
    def margin_per_gpu_hour_usd(self) -> np.ndarray:
        return self.margin_usd / self.gpu_hours


def margin(
    book: ComputeBook,
    *,
    index_average: np.ndarray,
    gpu_hours: np.ndarray,
    cash_cost_usd: np.ndarray,
    hours: float,
    swap_gpus: float,
) -> Margin:
    """The margin of the module docstring per scenario, for a swap of ``swap_gpus``."""
    index_average = np.asarray(index_average, dtype=float)
    reserved = sum(r.gpus for r in book.reservations) * hours
    fixed = sum(r.gpus * r.price_usd_per_gpu_hour for r in book.reservations) * hours
    revenue = index_average * (gpu_hours - reserved) + fixed
    if book.swap is not None and swap_gpus:
        revenue = revenue + swap_payoff_usd(
            book.swap.strike_usd_per_gpu_hour, index_average, swap_gpus, hours
        )
    return Margin(revenue, np.asarray(cash_cost_usd, dtype=float), np.asarray(gpu_hours, float))


def load_compute(
    table: Table,
    base: Path,
    campuses: tuple[str, ...],
    horizon: tuple[date, date] | None = None,
) -> ComputeBook:
    """The fleet file's ``[compute]`` table (see ``models/fleet/tx-pjm.toml``); ``horizon``
    (first and last day) picks the swap's strike from a forward-quote file."""
    table.reject_unknown(
        {
            "index_csv",
            "index_usd_per_gpu_hour",
            "index_daily_volatility",
            "reservation",
            "swap",
        }
    )
    level = table.number("index_usd_per_gpu_hour", min_value=0.0)
    changes, source = None, "illustrative parameters (no index data is shipped)"
    if table.has("index_csv"):
        path = base / table.get("index_csv", str)
        changes, level = read_index_history(path)
        source = str(path)
    index = IndexModel(
        level_usd_per_gpu_hour=level,
        daily_volatility=table.number("index_daily_volatility", 0.0, min_value=0.0),
        history_log_changes=changes,
        source=source,
    )
    reservations = []
    for t in table.tables("reservation"):
        t.reject_unknown({"campus", "tier", "gpus", "price_usd_per_gpu_hour"})
        sizes = _sizes(t)
        reservations.append(
            Reservation(
                campus=t.choice("campus", campuses),
                tier=t.name("tier"),
                gpus=sizes[-1],
                price_usd_per_gpu_hour=t.number("price_usd_per_gpu_hour", min_value=0.0),
                sizes=sizes,
            )
        )
    swaps = table.tables("swap")
    if len(swaps) > 1:
        raise table.error("swap", "at most one [[compute.swap]] is supported")
    swap = None
    for t in swaps:
        t.reject_unknown({"name", "strike_usd_per_gpu_hour", "forward_csv", "max_gpus"})
        if t.has("forward_csv") == t.has("strike_usd_per_gpu_hour"):
            raise t.error("forward_csv", "give either strike_usd_per_gpu_hour or forward_csv")
        if t.has("forward_csv"):
            if horizon is None:
                raise t.error("forward_csv", "a forward-quote file needs the run's horizon")
            strike = forward_quote(base / t.get("forward_csv", str), *horizon)
        else:
            strike = t.number("strike_usd_per_gpu_hour", min_value=0.0)
        swap = IndexSwap(
            name=t.name("name"),
            strike_usd_per_gpu_hour=strike,
            max_gpus=t.number("max_gpus", min_value=0.0),
        )
    return ComputeBook(index, tuple(reservations), swap)


def _sizes(table: Table) -> tuple[float, ...]:
    """``gpus``: one size, or a list of the sizes the optimiser may choose from."""
    value = table.get("gpus", (float, list))
    values = value if isinstance(value, list) else [value]
    if not values or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in values
    ):
        raise table.error("gpus", "give a GPU count >= 0 or a list of them, e.g. [0, 3000, 6000]")
    return tuple(float(v) for v in values)


def forward_quote(path: Path, first: date, last: date) -> float:
    """The index forward quoted for a period covering ``first``..``last`` ($/GPU-h), from a
    ``start,end,usd_per_gpu_hour`` CSV (dates inclusive); the shortest such period when
    several cover it. ConfigError when none does."""
    lines = [ln.strip() for ln in read_text(path, "GPU index forward").splitlines() if ln.strip()]
    if not lines or lines[0].replace(" ", "").lower() != "start,end,usd_per_gpu_hour":
        raise ConfigError(f"{path}: the first line must be the header start,end,usd_per_gpu_hour")
    covering = []
    for i, line in enumerate(lines[1:], start=2):
        try:
            start, end, price = line.split(",")
            period = (date.fromisoformat(start.strip()), date.fromisoformat(end.strip()))
            value = float(price)
        except ValueError:
            raise ConfigError(
                f"{path}, line {i}: expected start,end,price (dates YYYY-MM-DD); got {line!r}"
            ) from None
        if not value > 0 or not np.isfinite(value) or period[1] < period[0]:
            raise ConfigError(f"{path}, line {i}: need end >= start and a positive price")
        if period[0] <= first and last <= period[1]:
            covering.append(((period[1] - period[0]).days, value))
    if not covering:
        raise ConfigError(
            f"{path}: no forward quote covers {first}..{last}; add one for the horizon"
        )
    return min(covering)[1]


def read_index_history(path: Path) -> tuple[np.ndarray, float]:
    """Daily log-changes and last level of a ``date,usd_per_gpu_hour`` CSV."""
    lines = [ln.strip() for ln in read_text(path, "GPU index history").splitlines() if ln.strip()]
    if not lines or lines[0].replace(" ", "").lower() != "date,usd_per_gpu_hour":
        raise ConfigError(f"{path}: the first line must be the header date,usd_per_gpu_hour")
    values = []
    for i, line in enumerate(lines[1:], start=2):
        try:
            value = float(line.split(",")[1])
        except (IndexError, ValueError):
            raise ConfigError(f"{path}, line {i}: expected date,price; got {line!r}") from None
        if not value > 0 or not np.isfinite(value):
            raise ConfigError(f"{path}, line {i}: index level must be positive, got {value}")
        values.append(value)
    if len(values) < 2:
        raise ConfigError(f"{path}: at least two daily index values are needed")
    levels = np.array(values)
    return np.diff(np.log(levels)), float(levels[-1])
