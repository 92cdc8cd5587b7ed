"""The values the simulated DXLink feed streams: Trade, Quote, Summary and Greeks events.

`PriceFeed` turns the simulator's market into dxfeed events, cheaply enough to stream
thousands of them a second:

- the market's quote for a symbol (Black-Scholes for options, a pin) is computed once
  per minute of the simulator's clock, and again only when a test pins a price;
- equities, indices, futures and crypto move *within* the minute: their Trade and Quote
  carry the market's own price at the tick's instant (`RandomWalkMarket.spot`, on a
  250 ms grid), so a streamed price is exactly what a REST quote says at that instant,
  in any process. Options move with the minute only (the market prices them from the
  underlying at the minute's start, for REST too), and pinned symbols never move: they
  stream exactly their pin;
- `refresh()` starts a tick: it reads the clock once and forgets the tick's events, so
  every session subscribed to a symbol gets the same event, computed once.

Values are JSON numbers rounded to the cent (as DXLink sends them) or "NaN" for a field
with no value; `time` fields are wall-clock epoch milliseconds (when the event was
made, for latency measurements), `dayId` counts days since 1970 on the simulator's
clock. Not thread-safe: the hub serialises access.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ttai_cli.broker.symbols import kind_of, occ_from_streamer, parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.market import SimQuote, book, money

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade

# Every field of the SDK's event models, in the models' order (what its FEED_SETUP asks).
FIELDS: dict[str, tuple[str, ...]] = {
    "Trade": (
        "eventSymbol", "eventTime", "time", "timeNanoPart", "sequence", "exchangeCode",
        "dayId", "tickDirection", "extendedTradingHours", "price", "change", "size",
        "dayVolume", "dayTurnover",
    ),
    "Quote": (
        "eventSymbol", "eventTime", "sequence", "timeNanoPart", "bidTime", "bidExchangeCode",
        "askTime", "askExchangeCode", "bidPrice", "askPrice", "bidSize", "askSize",
    ),
    "Summary": (
        "eventSymbol", "eventTime", "dayId", "dayClosePriceType", "prevDayId",
        "prevDayClosePriceType", "openInterest", "dayOpenPrice", "dayHighPrice",
        "dayLowPrice", "dayClosePrice", "prevDayClosePrice", "prevDayVolume",
    ),
    "Greeks": (
        "eventSymbol", "eventTime", "eventFlags", "index", "time", "sequence", "price",
        "volatility", "delta", "gamma", "theta", "rho", "vega",
    ),
}  # fmt: skip
EVENT_TYPES = tuple(FIELDS)
NAN = "NaN"
_EPOCH = date(1970, 1, 1)


@dataclass
class _Base:
    """A symbol's quote for one minute (and pin) of the simulator's clock."""

    key: tuple[Any, ...]
    quote: SimQuote | None  # None: the simulator does not know the symbol
    moves: bool  # gets the intra-minute walk
    volatility: float


def _cents(value: float) -> float:
    return round(value, 2)


class PriceFeed:
    def __init__(self, app: SimulatedTastytrade) -> None:
        self.app = app
        self._bases: dict[str, _Base] = {}
        self._names: dict[str, tuple[str, str]] = {}  # streamer symbol -> (symbol, root)
        self._events: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._last_trade: dict[str, float] = {}
        self._books: dict[str, tuple[float, float, float]] = {}  # this tick's, by symbol
        self._sequence = 0
        self._now_ms = 0
        self._minute = 0
        self._moment: datetime | None = None
        self._day_id = 0

    def refresh(self) -> None:
        """Start a tick: read the clock; events asked for from now on are new."""
        now = self.app.now().astimezone(NEW_YORK)
        stamp = now.timestamp()
        self._now_ms = int(time.time() * 1000)
        self._minute = int(stamp // 60)
        self._moment = now
        self._day_id = (now.date() - _EPOCH).days
        self._events.clear()
        self._books.clear()
        self._sequence = (self._sequence + 1) % 1_000_000

    def row(self, event_type: str, fields: tuple[str, ...], symbol: str) -> list[Any] | None:
        """The event's values in `fields` order (COMPACT format), or None when there is
        no such event (an unknown symbol, Greeks of a non-option)."""
        event = self.event(event_type, symbol)
        if event is None:
            return None
        return [event.get(name, NAN) for name in fields]

    def trade_row(self, fields: tuple[str, ...], symbol: str, price: float) -> list[Any]:
        """A Trade at exactly `price`, whatever the market says (latency benchmarks)."""
        quote = self._base(symbol).quote
        event = self._trade(symbol, price, None if quote is None else float(quote.prev_close))
        event["time"] = int(time.time() * 1000)
        return [event.get(name, NAN) for name in fields]

    def event(self, event_type: str, symbol: str) -> dict[str, Any] | None:
        key = (event_type, symbol)
        if key in self._events:
            return self._events[key]
        base = self._base(symbol)
        event: dict[str, Any] | None = None
        if base.quote is not None:
            quote = base.quote
            if event_type == "Greeks":
                event = self._greeks(symbol, base) if quote.delta is not None else None
            elif event_type == "Summary":
                event = self._summary(symbol, quote)
            elif event_type in ("Trade", "Quote"):
                last, bid, ask = self._book(symbol, base)
                if event_type == "Trade":
                    event = self._trade(symbol, last, float(quote.prev_close))
                else:
                    event = self._quote(symbol, base, bid, ask)
        self._events[key] = event
        return event

    # -- prices --------------------------------------------------------------------
    def _base(self, symbol: str) -> _Base:
        names = self._names.get(symbol)
        if names is None:
            occ = occ_from_streamer(symbol) or symbol
            option = parse_occ(occ)
            names = self._names[symbol] = (occ, option.root.strip() if option else occ)
        occ, root = names
        pinned = self.app.market.pinned
        key = (self._minute, pinned.get(occ), pinned.get(root))
        base = self._bases.get(symbol)
        if base is None or base.key != key:
            with self.app.lock:
                known = self.app.is_known(occ)
                quote = self.app.market.quote(occ) if known else None
                vol = self.app.market.volatility(root)
            moves = occ not in pinned and kind_of(occ) not in ("equity-option", "future-option")
            base = _Base(key, quote, moves, vol)
            self._bases[symbol] = base
        return base

    def _book(self, symbol: str, base: _Base) -> tuple[float, float, float]:
        """(price, bid, ask) at the tick's instant: the market's own, as a REST quote at
        that instant says them (the minute's quote for options and pins)."""
        assert base.quote is not None
        if not base.moves:
            return float(base.quote.mark), float(base.quote.bid), float(base.quote.ask)
        known = self._books.get(symbol)
        if known is None:
            occ, _ = self._names[symbol]
            with self.app.lock:
                spot = self.app.market.spot(occ, self._moment)
            bid, ask = book(spot)
            known = self._books[symbol] = (float(money(spot)), float(bid), float(ask))
        return known

    # -- events --------------------------------------------------------------------
    def _trade(self, symbol: str, price: float, prev_close: float | None) -> dict[str, Any]:
        before = self._last_trade.get(symbol)
        self._last_trade[symbol] = price
        direction = (
            "UNDEFINED"
            if before is None
            else "UP"
            if price > before
            else "DOWN"
            if price < before
            else "ZERO"
        )
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "time": self._now_ms,
            "timeNanoPart": 0,
            "sequence": self._sequence,
            "exchangeCode": "Q",
            "dayId": self._day_id,
            "tickDirection": direction,
            "extendedTradingHours": False,
            "price": price,
            "change": NAN if prev_close is None else _cents(price - prev_close),
            "size": 100,
            "dayVolume": NAN,
            "dayTurnover": NAN,
        }

    def _quote(self, symbol: str, base: _Base, bid: float, ask: float) -> dict[str, Any]:
        assert base.quote is not None
        size = 10 if base.quote.kind == "equity-option" else 100
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "sequence": self._sequence,
            "timeNanoPart": 0,
            "bidTime": self._now_ms,
            "bidExchangeCode": "Q",
            "askTime": self._now_ms,
            "askExchangeCode": "Q",
            "bidPrice": bid,
            "askPrice": ask,
            "bidSize": size,
            "askSize": size,
        }

    def _summary(self, symbol: str, quote: SimQuote) -> dict[str, Any]:
        day_open, last = float(quote.day_open), float(quote.last)
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "dayId": self._day_id,
            "dayClosePriceType": "REGULAR",
            "prevDayId": self._day_id - 1,
            "prevDayClosePriceType": "FINAL",
            "openInterest": 1200 if quote.kind == "equity-option" else 0,
            "dayOpenPrice": day_open,
            "dayHighPrice": max(day_open, last),
            "dayLowPrice": min(day_open, last),
            "dayClosePrice": NAN,
            "prevDayClosePrice": float(quote.prev_close),
            "prevDayVolume": NAN,
        }

    def _greeks(self, symbol: str, base: _Base) -> dict[str, Any]:
        assert base.quote is not None and base.quote.delta is not None
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "eventFlags": 0,
            "index": 0,
            "time": self._now_ms,
            "sequence": self._sequence,
            "price": float(base.quote.mark),
            "volatility": round(base.volatility, 4),
            "delta": round(base.quote.delta, 4),
            "gamma": 0.01,
            "theta": round(base.quote.theta or 0.0, 4),
            "rho": 0.01,
            "vega": round(base.quote.vega or 0.0, 4),
        }

    def summary_key(self, symbol: str) -> tuple[Any, ...] | None:
        """What a Summary event says, to send one only when it changes."""
        event = self.event("Summary", symbol)
        if event is None:
            return None
        return tuple(event[name] for name in FIELDS["Summary"][2:])
