"""Market metrics kept for the New York day (`market_metrics`, migration m010; the
liquidity rating since m020)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal

from ttai_cli.broker.models import MarketMetric
from ttai_cli.store import Store

MARKET_WIDE = ""  # the account_number of market data, the same for every account


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _metric(row: sqlite3.Row) -> MarketMetric:
    return MarketMetric(
        symbol=row["symbol"],
        iv_rank=_dec(row["iv_rank"]),
        iv_percentile=_dec(row["iv_percentile"]),
        implied_volatility=_dec(row["implied_volatility"]),
        beta=_dec(row["beta"]),
        earnings_date=_day(row["earnings_date"]),
        ex_dividend_date=_day(row["ex_dividend_date"]),
        dividend_amount=_dec(row["dividend_amount"]),
        liquidity_rating=row["liquidity_rating"],
    )


class MetricsRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def fetched_on(self, symbols: list[str], day: date) -> tuple[dict[str, MarketMetric], set[str]]:
        """(metrics fetched on `day`, symbols asked on `day` that tastytrade did not know)."""
        found: dict[str, MarketMetric] = {}
        unknown: set[str] = set()
        db = self.store.db
        for start in range(0, len(symbols), 500):  # SQLite's variable limit
            batch = symbols[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = db.execute(
                f"SELECT * FROM market_metrics WHERE account_number = ? AND ny_date = ?"
                f" AND symbol IN ({marks})",
                (MARKET_WIDE, day.isoformat(), *batch),
            ).fetchall()
            for row in rows:
                if row["known"]:
                    found[row["symbol"]] = _metric(row)
                else:
                    unknown.add(row["symbol"])
        return found, unknown

    def save(
        self, day: date, at: datetime, metrics: dict[str, MarketMetric], asked: list[str]
    ) -> None:
        """Keep `metrics` as fetched on `day`; symbols in `asked` without metrics are
        recorded as unknown for the day."""
        rows = []
        for symbol in asked:
            m = metrics.get(symbol)
            values = (
                (None,) * 8
                if m is None
                else (
                    _text(m.iv_rank),
                    _text(m.iv_percentile),
                    _text(m.implied_volatility),
                    _text(m.beta),
                    _text(m.earnings_date),
                    _text(m.ex_dividend_date),
                    _text(m.dividend_amount),
                    m.liquidity_rating,
                )
            )
            rows.append(
                (
                    MARKET_WIDE,
                    symbol,
                    day.isoformat(),
                    at.astimezone(UTC).isoformat(),
                    int(m is not None),
                    *values,
                )
            )
        with self.store.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO market_metrics (account_number, symbol, ny_date,"
                " fetched_at, known, iv_rank, iv_percentile, implied_volatility, beta,"
                " earnings_date, ex_dividend_date, dividend_amount, liquidity_rating)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
