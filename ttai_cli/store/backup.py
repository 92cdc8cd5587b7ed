"""Copies of the database, out and back in, at the SQLite level.

- `copy_database`: SQLite's online backup API into a new private file. It reads in one
  step inside one read transaction, so the copy is consistent even while loops write
  (WAL readers never block writers), and it is written under a temporary name, then
  renamed: a backup file is never half-written. The copy is one self-contained file
  (rollback journal, no -wal beside it).
- `inspect_copy`: is a file a sound ttai database this ttai can use?
- `open_elsewhere`: does another process have the database open right now?
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ttai_cli.config import DB_BUSY_TIMEOUT
from ttai_cli.errors import DiskFull, NotATtaiDatabase, StoreError, UsageError
from ttai_cli.store import APPLICATION_ID
from ttai_cli.store.connection import damage, damaged, translate
from ttai_cli.store.migrations import MIGRATIONS

# SQLite's unix locking protocol (documented in its file format and locking notes): a
# connection reading the database holds a read lock on these bytes, and one in WAL mode
# holds it for as long as it is open.
_SHARED_FIRST = 0x40000000 + 2
_SHARED_SIZE = 510


@dataclass(frozen=True)
class CopyInfo:
    """What `inspect_copy` found in a sound ttai database file."""

    path: Path
    size: int  # bytes
    migrations: int  # applied, all of them known to this ttai


def copy_database(source: sqlite3.Connection, dest: Path) -> int:
    """Copy the database behind `source` to `dest` (mode 0600); returns its size in bytes.

    `dest` is replaced only once the copy is complete and synced; a failure leaves no
    file behind (nor a half-written one under the temporary name)."""
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    for leftover in _family(partial):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    # created before SQLite opens it: SQLite would honour the umask
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(target)  # pages=-1: everything in one step, one read transaction
            # the copy takes the source's WAL flag along; one file is what a backup should be
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        _fsync(partial)
        os.replace(partial, dest)
        _fsync(dest.parent)
    except BaseException:
        for leftover in _family(partial):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    return dest.stat().st_size


def copy_file(
    source: Path, dest: Path, *, read_only: bool = True, busy_timeout: float = DB_BUSY_TIMEOUT
) -> int:
    """`copy_database` from the database file `source`, through a connection of its own
    (so that it can run in a worker thread). `read_only`: the file is never written, and
    nothing is created beside it (a backup being restored, which is the user's file, in
    a directory of theirs); a -wal beside it is taken along either way.

    A file that is not SQLite is `NotATtaiDatabase`, a damaged one `DatabaseDamaged`
    (exit 2 both); no room for the copy `DiskFull`; a file that cannot be read a
    `UsageError`. (The backup API's errors are SQLite's own: they are translated here,
    with `ttai_cli.store.connection`'s mapping.) On a disk too full to read the live
    database as usual, it is read read-only (`read_only_on_full_disk`)."""
    duplicate = dest.with_name(f".{dest.name}.source-{os.getpid()}")
    try:
        db = _open_untouched(source, duplicate) if read_only else _readable(source, busy_timeout)
    except sqlite3.Error as exc:
        _remove_family(duplicate)
        raise UsageError(f"cannot open {source}: {exc}") from None
    except OSError as exc:
        _remove_family(duplicate)
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return copy_database(db, dest)
    except sqlite3.DatabaseError as exc:
        found = damage(exc, source)
        if found is not None and "not a database" in str(exc):
            raise NotATtaiDatabase(f"{source} is not a ttai database ({exc})") from None
        if found is not None:
            raise found from None
        full = translate(exc, dest)  # (the copy is what grows)
        if isinstance(full, DiskFull):
            raise full from None
        raise UsageError(f"cannot read {source}: {exc}") from None
    finally:
        db.close()
        _remove_family(duplicate)


def _open_untouched(source: Path, duplicate: Path) -> sqlite3.Connection:
    """A read-only connection to `source` that creates no file beside it.

    SQLite opening a WAL-mode file read-only creates its -wal and -shm files when they
    are missing, and leaves them behind (a read-only connection never removes them): a
    copy of a live database, or a backup made by `cp`, is in WAL mode. So:
    - no -wal beside it (nothing to replay; no process has it open in WAL mode, which
      always keeps one): opened `immutable`, which reads the file alone and creates
      nothing. (A -journal beside it: an interrupted write, which a read-only connection
      refuses to read past; opened plainly, which creates nothing either.)
    - a -wal and a -shm beside it (a process has it open, or had): opened read-only,
      which uses both and creates nothing.
    - a -wal alone (the file copied with its -wal): both are copied to `duplicate` (and
      its -wal), which is opened instead, and removed by the caller."""
    wal, shm = Path(f"{source}-wal"), Path(f"{source}-shm")
    uri = source.resolve().as_uri()
    if not wal.exists():
        flags = "mode=ro" if Path(f"{source}-journal").exists() else "mode=ro&immutable=1"
        return sqlite3.connect(f"{uri}?{flags}", uri=True)
    if shm.exists():
        return sqlite3.connect(f"{uri}?mode=ro", uri=True)
    _remove_family(duplicate)
    for original, copy in ((source, duplicate), (wal, Path(f"{duplicate}-wal"))):
        # created private before the bytes go in: the umask would not make it so
        os.close(os.open(copy, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        shutil.copyfile(original, copy)
    return sqlite3.connect(duplicate, isolation_level=None)


def _remove_family(path: Path) -> None:
    for leftover in _family(path):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _readable(source: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection to the live database `source`, opened as usual; on a disk so full
    that SQLite cannot make the -shm file reading needs, the file read read-only
    (`read_only_on_full_disk`: what the store does too, and it warned), so that a
    backup can still be written to another filesystem."""
    from ttai_cli.store import read_only_on_full_disk

    db = sqlite3.connect(source, timeout=busy_timeout, isolation_level=None)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        full = translate(exc, source)
        if not isinstance(full, DiskFull):
            return db  # (the copy meets it again, and says what it is)
        db.close()
        return read_only_on_full_disk(source, full, warn=False)
    return db


def quick_check_file(path: Path, limit: int = 5) -> list[str]:
    """`PRAGMA quick_check` of a database file, opened read-only: the problems, [] when
    the file is sound (a file too damaged to be checked: that error as the problem)."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = [str(r[0]) for r in db.execute(f"PRAGMA quick_check({int(limit)})")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        db.close()
    return [] if rows == ["ok"] else rows


def inspect_copy(path: Path, shown: Path | None = None) -> CopyInfo:
    """Check that `path` is a sound ttai database this version can use: `quick_check`
    passes, it is marked as ttai's (or has ttai's `_migrations` table), and every
    migration it has applied is one this ttai knows (a newer ttai's file is refused:
    this one would not know its tables). `shown` names the file in messages.

    Raises `DatabaseDamaged` (exit 2), `NotATtaiDatabase` (exit 2) or `UsageError`."""
    name = shown or path
    problems = quick_check_file(path)
    if any("not a database" in problem for problem in problems):
        raise NotATtaiDatabase(f"{name} is not a ttai database ({problems[0]})")
    if problems:
        raise damaged(name, f"quick_check: {problems[0]}")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        has_table = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
        ).fetchone()
        if not has_table or app_id not in (0, APPLICATION_ID):
            raise NotATtaiDatabase(f"{name} is not a ttai database (no ttai tables in it)")
        applied = [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    finally:
        db.close()
    known = {migration for migration, _ in MIGRATIONS}
    unknown = [m for m in applied if m not in known]
    if unknown:
        raise UsageError(
            f"{name} was written by a newer ttai (it has {unknown[0]}, which this version "
            "does not know): upgrade ttai, then restore it"
        )
    return CopyInfo(path, path.stat().st_size, len(applied))


@dataclass(frozen=True)
class Holdings:
    """Whose record a ttai database file is."""

    accounts: tuple[str, ...]  # the account numbers its rows carry, sorted
    meta: frozenset[str]  # the keys of its `meta` table (the demo database's seed marks)


def holdings(path: Path) -> Holdings:
    """The accounts a ttai database file holds data of (every table with an
    `account_number` column; '' is no account's: jobs, market data) and its `meta` keys.
    Read-only; a missing file holds nothing. The file must be one nobody writes now (a
    checked copy, or the database while restore holds every job's lock and nobody has it
    open); without a -wal beside it, it is read alone and nothing is created beside it."""
    if not path.exists():
        return Holdings((), frozenset())
    immutable = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{immutable}", uri=True)
    try:
        tables = [
            str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        accounts: set[str] = set()
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            columns = {str(row[1]) for row in db.execute(f"PRAGMA table_info({quoted})")}
            if "account_number" in columns:
                accounts.update(
                    str(row[0])
                    for row in db.execute(
                        f"SELECT DISTINCT account_number FROM {quoted} "
                        "WHERE account_number IS NOT NULL AND account_number <> ''"
                    )
                )
        meta = (
            {str(row[0]) for row in db.execute("SELECT key FROM meta")}
            if "meta" in tables
            else set()
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None
    finally:
        db.close()
    return Holdings(tuple(sorted(accounts)), frozenset(meta))


def claim_copy(path: Path) -> None:
    """Mark a checked copy as ttai's (`PRAGMA application_id`): a file salvaged with
    `sqlite3 .recover` or `.dump` has ttai's tables but may have lost the mark, and ttai
    refuses to open an unmarked file that has tables."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    finally:
        db.close()


def open_elsewhere(path: Path) -> bool:
    """True when another process has the database at `path` open (reading it, or holding
    it open in WAL mode as every ttai process does): SQLite's read lock is on. Asked
    without SQLite, which this process must not have the file open with either (POSIX
    locks belong to the process: testing one would drop SQLite's own). False when there
    is no such file or the platform has no POSIX locks."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, _SHARED_SIZE, _SHARED_FIRST)
        except OSError:
            return True
        fcntl.lockf(fd, fcntl.LOCK_UN, _SHARED_SIZE, _SHARED_FIRST)
        return False
    finally:
        os.close(fd)


def _family(path: Path) -> list[Path]:
    """A database file and the -journal, -wal and -shm files SQLite may put beside it."""
    return [path, *(Path(f"{path}{suffix}") for suffix in ("-journal", "-wal", "-shm"))]


def _fsync(path: Path) -> None:
    """Flush a file (or a directory's entries) to disk; a filesystem that cannot is let be."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
