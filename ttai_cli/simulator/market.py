"""Simulated prices: a seeded path per symbol and day, options priced by Black-Scholes.

A price is a pure function of (seed, symbol, instant): every process, every command and
the simulated stream read the same number at the same moment, whatever was asked
before (one `ttai --demo` process per command must agree with the next).

- Each underlying opens the day at a price drawn from (seed, symbol, date) and ends the
  session at its close (`close_price`, which is tomorrow's reference for "change").
- Between the two it follows a Brownian bridge over the session's minute grid (390
  steps of STEP_SECONDS), built by Lévy's construction: the value at a step is found by
  halving the day, each midpoint a normal drawn from (seed, symbol, day, step) around
  the line between its ends. A quote costs about log2(390) hashed normals (fewer with
  the per-process cache), not a walk over every minute since the open. The open and
  close are drawn so that log(close / open) has about DAILY_VOL spread, so the path has
  the statistics of a random walk with DAILY_VOL per day.
- Within a minute the price moves on a 250 ms grid (SUBSTEP_SECONDS): the line between
  the minute's two values plus a Brownian bridge that is 0 at both ends (JITTER_SCALE:
  a little livelier than the minute's own walk, so a demo alert near the price fires
  within a minute). The stream uses the same function, so a streamed price and a
  REST quote at the same instant are the same.
- Before 9:30 New York the path is at the open, from 16:00 at the close, and only that
  wiggle within each minute moves the price around it (exactly the open or close at
  each whole minute), so an evening demo still ticks.
- Futures: every contract of a root is the root's price (`/ESZ6`, `/ESH7` and `/ES`
  are one path), and a micro contract is its index's (`/MES` is `/ES`).
- Options are priced from the underlying at the start of the minute (they reprice once
  a minute, as the stream sends them).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ttai_cli.broker.symbols import kind_of, parse_occ
from ttai_cli.clock import NEW_YORK

STEP_SECONDS = 60
SESSION_STEPS = 390 * 60 // STEP_SECONDS  # 9:30 to 16:00
SUBSTEP_SECONDS = 0.25  # the grid within a step (what the stream ticks on)
SUBSTEPS = int(STEP_SECONDS / SUBSTEP_SECONDS)
DAILY_VOL = 0.018
STEP_SIGMA = DAILY_VOL / math.sqrt(SESSION_STEPS)
# The bridge within a step, in step sigmas: 1 would make the path at 250 ms a plain
# random walk; a little more keeps the stream lively (a demo alert near the price fires
# within a minute), and moves it outside the session too, around the open or close.
JITTER_SCALE = 1.5
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
# A micro contract follows its index: the same price as the full-size contract.
SAME_INDEX = {"/MES": "/ES", "/MNQ": "/NQ", "/MCL": "/CL", "/MGC": "/GC"}
_CONTRACT = re.compile(r"^(/[A-Z0-9]+?)[FGHJKMNQUVXZ]\d{1,2}$")  # /ESZ6 -> /ES
VOLATILITY = {"AAPL": 0.26, "SPY": 0.15, "QQQ": 0.19, "TSLA": 0.55, "IWM": 0.21, "VIX": 0.9}


def _unit(seed: int, *parts: object) -> float:
    """A deterministic uniform number in (0, 1) from the seed and parts."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


