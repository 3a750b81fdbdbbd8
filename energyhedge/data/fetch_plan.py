"""What a fetch asks for and how it is cut into chunks that are stored one at a time.

A chunk is the unit of progress and of recovery: each completed chunk is written to the store
at once, so an interrupted or partly failed fetch keeps what completed and reports the rest.
A chunk that comes in pages is checked with a :class:`PageTally`: every row the service
announced must arrive, or nothing of the chunk is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from energyhedge.errors import DataError

MAX_PAGES = 1000
"""Most pages one chunk may take (a PJM archive month is under 200 pages of 50,000 rows)."""


@dataclass(frozen=True)
class FetchRequest:
    """One ``energyhedge data fetch`` invocation.

    ``start`` and ``end`` are inclusive local market days; ``nodes`` are as the user typed them
    (upper-cased); ``interval_minutes`` picks the PJM real-time feed (5 or 60).
    """

    iso: str
    market: str
    nodes: tuple[str, ...]
    start: date
    end: date
    source: str = "api"
    interval_minutes: int = 60


@dataclass(frozen=True)
class Chunk:
    """Inclusive local days ``start``..``end`` of ``nodes``, fetched the way ``mode`` names."""

    start: date
    end: date
    nodes: tuple[str, ...]
    mode: str

    @property
    def label(self) -> str:
        """Human-readable name used in progress and in the missing-data report."""
        return f"{self.start}..{self.end} {','.join(self.nodes)} ({self.mode})"


@dataclass
class ChunkResult:
    """Canonical rows of one chunk, the queries that produced them and nodes that had no rows."""

    frame: pl.DataFrame
    queries: list[str] = field(default_factory=list)
    missing_nodes: tuple[str, ...] = ()


def month_windows(start: date, end: date) -> Iterator[tuple[date, date]]:
    """Inclusive (first, last) day pairs of each calendar month touched by ``start``..``end``.

    Windows never cross a month, hence never a calendar-year boundary.
    """
    first = start
    while first <= end:
        next_month = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        last = min(end, next_month - timedelta(days=1))
        yield first, last
        first = last + timedelta(days=1)


def split_at(start: date, end: date, boundary: date) -> list[tuple[date, date, bool]]:
    """Split ``start``..``end`` into the parts before ``boundary`` (flag True) and from it on."""
    parts: list[tuple[date, date, bool]] = []
    if start < boundary:
        parts.append((start, min(end, boundary - timedelta(days=1)), True))
    if end >= boundary:
        parts.append((max(start, boundary), end, False))
    return parts


def local_days_utc(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight opening ``start`` and closing ``end`` (end exclusive)."""
    zone = ZoneInfo(tz)
    opening = datetime(start.year, start.month, start.day, tzinfo=zone)
    after = end + timedelta(days=1)
    closing = datetime(after.year, after.month, after.day, tzinfo=zone)
    return opening.astimezone(UTC), closing.astimezone(UTC)


def keep_days_and_nodes(
    frame: pl.DataFrame, start: date, end: date, tz: str, nodes: tuple[str, ...]
) -> pl.DataFrame:
    """Rows of canonical ``frame`` on local days ``start``..``end`` of the given ``nodes``."""
    lo, hi = local_days_utc(start, end, tz)
    return frame.filter(
        (pl.col("interval_start_utc") >= lo)
        & (pl.col("interval_start_utc") < hi)
        & pl.col("node").is_in(list(nodes))
    )


def absent_nodes(frame: pl.DataFrame, nodes: tuple[str, ...]) -> tuple[str, ...]:
    """The requested ``nodes`` without a single row in canonical ``frame``."""
    present = set(frame.get_column("node").unique().to_list()) if frame.height else set()
    return tuple(n for n in nodes if n not in present)


@dataclass
class PageTally:
    """Rows received over the pages of one chunk, checked against what the service announced.

    ``query`` is the chunk's first request, named in every error. Errors are raised before
    anything of the chunk is stored.
    """

    query: str
    received: int = 0
    pages: int = 0
    _seen: set[str] = field(default_factory=set)

    def add(self, rows: list, query: str) -> None:
        """Count one page of ``rows``; raise when it repeats an earlier page or passes the cap."""
        self.pages += 1
        self.expect_pages(self.pages)
        if rows:
            mark = json.dumps(rows[0], sort_keys=True, default=str)
            if mark in self._seen:
                raise DataError(
                    f"{self.query}: page {self.pages} ({query}) repeats an earlier page; the "
                    f"service's paging loops (a next link or page number that goes back), "
                    f"nothing of this chunk was stored, try again later"
                )
            self._seen.add(mark)
        self.received += len(rows)

    def expect_pages(self, pages: int) -> None:
        """Raise when the chunk would take more than ``MAX_PAGES`` pages."""
        if pages > MAX_PAGES:
            raise DataError(
                f"{self.query}: the service announces {pages} pages, more than the {MAX_PAGES} "
                f"one chunk may take; its page counts are wrong, or fetch fewer nodes at a time"
            )

    def short(self, detail: str) -> DataError:
        """The error for a chunk whose pages did not deliver what was announced."""
        return DataError(
            f"{self.query}: {detail}; the service sent short pages, nothing of this chunk was "
            f"stored, run the same command again"
        )

    def check_total(self, announced: int, unit: str = "rows") -> None:
        """Raise unless exactly ``announced`` rows (``unit``) arrived over all pages."""
        if self.received != announced:
            raise self.short(
                f"{self.pages} page(s) held {self.received} {unit} where {announced} were announced"
            )


def json_count(doc: dict, key: str, query: str, default: int | None = None) -> int:
    """Non-negative integer ``doc[key]`` of a JSON answer to ``query`` (``default`` if absent)."""
    value = doc.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(
            f"{query} returned JSON whose {key!r} is {_shown(value)}, not a count; the API "
            f"changed or the base URL points elsewhere"
        )
    return value


def _shown(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else f"{type(value).__name__} {text[:37]}..."
