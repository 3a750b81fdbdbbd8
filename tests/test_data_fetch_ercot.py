"""ERCOT fetchers against a local fake server: public API (query + archive) and MIS archive."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, date, datetime

import pytest
from fake_iso_server import FakeIsoServer, Received, Reply, zip_bytes

from energyhedge.data.ercot_api import ErcotApi
from energyhedge.data.fetch import fetch
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.http import CredentialsRejectedError, HttpClient
from energyhedge.data.store import open_store
from energyhedge.errors import DataError

USERNAME = "trader@example.com"
PASSWORD = "P4ss-SECRET-word"
KEY = "SUBKEY-SECRET-0123"
ID_TOKEN = "IDTOKEN-SECRET-abc"

RTM_FIELDS = [
    {"name": n, "label": n, "dataType": t}
    for n, t in [
        ("deliveryDate", "DATE"),
        ("deliveryHour", "INTEGER"),
        ("deliveryInterval", "INTEGER"),
        ("settlementPointName", "STRING"),
        ("settlementPointType", "STRING"),
        ("settlementPointPrice", "DECIMAL"),
        ("DSTFlag", "BOOLEAN"),
    ]
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FakeIsoServer() as fake:
        fake.route(
            "POST",
            "/token",
            lambda r: Reply.json({"id_token": ID_TOKEN, "access_token": "not-this-one"}),
        )
        monkeypatch.setenv("ERCOT_API_USERNAME", USERNAME)
        monkeypatch.setenv("ERCOT_API_PASSWORD", PASSWORD)
        monkeypatch.setenv("ERCOT_PUBLIC_API_SUBSCRIPTION_KEY", KEY)
        monkeypatch.setenv("ENERGYHEDGE_ERCOT_API_URL", fake.url + "/api")
        monkeypatch.setenv("ENERGYHEDGE_ERCOT_TOKEN_URL", fake.url + "/token")
        monkeypatch.setenv("ENERGYHEDGE_ERCOT_MIS_URL", fake.url)
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http(sleeps: list[float]) -> HttpClient:
    return HttpClient(sleep=sleeps.append, rng=lambda: 0.5, read_timeout_s=5)


def rtm_query_handler(server_page_size: int):
    """NP6-905-CD query endpoint: 2 hours x 4 intervals of HB_NORTH on 2024-01-15, paged."""

    def handler(request: Received) -> Reply:
        rows = [
            ["2024-01-15", hour, interval, "HB_NORTH", "HU", 20 + hour + interval / 4, False]
            for hour in (1, 2)
            for interval in (1, 2, 3, 4)
        ]
        rows = [r for r in rows if r[3] == request.query["settlementPoint"]]
        size = min(int(request.query["size"]), server_page_size)
        page = int(request.query["page"])
        total_pages = -(-len(rows) // size)
        return Reply.json(
            {
                "_meta": {
                    "totalRecords": len(rows),
                    "pageSize": size,
                    "totalPages": total_pages,
                    "currentPage": page,
                },
                "report": {"reportEMILId": "NP6-905-CD", "downloadLimit": 1000},
                "fields": RTM_FIELDS,
                "data": rows[(page - 1) * size : page * size],
            }
        )

    return handler


def test_query_pages_with_token_key_retries_and_exact_rows(server, http, sleeps, tmp_path):
    path = "/api/np6-905-cd/spp_node_zone_hub"
    server.route("GET", path, rtm_query_handler(server_page_size=5))
    server.fail_first("GET", path, Reply(429, b"slow down", {"Retry-After": "7"}))
    request = FetchRequest("ercot", "rtm", ("HB_NORTH",), date(2024, 1, 15), date(2024, 1, 15))

    report = fetch(request, store_root=tmp_path, http=http, progress=False)

    assert report.complete and report.rows == 8 and report.chunks == 1
    token_calls = server.calls("POST", "/token")
    assert len(token_calls) == 1
    assert token_calls[0].form == {
        "grant_type": "password",
        "username": USERNAME,
        "password": PASSWORD,
        "response_type": "id_token",
        "scope": "openid fec253ea-0d06-4272-a5e6-b478baeecd70 offline_access",
        "client_id": "fec253ea-0d06-4272-a5e6-b478baeecd70",
    }
    calls = server.calls("GET", path)
    assert [c.query["page"] for c in calls] == ["1", "1", "2"]  # the 429, then two pages
    for call in calls:
        assert call.headers["Authorization"] == f"Bearer {ID_TOKEN}"
        assert call.headers["Ocp-Apim-Subscription-Key"] == KEY
        assert call.query["size"] == "100000"
        assert call.query["deliveryDateFrom"] == call.query["deliveryDateTo"] == "2024-01-15"
        assert call.query["settlementPoint"] == "HB_NORTH"
    assert sleeps == [7.0]

    stored = open_store(tmp_path).read("ercot", "rtm", "HB_NORTH")
    # Hour ending 1, interval 1 starts 00:00 CST = 06:00 UTC; 15-minute steps after that.
    assert stored["interval_start_utc"].to_list() == [
        utc(2024, 1, 15, 6, 0),
        utc(2024, 1, 15, 6, 15),
        utc(2024, 1, 15, 6, 30),
        utc(2024, 1, 15, 6, 45),
        utc(2024, 1, 15, 7, 0),
        utc(2024, 1, 15, 7, 15),
        utc(2024, 1, 15, 7, 30),
        utc(2024, 1, 15, 7, 45),
    ]
    assert stored["price_usd_per_mwh"].to_list() == [
        21.25,
        21.5,
        21.75,
        22.0,
        22.25,
        22.5,
        22.75,
        23.0,
    ]
    assert set(stored["interval_minutes"].to_list()) == {15}


def test_token_is_renewed_after_an_hour(server, http):
    path = "/api/np6-905-cd/spp_node_zone_hub"
    server.route("GET", path, rtm_query_handler(server_page_size=100))
    now = [0.0]
    api = ErcotApi.from_env(http, clock=lambda: now[0])
    request = FetchRequest("ercot", "rtm", ("HB_NORTH",), date(2024, 1, 15), date(2024, 1, 15))
    (chunk,) = api.chunks(request)
    api.get_chunk(request, chunk)
    now[0] = 1800.0
    api.get_chunk(request, chunk)
    assert len(server.calls("POST", "/token")) == 1
    now[0] = 3600.0
    api.get_chunk(request, chunk)
    assert len(server.calls("POST", "/token")) == 2


def test_rejected_token_is_renewed_once(server, http):
    path = "/api/np6-905-cd/spp_node_zone_hub"
    server.route("GET", path, rtm_query_handler(server_page_size=100))
    now = [0.0]
    api = ErcotApi.from_env(http, clock=lambda: now[0])
    request = FetchRequest("ercot", "rtm", ("HB_NORTH",), date(2024, 1, 15), date(2024, 1, 15))
    (chunk,) = api.chunks(request)
    assert api.get_chunk(request, chunk).frame.height == 8
    server.fail_first("GET", path, Reply(401, b"token expired"))
    assert api.get_chunk(request, chunk).frame.height == 8
    assert len(server.calls("POST", "/token")) == 2
    assert [c.headers["Authorization"] for c in server.calls("GET", path)] == [
        f"Bearer {ID_TOKEN}"
    ] * 3


def dam_csv(day: str, rows: list[tuple[str, str, float]]) -> bytes:
    lines = ["DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag"]
    lines += [f"{day},{he},{point},{price},N" for he, point, price in rows]
    return ("\n".join(lines) + "\n").encode()


def test_archive_listing_by_posting_time_and_zip_of_zips(server, http, sleeps, tmp_path):
    listing_path = "/api/archive/np4-190-cd"
    docs = [  # DAM for delivery day D is posted on D - 1; listed over two pages
        {"docId": 902, "postDatetime": "2023-07-04T12:30:11", "_links": {}},
        {
            "postDatetime": "2023-07-03T12:30:09",
            "_links": {"endpoint": {"href": "http://x/archive/np4-190-cd?download=901"}},
        },
    ]

    def listing(request: Received) -> Reply:
        page = int(request.query["page"])
        return Reply.json(
            {"_meta": {"totalPages": 2, "currentPage": page}, "archives": [docs[page - 1]]}
        )

    day4 = dam_csv(
        "07/04/2023",
        [("01:00", "HB_NORTH", 25.5), ("02:00", "HB_NORTH", 24.0), ("01:00", "HB_SOUTH", 99.0)],
    )
    day5 = dam_csv("07/05/2023", [("01:00", "HB_NORTH", 30.25), ("24:00", "HB_NORTH", 41.0)])
    outer = zip_bytes(
        {
            "901.zip": zip_bytes({"cdr.00012331.20230703.DAMSPNP4190.csv": day4}),
            "902.zip": zip_bytes({"cdr.00012331.20230704.DAMSPNP4190.csv": day5}),
        }
    )
    server.route("GET", listing_path, listing)
    server.route(
        "POST",
        listing_path + "/download",
        lambda r: Reply(200, outer, {"Content-Type": "application/zip"}),
    )
    server.fail_first("POST", listing_path + "/download", Reply(500, b"oops"))
    request = FetchRequest("ercot", "dam", ("HB_NORTH",), date(2023, 7, 4), date(2023, 7, 5))

    report = fetch(request, store_root=tmp_path, http=http, progress=False)

    assert report.complete and report.rows == 4
    listings = server.calls("GET", listing_path)
    assert [c.query["page"] for c in listings] == ["1", "2"]
    assert listings[0].query["postDatetimeFrom"] == "2023-07-03T00:00:00"
    assert listings[0].query["postDatetimeTo"] == "2023-07-04T23:59:59"
    assert listings[0].query["size"] == "1000"
    downloads = server.calls("POST", listing_path + "/download")
    assert len(downloads) == 2  # the 500, then success
    assert json.loads(downloads[1].body) == {"docIds": [901, 902]}
    for call in [*listings, *downloads]:
        assert call.headers["Authorization"] == f"Bearer {ID_TOKEN}"
        assert call.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert sleeps == [1.0]  # first backoff: 1 s x jitter factor 1.0

    stored = open_store(tmp_path).read("ercot", "dam", "HB_NORTH")
    # HE01 of a July day starts 00:00 CDT = 05:00 UTC.
    assert stored["interval_start_utc"].to_list() == [
        utc(2023, 7, 4, 5),
        utc(2023, 7, 4, 6),
        utc(2023, 7, 5, 5),
        utc(2023, 7, 6, 4),
    ]
    assert stored["price_usd_per_mwh"].to_list() == [25.5, 24.0, 30.25, 41.0]
    assert open_store(tmp_path).read("ercot", "dam", "HB_SOUTH").height == 0


def test_rtm_archive_window_is_shifted_by_one_interval(server, http):
    api = ErcotApi.from_env(http)
    server.route(
        "GET",
        "/api/archive/np6-905-cd",
        lambda r: Reply.json({"_meta": {"totalPages": 1}, "archives": []}),
    )
    request = FetchRequest("ercot", "rtm", ("HB_NORTH",), date(2023, 1, 30), date(2023, 2, 2))
    chunks = api.chunks(request)
    assert [(c.start, c.end, c.mode) for c in chunks] == [
        (date(2023, 1, 30), date(2023, 1, 31), "archive"),
        (date(2023, 2, 1), date(2023, 2, 2), "archive"),
    ]
    result = api.get_chunk(request, chunks[0])
    (call,) = server.calls("GET", "/api/archive/np6-905-cd")
    assert call.query["postDatetimeFrom"] == "2023-01-30T00:15:00"
    assert call.query["postDatetimeTo"] == "2023-02-01T00:14:59"
    assert result.missing_nodes == ("HB_NORTH",)


def test_query_and_archive_split_at_threshold(http, server):
    api = ErcotApi.from_env(http, archive_before=date(2024, 2, 10))
    request = FetchRequest(
        "ercot", "dam", ("HB_NORTH", "LZ_WEST"), date(2024, 2, 8), date(2024, 3, 1)
    )
    assert [(c.start, c.end, c.nodes, c.mode) for c in api.chunks(request)] == [
        (date(2024, 2, 8), date(2024, 2, 9), ("HB_NORTH", "LZ_WEST"), "archive"),
        (date(2024, 2, 10), date(2024, 2, 29), ("HB_NORTH",), "query"),
        (date(2024, 2, 10), date(2024, 2, 29), ("LZ_WEST",), "query"),
        (date(2024, 3, 1), date(2024, 3, 1), ("HB_NORTH",), "query"),
        (date(2024, 3, 1), date(2024, 3, 1), ("LZ_WEST",), "query"),
    ]


ANNUAL_HEADER = (
    "Delivery Date,Delivery Hour,Delivery Interval,Repeated Hour Flag,"
    "Settlement Point Name,Settlement Point Type,Settlement Point Price"
)


def test_mis_annual_file_without_credentials(server, http, tmp_path, monkeypatch):
    for name in ("ERCOT_API_USERNAME", "ERCOT_API_PASSWORD", "ERCOT_PUBLIC_API_SUBSCRIPTION_KEY"):
        monkeypatch.delenv(name)
    documents = [
        {
            "Document": {
                "DocID": "111",
                "FriendlyName": "RTMLZHBSPP_2022",
                "ConstructedName": "rpt.00013061.RTMLZHBSPP_2022.zip",
                "PublishDate": "2023-01-02T05:00:00-06:00",
            }
        },
        {
            "Document": {
                "DocID": "222",
                "FriendlyName": "RTMLZHBSPP_2023",
                "ConstructedName": "rpt.00013061.RTMLZHBSPP_2023.zip",
                "PublishDate": "2023-12-01T05:00:00-06:00",
            }
        },
        {
            "Document": {
                "DocID": "333",
                "FriendlyName": "RTMLZHBSPP_2023",
                "ConstructedName": "rpt.00013061.RTMLZHBSPP_2023.zip",
                "PublishDate": "2024-01-02T05:00:00-06:00",
            }
        },
    ]
    server.route(
        "GET",
        "/misapp/servlets/IceDocListJsonWS",
        lambda r: Reply.json({"ListDocsByRptTypeRes": {"DocumentList": documents}}),
    )
    # 2023-11-05 is the fall-back day: hour ending 2 occurs twice, flag Y on the second (CST).
    csv = "\n".join(
        [
            ANNUAL_HEADER,
            "11/04/2023,24,4,N,LZ_HOUSTON,LZ,18.00",
            "11/05/2023,1,1,N,LZ_HOUSTON,LZ,20.00",
            "11/05/2023,2,1,N,LZ_HOUSTON,LZ,21.00",
            "11/05/2023,2,1,Y,LZ_HOUSTON,LZ,22.00",
            "11/05/2023,2,1,Y,LZ_HOUSTON,LZEW,23.00",
            "11/05/2023,3,1,N,HB_NORTH,HU,24.00",
        ]
    ).encode()
    server.route(
        "GET",
        "/misdownload/servlets/mirDownload",
        lambda r: Reply(200, zip_bytes({"RTMLZHBSPP_2023.csv": csv})),
    )
    request = FetchRequest(
        "ercot", "rtm", ("LZ_HOUSTON",), date(2023, 11, 5), date(2024, 1, 1), source="mis"
    )

    report = fetch(request, store_root=tmp_path, http=http, progress=False)

    # 2023 completes; the 2024 file is not listed, so that chunk is reported missing.
    assert report.rows == 3
    assert len(report.failed) == 1 and "lists no annual file for 2024" in report.failed[0]
    (download,) = server.calls("GET", "/misdownload/servlets/mirDownload")
    assert download.query == {"doclookupId": "333"}  # the newest posting of 2023
    listing = server.calls("GET", "/misapp/servlets/IceDocListJsonWS")
    assert len(listing) == 1 and listing[0].query["reportTypeId"] == "13061"
    assert "Authorization" not in download.headers
    stored = open_store(tmp_path).read("ercot", "rtm", "LZ_HOUSTON")
    assert stored["interval_start_utc"].to_list() == [
        utc(2023, 11, 5, 5, 0),  # 00:00 CDT
        utc(2023, 11, 5, 6, 0),  # 01:00 CDT
        utc(2023, 11, 5, 7, 0),  # 01:00 CST, the repeated hour
    ]
    assert stored["price_usd_per_mwh"].to_list() == [20.0, 21.0, 22.0]


def test_missing_credentials_name_the_variable_and_mis(monkeypatch, http, tmp_path):
    monkeypatch.setenv("ERCOT_API_USERNAME", USERNAME)
    monkeypatch.delenv("ERCOT_API_PASSWORD", raising=False)
    monkeypatch.setenv("ERCOT_PUBLIC_API_SUBSCRIPTION_KEY", KEY)
    request = FetchRequest("ercot", "dam", ("HB_NORTH",), date(2024, 1, 1), date(2024, 1, 1))
    with pytest.raises(DataError, match=r"ERCOT_API_PASSWORD.*--source mis") as info:
        fetch(request, store_root=tmp_path, http=http, progress=False)
    assert USERNAME not in str(info.value) and KEY not in str(info.value)


def test_rejected_credentials_stop_and_never_leak(server, http, tmp_path, caplog):
    path = "/api/np4-190-cd/dam_stlmnt_pnt_prices"
    server.fail_first("GET", path, Reply(503, f"backend says key {KEY} user {USERNAME}".encode()))
    server.route(
        "GET", path, lambda r: Reply(401, f"invalid key {KEY} for token {ID_TOKEN}".encode())
    )
    request = FetchRequest(
        "ercot", "dam", ("HB_NORTH", "HB_WEST"), date(2024, 1, 1), date(2024, 1, 1)
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialsRejectedError) as info:
        fetch(request, store_root=tmp_path, http=http, progress=False)
    message = str(info.value)
    assert "HTTP 401" in message and "ERCOT_PUBLIC_API_SUBSCRIPTION_KEY" in message
    # The 503 is retried; a 401 with a token just issued stops everything (no renewal).
    assert len(server.calls("GET", path)) == 2
    assert len(server.calls("POST", "/token")) == 1
    for text in (message, caplog.text):
        for secret in (KEY, PASSWORD, ID_TOKEN, USERNAME):
            assert secret not in text
    assert "***" in message


def test_failed_chunk_is_reported_and_completed_chunk_kept(server, http, tmp_path):
    path = "/api/np6-905-cd/spp_node_zone_hub"
    ok = rtm_query_handler(server_page_size=100)

    def handler(request: Received) -> Reply:
        if request.query["settlementPoint"] == "HB_WEST":
            return Reply(200, b"<html>gateway error</html>", {"Content-Type": "text/html"})
        return ok(request)

    server.route("GET", path, handler)
    request = FetchRequest(
        "ercot", "rtm", ("HB_NORTH", "HB_WEST"), date(2024, 1, 15), date(2024, 1, 15)
    )
    report = fetch(request, store_root=tmp_path, http=http, progress=False)
    assert report.rows == 8 and not report.complete
    (failure,) = report.failed
    assert "HB_WEST" in failure and "where JSON was expected" in failure
    assert f"{server.url}/api/np6-905-cd/spp_node_zone_hub?" in failure
    assert open_store(tmp_path).read("ercot", "rtm", "HB_NORTH").height == 8


DAM_FIELDS = [
    {"name": n, "label": n, "dataType": t}
    for n, t in [
        ("deliveryDate", "DATE"),
        ("hourEnding", "STRING"),
        ("settlementPoint", "STRING"),
        ("settlementPointPrice", "DECIMAL"),
        ("DSTFlag", "BOOLEAN"),
    ]
]


def test_dam_query_on_fall_back_day_with_progress_bar(server, http, tmp_path, monkeypatch):
    rows = [  # 2024-11-03: hour ending 02:00 occurs twice; DSTFlag true marks the CST one
        ["2024-11-03", "01:00", "HB_WEST", 30.0, False],
        ["2024-11-03", "02:00", "HB_WEST", 31.0, False],
        ["2024-11-03", "02:00", "HB_WEST", 32.0, True],
        ["2024-11-03", "03:00", "HB_WEST", 33.0, False],
    ]
    path = "/api/np4-190-cd/dam_stlmnt_pnt_prices"
    meta = {"totalRecords": 4, "totalPages": 1, "currentPage": 1}
    server.route(
        "GET", path, lambda r: Reply.json({"_meta": meta, "fields": DAM_FIELDS, "data": rows})
    )

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    request = FetchRequest("ercot", "dam", ("HB_WEST",), date(2024, 11, 3), date(2024, 11, 3))
    report = fetch(request, store_root=tmp_path, http=http)

    assert report.complete and report.rows == 4
    assert terminal.getvalue().endswith("fetch ercot dam [" + "#" * 30 + "] 1/1\n")
    stored = open_store(tmp_path).read("ercot", "dam", "HB_WEST")
    # HE01 starts 00:00 CDT = 05:00 UTC; the two HE02 start 01:00 CDT and 01:00 CST.
    assert stored.select("interval_start_utc", "price_usd_per_mwh").rows() == [
        (utc(2024, 11, 3, 5), 30.0),
        (utc(2024, 11, 3, 6), 31.0),
        (utc(2024, 11, 3, 7), 32.0),
        (utc(2024, 11, 3, 8), 33.0),
    ]
