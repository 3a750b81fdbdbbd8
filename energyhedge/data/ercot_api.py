"""ERCOT public API (api.ercot.com): settlement point prices from query and archive endpoints.

Authentication is an Azure AD B2C password-flow token (its ``id_token`` is the bearer, treated
as valid for one hour) plus the ``Ocp-Apim-Subscription-Key`` header on every request.
Query endpoints hold data from their activation (about 2023-12-01) on; older delivery days come
from the archive endpoints, which list documents by *posting* time and return a zip of zips.
Pages are checked against ``_meta`` (``totalPages``, ``totalRecords``) and a download must hold
one document per id asked for: a shortfall is an error and nothing of the chunk is stored.
"""

from __future__ import annotations

import json
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
    PageTally,
    absent_nodes,
    json_count,
    keep_days_and_nodes,
    month_windows,
    split_at,
)
from energyhedge.data.http import (
    CredentialsRejectedError,
    FetchStoppedError,
    HttpClient,
    env_base_url,
    env_secret,
    header_safe,
    open_zip,
)
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
        """Credentials and URLs from the environment; a missing variable is a ``DataError``, a
        malformed key or URL a ``ConfigError``."""
        values = {
            ENV_USERNAME: env_secret(ENV_USERNAME, header=False),
            ENV_PASSWORD: env_secret(ENV_PASSWORD, header=False),
            ENV_KEY: env_secret(ENV_KEY, header=True),
        }
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
            base_url=env_base_url(ENV_API_URL, API_URL),
            token_url=env_base_url(ENV_TOKEN_URL, TOKEN_URL),
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
        tally: PageTally | None = None
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
            tally = tally or PageTally(queries[-1])
            fields, rows, meta = _query_page(self._get_json(url, params=params), queries[-1])
            tally.add(rows, queries[-1])
            if rows:
                name = f"{report.emil}_{node}_{chunk.start}_{chunk.end}_p{page}.json"
                page_doc = {"fields": fields, "data": rows}
                frames.append(parse_payload(json.dumps(page_doc).encode(), name))
            total_pages = json_count(meta, "totalPages", queries[-1], default=1)
            tally.expect_pages(total_pages)
            if page >= total_pages:
                break
            if not rows:
                raise tally.short(f"page {page} of {total_pages} was empty")
            page += 1
        if "totalRecords" in meta:
            tally.check_total(json_count(meta, "totalRecords", queries[-1]))
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
            members = outer.namelist()
            if len(members) != len(batch):
                raise DataError(
                    f"{queries[-1]} returned {len(members)} document(s) for {len(batch)} docIds; "
                    f"the download was short, nothing of this chunk was stored, run the same "
                    f"command again"
                )
            for inner_name in members:
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
        tally: PageTally | None = None
        page = 1
        while True:
            params = {
                "postDatetimeFrom": post_from.strftime("%Y-%m-%dT%H:%M:%S"),
                "postDatetimeTo": post_to.strftime("%Y-%m-%dT%H:%M:%S"),
                "size": ARCHIVE_BATCH,
                "page": page,
            }
            queries.append(self.http.describe("GET", url, params))
            tally = tally or PageTally(queries[-1])
            doc = self._get_json(url, params=params)
            archives = doc.get("archives") if isinstance(doc, dict) else None
            if archives is None and isinstance(doc, dict):
                archives = []
            if not isinstance(archives, list) or not all(isinstance(a, dict) for a in archives):
                raise DataError(
                    f"{queries[-1]} returned JSON that is not an archive listing (no 'archives' "
                    f"list of records); the API changed or {ENV_API_URL} points elsewhere"
                )
            meta = _meta(doc, queries[-1])
            tally.add(archives, queries[-1])
            posted.extend(
                (str(a.get("postDatetime", "")), _doc_id(a, queries[-1])) for a in archives
            )
            total_pages = json_count(meta, "totalPages", queries[-1], default=1)
            tally.expect_pages(total_pages)
            if page >= total_pages:
                break
            if not archives:
                raise tally.short(f"listing page {page} of {total_pages} was empty")
            page += 1
        if "totalRecords" in meta:
            tally.check_total(json_count(meta, "totalRecords", queries[-1]), "documents")
        return [doc_id for _, doc_id in sorted(posted)], queries

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
            try:
                doc = self.http.get_json(
                    self.token_url,
                    method="POST",
                    data=form,
                    auth_statuses=(400, 401, 403),
                    hint=f"check {ENV_USERNAME} and {ENV_PASSWORD}",
                )
            except FetchStoppedError:
                raise
            except DataError as exc:  # every later chunk needs a token: stop here
                raise FetchStoppedError(f"no ERCOT API token: {exc}") from None
            token = doc.get("id_token") if isinstance(doc, dict) else None
            if not isinstance(token, str) or not header_safe(token):
                raise FetchStoppedError(
                    f"the ERCOT token service ({self.http.redact(self.token_url)}) answered "
                    f"without a usable id_token; check {ENV_USERNAME}, {ENV_PASSWORD} and "
                    f"{ENV_TOKEN_URL}"
                )
            self.http.add_secrets([token])
            self._token, self._token_at = token, now
        return {"Authorization": f"Bearer {self._token}", "Ocp-Apim-Subscription-Key": self._key}


_HINT = f"check {ENV_KEY} and that the account is subscribed to the Public API product"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _doc_id(item: dict, what: str) -> int:
    doc_id = item.get("docId")
    if doc_id is None:
        links = item.get("_links")
        endpoint = links.get("endpoint") if isinstance(links, dict) else None
        href = endpoint.get("href") if isinstance(endpoint, dict) else None
        match = re.search(r"(\d+)$", href) if isinstance(href, str) else None
        doc_id = match.group(1) if match else None
    if isinstance(doc_id, str) and doc_id.isdigit():
        doc_id = int(doc_id)
    if isinstance(doc_id, bool) or not isinstance(doc_id, int):
        raise DataError(f"{what} listed an archive without a numeric docId; the API changed")
    return doc_id


def _meta(doc: dict, query: str) -> dict:
    """The ``_meta`` object of an answer ({} when absent)."""
    meta = doc.get("_meta")
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise DataError(f"{query} returned JSON whose '_meta' is not an object; the API changed")
    return meta


def _query_page(doc: object, query: str) -> tuple[list, list[list], dict]:
    """``fields``, ``data`` rows and ``_meta`` of a query answer, each checked for its shape."""
    fields = doc.get("fields") if isinstance(doc, dict) else None
    data = doc.get("data") if isinstance(doc, dict) else None
    if (
        not isinstance(fields, list)
        or not fields
        or not all(
            isinstance(f, str) or (isinstance(f, dict) and isinstance(f.get("name"), str))
            for f in fields
        )
        or not isinstance(data, list)
    ):
        raise DataError(
            f"{query} returned JSON without a 'fields' list of named columns and a 'data' list; "
            f"the API changed or the base URL ({ENV_API_URL}) points elsewhere"
        )
    for number, row in enumerate(data, start=1):
        if (
            not isinstance(row, list)
            or len(row) != len(fields)
            or not all(isinstance(v, str | int | float | None) for v in row)
        ):
            raise DataError(
                f"{query} returned data row {number} that is not a list of {len(fields)} plain "
                f"values (one per field); the API changed"
            )
    return fields, data, _meta(doc, query)
