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


@migration
def m002_jobs_and_calendar(db: sqlite3.Connection) -> None:
    # One row per job: the counters and last outcome `ttai status` shows, readable while
    # a loop in another process writes them (WAL).
    db.execute(
        """
        CREATE TABLE jobs (
            job TEXT PRIMARY KEY,
            runs INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            last_started_at TEXT,
            last_finished_at TEXT,
            last_duration_s REAL,
            last_result TEXT,
            last_error TEXT,
            last_slot TEXT,
            next_run_at TEXT,
            running_pid INTEGER,
            paused INTEGER NOT NULL DEFAULT 0,
            heartbeat_at TEXT,
            updated_at TEXT
        )
        """
    )
    # Every run, skip and failure. Consecutive skips for the same reason share a row
    # (`count`), so a loop skipping every 30 s over a weekend writes one row, not 5,760.
    db.execute(
        """
        CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            slot TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            duration_s REAL,
            result TEXT NOT NULL,
            reason TEXT,
            error TEXT,
            pid INTEGER,
            count INTEGER NOT NULL DEFAULT 1
        )
        """
    )
    db.execute("CREATE INDEX job_runs_by_job ON job_runs (job, id)")
    db.execute(
        """
        CREATE TABLE market_sessions (
            date TEXT PRIMARY KEY,
            open TEXT NOT NULL,
            close TEXT NOT NULL,
            early_close INTEGER NOT NULL
        )
        """
    )


@migration
def m003_notifications(db: sqlite3.Connection) -> None:
    # Every notification, stored before any send. `key` lets a producer enqueue the same
    # event twice (a retried job) and still get one notification.
    db.execute(
        """
        CREATE TABLE notifications (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            key TEXT UNIQUE,
            created_at TEXT NOT NULL,
            type TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            data TEXT NOT NULL
        )
        """
    )
    # One row per notification and remote destination kind (never its URL: that is a
    # secret). status: pending, sent, failed.
    db.execute(
        """
        CREATE TABLE deliveries (
            seq INTEGER NOT NULL REFERENCES notifications (seq),
            destination TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            PRIMARY KEY (seq, destination)
        )
        """
    )
    db.execute("CREATE INDEX deliveries_pending ON deliveries (destination, status, seq)")


