"""Market endpoints of the simulator: quotes by type, market metrics, the session."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli.broker.symbols import kind_of
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.account import _iso
from ttai_cli.simulator.http import SimRequest, SimResponse, dec, error_response, json_response
from ttai_cli.simulator.market import _unit

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade

MAX_SYMBOLS_PER_QUOTE_REQUEST = 100
BETAS = {
    "SPY": 1.0,
    "SPX": 1.0,
    "QQQ": 1.12,
    "IWM": 1.18,
    "AAPL": 1.24,
    "TSLA": 2.31,
    "MSFT": 0.92,
    "NVDA": 1.74,
    "AMZN": 1.16,
    # S&P 500 futures move with SPY
    "/ES": 1.0,
    "/MES": 1.0,
}
# Funds and indices report no earnings.
NO_EARNINGS = frozenset({"SPY", "SPX", "QQQ", "IWM", "VIX"})
# The demo book's names: days from today to the next event, so that `ttai --demo risk`
# always shows earnings and an ex-dividend date within 14 days (and the morning briefing
# some within 7). Other symbols follow a quarterly cycle with a per-symbol phase.
EARNINGS_IN_DAYS = {"TSLA": 6, "AMZN": 16, "AAPL": 23, "MSFT": 30, "NVDA": 37}
EX_DIVIDEND_IN_DAYS = {"AAPL": 3, "SPY": 12, "IWM": 19, "QQQ": 26, "MSFT": 41}
DIVIDENDS = {"AAPL": "0.26", "SPY": "1.76", "QQQ": "0.72", "IWM": "0.64", "MSFT": "0.83"}
NO_DIVIDEND = frozenset({"TSLA", "AMZN", "NVDA", "SPX", "VIX"})
QUARTER_DAYS = 91
KIND_TO_TYPE = {
    "equity": "Equity",
    "equity-option": "Equity Option",
    "future": "Future",
    "future-option": "Future Option",
    "index": "Index",
    "cryptocurrency": "Cryptocurrency",
}


def market_data(sim: SimulatedTastytrade, request: SimRequest) -> SimResponse:
    requested: list[tuple[str, str]] = []
    for kind in KIND_TO_TYPE:
        for raw in request.query.get(kind, []):
            # the SDK repeats the key per symbol; other clients send a comma list
            requested.extend((kind, s) for s in raw.split(",") if s)
    if len(requested) > MAX_SYMBOLS_PER_QUOTE_REQUEST:
        return error_response(
            400,
            "too_many_symbols",
            f"At most {MAX_SYMBOLS_PER_QUOTE_REQUEST} symbols per request",
        )
    now = sim.now()
    items = []
    for kind, symbol in requested:
        if not sim.is_known(symbol) or kind_of(symbol) != kind:
            continue
        quote = sim.market.quote(symbol)
        items.append(
            {
                "symbol": symbol,
                "instrument-type": KIND_TO_TYPE[kind],
                "updated-at": _iso(now),
                "bid-size": "100.0",
                "ask-size": "100.0",
                "bid": dec(quote.bid),
                "ask": dec(quote.ask),
                "mid": dec(((quote.bid + quote.ask) / 2).quantize(Decimal("0.001"))),
                "mark": dec(quote.mark),
                "last": dec(quote.last),
                "open": dec(quote.day_open),
                "day-high-price": dec(max(quote.day_open, quote.last)),
                "day-low-price": dec(min(quote.day_open, quote.last)),
                "close-price-type": "Unknown",
                "prev-close": dec(quote.prev_close),
                "prev-close-price-type": "Final",
                "summary-date": now.date().isoformat(),
                "prev-close-date": (now.date() - timedelta(days=1)).isoformat(),
                "halt-start-time": -1,
                "halt-end-time": -1,
                "volume": "1250000.0" if kind == "equity" else "1500.0",
            }
        )
    return json_response(200, {"data": {"items": items}})


def _days_to_next(seed: int, kind: str, symbol: str, today: date) -> int:
    """Days (0-90) from `today` to the next event of a quarterly cycle whose phase is
    drawn from (seed, kind, symbol): the same answer for the same day."""
    phase = int(_unit(seed, kind, symbol) * QUARTER_DAYS)
    return (phase - (today - date(2020, 1, 1)).days) % QUARTER_DAYS


def _weekday_on_or_after(day: date) -> date:
    """Companies report, and stocks go ex-dividend, on weekdays."""
    return day + timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)


def event_fields(seed: int, symbol: str, today: date) -> dict[str, Any]:
    """Beta, the next expected earnings report and the dividend of an equity or index,
    in the API's shape; a future on a root with a beta (/ES, /MES, /MESZ6) the beta
    alone; nothing for other futures, crypto and options."""
    root = next((symbol[:n] for n in (4, 3) if symbol[:n] in BETAS), None)
    if kind_of(symbol) == "future" and root is not None and root.startswith("/"):
        return {"beta": f"{BETAS[root]:.2f}", "beta-updated-at": "2026-01-02T22:00:00.000Z"}
    if kind_of(symbol) not in ("equity", "index"):
        return {}
    beta = BETAS.get(symbol, 0.6 + 1.2 * _unit(seed, "beta", symbol))
    fields: dict[str, Any] = {"beta": f"{beta:.2f}", "beta-updated-at": "2026-01-02T22:00:00.000Z"}
    if symbol not in NO_EARNINGS:
        days = EARNINGS_IN_DAYS.get(symbol)
        if days is None:
            days = _days_to_next(seed, "earnings", symbol, today)
        report = _weekday_on_or_after(today + timedelta(days=days))
        fields["earnings"] = {
            "visible": True,
            "expected-report-date": report.isoformat(),
            "estimated": True,
            "late-flag": 0,
            "quarter-end-date": (report - timedelta(days=30)).isoformat(),
            "time-of-day": "AMC",
            "updated-at": "2026-01-02T22:00:00.000Z",
        }
    pays = symbol in DIVIDENDS or (
        symbol not in NO_DIVIDEND and _unit(seed, "pays-dividend", symbol) < 0.5
    )
    if pays:
        days = EX_DIVIDEND_IN_DAYS.get(symbol)
        if days is None:
            days = _days_to_next(seed, "ex-dividend", symbol, today)
        upcoming = _weekday_on_or_after(today + timedelta(days=days))
        amount = DIVIDENDS.get(symbol) or f"{0.1 + 0.9 * _unit(seed, 'dividend', symbol):.2f}"
        fields.update(
            {
                # the API's ex-date is the last declared one; the next is projected
                "dividend-ex-date": (upcoming - timedelta(days=QUARTER_DAYS)).isoformat(),
                "dividend-next-date": upcoming.isoformat(),
                "dividend-pay-date": (upcoming + timedelta(days=14)).isoformat(),
                "dividend-rate-per-share": amount,
                "dividend-yield": "0.0125",
            }
        )
    return fields


def market_metrics(sim: SimulatedTastytrade, request: SimRequest) -> SimResponse:
    """Metrics per known symbol. `sim.market_metrics_overrides[symbol]` replaces fields
    (a value of None removes the field: a symbol with no beta)."""
    symbols = [s for raw in request.query.get("symbols", []) for s in raw.split(",") if s]
    now = sim.now()
    today = now.astimezone(NEW_YORK).date()
    items = []
    for symbol in symbols:
        if not sim.is_known(symbol):
            continue
        seed = sim.market.seed
        # IV rank drifts slowly through the day around a per-symbol level.
        level = _unit(seed, "ivr", symbol)
        wobble = 0.05 * math.sin(now.timestamp() / 3600 + 7 * _unit(seed, "ivr-phase", symbol))
        rank = min(0.99, max(0.01, level + wobble))
        vol = sim.market.volatility(symbol)
        item: dict[str, Any] = {
            "symbol": symbol,
            "implied-volatility-index": f"{vol:.4f}",
            "implied-volatility-index-5-day-change": "0.0123",
            "implied-volatility-index-rank": f"{rank:.4f}",
            "tos-implied-volatility-index-rank": f"{rank:.4f}",
            "tw-implied-volatility-index-rank": f"{rank:.4f}",
            "implied-volatility-index-rank-source": "tw",
            "implied-volatility-percentile": f"{min(0.99, rank * 1.1):.4f}",
            "implied-volatility-updated-at": _iso(now),
            "liquidity-rating": 4,
            "updated-at": _iso(now),
            "market-cap": "2500000000000",
            "implied-volatility-30-day": f"{vol * 100:.2f}",
            "historical-volatility-30-day": f"{vol * 90:.2f}",
        }
        item.update(event_fields(seed, symbol, today))
        for key, value in sim.market_metrics_overrides.get(symbol, {}).items():
            if value is None:
                item.pop(key, None)
            else:
                item[key] = value
        items.append(item)
    return json_response(200, {"data": {"items": items}})


def market_session(sim: SimulatedTastytrade) -> SimResponse:
    # A plain weekday 9:30-16:00 view: the broker's answer only confirms the
    # calendar, which stays the source of truth for holidays and half days.
    now = sim.now()
    today = now.date()

    def session_for(day: date) -> dict[str, Any]:
        open_at = datetime.combine(day, datetime.min.time(), NEW_YORK).replace(hour=9, minute=30)
        close_at = open_at.replace(hour=16, minute=0)
        return {
            "close-at": _iso(close_at),
            "close-at-ext": _iso(close_at.replace(hour=20)),
            "instrument-collection": "Equity",
            "open-at": _iso(open_at),
            "session-date": day.isoformat(),
            "start-at": _iso(open_at.replace(hour=4)),
        }

    def next_weekday(day: date) -> date:
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    current = session_for(today) if today.weekday() < 5 else None
    state = "Closed"
    if current:
        open_at = datetime.fromisoformat(current["open-at"].replace("Z", "+00:00"))
        close_at = datetime.fromisoformat(current["close-at"].replace("Z", "+00:00"))
        if open_at <= now < close_at:
            state = "Open"
        elif now < open_at and now.hour >= 4:
            state = "Pre-market"
        elif close_at <= now < close_at + timedelta(hours=4):
            state = "Extended"
    item: dict[str, Any] = {
        "instrument-collection": "Equity",
        "state": state,
        "next-session": session_for(next_weekday(today)),
    }
    if current:
        item.update({k: current[k] for k in ("close-at", "close-at-ext", "open-at", "start-at")})
    return json_response(200, {"data": {"items": [item]}})
