"""`ttai stream` (and the daemon's `stream` job): one run per NYSE session.

The scheduling engine gives it what every job gets (lock, guard, status, restart with
backoff, SIGTERM handling): a slot at each session's open (or at once when started during
one), and the run streams until that session's close. With `--ignore-market-hours` the one
run streams until stopped. `terminate()` (SIGTERM, SIGINT) ends the run within a second.
"""

from __future__ import annotations

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


class StreamJob(ContextJob):
    name = "stream"
    market_aware = True
    needs_broker = True

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
        from ttai_cli.scheduling.sessions import SessionStreams

        return Once() if self.ignore_market_hours else SessionStreams(calendar)

    def build_service(self) -> StreamService:
        """The stream service over this job's context, health and settings."""
        from ttai_cli.broker import DEMO_BASE_URL
        from ttai_cli.config import account_streamer_url
        from ttai_cli.services.monitor import MonitorService
        from ttai_cli.services.stream import StreamService
        from ttai_cli.store.positions import PositionsRepository
        from ttai_cli.store.stream import StreamStateRepository

        context = self.context
        alerts = context.alerts()
        return StreamService(
            alerts,
            MonitorService(alerts, PositionsRepository(context.store)),
            context.clock,
            self.health,
            StreamStateRepository(context.store),
            account_streamer_url(context.settings, DEMO_BASE_URL),
            job=self.name,
            settings=self.settings,
        )

    def until(self, ctx: RunContext) -> datetime | None:
        """When this run disconnects: the close of the session its slot is in (13:00 on
        a half day), or never when market hours are ignored."""
        from ttai_cli.market.calendar import MarketCalendar

        if ctx.market_open is None:  # --ignore-market-hours: until stopped
            return None
        session = MarketCalendar(self.context.store).session_at(ctx.slot)
        return session.close if session is not None else None

    async def run(self, ctx: RunContext) -> str | None:
        import asyncio

        self._stop = asyncio.Event()
        report = await self.build_service().run(self._stop, self.until(ctx))
        return report.summary()

    async def terminate(self) -> None:
        if self._stop is not None:
            self._stop.set()
