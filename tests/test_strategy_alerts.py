"""Strategy alerts (#18): pnl and dte bound to one strategy with `--strategy EXPIRATION`,
and `tested within PCT`. Through the real CLI against the simulated API (a real socket,
the real SDK, a real SQLite database); `--repeat-after` through the services on an
injected clock, since it is about time passing. Numbers are worked by hand in the
comments.

The book: one TSLA short strangle opened in one order, the 200 put and the 300 call
each sold at $4.00, so its credit is (4.00 + 4.00) x 100 = $800. TSLA is held at $250
and the options' marks are pinned.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result
from tests.fakes import FakeClock
from tests.receiver import Receiver
from tests.test_alerts import service_for
from tests.test_cli import one_line_error
from ttai_cli.alerts.rules import parse_alert, parse_expiration
from ttai_cli.alerts.shown import alert_line
from ttai_cli.broker.symbols import occ_symbol, short_date
from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import UsageError
from ttai_cli.services.monitor import MonitorService
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.calendar import weekly_expiration
from ttai_cli.store.positions import PositionsRepository

D = Decimal


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@dataclass(frozen=True)
class Book:
    expiration: date
    put: str  # the OCC symbols
    call: str
    today: date  # the New York date the book was made for

    @property
    def label(self) -> str:
        """`TSLA short strangle 1/8` (the year added in another year)."""
        return f"TSLA short strangle {short_date(self.expiration, self.today)}"

    @property
    def dte(self) -> int:
        return (self.expiration - self.today).days


def strangle_book(sim: SimulatedTastytrade, today: date | None = None) -> Book:
    """Replace the simulated book: TSLA at $250, a short strangle about a month out (one
    order: the 200 put and the 300 call sold at $4.00 each; credit $800), marks pinned at
    put $2.60 and call $3.32.

    Its legs: the put (4.00 - 2.60) / 4.00 = +35 %, the call (4.00 - 3.32) / 4.00 = +17 %.
    The strangle: cost to close (2.60 + 3.32) x 100 = $592, P&L 800 - 592 = $208,
    208 / 800 = +26 % of its credit."""
    today = today or datetime.now(NEW_YORK).date()
    account = sim.account
    account.positions.clear()
    account.transactions.clear()
    sim.market.pin("TSLA", 250.0)
    expiry = weekly_expiration(today + timedelta(days=30))
    opened = datetime.combine(today - timedelta(days=3), time(10, 5), NEW_YORK)
    put = occ_symbol("TSLA", expiry, "P", D(200))
    call = occ_symbol("TSLA", expiry, "C", D(300))
    for symbol in (put, call):
        account.trade(
            symbol,
            -1,
            "4.00",
            opened,
            underlying="TSLA",
            instrument_type="Equity Option",
            expires_at=datetime.combine(expiry, time(16), NEW_YORK),
            order_id=900_001,
        )
    sim.market.pin(put, 2.60)
    sim.market.pin(call, 3.32)
    return Book(expiry, put, call, today)


def fired(home: Path) -> list[tuple[int, str, str, dict[str, Any]]]:
    """(alert id, title, body, data) of every alert notification, oldest first."""
    with sqlite3.connect(home / "ttai.db") as db:
        rows = db.execute(
            "SELECT title, body, data FROM notifications WHERE type = 'alert_triggered' "
            "ORDER BY seq"
        ).fetchall()
    return [(json.loads(d)["alert_id"], t, b, json.loads(d)) for t, b, d in rows]


def added(result: Result) -> int:
    assert result.code == 0, result.err
    return int(result.out.strip())


def monitor(ttai: Any) -> None:
    result = ttai("monitor", "--ignore-market-hours")
    assert result.code == 0, result.err


# -- pnl: the strategy's percent, not a leg's ------------------------------------------------
def test_strangle_pnl_alert_fires_on_the_strategys_percent_not_the_legs(
    ttai: Any,
    broker_env: Any,
    sim: SimulatedTastytrade,
    clean_env: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's TSLA example: the short put is at +35 % while the strangle is at +26 %.
    A leg alert at 30 % fires on the put; the strategy alert at 30 % does not, until the
    strangle itself gets there."""
    monkeypatch.setenv("TTAI_NTFY_URL", receiver.url + "/phone")
    book = strangle_book(sim)
    leg = added(ttai("alerts", "add", "TSLA", "--type", "pnl", "profit", "30"))
    bound = added(
        ttai(
            "alerts",
            "add",
            "TSLA",
            "--strategy",
            book.expiration.isoformat(),
            "--type",
            "pnl",
            "profit",
            "30",
        )
    )
    monitor(ttai)
    # the leg alert fires for the put, and says the put is one leg of the strangle
    expiry = short_date(book.expiration, book.today)
    assert [(i, body) for i, _, body, _ in fired(clean_env)] == [
        (
            leg,
            f"TSLA short put P&L +35% (target +30%) — part of {book.label} (+$208, +26% of "
            f"credit); alert on the whole with --strategy {expiry}",
        )
    ]
    # the call is bought down to $2.36: cost to close (2.60 + 2.36) x 100 = $496,
    # P&L 800 - 496 = $304, 304 / 800 = +38 %
    sim.market.pin(book.call, 2.36)
    monitor(ttai)
    (strategy_id, title, body, data) = fired(clean_env)[-1]
    assert strategy_id == bound
    assert title == f"P&L Alert: {book.label}"
    assert body == f"{book.label}: +38% of $800 credit (profit 30%)"
    assert data["strategy"] == "short strangle" and data["label"] == book.label
    assert data["expiration"] == book.expiration.isoformat()
    assert data["pnl_percent"] == 38.0 and data["pnl"] == 304.0 and data["credit"] == 800.0
    assert data["short_strikes"] == [200.0, 300.0]
    assert data["legs"] == [book.put, book.call] and data["underlying_price"] == 250.0
    # the phone text: the strategy and its P&L against what it was opened for
    phone = [r.json() for r in receiver.requests if r.json()["title"] == title]
    lines = phone[0]["message"].splitlines()
    assert lines[0] == body
    assert f"Strategy: {book.label}" in lines
    assert "P&L +38.0% of $800.00 credit (target +30%), +$304.00" in lines
    assert f"Expires: {book.dte} DTE" not in lines, "no DTE on a P&L alert"


