"""ERCOT MIS document archive (www.ercot.com, no credentials): annual hub and load-zone prices.

The annual reports NP6-785-ER (RTM 15-minute) and NP4-180-ER (DAM hourly) hold one zip per
year named ``..._YYYY`` with an xlsx (one sheet per month) or CSV inside. They cover hubs and
load zones only, not resource nodes. The listing is one answer (no pages); each entry must name
its document, and the download is a zip whose every member passes its checksum.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from energyhedge.data.calendar import ISO_TZ
from energyhedge.data.fetch_plan import (
    Chunk,
    ChunkResult,
    FetchRequest,
    absent_nodes,
    keep_days_and_nodes,
)
from energyhedge.data.http import HttpClient, env_base_url
from energyhedge.data.importers import parse_payload
from energyhedge.errors import DataError

MIS_URL = "https://www.ercot.com"
ENV_MIS_URL = "ENERGYHEDGE_ERCOT_MIS_URL"
REPORT_TYPE_IDS = {"rtm": 13061, "dam": 13060}  # NP6-785-ER, NP4-180-ER
_YEAR = re.compile(r"_((?:19|20)\d\d)(?!\d)")


class ErcotMis:
    """Fetches the annual ERCOT price files from the MIS document archive."""

    def __init__(self, http: HttpClient, *, base_url: str | None = None) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/") if base_url else env_base_url(ENV_MIS_URL, MIS_URL)
        self._documents: dict[str, tuple[dict[int, dict], str]] = {}

    def chunks(self, request: FetchRequest) -> list[Chunk]:
        """One chunk per calendar year (one annual file each)."""
        out = []
        for year in range(request.start.year, request.end.year + 1):
            first = max(request.start, date(year, 1, 1))
            last = min(request.end, date(year, 12, 31))
            out.append(Chunk(first, last, request.nodes, "mis"))
        return out

    def get_chunk(self, request: FetchRequest, chunk: Chunk) -> ChunkResult:
        """Download the year's file, parse it and keep the chunk's days and nodes."""
        by_year, list_query = self._list(request.market)
        document = by_year.get(chunk.start.year)
        if document is None:
            raise DataError(
                f"{list_query} lists no annual file for {chunk.start.year} "
                f"(years listed: {', '.join(map(str, sorted(by_year))) or 'none'}); "
                f"use --source api for recent days"
            )
        url = f"{self.base_url}/misdownload/servlets/mirDownload"
        params = {"doclookupId": document["DocID"]}
        query = self.http.describe("GET", url, params)
        archive = self.http.get_zip(url, params=params)
        frames = []
        for name in archive.namelist():
            if name.lower().endswith((".xlsx", ".csv")):
                parsed = parse_payload(archive.read(name), name)
                frames.append(parsed.filter(pl.col("node").is_in(list(chunk.nodes))))
        if not frames:
            raise DataError(
                f"{query} returned a zip without an xlsx or csv member "
                f"({', '.join(archive.namelist()) or 'empty'}); the archive layout changed"
            )
        frame = keep_days_and_nodes(
            pl.concat(frames), chunk.start, chunk.end, ISO_TZ["ercot"], chunk.nodes
        )
        return ChunkResult(frame, [list_query, query], absent_nodes(frame, chunk.nodes))

    def _list(self, market: str) -> tuple[dict[int, dict], str]:
        """Newest document per year of the market's annual report, and the listing query."""
        if market not in self._documents:
            url = f"{self.base_url}/misapp/servlets/IceDocListJsonWS"
            params = {"reportTypeId": REPORT_TYPE_IDS[market]}
            query = self.http.describe("GET", url, params)
            doc = self.http.get_json(url, params=params)
            by_year: dict[int, dict] = {}
            for document in _documents(doc, query):
                match = _YEAR.search(
                    f"{document.get('FriendlyName', '')} {document.get('ConstructedName', '')}"
                )
                if not match:
                    continue
                year = int(match.group(1))
                newest = by_year.get(year)
                if newest is None or str(document.get("PublishDate", "")) > str(
                    newest.get("PublishDate", "")
                ):
                    by_year[year] = document
            self._documents[market] = (by_year, query)
        return self._documents[market]


def _documents(doc: object, query: str) -> list[dict]:
    """The documents of an MIS listing, each a record with a numeric ``DocID``."""
    listing = doc.get("ListDocsByRptTypeRes") if isinstance(doc, dict) else None
    entries = listing.get("DocumentList") if isinstance(listing, dict) else None
    documents = []
    for entry in entries if isinstance(entries, list) else [None]:
        document = entry.get("Document", entry) if isinstance(entry, dict) else None
        if not isinstance(document, dict) or not str(document.get("DocID", "")).isdigit():
            raise DataError(
                f"{query} returned JSON without ListDocsByRptTypeRes.DocumentList, a list of "
                f"documents with a DocID; the MIS changed or {ENV_MIS_URL} points elsewhere"
            )
        documents.append(document)
    return documents
