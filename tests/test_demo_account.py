"""The demo must look like a real account: expirations on trading days, trades inside
sessions, unknown symbols unknown (#17)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttai_cli.broker.symbols import parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.calendar import chain_expirations, is_trading_day

DAYS = st.dates(min_value=date(2006, 4, 1), max_value=date(2033, 12, 31))


@pytest.fixture(scope="module")
def session_days(nyse_sessions: list[Any]) -> dict[date, Any]:
    return {s.date: s for s in nyse_sessions}


def _sim_on(day: date) -> SimulatedTastytrade:
    moment = datetime.combine(day, datetime.min.time(), NEW_YORK).replace(hour=12)
    return SimulatedTastytrade(now=lambda: moment)


def test_simulator_calendar_agrees_with_the_nyse_calendar_2006_to_2036(
    session_days: dict[date, Any],
) -> None:
    day = date(2006, 1, 1)
    while day <= date(2036, 12, 31):
        assert is_trading_day(day) == (day in session_days), day
        day += timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(today=DAYS)
def test_every_demo_expiry_across_the_chain_is_a_trading_day(
    session_days: dict[date, Any], today: date
) -> None:
    book = _sim_on(today).account
    expiries = list(chain_expirations(today))
    expiries += [occ.expiration for s in book.positions if (occ := parse_occ(s))]
    for txn in book.transactions:
        if (occ := parse_occ(txn.get("symbol", ""))) is not None:
            expiries.append(occ.expiration)
    for expiry in expiries:
        assert expiry in session_days, f"{expiry} (demo built on {today}) is not a session"


@settings(max_examples=200, deadline=None)
@given(today=DAYS)
def test_every_demo_trade_is_inside_a_regular_session(
    session_days: dict[date, Any], today: date
) -> None:
    for txn in _sim_on(today).account.transactions:
        if txn["transaction-type"] != "Trade":
            continue
        at = datetime.fromisoformat(txn["executed-at"].replace("Z", "+00:00"))
        session = session_days.get(at.astimezone(NEW_YORK).date())
        assert session is not None and session.contains(at), f"{txn['description']} at {at}"


def test_demo_spy_condor_a_month_before_new_years_day_expires_on_new_years_eve() -> None:
    # the demo built on 2026-12-02 holds an iron condor expiring in four weeks: Friday
    # 2027-01-01 is a holiday, so that week's options expire on Thursday
    spy = [s for s in _sim_on(date(2026, 12, 2)).account.positions if s.startswith("SPY")]
    assert [parse_occ(s).expiration for s in spy] == [date(2026, 12, 31)] * 4  # type: ignore[union-attr]


def test_demo_knows_a_fixed_universe_and_nothing_else() -> None:
    sim = _sim_on(date(2026, 3, 11))
    assert sim.is_known("AAPL") and sim.is_known("/ESM6") and sim.is_known("BTC/USD")
    assert all(sim.is_known(s) for s in sim.account.positions)
    assert not sim.is_known("XYZZY") and not sim.is_known("XLK")
    assert sim.is_known("SPY   260320P00550000")  # a monthly on a known root
    assert not sim.is_known("SPY   260321P00550000")  # a Saturday: not listed
    assert not sim.is_known("XYZZY 260320P00050000")  # no chain on an unknown root
    sim.register("XLK")
    assert sim.is_known("XLK") and sim.is_known("XLK   260320C00200000")


def test_demo_order_outside_market_hours_stays_live_without_a_fill() -> None:
    from ttai_cli.simulator.orders import schedule_demo_order

    sim = SimulatedTastytrade(now=lambda: datetime(2026, 3, 15, 11, 0, tzinfo=NEW_YORK))  # Sunday
    scheduled: list[float] = []
    sim.streams.schedule = lambda delay, action: scheduled.append(delay)  # type: ignore[method-assign,assignment]
    schedule_demo_order(sim.streams, 1.0)
    assert scheduled == [1.0], "announced Live, never Filled on a Sunday"


def test_demo_quote_of_an_unknown_symbol_is_exit_2(ttai: Any) -> None:
    result = ttai("--demo", "quote", "XYZZY")
    assert result.code == 2 and result.err.strip() == "ttai: unknown symbol: XYZZY"
