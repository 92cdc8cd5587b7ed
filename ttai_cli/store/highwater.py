"""The net liquidating value's high-water mark: the highest NLV seen per account and
New York day, kept by every sync and by `monitor` runs that look at the balances.

Raising a day's mark is one conditional upsert, so two processes recording at once keep
the higher value whatever the order. Drawdown is measured from the best day in a window
of dates (30 days for `drawdown` alerts, the week for the weekly briefing).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from ttai_cli.clock import NEW_YORK
from ttai_cli.store import Store

DRAWDOWN_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Peak:
    date: date
    high: Decimal


def drawdown_percent(peak: Decimal | None, nlv: Decimal) -> Decimal | None:
    """How far `nlv` is below `peak`, in percent of the peak (0 at or above it); None
    without a positive peak (nothing recorded, or an account worth nothing)."""
    if peak is None or peak <= 0:
        return None
    return max(Decimal(0), (peak - nlv) / peak * 100)


class HighWaterRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def record(db: sqlite3.Connection, account_number: str, nlv: Decimal, now: datetime) -> None:
        """Raise the New York day's mark to `nlv` if it is higher (in the caller's
        transaction)."""
        db.execute(
            "INSERT INTO nlv_high_water (account_number, date, high, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account_number, date) DO UPDATE SET high = excluded.high, at = excluded.at "
            "WHERE CAST(excluded.high AS REAL) > CAST(nlv_high_water.high AS REAL)",
            (
                account_number,
                now.astimezone(NEW_YORK).date().isoformat(),
                str(nlv),
                now.astimezone(UTC).isoformat(),
            ),
        )

    def peak(self, account_number: str, start: date, end: date) -> Peak | None:
        """The highest mark of the account dated start..end inclusive (the earliest day
        on a tie)."""
        row = self.store.db.execute(
            "SELECT date, high FROM nlv_high_water WHERE account_number = ? AND date BETWEEN ? AND ? "
            "ORDER BY CAST(high AS REAL) DESC, date LIMIT 1",
            (account_number, start.isoformat(), end.isoformat()),
        ).fetchone()
        return Peak(date.fromisoformat(row[0]), Decimal(row[1])) if row else None
