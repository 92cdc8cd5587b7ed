"""Alerts in the database, and the one transaction that fires them.

Firing is a conditional update (`... WHERE status = 'active'`) inside a write
transaction that also stores the notification: two processes checking the same alerts
at once serialize on the write lock, and only the first one's update matches, so each
alert fires, and notifies, exactly once. A crash before the commit leaves the alert
active for the next run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ttai_cli.alerts.models import Alert, Evaluation
from ttai_cli.alerts.rules import AlertSpec
from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import UsageError
from ttai_cli.notify.models import Notification
from ttai_cli.store import Store, db_time, ny_time

Enqueue = Callable[[sqlite3.Connection, Notification, str], bool]


_iso, _time = db_time, ny_time  # the database's time form, both ways


def _alert(row: sqlite3.Row) -> Alert:
    return Alert(
        id=row["id"],
        symbol=row["symbol"],
        type=row["type"],
        condition=row["condition"],
        threshold=Decimal(row["threshold"]),
        note=row["note"],
        repeat_after=timedelta(seconds=row["repeat_after_s"]) if row["repeat_after_s"] else None,
        status=row["status"],
        created_at=_time(row["created_at"]) or datetime.now(NEW_YORK),
        triggered_at=_time(row["triggered_at"]),
        cleared_at=_time(row["cleared_at"]),
        fire_count=row["fire_count"],
        strategy=date.fromisoformat(row["strategy"]) if row["strategy"] else None,
    )


@dataclass(frozen=True)
class Firing:
    alert: Alert
    evaluation: Evaluation


@dataclass(frozen=True)
class FiredEvent:
    alert_id: int
    symbol: str
    type: str
    fired_at: datetime
    message: str
    strategy: date | None = None  # the bound strategy's expiration (None: not bound, removed)
    # the positions the firing was about, from its notification: a leg alert's position, a
    # strategy alert's legs (empty: an alert on the market or the account, or not stored)
    legs: tuple[str, ...] = ()


class AlertsRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, spec: AlertSpec, now: datetime) -> int:
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO alerts (symbol, type, condition, threshold, note, repeat_after_s, "
                "created_at, strategy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    spec.symbol,
                    spec.type,
                    spec.condition,
                    str(spec.threshold),
                    spec.note,
                    spec.repeat_after.total_seconds() if spec.repeat_after else None,
                    _iso(now),
                    spec.strategy.isoformat() if spec.strategy else None,
                ),
            )
            return int(cursor.lastrowid or 0)

    def active_duplicate(self, spec: AlertSpec) -> int | None:
        """The id of an active alert that fires exactly when `spec` would (same symbol,
        type, condition, threshold and strategy; the note and re-arming do not count), if
        any."""
        for row in self.store.db.execute(
            "SELECT id, threshold FROM alerts WHERE status = 'active' AND type = ? "
            "AND condition = ? AND symbol IS ? AND strategy IS ?",
            (
                spec.type,
                spec.condition,
                spec.symbol,
                spec.strategy.isoformat() if spec.strategy else None,
            ),
        ):
            if Decimal(row[1]) == spec.threshold:
                return int(row[0])
        return None

    def all_alerts(self, include_triggered: bool = True) -> list[Alert]:
        where = "" if include_triggered else "WHERE status = 'active'"
        return [
            _alert(r) for r in self.store.db.execute(f"SELECT * FROM alerts {where} ORDER BY id")
        ]

    def count_watching(self, types: tuple[str, ...]) -> int:
        marks = ",".join("?" * len(types))
        row = self.store.db.execute(
            f"SELECT count(*) FROM alerts WHERE type IN ({marks}) AND (status = 'active' OR repeat_after_s IS NOT NULL)",
            types,
        ).fetchone()
        return int(row[0])

    def counts(self) -> dict[tuple[str, str], int]:
        """(kind, status) -> how many alerts: status is `active` or `triggered`."""
        rows = self.store.db.execute(
            "SELECT type, status, count(*) FROM alerts GROUP BY type, status ORDER BY type, status"
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def markets_watching(self, types: tuple[str, ...]) -> frozenset[str]:
        """The markets (`instruments.market_of`) the alerts a check looks at trade on,
        NYSE always among them. Only symbols with a slash can be anything but equity,
        so the query returns none for an equity-only account."""
        from ttai_cli.market.instruments import EQUITY_ONLY, market_of

        marks = ",".join("?" * len(types))
        rows = self.store.db.execute(
            f"SELECT DISTINCT symbol FROM alerts WHERE type IN ({marks}) AND (status = 'active' OR repeat_after_s IS NOT NULL) AND instr(symbol, '/') > 0",
            types,
        )
        return EQUITY_ONLY.union(market_of(r[0]) for r in rows)

    def watching(self, types: tuple[str, ...]) -> list[Alert]:
        """Alerts a check must look at: active ones, and triggered ones that re-arm by
        themselves (to see their condition turn false again)."""
        marks = ",".join("?" * len(types))
        rows = self.store.db.execute(
            f"SELECT * FROM alerts WHERE type IN ({marks}) AND (status = 'active' OR repeat_after_s IS NOT NULL) ORDER BY id",
            types,
        )
        return [_alert(r) for r in rows]

    def _require(self, db: sqlite3.Connection, ids: list[int]) -> None:
        marks = ",".join("?" * len(ids))
        found = {r[0] for r in db.execute(f"SELECT id FROM alerts WHERE id IN ({marks})", ids)}
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise UsageError(f"no alert with id {', '.join(missing)}")

    def remove(self, ids: list[int]) -> None:
        """All or nothing: an unknown id removes none."""
        with self.store.transaction() as db:
            self._require(db, ids)
            db.executemany("DELETE FROM alerts WHERE id = ?", [(i,) for i in ids])

    def rearm(self, ids: list[int]) -> list[int]:
        """Make the triggered ones of `ids` active again (all or nothing: an unknown id
        re-arms none). Returns the ids that were active already, left as they were."""
        with self.store.transaction() as db:
            self._require(db, ids)
            marks = ",".join("?" * len(ids))
            active = {
                r[0]
                for r in db.execute(
                    f"SELECT id FROM alerts WHERE id IN ({marks}) AND status = 'active'", ids
                )
            }
            db.executemany(
                "UPDATE alerts SET status = 'active', triggered_at = NULL, cleared_at = NULL WHERE id = ?",
                [(i,) for i in ids if i not in active],
            )
        return [i for i in ids if i in active]

    def apply_cycle(
        self,
        now: datetime,
        firings: list[Firing],
        cleared: list[Alert],
        rearmed: list[Alert],
        enqueue: Enqueue,
    ) -> list[Notification]:
        """One transaction for a whole check: note conditions that turned false, re-arm
        what may re-arm, and fire what is met. Returns the notifications actually stored
        (an alert another process fired meanwhile is not fired again)."""
        stored: list[Notification] = []
        with self.store.transaction() as db:
            stamp = _iso(now)
            db.executemany(
                # only the firing this cycle looked at: another process may have re-armed
                # and fired the alert again since (`triggered_at` tells the firings apart)
                "UPDATE alerts SET cleared_at = ? WHERE id = ? AND status = 'triggered' AND cleared_at IS NULL "
                "AND triggered_at = ?",
                [(stamp, a.id, _iso(a.triggered_at)) for a in cleared],
            )
            db.executemany(
                "UPDATE alerts SET status = 'active', triggered_at = NULL, cleared_at = NULL "
                "WHERE id = ? AND status = 'triggered' AND cleared_at IS NOT NULL AND triggered_at = ?",
                [(a.id, _iso(a.triggered_at)) for a in rearmed],
            )
            for firing in firings:
                row = db.execute(
                    "UPDATE alerts SET status = 'triggered', triggered_at = ?, cleared_at = NULL, "
                    "fire_count = fire_count + 1, last_value = ? WHERE id = ? AND status = 'active' "
                    "RETURNING fire_count",
                    (stamp, str(firing.evaluation.value), firing.alert.id),
                ).fetchone()
                if row is None:
                    continue  # fired by another process, or removed, since we read it
                evaluation = firing.evaluation
                notification = Notification(
                    "alert_triggered",
                    evaluation.title,
                    evaluation.body,
                    {**evaluation.data, "alert_id": firing.alert.id, "type": firing.alert.type},
                    created_at=now.astimezone(UTC),
                )
                # m008 stops id reuse; the creation time also keeps apart alerts that reused an id before it
                key = f"alert:{firing.alert.id}:{_iso(firing.alert.created_at)}:{row[0]}"
                if enqueue(db, notification, key):
                    stored.append(notification)
                db.execute(
                    "INSERT INTO alert_events (alert_id, symbol, type, fired_at, value, message, notification_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        firing.alert.id,
                        firing.alert.symbol,
                        firing.alert.type,
                        stamp,
                        str(evaluation.value),
                        evaluation.body,
                        notification.id,
                    ),
                )
        return stored

    def fired_between(self, start: datetime, end: datetime) -> list[FiredEvent]:
        """The firings in [start, end), oldest first, each with the strategy its alert is
        bound to (while the alert exists) and the positions it was about (`legs`)."""
        rows = self.store.db.execute(
            "SELECT e.alert_id, e.symbol, e.type, e.fired_at, e.message, a.strategy, "
            "json_extract(n.data, '$.position') AS position, "
            "json_extract(n.data, '$.legs') AS legs "
            "FROM alert_events e LEFT JOIN alerts a ON a.id = e.alert_id "
            "LEFT JOIN notifications n ON n.id = e.notification_id "
            "WHERE e.fired_at >= ? AND e.fired_at < ? ORDER BY e.id",
            (_iso(start), _iso(end)),
        )
        return [
            FiredEvent(
                r["alert_id"],
                r["symbol"],
                r["type"],
                _time(r["fired_at"]) or start,
                r["message"],
                date.fromisoformat(r["strategy"]) if r["strategy"] else None,
                _legs(r["position"], r["legs"]),
            )
            for r in rows
        ]


def _legs(position: object, legs: object) -> tuple[str, ...]:
    """A firing's positions from its notification's data: `legs` (a JSON list, a strategy
    alert) or `position` (a leg alert); anything else (an older or foreign shape): none."""
    import json

    if isinstance(legs, str):
        try:
            parsed = json.loads(legs)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return tuple(str(leg) for leg in parsed)
    return (position,) if isinstance(position, str) and position else ()
