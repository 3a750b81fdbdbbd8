"""Charts of the trader's report as inline SVG strings (matplotlib, no pyplot, no network).

Every function returns one ``<svg>`` element ready to embed in HTML: text stays text
(``svg.fonttype = none``), element ids are salted with the chart name so that several charts on
one page cannot clash, and the output depends only on the inputs (no dates, no random ids).
Matplotlib escapes every label it writes, so names from config files are safe to pass.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import matplotlib as mpl
import numpy as np
from markupsafe import escape
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

HEDGED_COLOR = "#1f5fa8"
UNHEDGED_COLOR = "#c2571a"
CLASS_COLORS = ("#1f5fa8", "#5aa05a", "#c2571a", "#8a5cb8", "#b8a13a", "#3aa6b8")
FIRM_COLOR = "#9a9a9a"
FRONTIER_ZOOM = 5.0
"""The frontier gets an overview and a detail panel when all points span this many times the
range of the points with lambda > 0."""

_RC = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}


def _usd(value: float, _pos: object = None) -> str:
    """Axis label for dollars: $1.2M, $350.5k, $12.50, $0.041."""
    a = abs(value)
    if a >= 1e6:
        return f"${value / 1e6:,.1f}M"
    if a >= 1e4:
        return f"${value / 1e3:,.1f}k"
    if a >= 100:
        return f"${value:,.0f}"
    if a >= 1:
        return f"${value:,.2f}"
    return f"${value:,.3f}"


def _to_svg(fig: Figure, name: str, title: str) -> str:
    """Render ``fig`` to an embeddable ``<svg>`` element labelled ``title`` for screen readers."""
    buf = io.StringIO()
    with mpl.rc_context({**_RC, "svg.hashsalt": name}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    return svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{escape(title)}"', 1)


def _figure(width_in: float, height_in: float, name: str) -> Figure:
    with mpl.rc_context({**_RC, "svg.hashsalt": name}):
        return Figure(figsize=(width_in, height_in), layout="constrained")


def cost_cdf_svg(
    hedged_usd_per_gpu_hour: np.ndarray,
    unhedged_usd_per_gpu_hour: np.ndarray,
    probabilities: np.ndarray,
    hedged_percentiles: Mapping[str, float],
    unhedged_percentiles: Mapping[str, float],
) -> str:
    """Probability-weighted CDF of cost per GPU-hour ($/GPU-h), hedged vs unhedged.

    ``*_percentiles`` map labels such as ``"P50"`` to values ($/GPU-h) and are marked on the
    chart; they come from the risk module so the chart and the tables agree.
    """
    fig = _figure(7.2, 3.2, "cost-cdf")
    with mpl.rc_context(_RC):
        ax = fig.add_subplot()
        p = np.asarray(probabilities, dtype=float)
        for values, pct, color, label in (
            (unhedged_usd_per_gpu_hour, unhedged_percentiles, UNHEDGED_COLOR, "none"),
            (hedged_usd_per_gpu_hour, hedged_percentiles, HEDGED_COLOR, "both"),
        ):
            _step_cdf(ax, values, p, color, label)
            for i, (name, x) in enumerate(pct.items()):
                ax.axvline(x, color=color, linestyle=":", linewidth=0.9)
                ax.annotate(
                    f"{name} {_usd(x)}",
                    (x, 0.06 + 0.11 * i + (0.38 if label == "both" else 0.0)),
                    xytext=(3, 0),
                    textcoords="offset points",
                    color=color,
                    fontsize=7.5,
                )
        ax.set_xlabel("all-in cost per delivered GPU-hour")
        ax.set_ylabel("probability cost ≤ x")
        ax.set_ylim(0, 1.02)
        ax.xaxis.set_major_formatter(FuncFormatter(_usd))
        fig.legend(loc="outside right upper")
    return _to_svg(fig, "cost-cdf", "Cost per GPU-hour distribution, hedged vs unhedged")


def _step_cdf(ax, values: np.ndarray, probabilities: np.ndarray, color: str, label: str) -> None:
    """The probability-weighted CDF of ``values`` as a step line."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    ax.step(v[order], np.cumsum(probabilities[order]), where="post", color=color, label=label)


