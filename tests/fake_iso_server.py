"""A local HTTP server that stands in for the ISO APIs in tests (127.0.0.1, random port).

Routes map (method, path) to a handler ``handler(request) -> Reply``. ``fail_first`` queues
replies (a 429, a 500, a garbage body) served before the handler for the next calls of a route.
Every request is recorded with its query, headers and body so tests can assert what was sent.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import zipfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """One HTTP response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

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
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def route(self, method: str, path: str, handler: Callable[[Received], Reply]) -> None:
        self.routes[(method, path)] = handler

    def fail_first(self, method: str, path: str, *replies: Reply) -> None:
        self.queued.setdefault((method, path), deque()).extend(replies)

    def calls(self, method: str, path: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path == path]

    def __enter__(self) -> FakeIsoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _dispatch(self, request: Received) -> Reply:
        key = (request.method, request.path)
        with self._lock:
            self.received.append(request)
            queue = self.queued.get(key)
            if queue:
                return queue.popleft()
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
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply.body)  # fails when the client gave up (timeout tests)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive holding ``members`` (name -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()
