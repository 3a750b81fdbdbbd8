"""Reading a campus file (``models/campus/*.toml``) into a ``Campus``.

Every error names the file, the key and the reason: ``ConfigError`` (exit 2) for a malformed
file, ``InfeasibleError`` (exit 4) for a well-formed campus whose firm load (must-serve
inference plus the paused base load of the training tiers, PUE applied) exceeds its grid limit
or the limit of a curtailment event, which no schedule or hedge can fix.

Campus file layout (all keys are listed in ``models/campus/tx-100mw.toml``)::

    [site]                     name, iso, node, market, grid_limit_mw, pue
    [coincident_peak]          kind (4cp | 5cp), rule, rate_usd_per_mw, peaks, months, ...
    [[gpu]]                    name, it_kw_per_gpu, idle_fraction
    [[inference]]              name, gpu, gpus + utilisation or mw, value_usd_per_gpu_hour
    [[training]]               name, gpu, gpus, value_usd_per_gpu_hour, flex_tier, curve, ...,
                               restart_cost_usd, checkpoint_interval_h, restart_time_h (a
                               full stop costs these: see TrainingTier.stop_cost_usd);
                               min_run_h, min_off_h, min_power_frac (day-ahead commitment)
    [[curtailment_event]]      name, start, hours, max_campus_mw
    [[dr_programme]]           name, kind, availability_usd_per_mw_h, max_mw, trigger, penalty;
                               price_series = "ECRS": paid the scenario's clearing price of that
                               ancillary service (market "as" in the store) instead; every
                               programme listed is offered, together
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from energyhedge.campus.curves import CURVE_WORKLOADS, fitted_curve
from energyhedge.campus.model import (
    CP_KINDS,
    CP_RULES,
    DR_KINDS,
    NOTICE,
    Campus,
    CampusProfile,
    CoincidentPeak,
    CurtailmentEvent,
    DrProgramme,
    GpuType,
    InferenceClass,
    Pue,
    TrainingTier,
)
from energyhedge.config import Table, load_toml
from energyhedge.data.calendar import ISO_TZ, local_fields
from energyhedge.data.schema import ENERGY_MARKETS
from energyhedge.errors import InfeasibleError
from energyhedge.model.curves import curve_segments

_MW_TOLERANCE = 1e-9  # MW, as in the optimiser's grid check


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
        name=site.name("name", Path(path).stem),
        path=Path(path),
        iso=iso,
        node=site.get("node", str),
        market=site.choice("market", ENERGY_MARKETS, "rtm"),
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
    _check_firm_load(campus)
    return campus


def _check_firm_load(campus: Campus) -> None:
    """InfeasibleError if the firm load alone exceeds the grid limit or an event's limit.

    The grid limit is checked on every hour of the temperature series when the PUE comes from
    one, else on every hour of one year (firm load then depends only on the local month and
    hour ending); an event on every hour it touches (within the series, if any).
    """
    series = campus.pue.temperature_utc
    if series is None:
        year = np.arange(np.datetime64("2025-01-01T00", "h"), np.datetime64("2026-01-01T00", "h"))
        stamps, dated = year.astype("datetime64[us]"), False
    else:
        stamps, dated = series.astype("datetime64[us]"), True
    profile = campus.profile(stamps, np.ones(len(stamps)))
    over = profile.firm_mw > campus.grid_limit_mw + _MW_TOLERANCE
    if over.any():
        load, when = _peak(campus, profile, stamps, dated)
        raise InfeasibleError(
            f"{campus.path}: site.grid_limit_mw: firm load {load} exceeds the grid limit "
            f"{campus.grid_limit_mw:g} MW {'in every hour' if over.all() else when}; "
            + _remedy(profile, campus.grid_limit_mw, "grid_limit_mw")
        )
    for i, event in enumerate(campus.curtailment_events):
        first = event.start_utc.astype("datetime64[h]").astype("datetime64[us]")
        stamps = np.arange(first, event.end_utc, np.timedelta64(1, "h"))
        if series is not None:
            stamps = stamps[np.isin(stamps.astype("datetime64[h]"), series)]
        if stamps.size == 0:
            continue
        profile = campus.profile(stamps, np.ones(len(stamps)))
        if profile.firm_mw.max() > event.max_campus_mw + _MW_TOLERANCE:
            load, when = _peak(campus, profile, stamps, dated=True)
            raise InfeasibleError(
                f"{campus.path}: curtailment_event[{i}].max_campus_mw: curtailment event "
                f"{event.name!r} allows {event.max_campus_mw:g} MW but the firm load is {load} "
                f"{when}; curtailing training cannot meet it: "
                + _remedy(profile, event.max_campus_mw, "max_campus_mw")
            )


def _peak(
    campus: Campus, profile: CampusProfile, stamps: np.ndarray, dated: bool
) -> tuple[str, str]:
    """The highest firm load, 'X MW (inference Y MW + paused training Z MW, PUE p)', and when.

    ``when`` is 'at hour-ending H on YYYY-MM-DD (local)' if ``dated``, else 'at hour-ending H
    in <month>' (a representative year, where only month and hour ending matter).
    """
    t = int(np.argmax(profile.firm_mw))
    f = local_fields(stamps[t : t + 1], campus.iso)
    day = f["date"][0].astype(dt.date)
    when = f"at hour-ending {f['hour_ending'][0]} " + (
        f"on {day} (local)" if dated else f"in {day.strftime('%B')}"
    )
    load = (
        f"{profile.firm_mw[t]:.2f} MW (inference {profile.inference_mw[t]:.2f} MW + paused "
        f"training {profile.paused_training_mw[t]:.2f} MW, PUE {profile.pue[t]:.3g})"
    )
    return load, when


def _remedy(profile: CampusProfile, limit_mw: float, key: str) -> str:
    """What to change, with the MW needed (rounded up to 0.01 MW)."""
    peak = float(profile.firm_mw.max())
    return (
        f"lower the must-serve inference or the training tiers' paused load (gpus, "
        f"utilisation, idle_fraction) by {_round_up(peak - limit_mw):.2f} MW, or raise {key} "
        f"to at least {_round_up(peak):.2f}"
    )


def _round_up(mw: float) -> float:
    """``mw`` rounded up to 0.01 MW (float noise below 1e-6 MW ignored)."""
    return np.ceil(mw * 100.0 - 1e-4) / 100.0


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


def _numbers(t: Table, key: str) -> np.ndarray:
    """A list of numbers at ``key``."""
    value = t.get(key, list)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise t.error(key, "expected a list of numbers")
    return np.array(value, dtype=float)


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
            "checkpoint_interval_h",
            "restart_time_h",
            "deadline",
            "min_run_h",
            "min_off_h",
            "min_power_frac",
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
        power, work = _numbers(t, "curve_power_frac"), _numbers(t, "curve_work_frac")
        source = "file"
    else:
        source = t.choice("curve", tuple(CURVE_WORKLOADS), "training")
        power, work = fitted_curve(source)
    curve_segments(power, work, t.where("curve_power_frac"))
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
        checkpoint_interval_h=t.number("checkpoint_interval_h", 0.0, min_value=0.0),
        restart_time_h=t.number("restart_time_h", 0.0, min_value=0.0),
        deadline=t.get("deadline", dt.datetime, None),
        min_run_h=t.number("min_run_h", 0.0, min_value=0.0, max_value=8760.0),
        min_off_h=t.number("min_off_h", 0.0, min_value=0.0, max_value=8760.0),
        min_power_frac=_min_power_frac(t),
        work_requirement_gpu_hours=t.number("work_requirement_gpu_hours", None, min_value=0.0),
        unserved_usd_per_gpu_hour=t.number("unserved_usd_per_gpu_hour", 0.0, min_value=0.0),
    )


def _min_power_frac(t: Table) -> float | None:
    """``min_power_frac`` of a training tier: in (0, 1], and only with a minimum run/off time."""
    value = t.number("min_power_frac", None, min_value=0.0, max_value=1.0)
    if value is None:
        return None
    if value <= 0:
        raise t.error("min_power_frac", "must be above 0 (the least fraction drawn while on)")
    if not (t.number("min_run_h", 0.0) > 0 or t.number("min_off_h", 0.0) > 0):
        raise t.error("min_power_frac", "applies only with min_run_h or min_off_h above 0")
    return value


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
            "price_series",
            "description",
        }
    )
    kind = t.choice("kind", tuple(DR_KINDS))
    series = t.name("price_series", None)
    if DR_KINDS[kind] != iso:
        raise t.error(
            "kind", f"{kind} is a programme of {DR_KINDS[kind].upper()}, not {iso.upper()}"
        )
    return DrProgramme(
        name=t.get("name", str),
        kind=kind,
        availability_usd_per_mw_h=(
            t.number("availability_usd_per_mw_h", 0.0, min_value=0.0)
            if series
            else t.number("availability_usd_per_mw_h", min_value=0.0)
        ),
        max_mw=t.number("max_mw", min_value=0.0),
        trigger_usd_per_mwh=t.number("trigger_usd_per_mwh"),
        penalty_usd_per_mwh=t.number("penalty_usd_per_mwh", min_value=0.0),
        months=_int_list(t, "months", 1, 12, tuple(range(1, 13))),
        hours_ending=_int_list(t, "hours_ending", 1, 24, tuple(range(1, 25))),
        price_series=series,
    )
