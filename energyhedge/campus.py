"""The campus model: site, GPU fleet, job classes, coincident peaks, DR programmes, events.

Read from ``models/campus/*.toml`` by ``load_campus``. Power conventions:

- A GPU type has an IT power per GPU at full speed (``it_kw_per_gpu``: GPU plus its share of
  host and network) and an idle fraction (share of that power still drawn when paused).
  Facility power = IT power x PUE, where PUE is a constant, a month-by-hour profile, or a
  piecewise-linear curve in outdoor temperature (with a temperature profile or series).
- Must-serve inference draws ``gpus x it_kw x (idle + (1 - idle) x utilisation) x PUE`` or a
  given facility MW, by local hour ending. Its GPU-hours are ``gpus x utilisation`` per hour.
- A flexible training tier draws its paused base load ``gpus x it_kw x idle x PUE`` always
  (firm) and up to ``gpus x it_kw x (1 - idle) x PUE`` more when running (flexible).

Campus file layout (all keys are listed in ``models/campus/tx-100mw.toml``)::

    [site]                     name, iso, node, market, grid_limit_mw, pue
    [coincident_peak]          kind (4cp | 5cp), rule, rate_usd_per_mw, peaks, months, ...
    [[gpu]]                    name, it_kw_per_gpu, idle_fraction
    [[inference]]              name, gpu, gpus + utilisation or mw, value_usd_per_gpu_hour
    [[training]]               name, gpu, gpus, value_usd_per_gpu_hour, flex_tier, curve, ...
    [[curtailment_event]]      name, start, hours, max_campus_mw
    [[dr_programme]]           name, kind, availability_usd_per_mw_h, max_mw, trigger, penalty
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from energyhedge.config import Table, load_toml
from energyhedge.data.calendar import ISO_TZ, local_fields
from energyhedge.data.schema import MARKETS
from energyhedge.errors import DataError
from energyhedge.workload import CURVE_WORKLOADS, check_curve, fitted_curve

FLEX_TIER_LOSS = (0.0, 0.10, 0.25, 0.50)  # Flex 0..3: tolerated throughput loss
NOTICE = ("day_ahead", "real_time")
DR_KINDS = {
    "ers": "ercot",
    "ecrs": "ercot",
    "rrs": "ercot",
    "non_spin": "ercot",
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
        Where the curve came from (a ``workload.CURVE_WORKLOADS`` family or "file").
    ramp_mw_per_h : float
        Largest change of the tier's power between intervals (MW/h); inf if none.
    notice : str
        ``"day_ahead"`` (only the day-ahead schedule can move it) or ``"real_time"``.
    restart_cost_usd : float
        Cost of one restart after a pause ($); reported, not priced by the LP.
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

    def overlaps(self, interval_start_utc: np.ndarray, interval_minutes: int) -> np.ndarray:
        """Intervals [T] that overlap the event."""
        end = self.start_utc + np.timedelta64(round(self.hours * 3_600_000_000), "us")
        interval_end = interval_start_utc + np.timedelta64(interval_minutes, "m")
        return (interval_start_utc < end) & (interval_end > self.start_utc)


@dataclass(frozen=True)
class DrProgramme:
    """A demand-response or ancillary-service programme the campus may sell curtailable MW to.

    Attributes
    ----------
    name, kind : str
        ``kind`` one of ``DR_KINDS`` (ERCOT ers, ecrs, rrs, non_spin; PJM capacity_dr).
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
    """

    name: str
    kind: str
    availability_usd_per_mw_h: float
    max_mw: float
    trigger_usd_per_mwh: float
    penalty_usd_per_mwh: float
    months: tuple[int, ...]
    hours_ending: tuple[int, ...]

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
    firm_mw : ndarray [T]
        Inference plus the paused base load of every training tier (facility MW).
    firm_gpu_hours : ndarray [T]
        Inference GPU-hours.
    flexible_mw : ndarray [J, T]
        Each training tier's flexible facility MW at full speed, before curtailment events.
    """

    pue: np.ndarray
    firm_mw: np.ndarray
    firm_gpu_hours: np.ndarray
    flexible_mw: np.ndarray


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
        firm = sum((c.power_mw(pue, he) for c in self.inference), np.zeros(len(pue)))
        firm = firm + sum((t.base_mw(pue) for t in self.training), np.zeros(len(pue)))
        work = sum(
            (c.gpu_hours(pue, he, interval_hours) for c in self.inference), np.zeros(len(pue))
        )
        flex = np.array([t.flexible_mw(pue) for t in self.training]).reshape(-1, len(pue))
        return CampusProfile(pue, firm, work, flex)

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


