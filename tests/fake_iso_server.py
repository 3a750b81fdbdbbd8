"""A local HTTP server that stands in for the ISO APIs in tests (127.0.0.1, random port).

Routes map (method, path) to a handler ``handler(request) -> Reply``. ``fail_first`` queues
replies (a 429, a 500, a garbage body) served before the handler for the next calls of a route;
``inject`` serves a fault to the requests a predicate picks until ``clear_faults``. A reply can
also misbehave on the wire: hang before answering, drip its body, stall or reset mid-body.
Every request is recorded with its query, headers and body so tests can assert what was sent.

Stand-ins for the services: :class:`DataMiner` (PJM Data Miner 2), :class:`ErcotPublicApi`
(token service, query and archive endpoints) and :class:`ErcotMisArchive` (annual files).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import struct
import threading
import zipfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo


@dataclass
class Reply:
    """One HTTP response and how it is sent.

    ``delay_s``: wait this long before the status line (a hung server); ``reset``: reset the
    connection instead of answering; ``drip_s``: send the body one byte at a time with this
    pause; ``stall_after``/``reset_after``: send this many body bytes, then stall until the
    server stops, or reset the connection.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    reset: bool = False
    drip_s: float = 0.0
    stall_after: int | None = None
    reset_after: int | None = None

    @classmethod
    def json(cls, doc: object, status: int = 200) -> Reply:
        return cls(status, json.dumps(doc).encode(), {"Content-Type": "application/json"})


@dataclass
class Received:
    """One request as the server saw it; ``query`` and ``form`` hold the last value per name."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


class FakeIsoServer:
    """Serve scripted ISO responses on a background thread; use as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[Received], Reply]] = {}
        self.queued: dict[tuple[str, str], deque[Reply]] = {}
        self.faults: list[tuple[str, str, Callable[[Received], bool], Callable[[Received], Reply]]]
        self.faults = []
        self.received: list[Received] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def route(self, method: str, path: str, handler: Callable[[Received], Reply]) -> None:
        self.routes[(method, path)] = handler

    def fail_first(self, method: str, path: str, *replies: Reply) -> None:
        self.queued.setdefault((method, path), deque()).extend(replies)

    def inject(
        self,
        method: str,
        path: str,
        when: Callable[[Received], bool],
        reply: Callable[[Received], Reply],
    ) -> None:
        """Answer requests of the route that ``when`` picks with ``reply(request)`` instead."""
        self.faults.append((method, path, when, reply))

    def clear_faults(self) -> None:
        self.faults.clear()
        self.queued.clear()

    def calls(self, method: str, path: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path == path]

    def __enter__(self) -> FakeIsoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # releases hung, stalled and dripping replies
        self._server.shutdown()
        self._server.server_close()

    def _dispatch(self, request: Received) -> Reply:
        key = (request.method, request.path)
        with self._lock:
            self.received.append(request)
            queue = self.queued.get(key)
            if queue:
                return queue.popleft()
            fault = next(
                (f for m, p, when, f in self.faults if (m, p) == key and when(request)), None
            )
        if fault is not None:
            return fault(request)
        handler = self.routes.get(key)
        if handler is None:
            return Reply(404, b"no such route")
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    self.command,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    dict(self.headers.items()),
                    self.rfile.read(length),
                )
                reply = server._dispatch(request)
                if reply.delay_s and server.stopping.wait(reply.delay_s):
                    return
                if reply.reset:
                    self._reset()
                    return
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (timeout tests)
                    self._send_body(reply)

            def _send_body(self, reply: Reply) -> None:
                cut = reply.stall_after if reply.stall_after is not None else reply.reset_after
                if reply.drip_s:
                    for k in range(len(reply.body)):
                        self.wfile.write(reply.body[k : k + 1])
                        self.wfile.flush()
                        if server.stopping.wait(reply.drip_s):
                            return
                elif cut is None:
                    self.wfile.write(reply.body)
                else:
                    self.wfile.write(reply.body[:cut])
                    self.wfile.flush()
                    if reply.stall_after is not None:
                        server.stopping.wait(60)
                    else:
                        self._reset()

            def _reset(self) -> None:
                """Close with SO_LINGER 0: the peer sees a connection reset."""
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                os.close(self.connection.detach())

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler


