"""The sqlite3 connection ttai uses, and the one place where SQLite's errors become ours.

Every statement goes through `Connection` and its `Cursor`: an SQLite error a user can
cause (a full disk, a database held by another process, a read-only or damaged file)
leaves them as one of the `StoreError`s of `ttai_cli.errors`, naming the file, so the
CLI edge prints one line with the right exit code and a loop can tell "the database
failed" from a bug. Everything else (a constraint, a syntax error: our bugs) stays the
sqlite3 error it is.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from ttai_cli.errors import (
    DatabaseBusy,
    DatabaseDamaged,
    DatabaseMoved,
    DatabaseReadOnly,
    DiskFull,
    StoreError,
)

Parameters = Any  # what sqlite3 accepts: a sequence or a mapping
NEARLY_FULL_KB = 1024


def free_kb(path: Path) -> int | None:
    """Free space on the filesystem holding `path`, in KB (None when it cannot be told)."""
    try:
        return shutil.disk_usage(path.parent).free // 1024
    except OSError:
        return None


def disk_full(path: Path, free: int | None) -> DiskFull:
    room = f"{free} KB free" if free is not None else "free space unknown"
    return DiskFull(f"disk full: the database at {path} cannot grow ({room})")


def damaged(path: Path | None, detail: object) -> DatabaseDamaged:
    """The `DatabaseDamaged` for the database at `path` (None: not known where), with what
    found the damage (SQLite's message, a failed quick_check); it points at `ttai doctor`."""
    where = f"database {path}" if path is not None else "the database"
    return DatabaseDamaged(f"{where} is damaged ({detail}); run `ttai doctor` for the way back")


def damage(exc: BaseException, path: Path | None) -> DatabaseDamaged | None:
    """`exc` as a `DatabaseDamaged` when it says the database is damaged (one of ours
    already, or SQLite's SQLITE_CORRUPT / SQLITE_NOTADB, also from a connection not made
    with `connect`, e.g. the online backup API's); otherwise None."""
    if isinstance(exc, DatabaseDamaged):
        return exc
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    if code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return damaged(path, exc)
    return None


def translate(exc: sqlite3.Error, path: Path) -> Exception:
    """The `StoreError` for an SQLite error a user can cause, else `exc` itself.

    - SQLITE_FULL: `DiskFull` (exit 1) with the free space of the file's filesystem; so
      is SQLITE_IOERR when less than NEARLY_FULL_KB are free (a write to the WAL index).
    - SQLITE_BUSY, SQLITE_LOCKED: `DatabaseBusy` (exit 1), after the busy timeout.
    - SQLITE_READONLY, SQLITE_CANTOPEN: `DatabaseReadOnly` (exit 2: the file or its
      directory is not writable, a configuration problem); a file moved or deleted while
      open (SQLITE_READONLY_DBMOVED) is `DatabaseMoved` (exit 1; a loop stops on it).
    - SQLITE_CORRUPT, SQLITE_NOTADB: `DatabaseDamaged` (exit 2, pointing at `ttai doctor`).
    - SQLITE_IOERR otherwise: a plain `StoreError` (exit 1) naming the file.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return exc
    primary = code & 0xFF
    free = free_kb(path) if primary in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR) else None
    if primary == sqlite3.SQLITE_FULL or (
        # an I/O error with the disk (all but) full: growing the WAL or its index failed
        primary == sqlite3.SQLITE_IOERR and free is not None and free < NEARLY_FULL_KB
    ):
        return disk_full(path, free)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseBusy(f"database busy: another process holds {path}")
    if code == sqlite3.SQLITE_READONLY_DBMOVED:
        return DatabaseMoved(path, "it was moved or deleted while ttai had it open")
    if primary == sqlite3.SQLITE_READONLY:
        return DatabaseReadOnly(
            f"database {path} is read-only (the file or its directory is not writable); "
            "make both writable or set TTAI_HOME"
        )
    if primary == sqlite3.SQLITE_CANTOPEN:
        return DatabaseReadOnly(
            f"cannot open the database {path} ({exc}); check that the file and its "
            "directory are readable and writable, or set TTAI_HOME"
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return damaged(path, exc)
    if primary == sqlite3.SQLITE_IOERR:
        return StoreError(f"cannot read or write the database {path} ({exc})")
    return exc


def _raise(exc: sqlite3.Error, path: Path) -> NoReturn:
    ours = translate(exc, path)
    if ours is exc:
        raise exc
    raise ours from exc


class Cursor(sqlite3.Cursor):
    """A cursor whose every step translates SQLite's errors (see `translate`); a damaged
    page can surface on any row, not only the first."""

    @property
    def path(self) -> Path:
        connection = self.connection
        return connection.path if isinstance(connection, Connection) else Path("?")

    def execute(self, sql: str, parameters: Parameters = (), /) -> Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            _raise(exc, self.path)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Parameters], /) -> Cursor:
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.Error as exc:
            _raise(exc, self.path)

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            _raise(exc, self.path)

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        try:
            return super().fetchmany(size)
        except sqlite3.Error as exc:
            _raise(exc, self.path)

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            _raise(exc, self.path)

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            _raise(exc, self.path)


class Connection(sqlite3.Connection):
    """A connection (made with `connect`) whose statements run on `Cursor`s."""

    path: Path = Path("?")

    def execute(self, sql: str, parameters: Parameters = (), /) -> Cursor:
        return self.cursor(Cursor).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Parameters], /) -> Cursor:
        return self.cursor(Cursor).executemany(sql, parameters)


def connect(path: Path, busy_timeout: float) -> Connection:
    """Open `path` in autocommit mode, waiting up to `busy_timeout` seconds for a lock."""
    try:
        db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, factory=Connection)
    except sqlite3.Error as exc:
        ours = translate(exc, path)
        raise (
            ours if ours is not exc else StoreError(f"cannot open database {path}: {exc}")
        ) from None
    db.path = path
    return db
