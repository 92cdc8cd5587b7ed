"""The local record a sync keeps: transactions and daily balance snapshots."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal

from ttai_cli.broker.models import Balances, Transaction
from ttai_cli.clock import NEW_YORK
from ttai_cli.store import Store

LAST_SYNC_KEY = "last_sync_at"
# set by migration m012: fetch transactions again from this date (rows stored before the
# order ids were kept get theirs); cleared by the sync that did
REFETCH_KEY = "transactions_refetch_from"


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _transaction(row: sqlite3.Row) -> Transaction:
    return Transaction(
        id=row["id"],
        executed_at=datetime.fromisoformat(row["executed_at"]),
        transaction_date=date.fromisoformat(row["transaction_date"]),
        transaction_type=row["type"],
        transaction_sub_type=row["sub_type"],
        description=row["description"],
        symbol=row["symbol"],
        underlying_symbol=row["underlying_symbol"],
        instrument_type=row["instrument_type"],
        action=row["action"],
        quantity=_dec(row["quantity"]),
        price=_dec(row["price"]),
        value=Decimal(row["value"]),
        net_value=Decimal(row["net_value"]),
        commission=_dec(row["commission"]),
        fees=Decimal(row["fees"]),
        order_id=row["order_id"],
    )


def _balances(row: sqlite3.Row) -> Balances:
    return Balances(
        account_number=row["account_number"],
        net_liquidating_value=Decimal(row["net_liquidating_value"]),
        cash_balance=Decimal(row["cash_balance"]),
        equity_buying_power=Decimal(row["equity_buying_power"]),
        derivative_buying_power=Decimal(row["derivative_buying_power"]),
        maintenance_requirement=Decimal(row["maintenance_requirement"]),
        pending_cash=Decimal(row["pending_cash"]),
        updated_at=datetime.fromisoformat(row["at"]),
    )


class RecordsRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- transactions --------------------------------------------------------------------------
    @staticmethod
    def save_transactions(db: sqlite3.Connection, transactions: list[Transaction]) -> int:
        """Insert or refresh transactions by id; returns how many were new."""
        known = {r[0] for r in db.execute("SELECT id FROM transactions")} if transactions else set()
        db.executemany(
            "INSERT OR REPLACE INTO transactions (id, executed_at, transaction_date, type, sub_type, description, symbol, "
            "underlying_symbol, instrument_type, action, quantity, price, value, net_value, commission, fees, order_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    t.id,
                    t.executed_at.astimezone(UTC).isoformat(),
                    t.transaction_date.isoformat(),
                    t.transaction_type,
                    t.transaction_sub_type,
                    t.description,
                    t.symbol,
                    t.underlying_symbol,
                    t.instrument_type,
                    t.action,
                    str(t.quantity) if t.quantity is not None else None,
                    str(t.price) if t.price is not None else None,
                    str(t.value),
                    str(t.net_value),
                    str(t.commission) if t.commission is not None else None,
                    str(t.fees),
                    t.order_id,
                )
                for t in transactions
            ],
        )
        return sum(1 for t in transactions if t.id not in known)

    @staticmethod
    def transactions_in(db: sqlite3.Connection, symbols: list[str]) -> list[Transaction]:
        marks = ",".join("?" * len(symbols))
        rows = db.execute(
            f"SELECT * FROM transactions WHERE symbol IN ({marks}) ORDER BY executed_at, id",
            symbols,
        )
        return [_transaction(r) for r in rows]

    def transactions_between(self, start: date, end: date) -> list[Transaction]:
        """Transactions dated start..end inclusive (New York trade dates)."""
        rows = self.store.db.execute(
            "SELECT * FROM transactions WHERE transaction_date BETWEEN ? AND ? ORDER BY executed_at, id",
            (start.isoformat(), end.isoformat()),
        )
        return [_transaction(r) for r in rows]

    def refetch_from(self) -> date | None:
        """The date the next sync must fetch transactions from at the latest, if any."""
        row = self.store.db.execute(
            "SELECT value FROM meta WHERE key = ?", (REFETCH_KEY,)
        ).fetchone()
        return date.fromisoformat(row[0]) if row else None

    @staticmethod
    def refetched(db: sqlite3.Connection, since: date) -> None:
        """A sync fetched transactions from `since`: a pending refetch from that date
        or later is done."""
        row = db.execute("SELECT value FROM meta WHERE key = ?", (REFETCH_KEY,)).fetchone()
        if row and since <= date.fromisoformat(row[0]):
            db.execute("DELETE FROM meta WHERE key = ?", (REFETCH_KEY,))

    def last_transaction_date(self) -> date | None:
        row = self.store.db.execute("SELECT max(transaction_date) FROM transactions").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    # -- balances ------------------------------------------------------------------------------
    @staticmethod
    def save_snapshot(db: sqlite3.Connection, balances: Balances, now: datetime) -> None:
        db.execute(
            "INSERT OR REPLACE INTO balance_snapshots (date, at, account_number, net_liquidating_value, cash_balance, "
            "equity_buying_power, derivative_buying_power, maintenance_requirement, pending_cash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now.astimezone(NEW_YORK).date().isoformat(),
                now.astimezone(UTC).isoformat(),
                balances.account_number,
                str(balances.net_liquidating_value),
                str(balances.cash_balance),
                str(balances.equity_buying_power),
                str(balances.derivative_buying_power),
                str(balances.maintenance_requirement),
                str(balances.pending_cash),
            ),
        )

    def latest_balances(self) -> Balances | None:
        row = self.store.db.execute(
            "SELECT * FROM balance_snapshots ORDER BY date DESC LIMIT 1"
        ).fetchone()
        return _balances(row) if row else None

    def latest_balances_by_account(self) -> list[Balances]:
        """Each account's latest daily snapshot, by account number."""
        rows = self.store.db.execute(
            "SELECT * FROM balance_snapshots b WHERE date = (SELECT max(date) FROM "
            "balance_snapshots WHERE account_number = b.account_number) ORDER BY account_number"
        )
        return [_balances(r) for r in rows]

    def snapshot_before(self, day: date) -> tuple[date, Balances] | None:
        """The last daily snapshot strictly before `day` (the previous close's record)."""
        row = self.store.db.execute(
            "SELECT * FROM balance_snapshots WHERE date < ? ORDER BY date DESC LIMIT 1",
            (day.isoformat(),),
        ).fetchone()
        return (date.fromisoformat(row["date"]), _balances(row)) if row else None

    def snapshots_between(self, start: date, end: date) -> list[tuple[date, Balances]]:
        rows = self.store.db.execute(
            "SELECT * FROM balance_snapshots WHERE date BETWEEN ? AND ? ORDER BY date",
            (start.isoformat(), end.isoformat()),
        )
        return [(date.fromisoformat(r["date"]), _balances(r)) for r in rows]

    # -- sync state ----------------------------------------------------------------------------
    @staticmethod
    def mark_synced(db: sqlite3.Connection, now: datetime) -> None:
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (LAST_SYNC_KEY, now.astimezone(UTC).isoformat()),
        )

    def last_sync(self) -> datetime | None:
        row = self.store.db.execute(
            "SELECT value FROM meta WHERE key = ?", (LAST_SYNC_KEY,)
        ).fetchone()
        return datetime.fromisoformat(row[0]).astimezone(NEW_YORK) if row else None
