"""The notification service: store first, print locally, deliver durably.

`enqueue()` stores a notification and a pending delivery per remote destination in the
caller's transaction; `emit_local()` prints it (console / stderr) once that committed;
`flush()` delivers what is pending. Delivery is at-least-once and in creation order per
destination:

- 2xx: sent. Another 4xx than 429: failed for good (kept, shown by `ttai notify outbox`,
  until `retry()` sends it again or `drop()` gives it up).
- 5xx, 429, timeouts, refused or dropped connections: retried within the flush with
  exponential backoff and jitter (`Retry-After` honoured up to `max_wait`), then left
  pending with a next-attempt time for a later run; later notifications for that
  destination wait behind it, so the order holds. Once it has failed
  `DeliveryPolicy.independent_after` times it holds back only its own order group (the
  same alert, position, job or briefing kind: see `order_group`), so one poisoned
  message cannot silence a destination.
- One process flushes at a time (a lock); the others leave it to that one.
- Sends to one destination are spaced by its rate limit (Slack ~1/s, Discord ~2.5/s).

Routes (`[notify.routes]` in config.toml, see `Routing`): a type with a route goes to the
backends it names (its own route, else `"*"`); a type without one goes where it did
before routes existed (TTAI_NOTIFICATION_BACKEND, `auto` by default). A route of `[]` or
`["none"]` stores the notification with no delivery (it stays in the record). Routes
choose the local outputs too, except on a terminal: when stderr is a tty a person is
watching, and the console shows every notification as without routes.
TTAI_NOTIFICATION_BACKEND=none mutes everything, routes included (the environment wins).

Quiet hours (`[notify] quiet_hours`, `quiet_allow`): a notification made during the
window whose type is not allowed through is stored with every remote delivery *held*
until the window ends, by the injected clock at the time it is stored. A held delivery
is never tried and spends no attempt; it holds back nothing (later notifications to
the same destination pass it); the first flush after the window's end sends it, in its
place in the creation order, once. Held deliveries follow the configuration in force,
not the one they were held by: at each flush, one whose type the quiet hours configured
now would not hold (turned off, the window edited, the type allowed through) goes. Local outputs print at once, quiet or not: they are
the process's own output (a terminal, a log), not a phone. `ttai notify test` ignores
routes' limits and quiet hours: it goes to every destination something can go to.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.config import Settings
from ttai_cli.config_file import FileConfig
from ttai_cli.errors import ConfigError
from ttai_cli.notify.destinations import (
    LOCAL_KINDS,
    REMOTE_KINDS,
    AppriseDestination,
    Attempt,
    LocalOutput,
    RemoteDestination,
)
from ttai_cli.notify.models import Notification
from ttai_cli.scheduling.locks import JobLock
from ttai_cli.store import Store
from ttai_cli.store.outbox import Delivery, Outbox

if TYPE_CHECKING:
    import asyncio
    import sqlite3

    import httpx

log = logs.get("notify")
FLUSH_LOCK = "notify-outbox"


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@dataclass
class DeliveryPolicy:
    attempts_per_flush: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 30.0  # the longest Retry-After waited for inside one flush
    later_base: float = 15.0  # next-attempt delay for a later run: 15 s, 30 s, 1 min, ...
    later_max: float = 1800.0
    timeout: float = 10.0
    # failed attempts after which a notification holds back only its own order group:
    # about two flushes (3 tries each), so a short outage keeps the full order
    independent_after: int = 5
    jitter: Callable[[float, float], float] = field(default=random.uniform)

    def backoff(self, attempt: int) -> float:
        return float(self.jitter(0, min(self.max_delay, self.base_delay * 2**attempt)))

    def later(self, attempts: int) -> float:
        """The wait before the next flush tries again, by the flushes that failed so far
        (each makes up to `attempts_per_flush` tries): 15 s, 30 s, 1 min, ... 30 min."""
        rounds = -(-attempts // max(1, self.attempts_per_flush))  # ceiling division
        return float(min(self.later_max, self.later_base * 2 ** max(0, rounds - 1)))


@dataclass
class FlushReport:
    sent: int = 0
    failed: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # destination -> last error
    skipped_locked: bool = False
    held: int = 0  # notifications quiet hours still hold back (not failures)
    held_from: datetime | None = None  # when the first of them goes
    held_to: datetime | None = None  # when the last of them goes


def order_group(notification: Notification) -> str | None:
    """What a notification keeps its order with, per destination: the same alert, the
    same position (symbol), the same job's streak, the same briefing kind. None: it is
    independent of every other notification (`ttai notify send`, a test)."""
    data = notification.data
    kind = notification.notification_type
    if kind == "alert_triggered" and data.get("alert_id") is not None:
        return f"alert:{data['alert_id']}"
    if kind == "position_update" and data.get("symbol"):
        return f"position:{data['symbol']}"
    if kind == "briefing" and data.get("kind"):
        return f"briefing:{data['kind']}"
    if kind in ("error", "info") and data.get("job"):
        return f"job:{data['job']}"
    return None


def url_variable(backend: str) -> str:
    """The environment variable holding a remote backend's URL."""
    if backend == "apprise":
        return "TTAI_APPRISE_URLS"
    return f"TTAI_{backend.upper()}{'_WEBHOOK' if backend in ('slack', 'discord') else ''}_URL"


