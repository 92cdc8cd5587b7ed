"""Alerts: every kind and boundary, trigger semantics, exactly-once, and the monitor."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET, run_subprocess
from tests.fakes import FakeClock
from tests.test_broker import make_broker
from tests.test_cli import one_line_error
from ttai_cli.alerts.evaluate import Alert, MarketView, evaluate
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.models import MarketMetric, Quote
from ttai_cli.broker.symbols import occ_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.errors import UsageError
from ttai_cli.services.alerts import AlertsService
from ttai_cli.services.monitor import MonitorService
from ttai_cli.services.notifications import Notifier
from ttai_cli.services.portfolio import PositionView
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.calendar import weekly_expiration
from ttai_cli.simulator.server import RunningServer
from ttai_cli.store.alerts import AlertsRepository
from ttai_cli.store.positions import PositionsRepository

D = Decimal
TODAY = date(2026, 11, 24)


def alert(
    kind: str, condition: str, threshold: str, symbol: str = "AAPL", **extra: object
) -> Alert:
    return Alert(
        1,
        symbol,
        kind,
        condition,
        D(threshold),
        extra.get("note"),
        None,
        "active",  # type: ignore[arg-type]
        datetime(2026, 11, 1, tzinfo=UTC),
        None,
        None,
        0,
    )


def quote(price: str | None, prev: str | None = "100", symbol: str = "AAPL") -> Quote:
    value = D(price) if price is not None else None
    return Quote(
        symbol, "Equity", value, value, value, value, D(prev) if prev else None, datetime.now(UTC)
    )


def option(
    symbol: str,
    quantity: str,
    opened: str,
    mark: str | None,
    dte: int | None,
    underlying: str = "SPY",
) -> PositionView:
    q, o = D(quantity), D(opened)
    m = D(mark) if mark is not None else None
    pnl = (m - o) * q * 100 if m is not None else None
    pct = (pnl / (o * abs(q) * 100) * 100).quantize(D("0.01")) if pnl is not None else None
    expires = (
        datetime.combine(TODAY + timedelta(days=dte), datetime.min.time(), NEW_YORK).replace(
            hour=16
        )
        if dte is not None
        else None
    )
    kind = "Equity Option" if dte is not None else "Equity"
    return PositionView(symbol, underlying, kind, q, o, m, D(100), expires, dte, pnl, pct)


# -- every kind, both sides, boundaries ---------------------------------------------------------
CASES = [
    # (alert, view, met)
    (
        "price above at the threshold fires",
        alert("price", "above", "185"),
        MarketView(quotes={"AAPL": quote("185")}),
        True,
    ),
    (
        "price above just below",
        alert("price", "above", "185"),
        MarketView(quotes={"AAPL": quote("184.99")}),
        False,
    ),
    (
        "price below at the threshold fires",
        alert("price", "below", "180"),
        MarketView(quotes={"AAPL": quote("180")}),
        True,
    ),
    (
        "price below above it",
        alert("price", "below", "180"),
        MarketView(quotes={"AAPL": quote("180.01")}),
        False,
    ),
    (
        "change above +2% at +2%",
        alert("change", "above", "2"),
        MarketView(quotes={"AAPL": quote("102")}),
        True,
    ),
    (
        "change below -3% at -3%",
        alert("change", "below", "-3"),
        MarketView(quotes={"AAPL": quote("97")}),
        True,
    ),
    (
        "change below -3% at -2.9%",
        alert("change", "below", "-3"),
        MarketView(quotes={"AAPL": quote("97.1")}),
        False,
    ),
    (
        "iv-rank above 50 at 50",
        alert("iv-rank", "above", "50"),
        MarketView(metrics={"AAPL": MarketMetric("AAPL", D(50), None, None)}),
        True,
    ),
    (
        "iv-rank below 20 at 35",
        alert("iv-rank", "below", "20"),
        MarketView(metrics={"AAPL": MarketMetric("AAPL", D(35), None, None)}),
        False,
    ),
    (
        "delta above 0.30 at -0.30 (absolute)",
        alert("delta", "above", "0.30", "SPY"),
        MarketView(
            positions=[option("SPY   261128P00450000", "-1", "6.40", "5", 4)],
            deltas={"SPY   261128P00450000": D("-0.30")},
        ),
        True,
    ),
    (
        "delta above 0.30 at 0.29",
        alert("delta", "above", "0.30", "SPY"),
        MarketView(
            positions=[option("SPY   261128P00450000", "-1", "6.40", "5", 4)],
            deltas={"SPY   261128P00450000": D("0.29")},
        ),
        False,
    ),
    (
        "dte below 3 with 3 days left",
        alert("dte", "below", "3", "SPY"),
        MarketView(positions=[option("SPY   261127P00450000", "-1", "6.40", "5", 3)]),
        True,
    ),
    (
        "dte below 0 on the expiry day",
        alert("dte", "below", "0", "SPY"),
        MarketView(positions=[option("SPY   261124P00450000", "-1", "6.40", "5", 0)]),
        True,
    ),
    (
        "dte below 2 with 3 days left",
        alert("dte", "below", "2", "SPY"),
        MarketView(positions=[option("SPY   261127P00450000", "-1", "6.40", "5", 3)]),
        False,
    ),
    (
        "pnl profit 50% on a short put bought back at half",
        alert("pnl", "profit", "50", "TSLA"),
        MarketView(positions=[option("TSLA  261218P00300000", "-1", "8.00", "4.00", 20, "TSLA")]),
        True,
    ),
    (
        "pnl profit 50% on a long call at half: a loss",
        alert("pnl", "profit", "50", "TSLA"),
        MarketView(positions=[option("TSLA  261218C00300000", "1", "8.00", "4.00", 20, "TSLA")]),
        False,
    ),
    (
        "pnl loss 50% on a long call at half",
        alert("pnl", "loss", "50", "TSLA"),
        MarketView(positions=[option("TSLA  261218C00300000", "1", "8.00", "4.00", 20, "TSLA")]),
        True,
    ),
    (
        "pnl loss 100% on a short put that doubled",
        alert("pnl", "loss", "100", "TSLA"),
        MarketView(positions=[option("TSLA  261218P00300000", "-1", "8.00", "16.00", 20, "TSLA")]),
        True,
    ),
    (
        "position kinds with nothing held are simply not met",
        alert("dte", "below", "7", "NVDA"),
        MarketView(),
        False,
    ),
]


@pytest.mark.parametrize(("case", "rule", "view", "met"), CASES, ids=[c[0] for c in CASES])
def test_every_kind_and_boundary(case: str, rule: Alert, view: MarketView, met: bool) -> None:
    assert evaluate(rule, view, TODAY).met is met


@pytest.mark.parametrize(
    ("rule", "view", "why"),
    [
        (alert("price", "above", "185"), MarketView(), "no quote for AAPL"),
        (
            alert("price", "above", "185"),
            MarketView(quotes={"AAPL": quote(None)}),
            "no quote for AAPL",
        ),
        (
            alert("change", "below", "-3"),
            MarketView(quotes={"AAPL": quote("97", prev=None)}),
            "no price or previous close",
        ),
        (alert("iv-rank", "above", "50"), MarketView(), "no IV rank"),
        (
            alert("delta", "above", "0.3", "SPY"),
            MarketView(positions=[option("SPY   261128P00450000", "-1", "6", "5", 4)]),
            "no greeks",
        ),
    ],
    ids=[
        "missing-quote",
        "quote-without-price",
        "missing-prev-close",
        "missing-metric",
        "missing-greeks",
    ],
)
def test_missing_data_is_unknown_not_fired(rule: Alert, view: MarketView, why: str) -> None:
    result = evaluate(rule, view, TODAY)
    assert result.met is None and why in result.why_unknown


def test_texts_a_trader_reads_on_a_phone() -> None:
    price = evaluate(
        alert("price", "above", "185"), MarketView(quotes={"AAPL": quote("185.50")}), TODAY
    )
    assert (
        price.title == "Price Alert: AAPL" and price.body == "AAPL is now $185.50 (above $185.00)"
    )
    assert price.data == {
        "symbol": "AAPL",
        "condition": "above",
        "threshold": 185.0,
        "current_price": 185.5,
    }
    dte = evaluate(
        alert("dte", "below", "3", "SPY"),
        MarketView(positions=[option("SPY   261127P00450000", "-1", "6", "5", 3)]),
        TODAY,
    )
    assert dte.body == "SPY 11/27 450P expires in 3 days"
    pnl = evaluate(
        alert("pnl", "profit", "50", "TSLA"),
        MarketView(positions=[option("TSLA  261218P00300000", "-1", "8.00", "3.84", 20, "TSLA")]),
        TODAY,
    )
    assert pnl.body == "TSLA short put P&L +52% (target +50%)"
    noted = evaluate(
        alert("price", "above", "185", note="trim the position"),
        MarketView(quotes={"AAPL": quote("186")}),
        TODAY,
    )
    assert noted.body.endswith("— trim the position")


# -- validation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("AAPL", "sideways", "above", "1"), "unknown alert type"),
        (("AAPL", "price", "profit", "1"), "takes above or below"),
        (("AAPL", "dte", "below", "-1"), "whole number of days"),
        (("AAPL", "dte", "below", "2.5"), "whole number of days"),
        (("AAPL", "price", "above", "lots"), "is not a number"),
        (("AAPL", "price", "above", "NaN"), "is not a number"),
        (("AAPL", "price", "above", "1e400"), "is too large"),
        (("AAPL", "change", "below", "-1e13"), "is too large"),
        (("AAPL", "delta", "above", "30"), "between 0 and 1"),
        (("AAPL", "iv-rank", "above", "120"), "0 to 100"),
        (("A$PL", "price", "above", "1"), "not a valid symbol"),
    ],
)
def test_validation(args: tuple[str, str, str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_alert(args[0], args[1], args[2], args[3])


def test_symbols_are_normalised() -> None:
    assert parse_alert(" aapl ", "price", "ABOVE", "1").symbol == "AAPL"
    assert parse_alert("spy 261218p00450000", "dte", "below", "3").symbol == "SPY   261218P00450000"
    assert parse_alert("/esz6", "price", "above", "6000").symbol == "/ESZ6"


def test_cli_add_list_remove_rearm(ttai) -> None:  # type: ignore[no-untyped-def]
    assert ttai("alerts", "add", "aapl", "above", "185", "--note", "trim").out.strip() == "1"
    assert ttai("alerts", "add", "AAPL", "--type", "change", "below", "-3").out.strip() == "2"
    rows = json.loads(ttai("alerts", "list", "--json").out)
    assert [list(r) for r in rows] == [
        [
            "id",
            "symbol",
            "type",
            "condition",
            "threshold",
            "status",
            "note",
            "created_at",
            "triggered_at",
            "repeat_after",
            "strategy",
        ]
    ] * 2
    assert rows[1]["threshold"] == -3.0 and rows[0]["note"] == "trim"
    assert "no alert with id 9" in one_line_error(ttai("alerts", "remove", "1", "9"), 2)
    assert len(json.loads(ttai("alerts", "list", "--json").out)) == 2, "all or nothing"
    assert "unknown alert type" in one_line_error(
        ttai("alerts", "add", "AAPL", "--type", "vol", "above", "1"), 2
    )
    assert "not a number" in one_line_error(ttai("alerts", "add", "AAPL", "above", "x"), 2)
    assert ttai("alerts", "remove", "1").code == 0
    assert [r["id"] for r in json.loads(ttai("alerts", "list", "--json").out)] == [2]


def test_rearm_of_an_active_alert_says_it_is_already_active_and_exits_0(ttai) -> None:  # type: ignore[no-untyped-def]
    demo = ("--demo", "-q", "alerts")
    first = int(ttai(*demo, "add", "AAPL", "above", "1").out)  # the demo has alerts 1-5
    result = ttai(*demo, "rearm", str(first))
    assert result.code == 0 and result.out.strip() == f"{first} is already active"
    assert ttai(*demo, "check", "--ignore-market-hours").code == 0  # AAPL above $1: fires
    rows = {r["id"]: r for r in json.loads(ttai(*demo, "list", "--all", "--json").out)}
    # the demo's alert 3 (dte) is one `alerts check` never looks at: still active
    assert rows[first]["status"] == "triggered" and rows[3]["status"] == "active"
    result = ttai(*demo, "rearm", str(first), "3")
    assert result.code == 0 and result.out.strip() == f"re-armed {first}; 3 is already active"
    rows = {r["id"]: r for r in json.loads(ttai(*demo, "list", "--all", "--json").out)}
    assert rows[first]["status"] == "active"
    assert ttai(*demo, "rearm", "3", "4").out.strip() == "3, 4 are already active"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("TSLA", "above"),
            "ttai: a price alert needs a threshold: ttai alerts add TSLA above PRICE",
        ),
        (
            ("TSLA", "--type", "tested", "within"),
            "ttai: a tested alert needs a threshold: ttai alerts add TSLA --type tested within PCT",
        ),
        (
            ("--type", "pnl", "profit", "50"),
            "ttai: a pnl alert needs SYMBOL CONDITION THRESHOLD "
            "(e.g. ttai alerts add AAPL --type pnl profit PCT)",
        ),
        (
            ("bp-usage", "above", "50"),
            "ttai: 'bp-usage' is an alert type, not a symbol: did you mean "
            "ttai alerts add --type bp-usage above 50?",
        ),
    ],
    ids=["price", "tested", "no-symbol", "type-as-symbol"],
)
def test_a_missing_piece_is_named_not_shown_as_dots(ttai, args: tuple[str, ...], line: str) -> None:  # type: ignore[no-untyped-def]
    assert one_line_error(ttai("alerts", "add", *args), 2) == line


def test_demo_database_starts_with_sample_alerts(ttai) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(ttai("--demo", "alerts", "list", "--json").out)
    assert len(rows) == 5 and all(r["note"].startswith("demo:") for r in rows)
    assert ttai("--demo", "alerts", "remove", "1").code == 0
    assert len(json.loads(ttai("--demo", "alerts", "list", "--json").out)) == 4, "seeded once only"


# -- cycles against the simulated API --------------------------------------------------------------
def service_for(store, sim_server: RunningServer, clock: FakeClock, home: Path) -> AlertsService:  # type: ignore[no-untyped-def]
    settings = load_settings(environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"})
    home.mkdir(parents=True, exist_ok=True)
    notifier = Notifier(settings, store, clock, stderr_is_tty=False)
    return AlertsService(AlertsRepository(store), clock, lambda: make_broker(sim_server), notifier)


def fired(store) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [
        (r[0], r[1])
        for r in store.db.execute(
            "SELECT json_extract(data, '$.alert_id'), body FROM notifications WHERE type = 'alert_triggered' ORDER BY seq"
        )
    ]


def test_fires_once_then_stays_triggered_until_rearm(
    store, sim: SimulatedTastytrade, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    service = service_for(store, sim_server, clock, clean_env)
    alert_id = service.add(parse_alert("AAPL", "price", "above", "200"))
    sim.market.pin("AAPL", 201)
    for _ in range(3):
        asyncio.run(service.check())
        clock.advance(30)
    assert len(fired(store)) == 1
    service.rearm([alert_id])
    asyncio.run(service.check())
    assert len(fired(store)) == 2


def test_repeat_after_rearms_only_once_the_condition_was_false_again(
    store, sim, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    service = service_for(store, sim_server, clock, clean_env)
    service.add(parse_alert("AAPL", "price", "above", "200", repeat_after=timedelta(minutes=10)))
    sim.market.pin("AAPL", 201)
    asyncio.run(service.check())
    for _ in range(30):  # true for 15 minutes: past repeat_after, but never false: no storm
        clock.advance(30)
        asyncio.run(service.check())
    assert len(fired(store)) == 1
    sim.market.pin("AAPL", 199)  # false again
    clock.advance(30)
    asyncio.run(service.check())
    sim.market.pin("AAPL", 202)
    clock.advance(30)
    asyncio.run(service.check())
    assert len(fired(store)) == 2


def test_missing_quote_is_skipped_and_logged(store, sim, sim_server, clean_env, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO, logger="ttai")  # not left to an earlier test's set-up
    clock = FakeClock(datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK))
    service = service_for(store, sim_server, clock, clean_env)
    service.add(parse_alert("ZZZZ", "price", "above", "1"))
    report = asyncio.run(service.check())
    assert report.unknown == 1 and report.fired == 0 and fired(store) == []
    assert "no quote for ZZZZ" in caplog.text


def test_monitor_all_kinds_position_changes_and_realised_pnl(
    store, sim, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    # two QQQ puts sold the day before, expiring within the week, whatever today's date
    built = sim.now().date()
    clock = FakeClock(datetime.combine(built, wall_time(10, 0), NEW_YORK))
    sim.now = lambda: clock.now()
    expiry = weekly_expiration(built)
    qqq = occ_symbol("QQQ", expiry, "P", D(470))
    sim.account.trade(
        qqq,
        -2,
        "1.45",
        clock.now() - timedelta(days=1),
        underlying="QQQ",
        instrument_type="Equity Option",
        expires_at=datetime.combine(expiry, wall_time(16, 0), NEW_YORK),
    )
    alerts = service_for(store, sim_server, clock, clean_env)
    monitor = MonitorService(alerts, PositionsRepository(store))
    alerts.add(parse_alert(qqq, "dte", "below", "7"))
    alerts.add(parse_alert("TSLA", "delta", "above", "0.01"))
    first = asyncio.run(monitor.run())
    assert first.position_changes == 0, "the first look is a baseline"
    assert first.fired == 2
    # buy back the QQQ puts, open a new AAPL position, add to nothing else
    sim.account.trade(qqq, 2, "0.40", clock.now())
    sim.account.trade("NVDA", 10, "140.00", clock.now())
    clock.advance(60)
    second = asyncio.run(monitor.run())
    assert second.position_changes == 2
    bodies = [
        r[0]
        for r in store.db.execute(
            "SELECT body FROM notifications WHERE type = 'position_update' ORDER BY seq"
        )
    ]
    assert bodies[0] == "Bought 10 shares NVDA at $140.00"
    assert bodies[1].startswith("Closed QQQ") and "realised P&L +$" in bodies[1]
    # QQQ: sold 2 at 1.45 (+290 - fees), bought back at 0.40 (-80 - fees)
    realized = D(
        store.db.execute(
            "SELECT realized_pnl FROM position_events WHERE change = 'closed'"
        ).fetchone()[0]
    )
    assert D("205") < realized < D("210")
    third = asyncio.run(monitor.run())
    assert third.position_changes == 0, "each change is notified once"


# -- exactly once across processes, crashes ----------------------------------------------------
def process_env(sim_server: RunningServer, home: Path) -> dict[str, str]:
    return {
        "TTAI_API_URL": sim_server.url,
        "TASTYTRADE_CLIENT_SECRET": CANARY_SECRET,
        "TASTYTRADE_REFRESH_TOKEN": CANARY_REFRESH,
        "TTAI_HOME": str(home),
        "TTAI_NOTIFICATION_BACKEND": "none",
    }


def add_many(home: Path, count: int) -> None:
    from ttai_cli.store import open_store

    home.mkdir(parents=True, exist_ok=True)
    with open_store(home / "ttai.db") as store:
        repo = AlertsRepository(store)
        for i in range(count):
            repo.add(parse_alert(f"S{i % 50:03d}", "price", "above", "1"), datetime.now(NEW_YORK))


def test_four_processes_fire_200_alerts_exactly_once(sim_server, clean_env) -> None:  # type: ignore[no-untyped-def]
    add_many(clean_env, 200)
    env = process_env(sim_server, clean_env)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ttai_cli", "alerts", "check", "--ignore-market-hours"],
            env={**__import__("os").environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0, 0, 0], [p.stderr.read() for p in procs if p.stderr]
    db = sqlite3.connect(clean_env / "ttai.db")
    ids = [r[0] for r in db.execute("SELECT json_extract(data, '$.alert_id') FROM notifications")]
    assert len(ids) == 200 and len(set(ids)) == 200
    assert db.execute("SELECT count(*) FROM alerts WHERE status = 'triggered'").fetchone()[0] == 200


def test_sigkill_between_the_price_check_and_the_commit(sim, sim_server, clean_env) -> None:  # type: ignore[no-untyped-def]
    add_many(clean_env, 5)
    sim.faults.add("slow", "/market-data", delay=30)
    env = {**__import__("os").environ, **process_env(sim_server, clean_env)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttai_cli", "alerts", "check", "--ignore-market-hours"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not sim.requests_to("/market-data") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.requests_to("/market-data"), "the cycle reached the quote request"
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    db = sqlite3.connect(clean_env / "ttai.db")
    assert db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 0
    assert (
        subprocess.run(
            [sys.executable, "-m", "ttai_cli", "alerts", "check", "--ignore-market-hours"],
            env=env,
            capture_output=True,
        ).returncode
        == 0
    )
    ids = [r[0] for r in db.execute("SELECT json_extract(data, '$.alert_id') FROM notifications")]
    assert sorted(ids) == [1, 2, 3, 4, 5]


HOT = """
import sys
from ttai_cli.app import main
code = main(['alerts', 'check', '--ignore-market-hours'])
print('HEAVY', sorted(m for m in ('tastytrade', 'pandas', 'httpx2') if m in sys.modules), code)
"""


def test_no_active_alerts_no_broker_request_no_sdk(sim, sim_server, clean_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key, value in process_env(sim_server, clean_env).items():
        monkeypatch.setenv(key, value)
    proc = subprocess.run([sys.executable, "-c", HOT], capture_output=True, text=True)
    assert "HEAVY [] 0" in proc.stdout, proc.stdout + proc.stderr
    assert sim.history == []
    status = json.loads(run_subprocess("status", "--json").out)["jobs"][0]
    assert status["job"] == "alerts" and status["last_result"] == "ok"


def price_view(price: str) -> MarketView:
    return MarketView(quotes={"AAPL": quote(price)})


def test_a_new_alert_after_removing_the_newest_gets_a_fresh_id_and_fires(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 3, 10, 11, 0, tzinfo=NEW_YORK))
    repo = AlertsRepository(store)
    service = AlertsService(repo, clock, lambda: None, None)  # type: ignore[arg-type,return-value]
    first = service.add(parse_alert("AAPL", "price", "above", "150"))
    assert asyncio.run(service.settle(repo.watching(("price",)), price_view("160"))).fired == 1
    service.remove([first])
    second = service.add(parse_alert("AAPL", "price", "above", "155"))
    assert second != first
    assert asyncio.run(service.settle(repo.watching(("price",)), price_view("160"))).fired == 1
    assert [a for a, _ in fired(store)] == [first, second]
    events = repo.fired_between(clock.now() - timedelta(days=1), clock.now() + timedelta(days=1))
    assert [e.alert_id for e in events] == [first, second]


def test_a_stale_snapshot_cannot_rearm_a_newer_firing(store) -> None:  # type: ignore[no-untyped-def]
    """A monitor that read the alerts before another process cleared, re-armed and fired
    it again must not clear or re-arm that newer firing from its old copy."""
    clock = FakeClock(datetime(2026, 3, 10, 11, 0, tzinfo=NEW_YORK))
    repo = AlertsRepository(store)
    service = AlertsService(repo, clock, lambda: None, None)  # type: ignore[arg-type,return-value]
    service.add(parse_alert("AAPL", "price", "above", "150", repeat_after=timedelta(minutes=5)))
    asyncio.run(service.settle(repo.watching(("price",)), price_view("160")))
    clock.advance(600)
    stale = repo.watching(("price",))  # read as (triggered, not cleared)
    asyncio.run(service.settle(repo.watching(("price",)), price_view("140")))  # cleared
    clock.advance(1)
    asyncio.run(service.settle(repo.watching(("price",)), price_view("160")))  # fires again
    clock.advance(1)
    asyncio.run(service.settle(stale, price_view("149")))  # the stale copy settles late
    clock.advance(1)
    again = asyncio.run(service.settle(repo.watching(("price",)), price_view("160")))
    assert again.fired == 0
    assert [(a.status, a.fire_count, a.cleared_at) for a in repo.all_alerts()] == [
        ("triggered", 2, None)
    ]


def test_an_upgraded_database_never_hands_out_an_old_alert_id(tmp_path: Path) -> None:
    from ttai_cli.store import migrate, open_store
    from ttai_cli.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    before = [m for m in MIGRATIONS if m[0] < "m008"]
    migrate(db, before)
    db.execute(
        "INSERT INTO alerts (id, symbol, type, condition, threshold, created_at) "
        "VALUES (1, 'AAPL', 'price', 'above', '1', '2026-01-01T00:00:00+00:00')"
    )
    # alert 3 fired once and was removed: its id lives on in the history only
    db.execute(
        "INSERT INTO alert_events (alert_id, symbol, type, fired_at, message) "
        "VALUES (3, 'SPY', 'price', '2026-01-02T00:00:00+00:00', 'x')"
    )
    db.execute("PRAGMA application_id = 0x74746169")
    db.close()
    with open_store(path) as store:
        clock = FakeClock(datetime(2026, 3, 10, 11, 0, tzinfo=NEW_YORK))
        service = AlertsService(AlertsRepository(store), clock, lambda: None, None)  # type: ignore[arg-type,return-value]
        assert service.add(parse_alert("QQQ", "price", "above", "1")) == 4
        assert [a.id for a in AlertsRepository(store).all_alerts()] == [1, 4]


def test_alerts_list_is_readable_at_80_columns(clean_env) -> None:  # type: ignore[no-untyped-def]
    from tests.test_history import run_in_pty

    code, screen = run_in_pty(["--demo", "alerts", "list"], cols=80, rows=40)
    assert code == 0, "\n".join(screen)
    rows = [line.split() for line in screen if line.strip()[:1].isdigit()]
    # every id, symbol, kind and threshold whole: nothing cut to `A…` or `p…`
    assert [r[:3] for r in rows[:5]] == [
        ["1", "AAPL", "price"],
        ["2", "SPY", "change"],
        ["3", "IWM", "dte"],
        ["4", "SPY", "pnl"],
        ["5", "TSLA", "delta"],
    ]
    text = "\n".join(screen)
    assert "…" not in text and "$200" in text and "7 days" in text
    assert "demo: strangle side" in text  # the note wraps rather than vanishing
    assert all(len(line) <= 80 for line in screen)


def test_alerts_list_drops_empty_columns_before_wrapping_notes(ttai, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No strategy, no repeat: the empty `Strategy` and `Repeat` columns gave way to
    nothing, and each note wrapped onto 5-6 lines of 14 characters."""
    monkeypatch.setenv("COLUMNS", "80")
    note = "breakout above the range high, take profits on the call spread and re-check"
    assert ttai("alerts", "add", "SPY", "above", "700", "--note", note).code == 0
    assert ttai("alerts", "add", "AAPL", "below", "200", "--note", "support test").code == 0
    listed = ttai("alerts", "list")
    assert listed.code == 0, listed.err
    assert "Repeat" not in listed.out and "Strategy" not in listed.out
    lines = listed.out.splitlines()
    assert all(len(line) <= 80 for line in lines), listed.out
    first = next(i for i, line in enumerate(lines) if "SPY" in line)
    second = next(i for i, line in enumerate(lines) if "AAPL" in line)
    assert second - first <= 3, "the note on three lines at most: " + listed.out


