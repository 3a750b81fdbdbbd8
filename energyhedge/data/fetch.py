"""Download prices from an ISO into the store, chunk by chunk (``energyhedge data fetch``).

Each completed chunk is parsed into canonical rows and upserted at once, so an interrupted or
partly failed fetch keeps what completed. At the end the command lists chunks that failed and
nodes that returned no rows, and exits non-zero (``DataError``) if anything is missing; running
the same command again fills the gaps (upserts are idempotent). One deadline bounds the whole
fetch; rejected credentials, an unreachable host, a failing token service or the deadline stop
it at once (:class:`~energyhedge.data.http.FetchStoppedError`), keeping completed chunks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

import polars as pl

from energyhedge.data.ercot_api import QUERY_API_START, ErcotApi
from energyhedge.data.ercot_mis import ErcotMis
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.http import FetchStoppedError, HttpClient
from energyhedge.data.pjm_api import PjmApi
from energyhedge.data.store import open_store
from energyhedge.errors import ConfigError, DataError
from energyhedge.progress import Progress

log = logging.getLogger(__name__)

MAX_LISTED = 5  # missing parts named in the final error; all are logged as they happen
DEADLINE_S = 300.0
"""Default bound in seconds on one whole fetch (``data fetch --deadline-s``, nightly refresh)."""


@dataclass
class FetchReport:
    """What a fetch stored and what it could not get."""

    chunks: int = 0
    rows: int = 0
    failed: list[str] = field(default_factory=list)  # "<chunk>: <reason>"
    empty: list[str] = field(default_factory=list)  # "<chunk days> <node>" with no rows

    @property
    def complete(self) -> bool:
        """True when every chunk succeeded and every node returned rows."""
        return not self.failed and not self.empty


def fetch(
    request: FetchRequest,
    *,
    store_root: Path | None = None,
    http: HttpClient | None = None,
    archive_before: date = QUERY_API_START,
    today: date | None = None,
    source: ErcotApi | ErcotMis | PjmApi | None = None,
    progress: bool = True,
    deadline_s: float | None = None,
) -> FetchReport:
    """Fetch every chunk of ``request`` and upsert each completed one into the store.

    A chunk that fails is recorded in the report and the fetch goes on with the next one;
    a :class:`FetchStoppedError` (rejected credentials, unreachable host, failing token service,
    ``deadline_s`` seconds passed, default ``DEADLINE_S``) stops the whole fetch at once, saying
    how much was stored.
    ``source`` (default: built from the environment) and ``http`` are injectable; ``today``
    dates PJM's archive boundary.
    """
    validate(request)
    if source is None:
        source = source_from_env(request, http or HttpClient(), archive_before, today)
    http = source.http
    http.start_deadline(DEADLINE_S if deadline_s is None else deadline_s)
    chunks = source.chunks(request)
    store = open_store(store_root)
    report = FetchReport(chunks=len(chunks))
    label = f"fetch {request.iso} {request.market}"
    with Progress(len(chunks), label, enabled=progress) as bar:
        for done, chunk in enumerate(chunks):
            try:
                result = source.get_chunk(request, chunk)
                check_series(result.frame, request, result.queries)
                if result.frame.height:
                    store.upsert(
                        result.frame,
                        provenance={
                            "source": request.source,
                            "query": "; ".join(result.queries),
                            "iso": request.iso,
                            "market": request.market,
                            "chunk": chunk.label,
                            "fetched_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                        },
                    )
            except FetchStoppedError as exc:
                raise type(exc)(
                    f"{http.redact(str(exc))}; {done - len(report.failed)} of {len(chunks)} "
                    f"chunk(s) ({report.rows} rows) were stored before the fetch stopped, run "
                    f"the same command again to fetch the rest"
                ) from None
            except DataError as exc:
                report.failed.append(f"{chunk.label}: {http.redact(str(exc))}")
                log.info("fetch: chunk %s failed: %s", chunk.label, report.failed[-1])
            else:
                report.rows += result.frame.height
                report.empty.extend(
                    f"{chunk.start}..{chunk.end} {node}" for node in result.missing_nodes
                )
            bar.advance()
    return report


def source_from_env(
    request: FetchRequest, http: HttpClient, archive_before: date, today: date | None
) -> ErcotApi | ErcotMis | PjmApi:
    """The source serving ``request``, with credentials and URLs from the environment."""
    if request.iso == "pjm":
        return PjmApi.from_env(http, today=today)
    if request.source == "mis":
        return ErcotMis(http)
    return ErcotApi.from_env(http, archive_before=archive_before)


def finish(request: FetchRequest, report: FetchReport, out: TextIO) -> int:
    """Print the summary; raise ``DataError`` listing what is missing, else return 0."""
    print(
        f"fetched {report.rows} rows of {request.iso} {request.market} "
        f"{','.join(request.nodes)} {request.start}..{request.end} "
        f"({report.chunks - len(report.failed)} of {report.chunks} chunks stored)",
        file=out,
    )
    if report.complete:
        return 0
    lines = [f"failed {item}" for item in report.failed]
    lines += [f"no rows for {item}" for item in report.empty]
    shown = " | ".join(lines[:MAX_LISTED])
    if len(lines) > MAX_LISTED:
        shown += f" | and {len(lines) - MAX_LISTED} more (logged above)"
    raise DataError(
        f"{len(lines)} part(s) missing: {shown}; completed chunks were stored, "
        f"run the same command again to retry the rest"
    )


def validate(request: FetchRequest) -> None:
    """Reject requests no source can serve, before any network traffic."""
    if request.end < request.start:
        raise ConfigError(f"--end {request.end} is before --start {request.start}")
    if not request.nodes:
        raise ConfigError("--node is empty; give one or more comma-separated node names")
    if request.iso == "pjm" and request.source != "api":
        raise ConfigError("--source mis is ERCOT only; PJM data comes from Data Miner 2 (api)")


def check_series(frame: pl.DataFrame, request: FetchRequest, queries: list[str]) -> None:
    """Raise if a source returned prices of another ISO or market than requested."""
    found = frame.select("iso", "market").unique().rows()
    wrong = [pair for pair in found if pair != (request.iso, request.market)]
    if wrong:
        raise DataError(
            f"{queries[-1] if queries else request.iso} returned {wrong[0][0]} {wrong[0][1]} "
            f"prices where {request.iso} {request.market} were requested; the base URL points "
            f"at the wrong feed"
        )


def parse_nodes(text: str) -> tuple[str, ...]:
    """Comma-separated node names, upper-cased with inner blanks collapsed, duplicates dropped."""
    names = (" ".join(part.upper().split()) for part in text.split(","))
    return tuple(dict.fromkeys(name for name in names if name))
