"""The one exception hierarchy of ttai.

Services raise these; only the CLI edge (`ttai_cli.app.main`) turns them into a
single line on stderr and an exit code. Messages must never contain a secret: they
are printed as they are.
"""

from __future__ import annotations


class TtaiError(Exception):
    """Base of every error ttai reports to the user. Exit code 1: the job failed."""

    exit_code = 1


class UsageError(TtaiError):
    """Bad input on the command line: exit 2."""

    exit_code = 2


class ConfigError(TtaiError):
    """Bad or missing configuration (environment, `.env`, state directory): exit 2."""

    exit_code = 2


class CredentialsError(ConfigError):
    """Credentials missing or rejected by tastytrade: the user must act, exit 2."""


class Interrupted(TtaiError):
    """Ctrl-C (SIGINT) during a one-off run: exit 130 (128 + SIGINT), as shells expect.
    A loop stopped by any signal exits 0."""

    exit_code = 130


class StoreError(TtaiError):
    """The local database could not be used. SQLite's own errors become one of these
    subclasses in one place (`ttai_cli.store.connection.translate`)."""


class NotATtaiDatabase(StoreError):
    """The database file belongs to something else (or is not SQLite at all): exit 2."""

    exit_code = 2


class DiskFull(StoreError):
    """The database cannot grow: the disk is full (SQLITE_FULL). Exit 1; loops count it
    as a failed run and try again at their cadence."""


class NoRoomToStart(StoreError):
    """A new database could not be created for lack of space: the state directory is
    on a full filesystem, a configuration problem (exit 2)."""

    exit_code = 2


class DatabaseBusy(StoreError):
    """Another process held the database's write lock for longer than the busy
    timeout (SQLITE_BUSY / SQLITE_LOCKED): exit 1."""


class DatabaseReadOnly(StoreError):
    """The database file, or the directory it needs to write its journal in, is not
    writable (SQLITE_READONLY): configuration, exit 2."""

    exit_code = 2


class DatabaseDamaged(StoreError):
    """The database file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB, a failed quick_check):
    exit 2, since no retry mends it. Made by `ttai_cli.store.connection.damaged`, whose
    message points at `ttai doctor` for the way back."""

    exit_code = 2


class DatabaseMoved(StoreError):
    """The database file this process opened is no longer the one at its path (moved,
    deleted or replaced, or its -wal/-shm file removed): exit 1. A loop stops rather
    than go on with a file no other process sees; a restart opens the one at the path."""

    def __init__(self, path: object, why: str) -> None:
        self.why = why
        super().__init__(
            f"database moved: {path} is no longer the file this process opened ({why}); "
            "stopped so that nothing is written where other ttai processes cannot see it "
            "(start ttai again to use the file at the path)"
        )


class BrokerError(TtaiError):
    """The broker could not answer (network, 5xx after retries, malformed answers): exit 1."""


class UnknownSymbolError(UsageError):
    """A symbol the broker does not know: exit 2."""

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = symbols
        noun = "symbol" if len(symbols) == 1 else "symbols"
        super().__init__(f"unknown {noun}: {', '.join(symbols)}")
