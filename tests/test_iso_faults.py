"""ISO faults: every service stand-in misbehaves on the second of two chunks, in every way listed.

For each fault: the fetch ends in bounded time; a failure is one line naming the request and no
secret (sentinel values are searched, in every encoding, in the error, the output, the log and
every file of the store); the first chunk is kept and nothing of the second is written; a
second run against the healed service completes the store.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import pytest
from fake_iso_server import (
    DataMiner,
    ErcotMisArchive,
    ErcotPublicApi,
    FakeIsoServer,
    Received,
    Reply,
)

from energyhedge.cli import main
from energyhedge.data import fetch as fetch_module
from energyhedge.data.ercot_api import TOKEN_LIFETIME_S, ErcotApi
from energyhedge.data.ercot_mis import ErcotMis
from energyhedge.data.fetch import fetch, finish
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.http import (
    CredentialsRejectedError,
    DeadlineError,
    FetchStoppedError,
    HttpClient,
    UnreachableError,
)
from energyhedge.data.pjm_api import PjmApi
from energyhedge.data.store import open_store
from energyhedge.errors import DataError, EnergyHedgeError

PJM_KEY = "PJMKEY-SENTINEL-7f3a9c41"
USERNAME = "ops.SENTINEL.user@example.com"
PASSWORD = "Pw+SENTINEL/x&y=z%q"  # URL-encoding changes it
ERCOT_KEY = "ERCOTKEY-SENTINEL-5b2e88"
ID_TOKEN = "IDTOKEN-SENTINEL-91d0c7"
SECRETS = (PJM_KEY, USERNAME, PASSWORD, ERCOT_KEY, ID_TOKEN)


def encodings(secret: str) -> set[str]:
    raw = secret.encode()
    return {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(raw).decode()}


# A body that echoes every secret, raw and URL-encoded; the first crosses the 80-character cut.
ECHO = ("x" * 70 + " ".join(f"{s} {quote_plus(s)}" for s in SECRETS)).encode()


@dataclass
class Service:
    """One service stand-in and a two-chunk request against it."""

    name: str
    request: FetchRequest
    rows_per_chunk: int
    second_from_utc: datetime  # first interval of the second chunk
    routes: list[tuple[str, str]]  # routes that carry data, faults are injected there
    second: Callable[[Received], bool]  # picks requests of the second chunk
    install: Callable[[FakeIsoServer], object]
    source: Callable[[FakeIsoServer, HttpClient], object]
    json_routes: tuple[str, ...] = ()  # routes answering JSON (others answer zip files)
    credentials: bool = True


def ercot_source(server: FakeIsoServer, http: HttpClient) -> ErcotApi:
    """The ERCOT API client with a clock that moves an hour per chunk: each chunk renews."""
    now = [0.0]
    api = ErcotApi(
        http,
        username=USERNAME,
        password=PASSWORD,
        subscription_key=ERCOT_KEY,
        base_url=server.url + "/api",
        token_url=server.url + ErcotPublicApi.token_path,
        page_size=100,
        clock=lambda: now[0],
    )
    fetch_chunk = api.get_chunk

    def get_chunk(request, chunk):
        try:
            return fetch_chunk(request, chunk)
        finally:
            now[0] += TOKEN_LIFETIME_S

    api.get_chunk = get_chunk
    return api


LISTING = ErcotPublicApi.listing_path
DOWNLOAD = ErcotPublicApi.download_path


def archive_second(request: Received) -> bool:
    if request.path == ErcotPublicApi.listing_path:
        return request.query["postDatetimeFrom"].startswith("2023-06-30")
    return 20230701 in json.loads(request.body)["docIds"]


SERVICES = {
    "pjm": Service(
        "pjm",
        FetchRequest("pjm", "dam", ("WESTERN HUB",), date(2025, 6, 29), date(2025, 7, 2)),
        48,
        datetime(2025, 7, 1, 4, tzinfo=UTC),
        [("GET", DataMiner.path)],
        lambda r: r.query["datetime_beginning_ept"].startswith("07/"),
        lambda s: DataMiner(s, pnodes={51288: "WESTERN HUB"}),
        lambda s, http: PjmApi(
            http, api_key=PJM_KEY, base_url=s.url + "/api/v1", today=date(2025, 8, 1), row_count=20
        ),
        json_routes=(DataMiner.path,),
    ),
    "ercot-api": Service(
        "ercot-api",
        FetchRequest("ercot", "rtm", ("HB_NORTH",), date(2024, 1, 30), date(2024, 2, 2)),
        192,
        datetime(2024, 2, 1, 6, tzinfo=UTC),
        [("GET", ErcotPublicApi.query_path)],
        lambda r: r.query["deliveryDateFrom"].startswith("2024-02"),
        lambda s: ErcotPublicApi(s, id_token=ID_TOKEN),
        ercot_source,
        json_routes=(ErcotPublicApi.query_path,),
    ),
    "ercot-archive": Service(
        "ercot-archive",
        FetchRequest("ercot", "dam", ("HB_NORTH",), date(2023, 6, 29), date(2023, 7, 2)),
        48,
        datetime(2023, 7, 1, 5, tzinfo=UTC),
        [("GET", ErcotPublicApi.listing_path), ("POST", ErcotPublicApi.download_path)],
        archive_second,
        lambda s: ErcotPublicApi(s, id_token=ID_TOKEN),
        ercot_source,
        json_routes=(ErcotPublicApi.listing_path,),
    ),
    "ercot-mis": Service(
        "ercot-mis",
        FetchRequest(
            "ercot", "dam", ("HB_NORTH",), date(2022, 12, 30), date(2023, 1, 2), source="mis"
        ),
        48,
        datetime(2023, 1, 1, 6, tzinfo=UTC),
        [("GET", ErcotMisArchive.download_path)],
        lambda r: r.query.get("doclookupId") == "2023",
        lambda s: ErcotMisArchive(
            s, days=[date(2022, 12, 30), date(2022, 12, 31), date(2023, 1, 1), date(2023, 1, 2)]
        ),
        lambda s, http: ErcotMis(http, base_url=s.url),
        credentials=False,
    ),
}


@dataclass(frozen=True)
class Outcome:
    """What the first run must end in: "ok", a failed second "chunk", or a "stop" of the fetch."""

    kind: str
    match: str = ""
    error: type[EnergyHedgeError] = DataError


OK = Outcome("ok")


def normal(server: FakeIsoServer, request: Received) -> Reply:
    """The reply the healthy stand-in gives ``request``."""
    return server.routes[(request.method, request.path)](request)


def mangle(change: Callable[[Reply], Reply]) -> Callable[[FakeIsoServer], Callable]:
    """A fault that alters the healthy reply."""
    return lambda server: lambda request: change(normal(server, request))


def fixed(reply: Reply) -> Callable[[FakeIsoServer], Callable]:
    return lambda server: lambda request: reply


def changed_json(change: Callable[[dict, Received], object]) -> Callable:
    """A fault that rewrites the healthy JSON answer."""

    def fault(server):
        def reply(request):
            doc = json.loads(normal(server, request).body)
            return Reply.json(change(doc, request))

        return reply

    return fault


def later_date(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def truncated(reply: Reply) -> Reply:
    half = reply.body[: len(reply.body) // 2]
    return Reply(200, half, reply.headers)


@dataclass(frozen=True)
class Fault:
    """A misbehaviour served to the second chunk's requests (``once``: only the first of them)."""

    name: str
    make: Callable[[FakeIsoServer], Callable[[Received], Reply]]
    outcome: Outcome | Callable[[Service], Outcome]
    once: bool = False
    json_only: bool = False
    paths: tuple[str, ...] = ()  # routes it is served on (default: the service's data routes)


