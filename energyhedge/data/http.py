"""One HTTP client for all ISO fetchers: timeouts, bounded retries, clear errors, no leaked secrets.

Retries (exponential backoff with jitter, or the server's ``Retry-After``) cover HTTP 429, any
5xx, timeouts, dropped connections and bodies cut off before their declared length. Every error
message and log line passes through :meth:`HttpClient.redact`, which replaces each registered
secret (API keys, passwords, tokens) with ``***``, so credentials never reach a terminal or a log.
"""

from __future__ import annotations

import email.utils
import io
import json
import logging
import random
import time
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import requests

from energyhedge.errors import DataError

log = logging.getLogger(__name__)


class CredentialsRejectedError(DataError):
    """The server refused the credentials (HTTP 401/403); retrying other chunks cannot help."""


class HttpClient:
    """A ``requests.Session`` wrapper with retries, time bounds and secret redaction.

    Parameters
    ----------
    connect_timeout_s, read_timeout_s
        Per-attempt socket timeouts in seconds.
    max_attempts
        Attempts per request, including the first.
    max_total_s
        Upper bound in seconds on the time one request may spend including waits between
        attempts; a wait that would pass it ends the request with a ``DataError``.
    backoff_s, backoff_cap_s
        First wait and largest wait in seconds; waits double per attempt and are scaled by a
        random factor in [0.5, 1.5) (jitter) unless the server sent ``Retry-After``.
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
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.max_attempts = max(1, int(max_attempts))
        self.max_total_s = max_total_s
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.session = session or requests.Session()
        self._secrets: set[str] = set()
        self.attempts = 0  # total attempts made, across all requests (for reports and tests)

    def add_secrets(self, values: Iterable[str | None]) -> None:
        """Register values that must never appear in an error message or log line."""
        self._secrets.update(v for v in values if v)

    def redact(self, text: str) -> str:
        """``text`` with every registered secret replaced by ``***``."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def describe(self, method: str, url: str, params: dict[str, Any] | None = None) -> str:
        """``METHOD url?query`` as sent, secrets redacted (for messages and provenance)."""
        prepared = requests.Request(method, url, params=params).prepare()
        return self.redact(f"{method} {prepared.url}")

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
    ) -> requests.Response:
        """Send one request, retrying transient failures; return the 2xx response.

        Raises
        ------
        CredentialsRejectedError
            On a status in ``auth_statuses`` (default 401 and 403).
        DataError
            On any other non-2xx status, or when attempts or time run out.
        """
        what = self.describe(method, url, params)
        started = self.clock()
        for attempt in range(1, self.max_attempts + 1):
            self.attempts += 1
            retry_after: float | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    headers=headers,
                    data=data,
                    json=json_body,
                    timeout=self.timeout,
                )
            except (
                requests.Timeout,
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,  # body cut off mid-transfer
            ) as exc:
                problem = _network_problem(exc)
            else:
                if 200 <= response.status_code < 300:
                    return response
                problem = f"HTTP {response.status_code} {response.reason}"
                if not _retryable(response.status_code):
                    self._raise_status(what, response, hint, auth_statuses)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            elapsed = self.clock() - started
            if attempt == self.max_attempts or elapsed + wait > self.max_total_s:
                break
            log.warning(
                "%s failed (%s); attempt %d of %d, retrying in %.1f s",
                what,
                self.redact(problem),
                attempt,
                self.max_attempts,
                wait,
            )
            self.sleep(wait)
        raise DataError(
            f"{what} failed after {attempt} attempt(s): {self.redact(problem)}; "
            f"the service is unavailable or throttling, try again later{_join(hint)}"
        )

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET (or ``method=``) and decode a JSON body; a non-JSON body is a ``DataError``."""
        method = kwargs.pop("method", "GET")
        response = self.request(method, url, **kwargs)
        try:
            return json.loads(response.content)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(
                f"{self.describe(method, url, kwargs.get('params'))} returned "
                f"{self.redact(_body_summary(response))} where JSON was expected ({exc}); the "
                f"service or a proxy in between sent an error page, check the base URL and try "
                f"again later"
            ) from None

    def get_zip(self, url: str, **kwargs: Any) -> zipfile.ZipFile:
        """GET (or ``method=``) a zip archive and verify every member's checksum."""
        method = kwargs.pop("method", "GET")
        response = self.request(method, url, **kwargs)
        return open_zip(response.content, self.describe(method, url, kwargs.get("params")))

    def _backoff(self, attempt: int) -> float:
        base = min(self.backoff_cap_s, self.backoff_s * 2 ** (attempt - 1))
        return base * (0.5 + self.rng())

    def _raise_status(
        self, what: str, response: requests.Response, hint: str, auth_statuses: tuple[int, ...]
    ) -> None:
        detail = self.redact(_body_summary(response))
        message = f"{what} was refused: HTTP {response.status_code} {response.reason} ({detail})"
        if response.status_code in auth_statuses:
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


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _body_summary(response: requests.Response) -> str:
    kind = response.headers.get("Content-Type", "no content type")
    head = response.content[:80].decode("utf-8", errors="replace")
    return f"{kind}, {len(response.content)} bytes starting {head!r}"


def _join(hint: str) -> str:
    return f"; {hint}" if hint else ""


def _network_problem(exc: requests.RequestException) -> str:
    """The innermost cause of a network failure, in one short phrase."""
    cause: BaseException = exc
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    reason = str(cause).split("] ", 1)[-1] if isinstance(cause, OSError) else str(cause)
    return f"{type(exc).__name__}: {reason or type(cause).__name__}"