def resolve_backends(settings: Settings, stderr_is_tty: bool) -> tuple[list[str], list[str]]:
    """(local outputs, remote destinations) for TTAI_NOTIFICATION_BACKEND.

    `auto`: console on a terminal, else stderr, plus every destination whose URL is set.
    A named remote destination without its URL is a configuration error (exit 2)."""
    names = settings.notification_backends
    urls = settings.destination_urls()
    if names == ("auto",):
        return ["console" if stderr_is_tty else "stderr"], [k for k in REMOTE_KINDS if urls.get(k)]
    locals_ = [n for n in names if n in LOCAL_KINDS]
    remotes = [n for n in names if n in REMOTE_KINDS]
    for name in remotes:
        if not urls.get(name):
            raise ConfigError(
                f"TTAI_NOTIFICATION_BACKEND includes {name} but {url_variable(name)} is not set"
            )
    return locals_, remotes


def unreachable_routes(settings: Settings) -> list[tuple[str, str]]:
    """(route key, backend) for each remote backend a route names whose URL is not set."""
    urls = settings.destination_urls()
    return [
        (f"notify.routes.{kind}", backend)
        for kind, backends in settings.file.routes.items()
        for backend in backends
        if backend in REMOTE_KINDS and not urls.get(backend)
    ]


@dataclass(frozen=True)
class Routing:
    """Which backends a notification goes to, by its type (see the module docstring).

    `default_locals` / `default_remotes` are what TTAI_NOTIFICATION_BACKEND selects: they
    serve the types without a route, and, on a terminal, every type's local output."""

    default_locals: tuple[str, ...]
    default_remotes: tuple[str, ...]
    config: FileConfig
    terminal: bool = False
    muted: bool = False
    # TTAI_NOTIFICATION_BACKEND names the local outputs itself (not `auto`)
    named: bool = False

    def remotes(self, notification_type: str) -> list[str]:
        if self.muted:
            return []
        route = self.config.route(notification_type)
        if route is None:
            return list(self.default_remotes)
        return [kind for kind in REMOTE_KINDS if kind in route]

    def locals(self, notification_type: str) -> list[str]:
        route = self.config.route(notification_type)
        if self.muted or self.terminal or route is None:
            return list(self.default_locals)
        return [kind for kind in LOCAL_KINDS if kind in route]

    def routed_locals(self, notification_type: str) -> list[str]:
        """Where a command that printed the notification itself (a briefing's panel, `ttai
        ask`'s answer) still prints it: off a terminal, the local outputs a route names
        for the type, since a route asked for it there (a script reading stderr); and
        `stderr` whenever TTAI_NOTIFICATION_BACKEND names it and the type goes there (its
        JSON line is a machine interface, not a second copy for a person). Otherwise
        none: the person saw what the command printed."""
        if self.muted:
            return []
        route = self.config.route(notification_type)
        if self.terminal or route is None:
            named_stderr = self.named and "stderr" in self.default_locals
            return ["stderr"] if named_stderr and "stderr" in self.locals(notification_type) else []
        return [kind for kind in LOCAL_KINDS if kind in route]

    def every_remote(self) -> list[str]:
        """Every remote destination some type of notification goes to: where `ttai
        notify test` goes (`--backend` reaches one that nothing is routed to)."""
        from ttai_cli.notify.models import NOTIFICATION_TYPES

        used = {kind for t in NOTIFICATION_TYPES for kind in self.remotes(t)}
        return [kind for kind in REMOTE_KINDS if kind in used]

    def every_local(self) -> list[str]:
        """Every local output some type of notification prints on."""
        from ttai_cli.notify.models import NOTIFICATION_TYPES

        used = {kind for t in NOTIFICATION_TYPES for kind in self.locals(t)}
        return [kind for kind in LOCAL_KINDS if kind in used]


