"""The NYSE calendar, the market guard, and `ttai market`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date, datetime

import pytest

from tests.conftest import CANARY_REFRESH
from ttai_cli.broker.models import MarketSessionStatus
from ttai_cli.clock import NEW_YORK
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.market.guard import MarketGuard
from ttai_cli.scheduling.parse import parse_instant
from ttai_cli.services.market import MarketService


def at(text: str) -> datetime:
    return parse_instant(text)


def test_calendar_agrees_with_exchange_calendars_2007_to_2035(ttai) -> None:  # type: ignore[no-untyped-def]
    import exchange_calendars as xcals

    result = ttai(
        "--demo", "market", "calendar", "--from", "2007-01-01", "--to", "2035-12-31", "--json"
    )
    assert result.code == 0, result.err
    ours = {row["date"]: row for row in json.loads(result.out)}
    xnys = xcals.get_calendar("XNYS", start="2007-01-01", end="2035-12-31").schedule
    theirs = {
        day.date().isoformat(): (
            r.open.to_pydatetime().astimezone(NEW_YORK),
            r.close.to_pydatetime().astimezone(NEW_YORK),
        )
        for day, r in xnys.iterrows()
    }
    assert sorted(ours) == sorted(theirs), "the same session dates"
    for day, (open_at, close_at) in theirs.items():
        row = ours[day]
        assert datetime.fromisoformat(row["open"]) == open_at, day
        assert datetime.fromisoformat(row["close"]) == close_at, day
        assert row["early_close"] == (close_at.hour < 16), day
    assert ours["2026-11-27"]["close"] == "2026-11-27T13:00:00-05:00"
    assert (
        "2012-10-29" not in ours and "2025-01-09" not in ours
    )  # Hurricane Sandy, President Carter


STATUS_CASES = [
    ("2026-11-22T12:00", False, "market closed: Sunday", "2026-11-23T09:30:00-05:00"),
    (
        "2026-11-26T12:00",
        False,
        "market closed: holiday (no session on Thu 2026-11-26)",
        "2026-11-27T09:30:00-05:00",
    ),
    (
        "2026-11-27T12:59",
        True,
        "market open until the 13:00 early close",
        "2026-11-30T09:30:00-05:00",
    ),
    (
        "2026-11-27T13:00",
        False,
        "market closed: after the 13:00 early close",
        "2026-11-30T09:30:00-05:00",
    ),
    (
        "2026-03-09T09:29:59",
        False,
        "market closed: before the 09:30 open",
        "2026-03-09T09:30:00-04:00",
    ),
    ("2026-03-09T09:30", True, "market open until the 16:00 close", "2026-03-10T09:30:00-04:00"),
    (
        "2026-04-03T10:00",
        False,
        "market closed: holiday (no session on Fri 2026-04-03)",
        "2026-04-06T09:30:00-04:00",
    ),
]


@pytest.mark.parametrize(
    ("now", "is_open", "reason", "next_open"),
    STATUS_CASES,
    ids=[
        "sunday",
        "thanksgiving",
        "half-day-open",
        "half-day-closed",
        "before-open",
        "open",
        "good-friday",
    ],
)
def test_status_cases(store, now: str, is_open: bool, reason: str, next_open: str) -> None:  # type: ignore[no-untyped-def]
    status = MarketGuard(MarketCalendar(store)).status(at(now))
    assert (status.open, status.reason, status.next_open.isoformat()) == (
        is_open,
        reason,
        next_open,
    )
    assert status.source == "calendar"


def test_status_json_shape(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("--demo", "market", "status", "--now", "2026-11-27T10:00:00-05:00", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert list(body)[:7] == [
        "now",
        "open",
        "session",
        "next_open",
        "next_close",
        "source",
        "reason",
    ]
    assert body["session"] == {
        "date": "2026-11-27",
        "open": "2026-11-27T09:30:00-05:00",
        "close": "2026-11-27T13:00:00-05:00",
        "early_close": True,
    }
    assert body["open"] is True and body["next_close"] == "2026-11-27T13:00:00-05:00"
    sunday = json.loads(
        ttai("--demo", "market", "status", "--now", "2026-11-22T10:00", "--json").out
    )
    assert sunday["session"] is None and sunday["open"] is False


def live(state: str):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    async def check() -> MarketSessionStatus:
        calls.append(1)
        if state == "fail":
            raise ConnectionError("unreachable")
        return MarketSessionStatus(state, None, None, None)

    return check, calls


def test_live_check_confirms_an_open_market(store) -> None:  # type: ignore[no-untyped-def]
    check, calls = live("Open")
    status = asyncio.run(
        MarketGuard(MarketCalendar(store), check).confirmed_status(at("2026-03-09T10:00"))
    )
    assert status.open and status.source == "tastytrade" and calls == [1]


def test_live_check_can_close_an_unscheduled_closure(store) -> None:  # type: ignore[no-untyped-def]
    check, _ = live("Closed")
    status = asyncio.run(
        MarketGuard(MarketCalendar(store), check).confirmed_status(at("2026-03-09T10:00"))
    )
    assert not status.open and "tastytrade reports" in status.reason


def test_failed_live_check_falls_back_to_the_calendar_not_to_run_anyway(store) -> None:  # type: ignore[no-untyped-def]
    check, _ = live("fail")
    open_day = asyncio.run(
        MarketGuard(MarketCalendar(store), check).confirmed_status(at("2026-03-09T10:00"))
    )
    assert open_day.open and open_day.source == "calendar"


@pytest.mark.parametrize(
    ("slot", "run", "reason"),
    [
        ("2026-11-24T16:00", True, "at the 16:00 close"),
        ("2026-11-27T13:00", True, "at the 13:00 early close"),
        ("2026-11-27T16:00", False, "market closed: after the 13:00 early close"),
        ("2026-11-24T16:00:01", False, "market closed: after the 16:00 close"),
        ("2026-11-26T16:00", False, "market closed: holiday (no session on Thu 2026-11-26)"),
    ],
    ids=[
        "slot-at-the-close",
        "slot-at-the-black-friday-half-day-close",
        "four-pm-on-a-half-day",
        "a-second-after-the-close",
        "thanksgiving",
    ],
)
def test_a_slot_at_the_close_belongs_to_the_session(
    store, slot: str, run: bool, reason: str
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.scheduling.policy import Policy

    check, calls = live("Closed")  # tastytrade already says closed at 16:00:00.003
    policy = Policy("monitor", None, MarketGuard(MarketCalendar(store), check))
    moment = at(slot)
    decision = asyncio.run(policy.confirm(moment, moment.replace(microsecond=3000)))
    assert (decision.run, decision.reason) == (run, reason)
    assert calls == []


def test_calendar_closed_never_asks_tastytrade(store) -> None:  # type: ignore[no-untyped-def]
    check, calls = live("Open")
    status = asyncio.run(
        MarketGuard(MarketCalendar(store), check).confirmed_status(at("2026-11-22T10:00"))
    )
    assert not status.open and calls == []


def test_market_status_confirmed_by_tastytrade_through_the_sdk(store, sim, sim_server) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import FakeClock
    from tests.test_broker import make_broker
    from ttai_cli.market.live import broker_live_check

    moment = at("2026-03-10T11:00")
    sim.now = lambda: moment
    service = MarketService(
        store, FakeClock(moment), broker_live_check(lambda: make_broker(sim_server))
    )
    status = asyncio.run(service.status())
    assert status.open and status.source == "tastytrade"
    assert len(sim.requests_to("/market-time/sessions/current")) == 1


def test_calendar_cache_is_refilled_when_the_source_changes(store) -> None:  # type: ignore[no-untyped-def]
    store.db.execute("UPDATE meta SET value = 'old' WHERE key = 'calendar_source'")
    store.db.execute("DELETE FROM market_sessions WHERE date = '2026-11-27'")
    calendar = MarketCalendar(store)
    session = calendar.session_on(date(2026, 11, 27))
    assert session is not None and session.early_close


def test_sessions_range_checks(store) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import FakeClock
    from ttai_cli.errors import UsageError

    service = MarketService(store, FakeClock(at("2026-11-21T12:00")))
    assert [
        s.date.isoformat() for s in service.sessions(date(2026, 11, 25), date(2026, 11, 30))
    ] == ["2026-11-25", "2026-11-27", "2026-11-30"]
    with pytest.raises(UsageError):
        service.sessions(date(2026, 11, 30), date(2026, 11, 1))


HOT_PATH = """
import sys
from ttai_cli.app import main
code = main({argv!r})
heavy = sorted(m for m in ('tastytrade', 'pandas', 'pandas_market_calendars', 'httpx2', 'croniter') if m in sys.modules)
print('HEAVY', heavy, code)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["market", "status", "--now", "2026-11-22T10:00", "--json"],
        ["run", "--every", "30s", "--dry-run", "--now", "2026-11-22T10:00", "--json", "--", "true"],
    ],
    ids=["market-status-sunday", "run-dry-run-sunday"],
)
def test_market_closed_decision_imports_neither_pandas_nor_the_sdk(
    argv: list[str], clean_env, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TASTYTRADE_CLIENT_SECRET", "x-secret-value")
    monkeypatch.setenv("TASTYTRADE_REFRESH_TOKEN", CANARY_REFRESH)
    warm = subprocess.run(
        [sys.executable, "-m", "ttai_cli", "market", "calendar"], capture_output=True, text=True
    )
    assert warm.returncode == 0, warm.stderr
    proc = subprocess.run(
        [sys.executable, "-c", HOT_PATH.format(argv=argv)], capture_output=True, text=True
    )
    assert "HEAVY [] 0" in proc.stdout, proc.stdout + proc.stderr
