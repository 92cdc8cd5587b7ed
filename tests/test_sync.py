"""`ttai sync` against the simulated API: changes, incremental pagination, idempotency, crashes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.fakes import FakeClock
from tests.test_broker import make_broker
from ttai_cli.broker.symbols import occ_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.services.notifications import Notifier
from ttai_cli.services.sync import SyncService
from ttai_cli.simulator.app import SimulatedTastytrade


def sync_service(store, sim_server, clock: FakeClock, home: Path) -> SyncService:  # type: ignore[no-untyped-def]
    settings = load_settings(environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"})
    home.mkdir(parents=True, exist_ok=True)
    return SyncService(
        store,
        clock,
        lambda: make_broker(sim_server),
        Notifier(settings, store, clock, stderr_is_tty=False),
    )


def dump(db: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    tables = ["positions", "transactions", "balance_snapshots", "position_events", "notifications"]
    out = {t: sorted(tuple(r) for r in db.execute(f"SELECT * FROM {t}")) for t in tables}
    out["positions"] = [r[:-1] for r in out["positions"]]  # updated_at is the sync time
    return out


def test_opened_closed_and_resized_are_detected_and_notified(
    store, sim: SimulatedTastytrade, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    service = sync_service(store, sim_server, clock, clean_env)
    spy = occ_symbol("SPY", date(2026, 12, 24), "P", Decimal(540))
    sim.account.trade(
        spy,
        -1,
        "6.40",
        clock.now() - timedelta(days=7),
        underlying="SPY",
        instrument_type="Equity Option",
        expires_at=datetime(2026, 12, 24, 16, tzinfo=NEW_YORK),
    )
    assert asyncio.run(service.run()).changes == 0, "first sync: a baseline"
    sim.account.trade(spy, 1, "2.00", clock.now())  # bought back: closed
    sim.account.trade("AAPL", 50, "230.00", clock.now())  # 100 -> 150: resized
    sim.account.trade(
        "IWM", -100, "225.00", clock.now(), instrument_type="Equity"
    )  # short stock: opened
    clock.advance(300)
    report = asyncio.run(service.run())
    assert report.changes == 3
    events = {
        r[0]: r
        for r in store.db.execute(
            "SELECT change, symbol, quantity_before, quantity_after, realized_pnl FROM position_events"
        )
    }
    assert events["resized"][1:4] == ("AAPL", "100", "150")
    assert events["opened"][1:4] == ("IWM", None, "-100")
    closed = events["closed"]
    assert closed[1] == spy and closed[2] == "-1"
    # sold at 6.40 (+640 - 1.13 fees), bought back at 2.00 (-200 - 0.13 fees)
    assert Decimal(closed[4]) == Decimal("438.74")
    bodies = [
        r[0]
        for r in store.db.execute(
            "SELECT body FROM notifications WHERE type = 'position_update' ORDER BY seq"
        )
    ]
    assert "Sold 100 shares IWM at $225.00" in bodies
    assert any(b.startswith("Closed SPY") and "realised P&L +$438.74" in b for b in bodies)
    assert "AAPL 100 → 150 shares" in bodies


def test_incremental_transactions_with_pagination(
    store, sim: SimulatedTastytrade, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    sim.max_per_page = 2
    service = sync_service(store, sim_server, clock, clean_env)
    first = asyncio.run(service.run())
    total = len([t for t in sim.account.transactions if t["transaction-date"] >= "2026-08-26"])
    assert first.since == date(2026, 8, 26) and first.new_transactions == total
    pages = sim.requests_to("/accounts/5WT00001/transactions")
    assert len(pages) == -(-total // 2)
    assert pages[0].query["start-date"] == ["2026-08-26"]
    clock.advance(86400)
    sim.account.trade("NVDA", 5, "140.00", clock.now())
    before = len(sim.requests_to("/accounts/5WT00001/transactions"))
    second = asyncio.run(service.run())
    assert second.new_transactions == 1
    newest = max(t["transaction-date"] for t in sim.account.transactions[:-1])
    second_pages = sim.requests_to("/accounts/5WT00001/transactions")[before:]
    assert second_pages[0].query["start-date"] == [
        (date.fromisoformat(newest) - timedelta(days=1)).isoformat()
    ]
    assert store.db.execute("SELECT count(*) FROM transactions").fetchone()[0] == total + 1


def test_running_sync_twice_changes_nothing(
    store, sim: SimulatedTastytrade, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    service = sync_service(store, sim_server, clock, clean_env)
    asyncio.run(service.run())
    once = dump(store.db)
    second = asyncio.run(service.run())
    assert second.new_transactions == 0 and second.changes == 0
    assert dump(store.db) == once


def test_sigkill_mid_sync_leaves_the_previous_complete_state(
    sim: SimulatedTastytrade, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "TTAI_API_URL": sim_server.url,
        "TASTYTRADE_CLIENT_SECRET": CANARY_SECRET,
        "TASTYTRADE_REFRESH_TOKEN": CANARY_REFRESH,
        "TTAI_HOME": str(clean_env),
        "TTAI_NOTIFICATION_BACKEND": "none",
    }
    first = subprocess.run(
        [sys.executable, "-m", "ttai_cli", "sync"], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    db = sqlite3.connect(clean_env / "ttai.db")
    complete = dump(db)
    sim.account.trade("NVDA", 5, "140.00", datetime.now(NEW_YORK))
    sim.faults.add("slow", "/accounts/5WT00001/transactions", delay=30)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttai_cli", "sync"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen = len(sim.requests_to("/accounts/5WT00001/transactions"))
    deadline = time.monotonic() + 30
    while len(sim.requests_to("/accounts/5WT00001/balances")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # positions and balances fetched; transactions hanging
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert len(sim.requests_to("/accounts/5WT00001/transactions")) >= seen
    assert dump(db) == complete, "nothing of the killed sync is visible"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sim.faults.clear()
    again = subprocess.run(
        [sys.executable, "-m", "ttai_cli", "sync"], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert db.execute("SELECT count(*) FROM positions WHERE symbol = 'NVDA'").fetchone()[0] == 1


def test_positions_and_balances_show_the_last_sync(
    ttai, broker_env, sim: SimulatedTastytrade
) -> None:  # type: ignore[no-untyped-def]
    never = ttai("positions")
    assert "no sync yet; showing live data" in never.err and "AAPL" in never.out
    assert ttai("sync").code == 0
    sim.account.trade("NVDA", 5, "140.00", datetime.now(NEW_YORK))  # not synced yet
    stored = ttai("positions", "--json")
    assert "NVDA" not in [r["symbol"] for r in json.loads(stored.out)] and stored.err == ""
    assert "NVDA" in [r["symbol"] for r in json.loads(ttai("positions", "--live", "--json").out)]
    table = ttai("positions")
    assert "synced just now" in table.out
    balances = json.loads(ttai("balances", "--json").out)
    assert balances["account_number"] == "5WT00001"


def test_first_sync_says_it_is_downloading_on_a_terminal_only(clean_env) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import run_subprocess
    from tests.test_history import run_in_pty

    code, screen = run_in_pty(["--demo", "sync"], cols=120, rows=40)
    assert code == 0
    shown = "\n".join(screen)
    assert "… downloading 90 days of transactions" in shown, shown
    # the next sync fetches a day or two: nothing to announce
    code, screen = run_in_pty(["--demo", "sync"], cols=120, rows=40)
    assert code == 0 and "downloading" not in "\n".join(screen)
    # under cron (no terminal) nothing extra
    fresh = clean_env.parent / "cron-home"
    result = run_subprocess("--demo", "--home", str(fresh), "sync")
    assert result.code == 0 and "downloading" not in result.err


def test_an_older_look_at_positions_never_undoes_a_newer_one(store) -> None:  # type: ignore[no-untyped-def]
    """The daemon's monitor fetches positions, a fill happens, the stream fetches and
    applies first ("opened"): the monitor's older snapshot must not then say "closed"."""
    from datetime import datetime
    from decimal import Decimal

    from ttai_cli.broker.models import Position
    from ttai_cli.clock import NEW_YORK
    from ttai_cli.store.positions import PositionsRepository

    def position(symbol: str) -> Position:
        return Position(
            symbol,
            symbol,
            "Equity",
            Decimal(10),
            Decimal(100),
            Decimal(100),
            Decimal(1),
            None,
            None,
        )

    repo = PositionsRepository(store)
    sent: list[str] = []

    def enqueue(db, notification, key):  # type: ignore[no-untyped-def]
        sent.append(notification.title)
        return True

    t = [datetime(2026, 12, 1, 10, 0, second, tzinfo=NEW_YORK) for second in range(4)]
    with store.transaction() as db:
        repo.apply(db, [position("AAPL")], t[0], enqueue, fetched_at=t[0])  # the baseline
    with store.transaction() as db:  # the stream: fetched at t2, after the fill
        assert repo.apply(db, [position("AAPL"), position("NVDA")], t[3], enqueue, fetched_at=t[2])
    with store.transaction() as db:  # the monitor: fetched at t1, before the fill
        assert repo.apply(db, [position("AAPL")], t[3], enqueue, fetched_at=t[1]) == []
    assert {p.symbol for p in repo.stored()} == {"AAPL", "NVDA"}
    assert len(sent) == 1 and "NVDA" in sent[0]