# -- input that cannot be right (#17) -------------------------------------------------------
def test_alerts_add_exact_duplicate_of_an_active_alert_is_exit_2(ttai: Any) -> None:
    assert ttai("alerts", "add", "--type", "bp-usage", "above", "50").code == 0
    line = one_line_error(ttai("alerts", "add", "--type", "bp-usage", "above", "50.0"), 2)
    assert line == "ttai: alert 1 is already watching exactly that"
    assert ttai("alerts", "add", "--type", "bp-usage", "above", "60").code == 0


def test_alerts_add_repeat_after_without_a_unit_is_exit_2(ttai: Any) -> None:
    line = one_line_error(
        ttai("alerts", "add", "--type", "bp-usage", "above", "50", "--repeat-after", "1"), 2
    )
    assert "--repeat-after: '1' has no unit" in line


def test_alerts_add_symbol_the_api_does_not_know_is_exit_2(
    ttai: Any, broker_env: RunningServer
) -> None:
    line = one_line_error(ttai("alerts", "add", "ZZZZ", "above", "10"), 2)
    assert line == "ttai: unknown symbol: ZZZZ"
    assert json.loads(ttai("alerts", "list", "--json").out) == []


def future(symbol: str, underlying: str, dte: int) -> PositionView:
    """A long futures contract expiring `dte` days from TODAY (09:30, as /ES does)."""
    expires = datetime.combine(TODAY + timedelta(days=dte), wall_time(9, 30), NEW_YORK)
    return PositionView(
        symbol, underlying, "Future", D(1), D(5900), D(5950), D(5), expires, dte, D(250), D(1)
    )


