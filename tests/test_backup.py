"""Damage is found, and there is a way back: `ttai backup`, `ttai restore`, the daemon's
daily backups, `ttai doctor`'s integrity_check, and jobs that meet a damaged database.

Damage is made the way a failing disk makes it: a page of the file overwritten (the root
page of the `alerts` table, so that the file still opens and the damage is met by what
reads alerts).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.fakes import VirtualClock
from tests.test_split_brain import demo_loop, error_notifications
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.jobs.backup import BackupJob
from ttai_cli.jobs.context import JobContext
from ttai_cli.scheduling.options import ScheduleOptions
from ttai_cli.services.scheduling import DaemonOptions, SchedulingService
from ttai_cli.store import open_store
from ttai_cli.store.jobs import JobsRepository
from ttai_cli.store.migrations import MIGRATIONS

DEMO_DB = "ttai-demo.db"


def damage(path: Path, table: str = "alerts") -> None:
    """Overwrite the root page of `table` with garbage (after moving everything out of
    the -wal into the file, where the damage must be)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * (size // 4))


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in db.execute(sql)]
    finally:
        db.close()


def quick_check(path: Path) -> str:
    return str(rows(path, "PRAGMA quick_check")[0][0])


def today() -> str:
    return datetime.now(NEW_YORK).date().isoformat()


