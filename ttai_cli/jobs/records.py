"""`ttai sync` and the briefings as scheduled jobs."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import TYPE_CHECKING

from ttai_cli.jobs.base import RunContext
from ttai_cli.jobs.context import ContextJob, JobContext

if TYPE_CHECKING:
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.schedules import Schedule

SYNC_EVERY = timedelta(minutes=5)
AFTER_CLOSE = timedelta(minutes=5)
WEEKLY_AT = time(17, 0)


class SyncJob(ContextJob):
    """Positions, balances and transactions into the local record. `--loop`: every
    5 minutes while NYSE is open, and once 5 minutes after each close."""

    name = "sync"
    needs_broker = True

    def __init__(
        self, context: JobContext, since: date | None = None, every: timedelta = SYNC_EVERY
    ) -> None:
        self.context = context
        self.since = since
        self.every = every

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        from ttai_cli.scheduling.schedules import Merged
        from ttai_cli.scheduling.sessions import DuringSessions, SessionCloses

        return Merged(DuringSessions(calendar, self.every), SessionCloses(calendar, AFTER_CLOSE))

    def open_market_cadence(self) -> timedelta | None:
        return self.every

    async def run(self, ctx: RunContext) -> str | None:
        report = await self.context.sync().run(self.since)
        return report.summary()


class BriefingJob(ContextJob):
    """A briefing as a notification of type `briefing` (and a panel, from the CLI)."""

    def __init__(
        self, context: JobContext, kind: str, *, notify: bool = True, show: object = None
    ) -> None:
        self.context = context
        self.kind = kind
        self.name = f"briefing-{kind}"
        self.notify = notify
        self.sends = notify
        self.show = show  # called with each briefing built (the CLI prints it)

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        from ttai_cli.scheduling.sessions import SessionCloses, SessionOpens, WeekEnds

        if self.kind == "morning":
            return SessionOpens(calendar)
        if self.kind == "eod":
            return SessionCloses(calendar)
        return WeekEnds(calendar, WEEKLY_AT)

    async def run(self, ctx: RunContext) -> str | None:
        from ttai_cli.notify.models import Notification

        briefing = await self.context.briefings().build(self.kind)
        if callable(self.show):
            self.show(briefing)
        held = None
        if self.notify:
            held = self.context.notifier.held_now("briefing")
            notification = Notification(
                "briefing", briefing.title, briefing.text(), {"kind": self.kind, **briefing.data}
            )
            notifier = self.context.notifier
            with self.context.store.transaction() as db:
                notifier.enqueue(db, notification, f"briefing:{self.kind}:{ctx.slot.isoformat()}")
            # printed by the CLI already: only the outputs a route names, and stderr JSON when named
            notifier.emit_local(notification, shown=callable(self.show))
            await notifier.flush()
        if not self.notify:
            return f"{briefing.title} (printed only)"
        if held is not None:  # stored, and sent when quiet hours end
            from ttai_cli.clock import NEW_YORK

            return f"{briefing.title} (held until {held.astimezone(NEW_YORK):%H:%M})"
        return f"{briefing.title} (notified)"
