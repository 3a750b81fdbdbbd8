"""The trader's HTML report: one self-contained page rendered from a plain ``ReportData``.

The page has no external resources (inline CSS, inline SVG charts, no scripts, no web fonts), so
it opens from disk offline and prints cleanly. Every string is escaped by Jinja2's autoescape;
chart labels are escaped by matplotlib's SVG writer. Each section has a stable ``id``
(``SECTION_IDS``, plus ``OPTIONAL_SECTION_IDS`` when the run has them: ``page_sections``) that
links, tests and downstream tools can rely on.

Every figure names its basis: out of sample (fresh scenarios from history the optimiser did not
see, products at their traded prices, real-time curtailment by the ladder) or in sample, and the
strategy it belongs to. ``energyhedge.report.assemble`` fills ``ReportData`` from a decision run;
the tests build it by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
    "frontier",
    "hedge-load",
    "ladder",
    "cost-distribution",
    "payoffs",
    "schedule",
    "stress",
    "changes",
    "provenance",
)
OPTIONAL_SECTION_IDS = ("positions", "market")
"""Sections shown after "trades" only when the run has them: the hedge book's position report,
and market views, limits and DR/AS products."""

TEMPLATES = Path(__file__).with_name("templates")

BREAKDOWN_LINES = (
    ("energy_cost_usd", "energy bought", 1.0),
    ("cp_tag_usd", "coincident-peak tags", 1.0),
    ("dr_revenue_usd", "DR/AS availability revenue", -1.0),
    ("dr_penalty_usd", "DR non-delivery penalty", 1.0),
    ("hedge_payoff_usd", "hedge payoffs", -1.0),
    ("premium_usd", "hedge premiums (ask paid, bid received)", 1.0),
    ("value_lost_usd", "value of work not done", 1.0),
    ("unserved_penalty_usd", "work-requirement penalty", 1.0),
    ("restart_usd", "restarts after full stops", 1.0),
)
"""Lines of the scenario cost C_s (``energyhedge.model.cost.CostBreakdown``): key, label and the
sign with which each enters C_s, in the order the report shows them."""

MW_SHOWN = 0.05
"""Positions smaller than this (MW) round to 0.0 and are not shown as trades."""


@dataclass(frozen=True)
class AlertRow:
    """One operator alert (``energyhedge.alerts``): level, local time window ("" if none), text."""

    level: str
    when: str
    message: str


@dataclass(frozen=True)
class Trade:
    """One recommended trade: a purchase pays the ask, a sale receives the bid.

    Attributes
    ----------
    mw : float
        MW of notional; positive bought, negative sold.
    price_usd_per_mwh : float
        Traded price ($/MWh): a block's fixed price, an option's premium per MWh of notional.
    mid_usd_per_mwh : float
        The same at mid (scenario-fair) ($/MWh).
    strike_usd_per_mwh : float or None
        An option's strike ($/MWh); None for blocks.
    premium_usd : float
        Premium cash of the whole position over the horizon ($; negative: received).
    quoted : bool
        True if the price is a broker quote, False if it is the model mid plus the loading.
    source : str
        Where the price came from: a forward mark id, ``"quote"`` or ``"model"``.
    settlement_point, market : str
        Where the product settles ("" when unknown).
    lots : float or None
        Number of lots of the product's lot size; None when it has none.
    """

    product: str
    kind: str
    shape: str
    start: str
    end: str
    mw: float
    price_usd_per_mwh: float
    mid_usd_per_mwh: float
    strike_usd_per_mwh: float | None
    premium_usd: float
    quoted: bool = False
    source: str = "model"
    settlement_point: str = ""
    market: str = ""
    lots: float | None = None

    @property
    def indicative(self) -> bool:
        """True when the price is the engine's own: indicative, not executable."""
        return not self.quoted and self.source == "model"

    @property
    def source_label(self) -> str:
        """The price source as the trades table shows it."""
        if self.quoted or self.source == "quote":
            return "broker quote"
        if self.source == "model":
            return "model mid + loading"
        return f"mark {self.source}"

    @property
    def side(self) -> str:
        """``"buy at ask"`` or ``"sell at bid"``."""
        return "buy at ask" if self.mw > 0 else "sell at bid"

    @property
    def mw_shown(self) -> float:
        """MW rounded to one decimal, as displayed."""
        return round(self.mw, 1) + 0.0


