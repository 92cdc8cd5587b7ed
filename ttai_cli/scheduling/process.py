"""What the runners of one process share: whether a run has worked yet, the error that ends
the process, and the database's loss (no split brain).

Before every run the database file is checked to still be the one at its path
(`ProcessRuns.database_usable`); when it is not (`DatabaseMoved`), or SQLite finds it
damaged, every runner of the process stops and nothing more is written to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ttai_cli.errors import DatabaseDamaged, DatabaseMoved, StoreError, TtaiError
from ttai_cli.store import Store


@dataclass
class ProcessRuns:
    """What the runners of one process share. A refresh token revoked before any run of
    the process that talks to tastytrade has worked (a one-off, a loop's first run) is
    `fatal`: every runner stops and the process exits 2; revoked later, the runners go on
    (the user is told). A damaged or read-only database is fatal whenever it is met; in a
    one-off, so is any database failure. The CLI edge prints the fatal error: one line,
    its exit code.

    A database that is damaged (exit 2) or no longer the file at its path (exit 1) is
    lost: `store`, when set, is checked before every run (and by the service every
    second), and nothing more is written to a lost database."""

    worked: bool = False
    fatal: TtaiError | None = None
    store: Store | None = None

    @property
    def store_lost(self) -> bool:
        """The database is damaged or no longer at its path: nothing more is written to it."""
        return isinstance(self.fatal, DatabaseMoved | DatabaseDamaged)

    def end(self, error: TtaiError, stop: asyncio.Event) -> None:
        """Stop every runner of the process; the process exits with `error` (the first one
        met, except that a lost database wins: it is what the user must see to)."""
        if isinstance(error, DatabaseMoved | DatabaseDamaged):
            self.lose_store(error, stop)
            return
        if self.fatal is None:
            self.fatal = error
        stop.set()

    def lose_store(self, error: DatabaseMoved | DatabaseDamaged, stop: asyncio.Event) -> None:
        """Stop every runner of the process; the first such error is the one reported. A
        moved database is abandoned, never closed (see `Store.abandon`)."""
        if not self.store_lost:
            self.fatal = error
        if isinstance(error, DatabaseMoved) and self.store is not None:
            self.store.abandon()
        stop.set()

    def database_usable(self, stop: asyncio.Event) -> bool:
        """True while the database this process opened is still the file at its path (a
        few `stat` calls); otherwise every runner is told to stop, and False. A database
        read read-only for lack of space (`Store.read_only`) is opened as usual again as
        soon as there is space (`Store.recover`): its writes work from then on."""
        if self.store_lost:
            return False
        if self.store is None:
            return True
        try:
            self.store.verify()
            if self.store.read_only is not None:
                self.store.recover()
        except DatabaseMoved as exc:
            self.lose_store(exc, stop)
            return False
        return True


def ends_loops(exc: StoreError) -> bool:
    """Whether a database failure ends a loop too (not only a one-off): no wait mends a
    damaged or read-only database (exit code 2), nor one that is no longer at its path."""
    return exc.exit_code == 2 or isinstance(exc, DatabaseMoved)
