"""The simulator's streaming side through the real SDK: `DXLinkStreamer` and
`AlertStreamer` over real websockets (a local socket, and once in-process over ASGI)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from httpx2.websockets import HTTPXWSException
from tastytrade import Account, AlertStreamer, DXLinkStreamer, Session
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.dxfeed import Greeks, Quote, Summary, Trade
from tastytrade.order import OrderStatus, PlacedOrder
from tastytrade.streamer import SubscriptionType
from tastytrade.utils import TastytradeError

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from ttai_cli.broker.symbols import streamer_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.accountdata import position_json
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.feed import PriceFeed
from ttai_cli.simulator.orders import sim_order
from ttai_cli.simulator.server import RunningServer, in_process_transport, start

WAIT = 2.0  # seconds any single expected message may take


def go(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


@asynccontextmanager
async def sdk_session(url: str, **client: Any) -> AsyncIterator[Session]:
    session = Session(CANARY_SECRET, CANARY_REFRESH, **client)
    session._client.base_url = url
    async with session:
        yield session


def alert_streamer(session: Session, url: str) -> AlertStreamer:
    streamer = AlertStreamer(session)
    streamer.base_url = url.replace("http", "ws", 1) + "/account-streamer"
    return streamer


@asynccontextmanager
async def account_stream(url: str, **client: Any) -> AsyncIterator[AlertStreamer]:
    """An AlertStreamer subscribed to the account (the SDK's connect action)."""
    async with sdk_session(url, **client) as session, alert_streamer(session, url) as streamer:
        await streamer.subscribe_accounts(await Account.get(session))
        yield streamer


async def next_event(streamer: DXLinkStreamer, cls: Any, symbol: str | None = None) -> Any:
    """The next event of `cls` (for `symbol`, skipping others' events)."""
    with_deadline = asyncio.timeout(WAIT)
    async with with_deadline:
        while True:
            event = await streamer.get_event(cls)
            if symbol is None or event.event_symbol == symbol:
                return event


async def until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not check():
            await asyncio.sleep(0.005)


def drain(streamer: DXLinkStreamer, cls: Any) -> list[Any]:
    events = []
    while (event := streamer.get_event_nowait(cls)) is not None:
        events.append(event)
    return events


def leaves(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for e in group.exceptions for leaf in leaves(e)]
    return [group]


# -- DXLink ---------------------------------------------------------------------------
def test_dxlink_streams_trade_quote_summary_at_the_pinned_price(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.market.pin("SPY", 612.34, 600.0)

    async def scenario() -> tuple[Any, Any, Any]:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, ["SPY"])
            await streamer.subscribe(Quote, ["SPY"])
            await streamer.subscribe(Summary, ["SPY"])
            return (
                await next_event(streamer, Trade),
                await next_event(streamer, Quote),
                await next_event(streamer, Summary),
            )

    trade, quote, summary = go(scenario())
    assert trade.event_symbol == "SPY" and trade.price == Decimal("612.34")
    assert trade.change == Decimal("12.34")
    assert quote.bid_price < Decimal("612.34") < quote.ask_price
    assert summary.prev_day_close_price == Decimal("600.0")
    assert summary.day_open_price is not None and summary.day_close_price is None
    assert summary.prev_day_id == summary.day_id - 1


def test_ticks_keep_coming_and_unsubscribe_stops_them(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams
    hub.tick_interval = 0.01
    sim.market.pin("SPY", 500.0)

    async def scenario() -> list[Any]:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, ["SPY", "AAPL"])
            spy = [await next_event(streamer, Trade, "SPY") for _ in range(4)]
            await streamer.unsubscribe(Trade, ["SPY"])
            await until(lambda: hub.subscriptions().get("Trade") == {"AAPL"})
            await asyncio.sleep(0.05)  # what was already on the wire arrives
            drain(streamer, Trade)
            await asyncio.sleep(0.1)  # ten ticks
            later = drain(streamer, Trade)
            assert later and {e.event_symbol for e in later} == {"AAPL"}
            return spy

    spy = go(scenario())
    assert [e.price for e in spy] == [Decimal("500.0")] * 4, "a pinned symbol stays at its pin"
    assert len({e.time for e in spy}) > 1, "ticks, not one snapshot"
    removals = [m for m in hub.received["dxlink"] if m.get("remove")]
    assert removals[0]["remove"] == [{"symbol": "SPY", "type": "Trade"}]


def test_channel_cancel_drops_the_channel(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams

    async def scenario() -> None:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, ["SPY", "QQQ"])
            await streamer.subscribe(Trade, ["SPY"])
            await next_event(streamer, Trade)
            assert hub.subscriptions() == {"Quote": {"SPY", "QQQ"}, "Trade": {"SPY"}}
            await streamer.unsubscribe_all(Quote)
            await until(lambda: "Quote" not in hub.subscriptions())
            assert hub.subscriptions() == {"Trade": {"SPY"}}

    go(scenario())


def test_greeks_for_an_option_position(sim: SimulatedTastytrade, sim_server: RunningServer) -> None:
    occ = next(s for s in sim.account.positions if s.startswith("SPY "))
    symbol = streamer_symbol(occ)
    assert symbol is not None

    async def scenario() -> Any:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Greeks, [symbol, "SPY"])  # no Greeks for a stock
            return await next_event(streamer, Greeks)

    greeks = go(scenario())
    assert greeks.event_symbol == symbol
    assert Decimal(-1) <= greeks.delta <= 0, "a put's delta"