def test_strategy_pnl_alert_fires_once_until_rearmed(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade, clean_env: Path
) -> None:
    book = strangle_book(sim)
    sim.market.pin(book.call, 2.36)  # the strangle at +38 % (see above)
    typed = f"{book.expiration.month}/{book.expiration.day}"  # as a trader types it
    alert_id = added(
        ttai("alerts", "add", "TSLA", "--strategy", typed, "--type", "pnl", "profit", "30")
    )
    for _ in range(3):
        monitor(ttai)
    assert [i for i, *_ in fired(clean_env)] == [alert_id], "exactly once while triggered"
    rows = json.loads(ttai("alerts", "list", "--all", "--json").out)
    assert rows[0]["status"] == "triggered"
    assert ttai("alerts", "rearm", str(alert_id)).code == 0
    monitor(ttai)
    assert [i for i, *_ in fired(clean_env)] == [alert_id, alert_id]


def test_strategy_loss_alert_is_a_percent_of_the_credit(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade, clean_env: Path
) -> None:
    """TSLA runs to $320: the call is marked $14.00, the put $0.40. Cost to close
    (14.00 + 0.40) x 100 = $1,440, P&L 800 - 1,440 = -$640, -640 / 800 = -80 %: a loss
    alert at 75 % fires, one at 100 % does not."""
    book = strangle_book(sim)
    sim.market.pin("TSLA", 320.0)
    sim.market.pin(book.call, 14.00)
    sim.market.pin(book.put, 0.40)
    day = book.expiration.isoformat()
    at_75 = added(ttai("alerts", "add", "TSLA", "--strategy", day, "--type", "pnl", "loss", "75"))
    added(ttai("alerts", "add", "TSLA", "--strategy", day, "--type", "pnl", "loss", "100"))
    monitor(ttai)
    assert [(i, body) for i, _, body, _ in fired(clean_env)] == [
        (at_75, f"{book.label}: -80% of $800 credit (loss 75%)")
    ]