def format_summary(summary: dict) -> str:
    """Readable text of ``Campus.summary()``."""
    s = summary
    lines = [
        f"campus {s['name']}  ({s['file']})",
        f"  {s['iso'].upper()} node {s['node']} ({s['market']}), grid limit "
        f"{s['grid_limit_mw']:,.1f} MW, PUE {s['pue']}",
        f"  {s['gpus']:,.0f} GPUs, {s['full_power_mw']:,.1f} MW at full speed, "
        f"{s['gpu_hours_per_mwh']:,.1f} GPU-h/MWh",
    ]
    for g in s["gpu_types"]:
        lines.append(
            f"  gpu {g['name']}: {g['it_kw_per_gpu']:.3f} kW IT, {g['facility_kw_per_gpu']:.3f} kW "
            f"facility per GPU, idle {g['idle_fraction']:.0%}"
        )
    for c in s["inference"]:
        gpus = "given as MW" if c["gpus"] is None else f"{c['gpus']:,.0f} GPUs"
        lines.append(f"  must-serve {c['name']}: {gpus}, ${c['value_usd_per_gpu_hour']:.2f}/GPU-h")
    if s["training"]:
        lines.append("  flexible training tiers:")
        lines.append(
            f"    {'name':<16}{'GPUs':>9}{'flex MW':>9}{'base MW':>9}{'$/GPU-h':>9}"
            f"{'GPU-h/MWh':>11}{'break-even $/MWh':>18}  flex  notice     ramp MW/h"
        )
        for t in s["training"]:
            lines.append(
                f"    {t['name']:<16}{t['gpus']:>9,.0f}{t['flexible_mw']:>9.1f}"
                f"{t['base_mw']:>9.1f}{t['value_usd_per_gpu_hour']:>9.2f}"
                f"{t['gpu_hours_per_mwh']:>11.1f}{t['break_even_usd_per_mwh']:>18,.0f}"
                f"  {t['flex_tier']:>4}  {t['notice']:<10} {t['ramp_mw_per_h']:g}"
            )
    cp = s["coincident_peak"]
    if cp:
        lines.append(
            f"  coincident peak {cp['kind']}: ${cp['rate_usd_per_mw']:,.0f}/MW of tag, "
            f"{cp['peaks']} peaks, months {cp['months']}, HE {cp['hours_ending']}, P(peak) up "
            f"to {cp['max_probability_per_hour']:g} per hour (rule {cp['rule']})"
        )
    for d in s["dr_programmes"]:
        lines.append(
            f"  DR/AS {d['name']} ({d['kind']}): ${d['availability_usd_per_mw_h']:g}/MW-h up to "
            f"{d['max_mw']:g} MW, deployed at >= ${d['trigger_usd_per_mwh']:,.0f}/MWh, penalty "
            f"${d['penalty_usd_per_mwh']:,.0f}/MWh"
        )
    for e in s["curtailment_events"]:
        lines.append(
            f"  curtailment event {e['name']}: {e['start_utc']} UTC for {e['hours']:g} h, "
            f"campus at most {e['max_campus_mw']:g} MW"
        )
    lines.append(f"  firm vs flexible MW by hour ending (15th of month {s['by_hour_month']}):")
    firm, flex = s["firm_mw_by_hour_ending"], s["flexible_mw_by_hour_ending"]
    for he in range(24):
        lines.append(f"    HE{he + 1:02d}  firm {firm[he]:8.1f}  flexible {flex[he]:8.1f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- reading the TOML file


def load_campus(path: str | Path) -> Campus:
    """Read and validate a campus file; ConfigError naming file, key and reason."""
    root = load_toml(path)
    root.reject_unknown(
        {
            "site",
            "coincident_peak",
            "gpu",
            "inference",
            "training",
            "curtailment_event",
            "dr_programme",
        }
    )
    site = root.table("site")
    site.reject_unknown({"name", "iso", "node", "market", "grid_limit_mw", "pue", "description"})
    iso = site.choice("iso", tuple(ISO_TZ))
    gpu_types = {g.name: g for g in (_gpu(t) for t in _unique(root.tables("gpu")))}
    if not gpu_types:
        raise root.error("gpu", "the campus lists no [[gpu]] type")
    _unique(root.tables("inference") + root.tables("training"))  # job classes share names
    inference = tuple(_inference(t, gpu_types) for t in root.tables("inference"))
    training = tuple(_training(t, gpu_types) for t in root.tables("training"))
    if not inference and not training:
        raise root.error("training", "the campus has no [[inference]] or [[training]] class")
    campus = Campus(
        name=site.get("name", str, Path(path).stem),
        path=Path(path),
        iso=iso,
        node=site.get("node", str),
        market=site.choice("market", MARKETS, "rtm"),
        grid_limit_mw=site.number("grid_limit_mw", min_value=0.0),
        pue=_pue(site),
        coincident_peak=_coincident_peak(root, iso),
        gpu_types=tuple(gpu_types.values()),
        inference=inference,
        training=training,
        curtailment_events=tuple(_event(t, iso) for t in _unique(root.tables("curtailment_event"))),
        dr_programmes=tuple(_dr(t, iso) for t in _unique(root.tables("dr_programme"))),
    )
    rt_mw = sum(
        float(t.flexible_mw(np.float64(campus.pue.mean())))
        for t in training
        if t.notice == "real_time"
    )
    for t, d in zip(root.tables("dr_programme"), campus.dr_programmes, strict=True):
        if d.max_mw > rt_mw + 1e-9:
            raise t.error(
                "max_mw",
                f"{d.max_mw:g} MW exceeds the {rt_mw:g} MW of training curtailable in real time",
            )
    return campus


def _unique(tables: list[Table]) -> list[Table]:
    """The tables, after checking their names are unique."""
    seen: set[str] = set()
    for t in tables:
        name = t.get("name", str)
        if name in seen:
            raise t.error("name", f"duplicate name {name!r}")
        seen.add(name)
    return tables


def _gpu(t: Table) -> GpuType:
    t.reject_unknown({"name", "it_kw_per_gpu", "idle_fraction", "description"})
    return GpuType(
        t.get("name", str),
        t.number("it_kw_per_gpu", min_value=1e-6),
        t.number("idle_fraction", min_value=0.0, max_value=0.99),
    )


def _gpu_ref(t: Table, gpu_types: dict[str, GpuType]) -> GpuType:
    name = t.get("gpu", str)
    if name not in gpu_types:
        raise t.error("gpu", f"no [[gpu]] named {name!r}; known: {', '.join(gpu_types)}")
    return gpu_types[name]


def _by_hour(t: Table, key: str, default=None, *, max_value: float | None = None) -> np.ndarray:
    """A scalar or 24 values (by local hour ending) at ``key``."""
    value = t.get(key, (float, int, list), default)
    if value is None:
        return None
    values = np.array(value if isinstance(value, list) else [value] * 24, dtype=object)
    if values.shape != (24,) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise t.error(key, "expected a number or a list of 24 numbers (hour ending 1..24)")
    values = values.astype(float)
    if values.min() < 0 or (max_value is not None and values.max() > max_value):
        limit = f" and <= {max_value:g}" if max_value is not None else ""
        raise t.error(key, f"values must be >= 0{limit}")
    return values


def _matrix(t: Table, key: str, shape: tuple[int, int], what: str) -> np.ndarray:
    value = t.get(key, list)
    try:
        out = np.array(value, dtype=float)
    except (TypeError, ValueError):
        out = None
    if out is None or out.shape != shape:
        raise t.error(key, f"expected {shape[0]} lists of {shape[1]} numbers ({what})")
    return out


def _int_list(t: Table, key: str, lo: int, hi: int, default: tuple[int, ...]) -> tuple[int, ...]:
    value = t.get(key, list, list(default))
    if not value or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise t.error(key, f"expected a non-empty list of integers {lo}..{hi}")
    if min(value) < lo or max(value) > hi:
        raise t.error(key, f"values must lie in {lo}..{hi}")
    return tuple(value)


def _pue(site: Table) -> Pue:
    if not site.has("pue"):
        raise site.error("pue", "required key is missing (a number or a [site.pue] table)")
    if not isinstance(site.data["pue"], dict):
        value = site.number("pue", min_value=1.0)
        return Pue("constant", np.full((12, 24), value))
    t = site.table("pue")
    kind = t.choice("kind", ("month_hour", "temperature"))
    if kind == "month_hour":
        t.reject_unknown({"kind", "by_month_hour"})
        values = _matrix(t, "by_month_hour", (12, 24), "PUE by month and hour ending")
        if values.min() < 1.0:
            raise t.error("by_month_hour", "PUE values must be >= 1")
        return Pue("month_hour", values)
    t.reject_unknown(
        {"kind", "temperature_c", "pue", "temperature_by_month_hour", "temperature_file"}
    )
    temps = np.array(t.get("temperature_c", list), dtype=float)
    curve = np.array(t.get("pue", list), dtype=float)
    if temps.shape != curve.shape or temps.size < 2 or np.any(np.diff(temps) <= 0):
        raise t.error("temperature_c", "needs >= 2 increasing temperatures, one per pue value")
    if curve.min() < 1.0:
        raise t.error("pue", "PUE values must be >= 1")
    if t.has("temperature_by_month_hour") == t.has("temperature_file"):
        raise t.error("temperature_by_month_hour", "give exactly one of this or temperature_file")
    if t.has("temperature_by_month_hour"):
        profile = _matrix(t, "temperature_by_month_hour", (12, 24), "deg C by month and HE")
        return Pue("temperature", np.interp(profile, temps, curve), temps, curve)
    stamps, values = _temperature_series(t, site.path.parent / t.get("temperature_file", str))
    return Pue("temperature", None, temps, curve, stamps, values)


def _temperature_series(t: Table, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Hourly series CSV with columns interval_start_utc (ISO 8601) and temperature_c."""
    try:
        frame = pl.read_csv(path, try_parse_dates=False)
        stamps = frame["interval_start_utc"].str.to_datetime(time_zone="UTC", time_unit="us")
        temps = frame["temperature_c"].cast(pl.Float64)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise t.error("temperature_file", f"cannot read {path}: {exc}") from None
    hours = stamps.dt.replace_time_zone(None).to_numpy().astype("datetime64[h]")
    order = np.argsort(hours)
    return hours[order], temps.to_numpy()[order]


def _coincident_peak(root: Table, iso: str) -> CoincidentPeak | None:
    if not root.has("coincident_peak"):
        return None
    t = root.table("coincident_peak")
    t.reject_unknown(
        {
            "kind",
            "rule",
            "rate_usd_per_mw",
            "peaks",
            "months",
            "hours_ending",
            "weekdays_only",
            "probability_per_hour",
            "probability_by_month_hour",
            "description",
        }
    )
    kind = t.choice("kind", tuple(CP_KINDS))
    if CP_KINDS[kind] != iso:
        raise t.error("kind", f"{kind} applies to {CP_KINDS[kind].upper()}, not {iso.upper()}")
    peaks = t.get("peaks", int, 4 if kind == "4cp" else 5)
    if peaks < 1:
        raise t.error("peaks", "must be >= 1")
    return CoincidentPeak(
        kind=kind,
        rule=t.choice("rule", tuple(CP_RULES), "month_hour"),
        rate_usd_per_mw=t.number("rate_usd_per_mw", min_value=0.0),
        peaks=peaks,
        probability_by_month_hour=_peak_probability(t),
        weekdays_only=t.get("weekdays_only", bool, True),
    )


def _peak_probability(t: Table) -> np.ndarray:
    """[12, 24] peak probability per hour: a matrix, or a window and one probability."""
    compact = [k for k in ("months", "hours_ending", "probability_per_hour") if t.has(k)]
    if t.has("probability_by_month_hour"):
        if compact:
            raise t.error(compact[0], "give either probability_by_month_hour or a window")
        table = _matrix(t, "probability_by_month_hour", (12, 24), "probability by month and HE")
        if table.min() < 0 or table.max() > 1:
            raise t.error("probability_by_month_hour", "probabilities must lie in 0..1")
        return table
    months = _int_list(t, "months", 1, 12, (6, 7, 8, 9))
    hours_ending = _int_list(t, "hours_ending", 1, 24, tuple(range(1, 25)))
    probability = t.number("probability_per_hour", min_value=0.0, max_value=1.0)
    table = np.zeros((12, 24))
    table[np.ix_(np.array(months) - 1, np.array(hours_ending) - 1)] = probability
    return table


def _inference(t: Table, gpu_types: dict[str, GpuType]) -> InferenceClass:
    t.reject_unknown({"name", "gpu", "gpus", "utilisation", "mw", "value_usd_per_gpu_hour"})
    if t.has("gpus") == t.has("mw"):
        raise t.error("gpus", "give exactly one of gpus (with utilisation) or mw")
    if t.has("mw") and t.has("utilisation"):
        raise t.error("utilisation", "applies only with gpus, not with mw")
    return InferenceClass(
        name=t.get("name", str),
        gpu=_gpu_ref(t, gpu_types),
        gpus=t.number("gpus", None, min_value=0.0),
        utilisation_by_hour=_by_hour(t, "utilisation", 1.0, max_value=1.0)
        if t.has("gpus")
        else None,
        mw_by_hour=_by_hour(t, "mw"),
        value_usd_per_gpu_hour=t.number("value_usd_per_gpu_hour", min_value=0.0),
    )


def _training(t: Table, gpu_types: dict[str, GpuType]) -> TrainingTier:
    t.reject_unknown(
        {
            "name",
            "gpu",
            "gpus",
            "value_usd_per_gpu_hour",
            "flex_tier",
            "curve",
            "curve_power_frac",
            "curve_work_frac",
            "ramp_mw_per_h",
            "notice",
            "restart_cost_usd",
            "work_requirement_gpu_hours",
            "unserved_usd_per_gpu_hour",
        }
    )
    flex_tier = t.get("flex_tier", int)
    if not 0 <= flex_tier <= 3:
        raise t.error("flex_tier", f"must be 0, 1, 2 or 3, got {flex_tier}")
    if t.has("curve_power_frac") or t.has("curve_work_frac"):
        if t.has("curve"):
            raise t.error("curve", "give either curve or curve_power_frac/curve_work_frac")
        power = np.array(t.get("curve_power_frac", list), dtype=float)
        work = np.array(t.get("curve_work_frac", list), dtype=float)
        source = "file"
    else:
        source = t.choice("curve", tuple(CURVE_WORKLOADS), "training")
        power, work = fitted_curve(source)
    problem = check_curve(power, work)
    if problem:
        raise t.error("curve_power_frac", problem)
    return TrainingTier(
        name=t.get("name", str),
        gpu=_gpu_ref(t, gpu_types),
        gpus=t.number("gpus", min_value=0.0),
        value_usd_per_gpu_hour=t.number("value_usd_per_gpu_hour", min_value=0.0),
        flex_tier=flex_tier,
        curve_power_frac=power,
        curve_work_frac=work,
        curve_source=source,
        ramp_mw_per_h=t.number("ramp_mw_per_h", float("inf"), min_value=0.0),
        notice=t.choice("notice", NOTICE, "real_time"),
        restart_cost_usd=t.number("restart_cost_usd", 0.0, min_value=0.0),
        work_requirement_gpu_hours=t.number("work_requirement_gpu_hours", None, min_value=0.0),
        unserved_usd_per_gpu_hour=t.number("unserved_usd_per_gpu_hour", 0.0, min_value=0.0),
    )


def _event(t: Table, iso: str) -> CurtailmentEvent:
    t.reject_unknown({"name", "start", "hours", "max_campus_mw", "description"})
    start = t.get("start", dt.datetime)
    if start.tzinfo is None:  # local prevailing time of the ISO
        start = start.replace(tzinfo=ZoneInfo(ISO_TZ[iso]))
    start_utc = start.astimezone(dt.UTC).replace(tzinfo=None)
    return CurtailmentEvent(
        name=t.get("name", str),
        start_utc=np.datetime64(start_utc, "us"),
        hours=t.number("hours", min_value=1e-9),
        max_campus_mw=t.number("max_campus_mw", min_value=0.0),
    )


def _dr(t: Table, iso: str) -> DrProgramme:
    t.reject_unknown(
        {
            "name",
            "kind",
            "availability_usd_per_mw_h",
            "max_mw",
            "trigger_usd_per_mwh",
            "penalty_usd_per_mwh",
            "months",
            "hours_ending",
            "description",
        }
    )
    kind = t.choice("kind", tuple(DR_KINDS))
    if DR_KINDS[kind] != iso:
        raise t.error(
            "kind", f"{kind} is a programme of {DR_KINDS[kind].upper()}, not {iso.upper()}"
        )
    return DrProgramme(
        name=t.get("name", str),
        kind=kind,
        availability_usd_per_mw_h=t.number("availability_usd_per_mw_h", min_value=0.0),
        max_mw=t.number("max_mw", min_value=0.0),
        trigger_usd_per_mwh=t.number("trigger_usd_per_mwh"),
        penalty_usd_per_mwh=t.number("penalty_usd_per_mwh", min_value=0.0),
        months=_int_list(t, "months", 1, 12, tuple(range(1, 13))),
        hours_ending=_int_list(t, "hours_ending", 1, 24, tuple(range(1, 25))),
    )