def frontier_svg(
    cvar_usd: np.ndarray,
    expected_usd: np.ndarray,
    lambdas: np.ndarray,
    *,
    chosen: tuple[float, float],
    unhedged: tuple[float, float] | None,
    alpha: float,
) -> str:
    """Efficient frontier: expected cost ($) against CVaR at ``alpha`` ($), chosen point marked.

    ``chosen`` and ``unhedged`` are ``(cvar_usd, expected_usd)`` pairs. When some points (the
    risk-neutral lambda = 0 optimum, the unhedged campus) lie far from the risk-averse ones, a
    linear scale would squash the rest into a dot; a log scale would still squash points a few
    per cent apart and make differences hard to read in dollars. So the chart then has two linear
    panels: an overview with every point (the detail's area boxed) and a detail of the points
    near the chosen one (those with lambda > 0).
    """
    x, y = np.asarray(cvar_usd, dtype=float), np.asarray(expected_usd, dtype=float)
    lam = np.asarray(lambdas, dtype=float)
    near = lam > 0
    core_x = np.append(x[near], chosen[0])
    core_y = np.append(y[near], chosen[1])
    all_x = np.append(x, [chosen[0]] + ([unhedged[0]] if unhedged else []))
    all_y = np.append(y, [chosen[1]] + ([unhedged[1]] if unhedged else []))
    box = _padded(core_x, core_y)
    full = _padded(all_x, all_y)
    split = (full[1] - full[0]) > FRONTIER_ZOOM * (box[1] - box[0]) or (
        full[3] - full[2]
    ) > FRONTIER_ZOOM * (box[3] - box[2])
    fig = _figure(7.2, 3.2, "frontier")
    with mpl.rc_context(_RC):
        if split:
            overview, detail = fig.subplots(1, 2, width_ratios=(1, 2))
            panels = ((overview, None), (detail, box))
        else:
            detail = fig.add_subplot()
            panels = ((detail, None),)
        for ax, limits in panels:
            order = np.argsort(x, kind="stable")
            ax.plot(
                x[order],
                y[order],
                marker="o",
                markersize=3.5,
                color=HEDGED_COLOR,
                label="frontier (λ sweep)",
            )
            ax.plot(
                *chosen,
                marker="*",
                markersize=13,
                color="#d62728",
                linestyle="",
                label="chosen (table: both)",
            )
            if unhedged is not None:
                ax.plot(
                    *unhedged,
                    marker="s",
                    markersize=6,
                    color=UNHEDGED_COLOR,
                    linestyle="",
                    label="none (table)",
                )
            ax.xaxis.set_major_formatter(FuncFormatter(_usd))
            ax.yaxis.set_major_formatter(FuncFormatter(_usd))
            if limits is not None:
                ax.set_xlim(limits[0], limits[1])
                ax.set_ylim(limits[2], limits[3])
        for (xi, yi), names in _labels(x, y, lam).items():
            if not split or (box[0] <= xi <= box[1] and box[2] <= yi <= box[3]):
                detail.annotate(
                    f"λ={names}",
                    (xi, yi),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=7,
                    color="#444444",
                )
        if split:
            overview.add_patch(
                Rectangle(
                    (box[0], box[2]),
                    box[1] - box[0],
                    box[3] - box[2],
                    fill=False,
                    edgecolor="#555555",
                    linestyle="--",
                )
            )
            overview.set_title("all points", fontsize=8.5)
            detail.set_title("detail: λ > 0 and the chosen point", fontsize=8.5)
            overview.tick_params(labelsize=7)
            for label in overview.get_xticklabels():
                label.set_rotation(30)
        detail.set_xlabel(f"CVaR {alpha:.0%} of scenario cost (out of sample)")
        (overview if split else detail).set_ylabel("expected scenario cost (out of sample)")
        detail.legend(loc="best", fontsize=7.5)
    return _to_svg(fig, "frontier", "Efficient frontier out of sample, expected cost against CVaR")


def _labels(x: np.ndarray, y: np.ndarray, lam: np.ndarray) -> dict[tuple[float, float], str]:
    """One label per distinct point: ``"1, 2, 4"`` where several lambdas give the same costs."""
    out: dict[tuple[float, float], list[str]] = {}
    for xi, yi, li in zip(x, y, lam, strict=True):
        key = next((k for k in out if np.isclose(k[0], xi) and np.isclose(k[1], yi)), (xi, yi))
        out.setdefault(key, []).append(f"{li:g}")
    return {k: ", ".join(v) for k, v in out.items()}