NOT_JSON = "where JSON was expected"
BAD_ZIP = "damaged or truncated zip"

GENERIC = [
    Fault("429 retry-after seconds", fixed(Reply(429, ECHO, {"Retry-After": "2"})), OK, True),
    Fault(
        "429 retry-after date",
        lambda s: lambda r: Reply(429, b"", {"Retry-After": later_date(3)}),
        OK,
        True,
    ),
    Fault("500", fixed(Reply(500, ECHO)), Outcome("chunk", "HTTP 500")),
    Fault("503 once", fixed(Reply(503, b"busy")), OK, True),
    Fault("hang past the timeout", fixed(Reply(delay_s=30)), Outcome("chunk", "timed out")),
    Fault(
        "stall mid-body",
        mangle(lambda r: Reply(200, r.body, r.headers, stall_after=30)),
        Outcome("chunk", "timed out"),
    ),
    Fault(
        "connection reset",
        mangle(lambda r: Reply(200, r.body, r.headers, reset_after=30)),
        Outcome("chunk", "Connection"),
    ),
    Fault("reset before answering", fixed(Reply(reset=True)), Outcome("chunk", "Connection")),
    Fault(
        "truncated body",
        mangle(truncated),
        lambda s: Outcome("chunk", NOT_JSON if s.json_routes else BAD_ZIP),
    ),
    Fault(
        "html with 200",
        fixed(Reply(200, b"<html>" + ECHO + b"</html>", {"Content-Type": "text/html"})),
        lambda s: Outcome("chunk", NOT_JSON if s.json_routes else BAD_ZIP),
    ),
    Fault(
        "gzip header on a plain body",
        mangle(lambda r: Reply(200, r.body, {**r.headers, "Content-Encoding": "gzip"})),
        Outcome("chunk", "does not match its Content-Encoding"),
    ),
    Fault(
        "redirect loop",
        lambda s: lambda r: Reply(302, b"", {"Location": f"{r.path}?{urlencode(r.query)}"}),
        Outcome("chunk", "redirects in a loop"),
    ),
    Fault(
        "deep nesting",
        fixed(Reply(200, b"[" * 100_000 + b"]" * 100_000)),
        Outcome("chunk", "nested too deeply"),
        json_only=True,
    ),
]


