"""Net liquidating value per New York day, from the local record.

Each day's value is the day's balance snapshot (the last sync of that day); a day with no
snapshot but a high-water mark (a `monitor` run saw the balances, no sync ran) uses that
day's mark, the highest NLV seen that day. Day P&L is the change from the previous
recorded day, less the money deposited or withdrawn that day (a deposit is not a gain);
the first day of the window compares with the last record before it, and has no P&L
(None) when there is none.

Only the account of the latest snapshot is shown: a database that has seen two accounts
never mixes their values into one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ttai_cli.clock import Clock
from ttai_cli.store import Store

BLOCKS = "▁▂▃▄▅▆▇█"
SPARK = "▁▂▃▅▇"  # five levels: tall enough to read, short enough for a phone's font
# sub types of "Money Movement" that move the account's own money in or out
TRANSFERS = ("Deposit", "Withdrawal", "Transfer", "ACH Deposit", "ACH Withdrawal", "Wire")


@dataclass(frozen=True)
class HistoryDay:
    date: date
    net_liquidating_value: Decimal
    day_pnl: Decimal | None
    source: str  # "snapshot" or "high-water"


def sparkline(values: list[Decimal]) -> str:
    """`▁▂▃▅▇` scaled from the lowest to the highest value (a flat line sits in the
    middle: `▃▃▃`); empty for no values."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARK[len(SPARK) // 2] * len(values)
    top = len(SPARK) - 1
    return "".join(SPARK[round((v - low) / (high - low) * top)] for v in values)


class HistoryService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def account(self) -> str | None:
        row = self.store.db.execute(
            "SELECT account_number FROM balance_snapshots ORDER BY date DESC LIMIT 1"
        ).fetchone()
        if row is None:
            row = self.store.db.execute(
                "SELECT account_number FROM nlv_high_water ORDER BY date DESC LIMIT 1"
            ).fetchone()
        return str(row[0]) if row else None

    def days(self, days: int, end: date | None = None) -> list[HistoryDay]:
        """The recorded days among the `days` New York days ending `end` (default today),
        oldest first; [] when nothing is recorded there. `days` must be >= 1."""
        if days < 1:
            raise ValueError("days must be at least 1")
        account = self.account()
        if account is None:
            return []
        end = end or self.clock.now().date()
        start = end - timedelta(days=days - 1)
        values = self._values(account, start, end)
        previous = self._previous(account, start)
        moved = self._transfers(start, end)
        result = []
        for day, (nlv, source) in sorted(values.items()):
            pnl = None if previous is None else nlv - previous - moved.get(day, Decimal(0))
            result.append(HistoryDay(day, nlv, pnl, source))
            previous = nlv
        return result

    def _values(self, account: str, start: date, end: date) -> dict[date, tuple[Decimal, str]]:
        bounds = (account, start.isoformat(), end.isoformat())
        values: dict[date, tuple[Decimal, str]] = {
            date.fromisoformat(d): (Decimal(high), "high-water")
            for d, high in self.store.db.execute(
                "SELECT date, high FROM nlv_high_water "
                "WHERE account_number = ? AND date BETWEEN ? AND ?",
                bounds,
            )
        }
        for d, nlv in self.store.db.execute(
            "SELECT date, net_liquidating_value FROM balance_snapshots "
            "WHERE account_number = ? AND date BETWEEN ? AND ?",
            bounds,
        ):
            values[date.fromisoformat(d)] = (Decimal(nlv), "snapshot")
        return values

    def _previous(self, account: str, before: date) -> Decimal | None:
        row = self.store.db.execute(
            "SELECT net_liquidating_value FROM balance_snapshots "
            "WHERE account_number = ? AND date < ? ORDER BY date DESC LIMIT 1",
            (account, before.isoformat()),
        ).fetchone()
        if row is None:
            row = self.store.db.execute(
                "SELECT high FROM nlv_high_water "
                "WHERE account_number = ? AND date < ? ORDER BY date DESC LIMIT 1",
                (account, before.isoformat()),
            ).fetchone()
        return Decimal(row[0]) if row else None

    def _transfers(self, start: date, end: date) -> dict[date, Decimal]:
        """Money deposited (positive) or withdrawn (negative) per day."""
        marks = ",".join("?" * len(TRANSFERS))
        moved: dict[date, Decimal] = {}
        for d, value in self.store.db.execute(
            "SELECT transaction_date, net_value FROM transactions "
            f"WHERE type = 'Money Movement' AND sub_type IN ({marks}) "
            "AND transaction_date BETWEEN ? AND ?",
            (*TRANSFERS, start.isoformat(), end.isoformat()),
        ):
            day = date.fromisoformat(d)
            moved[day] = moved.get(day, Decimal(0)) + Decimal(value)
        return moved
