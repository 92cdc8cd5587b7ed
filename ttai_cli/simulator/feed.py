"""The values the simulated DXLink feed streams: Trade, Quote, Summary and Greeks events.

`PriceFeed` turns the simulator's market into dxfeed events, cheaply enough to stream
thousands of them a second:

- the market's quote for a symbol (random walk, Black-Scholes for options) is computed
  once per minute of the simulator's clock, and again only when a test pins a price;
- on top of it, equities, indices, futures and crypto move *within* the minute: a seeded
  random walk in 250 ms steps of the simulator's clock (deterministic per seed and
  symbol; the same instant always gives the same price, whenever it is asked for), so
  a demo price alert near the market fires within a minute. Options move with the
  minute only, and pinned symbols never move: they stream exactly their pin;
- `refresh()` starts a tick: it reads the clock once and forgets the tick's events, so
  every session subscribed to a symbol gets the same event, computed once.

Values are JSON numbers rounded to the cent (as DXLink sends them) or "NaN" for a field
with no value; `time` fields are wall-clock epoch milliseconds (when the event was
made, for latency measurements), `dayId` counts days since 1970 on the simulator's
clock. Not thread-safe: the hub serialises access.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ttai_cli.broker.symbols import kind_of, occ_from_streamer, parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.market import DAILY_VOL, STEP_SECONDS, SimQuote, _normal

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
JITTER_STEP = 0.25  # seconds of simulator time per intra-minute step
# The intra-minute walk's spread at the end of a minute, in per-minute sigmas of the
# random walk: enough for a demo alert near the price to fire within a minute.
JITTER_SCALE = 1.5
_MINUTE_SIGMA = DAILY_VOL / math.sqrt(390 * 60 / STEP_SECONDS)
_STEPS_PER_MINUTE = int(60 / JITTER_STEP)
_STEP_SIGMA = JITTER_SCALE * _MINUTE_SIGMA / math.sqrt(_STEPS_PER_MINUTE)
_EPOCH = date(1970, 1, 1)


@dataclass
class _Base:
    """A symbol's quote for one minute (and pin) of the simulator's clock."""

    key: tuple[Any, ...]
    quote: SimQuote | None  # None: the simulator does not know the symbol
    moves: bool  # gets the intra-minute walk
    volatility: float


@dataclass
class _Walk:
    minute: int
    step: int
    value: float  # log-price offset from the minute's price


def _cents(value: float) -> float:
    return round(value, 2)


class PriceFeed:
    def __init__(self, app: SimulatedTastytrade) -> None:
        self.app = app
        self._bases: dict[str, _Base] = {}
        self._names: dict[str, tuple[str, str]] = {}  # streamer symbol -> (symbol, root)
        self._walks: dict[str, _Walk] = {}
        self._events: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._last_trade: dict[str, float] = {}
        self._sequence = 0
        self._now_ms = 0
        self._minute = 0
        self._step = 0
        self._day_id = 0

    def refresh(self) -> None:
        """Start a tick: read the clock; events asked for from now on are new."""
        now = self.app.now().astimezone(NEW_YORK)
        stamp = now.timestamp()
        self._now_ms = int(time.time() * 1000)
        self._minute = int(stamp // 60)
        self._step = min(_STEPS_PER_MINUTE - 1, int((stamp % 60) / JITTER_STEP))
        self._day_id = (now.date() - _EPOCH).days
        self._events.clear()
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
            else:
                last = self._price(symbol, base)
                if event_type == "Trade":
                    event = self._trade(symbol, last, float(quote.prev_close))
                elif event_type == "Quote":
                    event = self._quote(symbol, base, last)
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

    def _price(self, symbol: str, base: _Base) -> float:
        assert base.quote is not None
        mark = float(base.quote.mark)
        if not base.moves:
            return mark
        walk = self._walks.get(symbol)
        if walk is None or walk.minute != self._minute or walk.step > self._step:
            walk = _Walk(self._minute, -1, 0.0)
            self._walks[symbol] = walk
        seed = self.app.market.seed
        while walk.step < self._step:
            walk.step += 1
            walk.value += _STEP_SIGMA * _normal(seed, "tick", symbol, walk.minute, walk.step)
        return _cents(mark * math.exp(walk.value))

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

    def _quote(self, symbol: str, base: _Base, last: float) -> dict[str, Any]:
        assert base.quote is not None
        if base.moves:
            half = max(0.01, last * 0.0002) / 2
            bid, ask = _cents(last - half), _cents(last + half)
        else:
            bid, ask = float(base.quote.bid), float(base.quote.ask)
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
