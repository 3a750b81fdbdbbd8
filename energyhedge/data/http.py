"""One HTTP client for the ISO fetchers: time bounds, bounded retries, clear errors, no leaks.

Retries (exponential backoff with jitter, or the server's ``Retry-After``) cover HTTP 429, any
5xx, timeouts, dropped connections and bodies cut off before their declared length. A refused
connection is tried once more, a host name that does not resolve not at all: both stop the
whole fetch (:class:`UnreachableError`). Bodies are streamed and the clock is checked between
reads, so a server that drips bytes is bounded by the same deadline as one that hangs.

Redirects are followed by hand: within the same origin, and to another origin only when the
request carries no credentials (custom headers such as ``Ocp-Apim-Subscription-Key`` would
otherwise travel with it). Every error message and log line passes through
:meth:`HttpClient.redact`, which replaces each registered secret, raw or URL-, JSON- or
base64-encoded, with ``***`` before any text is cut short.
"""

from __future__ import annotations

import base64
import builtins
import email.utils
import io
import json
import logging
import math
import os
import random
import re
import socket
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlencode, urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict

from energyhedge.errors import ConfigError, DataError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 512 * 2**20
"""Largest response body read, in bytes (a PJM archive page is about 20 MB, an MIS year 60 MB)."""
MAX_REDIRECTS = 5
READ_BYTES = 64 * 1024  # most bytes taken from the socket per read
SUMMARY_CHARS = 80  # characters of an unexpected body quoted in an error message
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


class FetchStoppedError(DataError):
    """A failure that every later request of the same fetch would repeat: stop at once."""


class CredentialsRejectedError(FetchStoppedError):
    """The server refused the credentials (HTTP 401/403); retrying other chunks cannot help."""


class UnreachableError(FetchStoppedError):
    """The host name does not resolve or nothing accepts connections on its port."""


class DeadlineError(FetchStoppedError):
    """The deadline for the whole fetch passed."""


@dataclass(frozen=True)
class Answer:
    """A complete HTTP response: status, headers and the decoded body bytes."""

    status: int
    reason: str
    headers: CaseInsensitiveDict
    content: bytes


@dataclass(frozen=True)
class _Call:
    """What one request sends."""

    method: str
    url: str
    params: dict[str, Any] | None
    headers: dict[str, str] | None
    data: dict[str, str] | None
    json_body: Any

    def redirected(self, target: str, status: int) -> _Call:
        """The request a redirect with ``status`` to ``target`` asks for (303: GET, no body)."""
        if status == 303 or (status in (301, 302) and self.method == "POST"):
            return _Call("GET", target, None, self.headers, None, None)
        return _Call(self.method, target, None, self.headers, self.data, self.json_body)


class _Failure(Exception):
    """A failed attempt: ``kind`` is dns, refused, timeout, decode, broken or status."""

    def __init__(self, kind: str, phrase: str) -> None:
        super().__init__(phrase)
        self.kind = kind
        self.phrase = phrase