def test_strategy_pnl_alert_repeats_after_its_condition_was_false_again(
    store: Any, sim: SimulatedTastytrade, sim_server: Any, clean_env: Path
) -> None:
    """--repeat-after on the strategy's percent: +38 % fires, 15 minutes more at +38 %
    do not (never false), +26 % clears it, +38 % again fires once more."""
    clock = FakeClock(datetime.now(NEW_YORK).replace(hour=10, minute=0))
    book = strangle_book(sim, clock.now().date())
    alerts = service_for(store, sim_server, clock, clean_env)
    runner = MonitorService(alerts, PositionsRepository(store))
    alerts.add(
        parse_alert(
            "TSLA",
            "pnl",
            "profit",
            "30",
            repeat_after=timedelta(minutes=10),
            strategy=book.expiration.isoformat(),
            today=book.today,
        )
    )

    def count() -> int:
        return len(
            store.db.execute(
                "SELECT 1 FROM notifications WHERE type = 'alert_triggered'"
            ).fetchall()
        )

    sim.market.pin(book.call, 2.36)  # +38 %
    assert asyncio.run(runner.run()).fired == 1
    for _ in range(15):
        clock.advance(60)
        asyncio.run(runner.run())
    assert count() == 1, "true all along: no storm"
    sim.market.pin(book.call, 3.32)  # +26 %: false again
    clock.advance(60)
    asyncio.run(runner.run())
    sim.market.pin(book.call, 2.36)
    clock.advance(60)
    assert asyncio.run(runner.run()).fired == 1
    assert count() == 2


# -- dte ------------------------------------------------------------------------------------
def test_strategy_dte_alert_fires_within_its_days(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade, clean_env: Path
) -> None:
    """The strangle expires `dte` days from today: `below dte` fires (inclusive),
    `below dte - 1` does not."""
    book = strangle_book(sim)
    day = book.expiration.isoformat()
    due = added(
        ttai("alerts", "add", "TSLA", "--strategy", day, "--type", "dte", "below", str(book.dte))
    )
    added(
        ttai(
            "alerts", "add", "TSLA", "--strategy", day, "--type", "dte", "below", str(book.dte - 1)
        )
    )
    monitor(ttai)
    ((alert_id, title, body, data),) = fired(clean_env)
    assert alert_id == due
    assert (title, body) == (
        f"Expiration Alert: {book.label}",
        f"{book.label} expires in {book.dte} days",
    )
    assert data["dte"] == book.dte and data["expires_at"] == day


