"""`ttai risk`: the numbers worked by hand, the day's metrics cache, and the command
against the simulated API over a real socket."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from tests.fakes import FakeClock
from tests.test_broker import make_broker
from ttai_cli.broker.models import Balances, MarketMetric, OptionGreeks, Position
from ttai_cli.clock import NEW_YORK, SystemClock
from ttai_cli.services.metrics import MetricsService
from ttai_cli.services.risk import EventDate, RiskService, compute_risk
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer
from ttai_cli.store import Store

TODAY = date(2026, 12, 1)
AT = datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)
D = Decimal


def stock(symbol: str, quantity: int, mark: str | None = None) -> Position:
    return Position(
        symbol=symbol,
        underlying_symbol=symbol,
        instrument_type="Equity",
        quantity=D(quantity),
        average_open_price=D(100),
        close_price=D(100),
        multiplier=D(1),
        mark=D(mark) if mark else None,
        expires_at=None,
    )


def option(symbol: str, underlying: str, quantity: int) -> Position:
    return Position(
        symbol=symbol,
        underlying_symbol=underlying,
        instrument_type="Equity Option",
        quantity=D(quantity),
        average_open_price=D(2),
        close_price=D(2),
        multiplier=D(100),
        mark=D(2),
        expires_at=datetime(2026, 12, 18, 16, tzinfo=NEW_YORK),
    )


def balances(nlv: str, maintenance: str) -> Balances:
    return Balances(
        account_number="5WT00001",
        net_liquidating_value=D(nlv),
        cash_balance=D(0),
        equity_buying_power=D(0),
        derivative_buying_power=D(0),
        maintenance_requirement=D(maintenance),
        pending_cash=D(0),
        updated_at=AT,
    )


def metric(symbol: str, beta: str | None, **events: date | Decimal) -> MarketMetric:
    return MarketMetric(symbol, None, None, None, D(beta) if beta else None, **events)  # type: ignore[arg-type]


def test_long_and_short_stock_beta_weighted_delta() -> None:
    # AAPL: +100 sh x beta 1.2 x $200 / SPY $500 = +48 SPY shares; notional $20,000 = 20 %
    # TSLA:  -50 sh x beta 2.0 x $300 / SPY $500 = -60 SPY shares; notional $15,000 = 15 %
    report = compute_risk(
        [stock("AAPL", 100), stock("TSLA", -50)],
        balances("100000", "25000"),
        {"AAPL": D(200), "TSLA": D(300), "SPY": D(500)},
        D(500),
        {},
        {"AAPL": metric("AAPL", "1.2"), "TSLA": metric("TSLA", "2.0")},
        TODAY,
    )
    rows = {u.symbol: u for u in report.by_underlying}
    assert rows["AAPL"].delta_shares == D(100) and rows["AAPL"].beta_weighted_delta == D(48)
    assert rows["TSLA"].delta_shares == D(-50) and rows["TSLA"].beta_weighted_delta == D(-60)
    assert report.beta_weighted_delta == D(-12)
    assert (rows["AAPL"].notional, rows["AAPL"].percent_of_nlv) == (D(20000), D(20))
    assert (rows["TSLA"].notional, rows["TSLA"].percent_of_nlv) == (D(15000), D(15))
    assert [u.symbol for u in report.by_underlying] == ["AAPL", "TSLA"]  # largest first
    assert report.theta == 0 and report.vega == 0 and report.missing_greeks == []


def test_options_with_greeks() -> None:
    spy_put = "SPY   261218P00480000"
    qqq_call = "QQQ   261218C00400000"
    no_greeks = "QQQ   261218P00350000"
    # 2 short SPY puts, delta -0.30: -0.30 x -2 x 100 = +60 sh, x 1.0 x 500/500 = +60
    #   theta -0.15 x -2 x 100 = +$30/day; vega 0.40 x -2 x 100 = -$80
    # 1 long QQQ call, delta 0.50: +50 sh, x 1.1 x 400/500 = +44
    #   theta -0.20 x 100 = -$20/day; vega 0.30 x 100 = +$30
    # 1 QQQ put with no Greeks: no delta, theta or vega, listed as missing
    report = compute_risk(
        [option(spy_put, "SPY", -2), option(qqq_call, "QQQ", 1), option(no_greeks, "QQQ", 1)],
        balances("200000", "30000"),
        {"SPY": D(500), "QQQ": D(400)},
        D(500),
        {
            spy_put: OptionGreeks(D("-0.30"), D("-0.15"), D("0.40")),
            qqq_call: OptionGreeks(D("0.50"), D("-0.20"), D("0.30")),
        },
        {"SPY": metric("SPY", "1.0"), "QQQ": metric("QQQ", "1.1")},
        TODAY,
    )
    rows = {u.symbol: u for u in report.by_underlying}
    assert rows["SPY"].delta_shares == D(60) and rows["SPY"].beta_weighted_delta == D(60)
    assert rows["QQQ"].delta_shares == D(50) and rows["QQQ"].beta_weighted_delta == D(44)
    assert report.beta_weighted_delta == D(104)
    assert report.theta == D(10) and report.vega == D(-50)
    # notional: SPY 2 x 100 x $500 = $100,000 = 50 %; QQQ 2 contracts x 100 x $400 = $80,000
    assert (rows["SPY"].notional, rows["SPY"].percent_of_nlv) == (D(100000), D(50))
    assert (rows["QQQ"].notional, rows["QQQ"].percent_of_nlv) == (D(80000), D(40))
    assert report.missing_greeks == [no_greeks]


def test_missing_beta_counts_as_one_and_is_flagged() -> None:
    # XYZ: +100 sh x (no beta: 1.0) x $50 / $500 = +10; AAPL has a beta of 1.5: 10 x 1.5 x 500/500
    report = compute_risk(
        [stock("XYZ", 100), stock("AAPL", 10)],
        balances("10000", "0"),
        {"XYZ": D(50), "AAPL": D(500)},
        D(500),
        {},
        {"XYZ": metric("XYZ", None), "AAPL": metric("AAPL", "1.5")},
        TODAY,
    )
    rows = {u.symbol: u for u in report.by_underlying}
    assert rows["XYZ"].beta is None and rows["XYZ"].beta_missing
    assert rows["XYZ"].beta_weighted_delta == D(10)
    assert not rows["AAPL"].beta_missing and rows["AAPL"].beta_weighted_delta == D(15)
    assert report.beta_weighted_delta == D(25)
    assert report.beta_missing == ["XYZ"]


def test_no_metrics_at_all_is_a_missing_beta_and_a_stock_mark_prices_it() -> None:
    # no quote for ABC: its stock position's mark $40 prices it; 200 x 1.0 x 40 / 400 = 20
    report = compute_risk(
        [stock("ABC", 200, mark="40")], balances("8000", "0"), {}, D(400), {}, {}, TODAY
    )
    (row,) = report.by_underlying
    assert row.beta_missing and row.beta_weighted_delta == D(20)
    assert (row.notional, row.percent_of_nlv) == (D(8000), D(100))


def test_buying_power_used_percent() -> None:
    # $12,345.67 / $50,000 = 24.69134 % -> 24.69
    report = compute_risk([], balances("50000", "12345.67"), {}, D(500), {}, {}, TODAY)
    assert report.buying_power_used_percent == D("24.69")
    assert report.by_underlying == [] and report.beta_weighted_delta == 0
    # nothing left: all of it is used; nothing held and nothing required: none
    assert (
        compute_risk([], balances("0", "500"), {}, D(1), {}, {}, TODAY).buying_power_used_percent
        == 100
    )
    assert (
        compute_risk([], balances("0", "0"), {}, D(1), {}, {}, TODAY).buying_power_used_percent == 0
    )


def test_events_today_through_the_horizon_both_ends_included() -> None:
    metrics = {
        "AAPL": metric("AAPL", "1.2", earnings_date=TODAY, ex_dividend_date=TODAY - timedelta(1)),
        "MSFT": metric("MSFT", "0.9", earnings_date=TODAY + timedelta(15)),
        "SPY": metric("SPY", "1.0", ex_dividend_date=TODAY + timedelta(14)),
        "NVDA": metric("NVDA", "1.7", earnings_date=TODAY + timedelta(3)),  # not held
    }
    report = compute_risk(
        [stock("AAPL", 1), stock("MSFT", 1), stock("SPY", 1)],
        balances("1000", "0"),
        {"AAPL": D(1), "MSFT": D(1), "SPY": D(1)},
        D(1),
        {},
        metrics,
        TODAY,
    )
    assert report.events == [
        EventDate("AAPL", "earnings", TODAY, 0),
        EventDate("SPY", "ex-dividend", TODAY + timedelta(14), 14),
    ]


# -- the day's metrics cache, through the real SDK over a socket -------------------------------
def _metrics_service(store: Store, clock: FakeClock, server: RunningServer) -> MetricsService:
    return MetricsService(store, clock, lambda: make_broker(server))


def test_metrics_cached_for_the_new_york_day(
    store: Store, sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK))
    service = _metrics_service(store, clock, sim_server)
    first = asyncio.run(service.get(["AAPL", "spy", "ZZZZ"]))
    assert set(first) == {"AAPL", "SPY"} and first["AAPL"].beta == D("1.24")
    assert len(sim.requests_to("/market-metrics")) == 1
    sim.history.clear()

    clock.set(datetime(2026, 12, 1, 23, 59, tzinfo=NEW_YORK))  # same New York day
    second = asyncio.run(service.get(["AAPL", "SPY", "ZZZZ"]))
    assert second == first
    assert sim.history == [], "no request at all: not even a login"

    clock.set(datetime(2026, 12, 2, 0, 1, tzinfo=NEW_YORK))  # the next New York day
    asyncio.run(service.get(["AAPL", "SPY"]))
    (request,) = sim.requests_to("/market-metrics")
    assert request.query["symbols"] == ["AAPL,SPY"]


def test_metrics_fetches_only_the_symbols_not_cached_today(
    store: Store, sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK))
    service = _metrics_service(store, clock, sim_server)
    asyncio.run(service.get(["AAPL"]))
    sim.history.clear()
    got = asyncio.run(service.get(["AAPL", "TSLA"]))
    assert set(got) == {"AAPL", "TSLA"}
    (request,) = sim.requests_to("/market-metrics")
    assert request.query["symbols"] == ["TSLA"]


# -- the snapshot and the command against the simulator ------------------------------------------
def test_snapshot_of_the_demo_book_in_one_request_each(
    store: Store, sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await RiskService(store, SystemClock(), greeks_timeout=5).snapshot(broker)

    report = asyncio.run(scenario())
    paths = [e.path for e in sim.history]
    for path in ("/positions", "/balances/USD", "/market-data/by-type", "/market-metrics"):
        assert sum(p.endswith(path) for p in paths) == 1, (path, paths)
    assert paths.count("/api-quote-tokens") == 1
    assert report.missing_greeks == []
    rows = {u.symbol: u for u in report.by_underlying}
    future = next(s for s, p in sim.account.positions.items() if p.instrument_type == "Future")
    assert set(rows) == {"AAPL", "SPY", "TSLA", "IWM", future}  # /MES: its own underlying
    assert rows[future].beta == 1 and rows[future].delta_shares == 5  # one /MES: 5 x the index
    # the covered call: 100 shares less the short call's delta (7 % out of the money)
    assert 50 < rows["AAPL"].delta_shares < 100 and rows["AAPL"].beta == D("1.24")
    assert report.theta > 0, "a book of short options earns the decay"
    kinds = {(e.symbol, e.kind) for e in report.events}
    assert {("AAPL", "ex-dividend"), ("TSLA", "earnings")} <= kinds


def test_risk_json_shape(ttai, broker_env: RunningServer, sim: SimulatedTastytrade) -> None:  # type: ignore[no-untyped-def]
    sim.market_metrics_overrides["TSLA"] = {"beta": None}
    result = ttai("risk", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert list(data) == [
        "net_liquidating_value",
        "buying_power_used_percent",
        "beta_weighted_delta",
        "theta",
        "vega",
        "by_underlying",
        "events",
        "beta_missing",  # ours: the symbols counted with beta 1.0
        "as_of",
    ]
    row = next(u for u in data["by_underlying"] if u["symbol"] == "TSLA")
    assert list(row) == [
        "symbol",
        "beta",
        "delta_shares",
        "beta_weighted_delta",
        "notional",
        "percent_of_nlv",
    ]
    assert row["beta"] is None
    assert all(list(e) == ["symbol", "kind", "date", "days"] for e in data["events"])
    assert datetime.fromisoformat(data["as_of"]).tzinfo is not None


def test_risk_plain_output_on_demo(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("--demo", "risk")
    assert result.code == 0, result.err
    for text in ("Net liquidating value", "Beta-weighted delta", "Theta", "AAPL", "ex-dividend"):
        assert text in result.out
    assert "\x1b[" not in result.out, "plain when not a terminal"
