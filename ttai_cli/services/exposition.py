"""`ttai metrics`: job health, alerts, the outbox, the stream and the account's last
known figures in the Prometheus text exposition format (version 0.0.4).

Everything comes from the local database: no broker call, no SDK, so a scrape or a
node_exporter textfile refresh costs a fraction of `import tastytrade`. The renderer is
our own (a few lines; no runtime dependency). Every family is `ttai_*` with HELP and
TYPE; label values are escaped as the format wants (backslash, double quote, newline).

What an empty database gives: every family's HELP and TYPE; 0 for the stream feeds
(`market`, `account`) and for each configured destination's `pending` and `failed`; no
sample where there is nothing to count or no figure is known (no job has run, no sync or
risk report yet: an NLV of 0 would page someone). Timestamps of things that never
happened (a job that never succeeded, no sync yet) are 0.

Counters (`*_total`) never go down while the database lives: runs by result come from
`job_results`, which is never pruned (unlike the 30 days of `job_runs`). The stream's
reconnects and events count per stream process, so they reset when it restarts, which
Prometheus' `rate()` and `increase()` expect of a counter.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ttai_cli import __version__, logs
from ttai_cli.clock import Clock, elapsed
from ttai_cli.errors import ConfigError

if TYPE_CHECKING:
    import asyncio

    from ttai_cli.config import Settings
    from ttai_cli.store import Store
    from ttai_cli.store.stream import FeedState

log = logs.get("metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Job results as the engine records them; each known job shows all of them (0 included),
# so that `increase(ttai_job_runs_total{result="error"}[1h])` has a series to work on.
RESULTS = ("ok", "error", "timeout", "cancelled", "skipped")
ALERT_STATES = ("active", "triggered")
OUTBOX_STATES = ("pending", "held", "failed")
FEEDS = ("market", "account")
REFRESH_EVERY = 60.0  # seconds: `ttai run --metrics-file`


@dataclass
class Family:
    """One metric family: its samples are (labels, value)."""

    name: str
    type: str  # counter or gauge
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))


def escape_label(value: str) -> str:
    """A label value as the text format wants it: `\\`, `"` and newlines escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """Whole numbers without a fraction, others as Python's shortest repr; NaN and
    infinities spelled the way Prometheus reads them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[Family]) -> str:
    """The text exposition (0.0.4) of `families`, in order, each with HELP and TYPE."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for labels, value in family.samples:
            if labels:
                inner = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items())
                lines.append(f"{family.name}{{{inner}}} {format_value(value)}")
            else:
                lines.append(f"{family.name} {format_value(value)}")
    return "\n".join(lines) + "\n"


def _stamp(moment: datetime | None) -> float:
    return round(moment.timestamp(), 3) if moment is not None else 0.0


def configured_destinations(settings: Settings) -> list[str]:
    """The remote destinations that have a URL: each shows pending and failed, 0 too."""
    return [kind for kind, url in settings.destination_urls().items() if url]