def test_push_trade_sends_the_exact_price(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams
    hub.tick_interval = 60  # no ticks in the way

    async def scenario() -> Any:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, ["TSLA"])
            await next_event(streamer, Trade)  # the snapshot
            assert hub.push_trade("TSLA", Decimal("351.07")) == 1
            assert hub.push_trade("NVDA", 1.0) == 0, "nobody subscribed"
            return await next_event(streamer, Trade)

    trade = go(scenario())
    assert trade.price == Decimal("351.07")
    assert abs(trade.time - time.time() * 1000) < 5000


def test_publish_batches_500_symbols_under_the_sdk_message_limit(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams
    hub.tick_interval = 60
    symbols = [f"S{i:03d}" for i in range(500)]

    async def scenario() -> set[str]:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, symbols)
            seen = {(await next_event(streamer, Trade)).event_symbol for _ in range(500)}
            assert hub.publish() == 500
            again = {(await next_event(streamer, Trade)).event_symbol for _ in range(500)}
            assert again == seen
            return seen

    assert go(scenario()) == set(symbols)
    assert hub.events_sent == 1000


def test_drop_ends_the_dxlink_session(sim: SimulatedTastytrade, sim_server: RunningServer) -> None:
    hub = sim.streams

    async def scenario() -> None:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, ["SPY"])
            await next_event(streamer, Trade)
            assert hub.drop("dxlink") == 1
            await asyncio.sleep(WAIT)  # the SDK's reader fails and cancels this

    start_at = time.monotonic()
    with pytest.raises(BaseExceptionGroup) as info:
        go(scenario())
    assert time.monotonic() - start_at < WAIT
    assert any(isinstance(e, HTTPXWSException) for e in leaves(info.value))
    assert hub.active("dxlink") == 0


def test_expired_quote_token_is_fatal_and_a_fresh_token_works(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams
    sim.market.pin("SPY", 480.0)

    async def first() -> None:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, ["SPY"])
            await next_event(streamer, Trade)
            hub.expire_quote_tokens()
            await asyncio.sleep(WAIT)

    async def second() -> Any:
        async with sdk_session(sim_server.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, ["SPY"])
            return await next_event(streamer, Trade)

    with pytest.raises(BaseExceptionGroup) as info:
        go(first())
    errors = [e for e in leaves(info.value) if isinstance(e, TastytradeError)]
    assert errors and "Token expired" in str(errors[0])
    assert go(second()).price == Decimal("480.0")
    assert hub.connections["dxlink"] == 2 and len(sim.requests_to("/api-quote-tokens")) == 2


def test_intra_minute_ticks_move_deterministically_and_pins_do_not() -> None:
    moment = [datetime(2026, 3, 10, 11, 0, 0, tzinfo=NEW_YORK)]

    def prices(seed: int) -> list[Any]:
        app = SimulatedTastytrade(any_symbol=True, seed=seed, now=lambda: moment[0])
        app.market.pin("QQQ", 501.5)
        feed = PriceFeed(app)
        out = []
        for step in range(12):  # three seconds of the simulator's clock
            moment[0] = datetime(2026, 3, 10, 11, 0, 0, tzinfo=NEW_YORK) + timedelta(
                milliseconds=250 * step
            )
            feed.refresh()
            out.append(
                (feed.row("Trade", ("price",), "AAPL"), feed.row("Trade", ("price",), "QQQ"))
            )
        return out

    first, again, other = prices(7), prices(7), prices(8)
    assert first == again, "the same seed and instant give the same price"
    assert first != other
    assert len({aapl[0] for aapl, _ in first}) > 3, "prices move within the minute"
    assert {qqq[0] for _, qqq in first} == {501.5}


