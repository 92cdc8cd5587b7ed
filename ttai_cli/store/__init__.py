"""The one SQLite database: WAL, busy timeout, mode 0600, migrated on open.

Every process (a loop, a cron run, `ttai status`) opens the same file; WAL lets readers
go on while a writer commits, and the busy timeout makes concurrent writers wait for
each other instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ttai_cli.errors import ConfigError, NotATtaiDatabase, StoreError
from ttai_cli.store.migrations import MIGRATIONS

# PRAGMA application_id marks the file as ours: 'ttai' in ASCII.
APPLICATION_ID = 0x74746169
BUSY_TIMEOUT_MS = 10_000


class Store:
    """A connection to the ttai database, in autocommit mode.

    Writes that belong together go through `transaction()`, which takes the write lock at
    once (`BEGIN IMMEDIATE`) so that two processes never interleave a read-then-write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = _connect(path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT name FROM _migrations ORDER BY rowid")]

    def integrity_ok(self) -> bool:
        return bool(self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def open_store(path: Path) -> Store:
    """Open (creating and migrating if needed) the database at `path`.

    Raises `NotATtaiDatabase` (exit 2) for a file that is not SQLite or belongs to
    another program, `ConfigError` (exit 2) when the OS refuses to create the file, and
    `StoreError` when the file cannot be opened.
    """
    return Store(path)


def _connect(path: Path) -> sqlite3.Connection:
    _create_private(path)
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path}: {exc}") from None
    try:
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_ownership(db, path)
        _enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA cache_size = -1024")  # 1 MiB: a long-running loop stays small
        migrate(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise NotATtaiDatabase(
                f"{path} is not a ttai database ({exc}); move it away or set TTAI_HOME"
            ) from None
        raise StoreError(f"database {path}: {exc}") from None
    except BaseException:
        db.close()
        raise
    return db


def _enable_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. The switch needs a moment alone with the file, and SQLite answers
    "locked" at once (without its busy handler) when several processes open a new
    database together, so it is retried here for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite does (it would honour the umask).

    SQLite gives the -wal and -shm files the permissions of the database file.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:  # a directory in its place, no permission, a name too long
        raise ConfigError(f"cannot create database {path}: {exc.strerror or exc}") from None
    os.close(fd)


def _check_ownership(db: sqlite3.Connection, path: Path) -> None:
    """Claim a new, empty file for ttai, or refuse one that belongs to something else.

    Read and claim happen in one write transaction: two processes creating the database
    at the same moment must not see each other's half-made schema as foreign.
    """
    if db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID:
            if app_id != 0 or tables:
                raise NotATtaiDatabase(
                    f"{path} is not a ttai database (it belongs to another program); "
                    "move it away or set TTAI_HOME"
                )
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def migrate(
    db: sqlite3.Connection,
    migrations: list[tuple[str, Callable[[sqlite3.Connection], None]]] = MIGRATIONS,
) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    Safe against a second process migrating at the same time: each step re-checks the
    table inside its own `BEGIN IMMEDIATE` transaction.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied: list[str] = []
    for name, fn in migrations:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                db.execute("ROLLBACK")
                continue
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(name)
    return applied


def db_time(moment: datetime | None) -> str | None:
    """An aware time as the database keeps it: ISO 8601 in UTC (sorts, compares)."""
    return moment.astimezone(UTC).isoformat() if moment else None


def ny_time(value: str | None) -> datetime | None:
    """A time read back from the database, in New York time."""
    from ttai_cli.clock import NEW_YORK

    return datetime.fromisoformat(value).astimezone(NEW_YORK) if value else None