@dataclass(frozen=True)
class StrategyRow:
    """One strategy on one scenario set (``energyhedge.risk.StrategyValue``), model-priced.

    Attributes
    ----------
    key, label : str
        ``energyhedge.risk.STRATEGIES`` name and its label.
    expected_usd, cvar_usd : float
        Expected scenario cost and its CVaR ($).
    expected_band_usd, cvar_band_usd : (low, high) or None
        Bootstrap intervals of those ($).
    expected_usd_per_gpu_hour, cvar_usd_per_gpu_hour : float
        Mean and CVaR of the cost per delivered GPU-hour ($/GPU-h).
    lines_usd : dict[str, float]
        Mean of each ``BREAKDOWN_LINES`` line, signed as it enters C_s ($); they add up to
        ``expected_usd``.
    gpu_hours : float
        Mean GPU-hours delivered (GPU-h).
    """

    key: str
    label: str
    expected_usd: float
    expected_band_usd: tuple[float, float] | None
    cvar_usd: float
    cvar_band_usd: tuple[float, float] | None
    expected_usd_per_gpu_hour: float
    cvar_usd_per_gpu_hour: float
    lines_usd: dict[str, float]
    gpu_hours: float

    def per_gpu_hour(self, usd: float) -> float:
        """``usd`` per mean delivered GPU-hour ($/GPU-h); lines so divided add up too."""
        return usd / self.gpu_hours if self.gpu_hours > 0 else float("nan")


@dataclass(frozen=True)
class LadderGap:
    """In sample: the LP's own recourse (it sees each whole price path) against the ladder ($)."""

    lp_expected_usd: float
    lp_cvar_usd: float
    ladder_expected_usd: float
    ladder_cvar_usd: float
    work_requirement: bool = False

    @property
    def sentence(self) -> str:
        """What the gap is, truthfully."""
        d_mean = self.ladder_expected_usd - self.lp_expected_usd
        d_cvar = self.ladder_cvar_usd - self.lp_cvar_usd
        text = (
            f"The gap ({_usd(d_mean)} expected, {_usd(d_cvar)} CVaR) is the value of foresight: "
            "with the same trades, schedule and DR offer, the real-time ladder equals the LP's "
            "per-scenario recourse wherever no work requirement binds, so the difference is what "
            "knowing each whole price path in advance would be worth. It cannot be earned in "
            "real time; the out-of-sample figures use the ladder."
        )
        if self.work_requirement:
            text += (
                " A job class has a work requirement: where it binds, the gap also holds what "
                "the LP gains by moving work between intervals, which the ladder does not do."
            )
        return text


@dataclass(frozen=True)
class RiskTable:
    """Why this hedge: the four strategies out of sample (the honest figures) and in sample.

    ``split`` says how the out-of-sample scenarios were drawn; ``gap_sentence`` compares the
    recommendation in and out of sample; ``level`` is that of the bootstrap intervals.
    """

    alpha: float
    out_of_sample: tuple[StrategyRow, ...]
    in_sample: tuple[StrategyRow, ...]
    out_of_sample_scenarios: int
    in_sample_scenarios: int
    split: str
    gap_sentence: str
    ladder_gap: LadderGap | None
    level: float = 0.90

    def row(self, key: str, basis: str = "out of sample") -> StrategyRow:
        rows = self.out_of_sample if basis == "out of sample" else self.in_sample
        return next(r for r in rows if r.key == key)


@dataclass(frozen=True)
class CostDistribution:
    """Per-scenario cost per delivered GPU-hour ($/GPU-h) of "both" (hedged) and "none"
    (unhedged), and the percentiles to mark."""

    hedged_usd_per_gpu_hour: np.ndarray
    unhedged_usd_per_gpu_hour: np.ndarray
    probabilities: np.ndarray
    hedged_percentiles: dict[str, float]
    unhedged_percentiles: dict[str, float]
    sample: str = "out of sample"


@dataclass(frozen=True)
class Frontier:
    """Frontier points of a lambda sweep, each valued out of sample with the ladder ($), and
    the chosen decision on the same basis (the risk table's out-of-sample "both")."""

    lambdas: np.ndarray
    expected_usd: np.ndarray
    cvar_usd: np.ndarray
    chosen_expected_usd: float
    chosen_cvar_usd: float
    unhedged_expected_usd: float | None = None
    unhedged_cvar_usd: float | None = None