class _QuietServer(ThreadingHTTPServer):
    """Handler threads do not block shutdown; a client that went away is not an error."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive holding ``members`` (name -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def days(first: date, last: date) -> list[date]:
    """Every day ``first``..``last`` inclusive."""
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def price(day: date, hour: int, step: int = 0) -> float:
    """A deterministic price in $/MWh for hour ``hour`` (0-23) and step ``step`` of ``day``."""
    return round(20 + day.day + hour + step * 0.25, 2)


class DataMiner:
    """PJM Data Miner 2 stand-in: hourly day-ahead LMPs of the asked pnodes for the EPT days.

    Pages hold ``rowCount`` rows, at most ``page_cap``; each page but the last links the next.
    """

    path = "/api/v1/da_hrl_lmps"

    def __init__(self, server: FakeIsoServer, *, pnodes: dict[int, str], page_cap: int = 0):
        self.server = server
        self.pnodes = pnodes
        self.page_cap = page_cap
        server.route("GET", self.path, self.handle)

    def rows(self, request: Received) -> list[dict]:
        first, last = (
            datetime.strptime(part.split()[0], "%m/%d/%Y").date()
            for part in request.query["datetime_beginning_ept"].split("to")
        )
        wanted = request.query.get("pnode_id")
        ids = [int(i) for i in wanted.split(";")] if wanted else list(self.pnodes)
        eastern = ZoneInfo("America/New_York")
        out = []
        for day in days(first, last):
            for hour in range(24):
                start = datetime(day.year, day.month, day.day, hour, tzinfo=eastern)
                for pnode in ids:
                    out.append(
                        {
                            "datetime_beginning_utc": f"{start.astimezone(UTC):%Y-%m-%dT%H:%M:%S}",
                            "datetime_beginning_ept": f"{start:%Y-%m-%dT%H:%M:%S}",
                            "pnode_id": pnode,
                            "pnode_name": self.pnodes[pnode],
                            "type": "HUB",
                            "system_energy_price_da": 30.0,
                            "total_lmp_da": price(day, hour),
                            "congestion_price_da": 0.0,
                            "marginal_loss_price_da": 0.0,
                            "row_is_current": True,
                            "version_nbr": 1,
                        }
                    )
        return out

    def page(self, request: Received, rows: list[dict], total: int | None = None) -> dict:
        """The answer to ``request`` over ``rows``: its slice, ``totalRows`` and links."""
        first = int(request.query["startRow"])
        count = int(request.query["rowCount"])
        if self.page_cap:
            count = min(count, self.page_cap)
        items = rows[first - 1 : first - 1 + count]
        links = [{"rel": "self", "href": self.href(request, first)}]
        if first - 1 + len(items) < len(rows):
            links.append({"rel": "next", "href": self.href(request, first + len(items))})
        return {"items": items, "totalRows": len(rows) if total is None else total, "links": links}

    def href(self, request: Received, start_row: int) -> str:
        return f"{self.server.url}{self.path}?{urlencode({**request.query, 'startRow': start_row})}"

    def handle(self, request: Received) -> Reply:
        return Reply.json(self.page(request, self.rows(request)))


class ErcotPublicApi:
    """ERCOT public API stand-in: token service, RTM query endpoint and DAM archive.

    Query pages hold ``size`` rows, at most ``page_cap``; archive listings hold at most
    ``listing_cap`` documents per page (one document per DAM delivery day).
    """

    token_path = "/token"
    query_path = "/api/np6-905-cd/spp_node_zone_hub"
    listing_path = "/api/archive/np4-190-cd"
    download_path = "/api/archive/np4-190-cd/download"

    def __init__(
        self, server: FakeIsoServer, *, id_token: str, page_cap: int = 0, listing_cap: int = 1
    ):
        self.server = server
        self.page_cap = page_cap
        self.listing_cap = listing_cap
        server.route("POST", self.token_path, lambda r: Reply.json({"id_token": id_token}))
        server.route("GET", self.query_path, self.handle_query)
        server.route("GET", self.listing_path, self.handle_listing)
        server.route("POST", self.download_path, self.handle_download)

    def query_rows(self, request: Received) -> list[list]:
        first = date.fromisoformat(request.query["deliveryDateFrom"])
        last = date.fromisoformat(request.query["deliveryDateTo"])
        node = request.query["settlementPoint"]
        return [
            [f"{day}", hour + 1, step + 1, node, "HU", price(day, hour, step), False]
            for day in days(first, last)
            for hour in range(24)
            for step in range(4)
        ]

    def query_page(self, request: Received, rows: list[list], **meta: int) -> dict:
        size = int(request.query["size"])
        if self.page_cap:
            size = min(size, self.page_cap)
        page = int(request.query["page"])
        fields = [
            {"name": n}
            for n in (
                "deliveryDate",
                "deliveryHour",
                "deliveryInterval",
                "settlementPointName",
                "settlementPointType",
                "settlementPointPrice",
                "DSTFlag",
            )
        ]
        announced = {
            "totalRecords": len(rows),
            "pageSize": size,
            "totalPages": -(-len(rows) // size),
            "currentPage": page,
            **meta,
        }
        return {"_meta": announced, "fields": fields, "data": rows[(page - 1) * size : page * size]}

    def handle_query(self, request: Received) -> Reply:
        return Reply.json(self.query_page(request, self.query_rows(request)))

    @staticmethod
    def doc_id(day: date) -> int:
        return int(f"{day:%Y%m%d}")

    def listing(self, request: Received) -> list[dict]:
        """Documents posted in the window: the DAM of day D is posted at 12:30 on D - 1."""
        lo = datetime.fromisoformat(request.query["postDatetimeFrom"])
        hi = datetime.fromisoformat(request.query["postDatetimeTo"])
        posted = (lo + timedelta(days=k) for k in range((hi - lo).days + 2))
        return [
            {
                "docId": self.doc_id(p.date() + timedelta(days=1)),
                "postDatetime": f"{p:%Y-%m-%d}T12:30:00",
            }
            for p in posted
            if lo <= datetime(p.year, p.month, p.day, 12, 30) <= hi
        ]

    def handle_listing(self, request: Received) -> Reply:
        docs = self.listing(request)
        page = int(request.query["page"])
        size = self.listing_cap
        return Reply.json(
            {
                "_meta": {"totalRecords": len(docs), "totalPages": -(-len(docs) // size)},
                "archives": docs[(page - 1) * size : page * size],
            }
        )

    def handle_download(self, request: Received) -> Reply:
        members = {}
        for doc_id in json.loads(request.body)["docIds"]:
            day = datetime.strptime(str(doc_id), "%Y%m%d").date()
            members[f"{doc_id}.zip"] = zip_bytes({f"cdr.{doc_id}.DAMSPNP4190.csv": dam_csv([day])})
        return Reply(200, zip_bytes(members), {"Content-Type": "application/zip"})


class ErcotMisArchive:
    """ERCOT MIS stand-in: one annual DAM file per year of ``days``, holding those days."""

    listing_path = "/misapp/servlets/IceDocListJsonWS"
    download_path = "/misdownload/servlets/mirDownload"

    def __init__(self, server: FakeIsoServer, *, days: list[date]):
        self.days = days
        server.route("GET", self.listing_path, self.handle_listing)
        server.route("GET", self.download_path, self.handle_download)

    def handle_listing(self, request: Received) -> Reply:
        documents = [
            {
                "Document": {
                    "DocID": str(year),
                    "FriendlyName": f"DAMLZHBSPP_{year}",
                    "PublishDate": f"{year + 1}-01-02T05:00:00-06:00",
                }
            }
            for year in sorted({d.year for d in self.days})
        ]
        return Reply.json({"ListDocsByRptTypeRes": {"DocumentList": documents}})

    def handle_download(self, request: Received) -> Reply:
        year = int(request.query["doclookupId"])
        body = dam_csv([d for d in self.days if d.year == year])
        return Reply(200, zip_bytes({f"DAMLZHBSPP_{year}.csv": body}))


def dam_csv(delivery_days: list[date], nodes: tuple[str, ...] = ("HB_NORTH", "HB_SOUTH")) -> bytes:
    """An ERCOT DAM settlement point price CSV: 24 hours of ``nodes`` on each day."""
    lines = ["DeliveryDate,HourEnding,SettlementPoint,SettlementPointPrice,DSTFlag"]
    lines += [
        f"{day:%m/%d/%Y},{hour + 1:02d}:00,{node},{price(day, hour)},N"
        for day in delivery_days
        for hour in range(24)
        for node in nodes
    ]
    return ("\n".join(lines) + "\n").encode()
