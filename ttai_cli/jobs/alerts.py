"""`ttai alerts check` and `ttai monitor` as scheduled jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ttai_cli.jobs.base import Job, RunContext
from ttai_cli.jobs.context import JobContext

if TYPE_CHECKING:
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.schedules import Schedule


class AlertsCheckJob(Job):
    """Price, change and IV-rank alerts: the fast path (default loop: 30 s)."""

    name = "alerts"
    market_aware = True
    cadence = timedelta(seconds=30)

    def __init__(self, context: JobContext) -> None:
        self.context = context

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        from ttai_cli.scheduling.schedules import Every

        return Every(timedelta(seconds=30))

    async def close(self) -> None:
        await self.context.aclose()

    async def run(self, ctx: RunContext) -> str | None:
        report = await self.context.alerts().check()
        return report.summary()


class MonitorJob(Job):
    """Every alert kind against positions and quotes, and position changes (60 s)."""

    name = "monitor"
    market_aware = True
    cadence = timedelta(seconds=60)

    def __init__(self, context: JobContext) -> None:
        self.context = context

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        from ttai_cli.scheduling.schedules import Every

        return Every(timedelta(seconds=60))

    async def close(self) -> None:
        await self.context.aclose()

    async def run(self, ctx: RunContext) -> str | None:
        from ttai_cli.services.monitor import MonitorService
        from ttai_cli.store.positions import PositionsRepository

        service = MonitorService(self.context.alerts(), PositionsRepository(self.context.store))
        report = await service.run()
        return report.summary()
