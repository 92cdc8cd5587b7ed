"""The positions as last seen, and the changes between two looks.

`monitor` and `sync` both call `apply()`: inside one write transaction it compares what
the broker returned with the stored copy, replaces the copy, records each change
(opened, closed, resized) and enqueues its notification. Whichever job sees a change
first notifies it; the other then sees no change. The very first look records a
baseline without notifying.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from ttai_cli.broker.models import Position
from ttai_cli.broker.symbols import readable
from ttai_cli.clock import NEW_YORK
from ttai_cli.notify.models import Notification
from ttai_cli.store import Store, db_time, ny_time

Enqueue = Callable[[sqlite3.Connection, Notification, str], bool]
BASELINE_KEY = "positions_baseline"
FETCHED_KEY = "positions_fetched_at"  # when the positions last applied were fetched


_iso, _time = db_time, ny_time  # the database's time form, both ways


def position_label(symbol: str, today: date | None = None) -> str:
    """The readable name of a held symbol (`QQQ 11/27 465P`, `AAPL`)."""
    return readable(symbol, today)


def _quantity(q: Decimal) -> str:
    return f"{q.normalize():f}"


@dataclass(frozen=True)
class PositionChange:
    change: str  # opened, closed, resized
    symbol: str
    underlying_symbol: str
    before: Decimal | None
    after: Decimal | None
    realized_pnl: Decimal | None
    notification: Notification


class PositionsRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def stored(self) -> list[Position]:
        return [
            self._position(r)
            for r in self.store.db.execute("SELECT * FROM positions ORDER BY symbol")
        ]

    def stored_quantities(self) -> dict[str, Decimal]:
        return {
            r[0]: Decimal(r[1])
            for r in self.store.db.execute("SELECT symbol, quantity FROM positions")
        }

    def has_baseline(self) -> bool:
        return (
            self.store.db.execute("SELECT 1 FROM meta WHERE key = ?", (BASELINE_KEY,)).fetchone()
            is not None
        )

    @staticmethod
    def _position(row: sqlite3.Row) -> Position:
        return Position(
            symbol=row["symbol"],
            underlying_symbol=row["underlying_symbol"],
            instrument_type=row["instrument_type"],
            quantity=Decimal(row["quantity"]),
            average_open_price=Decimal(row["average_open_price"]),
            close_price=Decimal(row["close_price"] or "0"),
            multiplier=Decimal(row["multiplier"]),
            mark=Decimal(row["mark"]) if row["mark"] else None,
            expires_at=_time(row["expires_at"]),
            opened_at=_time(row["opened_at"]),
        )

    def apply(
        self,
        db: sqlite3.Connection,
        positions: list[Position],
        now: datetime,
        enqueue: Enqueue,
        realized: dict[str, Decimal] | None = None,
        fetched_at: datetime | None = None,
    ) -> list[PositionChange]:
        """Replace the stored positions with `positions` in the caller's transaction;
        record and notify what changed (nothing on the first look: a baseline).

        `fetched_at` is when `positions` were asked for: a look older than the one already
        applied (sync, monitor and the stream fetch concurrently, in one process or
        several) is dropped, so a slow fetch can never undo a newer one and notify a
        position as closed and then opened again."""
        if fetched_at is not None:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (FETCHED_KEY,)).fetchone()
            if row is not None and datetime.fromisoformat(row[0]) > fetched_at.astimezone(UTC):
                return []
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (FETCHED_KEY, _iso(fetched_at)),
            )
        realized = realized or {}
        baseline = (
            db.execute("SELECT 1 FROM meta WHERE key = ?", (BASELINE_KEY,)).fetchone() is None
        )
        before = {r["symbol"]: self._position(r) for r in db.execute("SELECT * FROM positions")}
        after = {p.symbol: p for p in positions}
        changes: list[PositionChange] = []
        if not baseline:
            for symbol, position in after.items():
                old = before.get(symbol)
                if old is None:
                    changes.append(
                        self._change("opened", position, None, position.quantity, None, now)
                    )
                elif old.quantity != position.quantity:
                    changes.append(
                        self._change(
                            "resized", position, old.quantity, position.quantity, None, now
                        )
                    )
            for symbol, old in before.items():
                if symbol not in after:
                    changes.append(
                        self._change("closed", old, old.quantity, None, realized.get(symbol), now)
                    )
        db.execute("DELETE FROM positions")
        db.executemany(
            "INSERT INTO positions (symbol, underlying_symbol, instrument_type, quantity, average_open_price, "
            "close_price, multiplier, mark, expires_at, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    p.symbol,
                    p.underlying_symbol,
                    p.instrument_type,
                    str(p.quantity),
                    str(p.average_open_price),
                    str(p.close_price),
                    str(p.multiplier),
                    str(p.mark) if p.mark is not None else None,
                    _iso(p.expires_at),
                    _iso(p.opened_at),
                    _iso(now),
                )
                for p in positions
            ],
        )
        if baseline:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (BASELINE_KEY, _iso(now))
            )
        for change in changes:
            db.execute(
                "INSERT INTO position_events (at, symbol, underlying_symbol, change, quantity_before, quantity_after, "
                "realized_pnl, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _iso(now),
                    change.symbol,
                    change.underlying_symbol,
                    change.change,
                    str(change.before) if change.before is not None else None,
                    str(change.after) if change.after is not None else None,
                    str(change.realized_pnl) if change.realized_pnl is not None else None,
                    change.notification.body,
                ),
            )
            key = f"position:{change.change}:{change.symbol}:{_iso(now)}"
            enqueue(db, change.notification, key)
        return changes

    @staticmethod
    def _change(
        kind: str,
        position: Position,
        before: Decimal | None,
        after: Decimal | None,
        realized: Decimal | None,
        now: datetime,
    ) -> PositionChange:
        name = position_label(position.symbol, now.astimezone(NEW_YORK).date())
        unit = (
            ""
            if "Option" in position.instrument_type
            else " shares"
            if position.instrument_type == "Equity"
            else ""
        )
        if kind == "opened":
            assert after is not None
            side = "Sold" if after < 0 else "Bought"
            title = f"Position opened: {name}"
            body = f"{side} {_quantity(abs(after))}{unit} {name} at ${position.average_open_price:,.2f}"
        elif kind == "closed":
            title = f"Position closed: {name}"
            pnl = (
                "realised P&L unknown"
                if realized is None
                else f"realised P&L {'+' if realized >= 0 else '-'}${abs(realized):,.2f}"
            )
            body = f"Closed {name} (was {_quantity(before or Decimal(0))}{unit}); {pnl}"
        else:
            title = f"Position changed: {name}"
            body = (
                f"{name} {_quantity(before or Decimal(0))} → {_quantity(after or Decimal(0))}{unit}"
            )
        data = {
            "symbol": position.symbol,
            "underlying_symbol": position.underlying_symbol,
            "change": kind,
            "quantity_before": float(before) if before is not None else None,
            "quantity_after": float(after) if after is not None else None,
            "realized_pnl": float(realized) if realized is not None else None,
        }
        notification = Notification(
            "position_update", title, body, data, created_at=now.astimezone(UTC)
        )
        return PositionChange(
            kind, position.symbol, position.underlying_symbol, before, after, realized, notification
        )

    def events_between(self, start: datetime, end: datetime) -> list[PositionChange]:
        rows = self.store.db.execute(
            "SELECT * FROM position_events WHERE at >= ? AND at < ? ORDER BY id",
            (_iso(start), _iso(end)),
        )
        return [
            PositionChange(
                r["change"],
                r["symbol"],
                r["underlying_symbol"],
                Decimal(r["quantity_before"]) if r["quantity_before"] else None,
                Decimal(r["quantity_after"]) if r["quantity_after"] else None,
                Decimal(r["realized_pnl"]) if r["realized_pnl"] else None,
                Notification(
                    "position_update",
                    r["message"],
                    r["message"],
                    created_at=datetime.fromisoformat(r["at"]),
                ),
            )
            for r in rows
        ]