def _padded(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Axis limits (x0, x1, y0, y1) around points, 12 % padding, never zero wide ($)."""
    out = []
    for v in (x, y):
        lo, hi = float(np.min(v)), float(np.max(v))
        pad = max(0.12 * (hi - lo), 0.002 * max(abs(lo), abs(hi), 1.0))
        out += [lo - pad, hi + pad]
    return out[0], out[1], out[2], out[3]


def payoff_svg(
    name: str,
    price_usd_per_mwh: np.ndarray,
    payoff_usd_per_mwh: np.ndarray,
    premium_usd_per_mwh: float | None,
    index: int,
) -> str:
    """Payoff per MWh of 1 MW of ``name`` against the settlement price ($/MWh).

    When ``premium_usd_per_mwh`` is given, the payoff net of the premium is drawn too.
    ``index`` keeps element ids distinct between the payoff charts of one page.
    """
    tag = f"payoff-{index}"
    fig = _figure(3.4, 2.4, tag)
    with mpl.rc_context(_RC):
        ax = fig.add_subplot()
        ax.plot(price_usd_per_mwh, payoff_usd_per_mwh, color=HEDGED_COLOR, label="payoff")
        if premium_usd_per_mwh is not None:
            ax.plot(
                price_usd_per_mwh,
                np.asarray(payoff_usd_per_mwh) - premium_usd_per_mwh,
                color=UNHEDGED_COLOR,
                linestyle="--",
                label="net of premium",
            )
            ax.legend(loc="upper left", fontsize=7.5)
        ax.axhline(0.0, color="#555555", linewidth=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("price ($/MWh)")
        ax.set_ylabel("$/MWh per MW")
    return _to_svg(fig, tag, f"Payoff of {name}")


def schedule_svg(
    interval_start_utc: np.ndarray,
    tz: str,
    *,
    firm_mw: np.ndarray,
    class_mw: Mapping[str, np.ndarray],
    price_mean_usd_per_mwh: np.ndarray,
    price_band_usd_per_mwh: tuple[np.ndarray, np.ndarray],
    first_shed_usd_per_mwh: Mapping[str, np.ndarray],
    band_label: str,
) -> str:
    """Day-ahead schedule (stacked MW by job class) above the price and, per class, the price
    above which its curtailment ladder starts to shed ($/MWh per interval; it dips where the
    coincident-peak tag is expected).

    Times are UTC instants labelled in the local clock ``tz``; the price panel uses a symmetric
    log scale so that ladder prices in the thousands and ordinary prices share one axis.
    """
    fig = _figure(7.2, 4.6, "schedule")
    with mpl.rc_context(_RC):
        ax_mw, ax_p = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        x = _edges(interval_start_utc)
        colors = {name: CLASS_COLORS[i % len(CLASS_COLORS)] for i, name in enumerate(class_mw)}
        layers = [("firm (inference + base)", np.asarray(firm_mw, dtype=float), FIRM_COLOR)]
        layers += [
            (name, np.asarray(mw, dtype=float), colors[name]) for name, mw in class_mw.items()
        ]
        bottom = np.zeros(x.size - 1)
        for name, mw, color in layers:
            ax_mw.stairs(bottom + mw, x, baseline=bottom, fill=True, color=color, label=name)
            bottom = bottom + mw
        ax_mw.set_ylabel("scheduled MW")
        ax_mw.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5)
        ax_mw.set_ylim(0, max(float(bottom.max()), 1.0) * 1.1)

        lo, hi = price_band_usd_per_mwh
        ax_p.stairs(hi, x, baseline=lo, fill=True, color="#cfdcec", label=band_label)
        ax_p.stairs(price_mean_usd_per_mwh, x, color="#222222", label="mean price")
        levels = [float(np.max(hi))]
        for name, shed in first_shed_usd_per_mwh.items():
            level = np.asarray(shed, dtype=float)
            if np.isfinite(level).all():
                levels.append(float(level.max()))
                ax_p.stairs(
                    level,
                    x,
                    color=colors.get(name, "#555555"),
                    linestyle="--",
                    linewidth=1.0,
                    label=f"{name} starts to shed above",
                )
        ax_p.set_ylim(min(float(np.min(lo)), 0.0), max(levels) * 1.5)
        ax_p.set_yscale("symlog", linthresh=100.0)
        ax_p.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax_p.set_ylabel("$/MWh")
        ax_p.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5)
        _local_time_axis(ax_p, tz)
    return _to_svg(fig, "schedule", "Schedule by job class with price and the curtailment ladder")


def hedge_load_svg(
    interval_start_utc: np.ndarray,
    tz: str,
    *,
    block_mw: np.ndarray,
    option_mw: np.ndarray,
    load_mean_mw: np.ndarray,
    load_band_mw: tuple[np.ndarray, np.ndarray],
    scheduled_mw: np.ndarray,
    band_label: str,
) -> str:
    """Net block position (MW, filled) and option notional (MW, dotted) against campus load:
    its band and mean out of sample, and the scheduled load (dashed), by interval.

    A block position above the load band is an over-hedge: the campus sells the excess back at
    the real-time price.
    """
    fig = _figure(7.2, 3.2, "hedge-load")
    with mpl.rc_context(_RC):
        ax = fig.add_subplot()
        x = _edges(interval_start_utc)
        low, high = load_band_mw
        ax.stairs(block_mw, x, fill=True, color=HEDGED_COLOR, alpha=0.35, label="net block MW")
        ax.stairs(high, x, baseline=low, fill=True, color="#555555", alpha=0.25, label=band_label)
        ax.stairs(load_mean_mw, x, color="#222222", label="mean load (ladder)")
        ax.stairs(scheduled_mw, x, color="#222222", linestyle="--", label="scheduled load")
        if np.any(np.asarray(option_mw) != 0):
            ax.stairs(
                option_mw,
                x,
                color=UNHEDGED_COLOR,
                linestyle=":",
                linewidth=1.6,
                label="option notional MW",
            )
        ax.axhline(0.0, color="#555555", linewidth=0.8)
        ax.set_ylabel("MW")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5)
        _local_time_axis(ax, tz)
    return _to_svg(fig, "hedge-load", "Hedge position against campus load by interval")


def _edges(interval_start_utc: np.ndarray) -> np.ndarray:
    """Matplotlib date numbers of the interval edges (T + 1), from UTC interval starts."""
    stamps = np.asarray(interval_start_utc, dtype="datetime64[us]")
    step = stamps[1] - stamps[0] if stamps.size > 1 else np.timedelta64(1, "h")
    edges = [
        datetime.fromisoformat(str(s)).replace(tzinfo=UTC)
        for s in np.append(stamps, stamps[-1] + step)
    ]
    return mdates.date2num(edges)


def _local_time_axis(ax, tz: str) -> None:
    """Label the x axis of UTC date numbers in the local clock ``tz``."""
    zone = ZoneInfo(tz)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=zone, minticks=4, maxticks=9))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d %H:%M", tz=zone))
    ax.set_xlabel(f"interval start, local time ({tz})")
    for label in ax.get_xticklabels():
        label.set_rotation(20)
        label.set_horizontalalignment("right")


def payoff_grid(
    strikes_usd_per_mwh: Sequence[float | None], floor_usd_per_mwh: float = -50.0
) -> np.ndarray:
    """Price axis ($/MWh) for payoff diagrams: from ``floor`` to twice the largest strike."""
    finite = [s for s in strikes_usd_per_mwh if s is not None and np.isfinite(s)]
    top = max([*finite, 100.0]) * 2.0
    return np.linspace(floor_usd_per_mwh, top, 241)


def term_months_svg(
    labels: Sequence[str],
    *,
    block_mw: np.ndarray,
    option_mw: np.ndarray,
    dr_mw: np.ndarray,
    full_load_mw: np.ndarray,
) -> str:
    """Per month of a term: net block MW and option notional (month averages over all hours),
    DR MW committed, and the campus load with every class running (MW)."""
    fig = _figure(7.2, 3.0, "term-months")
    with mpl.rc_context(_RC):
        ax = fig.add_subplot()
        x = np.arange(len(labels))
        width = 0.28
        ax.bar(x - width, block_mw, width, color=HEDGED_COLOR, label="net block MW (avg)")
        ax.bar(x, option_mw, width, color=UNHEDGED_COLOR, label="option notional MW (avg)")
        ax.bar(x + width, dr_mw, width, color=CLASS_COLORS[1], label="DR MW committed")
        ax.step(
            np.append(x - 0.5, x[-1] + 0.5),
            np.append(full_load_mw, full_load_mw[-1]),
            where="post",
            color="#222222",
            label="campus load, all classes running (avg)",
        )
        ax.axhline(0.0, color="#555555", linewidth=0.8)
        ax.set_xticks(x, labels, rotation=45, ha="right")
        ax.set_ylabel("MW")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5)
    return _to_svg(fig, "term-months", "Hedges, DR commitment and campus load by month")


def distributions_svg(
    values: Mapping[str, np.ndarray],
    probabilities: np.ndarray,
    *,
    xlabel: str,
    title: str,
    name: str,
) -> str:
    """Probability-weighted CDFs of one figure ($ per unit) under several strategies
    (``values``: label -> [S]), on one chart."""
    fig = _figure(7.2, 3.2, name)
    with mpl.rc_context(_RC):
        ax = fig.add_subplot()
        p = np.asarray(probabilities, dtype=float)
        for i, (label, v) in enumerate(values.items()):
            _step_cdf(ax, v, p, CLASS_COLORS[i % len(CLASS_COLORS)], label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("probability value ≤ x")
        ax.set_ylim(0, 1.02)
        ax.xaxis.set_major_formatter(FuncFormatter(_usd))
        fig.legend(loc="outside right upper")
    return _to_svg(fig, name, title)