class HttpClient:
    """A ``requests.Session`` wrapper with retries, time bounds and secret redaction.

    Parameters
    ----------
    connect_timeout_s, read_timeout_s
        Per-attempt socket timeouts in seconds (the read timeout bounds each wait for bytes).
    max_attempts
        Attempts per request, including the first.
    max_total_s
        Upper bound in seconds on the time one request may spend, waits between attempts
        included; reaching it ends the request with a ``DataError``.
    backoff_s, backoff_cap_s
        First wait and largest wait in seconds; waits double per attempt and are scaled by a
        random factor in [0.5, 1.5) (jitter) unless the server sent ``Retry-After``.
    max_body_bytes
        Largest response body accepted, in bytes.
    sleep, clock, rng
        Injected ``time.sleep``, ``time.monotonic`` and ``random.random`` (tests pass fakes).
    """

    def __init__(
        self,
        *,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        max_attempts: int = 6,
        max_total_s: float = 600.0,
        backoff_s: float = 1.0,
        backoff_cap_s: float = 60.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        session: requests.Session | None = None,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_attempts = max(1, int(max_attempts))
        self.max_total_s = max_total_s
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.max_body_bytes = max_body_bytes
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.session = session or requests.Session()
        self.deadline_s: float | None = None
        self._deadline_at = math.inf
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.attempts = 0  # total attempts made, across all requests (for reports and tests)

    def start_deadline(self, seconds: float) -> None:
        """Bound every later request to end within ``seconds`` from now (one fetch command)."""
        self.deadline_s = seconds
        self._deadline_at = self.clock() + seconds

    def add_secrets(self, values: Iterable[str | None]) -> None:
        """Register values that must never appear in an error message or log line."""
        self._secrets.update(v for v in values if v)
        variants = sorted({v for s in self._secrets for v in _encodings(s)}, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(map(re.escape, variants)), re.IGNORECASE) if variants else None
        )

    def redact(self, text: str) -> str:
        """``text`` with every registered secret, in any of its encodings, replaced by ``***``."""
        return self._pattern.sub("***", text) if self._pattern else text

    def excerpt(self, text: str | bytes, limit: int = SUMMARY_CHARS) -> str:
        """The first ``limit`` characters of ``text`` (bytes are read as UTF-8), redacted first.

        Redaction runs on a window that grows until it holds the whole text or ends far enough
        past the cut that a secret crossing the window's end cannot reach the excerpt.
        """
        longest = max((len(v) for s in self._secrets for v in _encodings(s)), default=0)
        size = 4 * (limit + longest)
        while True:
            window = text[:size]
            shown = window.decode("utf-8", "replace") if isinstance(window, bytes) else window
            redacted = self.redact(shown)
            if len(window) == len(text) or len(redacted) >= limit + longest:
                return redacted[:limit]
            size *= 2

    def describe(self, method: str, url: str, params: dict[str, Any] | None = None) -> str:
        """``METHOD url?query`` as sent, secrets redacted (for messages and provenance)."""
        try:
            shown = requests.Request(method, url, params=params).prepare().url
        except (requests.RequestException, ValueError):
            shown = f"{url}?{urlencode(params)}" if params else url
        return self.redact(f"{method} {shown}")

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        json_body: Any = None,
        hint: str = "",
        auth_statuses: tuple[int, ...] = (401, 403),
    ) -> Answer:
        """Send one request, retrying transient failures; return the 2xx answer.

        Raises
        ------
        CredentialsRejectedError
            On a status in ``auth_statuses`` (default 401 and 403).
        UnreachableError
            When the host name does not resolve, or connections are refused twice.
        DeadlineError
            When the deadline set by :meth:`start_deadline` passes.
        DataError
            On any other non-2xx status, a bad redirect or body, or when attempts or the
            per-request time bound run out.
        ConfigError
            When the URL or a header cannot be sent at all.
        """
        what = self.describe(method, url, params)
        call = _Call(method, url, params, headers, data, json_body)
        started = self.clock()
        limit_at = min(self._deadline_at, started + self.max_total_s)
        for attempt in range(1, self.max_attempts + 1):
            if self.clock() >= limit_at:
                self._out_of_time(what, limit_at, attempt - 1, "")
            self.attempts += 1
            try:
                answer = self._exchange(call, limit_at)
            except _Failure as failure:
                problem = self.redact(failure.phrase)
                last = attempt >= min(2, self.max_attempts)
                if failure.kind == "dns" or (failure.kind == "refused" and last):
                    raise UnreachableError(f"{what}: {problem}") from None
                if failure.kind == "decode":
                    raise DataError(f"{what} returned {problem}; try again later") from None
                wait = None
            else:
                if 200 <= answer.status < 300:
                    return answer
                problem = f"HTTP {answer.status} {answer.reason}"
                if not _retryable(answer.status):
                    self._raise_status(what, answer, hint, auth_statuses)
                wait = parse_retry_after(answer.headers.get("Retry-After"))
            if attempt == self.max_attempts:
                break
            if wait is None:
                wait = self._backoff(attempt)
            if self.clock() + wait >= limit_at:
                self._out_of_time(what, limit_at, attempt, problem)
            log.info(
                "%s failed (%s); attempt %d of %d, retrying in %.1f s",
                what,
                problem,
                attempt,
                self.max_attempts,
                wait,
            )
            self.sleep(wait)
        raise DataError(
            f"{what} failed after {attempt} attempt(s): {problem}; "
            f"the service is unavailable or throttling, try again later{_join(hint)}"
        )

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET (or ``method=``) and decode a JSON body; a non-JSON body is a ``DataError``."""
        method = kwargs.pop("method", "GET")
        answer = self.request(method, url, **kwargs)
        try:
            return json.loads(answer.content)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise DataError(
                f"{self.describe(method, url, kwargs.get('params'))} returned "
                f"{self._body_summary(answer)} where JSON was expected ({reason}); the "
                f"service or a proxy in between sent an error page, check the base URL and try "
                f"again later"
            ) from None

    def get_zip(self, url: str, **kwargs: Any) -> zipfile.ZipFile:
        """GET (or ``method=``) a zip archive and verify every member's checksum."""
        method = kwargs.pop("method", "GET")
        answer = self.request(method, url, **kwargs)
        return open_zip(answer.content, self.describe(method, url, kwargs.get("params")))

    def _exchange(self, call: _Call, limit_at: float) -> Answer:
        """One attempt: send, follow allowed redirects, read the whole body before ``limit_at``."""
        what = self.describe(call.method, call.url, call.params)
        visited = set()
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(call, limit_at)
            with response:
                location = response.headers.get("Location")
                if not (response.is_redirect and location):
                    return Answer(
                        response.status_code,
                        response.reason or "",
                        response.headers,
                        self._read_body(response, limit_at),
                    )
                here = response.url
            target = urljoin(here, location)
            visited.add(here)
            if target in visited:
                raise DataError(
                    f"{what} redirects in a loop (back to {self.redact(target)}); "
                    f"check the base URL"
                )
            if not same_origin(target, here) and self._carries_secrets(call):
                raise DataError(
                    f"{what} redirects to another origin ({_origin(target)}); credentials are "
                    f"never sent there, check the base URL"
                )
            call = call.redirected(target, response.status_code)
        raise DataError(f"{what} redirected more than {MAX_REDIRECTS} times; check the base URL")

    def _send(self, call: _Call, limit_at: float) -> requests.Response:
        remaining = max(limit_at - self.clock(), 0.001)
        try:
            return self.session.request(
                call.method,
                call.url,
                params=call.params,
                headers=call.headers,
                data=call.data,
                json=call.json_body,
                timeout=(
                    min(self.connect_timeout_s, remaining),
                    min(self.read_timeout_s, remaining),
                ),
                allow_redirects=False,
                stream=True,
            )
        except (requests.exceptions.InvalidHeader, UnicodeEncodeError):
            raise ConfigError(
                f"{self.describe(call.method, call.url, call.params)}: a request header holds a "
                f"character that cannot be sent (a line break or a non-ASCII letter); check the "
                f"API key variables"
            ) from None
        except (
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidURL,
        ) as exc:
            raise ConfigError(
                f"{self.describe(call.method, call.url, call.params)}: not a usable http(s) URL "
                f"({self.redact(str(exc))}); check the base URL"
            ) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _classify(exc, call.url) from None

    def _read_body(self, response: requests.Response, limit_at: float) -> bytes:
        """The decoded body, read in pieces with the clock checked (and the timeout cut) between."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise DataError(self._too_large(response, int(declared)))
        sock = getattr(response.raw.connection, "sock", None)
        body = bytearray()
        try:
            while True:
                remaining = limit_at - self.clock()
                if remaining <= 0:
                    raise _Failure("timeout", f"body not complete after {len(body)} bytes")
                if sock is not None:
                    sock.settimeout(min(self.read_timeout_s, remaining))
                part = response.raw.read1(READ_BYTES, decode_content=True)
                if not part:
                    return bytes(body)
                body += part
                if len(body) > self.max_body_bytes:
                    raise DataError(self._too_large(response, len(body)))
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _classify(exc, response.url) from None

    def _too_large(self, response: requests.Response, size: int) -> str:
        return (
            f"{self.describe(response.request.method or 'GET', response.url)} sent a body of "
            f"{size} bytes or more, above the {self.max_body_bytes} accepted; fetch fewer days "
            f"or nodes"
        )

    def _carries_secrets(self, call: _Call) -> bool:
        """True when the headers or form hold a credential (these must stay on their origin)."""
        headers, form = call.headers or {}, call.data or {}
        if any(name.lower() in CREDENTIAL_HEADERS for name in headers):
            return True
        return any(self.redact(str(v)) != str(v) for v in [*headers.values(), *form.values()])

    def _out_of_time(self, what: str, limit_at: float, attempts: int, problem: str) -> None:
        """Raise: the request cannot finish before ``limit_at`` (the fetch's or its own bound)."""
        made = f"{attempts} attempt(s) made" + (f", last problem: {problem}" if problem else "")
        if limit_at >= self._deadline_at:
            raise DeadlineError(
                f"{what} could not finish within the {self.deadline_s:g} s deadline of the "
                f"fetch ({made})"
            )
        raise DataError(
            f"{what} could not finish within its {self.max_total_s:g} s bound ({made}); the "
            f"service is slow or unavailable, try again later"
        )

    def _backoff(self, attempt: int) -> float:
        base = min(self.backoff_cap_s, self.backoff_s * 2 ** (attempt - 1))
        return base * (0.5 + self.rng())

    def _body_summary(self, answer: Answer) -> str:
        kind = answer.headers.get("Content-Type", "no content type")
        head = self.excerpt(answer.content)
        return f"{kind}, {len(answer.content)} bytes starting {head!r}"

    def _raise_status(
        self, what: str, answer: Answer, hint: str, auth_statuses: tuple[int, ...]
    ) -> None:
        detail = self._body_summary(answer)
        message = f"{what} was refused: HTTP {answer.status} {answer.reason} ({detail})"
        if answer.status in auth_statuses:
            raise CredentialsRejectedError(f"{message}; the credentials were rejected{_join(hint)}")
        raise DataError(f"{message}; check the node names and dates{_join(hint)}")


def open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """Open ``data`` as a zip and test every member; a damaged archive is a ``DataError``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DataError(
            f"{what} returned a damaged or truncated zip ({len(data)} bytes: {exc}); "
            f"the download was cut off, run the same command again"
        ) from None
    if bad is not None:
        raise DataError(
            f"{what} returned a zip whose member {bad!r} fails its checksum; "
            f"the download was corrupted, run the same command again"
        )
    return archive


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def same_origin(a: str, b: str) -> bool:
    """True when URLs ``a`` and ``b`` share scheme, host and port."""
    return _origin(a) == _origin(b)


def env_secret(name: str, *, header: bool) -> str:
    """Environment variable ``name`` without surrounding blanks or line breaks ("" when unset).

    With ``header``, the value travels in an HTTP header and must be visible ASCII; anything
    else (a pasted line break inside, a non-ASCII letter) is a ``ConfigError`` that names the
    variable and never shows the value.
    """
    value = os.environ.get(name, "").strip()
    if header and not header_safe(value):
        raise ConfigError(
            f"{name} holds a character that cannot be sent in an HTTP header (a blank, a line "
            f"break or a non-ASCII letter); copy the key again and set {name} to it alone"
        )
    return value


def header_safe(value: str) -> bool:
    """True when ``value`` is visible ASCII only, as an API key or token in a header must be."""
    return all(0x21 <= ord(c) <= 0x7E for c in value)


def env_base_url(name: str, default: str) -> str:
    """Base URL from environment variable ``name`` (or ``default``); must be http(s) with a host."""
    url = os.environ.get(name, "").strip() or default
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = "" if "@" in url else f" ({url!r})"
        raise ConfigError(
            f"{name}{shown} is not an http:// or https:// URL with a host; set it like {default}"
        )
    return url.rstrip("/")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _encodings(secret: str) -> set[str]:
    """``secret`` as text may carry it: raw, URL-encoded, JSON-escaped, base64."""
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        b64,
        b64.rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _join(hint: str) -> str:
    return f"; {hint}" if hint else ""


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions behind it (cause, context or urllib3 reason), outermost first."""
    chain = [exc]
    while len(chain) < 20:
        current = chain[-1]
        behind = current.__cause__ or current.__context__ or getattr(current, "reason", None)
        if behind is None and current.args and isinstance(current.args[0], BaseException):
            behind = current.args[0]
        if not isinstance(behind, BaseException) or behind in chain:
            break
        chain.append(behind)
    return chain


def _classify(exc: BaseException, url: str) -> _Failure:
    """The kind of a network failure and one short phrase naming its innermost cause."""
    chain = _chain(exc)
    host = urlsplit(url).hostname or url
    if any(isinstance(e, socket.gaierror) for e in chain):
        return _Failure(
            "dns",
            f"DNS failure: the host name {host!r} could not be resolved "
            f"({_innermost(chain)}); check the base URL and the network's name resolution",
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return _Failure(
            "refused",
            f"connection refused by {_origin(url).split('://', 1)[1]} (nothing listens there); "
            f"check the base URL and that the service is up",
        )
    timeouts = (requests.Timeout, urllib3.exceptions.ReadTimeoutError, builtins.TimeoutError)
    if any(isinstance(e, timeouts) for e in chain):
        return _Failure("timeout", f"{type(exc).__name__}: {_innermost(chain)}")
    decoding = (urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError)
    if any(isinstance(e, decoding) for e in chain):
        return _Failure(
            "decode", f"a body that does not match its Content-Encoding ({_innermost(chain)})"
        )
    return _Failure("broken", f"{type(exc).__name__}: {_innermost(chain)}")


def _innermost(chain: list[BaseException]) -> str:
    """The message of the innermost exception that has one, without an ``[Errno n]`` prefix."""
    cause = next((e for e in reversed(chain) if str(e)), chain[-1])
    reason = str(cause).split("] ", 1)[-1] if isinstance(cause, OSError) else str(cause)
    return reason or type(cause).__name__