def _normal(seed: int, *parts: object) -> float:
    u1, u2 = _unit(seed, *parts, 1), _unit(seed, *parts, 2)
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def _draw(seed: int, *parts: object) -> float:
    """A deterministic standard normal from the seed and parts, from one hash (the
    path's draws: the stream asks for about one per symbol and tick)."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=16).digest()
    u1 = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
    u2 = (int.from_bytes(digest[8:], "big") + 0.5) / 2**64
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


_PLACES: dict[str, Decimal] = {}


def money(value: float, places: str = "0.01") -> Decimal:
    quantum = _PLACES.get(places)
    if quantum is None:
        quantum = _PLACES[places] = Decimal(places)
    return Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)


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


def path_symbol(symbol: str) -> str:
    """The symbol whose price path `symbol` follows: a future's root for any of its
    contracts (`/ESZ6` -> `/ES`), the full-size index for a micro (`/MESH7` -> `/ES`),
    the symbol itself otherwise."""
    if not symbol.startswith("/"):
        return symbol
    contract = _CONTRACT.match(symbol)
    root = contract.group(1) if contract and symbol not in BASE_PRICES else symbol
    return SAME_INDEX.get(root, root)


def _bridge(
    nodes: dict[int, float], k: int, n: int, sigma: float, seed: int, key: tuple[object, ...]
) -> float:
    """Point `k` of a Brownian bridge on the grid 0..n (Lévy's construction), given its
    ends `nodes[0]` and `nodes[n]`: halve [0, n] down to k, each midpoint m a normal
    drawn from (seed, *key, m) with the bridge's spread around the line between the
    interval's ends; `sigma` per grid step. Points found are kept in `nodes`, so later
    points nearby cost a draw or two. The value does not depend on what was asked
    before: each midpoint always comes from the same two ends and the same draw."""
    a, b = 0, n
    while k not in nodes:
        m = (a + b) // 2
        if m not in nodes:
            low, high = nodes[a], nodes[b]
            spread = sigma * math.sqrt((m - a) * (b - m) / (b - a))
            nodes[m] = low + (high - low) * (m - a) / (b - a) + spread * _draw(seed, *key, m)
        a, b = (a, m) if k < m else (m, b)
    return nodes[k]


def _position(at: datetime) -> tuple[date, int, int]:
    """(New York date, step, 250 ms substep within the step) of an instant. Steps count
    STEP_SECONDS from 9:30 (0 to SESSION_STEPS - 1 in the session), and go on outside
    it: negative before the open, SESSION_STEPS and up after the close."""
    moment = at.astimezone(NEW_YORK)
    opening = moment.replace(hour=9, minute=30, second=0, microsecond=0)
    step, within = divmod((moment - opening).total_seconds(), STEP_SECONDS)
    return moment.date(), int(step), min(SUBSTEPS - 1, int(within / SUBSTEP_SECONDS))


def book(spot: float) -> tuple[Decimal, Decimal]:
    """(bid, ask) around a non-option's price: a 2 bp spread, at least a cent."""
    spread = max(0.01, spot * 0.0002)
    return money(spot - spread / 2), money(spot + spread / 2)


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
    """Prices for any symbol at the simulator's current time (see the module
    docstring: a deterministic function of the seed, the symbol and the instant)."""

    def __init__(self, seed: int, now: Callable[[], datetime]) -> None:
        self.seed = seed
        self.now = now
        # Per-process caches of points already found (they change no value): per path
        # symbol, the day's grid of steps, and the current step's 250 ms grid.
        self._days: dict[str, tuple[date, dict[int, float]]] = {}
        self._steps: dict[str, tuple[date, int, dict[int, float]]] = {}
        self._instant: tuple[datetime, tuple[date, int, int]] | None = None  # the last one
        # Tests pin prices: symbol -> (price now, previous close or None)
        self.pinned: dict[str, tuple[float, float | None]] = {}

    def pin(self, symbol: str, price: float, prev_close: float | None = None) -> None:
        """Hold `symbol` at `price` until unpinned: an underlying (options on it are
        priced from it), or an equity option itself (its mark; its delta still follows
        the underlying). A pin holds that exact symbol, not the other contracts of a
        future's root."""
        self.pinned[symbol] = (price, prev_close)

    def base_price(self, symbol: str) -> float:
        path = path_symbol(symbol)
        if path in BASE_PRICES:
            return BASE_PRICES[path]
        return 20 + 480 * _unit(self.seed, "base", path)

    def volatility(self, symbol: str) -> float:
        path = path_symbol(symbol)
        return VOLATILITY.get(path, 0.2 + 0.4 * _unit(self.seed, "vol", path))

    def open_price(self, symbol: str, day: date) -> float:
        """The day's opening price: deterministic from (seed, symbol, day)."""
        path = path_symbol(symbol)
        days = (day - date(2020, 1, 1)).days
        drift = _normal(self.seed, "open", path, day) * DAILY_VOL * 0.7
        cycle = 0.08 * math.sin(days / 90 + 6 * _unit(self.seed, "phase", path))
        return self.base_price(path) * math.exp(cycle + drift)

    def close_price(self, symbol: str, day: date) -> float:
        """The day's close, where its path ends at 16:00 (the next day's reference for
        "change"); a pin's previous close stands in for it."""
        pinned = self.pinned.get(symbol)
        if pinned is not None and pinned[1] is not None:
            return pinned[1]
        return self._unpinned_close(path_symbol(symbol), day)

    def _unpinned_close(self, path: str, day: date) -> float:
        # Near the next day's open (a small overnight gap): log(close / open) then has
        # about DAILY_VOL spread, as a walk of DAILY_VOL per day would.
        return self.open_price(path, day + timedelta(days=1)) * math.exp(
            -_normal(self.seed, "gap", path, day) * DAILY_VOL * 0.2
        )

    def spot(self, symbol: str, at: datetime | None = None) -> float:
        """The price of a non-option `symbol` at `at` (default: now), to the 250 ms."""
        if symbol in self.pinned:
            return self.pinned[symbol][0]
        moment = self.now() if at is None else at
        known = self._instant  # the stream asks for every symbol at one instant
        if known is not None and known[0] is moment:
            day, step, sub = known[1]
        else:
            day, step, sub = _position(moment)
            self._instant = (moment, (day, step, sub))
        return math.exp(self._log_price(path_symbol(symbol), day, step, sub))

    def _log_price(self, path: str, day: date, step: int, sub: int) -> float:
        cached = self._days.get(path)
        if cached is None or cached[0] != day:
            ends = {
                0: math.log(self.open_price(path, day)),
                SESSION_STEPS: math.log(self._unpinned_close(path, day)),
            }
            cached = self._days[path] = (day, ends)
        nodes, key = cached[1], ("path", path, day)
        # The session's path: its open before 9:30, its close from 16:00.
        here = _bridge(
            nodes, min(max(step, 0), SESSION_STEPS), SESSION_STEPS, STEP_SIGMA, self.seed, key
        )
        if sub == 0:
            return here
        if 0 <= step < SESSION_STEPS:  # on the line to the step's end
            after = _bridge(nodes, step + 1, SESSION_STEPS, STEP_SIGMA, self.seed, key)
            here += (after - here) * sub / SUBSTEPS
        # and the wiggle within the step (outside the session too: the stream ticks)
        within = self._steps.get(path)
        if within is None or within[:2] != (day, step):
            within = self._steps[path] = (day, step, {0: 0.0, SUBSTEPS: 0.0})
        sigma = JITTER_SCALE * STEP_SIGMA / math.sqrt(SUBSTEPS)
        return here + _bridge(within[2], sub, SUBSTEPS, sigma, self.seed, ("tick", path, day, step))

    def quote(self, symbol: str, at: datetime | None = None) -> SimQuote:
        """`symbol`'s quote at `at` (default: now)."""
        moment = self.now() if at is None else at
        kind = kind_of(symbol)
        day = moment.astimezone(NEW_YORK).date()
        if kind == "equity-option":
            return self._option_quote(symbol, day, moment)
        spot = self.spot(symbol, moment)
        prev = self.close_price(symbol, day - timedelta(days=1))
        bid, ask = book(spot)
        return SimQuote(
            symbol,
            kind,
            bid,
            ask,
            money(spot),
            money(spot),
            money(prev),
            money(self.open_price(symbol, day)),
        )

    def _option_quote(self, symbol: str, day: date, moment: datetime) -> SimQuote:
        occ = parse_occ(symbol)
        assert occ is not None
        # Priced at the start of the minute, so the same all minute (as the stream has it).
        minute = moment.replace(second=0, microsecond=0)
        spot = self.spot(occ.root.strip(), minute)
        expiry = datetime.combine(occ.expiration, datetime.min.time(), NEW_YORK).replace(hour=16)
        years = max(0.0, (expiry - minute).total_seconds() / (365 * 86400))
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
