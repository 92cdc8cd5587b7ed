"""Job health in the database: counters per job, and a row per run, skip or failure.

Each method is one short transaction, so `ttai status` in another process always sees a
consistent state while a loop writes.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ttai_cli.clock import NEW_YORK, elapsed
from ttai_cli.store import Store

RUN_HISTORY_DAYS = 30


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(NEW_YORK).isoformat() if moment is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(NEW_YORK) if value else None


def _count_result(
    db: sqlite3.Connection, job: str, result: str, now: datetime, count: int = 1
) -> None:
    """Add `count` to the job's lifetime tally of `result` (`job_results`, never pruned:
    `ttai metrics` exports it as a counter), in the caller's transaction."""
    db.execute(
        "INSERT INTO job_results (job, result, count, last_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (account_number, job, result) DO UPDATE SET "
        "count = count + excluded.count, last_at = excluded.last_at",
        (job, result, count, now.astimezone(UTC).isoformat()),
    )


@dataclass(frozen=True)
class JobStatus:
    """One row of `ttai status` (SPEC JSON shape), plus what the daemon adds later."""

    job: str
    runs: int
    errors: int
    skipped: int
    last_started_at: datetime | None
    last_duration_s: float | None
    last_result: str | None
    last_error: str | None
    next_run_at: datetime | None
    running_pid: int | None
    paused: bool
    restarts: int = 0
    heartbeat_at: datetime | None = None
    state: str = "idle"  # idle, running, paused, stalled


@dataclass(frozen=True)
class ResultTally:
    """How often a job ended with `result` (ok, error, timeout, cancelled, skipped) since
    the database began counting, and when it last did."""

    job: str
    result: str
    count: int
    last_at: datetime | None


