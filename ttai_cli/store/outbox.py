"""The durable outbox: notifications and their per-destination deliveries.

`add()` writes inside the caller's transaction, so whatever produced the notification
(an alert marked triggered, a sync) and the notification commit together or not at all.
A delivery is `pending`, `sent`, `failed` (for good: the destination rejected it, kept
until retried or dropped) or `dropped` (given up by the user, kept for the record).

Quiet hours: a pending delivery may carry `held_until`, the end of the quiet window it was
made in. Until then it is *held*: listed as such (`Delivery.held_at(now)`), never tried (its
attempts stay untouched) and it holds back nothing behind it; from then on it is an
ordinary pending delivery, in its place in the creation order. `follow` moves (or ends)
the holds when the quiet hours configured change: quiet hours turned off, or the window
edited, let go of what the configuration in force would not hold now.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ttai_cli.errors import UsageError
from ttai_cli.logs import redact
from ttai_cli.notify.models import Notification
from ttai_cli.store import Store


@dataclass(frozen=True)
class Delivery:
    seq: int
    destination: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    notification: Notification
    held_until: datetime | None = None

    def held_at(self, now: datetime) -> bool:
        """Whether quiet hours still hold it back at `now` (it goes at `held_until`)."""
        return self.status == "pending" and self.held_until is not None and self.held_until > now


# A delivery quiet hours still hold back at the instant bound as `?` (see `_instant`).
_HELD = "(d.held_until IS NOT NULL AND d.held_until > ?)"


def _instant(moment: datetime) -> str:
    """`held_until` and the times compared with it: one fixed layout (UTC, always six
    digits of microseconds), so that comparing the text compares the instants exactly
    (SQLite's julianday() would round to the millisecond)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _row_notification(row: sqlite3.Row) -> Notification:
    return Notification(
        notification_type=row["type"],
        title=row["title"],
        body=row["body"],
        data=json.loads(row["data"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        id=row["id"],
    )


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def add(
        db: sqlite3.Connection,
        notification: Notification,
        destinations: list[str],
        key: str | None = None,
        held_until: datetime | None = None,
    ) -> bool:
        """Store `notification` with a pending delivery per destination, in the caller's
        transaction; with `held_until` (quiet hours) each waits until then. False (nothing
        stored) when `key` was already used. No destination: kept for the record only."""
        cursor = db.execute(
            "INSERT OR IGNORE INTO notifications (id, key, created_at, type, title, body, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                notification.id,
                key,
                _iso(notification.created_at),
                notification.notification_type,
                notification.title,
                notification.body,
                json.dumps(notification.data, default=str),
            ),
        )
        if cursor.rowcount == 0:
            return False
        seq = cursor.lastrowid
        db.executemany(
            "INSERT INTO deliveries (seq, destination, held_until) VALUES (?, ?, ?)",
            [(seq, d, held_until and _instant(held_until)) for d in destinations],
        )
        return True

    def pending(self, destination: str, now: datetime | None = None) -> list[Delivery]:
        """Pending deliveries for `destination`, oldest first (due now or not); given
        `now`, without those quiet hours still hold back then."""
        rows = self.store.db.execute(
            f"""
            SELECT d.*, n.id, n.created_at, n.type, n.title, n.body, n.data
            FROM deliveries d JOIN notifications n ON n.seq = d.seq
            WHERE d.destination = ? AND d.status = 'pending'
                {"" if now is None else f"AND NOT {_HELD}"}
            ORDER BY d.seq
            """,
            (destination,) if now is None else (destination, _instant(now)),
        ).fetchall()
        return [self._delivery(r) for r in rows]

    @staticmethod
    def _delivery(row: sqlite3.Row) -> Delivery:
        return Delivery(
            seq=row["seq"],
            destination=row["destination"],
            status=row["status"],
            attempts=row["attempts"],
            next_attempt_at=datetime.fromisoformat(row["next_attempt_at"])
            if row["next_attempt_at"]
            else None,
            last_error=row["last_error"],
            notification=_row_notification(row),
            held_until=datetime.fromisoformat(row["held_until"]) if row["held_until"] else None,
        )

    def mark(
        self,
        delivery: Delivery,
        status: str,
        now: datetime,
        *,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        with self.store.transaction() as db:
            db.execute(
                """
                UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?,
                    next_attempt_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END
                WHERE seq = ? AND destination = ?
                """,
                (
                    status,
                    redact(error) if error else None,  # a response may echo a secret back
                    _iso(next_attempt_at),
                    status,
                    _iso(now),
                    delivery.seq,
                    delivery.destination,
                ),
            )

    def destinations_with_pending(self, now: datetime | None = None) -> list[str]:
        """Destinations with a pending delivery; given `now`, only those with one that
        quiet hours do not hold back at `now` (something a flush could send)."""
        if now is None:
            rows = self.store.db.execute(
                "SELECT DISTINCT destination FROM deliveries d WHERE status = 'pending'"
            )
        else:
            rows = self.store.db.execute(
                f"SELECT DISTINCT destination FROM deliveries d "
                f"WHERE status = 'pending' AND NOT {_HELD}",
                (_instant(now),),
            )
        return [r[0] for r in rows]

    def held(self, now: datetime) -> tuple[int, datetime | None, datetime | None]:
        """(how many notifications quiet hours still hold back from some destination at
        `now`, when the first of them goes, when the last goes)."""
        count, first, last = self.store.db.execute(
            "SELECT COUNT(DISTINCT d.seq), MIN(d.held_until), MAX(d.held_until) "
            f"FROM deliveries d WHERE d.status = 'pending' AND {_HELD}",
            (_instant(now),),
        ).fetchone()
        return (
            count,
            datetime.fromisoformat(first) if first else None,
            datetime.fromisoformat(last) if last else None,
        )

    def follow(self, now: datetime, held_until: Callable[[str], datetime | None]) -> int:
        """Make the deliveries quiet hours hold at `now` follow the configuration in force:
        `held_until(notification_type)` is when one of that type made now would go (None:
        at once). One its type would not be held for now is let go (`held_until` = `now`,
        so the next flush sends it and `released` counts it); one held until another time
        (the window edited) waits until then. Writes only what changes; returns how many
        deliveries were let go."""
        rows = self.store.db.execute(
            "SELECT d.seq, d.destination, d.held_until, n.type "
            "FROM deliveries d JOIN notifications n ON n.seq = d.seq "
            f"WHERE d.status = 'pending' AND {_HELD}",
            (_instant(now),),
        ).fetchall()
        changes: list[tuple[str, int, str]] = []
        let_go = 0
        for row in rows:
            until = held_until(row["type"])
            moved = _instant(now if until is None else until)
            if moved != row["held_until"]:
                changes.append((moved, row["seq"], row["destination"]))
                let_go += until is None
        if changes:
            with self.store.transaction() as db:
                db.executemany(
                    "UPDATE deliveries SET held_until = ? "
                    "WHERE seq = ? AND destination = ? AND status = 'pending'",
                    changes,
                )
        return let_go

    def released(self, now: datetime) -> int:
        """How many deliveries quiet hours held and have let go by `now` that are still
        pending (no flush has sent them yet, or their destination is failing)."""
        (count,) = self.store.db.execute(
            "SELECT COUNT(*) FROM deliveries d WHERE d.status = 'pending' "
            "AND d.held_until IS NOT NULL AND d.held_until <= ?",
            (_instant(now),),
        ).fetchone()
        return int(count)

    def undelivered(self) -> list[Delivery]:
        """Pending and failed deliveries, oldest first: what `ttai notify outbox` lists."""
        rows = self.store.db.execute(
            """
            SELECT d.*, n.id, n.created_at, n.type, n.title, n.body, n.data
            FROM deliveries d JOIN notifications n ON n.seq = d.seq
            WHERE d.status IN ('pending', 'failed') ORDER BY d.seq, d.destination
            """
        ).fetchall()
        return [self._delivery(r) for r in rows]

    def delivery(self, notification_id: str, destination: str) -> Delivery | None:
        row = self.store.db.execute(
            """
            SELECT d.*, n.id, n.created_at, n.type, n.title, n.body, n.data
            FROM deliveries d JOIN notifications n ON n.seq = d.seq WHERE n.id = ? AND d.destination = ?
            """,
            (notification_id, destination),
        ).fetchone()
        return self._delivery(row) if row else None

    def pending_counts(self) -> dict[str, int]:
        """Destination -> how many of its deliveries are still waiting to go out."""
        rows = self.store.db.execute(
            "SELECT destination, COUNT(*) FROM deliveries WHERE status = 'pending' "
            "GROUP BY destination ORDER BY destination"
        )
        return {r[0]: r[1] for r in rows}

    def failed_counts(self) -> dict[str, int]:
        """Destination -> how many of its deliveries failed for good."""
        rows = self.store.db.execute(
            "SELECT destination, COUNT(*) FROM deliveries WHERE status = 'failed' "
            "GROUP BY destination ORDER BY destination"
        )
        return {r[0]: r[1] for r in rows}

    def undelivered_counts(self, now: datetime) -> dict[tuple[str, str], int]:
        """(destination, status) -> deliveries still in the outbox: every status but
        `sent` and `dropped` (pending, failed, and any other waiting state); a pending
        one that quiet hours still hold at `now` counts as `held`."""
        rows = self.store.db.execute(
            "SELECT d.destination, CASE WHEN d.status = 'pending' AND "
            f"{_HELD} THEN 'held' ELSE d.status END AS state, COUNT(*) FROM deliveries d "
            "WHERE d.status NOT IN ('sent', 'dropped') GROUP BY d.destination, state "
            "ORDER BY d.destination, state",
            (_instant(now),),
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def retry(self, ids: list[str] | None) -> list[str]:
        """Send again: the failed deliveries (of the notifications `ids`, or all of them)
        become pending, due now, with a fresh count of attempts; so do the pending ones
        of `ids`, held ones included (naming one is asking for it now, quiet hours or
        not). Returns the destinations concerned. All or nothing: an id that has no
        failed or pending delivery changes nothing (`UsageError`)."""
        with self.store.transaction() as db:
            if ids is None:
                rows = db.execute(
                    "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = NULL "
                    "WHERE status = 'failed' RETURNING destination"
                ).fetchall()
            else:
                rows = []
                for seq in self._resolve(db, ids):
                    rows += db.execute(
                        "UPDATE deliveries SET status = 'pending', attempts = 0, "
                        "next_attempt_at = NULL, held_until = NULL "
                        "WHERE seq = ? AND status IN ('pending', 'failed') "
                        "RETURNING destination",
                        (seq,),
                    ).fetchall()
        return sorted({r[0] for r in rows})

    def drop(self, ids: list[str] | None) -> int:
        """Give up: the failed deliveries (of `ids`, or all of them), and the pending ones
        of `ids`, become `dropped`. Returns how many notifications that concerned. All or
        nothing, like `retry`."""
        with self.store.transaction() as db:
            if ids is None:
                rows = db.execute(
                    "UPDATE deliveries SET status = 'dropped' WHERE status = 'failed' RETURNING seq"
                ).fetchall()
            else:
                rows = []
                for seq in self._resolve(db, ids):
                    rows += db.execute(
                        "UPDATE deliveries SET status = 'dropped' "
                        "WHERE seq = ? AND status IN ('pending', 'failed') RETURNING seq",
                        (seq,),
                    ).fetchall()
        return len({r[0] for r in rows})

    @staticmethod
    def _resolve(db: sqlite3.Connection, ids: list[str]) -> list[int]:
        """The notifications in the outbox (a failed or pending delivery) that `ids` name:
        each a full id or the start of one (`ttai notify outbox` shows 8 characters)."""
        seqs: list[int] = []
        unknown, ambiguous = [], []
        for given in ids:
            prefix = given.strip().lower()
            rows = (
                db.execute(
                    "SELECT DISTINCT n.seq FROM notifications n JOIN deliveries d ON d.seq = n.seq "
                    "WHERE substr(n.id, 1, ?) = ? AND d.status IN ('pending', 'failed')",
                    (len(prefix), prefix),
                ).fetchall()
                if prefix
                else []
            )
            if not rows:
                unknown.append(given)
            elif len(rows) > 1:
                ambiguous.append(given)
            elif rows[0][0] not in seqs:
                seqs.append(rows[0][0])
        if unknown:
            raise UsageError(
                f"no failed or pending notification with id {', '.join(unknown)} "
                "(see `ttai notify outbox`); nothing changed"
            )
        if ambiguous:
            raise UsageError(
                f"id {', '.join(ambiguous)} matches several notifications: give more of it; "
                "nothing changed"
            )
        return seqs


def enqueue_with(
    notifier: Any, db: sqlite3.Connection, notification: Notification, key: str | None
) -> bool:
    """Store `notification` through `notifier` (its destinations), or, without one, in the
    outbox with no delivery (kept for the record and `ttai notify outbox`)."""
    if notifier is None:
        return Outbox.add(db, notification, [], key)
    return bool(notifier.enqueue(db, notification, key))
