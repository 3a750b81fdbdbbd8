"""The HTML report rendered from a hand-built ReportData: sections, escaping, numbers, offline."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pytest
from report_sample import HOSTILE, sample_report

from energyhedge.report.html import SECTION_IDS, recommendation_sentence, render_report


class _Collector(HTMLParser):
    """Collects tags, ids, attributes that load resources, and table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "section":
            self.ids.append(a.get("id") or "")
        for key in ("src", "href", "xlink:href", "srcset", "data"):
            if a.get(key):
                self.links.append(a[key])
        self._in_cell = tag == "td"
        if self._in_cell:
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells[-1] += data


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
    # The name shows up escaped in the title, header, sentence, trades, schedule and inputs.
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
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


def test_numbers_in_tables(hostile_page: tuple[str, _Collector]) -> None:
    _, parsed = hostile_page
    cells = parsed.cells
    # Trade 1: 12.5 MW, fair $4,375, quoted $5,250; trade 2: a 3 MW sale with no quote.
    assert "$4,375" in cells and "$5,250" in cells
    assert "−3.0" in cells and "none (fair used)" in cells
    # Risk changes: 82,000 - 81,234 and 101,000 - 150,000.
    assert "+$766" in cells and "−$49,000" in cells
    # Stress: the hedge saves 2,500,000 - 900,000.
    assert "$1,600,000" in cells
    # Changes since the last run: +2.5 MW, -$9,000 CVaR, +20 MWh.
    assert "+2.5 MW" in cells and "−$9,000" in cells and "+20.0 MWh" in cells
    # Schedule energy: 30 MW x 24 h and the 1,600 $/MWh threshold.
    assert "720.0" in cells and "$1,600" in cells
    # Alerts: level, local window ("—" for the whole run) and text in their own cells.
    assert cells[:6] == [
        "warning",
        "2026-11-26 15:00-19:00 CST",
        "coincident-peak risk, keep load low: expected tag cost $4,640 per MW of load "
        "held through it",
        "info",
        "—",
        f"ercot/rtm/{HOSTILE}/60min: gap: 1 interval missing",
    ]


def test_no_alerts_is_stated() -> None:
    page = render_report(dataclasses.replace(sample_report(), alerts=()))
    assert '<section id="alerts">\n  <h2>Alerts</h2>\n  <p>No alerts.</p>' in page


def test_sentence_names_trades_and_tail_effect() -> None:
    data = sample_report()
    assert recommendation_sentence(data) == (
        "For Campus A (ERCOT LZ_HOUSTON, 2026-11-26 to 2026-11-27 (24 h)): buy 12.5 MW of "
        "call_100_5x16 and sell 3.0 MW of block_5x16, which moves the CVaR 95% of cost per "
        "GPU-hour from $0.160 to $0.110 and its mean from $0.090 to $0.093."
    )
    none = dataclasses.replace(data, trades=(), headline={})
    assert recommendation_sentence(none) == (
        "For Campus A (ERCOT LZ_HOUSTON, 2026-11-26 to 2026-11-27 (24 h)): buy no hedge."
    )


def test_first_run_and_missing_frontier_are_stated() -> None:
    data = dataclasses.replace(sample_report(), changes=None, frontier=None)
    page = render_report(data)
    assert "first successful run of profile demo-ercot" in page
    assert "The frontier was not computed in this run." in page
    assert page.count('class="chart"') == 4


def test_rendering_is_deterministic() -> None:
    assert render_report(sample_report()) == render_report(sample_report())


def test_percentile_marks_come_from_the_data() -> None:
    data = sample_report()
    page = render_report(data)
    for value in data.cost.hedged_percentiles.values():
        assert f"${value:,.3f}" in page