@dataclass(frozen=True)
class HedgeLoad:
    """Hedge position against campus load by interval (MW).

    ``block_mw`` is the net MW of blocks in the hours their shape covers (sales negative);
    ``option_mw`` the notional of options held in their shape hours (shown apart: an option
    pays only above its strike). Load is firm plus flexible power under the ladder, out of
    sample: its mean and lower P5 / P95 quantiles per interval; ``scheduled_mw`` is firm plus
    the day-ahead schedule.
    """

    interval_start_utc: np.ndarray
    tz: str
    block_mw: np.ndarray
    option_mw: np.ndarray
    load_mean_mw: np.ndarray
    load_low_mw: np.ndarray
    load_high_mw: np.ndarray
    scheduled_mw: np.ndarray
    band_label: str = "P5-P95 load"

    @property
    def over_hedged(self) -> tuple[int, float]:
        """Intervals where blocks exceed the mean load, and the largest excess (MW)."""
        excess = np.asarray(self.block_mw) - np.asarray(self.load_mean_mw)
        over = excess > MW_SHOWN
        return int(over.sum()), float(excess[over].max(initial=0.0))


@dataclass(frozen=True)
class LadderRung:
    """One rung of a class's real-time curtailment ladder.

    The class sheds ``shed_mw`` (the largest over the horizon) when the real-time price goes
    above ``price_usd_per_mwh`` outside coincident-peak hours; in those hours the expected tag
    lowers that price to between ``tag_price_low_usd_per_mwh`` and ``..._high_...`` (None if
    the horizon has no tag hours).
    """

    job_class: str
    shed_mw: float
    price_usd_per_mwh: float
    tag_price_low_usd_per_mwh: float | None = None
    tag_price_high_usd_per_mwh: float | None = None


@dataclass(frozen=True)
class Ladder:
    """The ladder the operator follows, and the classes it does not curtail (their peak MW)."""

    rungs: tuple[LadderRung, ...]
    fixed: tuple[tuple[str, float], ...] = ()
    tag_hours: str = ""


@dataclass(frozen=True)
class PayoffCurve:
    """Payoff of 1 MW of a product per MWh ($/MWh) against the settlement price ($/MWh)."""

    product: str
    price_usd_per_mwh: np.ndarray
    payoff_usd_per_mwh: np.ndarray
    premium_usd_per_mwh: float | None = None


@dataclass(frozen=True)
class Schedule:
    """Day-ahead schedule: MW per job class per interval, in-sample price band, and the price
    above which each class starts to shed under the ladder ($/MWh per interval)."""

    interval_start_utc: np.ndarray
    tz: str
    firm_mw: np.ndarray
    class_mw: dict[str, np.ndarray]
    price_mean_usd_per_mwh: np.ndarray
    price_low_usd_per_mwh: np.ndarray
    price_high_usd_per_mwh: np.ndarray
    first_shed_usd_per_mwh: dict[str, np.ndarray]
    band_label: str = "P5-P95 price"


@dataclass(frozen=True)
class StressRow:
    """Cost of one stress event (a replayed or parametric price path) out of sample, with no
    hedge or flexibility ("none") and with the recommendation ("both")."""

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
class LimitRow:
    """One hedge-ratio limit at the optimum (``optimize.hedge_ratio.RatioResult``).

    ``lower``/``upper`` are fractions of the expected load ``load_mw``; ``net_mw`` the net
    block MW in the shape's hours; ``binding`` ``"lower"``, ``"upper"`` or None;
    ``shadow_usd_per_mw`` what the objective would fall per MW the binding bound were relaxed.
    """

    shape: str
    lower: float
    upper: float
    load_mw: float
    net_mw: float
    binding: str | None
    shadow_usd_per_mw: float


@dataclass(frozen=True)
class Trading:
    """The market side of the decision: model against forward mids, the market-consistent
    statement, hedge-ratio limits and the cost of trading in lots."""

    market_views: tuple[str, ...] = ()
    market_consistent: str | None = None
    limits: tuple[LimitRow, ...] = ()
    rounding: str | None = None
    basis: str | None = None
    settlement: tuple[SettlementRow, ...] = ()
    dr_revenue: str | None = None
    ancillary: tuple[AncillaryRow, ...] = ()


@dataclass(frozen=True)
class AncillaryRow:
    """One DR/AS product offered, out of sample: means ($, MWh) and the revenue's P5 and P95."""

    name: str
    paid: str
    offered_mw_h: float
    revenue_usd: float
    revenue_p5_usd: float
    revenue_p95_usd: float
    penalty_usd: float
    called_mwh: float
    delivered_mwh: float
    work_cost_usd: float
    energy_saved_usd: float
    net_usd: float


@dataclass(frozen=True)
class SettlementRow:
    """One way of buying the campus's energy, out of sample ($; $/GPU-h)."""

    label: str
    expected_usd: float
    cvar_usd: float
    usd_per_gpu_hour: float