class ExpositionService:
    """Reads the database and renders the families (`text()`). `destinations` are the
    remote destinations to show even with nothing in the outbox."""

    def __init__(self, store: Store, clock: Clock, destinations: Sequence[str] = ()) -> None:
        self.store = store
        self.clock = clock
        self.destinations = list(destinations)

    def text(self) -> str:
        return render(self.families())

    def families(self) -> list[Family]:
        now = self.clock.now()
        info = Family("ttai_build_info", "gauge", "ttai's version; always 1.")
        info.add(1, version=__version__)
        return [
            info,
            *self._jobs(now),
            self._alerts(),
            self._outbox(now),
            *self._streams(now),
            *self._account(),
        ]

    # -- jobs ----------------------------------------------------------------------------------
    def _jobs(self, now: datetime) -> list[Family]:
        from ttai_cli.store.jobs import JobsRepository

        repo = JobsRepository(self.store)
        statuses = repo.statuses(now)
        tallies = repo.tallies()
        streaks = repo.failure_streaks()
        runs = Family(
            "ttai_job_runs_total",
            "counter",
            "Runs of each job by result (ok, error, timeout, cancelled; skipped: slots the "
            "market guard, a pause or an overlap skipped).",
        )
        success = Family(
            "ttai_job_last_success_timestamp_seconds",
            "gauge",
            "When the job's last ok run finished (Unix time; 0: never).",
        )
        duration = Family(
            "ttai_job_last_duration_seconds",
            "gauge",
            "How long the job's last finished run took, whatever its result.",
        )
        heartbeat = Family(
            "ttai_job_heartbeat_timestamp_seconds",
            "gauge",
            "The job's last sign of life: a run, a skip, or a loop's heartbeat (Unix time).",
        )
        paused = Family("ttai_job_paused", "gauge", "1 while the job is paused (ttai pause).")
        running = Family(
            "ttai_job_running",
            "gauge",
            "1 while a live process holds the job (a loop, the daemon, a run in progress).",
        )
        failing = Family(
            "ttai_job_consecutive_failures",
            "gauge",
            "The job's failed runs in a row (0 once a run works).",
        )
        restarts = Family(
            "ttai_job_restarts_total",
            "counter",
            "Times the daemon restarted the job's loop after it crashed.",
        )
        by_job: dict[str, dict[str, int]] = {}
        last_ok: dict[str, datetime | None] = {}
        for tally in tallies:
            by_job.setdefault(tally.job, {})[tally.result] = tally.count
            if tally.result == "ok":
                last_ok[tally.job] = tally.last_at
        known = {s.job: s for s in statuses}
        for name in known:
            by_job.setdefault(name, {})
        for job in sorted(by_job):
            counts = by_job[job]
            for result in [*RESULTS, *sorted(set(counts) - set(RESULTS))]:
                runs.add(counts.get(result, 0), job=job, result=result)
            success.add(_stamp(last_ok.get(job)), job=job)
            status = known.get(job)
            if status is None:
                continue
            if status.last_duration_s is not None:
                duration.add(status.last_duration_s, job=job)
            if status.heartbeat_at is not None:
                heartbeat.add(_stamp(status.heartbeat_at), job=job)
            paused.add(int(status.paused), job=job)
            running.add(int(status.running_pid is not None), job=job)
            failing.add(streaks.get(job, 0), job=job)
            restarts.add(status.restarts, job=job)
        return [runs, success, duration, heartbeat, paused, running, failing, restarts]

    # -- alerts and the outbox -----------------------------------------------------------------
    def _alerts(self) -> Family:
        from ttai_cli.store.alerts import AlertsRepository

        family = Family(
            "ttai_alerts",
            "gauge",
            "Alerts by kind (price, change, iv-rank, delta, ...) and state (active: watching; "
            "triggered: fired, waiting to be re-armed).",
        )
        counts = AlertsRepository(self.store).counts()
        kinds = sorted({kind for kind, _ in counts})
        states = [*ALERT_STATES, *sorted({s for _, s in counts} - set(ALERT_STATES))]
        for kind in kinds:
            for state in states:
                family.add(counts.get((kind, state), 0), kind=kind, state=state)
        return family

    def _outbox(self, now: datetime) -> Family:
        from ttai_cli.store.outbox import Outbox

        family = Family(
            "ttai_outbox_notifications",
            "gauge",
            "Notifications not yet delivered, by destination and status (pending: to be "
            "sent or retried; held: by quiet hours; failed: rejected for good, see "
            "`ttai notify outbox`).",
        )
        counts = Outbox(self.store).undelivered_counts(now)
        destinations = sorted({d for d, _ in counts} | set(self.destinations))
        states = [*OUTBOX_STATES, *sorted({s for _, s in counts} - set(OUTBOX_STATES))]
        for destination in destinations:
            for state in states:
                family.add(
                    counts.get((destination, state), 0), destination=destination, status=state
                )
        return family

    # -- the stream ----------------------------------------------------------------------------
    def _streams(self, now: datetime) -> list[Family]:
        from ttai_cli.store.stream import StreamStateRepository

        connected = Family(
            "ttai_stream_connected",
            "gauge",
            "1 while the stream's feed (market: DXLink quotes; account: the account "
            "streamer) is connected in a live process.",
        )
        reconnects = Family(
            "ttai_stream_reconnects_total",
            "counter",
            "The feed's connections after the first, in the current (or last) stream process.",
        )
        events = Family(
            "ttai_stream_events_total",
            "counter",
            "Events the feed received, in the current (or last) stream process.",
        )
        age = Family(
            "ttai_stream_last_event_age_seconds",
            "gauge",
            "Seconds since the feed's last event (no sample before its first event).",
        )
        newest: dict[str, FeedState] = {}
        for state in StreamStateRepository(self.store).states(now):
            kept = newest.get(state.feed)
            if kept is None or state.updated_at >= kept.updated_at:
                newest[state.feed] = state  # another account's or job's older row loses
        for feed in [*FEEDS, *sorted(set(newest) - set(FEEDS))]:
            found = newest.get(feed)
            connected.add(int(found is not None and found.connected and found.live), feed=feed)
            reconnects.add(found.reconnects if found else 0, feed=feed)
            events.add(found.events if found else 0, feed=feed)
            if found is not None and found.last_event_at is not None:
                seconds = elapsed(now, found.last_event_at).total_seconds()
                age.add(round(max(0.0, seconds), 3), feed=feed)
        return [connected, reconnects, events, age]

    # -- the account ---------------------------------------------------------------------------
    def _account(self) -> list[Family]:
        from ttai_cli.services.risk import buying_power_used
        from ttai_cli.store.records import RecordsRepository
        from ttai_cli.store.risk import RiskRepository

        nlv = Family(
            "ttai_net_liquidating_value_dollars",
            "gauge",
            "Net liquidating value from the latest sync or risk report, whichever is newer.",
        )
        bp = Family(
            "ttai_buying_power_used_percent",
            "gauge",
            "Maintenance requirement as a percent of net liquidating value (same source as the NLV).",
        )
        bwd = Family(
            "ttai_beta_weighted_delta_shares",
            "gauge",
            "Beta-weighted delta in SPY-equivalent shares, from the latest risk report "
            "(ttai risk, the risk alerts, the briefings, ttai watch).",
        )
        theta = Family(
            "ttai_theta_dollars",
            "gauge",
            "The portfolio's theta in dollars per day, from the latest risk report.",
        )
        vega = Family(
            "ttai_vega_dollars",
            "gauge",
            "The portfolio's vega in dollars per point of implied volatility, from the "
            "latest risk report.",
        )
        as_of = Family(
            "ttai_account_snapshot_timestamp_seconds",
            "gauge",
            "When the account figures were fetched (Unix time), by source: sync or risk.",
        )
        last_sync = Family(
            "ttai_last_sync_timestamp_seconds",
            "gauge",
            "When the last `ttai sync` stored positions, balances and transactions (0: never).",
        )
        records = RecordsRepository(self.store)
        synced = {b.account_number: b for b in records.latest_balances_by_account()}
        risks = {r.account_number: r for r in RiskRepository(self.store).latest()}
        for account in sorted(set(synced) | set(risks)):
            balances, risk = synced.get(account), risks.get(account)
            if balances is not None:
                as_of.add(_stamp(balances.updated_at), account=account, source="sync")
            if risk is not None:
                as_of.add(_stamp(risk.at), account=account, source="risk")
                bwd.add(float(risk.beta_weighted_delta), account=account)
                theta.add(float(risk.theta), account=account)
                vega.add(float(risk.vega), account=account)
            if risk is not None and (balances is None or risk.at >= balances.updated_at):
                nlv.add(float(risk.net_liquidating_value), account=account)
                bp.add(float(risk.buying_power_used_percent), account=account)
            elif balances is not None:
                nlv.add(float(balances.net_liquidating_value), account=account)
                used = buying_power_used(
                    balances.maintenance_requirement, balances.net_liquidating_value
                )
                bp.add(float(used), account=account)
        last_sync.add(_stamp(records.last_sync()))
        return [nlv, bp, bwd, theta, vega, as_of, last_sync]