# -- tested ---------------------------------------------------------------------------------
def test_tested_fires_when_the_price_nears_a_short_strike_and_when_through_it(
    ttai: Any,
    broker_env: Any,
    sim: SimulatedTastytrade,
    clean_env: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At $250 the strangle is 20 % above its 200 put and (300 - 250) / 250 = 20 % below
    its 300 call: neither alert fires. At $295: (300 - 295) / 295 = 1.69 % from the call,
    within 2 %. At $303: (300 - 303) / 303 = -0.99 %, through it: `within 0` fires."""
    monkeypatch.setenv("TTAI_NTFY_URL", receiver.url + "/phone")
    book = strangle_book(sim)
    near = added(ttai("alerts", "add", "TSLA", "--type", "tested", "within", "2"))
    through = added(
        ttai(
            "alerts",
            "add",
            "TSLA",
            "--type",
            "tested",
            "within",
            "0",
            "--strategy",
            book.expiration.isoformat(),
        )
    )
    monitor(ttai)
    assert fired(clean_env) == []
    sim.market.pin("TSLA", 295.0)
    monitor(ttai)
    ((alert_id, title, body, data),) = fired(clean_env)
    assert alert_id == near and title == f"Tested Alert: {book.label}"
    assert body == (f"{book.label} tested: TSLA $295.00 is 1.7% from the 300 call (within 2%)")
    assert data["distance_percent"] == 1.69 and data["strike"] == 300.0
    assert data["right"] == "call" and data["underlying_price"] == 295.0
    sim.market.pin("TSLA", 303.0)
    monitor(ttai)
    alert_id, _, body, data = fired(clean_env)[-1]
    assert alert_id == through
    assert body == (f"{book.label} tested: TSLA $303.00 is 1.0% through the 300 call (within 0%)")
    assert data["distance_percent"] == -0.99
    # the phone text: the strategy, where the price is, the distance and the strikes
    (phone, *_) = [r.json() for r in receiver.requests if r.json()["title"].startswith("Tested")]
    lines = phone["message"].splitlines()
    assert f"Strategy: {book.label}" in lines
    assert "Underlying: TSLA $295.00" in lines
    assert "Distance: 1.69% from the 300 call (alert within 2%)" in lines
    assert "Short strikes: 200, 300" in lines


# -- listing --------------------------------------------------------------------------------
def test_alerts_list_shows_the_strategy_binding(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade
) -> None:
    book = strangle_book(sim)
    jan = f"{book.expiration:%b}{book.expiration.day}".lower()  # `jan15`
    added(ttai("alerts", "add", "TSLA", "--strategy", jan, "--type", "pnl", "profit", "50"))
    added(ttai("alerts", "add", "TSLA", "--type", "tested", "within", "2"))
    rows = json.loads(ttai("alerts", "list", "--json").out)
    assert [(r["type"], r["condition"], r["threshold"], r["strategy"]) for r in rows] == [
        ("pnl", "profit", 50.0, book.expiration.isoformat()),
        ("tested", "within", 2.0, None),
    ]
    table = ttai("alerts", "list").out
    assert "Strategy" in table
    line = next(row for row in table.splitlines() if " pnl " in row)
    assert short_date(book.expiration, book.today) in line and "50%" in line
    assert "2%" in next(row for row in table.splitlines() if " tested " in row)
    # the same alert on another strategy is no duplicate; the same one again is
    assert ttai("alerts", "add", "TSLA", "--type", "pnl", "profit", "50").code == 0
    duplicate = ttai(
        "alerts",
        "add",
        "TSLA",
        "--strategy",
        book.expiration.isoformat(),
        "--type",
        "pnl",
        "profit",
        "50",
    )
    assert one_line_error(duplicate, 2) == "ttai: alert 1 is already watching exactly that"


def test_briefing_and_watch_lines_name_the_strategys_expiration() -> None:
    today = date(2026, 12, 1)
    assert (
        alert_line("TSLA", "pnl", "profit", D(50), date(2027, 1, 15), today)
        == "TSLA 1/15/27 P&L profit 50%"
    )
    assert alert_line("TSLA", "tested", "within", D(2)) == "TSLA tested within 2%"


# -- input that cannot be right -------------------------------------------------------------
def test_strategy_with_a_date_no_strategy_expires_on_is_exit_2(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade
) -> None:
    book = strangle_book(sim)
    later = book.expiration + timedelta(days=7)
    line = one_line_error(
        ttai(
            "alerts",
            "add",
            "TSLA",
            "--strategy",
            later.isoformat(),
            "--type",
            "pnl",
            "profit",
            "50",
        ),
        2,
    )
    assert line == (
        f"ttai: no TSLA strategy expires on {short_date(later, book.today)}: "
        f"TSLA holds short strangle {short_date(book.expiration, book.today)}"
    )
    nothing = one_line_error(
        ttai(
            "alerts",
            "add",
            "AAPL",
            "--strategy",
            book.expiration.isoformat(),
            "--type",
            "dte",
            "below",
            "7",
        ),
        2,
    )
    assert nothing.endswith("AAPL holds no option strategy today")
    assert json.loads(ttai("alerts", "list", "--json").out) == [], "nothing stored"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("TSLA", "--type", "tested", "within", "-1"), "a percentage from 0 to 100"),
        (("TSLA", "--type", "tested", "within", "100.5"), "a percentage from 0 to 100"),
        (("TSLA", "--type", "tested", "above", "2"), "takes within, not 'above'"),
        (("TSLA", "above", "200", "--strategy", "1/15"), "not a price alert"),
        (("TSLA", "--type", "delta", "above", "0.3", "--strategy", "1/15"), "not a delta alert"),
        (("TSLA", "--type", "pnl", "profit", "50", "--strategy", "someday"), "not an expiration"),
        (("TSLA", "--type", "pnl", "profit", "50", "--strategy", "2/30"), "no such date"),
        (("TSLA", "--type", "dte", "below", "5", "--strategy", "2020-01-17"), "in the past"),
        (
            ("TSLA  270115C00300000", "--type", "pnl", "profit", "50", "--strategy", "1/15"),
            "takes the underlying (TSLA)",
        ),
        (("TSLA  270115C00300000", "--type", "tested", "within", "2"), "takes the underlying"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_bad_strategy_alert_input_is_one_line_and_exit_2(
    ttai: Any, args: tuple[str, ...], message: str
) -> None:
    """Refused before any broker is asked (no credentials here)."""
    assert message in one_line_error(ttai("alerts", "add", *args), 2)
    assert json.loads(ttai("alerts", "list", "--json").out) == []


def test_tested_on_a_symbol_without_short_options_warns_and_adds(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade
) -> None:
    book = strangle_book(sim)
    result = ttai("alerts", "add", "NVDA", "--type", "tested", "within", "2")
    assert result.code == 0 and result.out.strip() == "1"
    assert result.err.strip() == (
        "ttai: warning: no short option on NVDA today: this tested alert stays unknown "
        "until there is one"
    )
    # a long call is a strategy, but nothing of it can be tested
    later = weekly_expiration(book.expiration + timedelta(days=14))
    call = occ_symbol("AAPL", later, "C", D(250))
    sim.account.trade(
        call,
        1,
        "3.00",
        datetime.now(NEW_YORK),
        underlying="AAPL",
        instrument_type="Equity Option",
        expires_at=datetime.combine(later, time(16), NEW_YORK),
    )
    result = ttai(
        "alerts", "add", "AAPL", "--type", "tested", "within", "2", "--strategy", later.isoformat()
    )
    assert result.code == 0 and result.out.strip() == "2"
    assert result.err.strip() == (
        f"ttai: warning: AAPL long call {short_date(later, book.today)} has no short option: "
        "this tested alert stays unknown until it has one"
    )
    quiet = ttai("alerts", "add", "TSLA", "--type", "tested", "within", "2")
    assert quiet.code == 0 and quiet.err == "", "the strangle has two short options"


def test_strategy_checked_against_the_last_sync_when_tastytrade_cannot_be_asked(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synced, then the credentials are gone: the last sync's positions decide."""
    book = strangle_book(sim)
    assert ttai("sync").code == 0
    monkeypatch.delenv("TASTYTRADE_REFRESH_TOKEN")
    later = (book.expiration + timedelta(days=7)).isoformat()
    refused = ttai("alerts", "add", "TSLA", "--strategy", later, "--type", "pnl", "profit", "50")
    assert one_line_error(refused, 2).startswith("ttai: no TSLA strategy expires on")
    day = book.expiration.isoformat()
    result = ttai("alerts", "add", "TSLA", "--strategy", day, "--type", "pnl", "profit", "50")
    assert result.code == 0 and result.out.strip() == "1"
    assert result.err.startswith("ttai: warning: TSLA not checked with the broker")


def test_strategy_never_synced_and_no_credentials_is_added_unchecked(ttai: Any) -> None:
    result = ttai("alerts", "add", "TSLA", "--strategy", "1/15", "--type", "pnl", "profit", "50")
    assert result.code == 0 and result.out.strip() == "1"
    assert result.err.startswith("ttai: warning: TSLA not checked with the broker")


# -- EXPIRATION as a trader types it ---------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    [
        "2027-01-15",
        "1/15",
        "01/15",
        "1/15/27",
        "1/15/2027",
        "jan15",
        "Jan 15",
        "JAN15",
        "january 15",
        "jan15/27",
        "Jan 15, 2027",
        "15JAN27",
        "15 jan",
    ],
)
def test_expiration_forms_a_trader_types(typed: str) -> None:
    assert parse_expiration(typed, date(2026, 12, 1)) == date(2027, 1, 15)


