"""Simulated prices: a seeded random walk per symbol, options priced by Black-Scholes.

Each underlying opens the day at a price drawn from (seed, symbol, date) and then walks
one step per minute of the simulator's clock. Advancing k steps at once draws a single
normal with sigma*sqrt(k), which has exactly the distribution of k single steps, so a
quote after a long pause costs the same as one a minute later.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ttai_cli.broker.symbols import kind_of, parse_occ
from ttai_cli.clock import NEW_YORK

STEP_SECONDS = 60
DAILY_VOL = 0.018
RISK_FREE = 0.04
BASE_PRICES = {
    "AAPL": 228.0,
    "SPY": 590.0,
    "QQQ": 505.0,
    "TSLA": 340.0,
    "IWM": 225.0,
    "MSFT": 420.0,
    "NVDA": 140.0,
    "AMZN": 200.0,
    "SPX": 5900.0,
    "VIX": 16.0,
    "/ES": 5950.0,
    "/MES": 5950.0,
    "/NQ": 21000.0,
    "/CL": 70.0,
    "/GC": 2650.0,
    "BTC/USD": 95000.0,
    "ETH/USD": 3300.0,
}
VOLATILITY = {"AAPL": 0.26, "SPY": 0.15, "QQQ": 0.19, "TSLA": 0.55, "IWM": 0.21, "VIX": 0.9}


def _unit(seed: int, *parts: object) -> float:
    """A deterministic uniform number in (0, 1) from the seed and parts."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


def _normal(seed: int, *parts: object) -> float:
    u1, u2 = _unit(seed, *parts, 1), _unit(seed, *parts, 2)
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def money(value: float, places: str = "0.01") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def norm_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def black_scholes(
    spot: float, strike: float, years: float, vol: float, right: str
) -> tuple[float, float]:
    """(price, delta) of a European option; at or past expiry, intrinsic value."""
    if years <= 0 or vol <= 0:
        intrinsic = max(0.0, spot - strike) if right == "C" else max(0.0, strike - spot)
        itm = (spot > strike) if right == "C" else (spot < strike)
        return intrinsic, (1.0 if itm else 0.0) * (1 if right == "C" else -1)
    sqrt_t = math.sqrt(years)
    d1 = (math.log(spot / strike) + (RISK_FREE + vol * vol / 2) * years) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    discount = math.exp(-RISK_FREE * years)
    if right == "C":
        return spot * norm_cdf(d1) - strike * discount * norm_cdf(d2), norm_cdf(d1)
    return strike * discount * norm_cdf(-d2) - spot * norm_cdf(-d1), norm_cdf(d1) - 1


def theta_vega(
    spot: float, strike: float, years: float, vol: float, right: str
) -> tuple[float, float]:
    """(theta per calendar day, vega per point of volatility) of one share's worth of a
    European option, as DXLink streams them; 0 at or past expiry."""
    if years <= 0 or vol <= 0:
        return 0.0, 0.0
    sqrt_t = math.sqrt(years)
    d1 = (math.log(spot / strike) + (RISK_FREE + vol * vol / 2) * years) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    density = math.exp(-d1 * d1 / 2) / math.sqrt(2 * math.pi)
    discount = math.exp(-RISK_FREE * years)
    decay = -spot * density * vol / (2 * sqrt_t)
    if right == "C":
        theta_year = decay - RISK_FREE * strike * discount * norm_cdf(d2)
    else:
        theta_year = decay + RISK_FREE * strike * discount * norm_cdf(-d2)
    return theta_year / 365, spot * density * sqrt_t / 100


@dataclass
class _Walk:
    day: date
    step: int
    log_price: float


@dataclass(frozen=True)
class SimQuote:
    symbol: str
    kind: str
    bid: Decimal
    ask: Decimal
    mark: Decimal
    last: Decimal
    prev_close: Decimal
    day_open: Decimal
    delta: float | None = None
    theta: float | None = None  # per share per day (options only)
    vega: float | None = None  # per share per volatility point (options only)


