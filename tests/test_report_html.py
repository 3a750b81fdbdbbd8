"""The HTML report rendered from a hand-built ReportData: sections, escaping, numbers, offline."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from report_sample import HOSTILE, sample_report

from energyhedge.report import plots
from energyhedge.report.html import (
    SECTION_IDS,
    LadderGap,
    recommendation_sentence,
    render_report,
    usd_band,
)


class _Collector(HTMLParser):
    """Collects tags, ids, attributes that load resources, and table cells per section."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.cells: dict[str, list[str]] = {}
        self._section = ""
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id") or ""
            self.ids.append(self._section)
        for key in ("src", "href", "xlink:href", "srcset", "data"):
            if a.get(key):
                self.links.append(a[key])
        self._in_cell = tag == "td"
        if self._in_cell:
            self.cells.setdefault(self._section, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells[self._section][-1] += data


@pytest.fixture(scope="module")
def hostile_page() -> tuple[str, _Collector]:
    page = render_report(sample_report(HOSTILE, "call" + HOSTILE))
    parsed = _Collector()
    parsed.feed(page)
    return page, parsed


def test_every_section_present_once_in_order(hostile_page: tuple[str, _Collector]) -> None:
    _, parsed = hostile_page
    assert parsed.ids == list(SECTION_IDS)


def test_config_strings_are_escaped(hostile_page: tuple[str, _Collector]) -> None:
    page, parsed = hostile_page
    assert "script" not in parsed.tags
    assert "<script" not in page.lower()
    # Title, header, sentence, trades, ladder, schedule, inputs and the alerts show it escaped.
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 9
    assert "call&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_page_loads_nothing_from_outside(hostile_page: tuple[str, _Collector]) -> None:
    page, parsed = hostile_page
    assert all(link.startswith("#") for link in parsed.links), parsed.links
    assert not {"img", "link", "iframe", "object", "embed", "script"} & set(parsed.tags)
    assert "@import" not in page and "@font-face" not in page
    assert set(re.findall(r"url\(([^)]*)\)", page)) <= {
        m for m in re.findall(r"url\((#[^)]*)\)", page)
    }
    assert "default-src 'none'" in page


def test_trades_show_side_price_and_rounded_mw(hostile_page: tuple[str, _Collector]) -> None:
    page, parsed = hostile_page
    cells = parsed.cells["trades"]
    # 95.49999999999999 MW is shown as 95.5, bought at its ask of $123.45/MWh (mid $122.00).
    block = cells[cells.index("block_7x24") : cells.index("block_7x24") + 11]
    assert block == [
        "block_7x24", "block", "7x24", "horizon", "buy at ask", "95.5", "$123.45", "$122.00",
        "—", "$3,000", "model mid + loading",
    ]  # fmt: skip
    sale = cells[cells.index("block_5x16") : cells.index("block_5x16") + 6]
    assert sale[4:] == ["sell at bid", "−3.0"]
    assert "$2.19" in cells and "broker quote" in cells
    assert "99999" not in page and "95.49" not in page


def test_risk_table_out_of_sample_with_intervals_and_breakdown(
    hostile_page: tuple[str, _Collector],
) -> None:
    page, parsed = hostile_page
    cells = parsed.cells["risk"]
    # Out of sample "none": $80,000 expected (76,000-84,000), CVaR $150,000 (135,000-165,000),
    # $0.080 and $0.150 per GPU-hour.
    i = cells.index("none (no hedges, no flexibility)")
    assert cells[i : i + 5] == [
        "none (no hedges, no flexibility)",
        "$80.00k (76.00-84.00k)",
        "$150.00k (135.00-165.00k)",
        "$0.080",
        "$0.150",
    ]
    # Breakdown: premiums of "both" are $9,766 over 980,000 GPU-h; the columns add up.
    row = cells[cells.index("hedge premiums (ask paid, bid received)") :][:5]
    assert row[4] == "$9,766 · $0.010"
    assert cells[cells.index("DR/AS availability revenue (−)") + 4] == "−$2,000 · −$0.002"
    total = cells[cells.index("expected cost") :][:5]
    assert total == [
        "expected cost",
        "$80,000 · $0.080",
        "$75,000 · $0.077",
        "$80,766 · $0.081",
        "$74,000 · $0.076",
    ]
    # In sample (0.9 x the lines): "both" at $66,600; the LP-vs-ladder gap.
    assert "$66.60k (63.27-69.93k)" in cells
    assert cells[-3:] == ["value of foresight (ladder − LP)", "$1,600", "$2,900"]
    assert "The gap ($1,600 expected, $2,900 CVaR) is the value of foresight" in page
    assert "disjoint" not in page or "do not use" in page
    assert "116 days) do not use" in page


def test_frontier_table_ends_with_the_chosen_point(hostile_page: tuple[str, _Collector]) -> None:
    page, parsed = hostile_page
    assert parsed.cells["frontier"][-3:] == ["chosen", "$74,000", "$101,000"]
    # lambda = 0 at $1.5M CVaR would squash the rest: overview and detail panels.
    section = page[page.index('<section id="frontier">') : page.index('<section id="hedge-load">')]
    assert "all points" in section and "detail: λ &gt; 0 and the chosen point" in section


def test_frontier_single_panel_when_points_are_close() -> None:
    svg = plots.frontier_svg(
        np.array([104.0, 101.0, 98.0]),
        np.array([73.0, 74.0, 76.0]),
        np.array([0.0, 1.0, 2.0]),
        chosen=(101.0, 74.0),
        unhedged=None,
        alpha=0.95,
    )
    assert "all points" not in svg and "λ=1" in svg


def test_hedge_load_ladder_and_alerts(hostile_page: tuple[str, _Collector]) -> None:
    page, parsed = hostile_page
    # Blocks of 95.5 MW over a mean load of 80 MW in the first 16 intervals.
    assert "Blocks exceed the mean load in 16 intervals (by up to 15.5 MW)" in page
    ladder = parsed.cells["ladder"]
    assert ladder[:4] == ["train_flex", "20.0", "$1,600.00", "$1,310.00 to $1,450.00"]
    assert ladder[8:] == [HOSTILE + " batch", "10.0", "$400.00", "—"]
    assert "In 2026-11-26 15:00-19:00 CST the expected coincident-peak tag" in page
    assert "inference overflow is not curtailed in real time" in page
    assert parsed.cells["alerts"][:3] == [
        "warning",
        "2026-11-26 15:00-19:00 CST",
        "coincident-peak risk: the schedule runs 85.0 MW (firm 40.0, train_flex 30.0, "
        "batch 10.0); expected tag cost $394,400 at that load ($4,640 per MW held through "
        "it); the ladder starts to shed load (batch first, 10.0 MW) above $110/MWh: 35% "
        "chance out of sample at some point",
    ]
    assert parsed.cells["alerts"][3:5] == ["info", "—"]


def test_changes_and_stress(hostile_page: tuple[str, _Collector]) -> None:
    _, parsed = hostile_page
    assert "$1,600,000" in parsed.cells["stress"]  # 2,500,000 - 900,000
    changes = parsed.cells["changes"]
    assert "+2.5 MW" in changes and "−$9,000" in changes and "+20.0 MWh" in changes


def test_no_alerts_is_stated() -> None:
    page = render_report(dataclasses.replace(sample_report(), alerts=()))
    assert '<section id="alerts">\n  <h2>Alerts</h2>\n  <p>No alerts.</p>' in page


def test_sentence_names_trades_prices_sides_and_tail_effect() -> None:
    data = sample_report()
    assert recommendation_sentence(data) == (
        "For Campus A (ERCOT LZ_HOUSTON, 2026-11-26 to 2026-11-27 (24 h)): buy 12.5 MW "
        "call_100_5x16 at a premium of $2.19/MWh (ask), buy 95.5 MW block_7x24 at "
        "$123.45/MWh (ask) and sell 3.0 MW block_5x16 at $44.50/MWh (bid); out of sample "
        "(model-priced, 20 fresh scenarios), trades, schedule and curtailment ladder together "
        "take the CVaR 95% of cost per GPU-hour from $0.150 with no hedge and no flexibility "
        "to $0.103, and its mean from $0.080 to $0.076."
    )
    none = dataclasses.replace(data, trades=())
    assert recommendation_sentence(none).startswith(
        "For Campus A (ERCOT LZ_HOUSTON, 2026-11-26 to 2026-11-27 (24 h)): buy no hedge; out"
    )


def test_money_with_interval_and_foresight_sentence() -> None:
    assert usd_band(1.23e6, (1.10e6, 1.35e6)) == "$1.23M (1.10-1.35M)"
    assert usd_band(232_036.0, None) == "$232.04k"
    assert usd_band(-6_926.0, (-7_000.0, -6_800.0)) == "−$6,926 (−7,000 to −6,800)"
    gap = LadderGap(100.0, 200.0, 150.0, 260.0, work_requirement=True)
    assert gap.sentence.startswith("The gap ($50 expected, $60 CVaR) is the value of foresight")
    assert "ladder equals the LP's per-scenario recourse wherever no work requirement binds" in (
        gap.sentence
    )
    assert "A job class has a work requirement" in gap.sentence
    assert "work requirement:" not in LadderGap(1.0, 1.0, 1.0, 1.0).sentence


def test_first_run_and_missing_frontier_are_stated() -> None:
    data = dataclasses.replace(sample_report(), changes=None, frontier=None)
    page = render_report(data)
    assert "first successful run of profile demo-ercot" in page
    assert "The frontier was not computed in this run." in page
    assert page.count('class="chart"') == 5  # hedge-load, cost CDF, two payoffs, schedule


def test_rendering_is_deterministic() -> None:
    assert render_report(sample_report()) == render_report(sample_report())


def test_percentile_marks_come_from_the_data() -> None:
    data = sample_report()
    page = render_report(data)
    for value in data.cost.hedged_percentiles.values():
        assert f"${value:,.3f}" in page
