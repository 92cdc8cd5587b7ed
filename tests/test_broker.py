"""The tastytrade broker through the real SDK, against the simulated API over a socket."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.fakes import RecordingSleep
from ttai_cli.broker.tastytrade import TastytradeBroker
from ttai_cli.broker.transport import RetryPolicy
from ttai_cli.config import Secret
from ttai_cli.errors import BrokerError, ConfigError, CredentialsError
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer


def make_broker(
    server: RunningServer, sleep: RecordingSleep | None = None, **kwargs: object
) -> TastytradeBroker:
    return TastytradeBroker(
        client_secret=Secret(kwargs.pop("secret", CANARY_SECRET)),  # type: ignore[arg-type]
        refresh_token=Secret(kwargs.pop("refresh", CANARY_REFRESH)),  # type: ignore[arg-type]
        base_url=server.url,
        retry=RetryPolicy(sleep=sleep or RecordingSleep()),
        **kwargs,  # type: ignore[arg-type]
    )


def go(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_positions_keep_decimals_and_short_signs(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await broker.positions()

    positions = go(scenario())
    aapl = next(p for p in positions if p.symbol == "AAPL")
    assert isinstance(aapl.quantity, Decimal) and aapl.quantity == 100
    assert isinstance(aapl.average_open_price, Decimal)
    # the API sends a size and a direction: Short must give a negative quantity
    book = {s: p.quantity for s, p in sim.account.positions.items()}
    assert {p.symbol: p.quantity for p in positions} == book
    assert any(q < 0 for q in book.values()) and any(q > 0 for q in book.values())
    iwm = next(p for p in positions if p.underlying_symbol == "IWM" and p.quantity < 0)
    assert iwm.quantity == -2  # the demo's IWM put credit spread is two contracts
    assert iwm.multiplier == 100
    assert iwm.mark is not None and iwm.expires_at is not None and iwm.expires_at.tzinfo is not None


def test_calls_made_at_once_look_the_account_up_once(sim_server: RunningServer) -> None:
    """`ttai ask` runs its tools side by side: five calls asking for the account at the
    same moment make one `/customers/me/accounts` request, not five."""

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            await asyncio.gather(*(broker.balances() for _ in range(5)))
            return broker.stats

    stats = go(scenario())
    lookups = [count for path, count in stats.by_path.items() if path.endswith("accounts")]
    assert lookups == [1], stats.by_path


def test_balances_debit_effect_is_negative(sim_server: RunningServer) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await broker.balances()

    balances = go(scenario())
    assert balances.pending_cash == Decimal("-125.00")  # "pending-cash-effect": "Debit"
    assert isinstance(balances.net_liquidating_value, Decimal)


def test_transactions_paginate_and_keep_debit_signs(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.max_per_page = 3  # the server caps pages, as the real API does
    start = sim.now() - timedelta(days=90)
    for i in range(5):
        sim.account.deposit(Decimal(10 + i), start + timedelta(days=1, minutes=i))
    total = len(sim.account.transactions)

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await broker.transactions(start.date())

    transactions = go(scenario())
    pages = sim.requests_to("/accounts/5WT00001/transactions")
    assert len(transactions) == total
    assert len(pages) == -(-total // 3), "one request per page"
    assert len({t.id for t in transactions}) == total, "no page read twice or skipped"
    sell_to_open = [t for t in transactions if t.transaction_sub_type == "Sell to Open"]
    # a future opens with no debit (the account is marked to market), only its fees
    buy_to_open = [
        t
        for t in transactions
        if t.transaction_sub_type == "Buy to Open" and t.instrument_type != "Future"
    ]
    assert sell_to_open and all(t.value > 0 for t in sell_to_open), "a credit stays positive"
    assert buy_to_open and all(t.value < 0 and t.net_value < 0 for t in buy_to_open), (
        "a debit turns negative"
    )
    assert all(t.commission is None or t.commission <= 0 for t in transactions)
    assert all(isinstance(t.value, Decimal) for t in transactions)


def test_250_symbols_are_quoted_in_3_requests(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    symbols = [f"S{i:03d}" for i in range(248)] + ["AAPL", "SPY   261218P00450000"]

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await broker.quotes(symbols)

    quotes = go(scenario())
    requests = sim.requests_to("/market-data/by-type")
    assert len(requests) == 3
    assert sum(len(v) for r in requests for v in r.query.values()) == 250
    assert all(sum(len(v) for v in r.query.values()) <= 100 for r in requests)
    assert len(quotes) == 250
    assert quotes["SPY   261218P00450000"].instrument_type == "Equity Option"
    assert "equity-option" in next(r.query for r in requests if "equity-option" in r.query)


def test_unknown_symbols_are_absent(sim_server: RunningServer) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await broker.quotes(["AAPL", "ZZZZ"])

    assert set(go(scenario())) == {"AAPL"}


def test_token_is_refreshed_before_it_expires(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    # The SDK refreshes once less than 60 s of a token's life remain: with a 60 s
    # lifetime every call refreshes first, so no request ever carries a dead token.
    sim.token_lifetime = 60

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            await broker.balances()
            await broker.positions()

    go(scenario())
    grants = sim.requests_to("/oauth/token")
    data = [e for e in sim.history if e.path != "/oauth/token"]
    assert len(grants) >= 3  # accounts lookup, balances, positions: each preceded by a refresh
    assert all(e.authorized and e.status == 200 for e in data)


def test_a_401_refreshes_the_token_and_retries_once(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            await broker.accounts()
            sim.faults.add("unauthorized", "/accounts/")
            return await broker.positions(), broker.stats

    positions, stats = go(scenario())
    assert positions
    statuses = [e.status for e in sim.requests_to("/accounts/5WT00001/positions")]
    assert statuses == [401, 200]
    assert len(sim.requests_to("/oauth/token")) == 2
    assert stats.token_refreshes == 2


def test_invalid_grant_says_to_create_a_new_refresh_token(sim_server: RunningServer) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server, refresh="revoked-token") as broker:
            await broker.positions()

    with pytest.raises(CredentialsError) as caught:
        go(scenario())
    message = str(caught.value)
    assert "invalid_grant" in message and "refresh token" in message
    assert caught.value.exit_code == 2
    assert "\n" not in message


def test_invalid_grant_injected_on_refresh(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.faults.add("invalid_grant", "/oauth/token")

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            await broker.balances()

    with pytest.raises(CredentialsError, match="create a new one"):
        go(scenario())


def test_5xx_is_retried_with_backoff(sim: SimulatedTastytrade, sim_server: RunningServer) -> None:
    sim.faults.add("status", "/accounts/5WT00001/balances", times=2, status=503)
    sleep = RecordingSleep()

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server, sleep) as broker:
            return await broker.balances(), broker.stats

    balances, stats = go(scenario())
    assert balances.account_number == "5WT00001"
    assert [e.status for e in sim.requests_to("/accounts/5WT00001/balances")] == [503, 503, 200]
    assert len(sleep.history) == 2 and stats.retries == 2
    assert all(0 <= s <= 8 for s in sleep.history)


def test_429_honours_retry_after(sim: SimulatedTastytrade, sim_server: RunningServer) -> None:
    sim.faults.add("rate_limit", "/market-data", retry_after=2)
    sleep = RecordingSleep()

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server, sleep) as broker:
            return await broker.quotes(["AAPL"])

    assert "AAPL" in go(scenario())
    assert sleep.history == [2.0]


def test_persistent_5xx_becomes_a_broker_error(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.faults.add("status", "/accounts/5WT00001/positions", times=10, status=500)

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            await broker.positions()

    with pytest.raises(BrokerError) as caught:
        go(scenario())
    assert caught.value.exit_code == 1
    assert len(sim.requests_to("/accounts/5WT00001/positions")) == 4


def test_malformed_json_becomes_a_broker_error(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.faults.add("malformed", "/accounts/5WT00001/balances")

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            await broker.balances()

    with pytest.raises(BrokerError, match="cannot read"):
        go(scenario())


def test_slow_answer_past_the_timeout_is_retried(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.faults.add("slow", "/accounts/5WT00001/balances", delay=0.5)

    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server, timeout=0.2) as broker:
            return await broker.balances()

    assert go(scenario()).account_number == "5WT00001"
    assert len(sim.requests_to("/accounts/5WT00001/balances")) == 2


def test_connection_refused_is_a_broker_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broker = TastytradeBroker(
        client_secret=Secret(CANARY_SECRET),
        refresh_token=Secret(CANARY_REFRESH),
        base_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(sleep=RecordingSleep()),
    )

    async def scenario():  # type: ignore[no-untyped-def]
        async with broker:
            await broker.balances()

    with pytest.raises(BrokerError, match="cannot reach tastytrade"):
        go(scenario())


def test_unknown_account_id_is_a_config_error(sim_server: RunningServer) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server, account_id="5WX99999") as broker:
            await broker.positions()

    with pytest.raises(ConfigError, match="5WX99999 is not one of your accounts"):
        go(scenario())


def test_market_metrics_iv_rank_in_percent(sim_server: RunningServer) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await broker.market_metrics(["AAPL", "SPY"])

    metrics = go(scenario())
    assert set(metrics) == {"AAPL", "SPY"}
    assert all(m.iv_rank is not None and 0 <= m.iv_rank <= 100 for m in metrics.values())


def test_market_session(sim_server: RunningServer) -> None:
    async def scenario():  # type: ignore[no-untyped-def]
        async with make_broker(sim_server) as broker:
            return await broker.market_session()

    session = go(scenario())
    assert session.state in {"Open", "Closed", "Pre-market", "Extended"}
    assert session.next_open_at is not None
