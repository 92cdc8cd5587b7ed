"""The one SQLite database: WAL, busy timeout, mode 0600, migrated on open.

Every process (a loop, a cron run, `ttai status`) opens the same file; WAL lets readers
go on while a writer commits, and the busy timeout makes concurrent writers wait for
each other instead of failing.

A long-running process also checks that the file it holds is still the one at its path
(`Store.verify`): a database moved, replaced, or stripped of its -wal/-shm file while
open would otherwise split the state in two (see `DatabaseMoved`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ttai_cli.config import DB_BUSY_TIMEOUT as BUSY_TIMEOUT
from ttai_cli.errors import (
    ConfigError,
    DatabaseBusy,
    DatabaseDamaged,
    DatabaseMoved,
    DatabaseReadOnly,
    DiskFull,
    NoRoomToStart,
    NotATtaiDatabase,
    StoreError,
)
from ttai_cli.store.connection import Connection, connect, free_kb
from ttai_cli.store.connection import damage as damage_of
from ttai_cli.store.migrations import MIGRATIONS

if TYPE_CHECKING:
    from ttai_cli.config import Settings

# PRAGMA application_id marks the file as ours: 'ttai' in ASCII.
APPLICATION_ID = 0x74746169
SQLITE_MAGIC = b"SQLite format 3\x00"
# The files a WAL database is made of, as (suffix, what a change of it means).
_FILES = (
    ("", "it was moved, deleted or replaced"),
    ("-wal", "its -wal file was removed or replaced"),
    ("-shm", "its -shm file was removed or replaced"),
)


class Store:
    """A connection to the ttai database, in autocommit mode.

    Writes that belong together go through `transaction()`, which takes the write lock at
    once (`BEGIN IMMEDIATE`) so that two processes never interleave a read-then-write.
    SQLite errors a user can cause arrive as `StoreError`s (`ttai_cli.store.connection`).
    """

    def __init__(
        self, path: Path, busy_timeout: float = BUSY_TIMEOUT, max_pages: int | None = None
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.db: Connection = _connect(path, busy_timeout, max_pages)
        self.abandoned = False
        # (st_dev, st_ino) of the database and, in WAL mode, of its -wal and -shm files, as
        # opened: SQLite keeps all three open and does not expose their descriptors, and the
        # -wal/-shm files stay in place for as long as any connection is open.
        self._watched = _identities(path)

    def close(self) -> None:
        if not self.abandoned:
            self.db.close()

    def verify(self) -> None:
        """Raise `DatabaseMoved` when the file at `self.path` (or its -wal or -shm file) is
        no longer the one this connection holds: moved, deleted, replaced, or removed while
        open. Three `stat` calls, a few microseconds: cheap enough for every loop cycle.

        A path that cannot be examined for another reason (permissions) is no verdict."""
        for name, why, opened in self._watched:
            try:
                found = os.stat(name)
            except (FileNotFoundError, NotADirectoryError):
                raise DatabaseMoved(self.path, why) from None
            except OSError:
                continue
            if (found.st_dev, found.st_ino) != opened:
                raise DatabaseMoved(self.path, why)

    def abandon(self) -> None:
        """Stop using a connection whose file is no longer at its path, without closing it.

        Closing would let SQLite checkpoint and then delete the -wal and -shm files *by
        name*: the ones at the path now belong to another process's database, and deleting
        them loses what it wrote there (an `alerts add` that exited 0). So the connection is
        made read-only (nothing more lands in a file nobody sees) and kept referenced until
        the process ends, when the kernel drops its locks without SQLite touching a file."""
        if self.abandoned:
            return
        self.abandoned = True
        with contextlib.suppress(sqlite3.Error, StoreError):
            self.db.execute("PRAGMA query_only = ON")
        # CPython deallocates (and so closes) module-level objects at interpreter exit; one
        # reference never released keeps this connection from being closed at all.
        try:
            import ctypes

            ctypes.pythonapi.Py_IncRef(ctypes.py_object(self.db))
        except Exception:  # no ctypes here: a thread that never ends holds it instead
            import threading

            def hold(db: sqlite3.Connection = self.db) -> None:
                threading.Event().wait()

            threading.Thread(target=hold, name="abandoned-database", daemon=True).start()

    def damage(self, exc: BaseException) -> DatabaseDamaged | None:
        """`exc` as a `DatabaseDamaged` naming this database, if it says the file is
        damaged ("database disk image is malformed"); otherwise None."""
        return damage_of(exc, self.path)

    def quick_check(self, limit: int = 10) -> list[str]:
        """SQLite's `PRAGMA quick_check` (every page and index entry readable and well
        formed, without matching indexes to tables): the problems found, [] when the file
        is sound. A file too damaged to be checked answers with that error as the problem."""
        try:
            rows = [str(r[0]) for r in self.db.execute(f"PRAGMA quick_check({int(limit)})")]
        except StoreError as exc:  # (translated: SQLite's own words are the problem)
            return [str(exc.__cause__ or exc)]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return [] if rows == ["ok"] else rows

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            _rollback(self.db)
            raise

    @contextmanager
    def patience(self, seconds: float) -> Iterator[None]:
        """Wait at most `seconds` for a lock inside this block (best-effort writes on the
        way out, after the database already said busy, must not wait the timeout again)."""
        self.db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT name FROM _migrations ORDER BY rowid")]


def open_store(
    path: Path, *, busy_timeout: float = BUSY_TIMEOUT, max_pages: int | None = None
) -> Store:
    """Open (creating and migrating if needed) the database at `path`.

    Opening an up-to-date database writes nothing, so reading commands work on a full
    disk. `max_pages` caps the file (SQLite's max_page_count: a full disk, made to order).

    Raises `NotATtaiDatabase` (exit 2) for a file that is not SQLite or belongs to
    another program, `DatabaseDamaged` (exit 2) for a damaged ttai database,
    `NoRoomToStart` (exit 2) when a new database finds no space, `ConfigError` (exit 2)
    when the OS refuses to create the file, and another `StoreError` (a full disk, a
    busy database: exit 1) when the file cannot be used.
    """
    return Store(path, busy_timeout, max_pages)


def open_settings_store(settings: Settings) -> Store:
    """`open_store` for the settings' database, with their busy timeout and size cap."""
    return open_store(
        settings.database_path,
        busy_timeout=settings.db_busy_timeout,
        max_pages=settings.db_max_pages,
    )


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back what is open. SQLite may already have rolled back by itself (a full
    disk does that), and the error that got us here is the one to report."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error, StoreError):
            db.execute("ROLLBACK")


def _connect(path: Path, busy_timeout: float, max_pages: int | None) -> Connection:
    new = _create_private(path)
    db = connect(path, busy_timeout)
    try:
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if max_pages is not None:
            db.execute(f"PRAGMA max_page_count = {int(max_pages)}")
        _check_ownership(db, path)
        new = new or not _has_table(db, "_migrations")  # (a first start that ran out of room)
        _enable_wal(db, busy_timeout)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA cache_size = -1024")  # 1 MiB: a long-running loop stays small
        migrate(db)
    except DiskFull:
        db.close()
        if not new:
            raise
        free = free_kb(path)
        raise NoRoomToStart(
            f"no space to create the database at {path} "
            f"({f'{free} KB free' if free is not None else 'free space unknown'}); "
            "free some space or set TTAI_HOME to another filesystem"
        ) from None
    except DatabaseDamaged as exc:
        db.close()
        if _header_is_ours(path):
            raise
        raise NotATtaiDatabase(
            f"{path} is not a ttai database ({exc.__cause__ or exc}); move it away or set "
            "TTAI_HOME (if it was ttai's, it is damaged: `ttai doctor` shows the way back)"
        ) from None
    except BaseException:
        db.close()
        raise
    return db


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.execute(query, (name,)).fetchone() is not None


def _header_is_ours(path: Path) -> bool:
    """Whether the file starts as an SQLite database marked with our application_id
    (then an error opening it means it is damaged, not someone else's)."""
    try:
        with path.open("rb") as file:
            header = file.read(72)
    except OSError:
        return False
    return header.startswith(SQLITE_MAGIC) and header[68:72] == APPLICATION_ID.to_bytes(4, "big")


def _file_id(path: str) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the file at `path`, None when there is none."""
    try:
        found = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (found.st_dev, found.st_ino)


def _identities(path: Path) -> list[tuple[str, str, tuple[int, int]]]:
    """What `Store.verify` compares against, as (file name, what a change of it means,
    its identity as opened): the database file and, when it is in WAL mode (its -wal file
    exists once it has been read), its -wal and -shm files."""
    watched = []
    for suffix, why in _FILES:
        opened = _file_id(f"{path}{suffix}")
        if opened is None:
            break  # no -wal: not in WAL mode, nothing more to compare
        watched.append((f"{path}{suffix}", why, opened))
    return watched


def _enable_wal(db: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch to WAL. The switch needs a moment alone with the file, and SQLite answers
    "locked" at once (without its busy handler) when several processes open a new
    database together, so it is retried here for up to the busy timeout."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except DatabaseBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _create_private(path: Path) -> bool:
    """Create the file with mode 0600 before SQLite does (it would honour the umask);
    True when it is new (empty).

    SQLite gives the -wal and -shm files the permissions of the database file.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:  # a directory in its place, no permission, a name too long
        if exc.errno == errno.ENOSPC:
            raise NoRoomToStart(
                f"no space to create the database at {path}; free some space or set "
                "TTAI_HOME to another filesystem"
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and path.is_file():
            raise DatabaseReadOnly(
                f"database {path} is read-only ({exc.strerror}); make it writable or set TTAI_HOME"
            ) from None
        raise ConfigError(f"cannot create database {path}: {exc.strerror or exc}") from None
    try:
        return os.fstat(fd).st_size == 0
    finally:
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
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def migrate(
    db: sqlite3.Connection,
    migrations: list[tuple[str, Callable[[sqlite3.Connection], None]]] = MIGRATIONS,
) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    Safe against a second process migrating at the same time: each step re-checks the
    table inside its own `BEGIN IMMEDIATE` transaction.
    """
    if not _has_table(db, "_migrations"):  # (only then: opening must not need to write)
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
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        applied.append(name)
    return applied


def db_time(moment: datetime | None) -> str | None:
    """An aware time as the database keeps it: ISO 8601 in UTC (sorts, compares)."""
    return moment.astimezone(UTC).isoformat() if moment else None


def ny_time(value: str | None) -> datetime | None:
    """A time read back from the database, in New York time."""
    from ttai_cli.clock import NEW_YORK

    return datetime.fromisoformat(value).astimezone(NEW_YORK) if value else None
