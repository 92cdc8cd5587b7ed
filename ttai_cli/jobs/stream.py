"""`ttai stream` (and the daemon's `stream` job): one run per NYSE session.

The scheduling engine gives it what every job gets (lock, guard, status, restart with
backoff, SIGTERM handling): a slot at each session's open (or at once when started during
one), and the run streams until that session's close. With alerts on futures or crypto,
a run lasts while any market with an active alert is open (`MarketStreams`), and each
alert is evaluated only while its own market is open. With `--ignore-market-hours` the one
run streams until stopped. `terminate()` (SIGTERM, SIGINT) ends the run within a second.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from ttai_cli.jobs.base import RunContext
from ttai_cli.jobs.context import ContextJob, JobContext

if TYPE_CHECKING:
    import asyncio
    from datetime import datetime

    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.schedules import Schedule
    from ttai_cli.services.stream import StreamService, StreamSettings
    from ttai_cli.streaming.health import StreamHealth


# day orders expire, and closing-auction fills report, just after the close: the account
# feed stays a while longer than the market data
AFTER_THE_CLOSE = timedelta(minutes=15)
# seconds a feed may be down (reconnecting) and the stream still count as healthy
LIVENESS_GRACE = 60.0


class StreamJob(ContextJob):
    name = "stream"
    market_aware = True
    needs_broker = True
    # the calendar decides: a live "is it open?" that lags at 09:30:00 must not skip the
    # only slot of the day (the stream itself needs no confirmation to connect)
    confirm_live = False

    def __init__(
        self,
        context: JobContext,
        settings: StreamSettings | None = None,
        *,
        ignore_market_hours: bool = False,
    ) -> None:
        super().__init__(context)
        self.ignore_market_hours = ignore_market_hours
        from ttai_cli.streaming.health import StreamHealth

        self.settings = settings
        self.health: StreamHealth = StreamHealth.new(context.clock)
        self._stop: asyncio.Event | None = None

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        from ttai_cli.scheduling.schedules import Once
        from ttai_cli.scheduling.sessions import MarketStreams

        return Once() if self.ignore_market_hours else MarketStreams(calendar, self.alert_markets)

    def alert_markets(self) -> frozenset[str] | None:
        """The markets of the alerts it streams (and polls, standalone), NYSE among them."""
        from ttai_cli.services.stream import STREAMED_TYPES, StreamSettings

        slow = (self.settings or StreamSettings()).slow_kinds
        return self.context.watched_markets(STREAMED_TYPES + slow)

    def build_service(self, ctx: RunContext | None = None) -> StreamService:
        """The stream service over this job's context, health and settings; for a run
        that keeps market hours (`ctx.market_open` set), each alert is evaluated only
        while its own market is open."""
        from ttai_cli.broker import DEMO_BASE_URL
        from ttai_cli.config import account_streamer_url
        from ttai_cli.market.hours import OpenNow
        from ttai_cli.services.monitor import MonitorService
        from ttai_cli.services.stream import StreamService
        from ttai_cli.store.positions import PositionsRepository
        from ttai_cli.store.stream import StreamStateRepository

        context = self.context
        alerts = context.alerts()
        keeps_hours = ctx is not None and ctx.market_open is not None
        return StreamService(
            alerts,
            MonitorService(alerts, PositionsRepository(context.store)),
            context.clock,
            self.health,
            StreamStateRepository(context.store),
            account_streamer_url(context.settings, DEMO_BASE_URL),
            job=self.name,
            settings=self.settings,
            open_markets=OpenNow(context.market_hours, context.clock) if keeps_hours else None,
        )

    def until(self, ctx: RunContext, moment: datetime | None = None) -> datetime | None:
        """When this run disconnects: the close of the NYSE session its slot is in
        (13:00 on a half day); with alerts on other markets, the end of the stretch
        during which one of them stays open (never, with a crypto alert); never when
        market hours are ignored. `moment` (default: the slot) asks again later on."""
        from ttai_cli.market.instruments import EQUITY_ONLY

        if ctx.market_open is None:  # --ignore-market-hours: until stopped
            return None
        at = moment or ctx.slot
        markets = self.alert_markets() or EQUITY_ONLY
        if markets == EQUITY_ONLY:
            session = self.context.market_hours.equity.session_at(at)
            if session is None and moment is not None:
                return moment  # NYSE has closed and nothing else is watched: done
            return session.close if session is not None else None
        return self.context.market_hours.open_until(markets, at)

    def horizon(self, ctx: RunContext) -> Callable[[], datetime | None] | None:
        """`until`, asked again from time to time while the run lasts: an alert added
        on another market keeps the stream connected while that market is open, and
        the last crypto alert removed lets it end. None when market hours are ignored."""
        if ctx.market_open is None:
            return None
        clock = self.context.clock
        return lambda: self.until(ctx, clock.now())

    async def run(self, ctx: RunContext) -> str | None:
        """Stream until the session's close (or a stop). A failure (tastytrade unreachable
        at the open, a busy database) starts the stream again after 1 s, 2 s, 4 s ... up
        to a minute, for as long as the session lasts: a bad minute at 09:30 must not
        cost the whole day. A rejected refresh token ends the run (exit 2 on a first run)."""
        import asyncio

        from ttai_cli import logs
        from ttai_cli.clock import elapsed
        from ttai_cli.errors import CredentialsError

        log = logs.get("stream")
        until = self.until(ctx)
        clock = self.context.clock
        self._stop = stop = asyncio.Event()
        delay, restarts = 1.0, 0
        while True:
            if restarts:  # the markets watched may have changed since the last try
                until = self.until(ctx, clock.now()) if ctx.market_open is not None else None
            account_until = until + AFTER_THE_CLOSE if until is not None else None
            try:
                report = await self.build_service(ctx).run(
                    stop, until, account_until, horizon=self.horizon(ctx)
                )
            except CredentialsError:
                raise
            except Exception as exc:
                left = None if until is None else elapsed(until, clock.now()).total_seconds()
                if stop.is_set() or (left is not None and left <= delay):
                    raise
                restarts += 1
                log.error(
                    "stream failed (%s); starting again in %.0fs",
                    logs.redact(f"{exc.__class__.__name__}: {exc}"),
                    delay,
                )
                sleeper = asyncio.ensure_future(clock.sleep(delay))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                sleeper.cancel()
                stopper.cancel()
                if stop.is_set():
                    return f"stopped after {restarts} restarts"
                delay = min(delay * 2, 60.0)
                continue
            if restarts:
                report.notes.append(f"{restarts} restart{'' if restarts == 1 else 's'}")
            return report.summary()

    def liveness(self) -> str | None:
        """The keep-alive line a ping sends while the run streams (`services/pings.py`);
        None while a feed has been down longer than a reconnect takes, so that the check
        hears nothing and, past its grace, says so."""
        health = self.health
        if not health.running:
            return None
        now = self.context.clock.now()
        parts = []
        for feed in (health.market, health.account):
            if feed.idle:
                parts.append(f"{feed.feed} feed idle (nothing to watch)")
                continue
            if not feed.connected and feed.down_for(now) >= LIVENESS_GRACE:
                return None
            state = "connected" if feed.connected else "reconnecting"
            parts.append(f"{feed.feed} feed {state}, {feed.events} events")
        return "streaming: " + "; ".join(parts)

    async def terminate(self) -> None:
        if self._stop is not None:
            self._stop.set()
