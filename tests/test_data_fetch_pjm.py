"""PJM Data Miner 2 fetcher against a local fake server: paging, archive rules, hub ids."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from fake_iso_server import FakeIsoServer, Received, Reply

from energyhedge.data.fetch import fetch
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.http import CredentialsRejectedError, HttpClient
from energyhedge.data.pjm_api import PjmApi, pnode_id
from energyhedge.data.store import open_store
from energyhedge.errors import ConfigError, DataError

KEY = "PJMKEY-SECRET-42"
TODAY = date(2025, 8, 1)  # hourly archive boundary: 2025-08-01 - 731 days = 2023-08-01


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def item(
    pnode: int, name: str, start_utc: datetime, lmp: float, *, current=True, version=1, feed="da"
) -> dict:
    """One Data Miner row of a ``feed`` ("da" or "rt") LMP table."""
    ept = start_utc - timedelta(hours=4)  # EDT in summer
    return {
        "datetime_beginning_utc": start_utc.strftime("%Y-%m-%dT%H:%M:%S"),
        "datetime_beginning_ept": ept.strftime("%Y-%m-%dT%H:%M:%S"),
        "pnode_id": pnode,
        "pnode_name": name,
        "voltage": None,
        "equipment": None,
        "type": "HUB",
        "zone": None,
        f"system_energy_price_{feed}": 30.0,
        f"total_lmp_{feed}": lmp,
        f"congestion_price_{feed}": lmp - 30.5,
        f"marginal_loss_price_{feed}": 0.5,
        "row_is_current": current,
        "version_nbr": version,
    }


def paged(rows: list[dict]):
    """A Data Miner feed: serves ``rows`` from ``startRow`` (1-based), ``rowCount`` at a time."""

    def handler(request: Received) -> Reply:
        first = int(request.query["startRow"])
        count = int(request.query["rowCount"])
        return Reply.json(
            {"items": rows[first - 1 : first - 1 + count], "totalRows": len(rows), "links": []}
        )

    return handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FakeIsoServer() as fake:
        monkeypatch.setenv("PJM_API_KEY", KEY)
        monkeypatch.setenv("ENERGYHEDGE_PJM_API_URL", fake.url + "/api/v1")
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http(sleeps: list[float]) -> HttpClient:
    return HttpClient(sleep=sleeps.append, rng=lambda: 0.5, read_timeout_s=5)


def test_recent_hub_query_pages_by_total_rows_and_retries_429(server, http, sleeps, tmp_path):
    rows = [
        item(51288, "WESTERN HUB", utc(2025, 7, 30, 4), 31.25, current=False, version=1),
        item(51288, "WESTERN HUB", utc(2025, 7, 30, 4), 32.5, version=2),
        item(51217, "EASTERN HUB", utc(2025, 7, 30, 4), 28.0),
        item(51288, "WESTERN HUB", utc(2025, 7, 30, 5), 33.75),
        item(51217, "EASTERN HUB", utc(2025, 7, 30, 5), 27.5),
    ]
    server.route("GET", "/api/v1/da_hrl_lmps", paged(rows))
    # An HTTP date in the past means "retry now".
    server.fail_first(
        "GET",
        "/api/v1/da_hrl_lmps",
        Reply(429, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
    )
    source = PjmApi.from_env(http, today=TODAY, row_count=2)
    request = FetchRequest(
        "pjm", "dam", ("WESTERN HUB", "EASTERN"), date(2025, 7, 30), date(2025, 7, 30)
    )

    report = fetch(request, store_root=tmp_path, source=source, progress=False)

    assert report.complete and report.chunks == 1
    calls = server.calls("GET", "/api/v1/da_hrl_lmps")
    assert [c.query["startRow"] for c in calls] == ["1", "1", "3", "5"]
    for call in calls:
        assert call.headers["Ocp-Apim-Subscription-Key"] == KEY
        assert call.query["rowCount"] == "2"
        assert call.query["pnode_id"] == "51288;51217"
        assert call.query["row_is_current"] == "TRUE"
        assert call.query["datetime_beginning_ept"] == "07/30/2025 00:00to07/30/2025 23:59"
        assert "fields" not in call.query
    assert sleeps == [0.0]
    store = open_store(tmp_path)
    west = store.read("pjm", "dam", "WESTERN HUB")
    assert west["interval_start_utc"].to_list() == [utc(2025, 7, 30, 4), utc(2025, 7, 30, 5)]
    assert west["price_usd_per_mwh"].to_list() == [32.5, 33.75]  # the current version
    east = store.read("pjm", "dam", "EASTERN HUB")
    assert east["price_usd_per_mwh"].to_list() == [28.0, 27.5]


def test_archive_has_no_node_filter_and_never_crosses_a_year(server, http, tmp_path):
    rows_by_window = {
        "12/31/2022 00:00to12/31/2022 23:59": [
            item(51288, "WESTERN HUB", utc(2022, 12, 31, 5), 40.0, feed="rt"),
            item(51217, "EASTERN HUB", utc(2022, 12, 31, 5), 41.0, feed="rt"),
            item(5021673, "SOME BUS", utc(2022, 12, 31, 5), 42.0, feed="rt"),
        ],
        "01/01/2023 00:00to01/01/2023 23:59": [
            item(5021673, "SOME BUS", utc(2023, 1, 1, 5), 43.0, feed="rt"),
            item(51288, "WESTERN HUB", utc(2023, 1, 1, 5), 44.0, feed="rt"),
        ],
    }

    def handler(request: Received) -> Reply:
        return paged(rows_by_window[request.query["datetime_beginning_ept"]])(request)

    server.route("GET", "/api/v1/rt_hrl_lmps", handler)
    request = FetchRequest("pjm", "rtm", ("WESTERN HUB",), date(2022, 12, 31), date(2023, 1, 1))

    report = fetch(request, store_root=tmp_path, http=http, today=TODAY, progress=False)

    assert report.complete and report.rows == 2
    calls = server.calls("GET", "/api/v1/rt_hrl_lmps")
    assert [c.query["datetime_beginning_ept"] for c in calls] == list(rows_by_window)
    for call in calls:
        assert call.query["rowCount"] == "50000" and call.query["startRow"] == "1"
        assert not {"pnode_id", "fields", "row_is_current"} & set(call.query)
    stored = open_store(tmp_path).read("pjm", "rtm", "WESTERN HUB")
    assert stored["interval_start_utc"].to_list() == [utc(2022, 12, 31, 5), utc(2023, 1, 1, 5)]
    assert stored["price_usd_per_mwh"].to_list() == [40.0, 44.0]


def test_chunks_split_at_archive_boundary_and_months(http):
    source = PjmApi(http, api_key=KEY, today=TODAY)
    request = FetchRequest("pjm", "rtm", ("WESTERN HUB",), date(2023, 7, 30), date(2023, 8, 2))
    assert [(c.start, c.end, c.mode) for c in source.chunks(request)] == [
        (date(2023, 7, 30), date(2023, 7, 31), "archive"),
        (date(2023, 8, 1), date(2023, 8, 2), "recent"),
    ]
    five = FetchRequest(
        "pjm", "rtm", ("WESTERN HUB",), date(2025, 1, 26), date(2025, 1, 27), interval_minutes=5
    )
    # 5-minute data is archived after 186 days: 2025-08-01 - 186 days = 2025-01-27.
    assert [c.mode for c in source.chunks(five)] == ["archive", "recent"]


def test_five_minute_feed_and_node_without_rows_is_missing(server, http, tmp_path):
    rows = [
        item(51288, "WESTERN HUB", utc(2025, 7, 30, 4, 5 * k), 30.0 + k, feed="rt")
        for k in range(3)
    ]
    server.route("GET", "/api/v1/rt_fivemin_hrl_lmps", paged(rows))
    request = FetchRequest(
        "pjm",
        "rtm",
        ("WESTERN HUB", "OHIO HUB"),
        date(2025, 7, 30),
        date(2025, 7, 30),
        interval_minutes=5,
    )
    report = fetch(request, store_root=tmp_path, http=http, today=TODAY, progress=False)
    assert report.empty == ["2025-07-30..2025-07-30 OHIO HUB"]
    stored = open_store(tmp_path).read("pjm", "rtm", "WESTERN HUB")
    assert stored["interval_start_utc"].to_list() == [utc(2025, 7, 30, 4, m) for m in (0, 5, 10)]
    assert stored["price_usd_per_mwh"].to_list() == [30.0, 31.0, 32.0]
    assert set(stored["interval_minutes"].to_list()) == {5}


def test_hub_names_map_to_pnode_ids():
    assert pnode_id("WESTERN HUB") == 51288
    assert pnode_id("western") == 51288
    assert pnode_id("AEP-DAYTON HUB") == 34497127
    assert pnode_id("5021673") == 5021673
    with pytest.raises(ConfigError, match="not a PJM hub name"):
        pnode_id("NOWHERE")


def test_missing_key_and_rejected_key_never_leak(server, http, tmp_path, monkeypatch, caplog):
    request = FetchRequest("pjm", "dam", ("WESTERN HUB",), date(2025, 7, 30), date(2025, 7, 30))
    server.route("GET", "/api/v1/da_hrl_lmps", lambda r: Reply(401, f"bad key {KEY}".encode()))
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialsRejectedError) as info:
        fetch(request, store_root=tmp_path, http=http, today=TODAY, progress=False)
    assert "PJM_API_KEY" in str(info.value)
    assert KEY not in str(info.value) and KEY not in caplog.text
    monkeypatch.delenv("PJM_API_KEY")
    with pytest.raises(DataError, match="PJM_API_KEY"):
        fetch(request, store_root=tmp_path, http=http, today=TODAY, progress=False)
