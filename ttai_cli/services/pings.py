"""Pings to a dead-man's switch, the healthchecks.io way (also Cronitor, Uptime Kuma...).

For one job with a ping URL (`--ping URL`, else `[jobs.NAME] ping` in config.toml):

| moment | request | body |
|---|---|---|
| a run starts | `POST URL/start` | `alerts: run for <slot> started` |
| it ends well | `POST URL` | `alerts: ok in 0.31s: <summary>` |
| it fails (an error, the time limit) | `POST URL/fail` | the last line of the error |
| the guard skips a slot (market closed, holiday, paused, `--days`) | `POST URL` | `alerts: skipped: <reason>` |
| `--catch-up` finds nothing due | `POST URL` | `alerts: nothing due: <why>` |
| a loop waits, or a stream runs, with nothing else pinged for 5 min | `POST URL` | `alerts: waiting for the next run at <time>` / the stream's state |
| the process ends with an error outside a run (the database failing a one-off's start, a revoked token, a crash) | `POST URL/fail` | `alerts: ended by an error: <its line>` (not after that run's own fail) |

A run cancelled by a stop (SIGTERM, Ctrl-C) sends nothing after its start: it neither
worked nor failed. (One that still ends well within the stop's grace, as a stream winding
down does, is a success like any other.) A process that comes back (systemd restarts it) starts a new run soon;
one that stays down is what the check's grace time is for.

"Quiet" pings (skips, waiting, a long run's keep-alive) go at most once per `QUIET_EVERY`
(5 min) per job and process: a loop with a 30 s cadence through a closed night tells the
check it is alive every 5 minutes, not every 30 seconds. The first skip of a process always
pings (a crontab one-off on a holiday must not page anyone). So a check for a loop, a
stream or the daemon needs a period of 5 minutes or more (plus its grace).

Delivery never hurts the job: a ping that is refused, answered with an error or times out
is logged (a warning for the first failure of a URL, then quietly until it works again)
and never changes the job's outcome or exit code; each ping waits at most `timeout`
(5 s), and after a stop at most `STOPPING_TIMEOUT`. The `/start` goes beside the run, not
before it; the end ping waits for it first, so that the check sees them in order. Bodies are redacted (`logs.redact`:
credentials, destination and ping URLs) and capped at `MAX_BODY` characters.

The requests are made with the standard library (`urllib.request`, one opener per
process, honouring `HTTPS_PROXY`), each in a short-lived daemon thread. Every job command
has already loaded urllib (the SDK and ttai's own modules use it), while httpx, which the
notifications use, is not loaded by a run that notifies nobody: importing it and building
its client costs 80-100 ms, against the 20 ms a ping may add to a run (bench/ops.py). A
thread that a hung receiver holds is left behind, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.redaction import redact_url

if TYPE_CHECKING:
    import urllib.request
    from collections.abc import Callable

log = logs.get("pings")

PING_TIMEOUT = 5.0  # seconds a ping may hold up a job, at most (SPEC)
STOPPING_TIMEOUT = 0.5  # after a stop: the process must end within its 5 s
QUIET_EVERY = 300.0  # seconds between two quiet pings of one job
LIVENESS_EVERY = 60.0  # the process check of `ttai run --ping URL` with several jobs
MAX_BODY = 2000


def ping_url(url: str, kind: str) -> str:
    """`URL/start`, `URL` or `URL/fail`; a query string (`?create=1`) stays at the end."""
    if kind == "success":
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + kind))


def last_line(text: str | None) -> str:
    """The last non-blank line of an error (what a person reads in the check's log)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _body(text: str) -> bytes:
    text = logs.redact(text)
    if len(text) > MAX_BODY:
        text = text[: MAX_BODY - 1] + "…"
    return text.encode("utf-8")


def _opener() -> urllib.request.OpenerDirector:
    """One opener per process: proxies from the environment, one TLS context made on the
    first https ping (certifi's roots when installed, as httpx does, else the system's)."""
    import ssl
    import urllib.request

    class LazyTLS(urllib.request.HTTPSHandler):
        def __init__(self) -> None:
            super().__init__()
            self._lock = threading.Lock()

        def https_open(self, req: Any) -> Any:
            with self._lock:
                if getattr(self, "_context", None) is None:
                    try:
                        import certifi

                        self._context = ssl.create_default_context(cafile=certifi.where())
                    except ImportError:
                        self._context = ssl.create_default_context()
            return super().https_open(req)

    return urllib.request.build_opener(LazyTLS())


def _post(
    opener: urllib.request.OpenerDirector, url: str, body: bytes, timeout: float
) -> str | None:
    """POST once; None when it was taken (2xx), else what went wrong (never the URL)."""
    import http.client
    import urllib.error
    import urllib.request

    from ttai_cli import __version__

    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"User-Agent": f"ttai/{__version__}", "Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(4096)
        return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return "timed out"
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused"
        if isinstance(reason, OSError):
            return f"cannot connect: {reason.strerror or reason.__class__.__name__}"
        return "cannot connect"
    except TimeoutError:
        return "timed out"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return exc.__class__.__name__


class Pinger:
    """Sends the pings of one process. Never raises; `send` says whether it was taken.

    `stop` is the process's stop event: once it is set, a ping waits at most
    `STOPPING_TIMEOUT`, and one under way when it comes gets that much more."""

    def __init__(
        self,
        clock: Clock,
        stop: asyncio.Event | None = None,
        *,
        timeout: float = PING_TIMEOUT,
        quiet_every: float = QUIET_EVERY,
    ) -> None:
        self.clock = clock
        self.stop = stop
        self.timeout = timeout
        self.quiet_every = quiet_every
        self._opener: urllib.request.OpenerDirector | None = None
        self._opener_lock = threading.Lock()
        self._failing: set[str] = set()  # URLs whose last ping failed (warned once)
        self.sent = 0
        self.failed = 0
        self.waited = 0.0  # seconds the process spent waiting for its pings (-v shows it)

    def for_job(self, job: str, url: str) -> JobPings:
        return JobPings(self, job, url, created=self.clock.monotonic())

    def _post(self, url: str, body: bytes, timeout: float) -> str | None:
        with self._opener_lock:
            if self._opener is None:
                self._opener = _opener()
            opener = self._opener
        return _post(opener, url, body, timeout)

    async def send(self, url: str, kind: str, text: str, *, what: str = "") -> bool:
        """POST `text` (redacted) to the URL for `kind` (start, success, fail), and wait
        for it (at most the time limit)."""
        return await self.wait_for(asyncio.ensure_future(self.deliver(url, kind, text, what)))

    async def wait_for(self, ping: asyncio.Future[bool]) -> bool:
        """Wait for a ping sent with `deliver`; the wait counts in `waited`."""
        began = time.perf_counter()
        try:
            return await ping
        finally:
            self.waited += time.perf_counter() - began

    async def deliver(self, url: str, kind: str, text: str, what: str = "") -> bool:
        """`send` without counting the wait: for a ping that runs beside the job."""
        began = time.perf_counter()
        try:
            problem = await self._deliver(url, kind, text)
        except Exception as exc:  # a ping must never become the job's failure
            log.debug("ping failed", exc_info=True)
            problem = exc.__class__.__name__
        label = f"{what} {kind}".strip()
        shown = redact_url(url)
        if problem is None:
            self.sent += 1
            if url in self._failing:
                self._failing.discard(url)
                log.info("pings to %s work again", shown)
            log.debug(
                "ping %s -> %s in %.1f ms", label, shown, (time.perf_counter() - began) * 1000
            )
            return True
        self.failed += 1
        level = logging.DEBUG if url in self._failing else logging.WARNING  # warned once
        self._failing.add(url)
        log.log(level, "ping %s to %s failed: %s (the job goes on)", label, shown, problem)
        return False

    async def _deliver(self, url: str, kind: str, text: str) -> str | None:
        stopping = self.stop is not None and self.stop.is_set()
        cap = min(self.timeout, STOPPING_TIMEOUT) if stopping else self.timeout
        target, body = ping_url(url, kind), _body(text)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()

        def deliver() -> None:
            try:
                problem = self._post(target, body, cap)
            except Exception as exc:  # a bug here must not become the job's failure
                problem = exc.__class__.__name__
            # RuntimeError: the loop has closed, nobody is waiting any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, done, problem)

        # a daemon thread, not the loop's executor: asyncio.run() waits for the
        # executor's threads at exit, and a hung receiver must not hold the process
        threading.Thread(target=deliver, name="ttai-ping", daemon=True).start()
        return await self._wait(done, cap, stopping)

    async def _wait(
        self, done: asyncio.Future[str | None], cap: float, stopping: bool
    ) -> str | None:
        waits: set[asyncio.Future[Any]] = {done}
        stopper = None
        if self.stop is not None and not stopping:
            stopper = asyncio.ensure_future(self.stop.wait())
            waits.add(stopper)
        loop = asyncio.get_running_loop()
        started = loop.time()  # real time, as asyncio.wait's timeout
        try:
            finished, _ = await asyncio.wait(
                waits, timeout=cap, return_when=asyncio.FIRST_COMPLETED
            )
            if done not in finished and stopper is not None and stopper in finished:
                # stopped while it was under way: a little longer, then let it go
                left = max(0.0, min(STOPPING_TIMEOUT, cap - (loop.time() - started)))
                await asyncio.wait({done}, timeout=left)
        finally:
            if stopper is not None:
                stopper.cancel()
        if not done.done():
            done.cancel()
            return "timed out"
        return done.result()


def _settle(future: asyncio.Future[str | None], problem: str | None) -> None:
    if not future.done():
        future.set_result(problem)


@dataclass
class JobPings:
    """One job's pings: what the scheduling engine calls (`engine.RunPings`)."""

    pinger: Pinger
    job: str
    url: str
    created: float
    last: float | None = None  # monotonic time of the last ping sent (taken or not)
    last_kind: str | None = None  # and its kind: start, success or fail
    _start: asyncio.Future[bool] | None = None  # the run's /start, under way beside it

    async def _send(self, kind: str, text: str) -> None:
        await self._started()  # /start first, whatever comes after it
        self.last, self.last_kind = self.pinger.clock.monotonic(), kind
        await self.pinger.send(self.url, kind, f"{self.job}: {text}", what=self.job)

    async def _started(self) -> None:
        if self._start is not None:
            start, self._start = self._start, None
            await self.pinger.wait_for(start)

    def _quiet_due(self, since_start: bool) -> bool:
        now = self.pinger.clock.monotonic()
        if self.last is None:
            return not since_start or now - self.created >= self.pinger.quiet_every
        return now - self.last >= self.pinger.quiet_every

    def _stopping(self) -> bool:
        return self.pinger.stop is not None and self.pinger.stop.is_set()

    async def started(self, slot: datetime) -> None:
        """`/start`, sent beside the run rather than before it: the run does not wait for
        it (its end ping does, so that the check sees them in order)."""
        await self._started()
        if self._stopping():
            return
        self.last, self.last_kind = self.pinger.clock.monotonic(), "start"
        text = f"{self.job}: run for {slot.astimezone(NEW_YORK):%Y-%m-%d %H:%M:%S %Z} started"
        self._start = asyncio.ensure_future(self.pinger.deliver(self.url, "start", text, self.job))

    async def finished(
        self, result: str, error: str | None, summary: str | None, duration: float
    ) -> None:
        """ok: success; error or timeout: fail with the error's last line; cancelled (a
        stop): nothing, see the module's docstring."""
        await self._started()
        if result == "ok":
            await self._send(
                "success", f"ok in {duration:.2f}s" + (f": {summary}" if summary else "")
            )
        elif result != "cancelled":
            line = last_line(error) or result
            await self._send("fail", f"{result} after {duration:.2f}s: {line}")

    async def ended(self, error: str) -> None:
        """The process ends with an error outside a run, or before one (the database
        failing a one-off, a revoked token, a crash): fail with the error's last line,
        unless the check's last word already was that run's fail. Sent after a stop too:
        the process is going, and the check should hear why."""
        if self.last_kind != "fail":
            await self._send("fail", f"ended by an error: {last_line(error) or error}")

    async def skipped(self, reason: str, *, always: bool = False) -> None:
        """A slot the guard skipped: success with the reason, at most once per 5 min."""
        if self._stopping() or not (always or self._quiet_due(since_start=False)):
            return
        await self._send("success", f"skipped: {reason}")

    async def nothing_due(self, reason: str) -> None:
        """`--catch-up` with nothing to run: success (cron called, all is well)."""
        if not self._stopping():
            await self._send("success", f"nothing due: {reason}")

    async def waiting(self, until: datetime) -> None:
        """While a loop sleeps towards its next slot: success, once 5 min have passed
        without a ping (the daemon's jobs overnight, a stream between sessions)."""
        if self._stopping() or not self._quiet_due(since_start=True):
            return
        left = (until - self.pinger.clock.now()).total_seconds()
        if left < self.pinger.timeout + 1:  # the run (and its start ping) comes first
            return
        await self._send(
            "success", f"waiting for the next run at {until.astimezone(NEW_YORK):%Y-%m-%d %H:%M %Z}"
        )

    async def keep_alive(self, liveness: Callable[[], str | None]) -> None:
        """During a long run (a stream's session): success with `liveness()` every 5
        min while it answers (None: not healthy now, nothing is sent). Runs until
        cancelled; sleeps on the clock in short steps."""
        step = min(30.0, self.pinger.quiet_every)
        while True:
            await self.pinger.clock.sleep(step)
            await asyncio.sleep(0)  # yield even to a clock whose sleep does not
            if self._stopping() or not self._quiet_due(since_start=False):
                continue
            status = liveness()
            if status:
                await self._send("success", status)