def short_total(doc: dict, request: Received) -> dict:
    doc["totalRows"] += 5
    return doc


def looping_next(doc: dict, request: Received) -> dict:
    """Every page links back to the first."""
    first = urlencode({**request.query, "startRow": 1})
    doc["links"] = [{"rel": "next", "href": f"{SERVER_URL[0]}{DataMiner.path}?{first}"}]
    return doc


def first_page_only(server: FakeIsoServer) -> Callable[[Received], Reply]:
    def reply(request):
        return normal(
            server,
            Received(
                request.method,
                request.path,
                {**request.query, "page": "1"},
                request.headers,
                request.body,
            ),
        )

    return reply


def capped(cap: int) -> Callable[[FakeIsoServer], Callable[[Received], Reply]]:
    """Pages hold at most ``cap`` rows, whatever was asked (a server-side page cap)."""

    def fault(server):
        def reply(request):
            query = dict(request.query)
            for name in ("rowCount", "size"):
                if name in query:
                    query[name] = str(min(int(query[name]), cap))
            return normal(
                server, Received(request.method, request.path, query, request.headers, request.body)
            )

        return reply

    return fault


def set_key(path: tuple, value: object) -> Callable[[dict, Received], object]:
    def change(doc, request):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return doc

    return change


def archive_short_download(server: FakeIsoServer) -> Callable[[Received], Reply]:
    def reply(request):
        doc_ids = json.loads(request.body)["docIds"]
        body = json.dumps({"docIds": doc_ids[:-1]}).encode()
        return normal(
            server, Received(request.method, request.path, request.query, request.headers, body)
        )

    return reply