@migration
def m004_alerts_and_positions(db: sqlite3.Connection) -> None:
    # threshold and values are decimal strings: a threshold of 185.10 stays 185.10.
    db.execute(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            symbol TEXT NOT NULL,
            type TEXT NOT NULL,
            condition TEXT NOT NULL,
            threshold TEXT NOT NULL,
            note TEXT,
            repeat_after_s REAL,
            status TEXT NOT NULL DEFAULT 'active',
            created_at TEXT NOT NULL,
            triggered_at TEXT,
            cleared_at TEXT,
            fire_count INTEGER NOT NULL DEFAULT 0,
            last_value TEXT
        )
        """
    )
    db.execute("CREATE INDEX alerts_by_status ON alerts (status, type)")
    db.execute(
        """
        CREATE TABLE alert_events (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL,
            symbol TEXT NOT NULL,
            type TEXT NOT NULL,
            fired_at TEXT NOT NULL,
            value TEXT,
            message TEXT NOT NULL,
            notification_id TEXT
        )
        """
    )
    db.execute("CREATE INDEX alert_events_by_time ON alert_events (fired_at)")
    # The positions as last seen (monitor and sync both update it, so each change is
    # noticed, and notified, once).
    db.execute(
        """
        CREATE TABLE positions (
            symbol TEXT PRIMARY KEY,
            underlying_symbol TEXT NOT NULL,
            instrument_type TEXT NOT NULL,
            quantity TEXT NOT NULL,
            average_open_price TEXT NOT NULL,
            close_price TEXT,
            multiplier TEXT NOT NULL,
            mark TEXT,
            expires_at TEXT,
            opened_at TEXT,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE position_events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            symbol TEXT NOT NULL,
            underlying_symbol TEXT NOT NULL,
            change TEXT NOT NULL,
            quantity_before TEXT,
            quantity_after TEXT,
            realized_pnl TEXT,
            message TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX position_events_by_time ON position_events (at)")


@migration
def m005_sync_records(db: sqlite3.Connection) -> None:
    # Transactions as tastytrade numbers them; money as signed decimal strings.
    db.execute(
        """
        CREATE TABLE transactions (
            id INTEGER PRIMARY KEY,
            executed_at TEXT NOT NULL,
            transaction_date TEXT NOT NULL,
            type TEXT NOT NULL,
            sub_type TEXT NOT NULL,
            description TEXT NOT NULL,
            symbol TEXT,
            underlying_symbol TEXT,
            instrument_type TEXT,
            action TEXT,
            quantity TEXT,
            price TEXT,
            value TEXT NOT NULL,
            net_value TEXT NOT NULL,
            commission TEXT,
            fees TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX transactions_by_date ON transactions (transaction_date)")
    # One row per New York date: the day's last sync of net liquidating value and balances.
    db.execute(
        """
        CREATE TABLE balance_snapshots (
            date TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            account_number TEXT NOT NULL,
            net_liquidating_value TEXT NOT NULL,
            cash_balance TEXT NOT NULL,
            equity_buying_power TEXT NOT NULL,
            derivative_buying_power TEXT NOT NULL,
            maintenance_requirement TEXT NOT NULL,
            pending_cash TEXT NOT NULL
        )
        """
    )


@migration
def m006_job_supervision(db: sqlite3.Connection) -> None:
    # restarts: how often the daemon restarted a crashed task; heartbeat_s: how often a
    # live loop writes its heartbeat (three missed beats read as "stalled").
    db.execute("ALTER TABLE jobs ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE jobs ADD COLUMN heartbeat_s REAL")


@migration
def m007_failure_streaks(db: sqlite3.Connection) -> None:
    # Consecutive failed runs, so that one `error` notification goes out when a job keeps
    # failing (and one `info` when it recovers), not one per cycle.
    db.execute("ALTER TABLE jobs ADD COLUMN failure_streak INTEGER NOT NULL DEFAULT 0")


@migration
def m008_alert_ids_never_reused(db: sqlite3.Connection) -> None:
    # A plain INTEGER PRIMARY KEY hands the id of a removed newest alert to the next one,
    # whose firings would then share notification keys and history with the old alert.
    # AUTOINCREMENT never reuses an id; the sequence starts past every id ever recorded.
    db.execute(
        """
        CREATE TABLE alerts_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            symbol TEXT NOT NULL,
            type TEXT NOT NULL,
            condition TEXT NOT NULL,
            threshold TEXT NOT NULL,
            note TEXT,
            repeat_after_s REAL,
            status TEXT NOT NULL DEFAULT 'active',
            created_at TEXT NOT NULL,
            triggered_at TEXT,
            cleared_at TEXT,
            fire_count INTEGER NOT NULL DEFAULT 0,
            last_value TEXT
        )
        """
    )
    db.execute("INSERT INTO alerts_new SELECT * FROM alerts")
    db.execute("DROP TABLE alerts")
    db.execute("ALTER TABLE alerts_new RENAME TO alerts")
    db.execute("CREATE INDEX alerts_by_status ON alerts (status, type)")
    highest = db.execute(
        "SELECT max(coalesce((SELECT max(id) FROM alerts), 0),"
        " coalesce((SELECT max(alert_id) FROM alert_events), 0))"
    ).fetchone()[0]
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'alerts'")
    db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('alerts', ?)", (highest,))


@migration
def m009_stream_state(db: sqlite3.Connection) -> None:
    # One row per stream feed (market data, account events) of a streaming job, rewritten
    # every second while it runs: `ttai status` in another process reads the connection
    # state, and the daemon's polling jobs read whether quotes are streamed.
    db.execute(
        """
        CREATE TABLE stream_state (
            job TEXT NOT NULL,
            feed TEXT NOT NULL,
            account_number TEXT NOT NULL DEFAULT '',
            connected INTEGER NOT NULL DEFAULT 0,
            idle INTEGER NOT NULL DEFAULT 0,
            since TEXT,
            connections INTEGER NOT NULL DEFAULT 0,
            events INTEGER NOT NULL DEFAULT 0,
            malformed INTEGER NOT NULL DEFAULT 0,
            last_event_at TEXT,
            last_error TEXT,
            fallback_polling INTEGER NOT NULL DEFAULT 0,
            pid INTEGER,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (job, feed, account_number)
        )
        """
    )


@migration
def m010_market_metrics(db: sqlite3.Connection) -> None:
    # /market-metrics per symbol, kept for the New York day it was fetched on (beta and
    # event dates change at most daily). The figures are the same for every account:
    # rows carry account_number '' (market data, not one account's). `known` 0 records
    # that tastytrade had no metrics for the symbol that day, so it is not asked again.
    db.execute(
        """
        CREATE TABLE market_metrics (
            account_number TEXT NOT NULL DEFAULT '',
            symbol TEXT NOT NULL,
            ny_date TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            known INTEGER NOT NULL DEFAULT 1,
            iv_rank TEXT,
            iv_percentile TEXT,
            implied_volatility TEXT,
            beta TEXT,
            earnings_date TEXT,
            ex_dividend_date TEXT,
            dividend_amount TEXT,
            PRIMARY KEY (account_number, symbol)
        )
        """
    )


@migration
def m011_nlv_high_water(db: sqlite3.Connection) -> None:
    # The highest net liquidating value seen per account and New York day (syncs and
    # monitor runs raise it): `drawdown` alerts measure from the best of the last 30 days,
    # the weekly briefing from the week's. Money as a decimal string, like the snapshots.
    # Seeded from the daily snapshots a sync already kept, so drawdown works at once.
    db.execute(
        """
        CREATE TABLE nlv_high_water (
            account_number TEXT NOT NULL,
            date TEXT NOT NULL,
            high TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (account_number, date)
        )
        """
    )
    db.execute(
        "INSERT OR IGNORE INTO nlv_high_water (account_number, date, high, at) "
        "SELECT account_number, date, net_liquidating_value, at FROM balance_snapshots"
    )


@migration
def m012_transaction_order_ids(db: sqlite3.Connection) -> None:
    # The order each fill belongs to (`order-id`): strategies group an account's legs by
    # the order that opened them. Rows stored before this have none, and a sync fetches
    # incrementally, so the next sync is told (meta `transactions_refetch_from`) to fetch
    # once more from the day before the oldest held position opened: it rewrites those
    # rows by id, with their order ids.
    from datetime import datetime, timedelta

    db.execute("ALTER TABLE transactions ADD COLUMN order_id INTEGER")
    stored = db.execute("SELECT 1 FROM transactions LIMIT 1").fetchone()
    oldest = db.execute("SELECT min(opened_at) FROM positions").fetchone()
    if stored and oldest and oldest[0]:
        day = datetime.fromisoformat(oldest[0]).date() - timedelta(days=1)
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('transactions_refetch_from', ?)",
            (day.isoformat(),),
        )


@migration
def m013_job_results_and_risk_snapshots(db: sqlite3.Connection) -> None:
    # `ttai metrics` exports runs by result as Prometheus counters, which must never go
    # down: job_runs keeps only 30 days, so every run and skip also counts here, for good.
    # Jobs belong to no account: rows carry account_number '' (like market_metrics).
    # Seeded from the jobs' own counters (runs, errors, skipped), split by result as far
    # as the kept history tells: timeouts and cancelled runs as recorded, the rest of
    # the errors as `error`, the rest of the runs as `ok`.
    db.execute(
        """
        CREATE TABLE job_results (
            account_number TEXT NOT NULL DEFAULT '',
            job TEXT NOT NULL,
            result TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            last_at TEXT,
            PRIMARY KEY (account_number, job, result)
        )
        """
    )
    for job, runs, errors, skipped, last_finished, last_result in db.execute(
        "SELECT job, runs, errors, skipped, last_finished_at, last_result FROM jobs"
    ).fetchall():
        seen = {
            result: (count, last)
            for result, count, last in db.execute(
                "SELECT result, sum(count), max(coalesce(finished_at, started_at)) FROM job_runs "
                "WHERE job = ? GROUP BY result",
                (job,),
            )
        }
        timeouts = min(errors, seen.get("timeout", (0, None))[0])
        cancelled = min(runs - errors, seen.get("cancelled", (0, None))[0])
        counts = {
            "ok": runs - errors - cancelled,
            "error": errors - timeouts,
            "timeout": timeouts,
            "cancelled": cancelled,
            "skipped": skipped,
        }
        for result, count in counts.items():
            last = seen.get(result, (0, None))[1]
            if result == "ok" and last is None and last_result == "ok" and last_finished:
                last = last_finished  # the history was pruned: the jobs row still knows
            if count > 0 or last is not None:
                db.execute(
                    "INSERT INTO job_results (job, result, count, last_at) VALUES (?, ?, ?, ?)",
                    (job, result, max(0, count), last),
                )
    # The latest risk snapshot per account (`ttai risk`, the risk alerts, the briefings,
    # the live view all take one): what `ttai metrics` shows as beta-weighted delta.
    # Figures as decimal strings, like the balance snapshots.
    db.execute(
        """
        CREATE TABLE risk_snapshots (
            account_number TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            net_liquidating_value TEXT NOT NULL,
            maintenance_requirement TEXT NOT NULL,
            buying_power_used_percent TEXT NOT NULL,
            beta_weighted_delta TEXT NOT NULL,
            theta TEXT NOT NULL,
            vega TEXT NOT NULL
        )
        """
    )


@migration
def m014_futures_sessions(db: sqlite3.Connection) -> None:
    # The CME Globex calendar (futures and futures options), cached like NYSE's
    # `market_sessions`: one row per trade date, the open (the evening before) and close
    # as UTC ISO times. Exchange hours, not account data: no account_number.
    db.execute(
        """
        CREATE TABLE futures_sessions (
            date TEXT PRIMARY KEY,
            open TEXT NOT NULL,
            close TEXT NOT NULL,
            early_close INTEGER NOT NULL
        )
        """
    )


@migration
def m015_alert_strategies(db: sqlite3.Connection) -> None:
    # A pnl, dte or tested alert bound to one strategy (`alerts add TSLA --strategy
    # 2027-01-15 ...`): the expiration of the strategy on the alert's underlying, as an
    # ISO date. NULL: not bound (the leg alerts, every other kind).
    db.execute("ALTER TABLE alerts ADD COLUMN strategy TEXT")


@migration
def m017_deliveries_held_until(db: sqlite3.Connection) -> None:
    # Quiet hours: a delivery made while its type may not go out is stored pending with
    # the end of the window (UTC ISO). Flushes skip it until then, without counting an
    # attempt and without holding back the deliveries behind it; NULL: it may go at once.
    db.execute("ALTER TABLE deliveries ADD COLUMN held_until TEXT")


@migration
def m020_ask_runs(db: sqlite3.Connection) -> None:
    # `ttai ask`: every answered run (prompt, answer, the tools the model called, tokens),
    # for `ttai ask --last` and `ttai status`. Numbered 020 on purpose: 014-019 are taken
    # by work landing alongside it, and migrations run in the order they are defined.
    db.execute(
        """
        CREATE TABLE ask_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_number TEXT NOT NULL DEFAULT '',
            job TEXT NOT NULL,
            prompt TEXT NOT NULL,
            system TEXT,
            answer TEXT NOT NULL,
            model TEXT NOT NULL,
            tool_calls TEXT NOT NULL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            started_at TEXT NOT NULL,
            duration_s REAL NOT NULL,
            stopped_early INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX ask_runs_by_job ON ask_runs (job, started_at)")
    # ask's market_metrics tool shows tastytrade's liquidity rating (0-5): the day's
    # metrics cache keeps it too (rows cached before this have none until the next day)
    db.execute("ALTER TABLE market_metrics ADD COLUMN liquidity_rating INTEGER")