def test_expiration_without_a_year_is_the_next_such_date_today_included() -> None:
    today = date(2026, 12, 1)
    assert parse_expiration("12/1", today) == date(2026, 12, 1), "today itself"
    assert parse_expiration("11/30", today) == date(2027, 11, 30), "yesterday: next year"
    assert parse_expiration("2/29", today) == date(2028, 2, 29), "the next leap year"
    with pytest.raises(UsageError, match="in the past"):
        parse_expiration("11/30/26", today)


def test_pnl_alert_on_a_future_is_exit_2_pointing_at_a_price_alert(ttai: Any) -> None:
    """A future is margined: its P&L is no percent of a credit or debit, so a strategy
    pnl alert on it could never be known; refused, saying what watches it instead."""
    rows = json.loads(ttai("--demo", "positions", "--strategies", "--json").out)
    future = next(row for row in rows if row["strategy"] == "future")
    symbol, expiration = future["underlying"], future["expiration"]
    args = ("alerts", "add", symbol, "--strategy", expiration, "--type", "pnl", "profit", "5")
    line = one_line_error(ttai("--demo", *args), 2)
    assert line.startswith(f"ttai: {symbol} future ") and "is margined, not paid for" in line
    assert line.endswith(f"ttai alerts add {symbol} above PRICE")
    # the DTE of that same strategy is fine
    dte = ("alerts", "add", symbol, "--strategy", expiration, "--type", "dte", "below", "5")
    assert ttai("--demo", *dte).code == 0