SHORT = "the service sent short pages"
CHANGED = "the API changed"
SPECIFIC = {
    "pjm": [
        Fault("short pages (500-row style cap)", capped(7), OK),
        Fault(
            "totalRows above the rows served", changed_json(short_total), Outcome("chunk", SHORT)
        ),
        Fault(
            "empty page",
            changed_json(set_key(("items",), [])),
            Outcome("chunk", "page 1 was empty"),
        ),
        Fault(
            "looping next link",
            changed_json(looping_next),
            Outcome("chunk", "repeats an earlier page"),
        ),
        Fault(
            "endless totalRows",
            changed_json(set_key(("totalRows",), 10**12)),
            Outcome("chunk", "announces"),
        ),
        Fault(
            "items of numbers",
            fixed(Reply.json({"items": [1, 2, 3], "totalRows": 3})),
            Outcome("chunk", "list of records"),
        ),
        Fault(
            "items null",
            changed_json(set_key(("items",), None)),
            Outcome("chunk", "list of records"),
        ),
        Fault(
            "totalRows a string",
            changed_json(set_key(("totalRows",), "many")),
            Outcome("chunk", "not a count"),
        ),
    ],
    "ercot-api": [
        Fault("short pages (server page cap)", capped(30), OK),
        Fault(
            "totalRecords above the rows served",
            changed_json(
                lambda d, r: set_key(("_meta", "totalRecords"), d["_meta"]["totalRecords"] + 5)(
                    d, r
                )
            ),
            Outcome("chunk", SHORT),
        ),
        Fault(
            "empty page",
            changed_json(set_key(("data",), [])),
            Outcome("chunk", "page 1 of 2 was empty"),
        ),
        Fault(
            "page number ignored (loop)",
            first_page_only,
            Outcome("chunk", "repeats an earlier page"),
        ),
        Fault(
            "endless totalPages",
            changed_json(set_key(("_meta", "totalPages"), 10**9)),
            Outcome("chunk", "announces"),
        ),
        Fault("fields null", changed_json(set_key(("fields",), None)), Outcome("chunk", CHANGED)),
        Fault(
            "data an object",
            changed_json(set_key(("data",), {"rows": 1})),
            Outcome("chunk", CHANGED),
        ),
        Fault(
            "data rows of numbers",
            changed_json(set_key(("data",), [1, 2, 3])),
            Outcome("chunk", CHANGED),
        ),
        Fault(
            "nested cells",
            changed_json(lambda d, r: {**d, "data": [[{"a": [1]}] * 7]}),
            Outcome("chunk", CHANGED),
        ),
        Fault(
            "token service fails",
            fixed(Reply(500, ECHO)),
            Outcome("stop", "no ERCOT API token", FetchStoppedError),
        ),
        Fault(
            "token service rejects",
            fixed(
                Reply(
                    400,
                    b'{"error":"invalid_grant","password":"'
                    + quote_plus(PASSWORD).encode()
                    + b'"}',
                )
            ),
            Outcome("stop", "credentials were rejected", CredentialsRejectedError),
        ),
        Fault("401 after token expiry", fixed(Reply(401, b"token expired")), OK, True),
    ],
    "ercot-archive": [
        Fault(
            "listing totalRecords above the documents",
            changed_json(
                lambda d, r: set_key(("_meta", "totalRecords"), d["_meta"]["totalRecords"] + 1)(
                    d, r
                )
            ),
            Outcome("chunk", SHORT),
            paths=(LISTING,),
        ),
        Fault(
            "listing page number ignored (loop)",
            first_page_only,
            Outcome("chunk", "repeats an earlier page"),
            paths=(LISTING,),
        ),
        Fault(
            "listing archives not records",
            changed_json(set_key(("archives",), ["a", "b"])),
            Outcome("chunk", "not an archive listing"),
            paths=(LISTING,),
        ),
        Fault(
            "download short of one document",
            archive_short_download,
            Outcome("chunk", "returned 1 document(s) for 2 docIds"),
            paths=(DOWNLOAD,),
        ),
        Fault(
            "download truncated", mangle(truncated), Outcome("chunk", BAD_ZIP), paths=(DOWNLOAD,)
        ),
        Fault(
            "download html with 200",
            fixed(Reply(200, ECHO, {"Content-Type": "text/html"})),
            Outcome("chunk", BAD_ZIP),
            paths=(DOWNLOAD,),
        ),
        Fault(
            "download stalls mid-body",
            mangle(lambda r: Reply(200, r.body, r.headers, stall_after=100)),
            Outcome("chunk", "timed out"),
            paths=(DOWNLOAD,),
        ),
        Fault(
            "download 500", fixed(Reply(500, ECHO)), Outcome("chunk", "HTTP 500"), paths=(DOWNLOAD,)
        ),
        Fault(
            "token service fails",
            fixed(Reply(503, ECHO)),
            Outcome("stop", "no ERCOT API token", FetchStoppedError),
        ),
    ],
    "ercot-mis": [],
}
TOKEN_FAULTS = {"token service fails", "token service rejects"}
SERVER_URL = [""]  # the running stand-in's URL, for links built into its answers


def cases():
    for name, service in SERVICES.items():
        for fault in GENERIC:
            if fault.json_only and not service.json_routes:
                continue
            yield pytest.param(service, fault, id=f"{name}: {fault.name}")
        for fault in SPECIFIC[name]:
            yield pytest.param(service, fault, id=f"{name}: {fault.name}")


def http_client(sleeps: list[float], **options) -> HttpClient:
    settings = {"connect_timeout_s": 1.0, "read_timeout_s": 0.3, "max_attempts": 2}
    return HttpClient(sleep=sleeps.append, rng=lambda: 0.5, **{**settings, **options})


