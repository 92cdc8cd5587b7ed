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

    def alert_markets(self) -> frozenset[str] | None:
        from ttai_cli.alerts.rules import FAST_TYPES

        return self.context.watched_markets(FAST_TYPES)

    async def run(self, ctx: RunContext) -> str | None:
        report = await self.context.alerts().check(open_markets=self.context.open_markets(ctx))
        return report.summary()


class MonitorJob(PollingJob):
    """Every alert kind against positions and quotes, and position changes (60 s)."""

    name = "monitor"
    cadence = timedelta(seconds=60)

    def types(self) -> tuple[str, ...]:
        """Every kind, but those the stream evaluates on every tick while it is connected."""
        from ttai_cli.alerts.rules import CONDITIONS

        every = tuple(CONDITIONS)  # services.alerts.ALL_TYPES, without loading the service
        if not self.context.quotes_streamed():
            return every
        from ttai_cli.services.stream import STREAMED_TYPES

        return tuple(t for t in every if t not in STREAMED_TYPES)

    def alert_markets(self) -> frozenset[str] | None:
        return self.context.watched_markets(self.types())

    async def run(self, ctx: RunContext) -> str | None:
        from ttai_cli.services.alerts import ALL_TYPES
        from ttai_cli.services.monitor import MonitorService
        from ttai_cli.store.positions import PositionsRepository

        service = MonitorService(self.context.alerts(), PositionsRepository(self.context.store))
        types = self.types()
        report = await service.run(types, open_markets=self.context.open_markets(ctx))
        if types != ALL_TYPES:
            report.notes.append("price, change and delta alerts are left to the stream")
        return report.summary()