@pytest.mark.parametrize("symbol", ["/MESZ6", "/MES"], ids=["the-contract", "its-root"])
def test_dte_alert_on_a_future_fires_as_a_roll_reminder(symbol: str) -> None:
    """`alerts add /MESH7 --type dte below 120` was accepted with a "no option position"
    warning and could never fire: a future expires too (roll it before it does)."""
    view = MarketView(
        positions=[future("/MESZ6", "/MES", 5), option("SPY   261127P00450000", "-1", "6", "5", 3)]
    )
    result = evaluate(alert("dte", "below", "7", symbol), view, TODAY)
    assert result.met is True and result.value == 5
    assert result.title == "Expiration Alert: /MES"
    assert result.body == "/MESZ6 expires in 5 days"
    assert result.data["position"] == "/MESZ6" and result.data["dte"] == 5
    assert evaluate(alert("dte", "below", "4", symbol), view, TODAY).met is False
    shares = MarketView(positions=[option("AAPL", "100", "230", "240", None, "AAPL")])
    assert evaluate(alert("dte", "below", "400", "AAPL"), shares, TODAY).met is False, "never"


def test_dte_alert_on_a_held_future_adds_without_a_warning_and_fires(
    ttai: Any, broker_env: RunningServer, clean_env: Path
) -> None:
    positions = json.loads(ttai("positions", "--json").out)
    held = next(p for p in positions if p["instrument_type"] == "Future")  # the demo's /MES
    result = ttai("alerts", "add", held["symbol"], "--type", "dte", "below", str(held["dte"]))
    assert result.code == 0 and result.err == "", result.err
    nvda = ttai("alerts", "add", "NVDA", "--type", "dte", "below", "7")
    assert nvda.err.strip() == (
        "ttai: warning: no option or futures position on NVDA today: this dte alert stays "
        "unknown until there is one"
    )
    monitor = ttai("monitor", "--ignore-market-hours")
    assert monitor.code == 0, monitor.err
    with sqlite3.connect(clean_env / "ttai.db") as db:
        rows = db.execute(
            "SELECT title, body FROM notifications WHERE type = 'alert_triggered'"
        ).fetchall()
    assert rows == [
        (
            f"Expiration Alert: {held['underlying_symbol']}",
            f"{held['symbol']} expires in {held['dte']} days",
        )
    ]


def test_alerts_add_in_the_demo_refuses_a_symbol_it_does_not_list(ttai: Any) -> None:
    assert one_line_error(ttai("--demo", "alerts", "add", "XYZZY", "above", "10"), 2) == (
        "ttai: unknown symbol: XYZZY"
    )


def test_alerts_add_without_credentials_adds_unchecked_with_a_warning(ttai: Any) -> None:
    result = ttai("alerts", "add", "AAPL", "above", "200")
    assert result.code == 0 and result.out.strip() == "1"
    assert result.err.startswith("ttai: warning: AAPL not checked with the broker")


def test_alerts_add_delta_alert_with_no_option_position_warns_and_adds(
    ttai: Any, broker_env: RunningServer
) -> None:
    result = ttai("alerts", "add", "NVDA", "above", "0.3", "--type", "delta")
    assert result.code == 0 and result.out.strip() == "1"
    assert result.err.strip() == (
        "ttai: warning: no option position on NVDA today: this delta alert stays unknown "
        "until there is one"
    )
    # the demo book's TSLA strangle: no warning
    quiet = ttai("alerts", "add", "TSLA", "above", "0.3", "--type", "delta")
    assert quiet.code == 0 and quiet.err == ""
