"""Storage safety, at what cost: the split-brain check per loop cycle, and `ttai backup`.

- identity check: `Store.verify()`, what a loop runs before every run (and the service
  every second): `stat` of the database and of its -wal and -shm, compared with what was
  opened. Baseline, same run: the heartbeat a loop already writes to the jobs table every
  cycle (one small write transaction).
- backup: `ttai backup`'s service on a 50 MB ttai database (real schema, 50 MB of
  notifications): SQLite's online backup into a private file, fsync, rename, then
  `quick_check` of the copy. Idle, and while another process commits 200 times a second
  (a busy loop's writes). Baseline, same run: a plain `shutil.copyfile` + fsync of the
  same file (which, unlike the backup, is not consistent while written).

    python -m bench.storage [--quick]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.common import Row, run_rows
from ttai_cli.clock import NEW_YORK, SystemClock
from ttai_cli.config import load_settings
from ttai_cli.services.backup import BackupService
from ttai_cli.store import open_store
from ttai_cli.store.jobs import JobsRepository

CHECK_TARGET_MS = 1.0
BACKUP_TARGET_S = 2.0
DATABASE_MB = 50
WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
print("ready", flush=True)
i = 0
while True:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('bench', ?)", (str(i),))
    db.execute("COMMIT")
    i += 1
    time.sleep(0.005)
"""


def build_database(path: Path, megabytes: int) -> int:
    """A ttai database of about `megabytes` MB: its real schema, filled with
    notifications of about 1 KB each. Returns its size in bytes."""
    store = open_store(path)
    body = "x" * 900
    with store.transaction() as db:
        count = megabytes * 1024 * 1024 // 1000  # rows of ~1 KB, with page overhead
        db.executemany(
            "INSERT INTO notifications (id, created_at, type, title, body, data) "
            "VALUES (?, '2026-03-10T14:30:00+00:00', 'alert_triggered', ?, ?, '{}')",
            ((f"n{i:08d}", f"Price Alert: S{i % 500:03d}", body) for i in range(count)),
        )
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path.stat().st_size


def time_identity_check(path: Path, calls: int) -> tuple[float, float]:
    """(microseconds per `Store.verify()`, microseconds per heartbeat write)."""
    store = open_store(path)
    try:
        started = time.perf_counter()
        for _ in range(calls):
            store.verify()
        check = (time.perf_counter() - started) / calls * 1e6
        repo = JobsRepository(store)
        now = datetime.now(NEW_YORK)
        repo.claim("bench", os.getpid(), now)
        beats = []
        for _ in range(200):
            started = time.perf_counter()
            repo.heartbeat("bench", now)
            beats.append(time.perf_counter() - started)
        return check, statistics.median(beats) * 1e6
    finally:
        store.close()


def time_backup(service: BackupService, target: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        target.unlink(missing_ok=True)
        started = time.perf_counter()
        service.backup(target)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_plain_copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - started


def rows(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="ttai-bench-storage-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        settings = load_settings(environ={"TTAI_HOME": str(home)})
        size = build_database(settings.database_path, DATABASE_MB)
        check_us, beat_us = time_identity_check(
            settings.database_path, 20_000 if quick else 200_000
        )
        service = BackupService(settings, SystemClock())
        target = Path(tmp) / "backup.db"
        plain = time_plain_copy(settings.database_path, Path(tmp) / "plain.db")
        runs = 1 if quick else 5
        idle = time_backup(service, target, runs)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(settings.database_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
            busy = time_backup(service, target, runs)
        finally:
            writer.kill()
            writer.wait()
    mb = size / (1024 * 1024)
    return [
        Row(
            "storage: split-brain check per loop cycle (stat of db, -wal, -shm)",
            f"{check_us:.1f} us",
            f"the heartbeat write each cycle {beat_us:.0f} us",
            check_us / 1000 / CHECK_TARGET_MS,
            f"< {CHECK_TARGET_MS:g} ms (ratio: figure / target)",
            check_us / 1000 < CHECK_TARGET_MS,
        ),
        Row(
            f"storage: `ttai backup` of a {mb:.0f} MB database, idle (copy, fsync, quick_check)",
            f"{idle * 1000:.0f} ms",
            f"plain file copy + fsync {plain * 1000:.0f} ms",
            idle / BACKUP_TARGET_S,
            f"< {BACKUP_TARGET_S:g} s (ratio: figure / target)",
            idle < BACKUP_TARGET_S,
        ),
        Row(
            f"storage: `ttai backup` of a {mb:.0f} MB database, another process committing 200/s",
            f"{busy * 1000:.0f} ms",
            f"plain file copy + fsync {plain * 1000:.0f} ms (not consistent while written)",
            busy / BACKUP_TARGET_S,
            f"< {BACKUP_TARGET_S:g} s (ratio: figure / target)",
            busy < BACKUP_TARGET_S,
        ),
    ]


def main() -> int:
    return run_rows(__doc__, rows)


if __name__ == "__main__":
    raise SystemExit(main())
