"""The SQLite store: migrations, file mode, WAL, and refusing foreign files."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from ttai_cli.errors import NotATtaiDatabase
from ttai_cli.store import APPLICATION_ID, migrate, open_store
from ttai_cli.store.migrations import MIGRATIONS

EXPECTED_COLUMNS = {
    "_migrations": ["name", "applied_at"],
    "meta": ["key", "value"],
}


def columns(db: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [
        r[0]
        for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    return {t: [c[1] for c in db.execute(f"PRAGMA table_info({t})")] for t in tables}


def test_blank_database_migrates_to_the_expected_schema(tmp_path: Path) -> None:
    with open_store(tmp_path / "t.db") as store:
        got = columns(store.db)
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    for table, cols in EXPECTED_COLUMNS.items():
        assert got[table] == cols


def test_migrations_are_ordered_uniquely_named_and_applied_once(tmp_path: Path) -> None:
    names = [name for name, _ in MIGRATIONS]
    assert len(names) == len(set(names))
    assert names == sorted(names), "migrations are named mNNN_ and stay in order"
    path = tmp_path / "t.db"
    open_store(path).close()
    with open_store(path) as store:
        assert store.applied_migrations() == names


def test_file_is_private_wal_and_marked_as_ours(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    old = os.umask(0o022)
    try:
        with open_store(path) as store:
            assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
            assert store.db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
            store.db.execute("INSERT INTO meta VALUES ('k', 'v')")
            for suffix in ("", "-wal", "-shm"):
                f = Path(f"{path}{suffix}")
                if f.exists():
                    assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    finally:
        os.umask(old)


def test_a_failed_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    open_store(tmp_path / "t.db").close()
    db = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    with pytest.raises(RuntimeError):
        migrate(db, [*MIGRATIONS, ("m999_broken", broken)])
    assert "half" not in columns(db)
    assert [r[0] for r in db.execute("SELECT name FROM _migrations")] == [n for n, _ in MIGRATIONS]


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_store(path).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with open_store(path) as store:
        assert store.applied_migrations() == [n for n, _ in MIGRATIONS]


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE songs (title)")
    db.commit()
    db.close()
    with pytest.raises(NotATtaiDatabase) as caught:
        open_store(path)
    assert caught.value.exit_code == 2
    assert "not a ttai database" in str(caught.value)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database at all, just text\n" * 100)
    with pytest.raises(NotATtaiDatabase):
        open_store(path)