def demo_home(ttai) -> Path:  # type: ignore[no-untyped-def]
    """The demo database, created and seeded (5 alerts) by a first command."""
    listed = ttai("--demo", "alerts", "list")
    assert listed.code == 0, listed.err
    return Path(os.environ["TTAI_HOME"])


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("ttai: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


# -- ttai backup -------------------------------------------------------------------------------------
def test_backup_writes_a_private_copy_named_after_the_new_york_date_and_prints_it(ttai) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    result = ttai("--demo", "backup")
    assert result.code == 0, result.err
    path = home / "backups" / f"ttai-demo-{today()}.db"
    assert result.out.strip() == f"{path} ({path.stat().st_size // 1024:,} KB)"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert quick_check(path) == "ok"
    assert rows(path, "SELECT count(*) FROM alerts") == [(5,)]
    assert rows(path, "PRAGMA journal_mode") == [("delete",)], "one file, no -wal beside it"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_backup_output_writes_the_file_given(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    demo_home(ttai)
    target = tmp_path / "mine.db"
    result = ttai("--demo", "backup", "--output", str(target))
    assert result.code == 0, result.err
    assert result.out.startswith(f"{target} (")
    assert quick_check(target) == "ok"


@pytest.mark.parametrize("where", ["a directory", "the database itself", "a missing directory"])
def test_backup_output_that_cannot_be_a_backup_is_exit_2(ttai, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    output = {
        "a directory": tmp_path,
        "the database itself": home / DEMO_DB,
        "a missing directory": tmp_path / "nowhere" / "b.db",
    }[where]
    result = ttai("--demo", "backup", "--output", str(output))
    assert result.code == 2
    assert "--output" in one_line(result.err)
    assert quick_check(home / DEMO_DB) == "ok"


def test_backup_while_another_process_writes_is_consistent(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A writer commits two rows per transaction as fast as it can in another process;
    every backup taken meanwhile holds whole transactions only, and passes quick_check."""
    home = demo_home(ttai)
    database = home / DEMO_DB
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)\n"
            "db.execute('CREATE TABLE IF NOT EXISTS pairs (n INTEGER)')\n"
            "print('ready', flush=True)\n"
            "for i in range(1_000_000):\n"
            "    db.execute('BEGIN IMMEDIATE')\n"
            "    db.executemany('INSERT INTO pairs VALUES (?)', [(i,), (i,)])\n"
            "    db.execute('COMMIT')\n",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        counts = []
        for index in range(5):
            target = tmp_path / f"b{index}.db"
            result = ttai("--demo", "backup", "--output", str(target))
            assert result.code == 0, result.err
            assert quick_check(target) == "ok"
            counts.append(rows(target, "SELECT count(*) FROM pairs")[0][0])
    finally:
        writer.kill()
        writer.wait()
    assert all(count % 2 == 0 for count in counts), counts
    assert counts == sorted(counts) and counts[-1] > counts[0], "the writer went on meanwhile"


def test_backup_of_a_damaged_database_exits_2_pointing_at_doctor_and_keeps_no_copy(ttai) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    damage(home / DEMO_DB)
    result = ttai("--demo", "backup")
    assert result.code == 2
    line = one_line(result.err)
    assert "is damaged" in line and "ttai doctor" in line
    assert not list((home / "backups").iterdir()), "a damaged copy would push good ones out"


# -- the daemon's daily backups --------------------------------------------------------------------------
def test_the_daemon_keeps_one_backup_a_day_for_the_last_7_days(clean_env: Path) -> None:
    clean_env.mkdir(parents=True)
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    store = open_store(settings.database_path)
    backups = clean_env / "backups"
    backups.mkdir()
    for name in ("ttai-demo-2026-01-01.db", "mine.db"):  # another database's, the user's own
        (backups / name).write_bytes(b"keep")
    clock = VirtualClock(datetime(2026, 3, 2, 10, 0, tzinfo=NEW_YORK))
    context = JobContext(settings, store, clock, lambda: None)  # type: ignore[arg-type, return-value]
    service = SchedulingService(settings, clock, store=store)
    stop = asyncio.Event()

    async def ten_days() -> int:
        daemon = asyncio.ensure_future(
            service.run_jobs(
                [BackupJob(context)],
                ScheduleOptions(),
                daemon=DaemonOptions(),
                stop=stop,
                max_chunk=86400,
            )
        )
        await clock.drive(datetime(2026, 3, 11, 12, 0, tzinfo=NEW_YORK), lambda: 1)
        stop.set()
        return await daemon

    assert asyncio.run(ten_days()) == 0
    status = next(s for s in JobsRepository(store).statuses() if s.job == "backup")
    assert status.runs == 10 and status.errors == 0, "at the start, then each night at 3:30"
    kept = sorted(p.name for p in backups.iterdir())
    assert kept == sorted(
        ["mine.db", "ttai-demo-2026-01-01.db"]
        + [f"ttai-2026-03-{day:02d}.db" for day in range(5, 12)]
    ), "today's and the 6 days before; other files untouched"
    assert all(quick_check(backups / name) == "ok" for name in kept if name.startswith("ttai-2026"))
    store.close()


def test_the_daemon_runs_the_backup_job(clean_env: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttai_cli", "--demo", "run", "--ignore-market-hours"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TTAI_NOTIFICATION_BACKEND": "none", "TTAI_STREAMING": "0"},
    )
    backup = clean_env / "backups" / f"ttai-demo-{today()}.db"
    try:
        deadline = time.monotonic() + 20
        while not backup.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert backup.exists(), "the daemon backs up when it starts"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "backup: ok" in err and f"backed up to {backup}" in err
    assert quick_check(backup) == "ok"


# -- ttai restore ----------------------------------------------------------------------------------------
def test_restore_puts_a_checked_backup_in_place_and_keeps_the_current_database_aside(
    ttai, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    backup = tmp_path / "before.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    added = ttai("--demo", "alerts", "add", "SPY", "above", "1")  # after the backup
    assert added.code == 0, added.err
    result = ttai("--demo", "restore", str(backup))
    assert result.code == 0, result.err
    asides = sorted(home.glob(f"{DEMO_DB}.before-restore-*[0-9]"))  # (its -wal may be beside)
    assert len(asides) == 1
    assert result.out == (
        f"restored {backup} ({backup.stat().st_size // 1024:,} KB, {len(MIGRATIONS)} migrations) to "
        f"{home / DEMO_DB}\nthe database it replaced is kept as {asides[0]}\n"
    )
    listed = json.loads(ttai("--demo", "alerts", "list", "--json").out)
    assert [a["symbol"] for a in listed if a["threshold"] == 1.0] == [], "back as backed up"
    assert rows(asides[0], "SELECT count(*) FROM alerts WHERE threshold = 1") == [(1,)]
    assert stat.S_IMODE((home / DEMO_DB).stat().st_mode) == 0o600
    assert not [p for p in home.iterdir() if ".restore-" in p.name or ".partial-" in p.name]


def test_restore_moves_the_old_wal_aside_so_it_is_never_replayed_into_the_backup(
    ttai, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    database = home / DEMO_DB
    backup = tmp_path / "before.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    # a process that died after committing: its write is only in the -wal
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute(\"INSERT INTO meta (key, value) VALUES ('marker', 'old')\")\n"
            "os._exit(0)\n",
            str(database),
        ],
        check=True,
    )
    assert Path(f"{database}-wal").stat().st_size > 0
    result = ttai("--demo", "restore", str(backup))
    assert result.code == 0, result.err
    aside = next(home.glob(f"{DEMO_DB}.before-restore-*[0-9]"))
    assert Path(f"{aside}-wal").exists(), "the old -wal went aside with its file"
    assert rows(database, "SELECT value FROM meta WHERE key = 'marker'") == []
    assert rows(aside, "SELECT value FROM meta WHERE key = 'marker'") == [("old",)]


def test_restore_refuses_while_a_job_holds_the_database_naming_it(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    backup = tmp_path / "before.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    loop = demo_loop()
    try:
        loop.wait_for("alerts: ok")
        result = ttai("--demo", "restore", str(backup))
        assert loop.proc.poll() is None, "the loop goes on"
    finally:
        loop.proc.send_signal(signal.SIGTERM)
        code = loop.exit_code(timeout=10)
    assert result.code == 1
    line = one_line(result.err)
    assert f"the alerts job is running (pid {loop.proc.pid})" in line and "stop it first" in line
    assert code == 0, loop.err
    assert not list(home.glob("*.before-restore-*"))


def test_restore_refuses_while_another_process_has_the_database_open(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    backup = tmp_path / "before.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    holder = subprocess.Popen(  # e.g. `ttai watch`, or sqlite3 in another terminal
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "db = sqlite3.connect(sys.argv[1])\n"
            "db.execute('SELECT count(*) FROM alerts').fetchone()\n"
            "print('open', flush=True)\n"
            "time.sleep(60)\n",
            str(home / DEMO_DB),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        result = ttai("--demo", "restore", str(backup))
    finally:
        holder.kill()
        holder.wait()
    assert result.code == 1
    assert "another process has" in one_line(result.err)
    assert not list(home.glob("*.before-restore-*"))


def _newer(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("INSERT INTO _migrations (name, applied_at) VALUES ('m999_from_the_future', 'x')")
    db.commit()
    db.close()


def _foreign(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("case", "spoil", "message"),
    [
        ("damaged", damage, "is damaged (quick_check:"),
        ("not sqlite", lambda p: p.write_text("hello\n" * 1000), "is not a ttai database"),
        ("another program's", _foreign, "is not a ttai database"),
        ("from a newer ttai", _newer, "was written by a newer ttai (it has m999_from_the_future"),
        ("missing", lambda p: p.unlink(), "no such file"),
    ],
)
def test_restore_refuses_a_file_it_cannot_use_exit_2_and_changes_nothing(
    ttai, tmp_path: Path, case: str, spoil, message: str
) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    backup = tmp_path / "backup.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    spoil(backup)
    before = sorted(p.name for p in home.glob(f"{DEMO_DB}*"))
    result = ttai("--demo", "restore", str(backup))
    assert result.code == 2, result.err
    assert message in one_line(result.err)
    assert sorted(p.name for p in home.glob(f"{DEMO_DB}*")) == before, "nothing changed"
    assert not [p for p in home.glob(".*") if ".restore-" in p.name], "no staged copy left"
    assert len(json.loads(ttai("--demo", "alerts", "list", "--json").out)) == 5


REAL_DB = "ttai.db"


def record_account(path: Path, account: str) -> None:
    """A balance snapshot of `account` in the database at `path`, as a sync writes one."""
    db = sqlite3.connect(path)
    db.execute(
        "INSERT OR REPLACE INTO balance_snapshots VALUES "
        "('2026-11-20', '2026-11-20T21:00:00+00:00', ?, '1000', '1000', '0', '0', '0', '0')",
        (account,),
    )
    db.commit()
    db.close()


def real_backup(ttai, path: Path, account: str | None) -> Path:  # type: ignore[no-untyped-def]
    """A backup of the real account's database, holding `account`'s data (or none), made
    through a real database of its own (moved away afterwards: the test's is fresh)."""
    home = Path(os.environ["TTAI_HOME"])
    assert ttai("alerts", "list").code == 0  # the real database, created empty
    if account is not None:
        record_account(home / REAL_DB, account)
    assert ttai("backup", "-o", str(path)).code == 0
    for leftover in home.glob(f"{REAL_DB}*"):
        leftover.unlink()
    return path


def test_restore_of_a_demo_backup_without_demo_is_exit_2_and_the_real_database_is_untouched(
    ttai, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The trader's case: `ttai restore` of a demo backup (no --demo) put the demo account
    in place of the real account's record, silently."""
    home = demo_home(ttai)
    backup = tmp_path / "demo.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    assert ttai("alerts", "list").code == 0  # the real account's database, no data yet
    record = sorted(p.name for p in home.glob(f"{REAL_DB}*"))
    result = ttai("restore", str(backup))
    assert result.code == 2, result.err
    line = one_line(result.err)
    assert f"{backup} is a backup of the demo database (account 5WT00001)" in line
    assert "restore it with `ttai --demo restore`, or add --force" in line
    assert sorted(p.name for p in home.glob(f"{REAL_DB}*")) == record, "nothing changed"
    assert rows(home / REAL_DB, "SELECT count(*) FROM balance_snapshots") == [(0,)]


def test_restore_of_a_demo_backup_with_force_goes_and_says_which_account_it_holds(
    ttai, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    backup = tmp_path / "demo.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    result = ttai("restore", "--force", str(backup))
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == (
        "it holds account 5WT00001 (the demo account); the database it replaced held no "
        "account's data (--force)"
    )
    assert rows(home / REAL_DB, "SELECT DISTINCT account_number FROM balance_snapshots") == [
        ("5WT00001",)
    ]


def test_restore_of_a_real_backup_with_demo_is_exit_2(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    backup = real_backup(ttai, tmp_path / "real.db", "5WZ12345")
    home = demo_home(ttai)
    result = ttai("--demo", "restore", str(backup))
    assert result.code == 2, result.err
    line = one_line(result.err)
    assert "is a backup of the real account's database (account 5WZ12345)" in line
    assert "restore it without --demo, or add --force" in line
    assert not list(home.glob("*.before-restore-*"))


def test_restore_of_another_accounts_backup_is_exit_2_unless_force(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = Path(os.environ["TTAI_HOME"])
    backup = real_backup(ttai, tmp_path / "other.db", "5WZ99999")
    assert ttai("alerts", "list").code == 0
    record_account(home / REAL_DB, "5WZ12345")
    result = ttai("restore", str(backup))
    assert result.code == 2, result.err
    assert one_line(result.err) == (
        f"ttai: {backup} holds account 5WZ99999, but {home / REAL_DB} holds account "
        "5WZ12345: add --force to replace that record with it anyway"
    )
    assert not list(home.glob("*.before-restore-*"))
    forced = ttai("restore", "--force", str(backup))
    assert forced.code == 0, forced.err
    assert forced.out.splitlines()[-1] == (
        "it holds account 5WZ99999; the database it replaced held account 5WZ12345 (--force)"
    )


def test_restore_into_a_database_with_no_account_data_takes_any_backup_saying_whose(
    ttai, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    home = Path(os.environ["TTAI_HOME"])
    backup = real_backup(ttai, tmp_path / "real.db", "5WZ12345")
    assert ttai("alerts", "list").code == 0  # a new machine: the database has no data yet
    result = ttai("restore", str(backup))
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "it holds account 5WZ12345"
    assert rows(home / REAL_DB, "SELECT account_number FROM balance_snapshots") == [("5WZ12345",)]


def test_restore_of_the_same_accounts_backup_names_no_account(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    demo_home(ttai)
    backup = tmp_path / "demo.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    result = ttai("--demo", "restore", str(backup))
    assert result.code == 0, result.err
    assert "it holds" not in result.out


def _wal_copy(database: Path, backup: Path, with_wal: bool) -> None:
    """`cp` of a live database: a file in WAL mode, with its -wal (holding a write not yet
    in the file) or without one."""
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(database, backup)
    db.execute("INSERT INTO meta (key, value) VALUES ('marker', 'in the wal')")
    if with_wal:
        shutil.copyfile(f"{database}-wal", f"{backup}-wal")
    db.close()


@pytest.mark.parametrize("copy", ["ttai backup", "cp of a live database", "cp with its -wal"])
def test_restore_creates_no_file_beside_the_backup(ttai, tmp_path: Path, copy: str) -> None:  # type: ignore[no-untyped-def]
    """Opening a WAL-mode file read-only makes SQLite create its -wal and -shm beside it
    (and leave them): restore left FILE-wal and FILE-shm in the user's directory."""
    home = demo_home(ttai)
    folder = tmp_path / "backups"
    folder.mkdir()
    backup = folder / "copy.db"
    if copy == "ttai backup":
        assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    else:
        _wal_copy(home / DEMO_DB, backup, with_wal=copy == "cp with its -wal")
    before = sorted(p.name for p in folder.iterdir())
    result = ttai("--demo", "restore", str(backup))
    assert result.code == 0, result.err
    assert sorted(p.name for p in folder.iterdir()) == before
    marker = rows(home / DEMO_DB, "SELECT value FROM meta WHERE key = 'marker'")
    assert marker == ([("in the wal",)] if copy == "cp with its -wal" else [])
    assert not [p for p in home.iterdir() if ".source-" in p.name or ".restore-" in p.name]


# -- damage: doctor, and jobs that meet it ----------------------------------------------------------------
def test_doctor_reports_a_damaged_database_as_a_failed_check_naming_the_way_back(ttai) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    assert ttai("--demo", "backup").code == 0
    damage(home / DEMO_DB)
    result = ttai("--demo", "doctor", "--offline")
    assert result.code == 2
    assert one_line(result.err) == "ttai: doctor found 1 problem: database"
    text = " ".join(result.out.split())  # the way back may wrap
    assert f"fail database {home / DEMO_DB} is damaged: integrity_check:" in text
    backup = home / "backups" / f"ttai-demo-{today()}.db"
    assert f"way back stop ttai's jobs, then `ttai restore {backup}` (the newest backup)" in text
    assert f"sqlite3 {home / DEMO_DB} .recover" in text


def test_doctor_on_a_sound_database_says_integrity_check_ok(ttai) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    result = ttai("--demo", "doctor", "--offline", "--json")
    checks = {c["name"]: c for c in json.loads(result.out)}
    assert checks["database"]["status"] == "ok"
    assert "integrity_check ok" in checks["database"]["detail"]
    assert checks["backups"]["detail"].startswith("none yet")
    assert str(home) in checks["database"]["detail"]


@pytest.mark.parametrize(
    "schedule", [[], ["--every", "1s", "--max-runs", "3"]], ids=["one-off", "loop"]
)
def test_a_job_that_meets_a_damaged_database_exits_2_pointing_at_doctor(
    ttai, schedule: list[str]
) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    damage(home / DEMO_DB)
    result = ttai("--demo", "alerts", "check", "--ignore-market-hours", *schedule)
    assert result.code == 2
    line = one_line(result.err)
    assert line == (
        f"ttai: database {home / DEMO_DB} is damaged (database disk image is "
        "malformed); run `ttai doctor` for the way back"
    )
    assert result.err.count("run for") == 1, "the loop stopped at its first run"
    assert "crashed" not in result.err and "restarting" not in result.err
    told = error_notifications(result.err)  # notifications go to stderr as JSON here
    assert [n["title"] for n in told] == (
        ["ttai stopped: its database is damaged"] if schedule else []
    )


def test_a_command_that_reads_a_damaged_table_exits_2_pointing_at_doctor(ttai) -> None:  # type: ignore[no-untyped-def]
    home = demo_home(ttai)
    damage(home / DEMO_DB)
    result = ttai("--demo", "alerts", "list")
    assert result.code == 2
    assert "is damaged" in one_line(result.err) and "ttai doctor" in result.err


def test_doctor_finds_an_index_that_misses_rows_which_quick_check_passes(ttai) -> None:  # type: ignore[no-untyped-def]
    """The damage a WAL replayed into the wrong file leaves: an index that does not match
    its table. Made here by telling SQLite the index covers other columns than it holds."""
    home = demo_home(ttai)
    assert ttai("-q", "--demo", "alerts", "check", "--ignore-market-hours").code == 0
    path = home / DEMO_DB
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA writable_schema = ON")
    db.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX job_runs_by_job ON job_runs (result, id)' "
        "WHERE name = 'job_runs_by_job'"
    )
    db.close()
    assert quick_check(path) == "ok", "quick_check does not see it"
    result = ttai("--demo", "doctor", "--offline", "--json")
    assert result.code == 2
    database = next(c for c in json.loads(result.out) if c["name"] == "database")
    assert database["status"] == "fail"
    assert database["detail"].startswith(f"{path} is damaged: integrity_check: ")
    assert "job_runs_by_job" in database["detail"]


def test_damage_where_nothing_reads_is_found_by_doctor_not_by_the_commands(ttai) -> None:  # type: ignore[no-untyped-def]
    """SQLite reads pages as it needs them: a damaged page nobody reads (here an index of
    the transactions, which `history` and `sync` use) lets the other commands work
    (exit 0), and `ttai doctor`, which reads every page, finds it (README: damage is met
    where it is read; doctor and the daemon's nightly backup check it all)."""
    home = demo_home(ttai)
    damage(home / DEMO_DB, "transactions_by_date")
    for args in (["alerts", "list"], ["alerts", "check", "--ignore-market-hours"], ["status"]):
        result = ttai("-q", "--demo", *args)
        assert result.code == 0, (args, result.err)
    doctor = ttai("--demo", "doctor", "--offline", "--json")
    assert doctor.code == 2
    database = next(c for c in json.loads(doctor.out) if c["name"] == "database")
    assert database["status"] == "fail" and "is damaged: integrity_check:" in database["detail"]


def test_the_way_back_doctor_names_works_with_this_machines_sqlite3(ttai) -> None:  # type: ignore[no-untyped-def]
    """The commands `ttai doctor` prints, run as printed: sqlite3's `.recover`, and where
    it fails (Debian's sqlite3 3.40: "SQL logic error", the pipe exiting 0 with an empty
    file) the `.dump` the advice names next; then `ttai restore`."""
    if shutil.which("sqlite3") is None:
        pytest.skip("no sqlite3 shell")
    home = demo_home(ttai)
    database = home / DEMO_DB
    damage(database)
    result = ttai("--demo", "doctor", "--offline", "--json")
    advice = next(c for c in json.loads(result.out) if c["name"] == "way back")["detail"]
    commands = advice.split("`")[1::2]  # what is quoted, in order
    recover, dump, restore = commands[1], commands[2], commands[3]
    recovered = home / "ttai-demo-recovered.db"
    assert recover == f"sqlite3 {database} .recover | sqlite3 {recovered}"
    assert dump == (
        f"sqlite3 {database} .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' "
        f"| sqlite3 {recovered}"
    )
    assert restore == f"ttai restore {recovered}"
    subprocess.run(recover, shell=True, capture_output=True)
    if not rows(recovered, "SELECT 1 FROM sqlite_master WHERE name = '_migrations'"):
        subprocess.run(dump, shell=True, capture_output=True, check=True)
    restored = ttai("--demo", *restore.split()[1:])
    assert restored.code == 0, restored.err
    doctor = json.loads(ttai("--demo", "doctor", "--offline", "--json").out)
    assert next(c for c in doctor if c["name"] == "database")["status"] == "ok"
    assert rows(database, "SELECT count(*) FROM _migrations") == [(len(MIGRATIONS),)]


def test_salvage_then_restore_brings_a_damaged_database_back(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The README's way back without a backup: sqlite3's `.recover` (or, where the sqlite3
    shell lacks it, `.dump` with its closing ROLLBACK made a COMMIT), then `ttai restore`."""
    sqlite3_shell = shutil.which("sqlite3")
    if sqlite3_shell is None:
        pytest.skip("no sqlite3 shell")
    home = demo_home(ttai)
    database = home / DEMO_DB
    damage(database)
    recovered = tmp_path / "ttai-recovered.db"
    subprocess.run(
        f"{sqlite3_shell} {database} .recover | {sqlite3_shell} {recovered}",
        shell=True,
        capture_output=True,
    )
    if not rows(recovered, "SELECT 1 FROM sqlite_master WHERE name = '_migrations'"):
        recovered.unlink()  # a sqlite3 shell built without .recover's sqlite_dbpage table
        dumped = subprocess.run(
            [sqlite3_shell, str(database), ".dump"], capture_output=True, text=True
        ).stdout.replace("ROLLBACK; -- due to errors", "COMMIT;")
        subprocess.run([sqlite3_shell, str(recovered)], input=dumped, text=True, check=True)
    result = ttai("--demo", "restore", str(recovered))
    assert result.code == 0, result.err
    assert ttai("--demo", "alerts", "list").code == 0
    doctor = json.loads(ttai("--demo", "doctor", "--offline", "--json").out)
    assert next(c for c in doctor if c["name"] == "database")["status"] == "ok"
    # the salvaged file lost the damaged page's alerts; everything else came back
    assert rows(database, "SELECT count(*) FROM _migrations") == [(len(MIGRATIONS),)]


@pytest.mark.parametrize("table", ["alerts", "balance_snapshots", "positions"])
def test_restore_replaces_a_damaged_database_whose_accounts_cannot_be_read(
    ttai, tmp_path: Path, table: str
) -> None:  # type: ignore[no-untyped-def]
    """The way back from damage: restore must not need to read the database it replaces
    (its accounts cannot be compared then; the backup's kind still is)."""
    home = demo_home(ttai)
    assert ttai("--demo", "sync").code == 0
    backup = tmp_path / "good.db"
    assert ttai("--demo", "backup", "-o", str(backup)).code == 0
    damage(home / DEMO_DB, table)
    result = ttai("--demo", "restore", str(backup))
    assert result.code == 0, result.err
    assert quick_check(home / DEMO_DB) == "ok"
    assert ttai("--demo", "alerts", "list").code == 0