def test_a_pnl_alert_bound_to_a_future_before_this_rule_stays_unknown_and_says_why() -> None:
    from ttai_cli.alerts.models import Alert
    from ttai_cli.alerts.strategy import evaluate_strategy
    from ttai_cli.broker.models import Position
    from ttai_cli.strategies import group_strategies

    today = date(2027, 1, 4)
    march = date(2027, 3, 19)
    held = Position(
        symbol="/MESH7",
        underlying_symbol="/MESH7",
        instrument_type="Future",
        quantity=D(1),
        average_open_price=D("5900.00"),
        close_price=D("5900.00"),
        multiplier=D(5),
        mark=D("6000.00"),
        expires_at=datetime.combine(march, time(9, 30), NEW_YORK),
    )
    at = datetime.combine(today, time(10), NEW_YORK)
    alert = Alert(
        1, "/MESH7", "pnl", "profit", D(5), None, None, "active", at, None, None, 0, march
    )
    evaluation = evaluate_strategy(alert, group_strategies([held], today=today), today)
    assert evaluation.met is None
    assert evaluation.why_unknown == (
        "/MESH7 future 3/19 is margined, not paid for: its P&L is no percent of a credit or debit"
    )


def test_leg_dte_alert_on_a_strangle_leg_names_the_strategy_and_its_pnl(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade, clean_env: Path
) -> None:
    book = strangle_book(sim)
    leg = added(ttai("alerts", "add", "TSLA", "--type", "dte", "below", "45", "--note", "roll"))
    monitor(ttai)
    ((alert_id, _, body, data),) = fired(clean_env)
    expiry = short_date(book.expiration, book.today)
    assert alert_id == leg
    assert body.endswith(
        f"expires in {book.dte} days — part of {book.label} (+$208, +26% of credit); "
        f"alert on the whole with --strategy {expiry} — roll"
    ), body
    assert data["position"] in (book.put, book.call) and data["strategy"] == book.label
    assert data["legs"] == [book.put, book.call], "the briefing folds it into the strategy"


def test_plain_pnl_or_dte_alert_on_a_symbol_holding_a_strangle_hints_strategy(
    ttai: Any, broker_env: Any, sim: SimulatedTastytrade
) -> None:
    book = strangle_book(sim)
    expiry = short_date(book.expiration, book.today)
    for kind, condition, threshold in (("pnl", "profit", "50"), ("dte", "below", "21")):
        result = ttai("alerts", "add", "TSLA", "--type", kind, condition, threshold)
        assert result.code == 0 and result.out.strip().isdigit(), result
        assert result.err.strip() == (
            f"ttai: hint: {book.label}: this {kind} alert fires for one leg at a time; "
            f"to alert on the whole strategy add --strategy {expiry}"
        )
    bound = ttai("alerts", "add", "TSLA", "--strategy", expiry, "--type", "pnl", "profit", "40")
    assert bound.code == 0 and bound.err == "", "bound already: no hint"
