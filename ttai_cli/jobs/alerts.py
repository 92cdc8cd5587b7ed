"""`ttai alerts check` and `ttai monitor` as scheduled jobs."""

from __future__ import annotations

from datetime import timedelta

from ttai_cli.jobs.base import RunContext
from ttai_cli.jobs.context import PollingJob


class AlertsCheckJob(PollingJob):
    """Price, change and IV-rank alerts: the fast path (default loop: 30 s)."""

    name = "alerts"
    cadence = timedelta(seconds=30)

    def defer_reason(self) -> str | None:
        if self.context.quotes_streamed():
            return "prices are streamed (the stream job is connected)"
        return None

    async def run(self, ctx: RunContext) -> str | None:
        report = await self.context.alerts().check()
        return report.summary()


class MonitorJob(PollingJob):
    """Every alert kind against positions and quotes, and position changes (60 s)."""

    name = "monitor"
    cadence = timedelta(seconds=60)

    async def run(self, ctx: RunContext) -> str | None:
        from ttai_cli.services.alerts import ALL_TYPES
        from ttai_cli.services.monitor import MonitorService
        from ttai_cli.services.stream import STREAMED_TYPES
        from ttai_cli.store.positions import PositionsRepository

        service = MonitorService(self.context.alerts(), PositionsRepository(self.context.store))
        types = ALL_TYPES
        if self.context.quotes_streamed():  # the stream evaluates those on every tick
            types = tuple(t for t in ALL_TYPES if t not in STREAMED_TYPES)
        report = await service.run(types)
        if types != ALL_TYPES:
            report.notes.append("price, change and delta alerts are left to the stream")
        return report.summary()