def resolve_routing(settings: Settings, stderr_is_tty: bool, strict: bool = True) -> Routing:
    """The routing for this process. A route naming a remote backend whose URL is not
    set is a configuration error (exit 2) naming the route's key and line and the
    variable to set, like TTAI_NOTIFICATION_BACKEND naming one; muted (=none) it is moot.
    Not `strict` (a process that sends nothing of its own: `notify outbox`, a briefing
    --print-only), such a route is let be: what is stored for it waits in the outbox for
    the URL (a flush says so), as `ttai doctor` warns."""
    local_names, remote_names = resolve_backends(settings, stderr_is_tty)
    muted = settings.notification_backends == ("none",)
    if not muted and strict:
        for key, backend in unreachable_routes(settings):
            where = settings.file.sources.get(key) or str(settings.file.path or "config.toml")
            raise ConfigError(
                f"{where}: {key}: {backend} has no URL ({url_variable(backend)} is not set); "
                "set it or take it out of the route"
            )
    return Routing(
        tuple(local_names),
        tuple(remote_names),
        settings.file,
        terminal=stderr_is_tty,
        muted=muted,
        named=settings.notification_backends != ("auto",),
    )


class Notifier:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        *,
        policy: DeliveryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        stderr: Callable[[], TextIO] | None = None,
        stderr_is_tty: bool | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        strict: bool = True,
    ) -> None:
        """`strict`: a route to a backend without its URL is a `ConfigError` (exit 2): for
        what sends (jobs, `notify flush|test|send|retry`). Not strict: let be (see
        `resolve_routing`), for what only reads the outbox or was checked before."""
        self.settings = settings
        self.store = store
        self.outbox = Outbox(store)
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self.sleep = sleep or _asyncio_sleep
        self._stderr = stderr or (lambda: sys.stderr)
        tty = self._stderr().isatty() if stderr_is_tty is None else stderr_is_tty
        self.routing = resolve_routing(settings, tty, strict)
        self._outputs = {kind: LocalOutput(kind, self._stderr) for kind in LOCAL_KINDS}
        # the local outputs of a type without a route
        self.locals = [self._outputs[name] for name in self.routing.default_locals]
        urls = settings.destination_urls()
        self.remotes: dict[str, RemoteDestination] = {}
        for kind in REMOTE_KINDS:  # every configured URL can deliver what is pending for it
            secret = urls.get(kind)
            if secret is not None:
                url = secret.reveal()
                self.remotes[kind] = (
                    AppriseDestination(url) if kind == "apprise" else RemoteDestination(kind, url)
                )
        self.active = list(self.routing.default_remotes)  # where a type without a route goes
        self._transport = transport
        # destination -> how many waiting it last warned of (no URL): once, not per flush
        self._warned_no_url: dict[str, int] = {}
        self._last_send: dict[str, float] = {}

    # -- producing ---------------------------------------------------------------------------
    def enqueue(
        self,
        db: sqlite3.Connection,
        notification: Notification,
        key: str | None = None,
        destinations: list[str] | None = None,
    ) -> bool:
        """Store `notification` for delivery, inside the caller's transaction: to the
        destinations its type is routed to, held until the end of quiet hours when its
        type may not go out now. `destinations` given: exactly those, never held."""
        held_until = None
        if destinations is None:
            destinations = self.routing.remotes(notification.notification_type)
            held_until = self.held_now(notification.notification_type)
        stored = Outbox.add(db, notification, destinations, key, held_until=held_until)
        if stored and held_until is not None:
            log.info(
                "quiet hours: %s %r held until %s",
                notification.notification_type,
                notification.title,
                f"{held_until.astimezone(NEW_YORK):%H:%M %Z}",
            )
        return stored

    def held_now(self, notification_type: str) -> datetime | None:
        """Until when quiet hours hold a notification of this type stored now (None: it
        goes out at once, or goes to no remote destination, which nothing holds)."""
        if not self.routing.remotes(notification_type):
            return None
        return self.settings.file.held_until(notification_type, self.clock.now())

    def emit_local(self, notification: Notification, shown: bool = False) -> None:
        """Print on the local outputs the notification's type is routed to (at once,
        quiet hours or not). `shown`: the command printed it already (a briefing's panel,
        `ttai ask`'s answer): then only the outputs a route names for its type, off a
        terminal (`Routing.routed_locals`), not a second copy by default."""
        routing, of_type = self.routing, notification.notification_type
        chosen = routing.routed_locals(of_type) if shown else routing.locals(of_type)
        for kind in chosen:
            output = self._outputs[kind]
            try:
                output.emit(notification)
            except OSError as exc:  # a closed stderr must not fail the job
                log.warning("could not print a notification to %s: %s", output.kind, exc)

    async def notify(self, notification: Notification, key: str | None = None) -> FlushReport:
        """Store, print locally, and deliver now (what is left is retried later)."""
        with self.store.transaction() as db:
            stored = self.enqueue(db, notification, key)
        if stored:
            self.emit_local(notification)
        return await self.flush()

    async def send_unstored(self, notification: Notification) -> dict[str, str]:
        """Print locally and try each destination its type is routed to once, now, without
        the outbox: for when the database itself cannot be trusted (moved away, damaged).
        Quiet hours cannot hold it (there is no outbox to hold it in, and the process is
        ending). Returns destination -> why it was not delivered (empty when all arrived)."""
        import httpx

        self.emit_local(notification)
        failures: dict[str, str] = {}
        async with httpx.AsyncClient(
            timeout=self.policy.timeout, transport=self._transport
        ) as client:
            for kind in self.routing.remotes(notification.notification_type):
                destination = self.remotes.get(kind)
                if destination is None:
                    continue
                try:
                    attempt = await destination.send(client, notification)
                except Exception as exc:  # one broken destination must not stop the rest
                    failures[kind] = logs.redact(f"{exc.__class__.__name__}: {exc}")
                    continue
                if attempt.outcome != "sent":
                    failures[kind] = attempt.detail
        return failures

    # -- delivering --------------------------------------------------------------------------
    async def flush(self, *, force: bool = False, only: list[str] | None = None) -> FlushReport:
        """Deliver pending notifications. `force` ignores next-attempt times, never quiet
        hours: held ones stay held (counted in the report, they are not failures)."""
        report = FlushReport()
        now = self.clock.now()
        self.follow_quiet_hours(now)
        report.held, report.held_from, report.held_to = self.outbox.held(now)
        pending = [d for d in REMOTE_KINDS if d in self.outbox.destinations_with_pending(now)]
        if only is not None:
            pending = [d for d in pending if d in only]
        if not pending:
            return report
        lock = JobLock(self.settings.locks_dir, FLUSH_LOCK)
        if not lock.acquire():
            log.debug("another process is delivering notifications")
            report.skipped_locked = True
            return report
        import httpx

        try:
            async with httpx.AsyncClient(
                timeout=self.policy.timeout, transport=self._transport
            ) as client:
                for kind in pending:
                    try:
                        await self._flush_destination(client, kind, force, report)
                    except Exception as exc:  # one broken destination must not stop the rest
                        from ttai_cli.logs import redact

                        error = redact(f"{exc.__class__.__name__}: {exc}")
                        report.pending[kind] = error
                        log.error("delivering to %s failed unexpectedly: %s", kind, error)
        finally:
            lock.release()
        return report

    def follow_quiet_hours(self, now: datetime) -> int:
        """Held deliveries follow the quiet hours configured now, not those they were held
        by: one whose type the configuration in force would not hold at `now` (quiet hours
        turned off, the window edited to end earlier, the type allowed through) is let go,
        one it holds until another time waits until then. Returns how many were let go."""
        let_go = self.outbox.follow(now, lambda kind: self.settings.file.held_until(kind, now))
        if let_go:
            log.info("quiet hours as configured now let go of %d held deliveries", let_go)
        return let_go

    def held_until(self, delivery: Delivery, now: datetime) -> datetime | None:
        """When quiet hours let `delivery` go, by the configuration in force, if they hold
        it at `now` (None: the next flush may send it). What `ttai notify outbox` shows,
        read-only: the stored hold is moved at the next flush (`follow_quiet_hours`)."""
        if not delivery.held_at(now):
            return None
        return self.settings.file.held_until(delivery.notification.notification_type, now)

    async def deliver_released(self, stop: asyncio.Event, every: float = 60.0) -> None:
        """For the daemon, whose jobs may all be idle when quiet hours end (07:00, before
        the open): every `every` seconds, flush if the end of quiet hours let go of
        deliveries no flush has sent yet (held by any process). Runs until `stop` or it
        is cancelled; a failure is logged and tried again next time."""
        while not stop.is_set():
            await self.clock.sleep(every)
            if stop.is_set():
                return
            try:
                now = self.clock.now()
                self.follow_quiet_hours(now)
                if self.outbox.released(now):
                    await self.flush()
            except Exception as exc:  # a busy database: next time
                log.warning("delivering after quiet hours failed: %s", logs.redact(str(exc)))

    async def _flush_destination(
        self, client: httpx.AsyncClient, kind: str, force: bool, report: FlushReport
    ) -> None:
        """Deliver what is pending for `kind`, oldest first.

        A notification that is not due yet, or that just failed (retryably), holds back
        every later one, so the order holds through an outage. Once it has failed
        `independent_after` times it holds back only its own order group and is tried
        once per flush; at most one such failure is passed per flush, and a failure of
        the next one ends the flush (then the destination itself is likely down)."""
        destination = self.remotes.get(kind)
        now = self.clock.now()
        # held ones are passed over, not waited behind: quiet hours delay them, not the
        # notifications allowed through after them
        deliveries = self.outbox.pending(kind, now)
        if not deliveries:
            return
        if destination is None:
            report.pending[kind] = f"{len(deliveries)} waiting: no URL configured for {kind}"
            count = len(deliveries)
            if self._warned_no_url.get(kind) != count:  # a second flush says it again: no
                self._warned_no_url[kind] = count
                log.warning(
                    "%d %s for %s, which has no URL configured",
                    count,
                    "notification waits" if count == 1 else "notifications wait",
                    kind,
                )
            return
        held: set[str] = set()  # order groups behind a notification that keeps failing
        passed_failure = False
        for delivery in deliveries:
            group = order_group(delivery.notification)
            if group is not None and group in held:
                continue
            stubborn = delivery.attempts >= self.policy.independent_after
            waiting = delivery.next_attempt_at
            if not force and waiting is not None and waiting > now:
                when = waiting.astimezone(NEW_YORK)
                report.pending.setdefault(
                    kind, f"next try at {when:%H:%M:%S %Z} ({delivery.last_error})"
                )
                if not stubborn:
                    return  # the rest wait behind it: creation order holds
                if group is not None:
                    held.add(group)
                continue
            attempt = await self._deliver(client, destination, delivery, once=stubborn)
            if attempt.outcome == "sent":
                report.sent += 1
            elif attempt.outcome == "reject":
                report.failed += 1
            else:
                report.pending[kind] = attempt.detail
                if not stubborn or passed_failure:
                    return  # the rest wait behind it: creation order holds
                passed_failure = True
                if group is not None:
                    held.add(group)

    async def _deliver(
        self,
        client: httpx.AsyncClient,
        destination: RemoteDestination,
        delivery: Delivery,
        *,
        once: bool = False,
    ) -> Attempt:
        """Send one delivery, retrying within the flush (a single try when `once`)."""
        limit = 1 if once else self.policy.attempts_per_flush
        tries = 0
        while True:
            await self._respect_rate_limit(destination)
            attempt = await destination.send(client, delivery.notification)
            self._last_send[destination.kind] = self.clock.monotonic()
            tries += 1
            now = self.clock.now()
            if attempt.outcome == "sent":
                self.outbox.mark(delivery, "sent", now)
                log.debug("notification %s sent to %s", delivery.notification.id, destination.kind)
                return attempt
            if attempt.outcome == "reject":
                self.outbox.mark(delivery, "failed", now, error=attempt.detail)
                log.error(
                    "%s rejected notification %s for good: %s",
                    destination.shown,
                    delivery.notification.id,
                    attempt.detail,
                )
                return attempt
            wait = (
                attempt.retry_after
                if attempt.retry_after is not None
                else self.policy.backoff(tries - 1)
            )
            if tries >= limit or wait > self.policy.max_wait:
                later = max(wait, self.policy.later(delivery.attempts + tries))
                self.outbox.mark(
                    delivery,
                    "pending",
                    now,
                    error=attempt.detail,
                    next_attempt_at=now + timedelta(seconds=later),
                )
                log.warning(
                    "could not deliver to %s (%s); trying again in %.0fs",
                    destination.shown,
                    attempt.detail,
                    later,
                )
                return attempt
            self.outbox.mark(delivery, "pending", now, error=attempt.detail)
            log.info("%s: %s; retrying in %.2fs", destination.kind, attempt.detail, wait)
            await self.sleep(wait)

    async def _respect_rate_limit(self, destination: RemoteDestination) -> None:
        last = self._last_send.get(destination.kind)
        if last is None or not destination.min_interval:
            return
        wait = destination.min_interval - (self.clock.monotonic() - last)
        if wait > 0:
            await self.sleep(wait)

    # -- the notify commands -----------------------------------------------------------------
    def failed_counts(self) -> dict[str, int]:
        """Destination -> deliveries that failed for good and wait for `retry` or `drop`."""
        return self.outbox.failed_counts()

    async def retry(self, ids: list[str] | None) -> FlushReport:
        """Send failed notifications again (those of `ids`, or all of them), e.g. after
        the destination URL was fixed: they are pending again, due now, then flushed.
        An id not in the outbox is a `UsageError` and nothing changes."""
        destinations = self.outbox.retry(ids)
        return await self.flush(force=True, only=destinations)

    def drop(self, ids: list[str] | None) -> int:
        """Give up failed notifications (those of `ids`, pending ones too, or every failed
        one); returns how many. They stay in the database, no longer in the outbox."""
        return self.outbox.drop(ids)

    async def send_test(self, only: str | None = None) -> dict[str, str]:
        """A test notification to every destination something can go to (the default
        ones and every one a route names), or to `only`, at once: routes do not narrow
        it and quiet hours do not hold it (it is asked for now). Returns destination ->
        "arrived" / "pending: why" / "failed: why" / "printed"."""
        known = set(LOCAL_KINDS) | set(REMOTE_KINDS)
        if only is not None and only not in known:
            raise ConfigError(
                f"--backend: unknown backend {only!r} (choose from {', '.join(sorted(known))})"
            )
        # every destination something is routed to, or the one asked for (even when not)
        remote = (
            self.routing.every_remote() if only is None else [k for k in self.remotes if k == only]
        )
        local = [self._outputs[k] for k in self.routing.every_local() if only in (None, k)]
        if only in LOCAL_KINDS and not local:
            local = [self._outputs[only]]
        if only in REMOTE_KINDS and not remote:
            raise ConfigError(f"{only} has no URL configured")
        notification = Notification(
            "info",
            "ttai test notification",
            "If you can read this, ttai can reach you here.",
            {"source": "ttai notify test"},
        )
        with self.store.transaction() as db:
            self.enqueue(db, notification, destinations=remote)
        for output in local:
            output.emit(notification)
        await self.flush(force=True, only=remote)
        results = {o.kind: "printed" for o in local}
        for kind in remote:
            delivery = self.outbox.delivery(notification.id, kind)
            if delivery is None or delivery.status == "sent":
                results[kind] = "arrived"
            else:
                results[kind] = f"{delivery.status}: {delivery.last_error or 'not sent yet'}"
        return results

    def describe(self) -> list[dict[str, Any]]:
        return [{"backend": k, "destination": k} for k in self.routing.every_local()] + [
            {"backend": kind, "destination": self.remotes[kind].shown}
            for kind in self.routing.every_remote()
        ]
