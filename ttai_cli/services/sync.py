"""`ttai sync`: positions, balances and transactions into the local record.

Everything is fetched first; then one write transaction stores it all, so a reader (or
a crash) never sees half a sync. Transactions are fetched incrementally, from the day of
the last stored one (a day of overlap; ids make it idempotent), or the last 90 days (or
`--since`) the first time. Position changes are detected and notified by the same code
the monitor uses, so each change is notified once whichever job sees it first; a closed
position's realised P&L comes from the stored transactions. The day's net liquidating
value and balances are kept as one snapshot per New York date, and the NLV raises the
day's high-water mark (`drawdown` alerts).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.broker.models import Broker
from ttai_cli.clock import Clock
from ttai_cli.notify.models import Notification
from ttai_cli.services.portfolio import realized_pnl
from ttai_cli.store import Store
from ttai_cli.store.highwater import HighWaterRepository
from ttai_cli.store.outbox import enqueue_with
from ttai_cli.store.positions import PositionsRepository
from ttai_cli.store.records import RecordsRepository

if TYPE_CHECKING:
    from ttai_cli.services.notifications import Notifier

log = logs.get("sync")
FIRST_SYNC_DAYS = 90


@dataclass
class SyncReport:
    positions: int
    new_transactions: int
    changes: int
    since: date

    def summary(self) -> str:
        return (
            f"{self.positions} positions, {self.new_transactions} new transactions since {self.since}, "
            f"{self.changes} position change{'' if self.changes == 1 else 's'}"
        )


PROGRESS_AFTER_DAYS = 14  # a longer download says so on a terminal


class SyncService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        open_broker: Callable[[], Broker],
        notifier: Notifier | None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.open_broker = open_broker
        self.notifier = notifier
        self.progress = progress  # a terminal's progress line; None under cron
        self.records = RecordsRepository(store)
        self.positions = PositionsRepository(store)

    def since(self, explicit: date | None) -> date:
        """`explicit`, else the day before the last stored transaction, else 90 days
        back; earlier if the store asks for a refetch (records kept before order ids)."""
        start = self._since(explicit)
        refetch = self.records.refetch_from()
        return min(start, refetch) if refetch is not None else start

    def _since(self, explicit: date | None) -> date:
        if explicit is not None:
            return explicit
        last = self.records.last_transaction_date()
        if last is not None:
            return last - timedelta(days=1)
        return self.clock.now().date() - timedelta(days=FIRST_SYNC_DAYS)

    async def run(self, since: date | None = None) -> SyncReport:
        start = self.since(since)
        days = (self.clock.now().date() - start).days
        if self.progress is not None and days > PROGRESS_AFTER_DAYS:
            self.progress(
                f"downloading {days} days of transactions (since {start:%Y-%m-%d}); "
                "a first sync can take a minute"
            )
        async with self.open_broker() as broker:
            fetched_at = self.clock.now()
            positions = await broker.positions()
            balances = await broker.balances()
            transactions = await broker.transactions(start)
        now = self.clock.now()
        with self.store.transaction() as db:
            new = self.records.save_transactions(db, transactions)
            self.records.refetched(db, start)
            closing = [
                s
                for s in self.positions.stored_quantities()
                if s not in {p.symbol for p in positions}
            ]
            realized = {}
            if closing:
                history = self.records.transactions_in(db, closing)
                for symbol in closing:
                    pnl = realized_pnl(history, symbol)
                    if pnl is not None:
                        realized[symbol] = pnl
            changes = self.positions.apply(
                db, positions, now, self._enqueue, realized, fetched_at=fetched_at
            )
            self.records.save_snapshot(db, balances, now)
            HighWaterRepository.record(
                db, balances.account_number, balances.net_liquidating_value, now
            )
            self.records.mark_synced(db, now)
        if self.notifier is not None:
            for change in changes:
                self.notifier.emit_local(change.notification)
            await self.notifier.flush()
        return SyncReport(len(positions), new, len(changes), start)

    def _enqueue(self, db: sqlite3.Connection, notification: Notification, key: str) -> bool:
        return enqueue_with(self.notifier, db, notification, key)
