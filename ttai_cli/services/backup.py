"""`ttai backup`, `ttai restore`, and the daemon's daily backups.

Backups are `$TTAI_HOME/backups/ttai-YYYY-MM-DD.db` by default (the New York date; the demo
database's are `ttai-demo-YYYY-MM-DD.db`), mode 0600, each a consistent copy taken with
SQLite's online backup API while loops go on writing, and checked (`quick_check`) once
written: a copy that fails the check means the database itself is damaged, and it is not
kept (it would push good backups out). The daemon makes one when it starts (unless the
day has one) and each night at DAILY_AT, and removes its backups older than KEEP_DAYS days.

`restore` never writes the live database: it refuses while any job holds its lock (and
holds every job's lock itself while it works, so that a cron run starting meanwhile steps
aside) or while any process has the file open, stages a checked copy of FILE beside the
database (creating nothing beside FILE), refuses a backup of another record (the demo
database's over the real account's, or back; other accounts') unless forced, keeps the
current database (and its -wal) aside as `ttai.db.before-restore-YYYYMMDD-HHMMSS`, and
renames the copy into place.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from time import time as time_now
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.config import Settings, ensure_home
from ttai_cli.errors import StoreError, UsageError
from ttai_cli.scheduling.locks import JobLock

if TYPE_CHECKING:
    from ttai_cli.store.backup import Holdings

# `meta` keys only the demo database has (its seed marks: `ttai_cli.services.demo`)
DEMO_MARKS = frozenset({"demo_seeded", "demo_history_seeded"})

log = logs.get("backup")
KEEP_DAYS = 7
DAILY_AT = time(3, 30)  # New York: no session, no briefing, no settlement work
PARTIAL_MAX_AGE_S = 3600  # a half-written copy older than this was left by a crash


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:,.0f} KB"
    return f"{size / (1024 * 1024):,.1f} MB"


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int
    made: bool = True  # False: the day's backup was there already
    removed: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        what = "backed up to" if self.made else "today's backup is there:"
        text = f"{what} {self.path} ({human_size(self.size)})"
        if self.removed:
            text += f"; removed {len(self.removed)} older than {KEEP_DAYS} days"
        return text


@dataclass(frozen=True)
class RestoreReport:
    source: Path
    path: Path
    size: int
    migrations: int
    previous: Path | None  # where the database it replaced is kept
    accounts: tuple[str, ...] = ()  # the accounts the backup holds data of
    demo: bool = False  # the backup is the demo database's
    replaced: tuple[str, ...] = ()  # the accounts the database it replaced held data of
    forced: bool = False  # --force put it in place of another account's (or mode's) record

    def holds(self) -> str | None:
        """The line naming whose record is in place now, when the database it replaced
        held none (or another's, with --force); None when it held the same accounts'."""
        if self.replaced == self.accounts and not self.forced:
            return None
        whose = _accounts(self.accounts) if self.accounts else "no account's data yet"
        text = f"it holds {whose}{' (the demo account)' if self.demo else ''}"
        if self.forced:
            before = _accounts(self.replaced) if self.replaced else "no account's data"
            text += f"; the database it replaced held {before} (--force)"
        return text


def _accounts(accounts: tuple[str, ...]) -> str:
    return f"account{'s' if len(accounts) > 1 else ''} {', '.join(accounts)}"


class BackupService:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    @property
    def directory(self) -> Path:
        return self.settings.home / "backups"

    @property
    def prefix(self) -> str:
        return self.settings.database_path.stem  # "ttai", or "ttai-demo"

    def default_path(self, day: date | None = None) -> Path:
        day = day or self.clock.now().astimezone(NEW_YORK).date()
        return self.directory / f"{self.prefix}-{day.isoformat()}.db"

    # -- backing up ----------------------------------------------------------------------------
    def backup(self, output: Path | None = None) -> BackupReport:
        """A checked copy of the database at `output` (default: today's file under
        `backups/`). Raises `UsageError` for an output that cannot be one (a directory,
        the database itself, a missing directory), `DatabaseDamaged` when the copy fails
        `quick_check`, `StoreError` when it cannot be written (a full disk)."""
        from ttai_cli.store.backup import copy_file, quick_check_file
        from ttai_cli.store.connection import damaged

        source = self.settings.database_path
        if not source.is_file():
            raise UsageError(f"no database at {source} yet: nothing to back up")
        dest = self._output(output)
        try:
            size = copy_file(
                source, dest, read_only=False, busy_timeout=self.settings.db_busy_timeout
            )
        except OSError as exc:
            raise StoreError(
                f"cannot write the backup {dest}: {exc.strerror or exc.__class__.__name__}"
            ) from None
        problems = quick_check_file(dest)
        if problems:
            with contextlib.suppress(OSError):
                dest.unlink()
            raise damaged(source, f"a fresh copy fails quick_check: {problems[0]}")
        return BackupReport(dest, size)

    def daily(self) -> BackupReport:
        """The daemon's backup: today's file (unless there is one), then the files of
        more than KEEP_DAYS days ago removed (only after a good copy, so a damaged
        database never costs the good backups)."""
        today = self.clock.now().astimezone(NEW_YORK).date()
        dest = self.default_path(today)
        if dest.is_file():
            report = BackupReport(dest, dest.stat().st_size, made=False)
        else:
            report = self.backup()
        return BackupReport(report.path, report.size, report.made, self.prune(today))

    def prune(self, today: date) -> list[Path]:
        """Remove this database's dated backups from more than KEEP_DAYS days before
        `today` (files named otherwise are never touched), and copies a crash left
        half-written. Returns the backups removed."""
        pattern = re.compile(rf"^{re.escape(self.prefix)}-(\d{{4}}-\d{{2}}-\d{{2}})\.db$")
        oldest_kept = today - timedelta(days=KEEP_DAYS - 1)
        removed: list[Path] = []
        try:
            entries = list(self.directory.iterdir())
        except FileNotFoundError:
            return removed
        now = time_now()  # compared with file times, which are the real clock's
        for entry in entries:
            match = pattern.match(entry.name)
            try:
                if match and date.fromisoformat(match.group(1)) < oldest_kept:
                    entry.unlink()
                    removed.append(entry)
                elif ".partial-" in entry.name and now - entry.stat().st_mtime > PARTIAL_MAX_AGE_S:
                    entry.unlink()
            except (OSError, ValueError) as exc:  # one odd file must not stop the backup
                log.warning("could not remove old backup %s: %s", entry, exc)
        return sorted(removed)

    def backups(self) -> list[Path]:
        """This database's dated backups under `backups/`, newest first."""
        pattern = re.compile(rf"^{re.escape(self.prefix)}-\d{{4}}-\d{{2}}-\d{{2}}\.db$")
        try:
            found = [p for p in self.directory.iterdir() if pattern.match(p.name)]
        except OSError:
            return []
        return sorted(found, reverse=True)

    def _output(self, output: Path | None) -> Path:
        if output is None:
            ensure_home(self.settings)
            try:
                self.directory.mkdir(mode=0o700, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create {self.directory}: {exc.strerror or exc.__class__.__name__}"
                ) from None
            return self.default_path()
        dest = output.expanduser()
        if dest.is_dir():
            raise UsageError(f"--output {output} is a directory; give a file name")
        if not dest.parent.is_dir():
            raise UsageError(f"--output {output}: no directory {dest.parent}")
        database = self.settings.database_path
        if dest.resolve() in (
            database.resolve(),
            *(Path(f"{database}{s}").resolve() for s in ("-wal", "-shm")),
        ):
            raise UsageError(f"--output {output} is the database itself; choose another file")
        return dest

    # -- restoring -----------------------------------------------------------------------------
    def restore(self, file: Path, force: bool = False) -> RestoreReport:
        """Put the backup `file` in place of the database, after checking it.

        `UsageError`, `NotATtaiDatabase`, `DatabaseDamaged` (exit 2) for a file that is
        missing, not a sound ttai database, or from a newer ttai; `StoreError` (exit 1)
        while a job or any other process holds the database. Nothing is changed then.

        A backup of another record is refused too (`UsageError`, exit 2) unless `force`:
        the demo database's restored over the real account's (`ttai restore` without
        --demo) or the other way round, or one holding other accounts than the database
        does (a database holding no account's data yet takes any backup of its mode).
        Nothing is created beside `file`: the copy is made beside the database."""
        from ttai_cli.store.backup import (
            claim_copy,
            copy_file,
            holdings,
            inspect_copy,
            open_elsewhere,
        )

        source = file.expanduser()
        if source.is_dir():
            raise UsageError(f"{file} is a directory; give a backup file")
        if not source.is_file():
            raise UsageError(f"{file}: no such file")
        target = self.settings.database_path
        if target.exists() and os.path.samefile(source, target):
            raise UsageError(f"{file} is the database itself; restore a backup of it")
        ensure_home(self.settings)
        with self._every_job_lock():
            if open_elsewhere(target):
                raise StoreError(
                    f"restore refused: another process has {target} open (a `ttai watch`, "
                    "a loop, sqlite3?); close it first"
                )
            staged = target.with_name(f".{target.name}.restore-{os.getpid()}")
            try:
                copy_file(source, staged)
                info = inspect_copy(staged, shown=file)
                backup, current = holdings(staged), self._current_holdings(target)
                demo = bool(backup.meta & DEMO_MARKS)
                if not force:
                    self._refuse_another_record(file, demo, backup.accounts, current.accounts)
                claim_copy(staged)
                previous = self._set_aside(target)
                os.replace(staged, target)
            except BaseException:
                for leftover in (staged, Path(f"{staged}-journal")):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
                raise
        forced = force and (
            demo != self.settings.demo
            or bool(current.accounts and backup.accounts != current.accounts)
        )
        return RestoreReport(
            file,
            target,
            info.size,
            info.migrations,
            previous,
            backup.accounts,
            demo,
            current.accounts,
            forced,
        )

    @staticmethod
    def _current_holdings(target: Path) -> Holdings:
        """Whose record the database being replaced is; nobody's when it cannot be read
        (a damaged database is what restore is for: its accounts cannot be compared,
        and the backup's kind, demo or real, is still checked)."""
        from ttai_cli.store.backup import Holdings, holdings

        try:
            return holdings(target)
        except StoreError as exc:
            log.warning(
                "the current database cannot be read (%s): its accounts are not compared", exc
            )
            return Holdings((), frozenset())

    def _refuse_another_record(
        self, file: Path, demo: bool, accounts: tuple[str, ...], current: tuple[str, ...]
    ) -> None:
        """`UsageError` when the backup is not this database's record: the other mode's
        (the demo database's into the real account's, or back), or other accounts'."""
        target = self.settings.database_path
        holds = f" ({_accounts(accounts)})" if accounts else ""
        if demo and not self.settings.demo:
            raise UsageError(
                f"{file} is a backup of the demo database{holds}, not of the real account's "
                f"({target}): restore it with `ttai --demo restore`, or add --force to put "
                "it here anyway"
            )
        if not demo and self.settings.demo:
            raise UsageError(
                f"{file} is a backup of the real account's database{holds}, not of the demo "
                f"database ({target}): restore it without --demo, or add --force to put it "
                "here anyway"
            )
        if current and accounts != current:
            raise UsageError(
                f"{file} holds {_accounts(accounts) if accounts else 'no account data'}, "
                f"but {target} holds {_accounts(current)}: add --force to replace that "
                "record with it anyway"
            )

    @contextlib.contextmanager
    def _every_job_lock(self) -> Iterator[None]:
        """Hold the lock of every job (those with a lock file, the built-in ones, the
        outbox's delivery): a job running now makes restore refuse, naming it; one that
        starts meanwhile finds its lock taken and steps aside (exit 0)."""
        from ttai_cli.jobs import JOB_NAMES
        from ttai_cli.services.notifications import FLUSH_LOCK

        locks_dir = self.settings.locks_dir
        names = {*JOB_NAMES, FLUSH_LOCK}
        with contextlib.suppress(OSError):
            names |= {p.stem for p in locks_dir.glob("*.lock")}
        held: list[JobLock] = []
        try:
            for name in sorted(names):
                lock = JobLock(locks_dir, name)
                if not lock.acquire():
                    pid = lock.holder()
                    by = f" (pid {pid})" if pid else ""
                    if name == FLUSH_LOCK:
                        raise StoreError(
                            f"restore refused: another process{by} is delivering notifications "
                            "from the database; try again in a moment"
                        )
                    raise StoreError(
                        f"restore refused: the {name} job is running{by} and holds the "
                        "database; stop it first (e.g. `systemctl --user stop ttai`), then restore"
                    )
                held.append(lock)
            yield
        finally:
            for lock in held:
                lock.release()

    def _set_aside(self, target: Path) -> Path | None:
        """Keep the current database (with its -wal, which may hold its latest writes) as
        `NAME.before-restore-TIMESTAMP`, and clear the -wal/-shm from the path: a stale
        -wal beside the restored file would be replayed into it. The database file stays at
        the path (a hard link keeps the old one) until the copy is renamed over it."""
        wal, shm = Path(f"{target}-wal"), Path(f"{target}-shm")
        if not target.exists():
            previous = None
        else:
            stamp = self.clock.now().astimezone(NEW_YORK).strftime("%Y%m%d-%H%M%S")
            previous = target.with_name(f"{target.name}.before-restore-{stamp}")
            if previous.exists():
                previous = previous.with_name(f"{previous.name}-{os.getpid()}")
            try:
                os.link(target, previous)
            except OSError:  # a filesystem without hard links: nobody has it open (checked)
                os.replace(target, previous)
            for suffix in ("-wal", "-journal"):  # what the old file's last writes are in
                if Path(f"{target}{suffix}").exists():
                    os.replace(f"{target}{suffix}", f"{previous}{suffix}")
        for stale in (wal, shm, Path(f"{target}-journal")):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        return previous
