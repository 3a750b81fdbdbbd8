"""ERCOT public API (api.ercot.com): settlement point prices from query and archive endpoints.

Authentication is an Azure AD B2C password-flow token (its ``id_token`` is the bearer, treated
as valid for one hour) plus the ``Ocp-Apim-Subscription-Key`` header on every request.
Query endpoints hold data from their activation (about 2023-12-01) on; older delivery days come
from the archive endpoints, which list documents by *posting* time and return a zip of zips.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

import polars as pl

from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.fetch_plan import (
    Chunk,
    ChunkResult,
    FetchRequest,
    absent_nodes,
    keep_days_and_nodes,
    month_windows,
    split_at,
)
from energyhedge.data.http import CredentialsRejectedError, HttpClient, open_zip
from energyhedge.data.importers import parse_payload
from energyhedge.data.schema import KEY_COLUMNS, empty_prices
from energyhedge.errors import DataError

API_URL = "https://api.ercot.com/api/public-reports"
TOKEN_URL = "https://ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
CLIENT_ID = "fec253ea-0d06-4272-a5e6-b478baeecd70"  # ERCOT's published public client id
TOKEN_LIFETIME_S = 3600.0
TOKEN_MARGIN_S = 60.0  # renew this long before the hour is up
QUERY_API_START = date(2023, 12, 1)  # first delivery day the query endpoints hold
ARCHIVE_BATCH = 1000  # most docIds one archive download accepts
MARKET_TZ = ISO_TZ["ercot"]

T = TypeVar("T")

ENV_USERNAME = "ERCOT_API_USERNAME"
ENV_PASSWORD = "ERCOT_API_PASSWORD"
ENV_KEY = "ERCOT_PUBLIC_API_SUBSCRIPTION_KEY"
ENV_API_URL = "ENERGYHEDGE_ERCOT_API_URL"
ENV_TOKEN_URL = "ENERGYHEDGE_ERCOT_TOKEN_URL"


@dataclass(frozen=True)
class Report:
    """One ERCOT price report: EMIL id, query endpoint, posting lag used for archive listing."""

    emil: str
    endpoint: str
    post_shift: timedelta  # posting time minus delivery-day start, for the archive window


REPORTS = {
    # RT 15-minute SPP: each interval is posted just after it ends.
    "rtm": Report("np6-905-cd", "spp_node_zone_hub", timedelta(minutes=15)),
    # DAM hourly SPP: posted the day before delivery.
    "dam": Report("np4-190-cd", "dam_stlmnt_pnt_prices", timedelta(days=-1)),
}


class ErcotApi:
    """Fetches ERCOT settlement point prices through the public API.

    Parameters
    ----------
    http
        The shared client; the credentials are registered with it for redaction.
    archive_before
        Delivery days before this date come from the archive endpoints.
    page_size
        Rows per query page (``size``).
    clock
        ``time.monotonic`` or a fake, for the token's lifetime.
    """

    def __init__(
        self,
        http: HttpClient,
        *,
        username: str,
        password: str,
        subscription_key: str,
        base_url: str = API_URL,
        token_url: str = TOKEN_URL,
        archive_before: date = QUERY_API_START,
        page_size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        http.add_secrets([username, password, subscription_key])
        self._username = username
        self._password = password
        self._key = subscription_key
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.archive_before = archive_before
        self.page_size = page_size
        self.clock = clock
        self._token: str | None = None
        self._token_at = 0.0

    @classmethod
    def from_env(cls, http: HttpClient, **options: object) -> ErcotApi:
        """Credentials and URLs from the environment; a missing variable is a ``DataError``."""
        values = {name: os.environ.get(name, "") for name in (ENV_USERNAME, ENV_PASSWORD, ENV_KEY)}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise DataError(
                f"the ERCOT public API needs the environment variable(s) {', '.join(missing)}; "
                f"set them (account and key from apiexplorer.ercot.com), or use --source mis, "
                f"which needs no credentials, for the annual hub and load-zone files"
            )
        return cls(
            http,
            username=values[ENV_USERNAME],
            password=values[ENV_PASSWORD],
            subscription_key=values[ENV_KEY],
            base_url=os.environ.get(ENV_API_URL) or API_URL,
            token_url=os.environ.get(ENV_TOKEN_URL) or TOKEN_URL,
            **options,
        )

    def chunks(self, request: FetchRequest) -> list[Chunk]:
        """One chunk per month and node on the query endpoints, per month for the archive."""
        out: list[Chunk] = []
        for lo, hi, archived in split_at(request.start, request.end, self.archive_before):
            for first, last in month_windows(lo, hi):
                if archived:
                    out.append(Chunk(first, last, request.nodes, "archive"))
                else:
                    out.extend(Chunk(first, last, (node,), "query") for node in request.nodes)
        return out

    def get_chunk(self, request: FetchRequest, chunk: Chunk) -> ChunkResult:
        """Fetch, parse and trim one chunk to its days and nodes."""
        if chunk.mode == "archive":
            return self._get_archive(REPORTS[request.market], chunk)
        return self._get_query(REPORTS[request.market], chunk)

    def _get_query(self, report: Report, chunk: Chunk) -> ChunkResult:
        (node,) = chunk.nodes
        url = f"{self.base_url}/{report.emil}/{report.endpoint}"
        frames: list[pl.DataFrame] = []
        queries: list[str] = []
        page = 1
        while True:
            params = {
                "deliveryDateFrom": chunk.start.isoformat(),
                "deliveryDateTo": chunk.end.isoformat(),
                "settlementPoint": node,
                "page": page,
                "size": self.page_size,
            }
            queries.append(self.http.describe("GET", url, params))
            doc = self._get_json(url, params=params)
            if not isinstance(doc, dict) or "data" not in doc or "fields" not in doc:
                raise DataError(
                    f"{queries[-1]} returned JSON without 'fields' and 'data'; the API changed "
                    f"or the base URL ({ENV_API_URL}) points elsewhere"
                )
            if doc["data"]:
                name = f"{report.emil}_{node}_{chunk.start}_{chunk.end}_p{page}.json"
                frames.append(parse_payload(json.dumps(doc).encode(), name))
            total_pages = int((doc.get("_meta") or {}).get("totalPages") or 1)
            if page >= total_pages:
                break
            page += 1
        frame = pl.concat(frames) if frames else empty_prices()
        frame = keep_days_and_nodes(frame, chunk.start, chunk.end, MARKET_TZ, chunk.nodes)
        return ChunkResult(frame, queries, absent_nodes(frame, chunk.nodes))

    def _get_archive(self, report: Report, chunk: Chunk) -> ChunkResult:
        doc_ids, queries = self._list_archive(report, chunk.start, chunk.end)
        url = f"{self.base_url}/archive/{report.emil}/download"
        frames: list[pl.DataFrame] = []
        for i in range(0, len(doc_ids), ARCHIVE_BATCH):
            batch = doc_ids[i : i + ARCHIVE_BATCH]
            what = self.http.describe("POST", url)
            queries.append(f"{what} ({len(batch)} docIds)")
            outer = self._authorised(
                lambda headers, batch=batch: self.http.get_zip(
                    url, method="POST", json_body={"docIds": batch}, headers=headers, hint=_HINT
                )
            )
            for inner_name in outer.namelist():
                inner = open_zip(outer.read(inner_name), f"{what}: member {inner_name}")
                for name in inner.namelist():
                    parsed = parse_payload(inner.read(name), name)
                    frames.append(parsed.filter(pl.col("node").is_in(list(chunk.nodes))))
        # Documents come in posting order: a re-posted (corrected) interval replaces the first.
        frame = pl.concat(frames) if frames else empty_prices()
        frame = frame.unique(subset=list(KEY_COLUMNS), keep="last", maintain_order=True)
        frame = keep_days_and_nodes(frame, chunk.start, chunk.end, MARKET_TZ, chunk.nodes)
        return ChunkResult(frame, queries, absent_nodes(frame, chunk.nodes))

    def _list_archive(self, report: Report, start: date, end: date) -> tuple[list[int], list[str]]:
        """Document ids posted for delivery days ``start``..``end``, oldest posting first."""
        url = f"{self.base_url}/archive/{report.emil}"
        post_from = _midnight(start) + report.post_shift
        post_to = _midnight(end + timedelta(days=1)) + report.post_shift - timedelta(seconds=1)
        posted: list[tuple[str, int]] = []
        queries: list[str] = []
        page = 1
        while True:
            params = {
                "postDatetimeFrom": post_from.strftime("%Y-%m-%dT%H:%M:%S"),
                "postDatetimeTo": post_to.strftime("%Y-%m-%dT%H:%M:%S"),
                "size": ARCHIVE_BATCH,
                "page": page,
            }
            queries.append(self.http.describe("GET", url, params))
            doc = self._get_json(url, params=params)
            if not isinstance(doc, dict):
                raise DataError(f"{queries[-1]} returned JSON that is not an archive listing")
            posted.extend(
                (item.get("postDatetime", ""), _doc_id(item, queries[-1]))
                for item in doc.get("archives") or []
            )
            if page >= int((doc.get("_meta") or {}).get("totalPages") or 1):
                return [doc_id for _, doc_id in sorted(posted)], queries
            page += 1

    def _get_json(self, url: str, params: dict[str, object]) -> object:
        return self._authorised(
            lambda headers: self.http.get_json(url, params=params, headers=headers, hint=_HINT)
        )

    def _authorised(self, send: Callable[[dict[str, str]], T]) -> T:
        """``send(headers)``; on a rejection with a token that may have expired, renew it once."""
        fresh = self._token is None
        try:
            return send(self._headers())
        except CredentialsRejectedError:
            if fresh:
                raise
            self._token = None
            return send(self._headers())

    def _headers(self) -> dict[str, str]:
        """Bearer token (renewed before its hour is up) and subscription key."""
        now = self.clock()
        if self._token is None or now - self._token_at >= TOKEN_LIFETIME_S - TOKEN_MARGIN_S:
            form = {
                "grant_type": "password",
                "username": self._username,
                "password": self._password,
                "response_type": "id_token",
                "scope": f"openid {CLIENT_ID} offline_access",
                "client_id": CLIENT_ID,
            }
            doc = self.http.get_json(
                self.token_url,
                method="POST",
                data=form,
                auth_statuses=(400, 401, 403),
                hint=f"check {ENV_USERNAME} and {ENV_PASSWORD}",
            )
            token = doc.get("id_token") if isinstance(doc, dict) else None
            if not token:
                raise DataError(
                    f"the ERCOT token service ({self.http.redact(self.token_url)}) answered "
                    f"without an id_token; check {ENV_USERNAME}, {ENV_PASSWORD} and "
                    f"{ENV_TOKEN_URL}"
                )
            self.http.add_secrets([token])
            self._token, self._token_at = token, now
        return {"Authorization": f"Bearer {self._token}", "Ocp-Apim-Subscription-Key": self._key}


_HINT = f"check {ENV_KEY} and that the account is subscribed to the Public API product"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _doc_id(item: dict, what: str) -> int:
    if item.get("docId") is not None:
        return int(item["docId"])
    href = ((item.get("_links") or {}).get("endpoint") or {}).get("href", "")
    match = re.search(r"(\d+)$", href)
    if not match:
        raise DataError(f"{what} listed an archive without a docId; the API changed")
    return int(match.group(1))