class RandomWalkMarket:
    """Prices for any symbol at the simulator's current time."""

    def __init__(self, seed: int, now: Callable[[], datetime]) -> None:
        self.seed = seed
        self.now = now
        self._walks: dict[str, _Walk] = {}
        self._rng = random.Random(seed)
        # Tests pin prices: symbol -> (price now, previous close or None)
        self.pinned: dict[str, tuple[float, float | None]] = {}

    def pin(self, symbol: str, price: float, prev_close: float | None = None) -> None:
        """Hold `symbol` at `price` until unpinned: an underlying (options on it are
        priced from it), or an equity option itself (its mark; its delta still follows
        the underlying)."""
        self.pinned[symbol] = (price, prev_close)

    def base_price(self, symbol: str) -> float:
        if symbol in BASE_PRICES:
            return BASE_PRICES[symbol]
        if symbol.startswith("/"):  # a contract on its root: /ESZ6 -> /ES, /MESZ6 -> /MES
            root = next((symbol[:n] for n in (4, 3) if symbol[:n] in BASE_PRICES), None)
            if root is not None:
                return BASE_PRICES[root]
        return 20 + 480 * _unit(self.seed, "base", symbol)

    def volatility(self, symbol: str) -> float:
        return VOLATILITY.get(symbol, 0.2 + 0.4 * _unit(self.seed, "vol", symbol))

    def open_price(self, symbol: str, day: date) -> float:
        """The day's opening price: deterministic from (seed, symbol, day)."""
        days = (day - date(2020, 1, 1)).days
        drift = _normal(self.seed, "open", symbol, day) * DAILY_VOL * 0.7
        cycle = 0.08 * math.sin(days / 90 + 6 * _unit(self.seed, "phase", symbol))
        return self.base_price(symbol) * math.exp(cycle + drift)

    def close_price(self, symbol: str, day: date) -> float:
        """Yesterday's close as today's reference: the walk's expected end, deterministic."""
        pinned = self.pinned.get(symbol)
        if pinned is not None and pinned[1] is not None:
            return pinned[1]
        return self.open_price(symbol, day + timedelta(days=1)) * math.exp(
            -_normal(self.seed, "gap", symbol, day) * DAILY_VOL * 0.2
        )

    def spot(self, symbol: str) -> float:
        if symbol in self.pinned:
            return self.pinned[symbol][0]
        moment = self.now().astimezone(NEW_YORK)
        day = moment.date()
        minutes = moment.hour * 60 + moment.minute
        step = max(0, minutes - (9 * 60 + 30)) * 60 // STEP_SECONDS
        step = min(step, 390 * 60 // STEP_SECONDS)
        walk = self._walks.get(symbol)
        if walk is None or walk.day != day or step < walk.step:
            walk = _Walk(day, 0, math.log(self.open_price(symbol, day)))
            self._walks[symbol] = walk
        if step > walk.step:
            sigma = DAILY_VOL / math.sqrt(390 * 60 / STEP_SECONDS)
            walk.log_price += self._rng.gauss(0, sigma * math.sqrt(step - walk.step))
            walk.step = step
        return math.exp(walk.log_price)

    def quote(self, symbol: str) -> SimQuote:
        kind = kind_of(symbol)
        day = self.now().astimezone(NEW_YORK).date()
        if kind == "equity-option":
            return self._option_quote(symbol, day)
        spot = self.spot(symbol)
        prev = self.close_price(symbol, day - timedelta(days=1))
        spread = max(0.01, spot * 0.0002)
        return SimQuote(
            symbol,
            kind,
            money(spot - spread / 2),
            money(spot + spread / 2),
            money(spot),
            money(spot),
            money(prev),
            money(self.open_price(symbol, day)),
        )

    def _option_quote(self, symbol: str, day: date) -> SimQuote:
        occ = parse_occ(symbol)
        assert occ is not None
        spot = self.spot(occ.root.strip())
        expiry = datetime.combine(occ.expiration, datetime.min.time(), NEW_YORK).replace(hour=16)
        years = max(0.0, (expiry - self.now()).total_seconds() / (365 * 86400))
        vol = self.volatility(occ.root.strip())
        price, delta = black_scholes(spot, float(occ.strike), years, vol, occ.right)
        theta, vega = theta_vega(spot, float(occ.strike), years, vol, occ.right)
        prev_spot = self.close_price(occ.root.strip(), day - timedelta(days=1))
        prev, _ = black_scholes(prev_spot, float(occ.strike), years + 1 / 365, vol, occ.right)
        pinned = self.pinned.get(symbol)
        if pinned is not None:  # a test holds this option's mark
            price = pinned[0]
            prev = pinned[1] if pinned[1] is not None else price
        half = max(0.01, price * 0.02)
        return SimQuote(
            symbol,
            "equity-option",
            money(max(0.0, price - half)),
            money(price + half),
            money(price),
            money(price),
            money(prev),
            money(prev),
            delta=delta,
            theta=theta,
            vega=vega,
        )
