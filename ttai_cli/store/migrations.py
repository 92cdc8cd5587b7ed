"""Ordered, named schema migrations.

Each migration is a function registered with `@migration`; they run in the order they
are defined, each in its own transaction together with the row that records it in the
`_migrations` table. A shipped migration is never edited: change the schema by adding a
new one at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_meta(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )
        """
    )
