"""The portfolio monitor: every alert kind against positions and quotes, a
notification when a position is opened, closed (with realised P&L where the
transactions show it) or resized, and the built-in assignment warnings
(`alerts/assignment.py`), each once per position, reason and New York day.

The warnings cost nothing without short options: the underlyings of short calls and of
short options expiring today join the cycle's one batched quotes request; dividend
dates (the day-cached market metrics) and the NYSE calendar are consulted only for
short calls in the money."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.alerts import assignment
from ttai_cli.broker.models import Broker, MarketMetric, Position
from ttai_cli.services.alerts import ALL_TYPES, AlertsService, CycleReport
from ttai_cli.services.portfolio import realized_pnl
from ttai_cli.store.positions import PositionChange, PositionsRepository

if TYPE_CHECKING:
    from ttai_cli.alerts.evaluate import MarketView
    from ttai_cli.market.hours import MarketFilter

log = logs.get("monitor")


class MonitorService:
    def __init__(self, alerts: AlertsService, positions: PositionsRepository) -> None:
        self.alerts = alerts
        self.positions = positions

    async def run(
        self, types: tuple[str, ...] = ALL_TYPES, open_markets: MarketFilter | None = None
    ) -> CycleReport:
        """One monitor cycle: positions, then the alerts of `types` (with
        `open_markets`, those whose market is open) and the assignment warnings (with
        `open_markets`, while NYSE is open: they are about equity options)."""
        from ttai_cli.market.instruments import EQUITY
        from ttai_cli.services.alerts import admitted

        watched = self.alerts.repo.watching(types)
        waiting: dict[str, int] = {}
        if open_markets is not None and watched:
            watched, waiting = admitted(watched, open_markets)
        warn = open_markets is None or open_markets(EQUITY)
        today = self.alerts.clock.now().date()
        async with self.alerts.open_broker() as broker:
            before = broker.stats.copy()
            fetched_at = self.alerts.clock.now()
            current = await broker.positions()
            realized = await self._realized_for_closes(broker, current)
            underlyings = assignment.underlyings_to_price(current, today) if warn else []
            view = await self.alerts.gather(broker, watched, current, underlyings)
            dividends = await self._dividends(current, view) if warn else {}
            stats = broker.stats.since(before)
        changes = self.record_positions(current, realized, fetched_at)
        warnings = self.warn_assignment(current, view, dividends) if underlyings else 0
        report = await self.alerts.settle(watched, view) if watched else CycleReport()
        if not watched:
            await self.alerts.flush()
        report.position_changes = len(changes)
        report.requests = stats.requests
        report.quote_requests = stats.by_path["/market-data/by-type"]
        report.notes.append(f"{len(current)} positions")
        report.wait_for_markets(waiting)
        if warnings:
            report.notes.append(f"{warnings} assignment warning{'' if warnings == 1 else 's'}")
        return report

    async def _dividends(
        self, current: list[Position], view: MarketView
    ) -> dict[str, MarketMetric]:
        """Dividend dates of the underlyings with a short call in the money."""
        prices = _prices(view)
        symbols = assignment.calls_for_dividends(current, prices)
        return await self.alerts.daily_metrics(symbols) if symbols else {}

    def warn_assignment(
        self, current: list[Position], view: MarketView, dividends: dict[str, MarketMetric]
    ) -> int:
        """Store the day's assignment warnings (each once per position, reason and New
        York day, whoever sees it first); returns how many are new."""
        from ttai_cli.market.calendar import MarketCalendar

        now = self.alerts.clock.now()
        today = now.date()
        next_session = (
            MarketCalendar(self.positions.store).next_session(today).date if dividends else None
        )
        marks = {v.symbol: v.mark for v in view.positions if v.mark is not None}
        risks = assignment.assignment_risks(
            current, _prices(view), marks, dividends, today, next_session
        )
        if not risks:
            return 0
        stored = []
        with self.positions.store.transaction() as db:
            for risk in risks:
                notification = risk.notification(now)
                if self.alerts.enqueue(db, notification, risk.key(today)):
                    stored.append(notification)
        notifier = self.alerts.notifier
        if notifier is not None:
            for notification in stored:
                notifier.emit_local(notification)
        for notification in stored:
            log.warning("%s", notification.body)
        return len(stored)

    async def track_positions(self, broker: Broker) -> int:
        """Fetch positions and record what changed (opened, closed with realised P&L,
        resized), notifying each change once whoever sees it first (sync, monitor or the
        account stream). Returns the number of changes; delivery is the caller's flush."""
        fetched_at = self.alerts.clock.now()
        current = await broker.positions()
        realized = await self._realized_for_closes(broker, current)
        return len(self.record_positions(current, realized, fetched_at))

    def record_positions(
        self,
        current: list[Position],
        realized: dict[str, Decimal],
        fetched_at: datetime | None = None,
    ) -> list[PositionChange]:
        now = self.alerts.clock.now()
        with self.positions.store.transaction() as db:
            changes = self.positions.apply(
                db, current, now, self.alerts.enqueue, realized, fetched_at=fetched_at
            )
        notifier = self.alerts.notifier
        if notifier is not None:
            for change in changes:
                notifier.emit_local(change.notification)
        return changes

    async def _realized_for_closes(
        self, broker: Broker, current: list[Position]
    ) -> dict[str, Decimal]:
        """Realised P&L of positions that disappeared since the last look (one
        transactions request, only when something closed)."""
        if not self.positions.has_baseline():
            return {}
        held = {p.symbol for p in current}
        closed = [p for p in self.positions.stored() if p.symbol not in held]
        if not closed:
            return {}
        opened = [p.opened_at for p in closed if p.opened_at is not None]
        since = (
            min(opened) if opened else self.alerts.clock.now() - timedelta(days=90)
        ) - timedelta(days=1)
        transactions = await broker.transactions(
            since.date() if isinstance(since, datetime) else since
        )
        found = {}
        for p in closed:
            pnl = realized_pnl(transactions, p.symbol)
            if pnl is not None:
                found[p.symbol] = pnl
        return found


def _prices(view: MarketView) -> dict[str, Decimal]:
    return {s: q.price for s, q in view.quotes.items() if q.price is not None}
