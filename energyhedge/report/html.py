"""The trader's HTML report: one self-contained page rendered from a plain ``ReportData``.

The page has no external resources (inline CSS, inline SVG charts, no scripts, no web fonts), so
it opens from disk offline and prints cleanly. Every string is escaped by Jinja2's autoescape;
chart labels are escaped by matplotlib's SVG writer. Each section has a stable ``id``
(``SECTION_IDS``) that links, tests and downstream tools can rely on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import Markup

from energyhedge.report import plots

SECTION_IDS = (
    "recommendation",
    "alerts",
    "trades",
    "risk",
    "cost-distribution",
    "frontier",
    "payoffs",
    "schedule",
    "stress",
    "changes",
    "provenance",
)

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class AlertRow:
    """One operator alert (``energyhedge.alerts``): level, local time window ("" if none), text."""

    level: str
    when: str
    message: str


@dataclass(frozen=True)
class Trade:
    """One recommended trade; premiums are totals for the whole position ($)."""

    product: str
    kind: str
    shape: str
    start: str
    end: str
    mw: float
    strike_usd_per_mwh: float | None
    fair_premium_usd: float
    quoted_premium_usd: float | None = None


@dataclass(frozen=True)
class RiskRow:
    """One metric of the scenario cost, without and with the hedge (``unit`` says $ or $/GPU-h)."""

    metric: str
    unit: str
    unhedged: float
    hedged: float


@dataclass(frozen=True)
class CostDistribution:
    """Per-scenario cost per delivered GPU-hour ($/GPU-h) and the percentiles to mark."""

    hedged_usd_per_gpu_hour: np.ndarray
    unhedged_usd_per_gpu_hour: np.ndarray
    probabilities: np.ndarray
    hedged_percentiles: dict[str, float]
    unhedged_percentiles: dict[str, float]
    sample: str = "out of sample"


@dataclass(frozen=True)
class Frontier:
    """Efficient frontier points ($) for a sweep of the risk weight lambda, and the chosen one."""

    lambdas: np.ndarray
    expected_usd: np.ndarray
    cvar_usd: np.ndarray
    chosen_expected_usd: float
    chosen_cvar_usd: float
    unhedged_expected_usd: float | None = None
    unhedged_cvar_usd: float | None = None


@dataclass(frozen=True)
class PayoffCurve:
    """Payoff of 1 MW of a product per MWh ($/MWh) against the settlement price ($/MWh)."""

    product: str
    price_usd_per_mwh: np.ndarray
    payoff_usd_per_mwh: np.ndarray
    premium_usd_per_mwh: float | None = None


@dataclass(frozen=True)
class Schedule:
    """Day-ahead schedule: MW per job class per interval, price summary and thresholds."""

    interval_start_utc: np.ndarray
    tz: str
    firm_mw: np.ndarray
    class_mw: dict[str, np.ndarray]
    price_mean_usd_per_mwh: np.ndarray
    price_low_usd_per_mwh: np.ndarray
    price_high_usd_per_mwh: np.ndarray
    thresholds_usd_per_mwh: dict[str, float]
    band_label: str = "P5-P95 price"


@dataclass(frozen=True)
class StressRow:
    """Cost of one stress event (a replayed or parametric price path), without and with hedge."""

    event: str
    probability: float
    unhedged_usd: float
    hedged_usd: float
    unhedged_usd_per_gpu_hour: float
    hedged_usd_per_gpu_hour: float


@dataclass(frozen=True)
class ChangeRow:
    """One quantity before (previous run) and now; ``None`` where it did not exist."""

    label: str
    unit: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class Changes:
    """Differences against the previous successful run of the same run profile."""

    previous_run_id: str
    previous_as_of: str
    trades: tuple[ChangeRow, ...]
    risk: tuple[ChangeRow, ...]
    schedule: tuple[ChangeRow, ...]


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from: data sources, coverage, quality findings, inputs, solver.

    ``coverage`` rows are (series, first interval UTC, last interval UTC, rows); ``findings``
    rows are (series, kind such as "gap", count, detail); ``timings_s`` (stage, seconds).
    """

    sources: tuple[tuple[str, str], ...]
    coverage: tuple[tuple[str, str, str, int], ...]
    findings: tuple[tuple[str, str, int, str], ...]
    inputs: tuple[tuple[str, str], ...]
    solver: tuple[tuple[str, str], ...]
    timings_s: tuple[tuple[str, float], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; the nightly pipeline fills it, tests build it by hand."""

    run_id: str
    as_of: str
    created_utc: str
    profile: str
    campus: str
    iso: str
    node: str
    horizon: str
    alpha: float
    trades: tuple[Trade, ...]
    risk: tuple[RiskRow, ...]
    cost: CostDistribution
    frontier: Frontier | None
    payoffs: tuple[PayoffCurve, ...]
    schedule: Schedule
    stress: tuple[StressRow, ...]
    changes: Changes | None
    provenance: Provenance
    headline: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    alerts: tuple[AlertRow, ...] = ()


def recommendation_sentence(data: ReportData) -> str:
    """The recommendation in one plain sentence (trades, then the effect on the tail).

    Uses ``data.headline`` keys ``expected_usd_per_gpu_hour`` / ``cvar_usd_per_gpu_hour`` and
    their ``unhedged_`` twins when present.
    """
    traded = [t for t in data.trades if abs(t.mw) >= 0.05]
    if traded:
        parts = [
            f"{'buy' if t.mw > 0 else 'sell'} {abs(t.mw):,.1f} MW of {t.product}" for t in traded
        ]
        action = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    else:
        action = "buy no hedge"
    h = data.headline
    effect = ""
    if {"cvar_usd_per_gpu_hour", "unhedged_cvar_usd_per_gpu_hour"} <= h.keys():
        effect = (
            f", which moves the CVaR {data.alpha:.0%} of cost per GPU-hour from "
            f"{_usd_gpu_h(h['unhedged_cvar_usd_per_gpu_hour'])} to "
            f"{_usd_gpu_h(h['cvar_usd_per_gpu_hour'])}"
        )
        if {"expected_usd_per_gpu_hour", "unhedged_expected_usd_per_gpu_hour"} <= h.keys():
            effect += (
                f" and its mean from {_usd_gpu_h(h['unhedged_expected_usd_per_gpu_hour'])} to "
                f"{_usd_gpu_h(h['expected_usd_per_gpu_hour'])}"
            )
    return f"For {data.campus} ({data.iso.upper()} {data.node}, {data.horizon}): {action}{effect}."


def render_report(data: ReportData) -> str:
    """The complete HTML page for ``data`` (a str; the caller writes it atomically)."""
    env = _environment()
    charts = {
        "cost": plots.cost_cdf_svg(
            data.cost.hedged_usd_per_gpu_hour,
            data.cost.unhedged_usd_per_gpu_hour,
            data.cost.probabilities,
            data.cost.hedged_percentiles,
            data.cost.unhedged_percentiles,
        ),
        "frontier": _frontier_chart(data),
        "payoffs": [
            plots.payoff_svg(
                c.product, c.price_usd_per_mwh, c.payoff_usd_per_mwh, c.premium_usd_per_mwh, i
            )
            for i, c in enumerate(data.payoffs)
        ],
        "schedule": plots.schedule_svg(
            data.schedule.interval_start_utc,
            data.schedule.tz,
            firm_mw=data.schedule.firm_mw,
            class_mw=data.schedule.class_mw,
            price_mean_usd_per_mwh=data.schedule.price_mean_usd_per_mwh,
            price_band_usd_per_mwh=(
                data.schedule.price_low_usd_per_mwh,
                data.schedule.price_high_usd_per_mwh,
            ),
            thresholds_usd_per_mwh=data.schedule.thresholds_usd_per_mwh,
            band_label=data.schedule.band_label,
        ),
    }
    template = env.get_template("report.html.j2")
    return template.render(
        data=data,
        sentence=recommendation_sentence(data),
        charts={k: _markup(v) for k, v in charts.items()},
        schedule_energy=schedule_energy(data.schedule),
        section_ids=SECTION_IDS,
    )


def _frontier_chart(data: ReportData) -> str | None:
    f = data.frontier
    if f is None or len(f.expected_usd) == 0:
        return None
    unhedged = None
    if f.unhedged_cvar_usd is not None and f.unhedged_expected_usd is not None:
        unhedged = (f.unhedged_cvar_usd, f.unhedged_expected_usd)
    return plots.frontier_svg(
        f.cvar_usd, f.expected_usd, (f.chosen_cvar_usd, f.chosen_expected_usd), unhedged, data.alpha
    )


def schedule_energy(s: Schedule) -> list[tuple[str, float, float]]:
    """(class, scheduled MWh, peak MW) per job class, for the table under the schedule chart."""
    stamps = np.asarray(s.interval_start_utc, dtype="datetime64[us]")
    hours = float((stamps[1] - stamps[0]) / np.timedelta64(1, "h")) if stamps.size > 1 else 1.0
    return [
        (name, float(np.sum(mw) * hours), float(np.max(mw, initial=0.0)))
        for name, mw in s.class_mw.items()
    ]


def _markup(value: str | list[str] | None) -> Markup | list[Markup] | None:
    """Mark trusted SVG (escaped by matplotlib) as safe HTML."""
    if value is None:
        return None
    if isinstance(value, list):
        return [Markup(v) for v in value]
    return Markup(value)


def _usd(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—" if value is None else ("no limit" if value > 0 else "−∞")
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.0f}"


def _usd2(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return _usd(value)
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _usd_gpu_h(value: float | None) -> str:
    """$/GPU-h with three decimals: campus energy costs are a few cents per GPU-hour."""
    if value is None or not math.isfinite(value):
        return _usd(value)
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.3f}"


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}".replace("-", "−")


def _signed(value: float | None, unit: str) -> str:
    """A change with its sign, in the unit of the row ($, $/GPU-h, MW or MWh)."""
    if value is None:
        return "—"
    if abs(value) < 1e-9:
        return "no change"
    sign = "+" if value > 0 else "−"
    if unit == "$":
        return f"{sign}${abs(value):,.0f}"
    if unit == "$/GPU-h":
        return f"{sign}${abs(value):,.3f}"
    return f"{sign}{abs(value):,.1f} {unit}"


def _in_unit(value: float | None, unit: str) -> str:
    if unit == "$":
        return _usd(value)
    if unit == "$/GPU-h":
        return _usd_gpu_h(value)
    return "—" if value is None else f"{_num(value)} {unit}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        usd=_usd,
        usd2=_usd2,
        usd_gpu_h=_usd_gpu_h,
        num=_num,
        signed=_signed,
        in_unit=_in_unit,
        pct=lambda v: f"{v:.1%}",
    )
    return env
