"""The stream's connection state in the database, for `ttai status` in any process."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from ttai_cli.clock import elapsed
from ttai_cli.store import Store, db_time, ny_time
from ttai_cli.streaming.health import FeedHealth

STALE_AFTER_S = 10.0  # a row not rewritten for this long belongs to a stream that is gone


_iso, _time = db_time, ny_time  # the database's time form, both ways


@dataclass(frozen=True)
class FeedState:
    job: str
    feed: str
    account_number: str
    connected: bool
    idle: bool
    since: datetime | None
    reconnects: int
    events: int
    malformed: int
    last_event_at: datetime | None
    last_error: str | None
    fallback_polling: bool
    pid: int | None
    updated_at: datetime
    live: bool  # rewritten recently: the stream is still running

    def as_json(self, now: datetime) -> dict[str, object]:
        return {
            "feed": self.feed,
            "account_number": self.account_number or None,
            "connected": self.connected and self.live,
            "idle": self.idle,
            "since": self.since,
            "reconnects": self.reconnects,
            "events": self.events,
            "malformed": self.malformed,
            "last_event_at": self.last_event_at,
            "last_event_age_s": round(elapsed(now, self.last_event_at).total_seconds(), 1)
            if self.last_event_at
            else None,
            "last_error": self.last_error,
            "fallback_polling": self.fallback_polling,
            "running": self.live,
        }


class StreamStateRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def save(
        self,
        job: str,
        feeds: list[FeedHealth],
        now: datetime,
        pid: int | None,
        account_number: str = "",
        fallback_polling: bool = False,
    ) -> None:
        with self.store.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO stream_state (job, feed, account_number, connected, idle, since, "
                "connections, events, malformed, last_event_at, last_error, fallback_polling, pid, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job,
                        f.feed,
                        account_number,
                        int(f.connected),
                        int(f.idle),
                        _iso(f.since),
                        f.connections,
                        f.events,
                        f.malformed,
                        _iso(f.last_event_at),
                        f.last_error,
                        int(fallback_polling and f.feed == "market"),
                        pid,
                        _iso(now),
                    )
                    for f in feeds
                ],
            )

    def states(self, now: datetime, job: str | None = None) -> list[FeedState]:
        where, args = ("WHERE job = ?", (job,)) if job else ("", ())
        rows = self.store.db.execute(
            f"SELECT * FROM stream_state {where} ORDER BY job, account_number, feed", args
        )
        return [_state(r, now) for r in rows]


def _state(row: sqlite3.Row, now: datetime) -> FeedState:
    updated = _time(row["updated_at"]) or now
    return FeedState(
        job=row["job"],
        feed=row["feed"],
        account_number=row["account_number"],
        connected=bool(row["connected"]),
        idle=bool(row["idle"]),
        since=_time(row["since"]),
        reconnects=max(0, row["connections"] - 1),
        events=row["events"],
        malformed=row["malformed"],
        last_event_at=_time(row["last_event_at"]),
        last_error=row["last_error"],
        fallback_polling=bool(row["fallback_polling"]),
        pid=row["pid"],
        updated_at=updated,
        # a clean stop writes no pid; a killed stream stops rewriting its row
        live=row["pid"] is not None and elapsed(now, updated).total_seconds() <= STALE_AFTER_S,
    )
