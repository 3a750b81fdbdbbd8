"""Hostile names and sentinel credentials through the run commands.

Names: script, attribute-breaking, SQL and spreadsheet-formula payloads as job class names and
a run profile's name (free text: the nightly run succeeds, the report shows them as text, in
``html.parser`` and in headless Chromium, and CSV cells stay inert), and as a campus, product or
node name (refused in one line, nothing written). A node and a product name that the name rule
allows but that hold quotes, ``&``, ``+`` and ``#`` go all the way to the report.

Secrets: nightly runs without ``--offline`` with sentinel ISO credentials, against a closed
loopback port and against loopback stand-ins that echo the credentials and the bearer token in
an error body (past an 80-byte cut) or redirect to another origin: each run ends within a bound
and no sentinel (raw, URL-encoded, base64 or its first 16 characters) appears in any output,
log, registry, store file or terminal line.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import socket
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, quote_plus

import polars as pl
import pytest
from fake_iso_server import ErcotPublicApi, FakeIsoServer, Received, Reply
from markupsafe import escape
from run_harness import (
    REPO,
    copy_store,
    nightly_args,
    one_line_error,
    optimize_args,
    run_cli,
    seeded_store,
    tree_hashes,
)
from selenium.common.exceptions import NoAlertPresentException
from test_browser_report import driver  # noqa: F401  (the headless Chromium fixture)
from test_nightly import CAMPUS, CONTRACTS, write_profile

from energyhedge.data import ercot_api, ercot_mis, pjm_api
from energyhedge.data.store import open_store
from energyhedge.report.registry import Registry
from energyhedge.safe_text import FORMULA_PREFIXES, neutralise_formula

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE runs;--",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-1+cmd|' /C calc'!A0",
)
QUOTED_NODE = "O'Brien & Sons (A+B), #1: x"
QUOTED_PRODUCT = "Q'3 block & cap (+1), #2"
"""A node and a product name inside the name rule that still hold quotes and markup signs."""


@pytest.fixture(scope="module")
def shipped_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store seeded from the shipped ERCOT file, copied by each test."""
    return seeded_store(tmp_path_factory.mktemp("seeded") / "store")


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON escaping is valid TOML for these characters)."""
    return json.dumps(text)


def hostile_campus(folder: Path, site: str, job_class: str, node: str = "LZ_HOUSTON") -> Path:
    """The shipped campus with its name, job class names and node replaced."""
    text = CAMPUS.read_text(encoding="utf-8")
    for old, new in (
        ('name = "tx-100mw"', f"name = {toml_string(site)}"),
        ('name = "training"', f"name = {toml_string(job_class)}"),
        ('name = "inference"', f"name = {toml_string(job_class + ' firm')}"),
        ('node = "LZ_HOUSTON"', f"node = {toml_string(node)}"),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    path = folder / "campus.toml"
    path.write_text(text, encoding="utf-8")
    return path


def hostile_contracts(folder: Path, product: str, node: str = "LZ_HOUSTON") -> Path:
    """The shipped ERCOT catalogue with its first product renamed and its node replaced."""
    text = CONTRACTS.read_text(encoding="utf-8")
    text = text.replace('name = "block_5x16"', f"name = {toml_string(product)}", 1)
    text = text.replace('node = "LZ_HOUSTON"', f"node = {toml_string(node)}", 1)
    path = folder / "contracts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def profile_with(folder: Path, name: str, campus: Path, contracts: Path | None = None) -> Path:
    """``write_profile`` named ``name``, with ``campus`` and optionally another catalogue."""
    path = write_profile(folder, campus=campus, name=name)
    if contracts is not None:
        path.write_text(
            path.read_text(encoding="utf-8").replace(str(CONTRACTS), str(contracts)),
            encoding="utf-8",
        )
    return path


class _Page(HTMLParser):
    """Every tag with its attributes, and the text as a browser shows it (entities decoded)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def injected(page: str, *names: str) -> list[str]:
    """Markup the page should not have: scripts, event handlers, images, attributes made of the
    words (over 3 letters) of ``names``, which a quote breaking out of an attribute value would
    leave; [] if clean."""
    words = {
        w.lower()
        for name in names
        for w in name.replace("'", " ").split()
        if w.isalpha() and len(w) > 3
    }
    found = []
    for tag, attrs in _Page(page).tags:
        if tag in ("script", "img", "iframe", "object", "embed"):
            found.append(f"<{tag}>")
        for attr, value in attrs:
            if attr.startswith("on") or attr in words:
                found.append(f"<{tag} {attr}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                found.append(f"<{tag} {attr}={value!r}>")
    return found


def shown_text(page: str) -> str:
    return "".join(_Page(page).text)


def live_formulas(path: Path) -> list[str]:
    """Text cells of CSV ``path`` (header included) that a spreadsheet would evaluate."""
    cells = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            for cell in row:
                try:
                    float(cell)
                except ValueError:
                    if cell.startswith(FORMULA_PREFIXES):
                        cells.append(cell)
    return cells


NAMED_RUNS = tuple(zip(PAYLOADS[3:], PAYLOADS[:3] + PAYLOADS[:1], strict=True))
"""(job class name, run profile name) of each hostile nightly run: every formula payload is a job
class (it reaches schedule.csv), every markup and SQL payload a profile name (the registry)."""


@pytest.fixture(scope="module", params=NAMED_RUNS, ids=range(len(NAMED_RUNS)))
def hostile_run(request, shipped_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """A nightly run with a hostile job class name and run profile name (``/`` made ``_``).

    Returns (job class name, profile name, output folder of the run).
    """
    job_class, name = request.param
    folder = tmp_path_factory.mktemp("hostile")
    campus = hostile_campus(folder, "tx-100mw", job_class)
    profile = profile_with(folder, name.replace("/", "_"), campus)
    out = folder / "reports"
    result = run_cli(*nightly_args(profile, out, copy_store(shipped_store, folder / "store")))
    assert result.returncode == 0, result.stderr
    return job_class, name.replace("/", "_"), out


def test_nightly_report_shows_hostile_names_as_text(hostile_run) -> None:
    job_class, name, out = hostile_run
    page = (out / "latest" / "report.html").read_text(encoding="utf-8")
    assert injected(page, job_class, name) == []
    text = shown_text(page)
    assert job_class in text and f"profile {name}" in text


def test_nightly_csv_cells_from_hostile_names_are_inert(hostile_run) -> None:
    job_class, _, out = hostile_run
    schedule, trades = out / "latest" / "schedule.csv", out / "latest" / "trades.csv"
    assert live_formulas(schedule) == [] and live_formulas(trades) == []
    job_classes = {row["job_class"] for row in csv.DictReader(schedule.open(encoding="utf-8"))}
    assert job_classes == {neutralise_formula(job_class)}


def test_registry_keeps_hostile_profile_name_as_data(hostile_run) -> None:
    _, name, out = hostile_run
    runs = Registry(out).runs()
    assert [(r.profile, r.status) for r in runs] == [(name, "success")]


@pytest.mark.browser
def test_nightly_report_in_browser_runs_no_payload(hostile_run, driver) -> None:  # noqa: F811
    job_class, name, out = hostile_run
    driver.get((out / "latest" / "report.html").as_uri())
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018  (raises when no alert is open)
    count = "return document.querySelectorAll('script, img, iframe, [onerror]').length"
    assert driver.execute_script(count) == 0
    body = driver.find_element("css selector", "body").text
    assert job_class in body and name in body


@pytest.mark.parametrize("field", ["site", "product"])
@pytest.mark.parametrize("payload", PAYLOADS[:4], ids=range(4))
def test_hostile_campus_or_product_name_is_refused_in_one_line(
    field: str, payload: str, shipped_store: Path, tmp_path: Path
) -> None:
    if field == "site":
        campus, contracts, where = hostile_campus(tmp_path, payload, "training"), None, "campus"
    else:
        campus, contracts, where = CAMPUS, hostile_contracts(tmp_path, payload), "contracts"
    profile = profile_with(tmp_path, "small", campus, contracts)
    out = tmp_path / "opt"
    result = run_cli(*optimize_args(profile, out, shipped_store))
    assert result.returncode == 2 and one_line_error(result.stderr), result.stderr
    assert f"{where}.toml" in result.stderr and "name" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_hostile_node_name_in_import_is_refused_in_one_line(
    payload: str, shipped_store: Path, tmp_path: Path
) -> None:
    store = copy_store(shipped_store, tmp_path / "store")
    before = tree_hashes(store)
    path = tmp_path / "prices.csv"
    pl.DataFrame(
        {
            "time": ["2023-08-01T05:00:00Z", "2023-08-01T06:00:00Z"],
            "node": [payload] * 2,
            "price": [31.5, 29.0],
        }
    ).write_csv(path)
    result = run_cli("data", "import", str(path), "--time-col", "time", "--store", str(store))
    assert result.returncode == 3 and one_line_error(result.stderr), result.stderr
    assert "prices.csv" in result.stderr
    assert tree_hashes(store) == before


def test_quoted_node_and_product_names_reach_the_report_as_text(
    shipped_store: Path, tmp_path: Path
) -> None:
    store = copy_store(shipped_store, tmp_path / "store")
    houston = open_store(store).read("ercot", "rtm", "LZ_HOUSTON")
    path = tmp_path / "quoted.csv"
    houston.select(
        pl.col("interval_start_utc").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("time"),
        pl.lit(QUOTED_NODE).alias("node"),
        pl.col("price_usd_per_mwh").alias("price"),
    ).write_csv(path)
    imported = run_cli("data", "import", str(path), "--time-col", "time", "--store", str(store))
    assert imported.returncode == 0, imported.stderr
    campus = hostile_campus(tmp_path, "quoted", "training", node=QUOTED_NODE)
    contracts = hostile_contracts(tmp_path, QUOTED_PRODUCT, node=QUOTED_NODE)
    out = tmp_path / "reports"
    result = run_cli(*nightly_args(profile_with(tmp_path, "q", campus, contracts), out, store))
    assert result.returncode == 0, result.stderr

    page = (out / "latest" / "report.html").read_text(encoding="utf-8")
    assert injected(page, QUOTED_NODE, QUOTED_PRODUCT) == []
    assert QUOTED_NODE in shown_text(page)
    assert f'aria-label="Payoff of {escape(QUOTED_PRODUCT)}"' in page
    trades = list(csv.DictReader((out / "latest" / "trades.csv").open(encoding="utf-8")))
    assert {row["node"] for row in trades} == {QUOTED_NODE}
    assert live_formulas(out / "latest" / "trades.csv") == []
    assert QUOTED_PRODUCT in {row["product"] for row in trades}  # the renamed block_5x16 is bought
    assert QUOTED_PRODUCT in shown_text(page)


# Secrets -------------------------------------------------------------------------------------

SENTINELS = {
    ercot_api.ENV_USERNAME: "SNTLuser4c1d9e-ops@example.test",
    ercot_api.ENV_PASSWORD: "SNTLpass8b2f7a/+%&=?#x y",
    ercot_api.ENV_KEY: "SNTLercotkey5e6f0a9b8c7d",
    pjm_api.ENV_KEY: "SNTLpjmkey3a4b5c6d7e8f9",
}
REFRESH_BOUND_S = 60.0
"""A refresh against a closed port must give up well within this (seconds, whole run)."""


def sentinel_forms() -> set[str]:
    """Each sentinel raw, URL-encoded, base64, as a basic-auth pair, and its first 16 chars."""
    forms = set()
    for value in SENTINELS.values():
        forms |= {value, quote(value, safe=""), quote_plus(value), value.strip()[:16]}
        forms.add(base64.b64encode(value.encode()).decode())
    pair = f"{SENTINELS[ercot_api.ENV_USERNAME]}:{SENTINELS[ercot_api.ENV_PASSWORD]}"
    forms.add(base64.b64encode(pair.encode()).decode())
    return forms | {ID_TOKEN, ID_TOKEN[:16]}


def leaks(*roots: Path, texts: tuple[str, ...] = ()) -> list[str]:
    """Files under ``roots`` (and terminal ``texts``) holding any form of any sentinel."""
    blobs = {f"terminal output {i}": text.encode() for i, text in enumerate(texts)}
    for root in roots:
        blobs |= {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    forms = sorted(sentinel_forms())
    return [
        f"{name}: {form[:20]}..."
        for name, data in blobs.items()
        for form in forms
        if form.encode() in data
    ]


@pytest.fixture
def closed_port():
    """A loopback port bound but not listening: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def iso_env(port: int, **overrides: str) -> dict[str, str]:
    """The environment with sentinel keys and every ISO base URL on the closed ``port``."""
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in SENTINELS}
    env.update(SENTINELS)
    env.update(
        {
            ercot_api.ENV_API_URL: f"{base}/api",
            ercot_api.ENV_TOKEN_URL: f"{base}/token",
            ercot_mis.ENV_MIS_URL: f"{base}/mis",
            pjm_api.ENV_API_URL: f"{base}/pjm",
        }
    )
    env.update(overrides)
    return env


SECRET_CASES = {
    "ercot-closed-port": ("small", {}, 0),
    "ercot-key-pasted-with-newline": (
        "small",
        {ercot_api.ENV_KEY: "SNTLercotkey5e6f0a9b8c7d\n"},
        0,
    ),
    "ercot-key-with-line-break": ("small", {ercot_api.ENV_KEY: "SNTLercotkey5e6f\n0a9b8c7d"}, 2),
    "pjm-closed-port-no-data": ("demo-pjm", {}, 3),
}
"""Case -> (profile, environment overrides, expected exit code)."""


@pytest.mark.parametrize("case", SECRET_CASES)
def test_sentinel_keys_reach_no_output(case, closed_port, shipped_store, tmp_path: Path) -> None:
    profile_name, overrides, exit_code = SECRET_CASES[case]
    profile = (
        REPO / "models" / "runs" / "demo-pjm.toml"
        if profile_name == "demo-pjm"
        else write_profile(tmp_path)
    )
    store, out = copy_store(shipped_store, tmp_path / "store"), tmp_path / "reports"
    args = [a for a in nightly_args(profile, out, store) if a != "--offline"]
    t0 = time.monotonic()
    result = run_cli(*args, env=iso_env(closed_port, **overrides), timeout_s=2 * REFRESH_BOUND_S)
    elapsed_s = time.monotonic() - t0
    assert elapsed_s < REFRESH_BOUND_S, f"{case}: took {elapsed_s:.0f} s"
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    logs = [out / "latest" / "run.log"] if exit_code == 0 else list(out.glob("*/*.failed.log"))
    assert len(logs) == 1, f"{case}: no run log kept"
    if case != "ercot-key-with-line-break":  # refused before any request
        assert "connection refused" in logs[0].read_text(encoding="utf-8")
    assert leaks(out, store, texts=(result.stdout, result.stderr)) == []


def test_leak_search_finds_a_cut_or_encoded_sentinel(tmp_path: Path) -> None:
    password = SENTINELS[ercot_api.ENV_PASSWORD]
    (tmp_path / "run.log").write_text(f"body: {quote(password, safe='')}", encoding="utf-8")
    (tmp_path / "registry.sqlite").write_bytes(b"\x00" + password[:16].encode() + b"\x00")
    hits = leaks(tmp_path, texts=(f"401 {password}",))
    assert {Path(hit.split(": ")[0]).name for hit in hits} == {
        "terminal output 0",
        "run.log",
        "registry.sqlite",
    }


def test_markup_and_formula_checks_catch_raw_names(tmp_path: Path) -> None:
    raw = f"<h1 title='{QUOTED_NODE}'>{PAYLOADS[0]}{PAYLOADS[1]}</h1>"
    assert injected(raw, QUOTED_NODE) == [
        "<h1 brien=None>",
        "<h1 sons=None>",
        "<script>",
        "<img>",
        "<img onerror='alert(1)'>",
    ]
    path = tmp_path / "trades.csv"
    path.write_text(f'product,mw\n"{PAYLOADS[3]}",-5.0\n{neutralise_formula(PAYLOADS[5])},1\n')
    assert live_formulas(path) == [PAYLOADS[3]]


ID_TOKEN = "SNTLidtoken9d8c7b6a5f4e"
"""The bearer token the stand-in token service hands out (a secret like the keys)."""


def echo(request: Received) -> Reply:
    """An error whose body, past an 80-byte cut, echoes the form, the key and the token."""
    key = request.headers.get("Ocp-Apim-Subscription-Key", "")
    bearer = request.headers.get("Authorization", "")
    body = f"{'x' * 70} {request.body.decode()} key={key} auth={bearer} {ID_TOKEN}"
    return Reply(401, body.encode(), {"Content-Type": "text/plain"})


@pytest.mark.parametrize("echoed_by", ["token", "query", "redirect"])
def test_secrets_echoed_by_the_iso_reach_no_published_output(
    echoed_by: str, shipped_store: Path, tmp_path: Path
) -> None:
    """The refresh fails, the run goes on with the store and publishes the failure's text: the
    echo comes from the token service, the query endpoint, or a server on another origin that
    the query endpoint redirects to."""
    with FakeIsoServer() as iso, FakeIsoServer() as elsewhere:
        ercot = ErcotPublicApi(iso, id_token=ID_TOKEN)
        if echoed_by == "token":
            iso.route("POST", ercot.token_path, echo)
        elif echoed_by == "query":
            iso.route("GET", ercot.query_path, echo)
        else:
            where = f"{elsewhere.url}{ercot.query_path}"
            iso.route("GET", ercot.query_path, lambda r: Reply(302, b"", {"Location": where}))
            elsewhere.route("GET", ercot.query_path, echo)
        env = iso_env(0)
        env[ercot_api.ENV_API_URL] = f"{iso.url}/api"
        env[ercot_api.ENV_TOKEN_URL] = f"{iso.url}{ercot.token_path}"
        store, out = copy_store(shipped_store, tmp_path / "store"), tmp_path / "reports"
        args = [a for a in nightly_args(write_profile(tmp_path), out, store) if a != "--offline"]
        result = run_cli(*args, env=env, timeout_s=2 * REFRESH_BOUND_S)
        assert result.returncode == 0, result.stderr
        assert iso.received, "the refresh never asked the ISO"
        sent_away = [(r.headers, r.body) for r in elsewhere.received]
    log = (out / "latest" / "run.log").read_text(encoding="utf-8")
    assert "refresh failed" in log or "refresh incomplete" in log
    if echoed_by == "redirect":
        assert sent_away == []  # the other origin is never asked, with or without credentials
    assert leaks(out, store, texts=(result.stdout, result.stderr, repr(sent_away))) == []