NO_TRADE = "no trade: the book is already optimal"
"""What a run with a hedge book says when it adds nothing to the book."""


@dataclass(frozen=True)
class PositionRow:
    """One trade of the hedge book marked to market ($, $/MWh; ``basis`` mark/model/expired)."""

    trade_id: str
    counterparty: str
    kind: str
    shape: str
    tenor: str
    mw: float
    traded_usd_per_mwh: float
    mark_mid_usd_per_mwh: float | None
    mtm_mid_usd: float
    mtm_exit_usd: float
    basis: str
    settled_pnl_usd: float | None


@dataclass(frozen=True)
class GridCell:
    """Mean MW and allocated mid MTM ($) of the book in one month x shape (and point)."""

    mw: float
    mtm_usd: float


@dataclass(frozen=True)
class Positions:
    """The report's position section: the book, its month x shape grid, MTM, P&L and
    collateral; ``change`` splits the MTM move since the last run (None on a first run)."""

    summary: str
    rows: tuple[PositionRow, ...]
    months: tuple[str, ...]
    columns: tuple[str, ...]
    grid: dict
    """{(month, column): GridCell}; a column is ``shape @ settlement point``."""
    mtm_mid_usd: float
    mtm_exit_usd: float
    settled_pnl_usd: float
    pnl_expected_usd: float
    pnl_p5_usd: float
    pnl_p95_usd: float
    pnl_loss_cvar_usd: float
    collateral: tuple[tuple[str, float | None, int], ...]
    """(counterparty, CVaR $ or None, observations): an estimate."""
    margin_period_days: int
    change: object | None = None
    """``book.MtmChange`` against the previous run, or None."""


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; ``energyhedge.report.assemble`` fills it, tests by hand."""

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
    risk: RiskTable
    cost: CostDistribution
    frontier: Frontier | None
    hedge_load: HedgeLoad
    ladder: Ladder
    payoffs: tuple[PayoffCurve, ...]
    schedule: Schedule
    stress: tuple[StressRow, ...]
    changes: Changes | None
    provenance: Provenance
    warnings: tuple[str, ...] = ()
    alerts: tuple[AlertRow, ...] = ()
    trading: Trading | None = None
    positions: Positions | None = None


def trade_phrase(t: Trade) -> str:
    """``buy 95.5 MW block_7x24 at $123.45/MWh (ask)``; options name their premium."""
    verb, side = ("buy", "ask") if t.mw > 0 else ("sell", "bid")
    price = _usd2(t.price_usd_per_mwh)
    what = f"{price}/MWh" if t.kind == "block" else f"a premium of {price}/MWh"
    return f"{verb} {abs(t.mw_shown):,.1f} MW {t.product} at {what} ({side})"


def recommendation_sentence(data: ReportData) -> str:
    """The recommendation in one plain sentence: trades at their prices, then the effect out of
    sample (model-priced) on the cost per GPU-hour, against no hedge and no flexibility."""
    traded = [t for t in data.trades if abs(t.mw) >= MW_SHOWN]
    if traded:
        parts = [trade_phrase(t) for t in traded]
        action = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    elif data.positions is not None:
        action = NO_TRADE
    else:
        action = "buy no hedge"
    effect = ""
    keys = {r.key for r in data.risk.out_of_sample}
    if {"unhedged", "recommended"} <= keys:
        none, both = data.risk.row("unhedged"), data.risk.row("recommended")
        effect = (
            f"; out of sample (model-priced, {data.risk.out_of_sample_scenarios} fresh "
            f"scenarios), trades, schedule and curtailment ladder together take the CVaR "
            f"{data.alpha:.0%} of cost per GPU-hour from {_usd_gpu_h(none.cvar_usd_per_gpu_hour)} "
            f"with no hedge and no flexibility to {_usd_gpu_h(both.cvar_usd_per_gpu_hour)}, and "
            f"its mean from {_usd_gpu_h(none.expected_usd_per_gpu_hour)} to "
            f"{_usd_gpu_h(both.expected_usd_per_gpu_hour)}"
        )
    return f"For {data.campus} ({data.iso.upper()} {data.node}, {data.horizon}): {action}{effect}."


def render_report(data: ReportData) -> str:
    """The complete HTML page for ``data`` (a str; the caller writes it atomically)."""
    env = environment()
    h = data.hedge_load
    charts = {
        "cost": plots.cost_cdf_svg(
            data.cost.hedged_usd_per_gpu_hour,
            data.cost.unhedged_usd_per_gpu_hour,
            data.cost.probabilities,
            data.cost.hedged_percentiles,
            data.cost.unhedged_percentiles,
        ),
        "frontier": _frontier_chart(data),
        "hedge_load": plots.hedge_load_svg(
            h.interval_start_utc,
            h.tz,
            block_mw=h.block_mw,
            option_mw=h.option_mw,
            load_mean_mw=h.load_mean_mw,
            load_band_mw=(h.load_low_mw, h.load_high_mw),
            scheduled_mw=h.scheduled_mw,
            band_label=h.band_label,
        ),
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
            first_shed_usd_per_mwh=data.schedule.first_shed_usd_per_mwh,
            band_label=data.schedule.band_label,
        ),
    }
    template = env.get_template("report.html.j2")
    return template.render(
        data=data,
        sentence=recommendation_sentence(data),
        charts={k: _markup(v) for k, v in charts.items()},
        schedule_energy=schedule_energy(data.schedule),
        breakdown_lines=BREAKDOWN_LINES,
        section_ids=page_sections(data),
    )


def page_sections(data: ReportData) -> tuple[str, ...]:
    """The ids of the page's sections in order: ``SECTION_IDS`` with the optional ones the
    run has after "trades"."""
    shown = {"positions": bool(data.positions), "market": bool(data.trading)}
    extra = tuple(sid for sid in OPTIONAL_SECTION_IDS if shown[sid])
    cut = SECTION_IDS.index("trades") + 1
    return SECTION_IDS[:cut] + extra + SECTION_IDS[cut:]


def _frontier_chart(data: ReportData) -> str | None:
    f = data.frontier
    if f is None or len(f.expected_usd) == 0:
        return None
    unhedged = None
    if f.unhedged_cvar_usd is not None and f.unhedged_expected_usd is not None:
        unhedged = (f.unhedged_cvar_usd, f.unhedged_expected_usd)
    return plots.frontier_svg(
        f.cvar_usd,
        f.expected_usd,
        f.lambdas,
        chosen=(f.chosen_cvar_usd, f.chosen_expected_usd),
        unhedged=unhedged,
        alpha=data.alpha,
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
    sign = "−" if round(value) < 0 else ""
    return f"{sign}${abs(value):,.0f}"


def _usd2(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return _usd(value)
    sign = "−" if round(value, 2) < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _usd_gpu_h(value: float | None) -> str:
    """$/GPU-h with three decimals: campus energy costs are a few cents per GPU-hour."""
    if value is None or not math.isfinite(value):
        return _usd(value)
    sign = "−" if round(value, 3) < 0 else ""
    return f"{sign}${abs(value):,.3f}"


def _scaled(value: float, scale: float) -> str:
    return f"{abs(value) / scale:,.2f}" if scale > 1 else f"{abs(value):,.0f}"


def usd_band(value: float, band: tuple[float, float] | None) -> str:
    """``$1.23M (1.10-1.35M)``: a dollar figure with its interval in the same scale."""
    scale, suffix = (
        (1e6, "M") if abs(value) >= 1e6 else ((1e3, "k") if abs(value) >= 1e4 else (1, ""))
    )
    sign = "−" if value < 0 else ""
    text = f"{sign}${_scaled(value, scale)}{suffix}"
    if band is None:
        return text
    low, high = (("−" if v < 0 else "") + _scaled(v, scale) for v in band)
    return f"{text} ({low}{' to ' if band[0] < 0 else '-'}{high}{suffix})"


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return text.replace("-", "−")


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


FLEET_SECTION_IDS = ("fleet-mobility", "fleet-margin", "fleet-trades", "fleet-scenarios")
"""Sections of the fleet page (``render_fleet``)."""


def render_fleet(data: dict, charts: dict[str, str] | None = None) -> str:
    """The fleet page for the plain ``data`` of ``energyhedge.fleet.report.fleet_record``, with
    its ``charts`` (name -> inline SVG: ``margin``)."""
    template = environment().get_template("fleet.html.j2")
    charts = {k: _markup(v) for k, v in (charts or {}).items()}
    return template.render(d=data, section_ids=FLEET_SECTION_IDS, charts=charts)


def environment() -> jinja2.Environment:
    """The Jinja environment of the report templates, with the number filters."""
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
        usd_band=usd_band,
        num=_num,
        signed=_signed,
        in_unit=_in_unit,
        pct=lambda v: f"{v:.1%}",
        pct0=lambda v: f"{v:.0%}",
    )
    return env
