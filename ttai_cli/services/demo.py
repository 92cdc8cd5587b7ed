"""The demo account's starter alerts, so that a first `ttai --demo monitor` has
something to show. Added once per demo database; removing them is permanent."""

from __future__ import annotations

from ttai_cli.alerts.rules import parse_alert
from ttai_cli.clock import Clock
from ttai_cli.store import Store
from ttai_cli.store.alerts import AlertsRepository

SEEDED_KEY = "demo_seeded"
STARTERS = [
    ("AAPL", "price", "above", "200", "demo: AAPL breakout"),
    ("SPY", "change", "below", "-2", "demo: SPY down day"),
    ("QQQ", "dte", "below", "7", "demo: roll or close before expiry"),
    ("SPY", "pnl", "profit", "50", "demo: take profits at 50%"),
    ("TSLA", "delta", "above", "0.30", "demo: strangle side getting tested"),
]


def seed_demo(store: Store, clock: Clock) -> None:
    if store.db.execute("SELECT 1 FROM meta WHERE key = ?", (SEEDED_KEY,)).fetchone():
        return
    repo = AlertsRepository(store)
    for symbol, kind, condition, threshold, note in STARTERS:
        repo.add(parse_alert(symbol, kind, condition, threshold, note), clock.now())
    with store.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
            (SEEDED_KEY, clock.now().isoformat()),
        )