def run(service, server, store, *, http=None, deadline_s=20.0):
    """One fetch and its summary as the command runs them: (error or None, seconds, output)."""
    sleeps: list[float] = []
    http = http or http_client(sleeps)
    out = io.StringIO()
    started = time.monotonic()
    error = None
    try:
        report = fetch(
            service.request,
            store_root=store,
            source=service.source(server, http),
            progress=False,
            deadline_s=deadline_s,
        )
        finish(service.request, report, out)
    except EnergyHedgeError as exc:
        error = exc
    return error, time.monotonic() - started, out.getvalue(), sleeps


def assert_no_secrets(*texts: str, store: Path) -> None:
    blobs = [t.encode() for t in texts]
    blobs += [p.read_bytes() for p in store.rglob("*") if p.is_file()]
    for secret in SECRETS:
        for form in encodings(secret):
            for blob in blobs:
                assert form.encode() not in blob, f"{secret!r} leaked as {form!r}"


def stored(service: Service, store: Path):
    iso, market = service.request.iso, service.request.market
    return open_store(store).read(iso, market, service.request.nodes[0])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A store holding the shipped seed, made once (seeding costs half a second per store)."""
    root = tmp_path_factory.mktemp("seeded") / "store"
    open_store(root)
    return root


@pytest.fixture
def store(seeded, tmp_path) -> Path:
    """A fresh copy of the seeded store."""
    return Path(shutil.copytree(seeded, tmp_path / "store"))


@pytest.fixture
def server():
    with FakeIsoServer() as fake:
        SERVER_URL[0] = fake.url
        yield fake


@pytest.mark.parametrize(("service", "fault"), list(cases()))
def test_fault_is_bounded_named_secret_free_and_resumable(service, fault, server, store, caplog):
    service.install(server)
    fired = []

    def when(request: Received) -> bool:
        if fault.name in TOKEN_FAULTS:
            return len(server.calls("POST", ErcotPublicApi.token_path)) > 1
        if not service.second(request) or (fault.once and fired):
            return False
        fired.append(request)
        return True

    routes = [r for r in service.routes if not fault.paths or r[1] in fault.paths]
    if fault.name in TOKEN_FAULTS:
        routes = [("POST", ErcotPublicApi.token_path)]
    for method, path in routes:
        if not fault.json_only or path in service.json_routes:
            server.inject(method, path, when, fault.make(server))
    outcome = fault.outcome(service) if callable(fault.outcome) else fault.outcome

    with caplog.at_level(logging.DEBUG):
        error, seconds, out, sleeps = run(service, server, store)

    assert seconds < 5, f"took {seconds:.1f} s"
    message = str(error) if error else ""
    assert_no_secrets(message, out, caplog.text, store=store)
    frame = stored(service, store)
    before = frame.filter(frame["interval_start_utc"] < service.second_from_utc)
    if outcome.kind == "ok":
        assert error is None, message
        assert frame.height == 2 * service.rows_per_chunk
        assert fired or fault.name in TOKEN_FAULTS
        if "429" in fault.name:
            assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 3.0
        return
    assert error is not None and "\n" not in message and "Traceback" not in message
    assert isinstance(error, outcome.error)
    assert outcome.match in message
    named = [path for _, path in routes if path in message]
    assert named, f"no request named in {message!r}"
    assert before.height == service.rows_per_chunk == frame.height  # first kept, none of second
    if outcome.kind == "chunk":
        assert "1 part(s) missing: failed" in message and "run the same command again" in message
    else:
        assert "1 of 2 chunk(s)" in message and "were stored before the fetch stopped" in message

    server.clear_faults()
    error, _, _, _ = run(service, server, store)
    assert error is None, str(error)
    frame = stored(service, store)
    assert frame.height == 2 * service.rows_per_chunk
    assert frame["interval_start_utc"].n_unique() == frame.height


@pytest.mark.parametrize("name", ["pjm", "ercot-api", "ercot-archive", "ercot-mis"])
@pytest.mark.parametrize("kind", ["dripping server", "hung server"])
def test_deadline_bounds_the_whole_fetch(name, kind, server, store):
    service = SERVICES[name]
    service.install(server)
    for method, path in service.routes:
        if kind == "hung server":
            fault = fixed(Reply(delay_s=30))(server)
        else:
            fault = mangle(lambda r: Reply(200, r.body, r.headers, drip_s=0.05))(server)
        server.inject(method, path, service.second, fault)
    http = http_client([], read_timeout_s=10.0, max_attempts=6)  # only the deadline can end it

    error, seconds, out, _ = run(service, server, store, http=http, deadline_s=1.0)

    assert isinstance(error, DeadlineError), error
    assert 0.9 < seconds < 2.0
    assert "could not finish within the 1 s deadline of the fetch" in str(error)
    assert "1 of 2 chunk(s)" in str(error)
    assert stored(service, store).height == service.rows_per_chunk
    assert_no_secrets(str(error), out, store=store)


def test_pjm_short_pages_before_and_after(server, store):
    """Defect 2: a 500-row page cap lost 220 of 720 June hours; every row arrives now."""
    miner = DataMiner(server, pnodes={51288: "WESTERN HUB"}, page_cap=500)
    request = FetchRequest("pjm", "dam", ("WESTERN HUB",), date(2025, 6, 1), date(2025, 6, 30))
    source = PjmApi(
        http_client([]), api_key=PJM_KEY, base_url=server.url + "/api/v1", today=date(2025, 8, 1)
    )
    report = fetch(request, store_root=store, source=source, progress=False)
    assert report.complete and report.rows == 720
    assert open_store(store).read("pjm", "dam", "WESTERN HUB").height == 720
    starts = [int(c.query["startRow"]) for c in server.calls("GET", miner.path)]
    assert starts == [1, 501]  # the next link, from the rows received


def test_closed_port_and_unresolvable_host_stop_at_once(store, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
    request = FetchRequest("pjm", "dam", ("WESTERN HUB",), date(2025, 1, 1), date(2025, 12, 31))
    sleeps: list[float] = []
    http = http_client(sleeps, max_attempts=6)
    source = PjmApi(http, api_key=PJM_KEY, base_url=closed, today=date(2025, 8, 1))
    with pytest.raises(UnreachableError, match="connection refused") as info:
        fetch(request, store_root=store, source=source, progress=False)
    assert http.attempts == 2 and sleeps == [1.0]  # 12 chunks, two attempts in all
    assert "0 of 12 chunk(s) (0 rows) were stored" in str(info.value)

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    http = http_client([], max_attempts=6)
    source = PjmApi(
        http, api_key=PJM_KEY, base_url="https://pjm.invalid/api", today=date(2025, 8, 1)
    )
    with pytest.raises(UnreachableError, match=r"DNS failure: the host name 'pjm\.invalid'"):
        fetch(request, store_root=store, source=source, progress=False)
    assert http.attempts == 1


@pytest.mark.parametrize("name", ["pjm", "ercot-api", "ercot-archive", "ercot-mis"])
def test_redirect_to_another_origin_never_carries_credentials(name, server, store):
    service = SERVICES[name]
    service.install(server)
    with FakeIsoServer() as elsewhere:
        service.install(elsewhere)

        def away(request):
            query = "&".join(f"{k}={quote(v)}" for k, v in request.query.items())
            return Reply(307, b"", {"Location": f"{elsewhere.url}{request.path}?{query}"})

        for method, path in service.routes:
            server.inject(method, path, service.second, away)
        error, _, out, _ = run(service, server, store)
        if service.credentials:
            assert "redirects to another origin (http://127.0.0.1:" in str(error)
            assert elsewhere.received == []
        else:  # nothing secret in the request: the redirect is followed
            assert error is None and elsewhere.received
        for call in elsewhere.received:
            assert set(call.headers) & {"Authorization", "Ocp-Apim-Subscription-Key"} == set()
        assert_no_secrets(str(error), out, store=store)


def test_same_origin_redirect_keeps_the_key(server, store):
    service = SERVICES["pjm"]
    service.install(server)
    server.route("GET", "/moved/da_hrl_lmps", server.routes[("GET", DataMiner.path)])
    server.inject(
        "GET",
        DataMiner.path,
        lambda r: True,
        lambda r: Reply(
            301,
            b"",
            {
                "Location": "/moved/da_hrl_lmps?"
                + "&".join(f"{k}={quote(v)}" for k, v in r.query.items())
            },
        ),
    )
    error, _, _, _ = run(service, server, store)
    assert error is None
    assert {
        c.headers["Ocp-Apim-Subscription-Key"] for c in server.calls("GET", "/moved/da_hrl_lmps")
    } == {PJM_KEY}


def test_a_nightly_style_call_is_bounded_and_quiet(server, store, monkeypatch, caplog):
    """``fetch(request, store_root=..., progress=False)`` as the nightly refresh calls it."""
    service = SERVICES["pjm"]
    service.install(server)
    monkeypatch.setenv("PJM_API_KEY", PJM_KEY)
    monkeypatch.setenv("ENERGYHEDGE_PJM_API_URL", server.url + "/api/v1")
    server.fail_first("GET", DataMiner.path, Reply(503, b"busy", {"Retry-After": "0"}))
    with caplog.at_level(logging.DEBUG):
        report = fetch(service.request, store_root=store, progress=False)
    assert report.complete
    assert "retrying in 0.0 s" in caplog.text
    # Without a handler, Python prints records of WARNING and above: a retry is not one.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

    server.inject("GET", DataMiner.path, lambda r: True, fixed(Reply(delay_s=30))(server))
    monkeypatch.setattr(fetch_module, "DEADLINE_S", 1.0)
    started = time.monotonic()
    with pytest.raises(DeadlineError):
        fetch(service.request, store_root=store, progress=False)
    assert time.monotonic() - started < 2.0


def cli(*argv: str) -> int:
    return main(["data", "fetch", *argv])


PJM_ARGS = (
    *("--iso", "pjm", "--market", "dam", "--node", "WESTERN HUB"),
    *("--start", "2025-07-30", "--end", "2025-07-30"),
)


@pytest.fixture
def env(store, monkeypatch):
    """The store path and a monkeypatch for the command's environment."""
    return store, monkeypatch


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PJM_API_KEY", PJM_KEY + "\nX", "PJM_API_KEY holds a character that cannot be sent"),
        ("PJM_API_KEY", PJM_KEY + "€", "PJM_API_KEY holds a character that cannot be sent"),
        ("ENERGYHEDGE_PJM_API_URL", "api.pjm.com/api/v1", "is not an http:// or https:// URL"),
    ],
)
def test_bad_keys_and_urls_are_one_line_config_errors(variable, value, message, env, capsys):
    store, monkeypatch = env
    monkeypatch.setenv("PJM_API_KEY", PJM_KEY)
    monkeypatch.setenv(variable, value)
    assert cli(*PJM_ARGS, "--store", str(store)) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and message in captured.err
    assert "Traceback" not in captured.err and PJM_KEY not in captured.err + captured.out