# -- the account streamer ---------------------------------------------------------------
def test_alert_streamer_gets_a_filled_order_and_heartbeats_are_answered(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams
    order = sim_order(
        sim,
        "Filled",
        order_id=4242,
        legs=[("QQQ   261218P00450000", "Buy to Close", 1, "1.25")],
        underlying="QQQ",
    )

    async def scenario() -> PlacedOrder:
        async with account_stream(sim_server.url) as streamer:
            await streamer._subscribe(SubscriptionType.HEARTBEAT)
            assert hub.order_event(order) == 1
            async with asyncio.timeout(WAIT):
                return await anext(aiter(streamer.listen(PlacedOrder)))

    placed = go(scenario())
    assert placed.id == 4242 and placed.status == OrderStatus.FILLED
    assert placed.price == Decimal("-1.25"), "a debit"
    leg = placed.legs[0]
    assert leg.symbol == "QQQ   261218P00450000" and leg.remaining_quantity == 0
    assert leg.fills and leg.fills[0].fill_price == Decimal("1.25")
    actions = [m["action"] for m in hub.received["account"]]
    assert actions == ["connect", "heartbeat"]
    assert hub.received["account"][0]["value"] == [sim.account.account_number]


def test_repeat_sends_each_account_event_twice(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams
    hub.repeat_account_events = True
    order = sim_order(
        sim, "Cancelled", order_id=7, legs=[("AAPL", "Sell to Close", 10, None)], underlying="AAPL"
    )

    async def scenario() -> list[PlacedOrder]:
        async with account_stream(sim_server.url) as streamer:
            assert hub.order_event(order) == 2
            assert hub.order_event({**order, "account-number": "5WT99999"}) == 0
            orders = aiter(streamer.listen(PlacedOrder))
            async with asyncio.timeout(WAIT):
                return [await anext(orders), await anext(orders)]

    assert [(o.id, o.status) for o in go(scenario())] == [(7, OrderStatus.CANCELLED)] * 2


def test_position_and_balance_events_validate(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    hub = sim.streams

    async def scenario() -> tuple[CurrentPosition, AccountBalance]:
        async with account_stream(sim_server.url) as streamer:
            hub.position_event(position_json(sim, sim.account.positions["AAPL"]))
            hub.balance_event()
            async with asyncio.timeout(WAIT):
                position = await anext(aiter(streamer.listen(CurrentPosition)))
                balance = await anext(aiter(streamer.listen(AccountBalance)))
            return position, balance

    position, balance = go(scenario())
    assert position.symbol == "AAPL" and position.quantity == 100
    assert balance.account_number == sim.account.account_number


def test_account_streamer_refuses_a_dead_access_token(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    async def scenario() -> None:
        async with sdk_session(sim_server.url) as session:
            await session.refresh()
            sim.tokens.clear()  # the API forgot every access token
            async with alert_streamer(session, sim_server.url) as streamer:
                await streamer.subscribe_accounts([])

    with pytest.raises(BaseExceptionGroup) as info:
        go(scenario())
    errors = [e for e in leaves(info.value) if isinstance(e, TastytradeError)]
    assert errors and "invalid-token" in str(errors[0])


def test_drop_ends_the_account_stream(sim: SimulatedTastytrade, sim_server: RunningServer) -> None:
    hub = sim.streams

    async def scenario() -> None:
        async with account_stream(sim_server.url):
            assert hub.drop("dxlink") == 0
            assert hub.drop("account") == 1
            await asyncio.sleep(WAIT)  # the SDK's reader fails and cancels this

    with pytest.raises(BaseExceptionGroup) as info:
        go(scenario())
    assert any(isinstance(e, HTTPXWSException) for e in leaves(info.value))
    assert hub.connections["account"] == 1 and hub.active() == 0


def test_demo_order_goes_live_then_fills_without_changing_the_demo_positions(
    sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.demo_fill_after = 0.01
    sim.now = lambda: datetime(2026, 3, 11, 11, 0, tzinfo=NEW_YORK)  # a Wednesday, open
    before = {symbol: pos.quantity for symbol, pos in sim.account.positions.items()}

    async def scenario() -> list[PlacedOrder]:
        async with account_stream(sim_server.url) as streamer:
            orders = aiter(streamer.listen(PlacedOrder))
            async with asyncio.timeout(WAIT):
                return [await anext(orders), await anext(orders)]

    live, filled = go(scenario())
    assert live.status == OrderStatus.LIVE and live.id == filled.id
    symbol = filled.legs[0].symbol
    assert filled.legs[0].action.value == "Buy to Close"
    assert sim.account.positions[symbol].quantity == before[symbol], (
        "the next demo process starts afresh: a booked fill would read as a change back"
    )


@pytest.mark.parametrize(
    ("status", "filled", "remaining"),
    [("Filled", None, 0), ("Live", 1, 1), ("Cancelled", 1, 1), ("Received", None, 2),
     ("Rejected", None, 2), ("Expired", None, 2)],
)  # fmt: skip
def test_sim_order_validates_as_a_placed_order(
    sim: SimulatedTastytrade, status: str, filled: int | None, remaining: int
) -> None:
    legs = [
        ("TSLA  261218C00400000", "Sell to Open", 2, "3.10"),
        ("TSLA  261218P00300000", "Sell to Open", 2, "2.90"),
    ]
    order = sim_order(
        sim, status, order_id=11, legs=legs, underlying="TSLA", filled_quantity=filled
    )
    placed = PlacedOrder(**order)
    assert placed.status.value == status
    assert placed.price == Decimal("6.00"), "a strangle sold for a credit"
    assert all(leg.remaining_quantity == remaining for leg in placed.legs)
    if remaining < 2:
        assert placed.legs[0].fills and placed.legs[0].fills[0].fill_price == Decimal("3.10")


def test_sim_order_has_no_partially_filled_status(sim: SimulatedTastytrade) -> None:
    with pytest.raises(ValueError, match="Live"):
        sim_order(sim, "Partially Filled", order_id=1, legs=[], underlying="SPY")


# -- transports -------------------------------------------------------------------------
def test_in_process_asgi_streams_like_the_socket(sim: SimulatedTastytrade) -> None:
    url = "http://sim.invalid"
    sim.market.pin("IWM", 222.22)
    hub = sim.streams
    order = sim_order(
        sim, "Filled", order_id=9, legs=[("IWM", "Buy to Open", 5, "222.22")], underlying="IWM"
    )

    async def scenario() -> tuple[Any, PlacedOrder]:
        async with sdk_session(url, transport=in_process_transport(sim)) as session:
            async with DXLinkStreamer(session) as streamer:
                await streamer.subscribe(Trade, ["IWM"])
                await next_event(streamer, Trade)
                assert hub.publish(["IWM"]) == 1
                trade = await next_event(streamer, Trade)
            async with alert_streamer(session, url) as alerts:
                await alerts.subscribe_accounts(await Account.get(session))
                hub.order_event(order)
                async with asyncio.timeout(WAIT):
                    placed = await anext(aiter(alerts.listen(PlacedOrder)))
            with pytest.raises(BaseExceptionGroup):
                async with DXLinkStreamer(session) as streamer:
                    await streamer.subscribe(Trade, ["IWM"])
                    await next_event(streamer, Trade)
                    assert hub.drop() == 1
                    await asyncio.sleep(WAIT)
            return trade, placed

    trade, placed = go(scenario())
    assert trade.price == Decimal("222.22") and placed.id == 9
    assert hub.connections == {"dxlink": 2, "account": 1}


@pytest.mark.parametrize("in_process", [False, True], ids=["socket", "asgi"])
def test_unknown_websocket_path_is_a_404(
    sim: SimulatedTastytrade, sim_server: RunningServer, in_process: bool
) -> None:
    from httpx2 import AsyncClient
    from httpx2.websockets import WebSocketUpgradeError

    client = {"transport": in_process_transport(sim)} if in_process else {}

    async def scenario() -> None:
        url = sim_server.url.replace("http", "ws") + "/nope"
        async with AsyncClient(**client) as http, http.websocket(url):
            pass

    with pytest.raises((WebSocketUpgradeError, BaseExceptionGroup)) as info:
        go(scenario())  # the ASGI transport's task group wraps the error
    (refusal,) = [e for e in leaves(info.value) if isinstance(e, WebSocketUpgradeError)]
    assert refusal.response.status_code == 404


def test_server_stop_closes_live_streams_promptly(sim: SimulatedTastytrade) -> None:
    running = start(sim)

    async def scenario() -> float:
        async with sdk_session(running.url) as session, DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Trade, ["SPY"])
            await next_event(streamer, Trade)
            started = time.monotonic()
            await asyncio.to_thread(running.stop)
            stopped = time.monotonic() - started
            assert stopped < 1.0
            await asyncio.sleep(WAIT)
        return stopped

    with pytest.raises(BaseExceptionGroup):
        go(scenario())
    assert sim.streams.active() == 0
