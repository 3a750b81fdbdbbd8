"""The campus model: site, GPU fleet, job classes, coincident peaks, DR programmes, events.

Power conventions:

- A GPU type has an IT power per GPU at full speed (``it_kw_per_gpu``: GPU plus its share of
  host and network) and an idle fraction (share of that power still drawn when paused).
  Facility power = IT power x PUE, where PUE is a constant, a month-by-hour profile, or a
  piecewise-linear curve in outdoor temperature (with a temperature profile or series).
- Must-serve inference draws ``gpus x it_kw x (idle + (1 - idle) x utilisation) x PUE`` or a
  given facility MW, by local hour ending. Its GPU-hours are ``gpus x utilisation`` per hour.
- A flexible training tier draws its paused base load ``gpus x it_kw x idle x PUE`` always
  (firm) and up to ``gpus x it_kw x (1 - idle) x PUE`` more when running (flexible).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from energyhedge.data.calendar import ISO_TZ, local_fields
from energyhedge.errors import DataError

FLEX_TIER_LOSS = (0.0, 0.10, 0.25, 0.50)  # Flex 0..3: tolerated throughput loss
NOTICE = ("day_ahead", "real_time")
DR_KINDS = {
    "ers": "ercot",
    "ecrs": "ercot",
    "rrs": "ercot",
    "non_spin": "ercot",
    "reg_up": "ercot",
    "capacity_dr": "pjm",
}
CP_KINDS = {"4cp": "ercot", "5cp": "pjm"}


@dataclass(frozen=True)
class GpuType:
    """A GPU type of the fleet.

    Attributes
    ----------
    name : str
    it_kw_per_gpu : float
        IT power per GPU at full speed, host and network share included (kW).
    idle_fraction : float
        Share of ``it_kw_per_gpu`` drawn while the GPU's work is paused (0-1).
    """

    name: str
    it_kw_per_gpu: float
    idle_fraction: float


@dataclass(frozen=True)
class Pue:
    """Power usage effectiveness: a constant, a 12x24 month-by-hour-ending profile, or a curve.

    Attributes
    ----------
    kind : str
        ``"constant" | "month_hour" | "temperature"``.
    by_month_hour : ndarray [12, 24]
        PUE by local month and hour ending (for ``constant``, all equal; for ``temperature``,
        the curve applied to the temperature profile, or None with a temperature series).
    curve_temperature_c, curve_pue : ndarray [M] or None
        PUE curve in outdoor temperature (deg C), interpolated linearly, flat beyond the ends.
    temperature_utc, temperature_c : ndarray [N] or None
        Hourly outdoor temperature series (UTC hour starts, deg C), when given instead of a
        profile.
    """

    kind: str
    by_month_hour: np.ndarray | None
    curve_temperature_c: np.ndarray | None = None
    curve_pue: np.ndarray | None = None
    temperature_utc: np.ndarray | None = None
    temperature_c: np.ndarray | None = None

    def at(self, interval_start_utc: np.ndarray, iso: str) -> np.ndarray:
        """PUE in each interval [T]."""
        if self.temperature_utc is None:
            f = local_fields(interval_start_utc, iso)
            return self.by_month_hour[f["month"] - 1, f["hour_ending"] - 1]
        hours = np.asarray(interval_start_utc, dtype="datetime64[h]")
        idx = np.minimum(
            np.searchsorted(self.temperature_utc, hours), len(self.temperature_utc) - 1
        )
        missing = self.temperature_utc[idx] != hours
        if missing.any():
            raise DataError(f"temperature series has no value for {hours[missing][0]} UTC")
        return np.interp(self.temperature_c[idx], self.curve_temperature_c, self.curve_pue)

    def mean(self) -> float:
        """Representative annual PUE: mean of the profile or of the series."""
        if self.temperature_utc is None:
            return float(self.by_month_hour.mean())
        return float(np.interp(self.temperature_c, self.curve_temperature_c, self.curve_pue).mean())

    def describe(self) -> str:
        if self.kind == "constant":
            return f"constant {self.by_month_hour[0, 0]:g}"
        return f"{self.kind.replace('_', '-')} profile, mean {self.mean():.3f}"


@dataclass(frozen=True)
class CoincidentPeak:
    """Exposure to a coincident-peak tag (ERCOT 4CP transmission, PJM 5CP capacity).

    The tag is the campus load averaged over the ``peaks`` system-peak intervals of the
    period, charged at ``rate_usd_per_mw``; so the expected cost per MW of load in interval t
    is ``rate_usd_per_mw / peaks x P(t is a peak interval)``. ``rule`` names the function of
    ``CP_RULES`` that gives that probability.

    Attributes
    ----------
    kind : str
        ``"4cp"`` or ``"5cp"``.
    rule : str
        Key of ``CP_RULES``.
    rate_usd_per_mw : float
        Charge per MW of tag ($/MW per period).
    peaks : int
        Number of peak intervals the tag averages.
    probability_by_month_hour : ndarray [12, 24]
        Chance that an hour of a local month and hour ending holds a peak interval
        (``month_hour`` rule).
    weekdays_only : bool
        Peaks only on weekdays (``month_hour`` rule).
    """

    kind: str
    rule: str
    rate_usd_per_mw: float
    peaks: int
    probability_by_month_hour: np.ndarray
    weekdays_only: bool

    def weight_usd_per_mw(
        self,
        iso: str,
        interval_start_utc: np.ndarray,
        interval_hours: np.ndarray,
        prices_usd_per_mwh: np.ndarray,
    ) -> np.ndarray:
        """Expected tag cost per MW of campus load in each scenario and interval [S, T] ($/MW)."""
        probability = CP_RULES[self.rule](
            self, iso, interval_start_utc, interval_hours, prices_usd_per_mwh
        )
        return self.rate_usd_per_mw / self.peaks * probability


def month_hour_rule(
    cp: CoincidentPeak,
    iso: str,
    interval_start_utc: np.ndarray,
    interval_hours: np.ndarray,
    prices_usd_per_mwh: np.ndarray,
) -> np.ndarray:
    """Peak probability [S, T]: the month-by-hour probability per hour x interval hours."""
    f = local_fields(interval_start_utc, iso)
    per_hour = cp.probability_by_month_hour[f["month"] - 1, f["hour_ending"] - 1]
    if cp.weekdays_only:
        per_hour = np.where(f["weekday"] < 5, per_hour, 0.0)
    per_interval = per_hour * interval_hours
    return np.broadcast_to(per_interval, prices_usd_per_mwh.shape).copy()


CP_RULES: dict[str, Callable[..., np.ndarray]] = {"month_hour": month_hour_rule}


@dataclass(frozen=True)
class InferenceClass:
    """Must-serve inference: not curtailable locally.

    Attributes
    ----------
    name : str
    gpu : GpuType
    gpus : float or None
        GPUs serving it (None when given as facility MW).
    utilisation_by_hour : ndarray [24] or None
        Share of full speed by local hour ending (with ``gpus``).
    mw_by_hour : ndarray [24] or None
        Facility MW by local hour ending (instead of ``gpus``).
    value_usd_per_gpu_hour : float
    """

    name: str
    gpu: GpuType
    gpus: float | None
    utilisation_by_hour: np.ndarray | None
    mw_by_hour: np.ndarray | None
    value_usd_per_gpu_hour: float

    def power_mw(self, pue: np.ndarray, hour_ending: np.ndarray) -> np.ndarray:
        """Facility MW [T]."""
        if self.mw_by_hour is not None:
            return self.mw_by_hour[hour_ending - 1]
        util = self.utilisation_by_hour[hour_ending - 1]
        share = self.gpu.idle_fraction + (1.0 - self.gpu.idle_fraction) * util
        return self.gpus * self.gpu.it_kw_per_gpu / 1000.0 * share * pue

    def gpu_hours(self, pue: np.ndarray, hour_ending: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """GPU-hours of work delivered [T] (MW-given classes run at full speed)."""
        if self.mw_by_hour is not None:
            gpus = self.mw_by_hour[hour_ending - 1] * 1000.0 / (self.gpu.it_kw_per_gpu * pue)
            return gpus * hours
        return self.gpus * self.utilisation_by_hour[hour_ending - 1] * hours


@dataclass(frozen=True)
class TrainingTier:
    """A flexible training tier.

    Attributes
    ----------
    name : str
    gpu : GpuType
    gpus : float
    value_usd_per_gpu_hour : float
    flex_tier : int
        Flex 0..3; ``allowed_loss`` is the tolerated throughput loss (0, 10, 25, 50 %).
    curve_power_frac, curve_work_frac : ndarray [M]
        Concave power-to-throughput curve (fractions of the tier's flexible MW and of
        full-speed throughput).
    curve_source : str
        Where the curve came from (a ``curves.CURVE_WORKLOADS`` family or "file").
    ramp_mw_per_h : float
        Largest change of the tier's power between intervals (MW/h); inf if none.
    notice : str
        ``"day_ahead"`` (only the day-ahead schedule can move it) or ``"real_time"``.
    restart_cost_usd : float
        Fixed cost of one restart after a full stop ($).
    checkpoint_interval_h, restart_time_h : float
        Hours between checkpoints and hours a restart takes without useful work: a full stop
        loses on average half a checkpoint interval of work plus the restart time.
    deadline : datetime or None
        Local time by which the work requirement must be done (naive, ISO-local); work after
        it does not count, and ``unserved_usd_per_gpu_hour`` values each GPU-hour late.
    min_run_h, min_off_h : float
        Day-ahead commitment: hours the tier runs at least once started, and stays off at least
        once stopped (0: no minimum; either > 0 makes the LP a MIP, ``FlexClass.committed``).
    min_power_frac : float or None
        Least fraction of the tier's flexible MW the schedule draws while on; None: the first
        breakpoint of its curve (its first rung).
    work_requirement_gpu_hours : float or None
        GPU-hours that must be delivered over the horizon; None means ``(1 - allowed_loss)``
        of the full-speed work when an unserved cost is set, else no requirement.
    unserved_usd_per_gpu_hour : float
        Penalty per GPU-hour of the requirement not delivered ($/GPU-h).
    """

    name: str
    gpu: GpuType
    gpus: float
    value_usd_per_gpu_hour: float
    flex_tier: int
    curve_power_frac: np.ndarray
    curve_work_frac: np.ndarray
    curve_source: str
    ramp_mw_per_h: float
    notice: str
    restart_cost_usd: float
    work_requirement_gpu_hours: float | None
    unserved_usd_per_gpu_hour: float
    checkpoint_interval_h: float = 0.0
    restart_time_h: float = 0.0
    deadline: dt.datetime | None = None
    min_run_h: float = 0.0
    min_off_h: float = 0.0
    min_power_frac: float | None = None

    @property
    def on_power_frac(self) -> float:
        """Least fraction of the flexible MW drawn while on: ``min_power_frac``, else the first
        breakpoint of the curve."""
        if self.min_power_frac is not None:
            return self.min_power_frac
        return float(self.curve_power_frac[1])

    @property
    def stop_cost_usd(self) -> float:
        """What one full stop costs beyond the hours not run ($): the fixed restart cost plus
        the value of the work lost since the last checkpoint and during the restart."""
        lost_h = self.checkpoint_interval_h / 2.0 + self.restart_time_h
        return self.restart_cost_usd + self.value_usd_per_gpu_hour * self.gpus * lost_h

    @property
    def allowed_loss(self) -> float:
        return FLEX_TIER_LOSS[self.flex_tier]

    def base_mw(self, pue: np.ndarray) -> np.ndarray:
        """Facility MW drawn while paused (firm)."""
        return self.gpus * self.gpu.it_kw_per_gpu / 1000.0 * self.gpu.idle_fraction * pue

    def flexible_mw(self, pue: np.ndarray) -> np.ndarray:
        """Facility MW above the paused base at full speed."""
        return self.gpus * self.gpu.it_kw_per_gpu / 1000.0 * (1.0 - self.gpu.idle_fraction) * pue

    def gpu_hours_per_mwh(self, pue: float) -> float:
        """GPU-hours per MWh of flexible facility energy at full speed (GPU-h/MWh)."""
        return self.gpus / float(self.flexible_mw(np.float64(pue)))

    def break_even_usd_per_mwh(self, pue: float) -> float:
        """Price above which running the tier costs more than its work is worth ($/MWh)."""
        return self.value_usd_per_gpu_hour * self.gpu_hours_per_mwh(pue)


@dataclass(frozen=True)
class CurtailmentEvent:
    """Exogenous, uncompensated curtailment (e.g. Texas SB 6 firm load shed).

    Attributes
    ----------
    name : str
    start_utc : numpy.datetime64
        Start (UTC, us).
    hours : float
        Duration (h).
    max_campus_mw : float
        Largest campus load allowed during the event (MW).
    """

    name: str
    start_utc: np.datetime64
    hours: float
    max_campus_mw: float

    @property
    def end_utc(self) -> np.datetime64:
        """End (UTC, us, exclusive)."""
        return self.start_utc + np.timedelta64(round(self.hours * 3_600_000_000), "us")

    def overlaps(self, interval_start_utc: np.ndarray, interval_minutes: int) -> np.ndarray:
        """Intervals [T] that overlap the event."""
        interval_end = interval_start_utc + np.timedelta64(interval_minutes, "m")
        return (interval_start_utc < self.end_utc) & (interval_end > self.start_utc)


@dataclass(frozen=True)
class DrProgramme:
    """A demand-response or ancillary-service programme the campus may sell curtailable MW to.

    Attributes
    ----------
    name, kind : str
        ``kind`` one of ``DR_KINDS`` (ERCOT ers, ecrs, rrs, non_spin, reg_up; PJM capacity_dr).
    availability_usd_per_mw_h : float
        Paid per MW held per hour ($/MW-h).
    max_mw : float
        Largest offer (MW).
    trigger_usd_per_mwh : float
        Held MW are deployed in intervals whose price reaches this level ($/MWh).
    penalty_usd_per_mwh : float
        Penalty per MWh of deployed capacity not delivered ($/MWh).
    months, hours_ending : tuple[int, ...]
        Local months and hours ending in which the programme buys availability.
    price_series : str or None
        An ancillary-service clearing price in the store (market ``as``, e.g. ``"ECRS"``): when
        given, held MW earn that price in each scenario and interval (carried jointly with the
        energy prices) instead of the fixed ``availability_usd_per_mw_h``.
    """

    name: str
    kind: str
    availability_usd_per_mw_h: float
    max_mw: float
    trigger_usd_per_mwh: float
    penalty_usd_per_mwh: float
    months: tuple[int, ...]
    hours_ending: tuple[int, ...]
    price_series: str | None = None

    def active(self, iso: str, interval_start_utc: np.ndarray) -> np.ndarray:
        """Intervals [T] in which the programme buys availability."""
        f = local_fields(interval_start_utc, iso)
        return np.isin(f["month"], self.months) & np.isin(f["hour_ending"], self.hours_ending)


@dataclass(frozen=True)
class CampusProfile:
    """Campus power and work on a grid of intervals.

    Attributes
    ----------
    pue : ndarray [T]
    inference_mw : ndarray [T]
        Must-serve inference (facility MW).
    paused_training_mw : ndarray [T]
        Paused base load of all training tiers (facility MW).
    firm_gpu_hours : ndarray [T]
        Inference GPU-hours.
    flexible_mw : ndarray [J, T]
        Each training tier's flexible facility MW at full speed, before curtailment events.
    """

    pue: np.ndarray
    inference_mw: np.ndarray
    paused_training_mw: np.ndarray
    firm_gpu_hours: np.ndarray
    flexible_mw: np.ndarray

    @property
    def firm_mw(self) -> np.ndarray:
        """Load that cannot be curtailed [T]: inference plus paused training (facility MW)."""
        return self.inference_mw + self.paused_training_mw


@dataclass(frozen=True)
class Campus:
    """One campus, as read from its TOML file."""

    name: str
    path: Path
    iso: str
    node: str
    market: str
    grid_limit_mw: float
    pue: Pue
    coincident_peak: CoincidentPeak | None
    gpu_types: tuple[GpuType, ...]
    inference: tuple[InferenceClass, ...]
    training: tuple[TrainingTier, ...]
    curtailment_events: tuple[CurtailmentEvent, ...]
    dr_programmes: tuple[DrProgramme, ...]

    @property
    def gpus(self) -> float:
        """GPUs of all job classes (MW-given inference excluded)."""
        return sum(c.gpus or 0.0 for c in self.inference) + sum(t.gpus for t in self.training)

    @property
    def full_power_mw(self) -> float:
        """Facility MW of all GPU-counted classes at full speed and the mean PUE."""
        it_kw = sum((c.gpus or 0.0) * c.gpu.it_kw_per_gpu for c in self.inference)
        it_kw += sum(t.gpus * t.gpu.it_kw_per_gpu for t in self.training)
        return it_kw / 1000.0 * self.pue.mean()

    @property
    def gpu_hours_per_mwh(self) -> float:
        """GPU-hours per facility MWh at full speed and the mean PUE (GPU-h/MWh)."""
        return self.gpus / self.full_power_mw

    def profile(self, interval_start_utc: np.ndarray, interval_hours: np.ndarray) -> CampusProfile:
        """Firm and flexible power and firm work on the given intervals."""
        pue = self.pue.at(interval_start_utc, self.iso)
        he = local_fields(interval_start_utc, self.iso)["hour_ending"]
        zero = np.zeros(len(pue))
        return CampusProfile(
            pue=pue,
            inference_mw=sum((c.power_mw(pue, he) for c in self.inference), zero),
            paused_training_mw=sum((t.base_mw(pue) for t in self.training), zero),
            firm_gpu_hours=sum(
                (c.gpu_hours(pue, he, interval_hours) for c in self.inference), zero
            ),
            flexible_mw=np.array([t.flexible_mw(pue) for t in self.training]).reshape(-1, len(pue)),
        )

    def hourly_profile(self, month: int) -> CampusProfile:
        """The profile on the 24 hours of the 15th of ``month`` (local, year 2025)."""
        tz = ZoneInfo(ISO_TZ[self.iso])
        first = dt.datetime(2025, month, 15, tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)
        stamps = np.datetime64(first, "us") + np.arange(24) * np.timedelta64(1, "h")
        return self.profile(stamps, np.ones(24))

    def summary(self, month: int = 7) -> dict:
        """Derived quantities for ``energyhedge campus show``: JSON-ready."""
        pue = self.pue.mean()
        hourly = self.hourly_profile(month)
        cp = self.coincident_peak
        return {
            "name": self.name,
            "file": str(self.path),
            "iso": self.iso,
            "node": self.node,
            "market": self.market,
            "grid_limit_mw": self.grid_limit_mw,
            "pue": self.pue.describe(),
            "pue_mean": pue,
            "gpus": self.gpus,
            "full_power_mw": self.full_power_mw,
            "gpu_hours_per_mwh": self.gpu_hours_per_mwh,
            "gpu_types": [
                {
                    "name": g.name,
                    "it_kw_per_gpu": g.it_kw_per_gpu,
                    "facility_kw_per_gpu": g.it_kw_per_gpu * pue,
                    "idle_fraction": g.idle_fraction,
                }
                for g in self.gpu_types
            ],
            "inference": [
                {
                    "name": c.name,
                    "gpus": c.gpus,
                    "value_usd_per_gpu_hour": c.value_usd_per_gpu_hour,
                }
                for c in self.inference
            ],
            "training": [
                {
                    "name": t.name,
                    "gpus": t.gpus,
                    "flexible_mw": float(t.flexible_mw(np.float64(pue))),
                    "base_mw": float(t.base_mw(np.float64(pue))),
                    "value_usd_per_gpu_hour": t.value_usd_per_gpu_hour,
                    "gpu_hours_per_mwh": t.gpu_hours_per_mwh(pue),
                    "break_even_usd_per_mwh": t.break_even_usd_per_mwh(pue),
                    "flex_tier": t.flex_tier,
                    "allowed_loss": t.allowed_loss,
                    "notice": t.notice,
                    "ramp_mw_per_h": t.ramp_mw_per_h,
                    "restart_cost_usd": t.restart_cost_usd,
                    "min_run_h": t.min_run_h,
                    "min_off_h": t.min_off_h,
                    "min_power_frac": t.on_power_frac,
                    "curve": t.curve_source,
                    "curve_power_frac": t.curve_power_frac.tolist(),
                    "curve_work_frac": t.curve_work_frac.tolist(),
                }
                for t in self.training
            ],
            "coincident_peak": None if cp is None else _cp_summary(cp),
            "dr_programmes": [
                {
                    "name": d.name,
                    "kind": d.kind,
                    "availability_usd_per_mw_h": d.availability_usd_per_mw_h,
                    "max_mw": d.max_mw,
                    "trigger_usd_per_mwh": d.trigger_usd_per_mwh,
                    "penalty_usd_per_mwh": d.penalty_usd_per_mwh,
                }
                for d in self.dr_programmes
            ],
            "curtailment_events": [
                {
                    "name": e.name,
                    "start_utc": str(e.start_utc),
                    "hours": e.hours,
                    "max_campus_mw": e.max_campus_mw,
                }
                for e in self.curtailment_events
            ],
            "by_hour_month": month,
            "firm_mw_by_hour_ending": hourly.firm_mw.tolist(),
            "flexible_mw_by_hour_ending": hourly.flexible_mw.sum(axis=0).tolist(),
        }


def _cp_summary(cp: CoincidentPeak) -> dict:
    table = cp.probability_by_month_hour
    return {
        "kind": cp.kind,
        "rule": cp.rule,
        "rate_usd_per_mw": cp.rate_usd_per_mw,
        "peaks": cp.peaks,
        "weekdays_only": cp.weekdays_only,
        "months": (np.flatnonzero(table.any(axis=1)) + 1).tolist(),
        "hours_ending": (np.flatnonzero(table.any(axis=0)) + 1).tolist(),
        "max_probability_per_hour": float(table.max()),
        "probability_by_month_hour": table.tolist(),
    }