def test_key_with_a_trailing_newline_is_stripped(server, store, monkeypatch, capsys):
    DataMiner(server, pnodes={51288: "WESTERN HUB"})
    monkeypatch.setenv("PJM_API_KEY", PJM_KEY + "\n")
    monkeypatch.setenv("ENERGYHEDGE_PJM_API_URL", server.url + "/api/v1")
    assert cli(*PJM_ARGS, "--store", str(store)) == 0
    assert {c.headers["Ocp-Apim-Subscription-Key"] for c in server.received} == {PJM_KEY}


def test_command_reports_retries_and_the_deadline_flag(server, store, monkeypatch, capsys):
    DataMiner(server, pnodes={51288: "WESTERN HUB"})
    monkeypatch.setenv("PJM_API_KEY", PJM_KEY)
    monkeypatch.setenv("ENERGYHEDGE_PJM_API_URL", server.url + "/api/v1")
    server.fail_first("GET", DataMiner.path, Reply(503, ECHO, {"Retry-After": "0"}))
    assert cli(*PJM_ARGS, "--store", str(store)) == 0
    err = capsys.readouterr().err
    assert "HTTP 503 Service Unavailable); attempt 1 of 6, retrying in 0.0 s" in err
    server.inject("GET", DataMiner.path, lambda r: True, fixed(Reply(delay_s=30))(server))
    started = time.monotonic()
    assert cli(*PJM_ARGS, "--store", str(store), "--deadline-s", "0.5") == 3
    assert time.monotonic() - started < 1.5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "allow more time with --deadline-s" in err
    assert PJM_KEY not in err and "Traceback" not in err


def test_excerpts_redact_before_cutting():
    http = HttpClient()
    http.add_secrets([PASSWORD, ERCOT_KEY])
    body = "x" * 75 + ERCOT_KEY + " and password=" + quote_plus(PASSWORD)
    assert http.excerpt(body) == http.excerpt(body.encode()) == "x" * 75 + "*** a"
    echoed = (
        "password=" + quote(PASSWORD, safe="") + " " + base64.b64encode(ERCOT_KEY.encode()).decode()
    )
    assert http.redact(echoed) == "password=*** ***"
    many = (ERCOT_KEY + " ") * 40 + "z"  # redaction shortens: the window must grow
    assert http.excerpt(many, limit=30) == "*** " * 7 + "**"
