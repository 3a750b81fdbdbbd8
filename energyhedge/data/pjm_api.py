"""PJM Data Miner 2 (api.pjm.com): day-ahead and real-time LMPs by pnode.

Every request carries ``Ocp-Apim-Subscription-Key``. Rows are paged with ``startRow`` (1-based)
and ``rowCount``: the client follows the answer's ``links`` (``rel: next``, same origin only) or
else asks from the row after the last one received, since the service may return fewer rows per
page than asked. The rows received must add up to ``totalRows``.

Data older than 731 days (hourly feeds) or 186 days (5-minute feed) is archived: such queries
may not filter by pnode nor name ``fields`` and must not span a calendar-year boundary, so they
fetch every pnode and are filtered here.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.fetch_plan import (
    Chunk,
    ChunkResult,
    FetchRequest,
    PageTally,
    json_count,
    month_windows,
    split_at,
)
from energyhedge.data.http import HttpClient, env_base_url, env_secret, same_origin
from energyhedge.data.importers import parse_payload
from energyhedge.data.schema import empty_prices
from energyhedge.errors import ConfigError, DataError

API_URL = "https://api.pjm.com/api/v1"
ENV_KEY = "PJM_API_KEY"
ENV_API_URL = "ENERGYHEDGE_PJM_API_URL"
ROW_COUNT = 50_000

FEEDS = {("dam", 60): "da_hrl_lmps", ("rtm", 60): "rt_hrl_lmps", ("rtm", 5): "rt_fivemin_hrl_lmps"}
ARCHIVE_AFTER_DAYS = {60: 731, 5: 186}

HUB_PNODE_IDS = {
    "EASTERN HUB": 51217,
    "WEST INT HUB": 51287,
    "WESTERN HUB": 51288,
    "NEW JERSEY HUB": 4669664,
    "CHICAGO GEN HUB": 33092311,
    "CHICAGO HUB": 33092313,
    "N ILLINOIS HUB": 33092315,
    "AEP GEN HUB": 34497125,
    "AEP-DAYTON HUB": 34497127,
    "OHIO HUB": 34497151,
    "DOMINION HUB": 35010337,
    "ATSI GEN HUB": 116013751,
}


def pnode_id(node: str) -> int:
    """The pnode id of a hub name ("WESTERN HUB" or "WESTERN") or of a numeric id string."""
    name = " ".join(node.upper().split())
    if name.isdigit():
        return int(name)
    for candidate in (name, f"{name} HUB"):
        if candidate in HUB_PNODE_IDS:
            return HUB_PNODE_IDS[candidate]
    raise ConfigError(
        f"--node {node!r}: not a PJM hub name; use one of {', '.join(HUB_PNODE_IDS)} "
        f"or a numeric pnode id"
    )


class PjmApi:
    """Fetches PJM LMPs from Data Miner 2.

    Parameters
    ----------
    today
        The Eastern calendar day that the archive age counts from (injected by tests).
    row_count
        Rows per page (``rowCount``).
    """

    def __init__(
        self,
        http: HttpClient,
        *,
        api_key: str,
        base_url: str = API_URL,
        today: date | None = None,
        row_count: int = ROW_COUNT,
    ) -> None:
        self.http = http
        http.add_secrets([api_key])
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.today = today or datetime.now(ZoneInfo(ISO_TZ["pjm"])).date()
        self.row_count = row_count

    @classmethod
    def from_env(cls, http: HttpClient, **options: object) -> PjmApi:
        """Key and URL from the environment; a missing key is a ``DataError``, a malformed key or
        URL a ``ConfigError``."""
        key = env_secret(ENV_KEY, header=True)
        if not key:
            raise DataError(
                f"PJM Data Miner 2 needs the environment variable {ENV_KEY}; set it to your "
                f"subscription key from apiportal.pjm.com"
            )
        return cls(http, api_key=key, base_url=env_base_url(ENV_API_URL, API_URL), **options)

    def chunks(self, request: FetchRequest) -> list[Chunk]:
        """Monthly chunks (never across a year) split where the archive starts."""
        feed_key = (request.market, request.interval_minutes)
        if feed_key not in FEEDS:
            raise ConfigError(
                f"--interval-minutes {request.interval_minutes}: PJM {request.market} has "
                f"{' and '.join(str(m) for mk, m in FEEDS if mk == request.market)}-minute data"
            )
        for node in request.nodes:
            pnode_id(node)
        boundary = self.today - timedelta(days=ARCHIVE_AFTER_DAYS[request.interval_minutes])
        out: list[Chunk] = []
        for lo, hi, archived in split_at(request.start, request.end, boundary):
            mode = "archive" if archived else "recent"
            out.extend(
                Chunk(first, last, request.nodes, mode) for first, last in month_windows(lo, hi)
            )
        return out

    def get_chunk(self, request: FetchRequest, chunk: Chunk) -> ChunkResult:
        """Page through one chunk, keep the requested pnodes and parse them."""
        feed = FEEDS[(request.market, request.interval_minutes)]
        ids = {pnode_id(node): node for node in chunk.nodes}
        url = f"{self.base_url}/{feed}"
        params: dict[str, object] = {
            "datetime_beginning_ept": f"{chunk.start:%m/%d/%Y} 00:00to{chunk.end:%m/%d/%Y} 23:59",
            "rowCount": self.row_count,
        }
        if chunk.mode == "recent":
            params["pnode_id"] = ";".join(str(i) for i in ids)
            params["row_is_current"] = "TRUE"
        headers = {"Ocp-Apim-Subscription-Key": self._key}
        hint = f"check {ENV_KEY}"
        items: list[dict] = []
        queries: list[str] = []
        page_url, page_params = url, {**params, "startRow": 1}
        tally = PageTally(self.http.describe("GET", url, page_params))
        while True:
            queries.append(self.http.describe("GET", page_url, page_params))
            doc = self.http.get_json(page_url, params=page_params, headers=headers, hint=hint)
            page, total = _page(doc, queries[-1])
            tally.add(page, queries[-1])
            items.extend(row for row in page if _pnode(row) in ids)
            if tally.received >= total:
                break
            if not page:
                raise tally.short(f"page {tally.pages} was empty after {tally.received} rows")
            tally.expect_pages(tally.pages + math.ceil((total - tally.received) / len(page)))
            page_url, page_params = _next_page(doc, url, {**params, "startRow": tally.received + 1})
        tally.check_total(total)
        seen = {_pnode(row) for row in items}
        missing = tuple(node for i, node in ids.items() if i not in seen)
        if not items:
            return ChunkResult(empty_prices(), queries, missing)
        name = f"{feed}_{chunk.start}_{chunk.end}.json"
        frame = parse_payload(json.dumps({"items": items}).encode(), name)
        return ChunkResult(frame.sort("node", "interval_start_utc"), queries, missing)


def _page(doc: object, query: str) -> tuple[list[dict], int]:
    """The records of one answer and the ``totalRows`` it announces."""
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not all(isinstance(row, dict) for row in items):
        raise DataError(
            f"{query} returned JSON without an 'items' list of records; the API changed or "
            f"{ENV_API_URL} points elsewhere"
        )
    return items, json_count(doc, "totalRows", query)


def _next_page(doc: dict, url: str, params: dict[str, object]) -> tuple[str, dict | None]:
    """The answer's ``next`` link when it stays on the origin of ``url``, else ``url?params``."""
    links = doc.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "next":
            href = link.get("href")
            if isinstance(href, str) and same_origin(href, url):
                return href, None
    return url, params


def _pnode(row: dict) -> int | None:
    try:
        return int(row.get("pnode_id"))
    except (TypeError, ValueError):
        return None
