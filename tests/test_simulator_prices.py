"""The simulator's prices: one price per symbol and instant, whoever asks and in whatever
order (#18). Each `ttai --demo` command runs its own simulator, so two commands at the
same moment must read the same number: REST quotes, position marks and the stream
through the real SDK over a real socket, futures contracts on their root's path."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import FakeClock, RecordingSleep
from ttai_cli.broker.models import Position, Quote
from ttai_cli.broker.symbols import streamer_symbol
from ttai_cli.broker.tastytrade import TastytradeBroker
from ttai_cli.broker.transport import RetryPolicy
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import Secret
from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, SimulatedTastytrade
from ttai_cli.simulator.feed import PriceFeed
from ttai_cli.simulator.market import SESSION_STEPS, RandomWalkMarket
from ttai_cli.simulator.server import serve

# A Tuesday session, mid-afternoon, between two 250 ms ticks of the stream's grid.
INSTANT = datetime(2026, 3, 10, 13, 17, 42, 600000, tzinfo=NEW_YORK)
FUTURES = ["/ES", "/ESM6", "/MES", "/MESM6", "/MESU6", "/MESH7"]


def go(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)


def ask(sim: SimulatedTastytrade, symbols: list[str]) -> tuple[dict[str, Quote], list[Position]]:
    """Quotes and positions (with marks) through the SDK, as a `ttai --demo` command
    gets them."""

    async def scenario() -> tuple[dict[str, Quote], list[Position]]:
        with serve(sim) as server:
            async with TastytradeBroker(
                client_secret=Secret(DEMO_CLIENT_SECRET),
                refresh_token=Secret(DEMO_REFRESH_TOKEN),
                base_url=server.url,
                retry=RetryPolicy(sleep=RecordingSleep()),
            ) as broker:
                return await broker.quotes(symbols), await broker.positions()

    result: tuple[dict[str, Quote], list[Position]] = go(scenario())
    return result


def demo_symbols(sim: SimulatedTastytrade) -> list[str]:
    """The underlyings the trader compared, and every option of the demo book."""
    options = sorted(p.symbol for p in sim.account.positions.values() if " " in p.symbol)
    return ["IWM", "SPY", "TSLA", "AAPL", *options]


def test_two_simulators_asked_in_different_orders_agree_on_every_price_at_the_same_instant() -> (
    None
):
    # One simulator has been asked all morning, a symbol or two at a time (the walk used
    # to depend on that), the other starts at the instant: two commands, two processes.
    morning = FakeClock(INSTANT.replace(hour=9, minute=31, second=5))
    busy = SimulatedTastytrade(now=morning.now)
    symbols = demo_symbols(busy)
    for minutes, some in ((0, ["IWM"]), (37, ["TSLA", "SPY"]), (121, symbols[4:]), (160, ["IWM"])):
        morning.set(INSTANT.replace(hour=9, minute=31) + timedelta(minutes=minutes, seconds=13))
        ask(busy, some)
    morning.set(INSTANT)
    quotes, positions = ask(busy, symbols)

    fresh = SimulatedTastytrade(now=FakeClock(INSTANT).now)
    fresh_quotes, fresh_positions = ask(fresh, list(reversed(symbols)))

    assert fresh_quotes == quotes
    assert fresh_positions == positions
    put = next(p for p in positions if p.symbol.startswith("IWM ") and p.quantity < 0)
    assert put.mark == quotes[put.symbol].mark, "positions --live and quote show one mark"
    shares = next(p for p in positions if p.symbol == "AAPL")
    assert shares.mark == quotes["AAPL"].mark


def test_every_contract_of_a_future_root_and_its_micro_share_one_price() -> None:
    sim = SimulatedTastytrade(now=FakeClock(INSTANT).now)
    quotes, _ = ask(sim, FUTURES)
    seen = {(q.bid, q.ask, q.mark, q.prev_close) for q in quotes.values()}
    assert len(quotes) == len(FUTURES) and len(seen) == 1, seen
    assert quotes["/MES"].mark == quotes["/MESH7"].mark


def test_a_price_does_not_depend_on_what_was_asked_before_or_on_the_seed_s_other_symbols() -> None:
    late = INSTANT.replace(hour=15, minute=59, second=59, microsecond=900000)
    asked = RandomWalkMarket(7, lambda: late)
    for minutes in range(0, 390, 13):  # every 13 minutes, other symbols in between
        moment = INSTANT.replace(hour=9, minute=30, second=0) + timedelta(minutes=minutes)
        asked.quote("SPY", moment)
        asked.quote("IWM", moment + timedelta(seconds=31.3))
    for moment in (INSTANT, late, INSTANT.replace(hour=10, minute=2, second=0)):
        fresh = RandomWalkMarket(7, FakeClock(moment).now)
        assert fresh.quote("IWM") == asked.quote("IWM", moment)


def test_a_quote_late_in_the_day_costs_a_few_draws_not_one_per_minute() -> None:
    market = RandomWalkMarket(7, lambda: INSTANT)
    market.quote("IWM", INSTANT.replace(hour=15, minute=59, second=59))
    minute_points = len(market._days["IWM"][1])
    sub_points = len(market._steps["IWM"][2])
    # the day's two ends plus one midpoint per halving, twice (the minute and the next)
    assert minute_points <= 2 + 2 * math.ceil(math.log2(SESSION_STEPS))
    assert sub_points <= 2 + math.ceil(math.log2(240))


def test_the_day_opens_at_its_open_and_ends_at_the_close_the_next_day_quotes() -> None:
    market = RandomWalkMarket(7, FakeClock(INSTANT).now)
    day, at = INSTANT.date(), INSTANT.replace(second=0, microsecond=0)
    opening, close = market.open_price("TSLA", day), market.close_price("TSLA", day)
    for before in (at.replace(hour=8, minute=10), at.replace(hour=9, minute=30)):
        assert math.isclose(market.spot("TSLA", before), opening, rel_tol=1e-12)
    for after in (at.replace(hour=16, minute=0), at.replace(hour=19, minute=45)):
        assert math.isclose(market.spot("TSLA", after), close, rel_tol=1e-12)
    # between whole minutes it wiggles around them (the demo's stream ticks all evening)
    evening = [market.spot("TSLA", at.replace(hour=19, second=s)) for s in range(1, 60, 7)]
    assert len(set(evening)) > 1 and all(abs(p / close - 1) < 0.005 for p in evening)
    tomorrow = market.quote("TSLA", at.replace(hour=9, minute=45) + timedelta(days=1))
    assert tomorrow.prev_close == market.quote("TSLA", at.replace(hour=16, minute=0)).last


def test_the_stream_sends_the_rest_quote_s_price_at_the_same_instant() -> None:
    clock = FakeClock(INSTANT)
    sim = SimulatedTastytrade(now=clock.now)
    symbols = [*demo_symbols(sim), "/MESH7"]
    feed = PriceFeed(sim)
    for seconds in (0.0, 0.3, 11.2, 48.9):  # ticks across a minute
        clock.set(INSTANT + timedelta(seconds=seconds))
        quotes, _ = ask(sim, symbols)
        feed.refresh()
        for symbol in symbols:
            name = streamer_symbol(symbol) or symbol
            price = feed.row("Trade", ("price",), name)
            bid_ask = feed.row("Quote", ("bidPrice", "askPrice"), name)
            quote = quotes[symbol]
            assert price == [float(quote.mark)], (symbol, seconds)
            assert bid_ask == [float(quote.bid), float(quote.ask)], (symbol, seconds)
