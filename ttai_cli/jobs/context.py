"""What jobs share in one process: settings, the database, the clock, the broker
factory and the notifier."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from ttai_cli.clock import Clock
from ttai_cli.config import Settings
from ttai_cli.jobs.base import Job, RunContext

if TYPE_CHECKING:
    from ttai_cli.broker.models import Broker, Quote
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.market.hours import MarketFilter, MarketHours
    from ttai_cli.scheduling.schedules import Schedule
    from ttai_cli.services.alerts import AlertsService
    from ttai_cli.services.briefings import BriefingService
    from ttai_cli.services.notifications import Notifier
    from ttai_cli.services.risk import RiskReport, RiskService
    from ttai_cli.services.sync import SyncService
    from ttai_cli.store import Store
    from ttai_cli.streaming.health import StreamHealth

QuoteSource = Callable[["Broker", list[str]], Awaitable[dict[str, "Quote"]]]


@dataclass
class JobContext:
    """Shared by the jobs of one process. Brokers come from one `SharedBroker` (one login,
    one connection pool) and, in the daemon, quotes from one short-lived `QuoteCache`."""

    settings: Settings
    store: Store
    clock: Clock
    broker_factory: Callable[[], Broker]
    quote_source: QuoteSource | None = None  # None: straight to the broker
    # the daemon's `stream` job's health: while it streams quotes, polling them is waste
    stream_health: StreamHealth | None = None
    # a line of progress for long work, on a terminal only (None under cron or journald)
    progress: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        from ttai_cli.broker.sharing import SharedBroker

        self.shared_broker = SharedBroker(self.broker_factory)

    def open_broker(self) -> Broker:
        return self.shared_broker.lease()  # type: ignore[return-value]

    async def aclose(self) -> None:
        await self.shared_broker.aclose()

    @cached_property
    def notifier(self) -> Notifier:
        """Not strict about routes: a run that sends had them checked before its first
        run (`require_credentials_for`, exit 2); one that sends nothing of its own (a
        briefing --print-only, whose sync may still store position updates) runs."""
        from ttai_cli.services.notifications import Notifier

        return Notifier(self.settings, self.store, self.clock, strict=False)

    def alerts(self, notify: bool = True) -> AlertsService:
        """The alerts service; `notify=False` for managing alerts (no notifier needed)."""
        from ttai_cli.services.alerts import AlertsService, direct_quotes
        from ttai_cli.store.alerts import AlertsRepository

        return AlertsService(
            AlertsRepository(self.store),
            self.clock,
            self.open_broker,
            self.notifier if notify else None,
            self.quote_source or direct_quotes,
            progress=self.progress,
        )

    @cached_property
    def market_hours(self) -> MarketHours:
        from ttai_cli.market.hours import MarketHours

        return MarketHours(self.store)

    def open_markets(self, ctx: RunContext) -> MarketFilter | None:
        """Which markets a run may check alerts in: those open at its slot (NYSE also at
        its closing instant). None when market hours were not consulted
        (--ignore-market-hours, the daemon's --when-closed): every alert is checked."""
        if ctx.market_open is None:
            return None
        from ttai_cli.market.hours import OpenAt

        return OpenAt(self.market_hours, ctx.slot)

    def watched_markets(self, types: tuple[str, ...]) -> frozenset[str]:
        """The markets the alerts of `types` trade on, NYSE always among them."""
        from ttai_cli.store.alerts import AlertsRepository

        return AlertsRepository(self.store).markets_watching(types)

    def quotes_streamed(self) -> bool:
        """True while this process's stream serves prices (connected, or reconnecting
        for less than 30 s): polling jobs leave price, change and delta alerts to it."""
        return self.stream_health is not None and self.stream_health.quotes_healthy()

    def sync(self) -> SyncService:
        from ttai_cli.services.sync import SyncService

        return SyncService(
            self.store, self.clock, self.open_broker, self.notifier, progress=self.progress
        )

    def risk(self) -> RiskService:
        """The portfolio risk service, its quotes through the process's quote source."""
        from ttai_cli.services.risk import RiskService

        return RiskService(self.store, self.clock, quote_source=self.quote_source)

    async def risk_report(self) -> RiskReport:
        """The portfolio's risk now (`ttai risk`, ask's `risk` tool), on a broker of its
        own, closed after."""
        return await self.risk().fetch(self.open_broker)

    def briefings(self, sync: bool = True) -> BriefingService:
        """The briefings, the morning's to-do list by config.toml's `[manage]`."""
        from ttai_cli.services.briefings import BriefingService
        from ttai_cli.services.strategies import StrategiesService

        risk = self.risk()
        manage = self.settings.file.manage
        return BriefingService(
            self.store,
            self.clock,
            self.sync() if sync else None,
            risk=lambda: risk.fetch(self.open_broker),
            strategies=StrategiesService(
                self.open_broker,
                self.clock,
                self.store,
                tested_within=manage.tested_within,
                quote_source=self.quote_source,
            ),
            manage=manage,
        )


class ContextJob(Job):
    """A job of ttai's own: it works through the process's shared `JobContext`."""

    def __init__(self, context: JobContext) -> None:
        self.context = context

    async def close(self) -> None:
        await self.context.aclose()


class PollingJob(ContextJob):
    """A market-aware job that polls every `cadence` (also its `--loop` cadence)."""

    market_aware = True
    needs_broker = True
    cadence = timedelta(seconds=60)

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        from ttai_cli.scheduling.schedules import Every

        assert self.cadence is not None
        return Every(self.cadence)
