"""The HTTP transport under the SDK's client: retries, counting, and auth signals.

The SDK sends each request once and has no notion of 5xx, 429 or a dropped connection,
so this transport (handed to `tastytrade.Session` as `transport=`) retries what is safe
to retry: every GET (ttai is read-only) and the OAuth token request, on 5xx, 429
(honouring Retry-After), timeouts, refused connections and dropped connections, with
exponential backoff and full jitter. It also notes what the SDK's errors hide: that the
API answered 401 (the access token died, so the broker refreshes and tries again), or
that the token endpoint said `invalid_grant` (the refresh token itself is dead).

Imported only by the broker: it needs httpx2, which comes with the SDK.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx2

from ttai_cli import logs
from ttai_cli.broker.models import BrokerStats

log = logs.get("broker")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_EXCEPTIONS = (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)
TOKEN_PATH = "/oauth/token"


@dataclass
class RetryPolicy:
    """How hard to try one request. `sleep` is injectable so tests never wait."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[float, float], float] = field(default=random.uniform)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, base * 2**attempt], capped."""
        return self.jitter(0, min(self.max_delay, self.base_delay * 2**attempt))


class ResilientTransport(httpx2.AsyncBaseTransport):
    def __init__(
        self, inner: httpx2.AsyncBaseTransport, policy: RetryPolicy, stats: BrokerStats
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.stats = stats
        self.unauthorized = False  # a request (other than the token one) got a 401
        self.invalid_grant = False  # the token endpoint rejected the refresh token
        self.last_failure: str | None = None  # e.g. "503 for GET /accounts/…/positions"

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        retryable = request.method == "GET" or request.url.path == TOKEN_PATH
        attempt = 0
        while True:
            self.stats.requests += 1
            self.stats.by_path[request.url.path] += 1
            if request.url.path == TOKEN_PATH:
                self.stats.token_refreshes += 1
            try:
                response = await self.inner.handle_async_request(request)
            except RETRY_EXCEPTIONS as exc:
                self.last_failure = f"{_describe(exc)} for {request.method} {request.url.path}"
                if not retryable or attempt + 1 >= self.policy.attempts:
                    raise
                delay = self.policy.backoff(attempt)
            else:
                await self._note(request, response)
                if not retryable or response.status_code not in RETRY_STATUSES:
                    return response
                self.last_failure = (
                    f"HTTP {response.status_code} for {request.method} {request.url.path}"
                )
                if attempt + 1 >= self.policy.attempts:
                    return response
                asked = self._retry_after(response) if response.status_code == 429 else None
                if asked is not None and asked > self.policy.max_retry_after:
                    return response
                delay = self.policy.backoff(attempt) if asked is None else asked
                await response.aclose()
            attempt += 1
            self.stats.retries += 1
            log.info(
                "retrying %s %s in %.2fs (%s)",
                request.method,
                request.url.path,
                delay,
                self.last_failure,
            )
            await self.policy.sleep(delay)

    async def _note(self, request: httpx2.Request, response: httpx2.Response) -> None:
        if response.status_code < 400:
            return
        if request.url.path == TOKEN_PATH:
            body = await response.aread()
            if b"invalid_grant" in body:
                self.invalid_grant = True
        elif response.status_code == 401:
            self.unauthorized = True

    @staticmethod
    def _retry_after(response: httpx2.Response) -> float | None:
        raw = response.headers.get("Retry-After")
        if raw is None:
            return None
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None  # an HTTP-date; fall back to our own backoff

    # The broker owns the inner transport's lifecycle (`async with` it). The SDK opens a
    # second client on this same transport for the DXLink streamer and closes that client
    # when the stream ends; that must not close the connections the session still uses.
    async def __aenter__(self) -> ResilientTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx2.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx2.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "connection dropped"
    return exc.__class__.__name__