def test_sync_keeps_the_order_id_of_every_fill(
    store, sim: SimulatedTastytrade, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    asyncio.run(sync_service(store, sim_server, clock, clean_env).run())
    sent = {t["id"]: t.get("order-id") for t in sim.account.transactions}
    stored = dict(store.db.execute("SELECT id, order_id FROM transactions").fetchall())
    assert stored and all(stored[i] == sent[i] for i in stored)
    assert stored[min(stored)] is None  # the deposit: no order made it
    assert sum(1 for v in stored.values() if v is not None) == len(stored) - 1


def test_records_kept_before_order_ids_are_fetched_again_once(
    tmp_path: Path, sim: SimulatedTastytrade, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    """A database from before migration m012: its transactions have no order id and the
    next sync would only fetch from the last one's day. The migration asks for one fetch
    from the day before the oldest held position opened; the sync after it is
    incremental again."""
    from ttai_cli.store import APPLICATION_ID, migrate, open_store
    from ttai_cli.store.migrations import MIGRATIONS

    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    names = [n for n, _ in MIGRATIONS]
    migrate(db, MIGRATIONS[: names.index("m012_transaction_order_ids")])
    trades = [t for t in sim.account.transactions if t["transaction-type"] == "Trade"]
    last = trades[-1]
    db.execute(
        "INSERT INTO transactions (id, executed_at, transaction_date, type, sub_type, "
        "description, value, net_value, fees) VALUES (?, ?, ?, 'Trade', '', '', '0', '0', '0')",
        (last["id"], last["executed-at"], last["transaction-date"]),
    )
    db.execute(
        "INSERT INTO positions (symbol, underlying_symbol, instrument_type, quantity, "
        "average_open_price, multiplier, opened_at, updated_at) "
        "VALUES ('AAPL', 'AAPL', 'Equity', '100', '200', '1', '2026-10-05T14:05:00+00:00', "
        "'2026-11-20T15:00:00+00:00')"
    )
    db.close()
    store = open_store(path)
    try:
        service = sync_service(store, sim_server, clock, clean_env)
        assert service.since(None) == date(2026, 10, 4)  # not the last trade's day - 1
        report = asyncio.run(service.run())
        assert report.since == date(2026, 10, 4)
        refetched = store.db.execute(
            "SELECT order_id FROM transactions WHERE id = ?", (last["id"],)
        ).fetchone()[0]
        assert refetched == last["order-id"]
        newest = max(t["transaction-date"] for t in sim.account.transactions)
        assert service.since(None) == date.fromisoformat(newest) - timedelta(days=1)
    finally:
        store.close()
