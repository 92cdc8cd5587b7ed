"""The daemon's daily backup, as a job (`backup` in `ttai status`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ttai_cli.jobs.base import RunContext
from ttai_cli.jobs.context import ContextJob

if TYPE_CHECKING:
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.schedules import Schedule


class BackupJob(ContextJob):
    """Once when the daemon starts (unless the day has a backup already), then every
    night at DAILY_AT New York time: today's backup, and those older than 7 days
    removed. The copy runs in a worker thread so that streaming and the other jobs go
    on meanwhile. A damaged database fails the copy's check: the daemon stops (exit 2)."""

    name = "backup"

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        from ttai_cli.scheduling.schedules import Daily, FirstThen, Once
        from ttai_cli.services.backup import DAILY_AT

        return FirstThen(Once(), Daily(DAILY_AT))

    async def run(self, ctx: RunContext) -> str | None:
        import asyncio

        from ttai_cli.services.backup import BackupService

        service = BackupService(self.context.settings, ctx.clock)
        report = await asyncio.to_thread(service.daily)
        return report.summary()
