"""The portfolio monitor: every alert kind against positions and quotes, and a
notification when a position is opened, closed (with realised P&L where the
transactions show it) or resized."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ttai_cli import logs
from ttai_cli.broker.models import Broker, Position
from ttai_cli.services.alerts import ALL_TYPES, AlertsService, CycleReport
from ttai_cli.services.portfolio import realized_pnl
from ttai_cli.store.positions import PositionChange, PositionsRepository

log = logs.get("monitor")


class MonitorService:
    def __init__(self, alerts: AlertsService, positions: PositionsRepository) -> None:
        self.alerts = alerts
        self.positions = positions

    async def run(self, types: tuple[str, ...] = ALL_TYPES) -> CycleReport:
        watched = self.alerts.repo.watching(types)
        async with self.alerts.open_broker() as broker:
            before = broker.stats.copy()
            current = await broker.positions()
            realized = await self._realized_for_closes(broker, current)
            view = await self.alerts.gather(broker, watched, current)
            stats = broker.stats.since(before)
        changes = self.record_positions(current, realized)
        report = await self.alerts.settle(watched, view) if watched else CycleReport()
        if not watched:
            await self.alerts.flush()
        report.position_changes = len(changes)
        report.requests = stats.requests
        report.quote_requests = stats.by_path["/market-data/by-type"]
        report.notes.append(f"{len(current)} positions")
        return report

    async def track_positions(self, broker: Broker) -> int:
        """Fetch positions and record what changed (opened, closed with realised P&L,
        resized), notifying each change once whoever sees it first (sync, monitor or the
        account stream). Returns the number of changes; delivery is the caller's flush."""
        current = await broker.positions()
        realized = await self._realized_for_closes(broker, current)
        return len(self.record_positions(current, realized))

    def record_positions(
        self, current: list[Position], realized: dict[str, Decimal]
    ) -> list[PositionChange]:
        now = self.alerts.clock.now()
        with self.positions.store.transaction() as db:
            changes = self.positions.apply(db, current, now, self.alerts.enqueue, realized)
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
