"""Where notifications go.

Local outputs (`console`, `stderr`) print at once in the process that made the
notification. Remote destinations (`webhook`, `slack`, `discord`, `ntfy`, `apprise`) go
through the durable outbox: `send()` makes one attempt and says what happened, and the
outbox decides about retries.

Attempt outcomes: `sent` (2xx), `retry` (5xx, 429, timeouts, refused or dropped
connections; `retry_after` when the service said how long to wait) and `reject` (any
other 4xx: the request itself is wrong, sending it again cannot help).

Error texts never contain the URL or a secret echoed back in a response body: they say
what went wrong (the destination is shown next to them, so they do not repeat its name).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from ttai_cli.notify import formats
from ttai_cli.notify.models import Notification
from ttai_cli.redaction import redact_url, url_problem

if TYPE_CHECKING:
    import httpx

REMOTE_KINDS = ("webhook", "slack", "discord", "ntfy", "apprise")
LOCAL_KINDS = ("console", "stderr")
# Minimum seconds between two sends to one destination: Slack allows about one message
# a second per webhook, Discord five per two seconds; bursts beyond that get rejected.
# How long a notification for a destination with a malformed URL waits before the next
# try (the user may have fixed the variable by then).
BAD_URL_WAIT = 60.0
MIN_INTERVAL = {"slack": 1.0, "discord": 0.4, "ntfy": 0.2, "apprise": 0.5, "webhook": 0.0}


@dataclass(frozen=True)
class Attempt:
    outcome: str  # "sent", "retry" or "reject"
    detail: str = ""
    retry_after: float | None = None
    status: int | None = None


class RemoteDestination:
    """One remote destination kind with its URL (a secret: only `shown` is ever printed)."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self._url = url
        self.min_interval = MIN_INTERVAL.get(kind, 0.0)

    @property
    def shown(self) -> str:
        return redact_url(self._url)

    def request(self, notification: Notification) -> tuple[str, dict[str, Any], dict[str, str]]:
        """(url, JSON body, extra headers) for this service."""
        headers = {"Idempotency-Key": notification.id, "User-Agent": "ttai"}
        if self.kind == "slack":
            return self._url, formats.slack(notification), headers
        if self.kind == "discord":
            return self._url, formats.discord(notification), headers
        if self.kind == "ntfy":
            url, body = formats.ntfy(notification, self._url)
            return url, body, headers
        return self._url, notification.payload(), headers

    async def send(self, client: httpx.AsyncClient, notification: Notification) -> Attempt:
        import httpx

        url, body, headers = self.request(notification)
        problem = url_problem(url)
        if problem:
            # kept pending, so that nothing is lost while the user fixes the variable, but
            # not hammered within this flush: retrying cannot help until then
            return Attempt("retry", f"the {self.kind} URL {problem}", retry_after=BAD_URL_WAIT)
        try:
            response = await client.post(url, json=body, headers=headers)
        except httpx.TimeoutException:
            return Attempt("retry", "timed out")
        except httpx.ConnectError:
            return Attempt("retry", "connection refused or host unreachable")
        except httpx.TransportError as exc:
            return Attempt("retry", exc.__class__.__name__)
        except (httpx.InvalidURL, ValueError):  # what url_problem did not foresee
            return Attempt("retry", f"the {self.kind} URL is not valid", retry_after=BAD_URL_WAIT)
        status = response.status_code
        if 200 <= status < 300:
            return Attempt("sent", f"HTTP {status}", status=status)
        if status == 429:
            return Attempt("retry", "HTTP 429 rate limited", _retry_after(response), status)
        if status >= 500:
            return Attempt("retry", f"HTTP {status}", _retry_after(response), status)
        return Attempt("reject", f"HTTP {status} {_short_body(response)}".rstrip(), status=status)


class AppriseDestination(RemoteDestination):
    """Any of apprise's 100+ services (`pip install 'ttai-cli[apprise]'`,
    `TTAI_APPRISE_URLS`). Apprise reports only success or failure, so a failure is retried."""

    def __init__(self, urls: str) -> None:
        super().__init__("apprise", urls)

    @property
    def shown(self) -> str:
        urls = [u for u in self._url.replace(",", " ").split() if u]
        return ", ".join(u.split("://", 1)[0] + "://***" for u in urls)

    async def send(self, client: httpx.AsyncClient, notification: Notification) -> Attempt:
        import asyncio

        try:
            import apprise
        except ImportError:
            return Attempt("retry", "not installed (pip install 'ttai-cli[apprise]')")

        def deliver() -> bool:
            sender = apprise.Apprise()
            for url in self._url.replace(",", " ").split():
                sender.add(url)
            return bool(sender.notify(title=notification.title, body=notification.body))

        try:
            ok = await asyncio.to_thread(deliver)
        except Exception as exc:  # a plugin's bug must not stop the other destinations
            return Attempt("retry", f"apprise raised {exc.__class__.__name__}")
        return Attempt("sent", "delivered") if ok else Attempt("retry", "delivery failed")


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
    try:  # Discord puts it in the body, in seconds
        body = response.json()
    except ValueError:
        return None
    value = body.get("retry_after") if isinstance(body, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _short_body(response: httpx.Response) -> str:
    """The start of an error body, for the user to see why. Servers echo the request
    path back ("Cannot POST /hooks/<token>"), so registered secrets are masked first."""
    from ttai_cli.logs import redact

    return redact(" ".join(response.text.split()))[:120]


class LocalOutput:
    """`stderr`: the SPEC payload, one JSON object per line. `console`: a rich panel."""

    def __init__(self, kind: str, stream: Callable[[], TextIO] = lambda: sys.stderr) -> None:
        self.kind = kind
        self.stream = stream

    def emit(self, notification: Notification) -> None:
        out = self.stream()
        if self.kind == "stderr":
            out.write(json.dumps(notification.payload()) + "\n")
            out.flush()
            return
        from rich.console import Console
        from rich.panel import Panel
        from rich.text import Text

        style = {"alert_triggered": "bold yellow", "error": "bold red", "warning": "yellow"}.get(
            notification.notification_type, "cyan"
        )
        lines = Text(notification.body)
        for name, value in formats.key_fields(notification):
            lines.append(f"\n{name}: ", style="dim")
            lines.append(value)
        Console(file=out, highlight=False).print(
            Panel(
                lines, title=Text(notification.title, style=style), title_align="left", expand=False
            )
        )