# -- writing a file ---------------------------------------------------------------------------
def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` at once, mode 0644: a temporary file in the same
    directory (not named *.prom, so node_exporter's textfile collector never reads a
    half-written one), flushed and fsynced, then renamed over `path`. A path that cannot
    be written (no such directory, a directory in its place, no permission) is a
    `ConfigError` naming it (exit 2); nothing is left behind."""
    import tempfile

    directory = path.parent
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # not the umask's: node_exporter may run as another user
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    with contextlib.suppress(OSError):  # the rename itself survives a power cut
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


class MetricsFile:
    """`ttai run --metrics-file FILE`: the exposition written to FILE when the process
    starts, every `every` seconds of the clock while it runs, and when it ends. A write
    that fails is logged (a warning when the reason is new, then quietly) and never
    stops anything."""

    def __init__(
        self, path: Path, service: ExpositionService, clock: Clock, every: float = REFRESH_EVERY
    ) -> None:
        self.path = path
        self.service = service
        self.clock = clock
        self.every = every
        self.writes = 0
        self._failing: str | None = None  # the last failure's reason, until a write works

    async def write(self) -> bool:
        """One refresh: read the database here (its connection belongs to this thread),
        write the file in a worker thread (an fsync may take a while on a busy disk).
        True when the file was written."""
        import asyncio

        try:
            text = self.service.text()
            await asyncio.to_thread(write_atomic, self.path, text)
        except Exception as exc:  # a full disk or a busy database must not stop the jobs
            reason = str(exc)
            if reason != self._failing:
                log.warning("metrics file not written: %s", reason)
            else:
                log.debug("metrics file not written: %s", reason)
            self._failing = reason
            return False
        if self._failing is not None:
            log.info("metrics file %s written again", self.path)
            self._failing = None
        self.writes += 1
        return True

    async def refresh(self, stop: asyncio.Event) -> None:
        """Write every `every` seconds on a fixed grid of the clock until `stop`; after
        a suspend the next write comes at once, then the grid goes on from there."""
        import asyncio

        due = self.clock.monotonic() + self.every
        while not stop.is_set():
            wait = due - self.clock.monotonic()
            if wait > 0:
                sleeper = asyncio.ensure_future(self.clock.sleep(wait))
                stopper = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
                    stopper.cancel()
                if stop.is_set():
                    return
            await self.write()
            due += self.every
            if due <= self.clock.monotonic():  # late by a whole period: no burst to catch up
                due = self.clock.monotonic() + self.every
