"""No split brain: a loop whose database file is no longer the one at its path stops.

The database can be moved, deleted or replaced under a running loop, its -wal/-shm files
removed, or the whole TTAI_HOME moved away. Every other process then opens (or creates)
the file at the path, so a loop that went on with the one it holds would work where
nobody sees it: an alert added with `alerts add` (exit 0) would never be checked. The loop
notices before its next run (and within a second in the middle of a long one), sends one
`error` notification and exits 1 without closing its connection, which would delete the
-wal/-shm files at the path by name (and with them what other processes wrote there).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.fakes import FakeClock
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.errors import DatabaseMoved, DatabaseReadOnly
from ttai_cli.jobs.base import Job, RunContext, RunStopped
from ttai_cli.scheduling.options import ScheduleOptions
from ttai_cli.services.scheduling import SchedulingService
from ttai_cli.store import Store, open_store

DEMO_DB = "ttai-demo.db"


class Loop:
    """`python -m ttai_cli ARGS` in the background, its stderr collected line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ttai_cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def err(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, count: int = 1, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.err.count(text) < count:
            assert self.proc.poll() is None, f"the loop ended early:\n{self.err}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout}s:\n{self.err}"
            time.sleep(0.05)

    def exit_code(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def demo_loop() -> Loop:
    """The demo account's price alerts, checked every second, notifications as JSON
    lines on stderr (so the test can count them)."""
    return Loop(
        "--demo",
        "alerts",
        "check",
        "--every",
        "1s",
        "--ignore-market-hours",
        env={"TTAI_NOTIFICATION_BACKEND": "stderr"},
    )


def error_notifications(text: str) -> list[dict[str, object]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{") and '"notification_type": "error"' in line:
            found.append(json.loads(line))
    return found


def add_alert_that_fires(ttai) -> int:  # type: ignore[no-untyped-def]
    """`alerts add` from another process than the loop's (SPY trades far above $1)."""
    added = ttai("--demo", "alerts", "add", "SPY", "above", "1")
    assert added.code == 0, added.err
    return int(added.out.strip())


def assert_the_alert_is_checked_after_a_restart(ttai, alert_id: int) -> None:  # type: ignore[no-untyped-def]
    def status() -> str:
        listed = ttai("--demo", "alerts", "list", "--all", "--json")
        assert listed.code == 0, listed.err
        found = [a["status"] for a in json.loads(listed.out) if a["id"] == alert_id]
        assert found, f"alert {alert_id}, added with exit 0, is gone"
        return str(found[0])

    assert status() == "active", "the alert is in the database at the path"
    checked = ttai("--demo", "alerts", "check", "--ignore-market-hours")
    assert checked.code == 0, checked.err
    assert status() == "triggered", "the restarted loop checked it"


# -- a loop in its own process -------------------------------------------------------------------
def test_home_moved_while_a_loop_runs_exits_1_and_the_alert_added_after_is_checked(
    ttai, clean_env: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    loop = demo_loop()
    try:
        loop.wait_for("alerts: ok")
        moved = tmp_path / "moved-home"
        clean_env.rename(moved)
        alert_id = add_alert_that_fires(ttai)  # recreates TTAI_HOME with a new database
        started = time.monotonic()
        code = loop.exit_code(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        loop.kill()
    assert code == 1, loop.err
    assert elapsed < 3.0, f"noticed after {elapsed:.1f}s"
    assert loop.err.count("\nttai: database moved:") == 1, "one line on stderr"
    assert "it was moved, deleted or replaced" in loop.err
    assert "Traceback" not in loop.err and "crashed" not in loop.err
    assert len(error_notifications(loop.err)) == 1, "one error notification"
    assert_the_alert_is_checked_after_a_restart(ttai, alert_id)
    # the moved database was left whole: nothing deleted beside it, still readable
    db = sqlite3.connect(moved / DEMO_DB)
    assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    db.close()


def test_wal_and_shm_removed_while_a_loop_runs_exits_1_and_the_alert_added_after_is_kept(
    ttai, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    loop = demo_loop()
    try:
        loop.wait_for("alerts: ok")
        # the loop held still meanwhile, so that the alert is added (by a process that has
        # exited) before the loop can notice: the order in which an alert can be lost
        loop.proc.send_signal(signal.SIGSTOP)
        for suffix in ("-wal", "-shm"):
            (clean_env / f"{DEMO_DB}{suffix}").unlink()
        added = run_subprocess("--demo", "alerts", "add", "SPY", "above", "1")
        assert added.code == 0, added.err
        alert_id = int(added.out.strip())
        assert Path(clean_env / f"{DEMO_DB}-wal").exists(), "the alert is in the new -wal"
        loop.proc.send_signal(signal.SIGCONT)
        code = loop.exit_code(timeout=10)
    finally:
        loop.kill()
    assert code == 1, loop.err
    assert "its -wal file was removed or replaced" in loop.err
    assert len(error_notifications(loop.err)) == 1
    # had the loop closed its connection, SQLite would have checkpointed its own (unlinked)
    # WAL and deleted the -wal at the path: the new alert with it
    assert_the_alert_is_checked_after_a_restart(ttai, alert_id)


def test_database_replaced_while_a_loop_runs_exits_1(clean_env: Path, tmp_path: Path) -> None:
    loop = demo_loop()
    try:
        loop.wait_for("alerts: ok")
        other = tmp_path / "other.db"
        shutil.copyfile(clean_env / DEMO_DB, other)
        os.replace(other, clean_env / DEMO_DB)  # e.g. a backup copied back by hand
        code = loop.exit_code(timeout=10)
    finally:
        loop.kill()
    assert code == 1, loop.err
    assert "database moved:" in loop.err and "it was moved, deleted or replaced" in loop.err


# -- in process: when exactly it stops --------------------------------------------------------------
class MovingJob(Job):
    """Moves the database away during its second run; records each run."""

    name = "mover"

    def __init__(self, database: Path, elsewhere: Path) -> None:
        self.database = database
        self.elsewhere = elsewhere
        self.runs = 0

    async def run(self, ctx: RunContext) -> str | None:
        self.runs += 1
        if self.runs == 2:
            for suffix in ("", "-wal", "-shm"):
                os.rename(f"{self.database}{suffix}", f"{self.elsewhere}{suffix}")
        return None


class LongJob(Job):
    """A run that lasts until it is told to stop (like the stream's session)."""

    name = "long"

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.stopping = asyncio.Event()
        self.terminated = False

    async def run(self, ctx: RunContext) -> str | None:
        self.started.set()
        await asyncio.wait_for(self.stopping.wait(), timeout=30)
        raise RunStopped("stopped")

    async def terminate(self) -> None:
        self.terminated = True
        self.stopping.set()


def _service(home: Path) -> tuple[SchedulingService, Store]:
    home.mkdir(parents=True, exist_ok=True)
    settings = load_settings(environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"})
    store = open_store(settings.database_path)
    clock = FakeClock(datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK))
    return SchedulingService(settings, clock, store=store), store


def test_a_loop_never_starts_a_run_after_its_database_was_moved(
    clean_env: Path, tmp_path: Path
) -> None:
    service, store = _service(clean_env)
    job = MovingJob(store.path, tmp_path / "elsewhere.db")
    options = ScheduleOptions(every=timedelta(minutes=1), max_runs=5, ignore_market_hours=True)
    with pytest.raises(DatabaseMoved, match="it was moved, deleted or replaced"):
        asyncio.run(service.run_jobs([job], options, stop=asyncio.Event(), max_chunk=3600))
    assert job.runs == 2, "the run after the move never started"
    assert store.abandoned, "the connection is left open, never closed"
    with pytest.raises(DatabaseReadOnly):  # (SQLite's "attempt to write a readonly database")
        store.db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")


def test_a_long_run_is_stopped_within_seconds_when_the_database_file_goes(
    clean_env: Path,
) -> None:
    service, store = _service(clean_env)
    job = LongJob()
    options = ScheduleOptions(every=timedelta(hours=1), ignore_market_hours=True)

    async def scenario() -> float:
        running = asyncio.ensure_future(
            service.run_jobs([job], options, stop=asyncio.Event(), stop_grace=2)
        )
        await asyncio.wait_for(job.started.wait(), timeout=10)
        Path(f"{store.path}-wal").unlink()
        started = time.monotonic()
        with pytest.raises(DatabaseMoved, match="its -wal file was removed"):
            await running
        return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    assert job.terminated, "the run was asked to end"
    assert elapsed < 2.5, f"took {elapsed:.2f}s"


def test_the_identity_check_raises_for_each_way_the_file_can_go(tmp_path: Path) -> None:
    cases = {
        "moved": lambda p: p.rename(p.with_name("moved.db")),
        "deleted": lambda p: p.unlink(),
        "replaced": lambda p: os.replace(shutil.copyfile(p, p.with_name("copy.db")), p),
        "wal removed": lambda p: Path(f"{p}-wal").unlink(),
        "shm removed": lambda p: Path(f"{p}-shm").unlink(),
        "home moved": lambda p: p.parent.rename(p.parent.with_name(p.parent.name + "-moved")),
    }
    for name, damage in cases.items():
        home = tmp_path / name.replace(" ", "-")
        home.mkdir()
        store = open_store(home / "ttai.db")
        store.verify()  # as opened: no complaint
        damage(store.path)
        with pytest.raises(DatabaseMoved):
            store.verify()
        store.abandon()


def test_a_database_that_stays_put_is_never_taken_for_moved(clean_env: Path) -> None:
    """Other processes opening, writing and closing; checkpoints that truncate the WAL;
    this process's own writes: the file is the same one, the check stays quiet."""
    clean_env.mkdir(parents=True)
    store = open_store(clean_env / "ttai.db")
    for threshold in ("1", "2", "3"):
        added = run_subprocess("alerts", "add", "SPY", "above", threshold)
        assert added.code == 0, added.err
        store.verify()
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with store.transaction() as db:
        db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    store.verify()
    store.close()


def test_the_identity_check_costs_well_under_a_millisecond(tmp_path: Path) -> None:
    store = open_store(tmp_path / "ttai.db")
    started = time.perf_counter()
    for _ in range(1000):
        store.verify()
    each = (time.perf_counter() - started) / 1000
    store.close()
    assert each < 0.001, f"{each * 1e6:.0f} us per check"
