"""The demo database's starting point: starter alerts, so that a first
`ttai --demo monitor` has something to show, and the account's net liquidating value at
each session's close over the past two months, so that `ttai --demo history` and the
briefings' sparklines show a real chart. Each is added once per demo database (a demo
database from before the history existed gets it on its next use); removing alerts is
permanent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ttai_cli.alerts.rules import parse_alert
from ttai_cli.clock import Clock
from ttai_cli.store import Store
from ttai_cli.store.alerts import AlertsRepository

SEEDED_KEY = "demo_seeded"
HISTORY_KEY = "demo_history_seeded"
HISTORY_DAYS = 60  # calendar days before today: about 40 sessions
STARTERS = [
    ("AAPL", "price", "above", "200", "demo: AAPL breakout"),
    ("SPY", "change", "below", "-2", "demo: SPY down day"),
    ("IWM", "dte", "below", "7", "demo: roll or close before expiry"),
    ("SPY", "pnl", "profit", "50", "demo: take profits at 50%"),
    ("TSLA", "delta", "above", "0.30", "demo: strangle side getting tested"),
]


def _seeded(store: Store, key: str) -> bool:
    return store.db.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone() is not None


def seed_demo(store: Store, clock: Clock) -> None:
    if not _seeded(store, HISTORY_KEY):
        seed_demo_history(store, clock)
    if _seeded(store, SEEDED_KEY):
        return
    repo = AlertsRepository(store)
    for symbol, kind, condition, threshold, note in STARTERS:
        repo.add(parse_alert(symbol, kind, condition, threshold, note), clock.now())
    with store.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
            (SEEDED_KEY, clock.now().isoformat()),
        )


def seed_demo_history(store: Store, clock: Clock) -> None:
    """One balance snapshot (NLV and cash; the buying power figures are not modelled
    and stored as 0) and one high-water mark per NYSE session of the last HISTORY_DAYS
    days before today, from the simulated account's own trades and closing prices.
    Days already recorded (by a real demo sync) are left as they are."""
    from ttai_cli.broker import demo_app
    from ttai_cli.broker.models import Balances
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.simulator.history import nlv_at_close
    from ttai_cli.store.highwater import HighWaterRepository
    from ttai_cli.store.records import RecordsRepository

    sim = demo_app(clock)
    today = clock.now().date()
    sessions = MarketCalendar(store).sessions(today - timedelta(days=HISTORY_DAYS), today)
    recorded = {row[0] for row in store.db.execute("SELECT date FROM balance_snapshots")}
    zero = Decimal(0)
    with store.transaction() as db:
        for session in sessions:
            if session.date >= today or session.date.isoformat() in recorded:
                continue
            nlv = nlv_at_close(sim.account, sim.market, session.date)
            cash = nlv_at_close(sim.account, sim.market, session.date, cash_only=True)
            balances = Balances(
                sim.account.account_number, nlv, cash, zero, zero, zero, zero, session.close
            )
            RecordsRepository.save_snapshot(db, balances, session.close)
            HighWaterRepository.record(db, balances.account_number, nlv, session.close)
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
            (HISTORY_KEY, clock.now().isoformat()),
        )
