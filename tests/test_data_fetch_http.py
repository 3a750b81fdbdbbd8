"""The shared HTTP client: retries, Retry-After, time and attempt bounds, bad bodies, redaction."""

from __future__ import annotations

import socket
import time
import zipfile
from datetime import UTC, datetime

import pytest
from fake_iso_server import FakeIsoServer, Reply, zip_bytes

from energyhedge.data.http import HttpClient, UnreachableError, open_zip, parse_retry_after
from energyhedge.errors import DataError


@pytest.fixture
def server():
    with FakeIsoServer() as fake:
        yield fake


def client(sleeps: list[float], **options) -> HttpClient:
    return HttpClient(sleep=sleeps.append, rng=lambda: 0.5, **options)


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Fri, 02 Jan 2026 03:05:35 GMT", now) == 90.0
    assert parse_retry_after("Fri, 02 Jan 2026 03:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_exponential_backoff_is_bounded_by_attempts(server):
    server.route("GET", "/x", lambda r: Reply(503, b"busy"))
    sleeps: list[float] = []
    http = client(sleeps, max_attempts=4, backoff_s=0.5)
    with pytest.raises(DataError, match=r"GET http://127\.0\.0\.1:\d+/x\?a=1 failed after 4"):
        http.request("GET", server.url + "/x", params={"a": 1})
    assert len(server.calls("GET", "/x")) == 4
    assert sleeps == [0.5, 1.0, 2.0]  # doubling, jitter factor 0.5 + 0.5 = 1


def test_jitter_scales_between_half_and_one_and_a_half_and_is_capped():
    low = HttpClient(rng=lambda: 0.0, backoff_s=2.0, backoff_cap_s=5.0)
    high = HttpClient(rng=lambda: 0.999, backoff_s=2.0, backoff_cap_s=5.0)
    assert [low._backoff(a) for a in (1, 2, 3, 4)] == [1.0, 2.0, 2.5, 2.5]
    assert [round(high._backoff(a), 3) for a in (1, 2, 3)] == [2.998, 5.996, 7.495]


def test_retry_after_beyond_the_time_budget_fails_at_once(server):
    server.route("GET", "/x", lambda r: Reply(429, b"", {"Retry-After": "1000"}))
    sleeps: list[float] = []
    with pytest.raises(DataError, match="HTTP 429"):
        client(sleeps, max_total_s=300).request("GET", server.url + "/x")
    assert sleeps == [] and len(server.calls("GET", "/x")) == 1


def test_read_timeout_is_retried(server):
    slow = [True]

    def handler(request):
        if slow.pop() if slow else False:
            time.sleep(0.6)
        return Reply.json({"ok": 1})

    server.route("GET", "/x", handler)
    sleeps: list[float] = []
    http = client(sleeps, read_timeout_s=0.2)
    assert http.get_json(server.url + "/x") == {"ok": 1}
    assert sleeps == [1.0] and http.attempts == 2


def test_body_shorter_than_its_content_length_is_retried(server):
    server.fail_first("GET", "/x", Reply(200, b'{"ok": ', {"Content-Length": "400"}))
    server.route("GET", "/x", lambda r: Reply.json({"ok": 2}))
    sleeps: list[float] = []
    assert client(sleeps).get_json(server.url + "/x") == {"ok": 2}
    assert sleeps == [1.0] and len(server.calls("GET", "/x")) == 2


def test_connection_refused_is_tried_twice_then_stops_the_fetch():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(
        UnreachableError,
        match=rf"GET http://127\.0\.0\.1:{port}/x: connection refused by 127\.0\.0\.1:{port} "
        r"\(nothing listens there\)",
    ):
        client(sleeps, max_attempts=6).request("GET", f"http://127.0.0.1:{port}/x")
    assert sleeps == [1.0]  # one retry, not six attempts


def test_dns_failure_is_named_and_not_retried(monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    sleeps: list[float] = []
    http = client(sleeps)
    with pytest.raises(UnreachableError) as info:
        http.request("GET", "https://api.example.invalid/x")
    message = str(info.value)
    assert "DNS failure: the host name 'api.example.invalid' could not be resolved" in message
    assert "unavailable or throttling" not in message
    assert sleeps == [] and http.attempts == 1


def test_client_errors_are_not_retried(server):
    server.route("GET", "/x", lambda r: Reply(404, b"not here"))
    with pytest.raises(DataError, match=r"HTTP 404 .*check the node names and dates; see docs"):
        client([]).request("GET", server.url + "/x", hint="see docs")
    assert len(server.calls("GET", "/x")) == 1


def test_non_json_body_names_the_url_and_hides_echoed_secrets(server):
    server.route(
        "GET",
        "/x",
        lambda r: Reply(200, b"<html>key K-SECRET down</html>", {"Content-Type": "text/html"}),
    )
    http = client([])
    http.add_secrets(["K-SECRET"])
    with pytest.raises(DataError) as info:
        http.get_json(server.url + "/x", params={"page": 2})
    message = str(info.value)
    assert f"GET {server.url}/x?page=2 returned text/html, 30 bytes" in message
    assert "where JSON was expected" in message and "check the base URL" in message
    assert "K-SECRET" not in message and "key *** down" in message


def test_truncated_and_corrupt_zips_are_data_errors(server):
    good = zip_bytes({"a.csv": b"x,y\n1,2\n" * 50})
    server.route("GET", "/cut", lambda r: Reply(200, good[: len(good) // 2]))
    with pytest.raises(DataError, match=r"/cut returned a damaged or truncated zip"):
        client([]).get_zip(server.url + "/cut")
    corrupt = bytearray(zip_bytes({"a.csv": b"0123456789" * 20}))
    start = corrupt.index(b"a.csv") + len("a.csv")
    corrupt[start + 3] ^= 0xFF  # flip a byte of the compressed data
    with pytest.raises(DataError, match=r"damaged|checksum"):
        open_zip(bytes(corrupt), "doc 7")
    assert isinstance(open_zip(good, "doc 8"), zipfile.ZipFile)


def test_secrets_are_redacted_from_messages_and_logs(server, caplog):
    secret = "S3CRET-value"
    server.route("POST", "/x", lambda r: Reply(500, f"echo {secret}".encode()))
    http = client([], max_attempts=2)
    http.add_secrets([secret, None, ""])
    with caplog.at_level("DEBUG"), pytest.raises(DataError) as info:
        http.request(
            "POST",
            server.url + "/x",
            headers={"Ocp-Apim-Subscription-Key": secret},
            data={"password": secret},
        )
    assert secret not in str(info.value) and secret not in caplog.text
    assert "retrying" in caplog.text
    (first, _) = server.calls("POST", "/x")
    assert first.headers["Ocp-Apim-Subscription-Key"] == secret
    assert http.describe("GET", server.url + "/x", {"token": secret}).endswith("/x?token=***")
