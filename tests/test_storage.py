"""Storage faults (#19): a full disk, a busy, damaged or read-only database, a home that
cannot be right. Each case goes through the real CLI (or, for loops, the scheduling
service on a virtual clock) against a real SQLite file.

A full disk is made without mounting anything: SQLite's `max_page_count` caps the file
at the pages it has (TTAI_DB_MAX_PAGES for the CLI's own connection), and the job's run
table is filled to the brim, so the next row a run records needs a page it cannot get.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Result, run_subprocess
from tests.fakes import FakeClock, RecordingJob, VirtualClock
from tests.receiver import Receiver
from tests.test_broker import make_broker
from tests.test_cli import one_line_error
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.jobs.alerts import AlertsCheckJob
from ttai_cli.jobs.context import JobContext
from ttai_cli.scheduling.locks import JobLock
from ttai_cli.scheduling.options import ScheduleOptions
from ttai_cli.services.scheduling import DaemonOptions, SchedulingService
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer
from ttai_cli.store.alerts import AlertsRepository

DISK_FULL = "ttai: disk full: the database at {path} cannot grow ("


# -- helpers -----------------------------------------------------------------------------
def fill_to_the_brim(db: sqlite3.Connection, job: str, notifications: bool = False) -> int:
    """Cap the database at the pages it has and fill the rows `job`'s runs go into
    (and, with `notifications`, the notifications table) until SQLite says full; the
    page cap, for TTAI_DB_MAX_PAGES. The filler rows are the smallest such rows, so a
    real one cannot fit where they did not."""
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    db.execute(f"PRAGMA max_page_count = {pages}")
    fillers = [("INSERT INTO job_runs (job, started_at, result) VALUES (?, '9', 's')", (job,))]
    if notifications:
        fillers.append(
            (
                "INSERT INTO notifications (id, created_at, type, title, body, data) "
                "VALUES (hex(randomblob(4)), '9', 'f', '', '', '')",
                (),
            )
        )
    for sql, args in fillers:
        while True:
            try:
                db.execute(sql, args)
            except Exception as exc:  # sqlite3's, or ours from the store's own connection
                assert "full" in str(exc), exc
                break
    return pages


def fill_file(path: Path, job: str) -> int:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        return fill_to_the_brim(db, job)
    finally:
        db.close()


def settle(path: Path) -> None:
    """Close what earlier in-process commands left open (the CLI process would have
    exited) and fold the WAL into the file, so that only a new write changes either."""
    gc.collect()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def digest(path: Path) -> str:
    """The database file and its WAL: what a write would change."""
    gc.collect()  # a connection closed later would fold the WAL in: the same content
    h = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        h.update(wal.read_bytes())
    return h.hexdigest()


def demo_db(home: Path) -> Path:
    return home / "ttai-demo.db"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


# -- a full disk: one-offs ----------------------------------------------------------------
def test_alerts_check_one_off_on_a_full_disk_exits_1_with_one_line_and_never_restarts(
    ttai, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "alerts", "check", "--ignore-market-hours").code == 0
    pages = fill_file(demo_db(clean_env), "alerts")
    started = time.monotonic()
    # in its own process, as cron runs it: a restart loop would hit the timeout
    result = run_subprocess(
        "-q",
        "--demo",
        "alerts",
        "check",
        "--ignore-market-hours",
        env={"TTAI_DB_MAX_PAGES": str(pages)},
        timeout=30,
    )
    took = time.monotonic() - started
    line = one_line_error(result, 1)
    assert line.startswith(DISK_FULL.format(path=demo_db(clean_env))), line
    assert line.endswith(" KB free)")
    assert "restarting" not in result.err
    assert took < 5, f"exits at once ({took:.1f}s)"
    lock = JobLock(clean_env / "locks", "alerts")
    assert lock.acquire(), "the job's lock is free: cron's next run goes ahead"
    lock.release()


def test_monitor_one_off_on_a_full_disk_exits_1_with_one_line(
    ttai, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "monitor", "--ignore-market-hours").code == 0
    monkeypatch.setenv("TTAI_DB_MAX_PAGES", str(fill_file(demo_db(clean_env), "monitor")))
    started = time.monotonic()
    result = ttai("-q", "--demo", "monitor", "--ignore-market-hours")
    line = one_line_error(result, 1)
    assert line.startswith(DISK_FULL.format(path=demo_db(clean_env))), line
    assert time.monotonic() - started < 3
    # and the next one-off says the same: nothing was left holding the job
    again = one_line_error(ttai("-q", "--demo", "monitor", "--ignore-market-hours"), 1)
    assert again.startswith(DISK_FULL.format(path=demo_db(clean_env)))


def test_a_loop_from_the_cli_on_a_full_disk_keeps_its_cadence(
    ttai, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "alerts", "check", "--ignore-market-hours").code == 0
    monkeypatch.setenv("TTAI_DB_MAX_PAGES", str(fill_file(demo_db(clean_env), "alerts")))
    args = ["--demo", "alerts", "check", "--loop", "--ignore-market-hours"]
    result = ttai(*args, "--every", "1s", "--max-runs", "3")
    assert result.code == 1, "every run failed"
    lines = result.err.splitlines()
    failed = [line for line in lines if "error after" in line and "disk full" in line]
    assert len(failed) == 3, result.err  # one a run, at its slot
    assert "restarting" not in result.err and "crashed" not in result.err
    assert sum("keeps failing" in line for line in lines) == 1, "one notification (stderr)"


class CrashesOutsideItsRun(RecordingJob):
    """A job whose scheduling (not its run) has a bug."""

    def defer_reason(self) -> str | None:
        raise RuntimeError("injected crash")

    async def close(self) -> None:
        pass


def test_a_one_off_that_crashes_outside_its_run_is_not_restarted(
    store, clean_env: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    clean_env.mkdir(parents=True, exist_ok=True)
    settings = load_settings(environ={"TTAI_HOME": str(clean_env)})
    clock = FakeClock(datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK))
    service = SchedulingService(settings, clock, store=store)
    job = CrashesOutsideItsRun("crashy")
    with pytest.raises(RuntimeError, match="injected crash"), caplog.at_level(logging.INFO):
        asyncio.run(service.run_jobs([job], ScheduleOptions(), stop=asyncio.Event()))
    assert "restarting" not in caplog.text and not job.history
    assert clock.history == [], "no backoff was waited for"
    lock = JobLock(clean_env / "locks", "crashy")
    assert lock.acquire(), "its lock is free"
    lock.release()


# -- a full disk: loops and the daemon --------------------------------------------------
@pytest.mark.parametrize("notification_fits", [False, True], ids=["all-full", "outbox-fits"])
@pytest.mark.parametrize("mode", ["loop", "daemon"])
def test_a_loop_on_a_full_disk_notifies_error_once_and_recovers_when_space_returns(
    mode: str,
    notification_fits: bool,
    store,
    sim: SimulatedTastytrade,
    sim_server: RunningServer,
    receiver: Receiver,
    clean_env: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock(datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    clean_env.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        environ={
            "TTAI_HOME": str(clean_env),
            "TTAI_NOTIFICATION_BACKEND": "webhook",
            "TTAI_WEBHOOK_URL": receiver.url,
        }
    )
    AlertsRepository(store).add(parse_alert("AAPL", "price", "above", "1"), clock.now())
    fill_to_the_brim(store.db, "alerts", notifications=not notification_fits)
    job = AlertsCheckJob(JobContext(settings, store, clock, lambda: make_broker(sim_server)))
    service = SchedulingService(settings, clock, store=store)
    options = ScheduleOptions(every=timedelta(minutes=1), ignore_market_hours=True)
    if mode == "daemon":
        job.cadence = timedelta(minutes=1)
        options = ScheduleOptions(ignore_market_hours=True)
    stop = asyncio.Event()

    def at(hh_mm: str) -> datetime:
        return datetime.fromisoformat(f"2026-03-10T{hh_mm}").replace(tzinfo=NEW_YORK)

    def received(kind: str) -> list[object]:
        return [r for r in receiver.requests if r.json()["notification_type"] == kind]

    async def scenario() -> int:
        loop = asyncio.ensure_future(
            service.run_jobs(
                [job],
                options,
                stop=stop,
                max_chunk=3600,
                daemon=DaemonOptions() if mode == "daemon" else None,
            )
        )
        await clock.drive(at("10:05:30"), lambda: 1)  # six runs on a full disk
        assert not received("alert_triggered"), "nothing could fire: nothing was kept"
        store.db.execute("PRAGMA max_page_count = 1000000")  # space comes back
        await clock.drive(at("10:08:30"), lambda: 1)
        stop.set()
        return await loop

    with caplog.at_level(logging.INFO, logger="ttai"):
        assert asyncio.run(scenario()) == 0
    text = caplog.text
    assert "restarting" not in text and "crashed" not in text, "kept its cadence"
    assert text.count("error after") == 6, "each of 10:00 .. 10:05 failed, none was skipped"
    assert "disk full: the database at" in text
    if notification_fits:
        errors = received("error")
        assert len(errors) == 1, "one error notification for the streak"
        assert "disk full" in errors[0].json()["body"]  # type: ignore[attr-defined]
    else:  # the database could not keep it: logged, once
        assert not received("error")
        assert text.count("ttai alerts keeps failing") == 1
        assert "not notified: disk full" in text
    fired = received("alert_triggered")
    assert len(fired) == 1, "the alert fired once space came back, and was delivered"
    assert fired[0].json()["data"]["symbol"] == "AAPL"  # type: ignore[attr-defined]
    assert len(received("info")) == 1, "and one `works again`"
    runs = store.db.execute("SELECT runs, errors FROM jobs WHERE job = 'alerts'").fetchone()
    assert tuple(runs) == (3, 0), "10:06 .. 10:08 recorded, ok"


# -- a busy database ---------------------------------------------------------------------
@pytest.fixture
def held(clean_env: Path, ttai) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """The demo database, with another connection holding its write lock."""
    assert ttai("-q", "--demo", "alerts", "check", "--ignore-market-hours").code == 0
    other = sqlite3.connect(demo_db(clean_env), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    yield demo_db(clean_env)
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.parametrize(
    "args",
    [
        ["alerts", "add", "SPY", "above", "900"],
        ["alerts", "check", "--ignore-market-hours"],
        ["monitor", "--ignore-market-hours"],
    ],
    ids=["alerts-add", "alerts-check", "monitor"],
)
def test_a_database_held_by_another_process_is_database_busy_exit_1_after_the_wait(
    args: list[str], ttai, held: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_DB_BUSY_TIMEOUT", "1")
    started = time.monotonic()
    line = one_line_error(ttai("-q", "--demo", *args), 1)
    took = time.monotonic() - started
    assert line == f"ttai: database busy: another process holds {held}"
    assert 1 <= took < 2, f"waited the timeout, once ({took:.2f}s)"


def test_busy_timeout_defaults_to_10_seconds_and_is_checked(ttai) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.config import DB_BUSY_TIMEOUT

    assert DB_BUSY_TIMEOUT == 10.0
    assert load_settings(environ={}).db_busy_timeout == 10.0
    os.environ["TTAI_DB_BUSY_TIMEOUT"] = "soon"
    try:
        line = one_line_error(ttai("--demo", "alerts", "list"), 2)
    finally:
        del os.environ["TTAI_DB_BUSY_TIMEOUT"]
    assert "TTAI_DB_BUSY_TIMEOUT must be a number" in line


def test_reading_commands_work_while_another_process_writes(ttai, held: Path) -> None:  # type: ignore[no-untyped-def]
    for args in (["status"], ["alerts", "list"], ["notify", "outbox"]):
        result = ttai("--demo", *args)
        assert result.code == 0, (args, result)


# -- a damaged database ------------------------------------------------------------------
def damaged_copy(original: Path, home: Path, table: str | None) -> Path:
    """A copy of `original` in `home` with one page overwritten: the root page of
    `table`, or (None) the first page, where the header is."""
    home.mkdir(parents=True)
    copy = home / original.name
    source, db = sqlite3.connect(original), sqlite3.connect(copy)
    source.backup(db)  # (a plain copy would miss what is still in the WAL)
    source.close()
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    page = 1
    if table is not None:
        page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[
            0
        ]
    db.close()
    with copy.open("r+b") as file:
        file.seek((page - 1) * page_size)
        file.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    return copy


@pytest.mark.parametrize(
    "args",
    [
        ["alerts", "list"],
        ["alerts", "check", "--ignore-market-hours"],
        ["monitor", "--ignore-market-hours"],
        ["alerts", "check", "--ignore-market-hours", "--every", "1m", "--max-runs", "3"],
    ],
    ids=["alerts-list", "alerts-check", "monitor", "alerts-loop"],
)
def test_a_damaged_database_is_exit_2_pointing_at_doctor(
    args: list[str], ttai, clean_env: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "alerts", "check", "--ignore-market-hours").code == 0
    copy = damaged_copy(demo_db(clean_env), tmp_path / "copy", "alerts")
    result = ttai("-q", "--home", str(copy.parent), "--demo", *args)
    # a loop that stops also says so in one `error` notification (on stderr as JSON here)
    told = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    stopped = ["ttai stopped: its database is damaged"] if "--every" in args else []
    assert [n["title"] for n in told] == stopped
    rest = "\n".join(line for line in result.err.splitlines() if not line.startswith("{"))
    line = one_line_error(Result(result.code, result.out, rest), 2)
    assert line.startswith(f"ttai: database {copy} is damaged (database disk image is malformed)")
    assert "`ttai doctor`" in line
    doctor = ttai("--home", str(copy.parent), "--demo", "doctor", "--offline")
    assert doctor.code == 2 and "Traceback" not in doctor.err + doctor.out
    assert "is damaged" in doctor.out


def test_a_ttai_database_whose_header_is_overwritten_points_at_doctor(
    ttai, clean_env: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "alerts", "list").code == 0
    copy = damaged_copy(demo_db(clean_env), tmp_path / "copy", None)
    line = one_line_error(ttai("--home", str(copy.parent), "--demo", "alerts", "list"), 2)
    assert f"{copy} is not a ttai database (file is not a database)" in line
    assert "`ttai doctor`" in line


# -- configuration that cannot be right ---------------------------------------------------
@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "blank"])
def test_ttai_home_set_but_empty_is_exit_2(
    value: str, ttai, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_HOME", value)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "default"))
    line = one_line_error(ttai("--demo", "alerts", "list"), 2)
    assert line == (
        "ttai: TTAI_HOME is set but empty: set it to the state directory, or unset it for "
        "the default"
    )
    assert not (tmp_path / "default").exists(), "the default directory was not used"
    assert ttai("--home", str(tmp_path / "given"), "--demo", "alerts", "list").code == 0


def test_ttai_home_empty_in_a_dotenv_file_is_exit_2(ttai, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TTAI_HOME")
    Path(".env").write_text("TTAI_HOME=\n")
    assert "TTAI_HOME is set but empty" in one_line_error(ttai("--demo", "alerts", "list"), 2)


def test_a_home_without_space_for_the_database_to_start_is_exit_2(
    ttai, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_DB_MAX_PAGES", "1")
    line = one_line_error(ttai("--demo", "alerts", "list"), 2)
    assert line.startswith(f"ttai: no space to create the database at {demo_db(clean_env)} (")
    assert "KB free); free some space or set TTAI_HOME to another filesystem" in line
    monkeypatch.delenv("TTAI_DB_MAX_PAGES")
    assert ttai("-q", "--demo", "alerts", "list").code == 0, "with room, it starts"


def _make_read_only(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o500 if path.is_dir() else 0o400)
        return
    if shutil.which("chattr") is None:
        pytest.skip("root may write anywhere, and there is no chattr")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if done.returncode:
        pytest.skip(f"chattr +i not possible here: {done.stderr.decode().strip()}")


def _make_writable(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o700 if path.is_dir() else 0o600)
    else:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_database_is_exit_2_naming_the_path(what: str, ttai, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "alerts", "list").code == 0
    target = demo_db(clean_env) if what == "file" else clean_env
    _make_read_only(target)
    try:
        result = ttai("-q", "--demo", "alerts", "add", "SPY", "above", "900")
    finally:
        _make_writable(target)
    line = one_line_error(result, 2)
    assert str(target) in line
    assert "read-only" in line if what == "file" else "is not usable" in line


# -- reading on a full disk ---------------------------------------------------------------
def test_reading_commands_work_on_a_full_disk_and_write_nothing(
    ttai, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "sync").code == 0
    assert ttai("-q", "--demo", "alerts", "check", "--ignore-market-hours").code == 0
    path = demo_db(clean_env)
    monkeypatch.setenv("TTAI_DB_MAX_PAGES", str(fill_file(path, "alerts")))
    settle(path)
    before = digest(path)
    results: dict[str, Result] = {}
    reading = (
        ["status"],
        ["alerts", "list"],
        ["notify", "outbox"],
        ["positions"],
        ["balances"],
        ["history"],
    )
    for args in reading:
        results[" ".join(args)] = ttai("--demo", *args)
    for name, result in results.items():
        assert result.code == 0, (name, result)
        assert "ttai:" not in result.err, (name, result.err)
    assert "Positions (synced" in results["positions"].out, "from the last sync"
    assert "alerts" in results["status"].out and "SPY" in results["alerts list"].out
    assert digest(path) == before, "opening and reading wrote nothing"


def test_opening_an_up_to_date_database_writes_nothing(tmp_path: Path) -> None:
    from ttai_cli.store import open_store

    path = tmp_path / "ttai.db"
    open_store(path).close()
    before = digest(path)
    # another connection holds the write lock: any write on open would wait, then fail
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    try:
        with open_store(path, busy_timeout=0.2) as store:
            assert store.applied_migrations()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert time.monotonic() - started < 0.2, "it did not even wait for the lock"
    assert digest(path) == before


# -- the mapping, for the errors the CLI cases above do not reach ---------------------------
def test_sqlite_errors_become_ours_in_one_place(tmp_path: Path) -> None:
    from ttai_cli.errors import DatabaseBusy, DatabaseDamaged, DatabaseReadOnly, DiskFull
    from ttai_cli.store.connection import translate

    path = tmp_path / "ttai.db"

    def error(code: int, text: str) -> sqlite3.Error:
        exc = sqlite3.OperationalError(text)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    cases = {
        sqlite3.SQLITE_FULL: DiskFull,
        sqlite3.SQLITE_BUSY: DatabaseBusy,
        sqlite3.SQLITE_BUSY_SNAPSHOT: DatabaseBusy,
        sqlite3.SQLITE_LOCKED: DatabaseBusy,
        sqlite3.SQLITE_READONLY: DatabaseReadOnly,
        sqlite3.SQLITE_READONLY_DIRECTORY: DatabaseReadOnly,
        sqlite3.SQLITE_CANTOPEN: DatabaseReadOnly,
        sqlite3.SQLITE_CORRUPT: DatabaseDamaged,
        sqlite3.SQLITE_NOTADB: DatabaseDamaged,
    }
    for code, kind in cases.items():
        ours = translate(error(code, "x"), path)
        assert isinstance(ours, kind), (code, ours)
        assert str(path) in str(ours)
        assert ours.exit_code == (1 if kind in (DiskFull, DatabaseBusy) else 2)
    moved = translate(error(sqlite3.SQLITE_READONLY_DBMOVED, "x"), path)
    assert "moved or deleted" in str(moved) and moved.exit_code == 1  # type: ignore[attr-defined]
    io = translate(error(sqlite3.SQLITE_IOERR_WRITE, "disk I/O error"), path)
    assert str(io) == f"cannot read or write the database {path} (disk I/O error)"
    bug = sqlite3.IntegrityError("UNIQUE constraint failed")
    bug.sqlite_errorcode = sqlite3.SQLITE_CONSTRAINT  # type: ignore[attr-defined]
    assert translate(bug, path) is bug, "our own bugs stay what they are"


def test_a_write_that_fills_the_disk_in_a_transaction_rolls_back_and_says_disk_full(
    tmp_path: Path,
) -> None:
    from ttai_cli.errors import DiskFull
    from ttai_cli.store import open_store

    with open_store(tmp_path / "ttai.db") as store:
        store.db.execute("CREATE TABLE filler (x)")
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(DiskFull), store.transaction() as db:
            db.executemany("INSERT INTO filler VALUES (?)", [("x" * 1000,)] * 100)
        assert not store.db.in_transaction
        assert store.db.execute("SELECT count(*) FROM filler").fetchone()[0] == 0
        with store.transaction() as db:  # and the store goes on working
            db.execute("INSERT INTO filler VALUES (1)")


def test_a_loop_held_up_by_a_busy_database_goes_on_when_it_is_free(
    ttai, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert ttai("-q", "--demo", "alerts", "check", "--ignore-market-hours").code == 0
    monkeypatch.setenv("TTAI_DB_BUSY_TIMEOUT", "0.2")
    monkeypatch.setenv("TTAI_NOTIFICATION_BACKEND", "none")
    other = sqlite3.connect(demo_db(clean_env), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    freed = threading.Timer(0.7, lambda: other.execute("ROLLBACK"))
    freed.start()
    try:
        args = ["--demo", "alerts", "check", "--loop", "--ignore-market-hours"]
        result = ttai(*args, "--every", "1s", "--max-runs", "2")
    finally:
        freed.join()
        other.close()
    assert result.code == 0, result.err  # the last run worked
    assert "database busy: another process holds" in result.err
    assert "restarting" not in result.err
    status = ttai("--demo", "status", "--json")
    assert status.code == 0