@dataclass(frozen=True)
class RunRecord:
    job: str
    slot: datetime | None
    started_at: datetime
    finished_at: datetime | None
    result: str
    reason: str | None
    error: str | None
    count: int


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobsRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _ensure(db: sqlite3.Connection, job: str) -> None:
        db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))

    # -- the process holding a job -----------------------------------------------------------
    def claim(self, job: str, pid: int, now: datetime, heartbeat_s: float | None = None) -> None:
        with self.store.transaction() as db:
            self._ensure(db, job)
            db.execute(
                "UPDATE jobs SET running_pid = ?, heartbeat_at = ?, heartbeat_s = ?, updated_at = ? WHERE job = ?",
                (pid, _iso(now), heartbeat_s, _iso(now), job),
            )
            cutoff = (now - timedelta(days=RUN_HISTORY_DAYS)).astimezone(UTC).isoformat()
            db.execute("DELETE FROM job_runs WHERE job = ? AND started_at < ?", (job, cutoff))

    def release(self, job: str, pid: int, now: datetime) -> None:
        with self.store.transaction() as db:
            db.execute(
                "UPDATE jobs SET running_pid = NULL, next_run_at = NULL, updated_at = ? WHERE job = ? AND running_pid = ?",
                (_iso(now), job, pid),
            )

    def heartbeat(self, job: str, now: datetime, next_run_at: datetime | None = None) -> None:
        """A sign of life; `next_run_at` too when given."""
        with self.store.transaction() as db:
            self._ensure(db, job)
            if next_run_at is None:
                db.execute("UPDATE jobs SET heartbeat_at = ? WHERE job = ?", (_iso(now), job))
            else:
                db.execute(
                    "UPDATE jobs SET heartbeat_at = ?, next_run_at = ?, updated_at = ? WHERE job = ?",
                    (_iso(now), _iso(next_run_at), _iso(now), job),
                )

    def restarted(self, job: str, now: datetime, error: str) -> None:
        with self.store.transaction() as db:
            self._ensure(db, job)
            db.execute(
                "UPDATE jobs SET restarts = restarts + 1, last_error = ?, updated_at = ? WHERE job = ?",
                (error, _iso(now), job),
            )

    # -- runs --------------------------------------------------------------------------------
    def run_started(self, job: str, slot: datetime, now: datetime, pid: int) -> int:
        with self.store.transaction() as db:
            self._ensure(db, job)
            db.execute(
                "UPDATE jobs SET last_started_at = ?, heartbeat_at = ?, updated_at = ? WHERE job = ?",
                (_iso(now), _iso(now), _iso(now), job),
            )
            cursor = db.execute(
                "INSERT INTO job_runs (job, slot, started_at, result, pid) VALUES (?, ?, ?, 'running', ?)",
                (job, _iso(slot), now.astimezone(UTC).isoformat(), pid),
            )
            return int(cursor.lastrowid or 0)

    def run_finished(
        self,
        run_id: int,
        job: str,
        *,
        result: str,
        now: datetime,
        duration_s: float,
        error: str | None = None,
        slot: datetime | None = None,
        remember_slot: bool = False,
    ) -> tuple[int, int]:
        """`result`: ok, error, timeout or cancelled. `remember_slot` marks the slot as
        done for --catch-up. Returns the failure streak (consecutive failed runs, across
        processes) before and after this run; a cancelled run neither ends nor extends it."""
        failed = result not in ("ok", "cancelled")
        with self.store.transaction() as db:
            row = db.execute("SELECT failure_streak FROM jobs WHERE job = ?", (job,)).fetchone()
            before = int(row[0]) if row else 0
            after = before + 1 if failed else 0 if result == "ok" else before
            db.execute("UPDATE jobs SET failure_streak = ? WHERE job = ?", (after, job))
            db.execute(
                "UPDATE job_runs SET finished_at = ?, duration_s = ?, result = ?, error = ? WHERE id = ?",
                (now.astimezone(UTC).isoformat(), duration_s, result, error, run_id),
            )
            db.execute(
                """
                UPDATE jobs SET runs = runs + 1, errors = errors + ?, last_finished_at = ?,
                    last_duration_s = ?, last_result = ?, last_error = ?, heartbeat_at = ?, updated_at = ?
                WHERE job = ?
                """,
                (int(failed), _iso(now), duration_s, result, error, _iso(now), _iso(now), job),
            )
            if remember_slot and slot is not None:
                db.execute("UPDATE jobs SET last_slot = ? WHERE job = ?", (_iso(slot), job))
            _count_result(db, job, result, now)
        return before, after

    def skipped(
        self,
        job: str,
        slot: datetime,
        reason: str,
        now: datetime,
        pid: int,
        count: int = 1,
        remember_slot: bool = False,
    ) -> None:
        """Record `count` skipped slots; consecutive skips for the same reason share a row."""
        with self.store.transaction() as db:
            self._ensure(db, job)
            last = db.execute(
                "SELECT id, result, reason FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT 1",
                (job,),
            ).fetchone()
            stamp = now.astimezone(UTC).isoformat()
            if last is not None and last["result"] == "skipped" and last["reason"] == reason:
                db.execute(
                    "UPDATE job_runs SET count = count + ?, finished_at = ?, slot = ? WHERE id = ?",
                    (count, stamp, _iso(slot), last["id"]),
                )
            else:
                db.execute(
                    "INSERT INTO job_runs (job, slot, started_at, finished_at, result, reason, pid, count) "
                    "VALUES (?, ?, ?, ?, 'skipped', ?, ?, ?)",
                    (job, _iso(slot), stamp, stamp, reason, pid, count),
                )
            db.execute(
                "UPDATE jobs SET skipped = skipped + ?, heartbeat_at = ?, updated_at = ? WHERE job = ?",
                (count, _iso(now), _iso(now), job),
            )
            if remember_slot:
                db.execute("UPDATE jobs SET last_slot = ? WHERE job = ?", (_iso(slot), job))
            _count_result(db, job, "skipped", now, count)

    def last_success(self, job: str) -> datetime | None:
        """When the latest run of `job` that ended ok started (New York time); None if
        none did in the runs kept (30 days). A run still going is not counted."""
        row = self.store.db.execute(
            "SELECT started_at FROM job_runs WHERE job = ? AND result = 'ok' "
            "ORDER BY id DESC LIMIT 1",
            (job,),
        ).fetchone()
        return _parse(row[0]) if row else None

    def last_slot(self, job: str) -> datetime | None:
        row = self.store.db.execute("SELECT last_slot FROM jobs WHERE job = ?", (job,)).fetchone()
        return _parse(row[0]) if row else None

    # -- pause / resume ----------------------------------------------------------------------
    def set_paused(self, job: str, paused: bool, now: datetime) -> None:
        with self.store.transaction() as db:
            self._ensure(db, job)
            db.execute(
                "UPDATE jobs SET paused = ?, updated_at = ? WHERE job = ?",
                (int(paused), _iso(now), job),
            )

    def is_paused(self, job: str) -> bool:
        row = self.store.db.execute("SELECT paused FROM jobs WHERE job = ?", (job,)).fetchone()
        return bool(row and row[0])

    # -- reading -----------------------------------------------------------------------------
    def known_jobs(self) -> list[str]:
        return [r[0] for r in self.store.db.execute("SELECT job FROM jobs ORDER BY job")]

    def statuses(self, now: datetime | None = None) -> list[JobStatus]:
        """Every job; `state` is stalled when a live loop missed three heartbeats."""
        rows = self.store.db.execute("SELECT * FROM jobs ORDER BY job").fetchall()
        result = []
        for r in rows:
            pid = r["running_pid"] if pid_alive(r["running_pid"]) else None
            beat = _parse(r["heartbeat_at"])
            state = "paused" if r["paused"] else "running" if pid else "idle"
            missed = (
                now is not None
                and beat is not None
                and elapsed(now, beat).total_seconds() > 3 * (r["heartbeat_s"] or 0)
            )
            if pid and r["heartbeat_s"] and missed:
                state = "stalled"
            result.append(
                JobStatus(
                    job=r["job"],
                    runs=r["runs"],
                    errors=r["errors"],
                    skipped=r["skipped"],
                    last_started_at=_parse(r["last_started_at"]),
                    last_duration_s=r["last_duration_s"],
                    last_result=r["last_result"],
                    last_error=r["last_error"],
                    next_run_at=_parse(r["next_run_at"]) if pid else None,
                    running_pid=pid,
                    paused=bool(r["paused"]),
                    restarts=r["restarts"],
                    heartbeat_at=beat,
                    state=state,
                )
            )
        return result

    def tallies(self) -> list[ResultTally]:
        """Every job's lifetime count of runs by result (skipped slots included), by job
        and result. Unlike `job_runs` these are never pruned, and never go down."""
        rows = self.store.db.execute(
            "SELECT job, result, sum(count), max(last_at) FROM job_results "
            "GROUP BY job, result ORDER BY job, result"
        )
        return [ResultTally(r[0], r[1], int(r[2]), _parse(r[3])) for r in rows]

    def failure_streaks(self) -> dict[str, int]:
        """Job -> its consecutive failed runs now (0 once a run works)."""
        rows = self.store.db.execute("SELECT job, failure_streak FROM jobs ORDER BY job")
        return {r[0]: int(r[1]) for r in rows}

    def history(self, job: str, limit: int = 20) -> list[RunRecord]:
        rows = self.store.db.execute(
            "SELECT * FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT ?", (job, limit)
        ).fetchall()
        return [
            RunRecord(
                job=r["job"],
                slot=_parse(r["slot"]),
                started_at=_parse(r["started_at"]) or datetime.now(UTC),
                finished_at=_parse(r["finished_at"]),
                result=r["result"],
                reason=r["reason"],
                error=r["error"],
                count=r["count"],
            )
            for r in rows
        ]
