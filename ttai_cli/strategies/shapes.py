"""What a group of legs is, and what it can make or lose: no I/O, Decimal throughout.

A leg is one held position, seen as a trader sees it: an option (right, strike,
expiration), shares, a future, a cryptocurrency, or something else. `name()` gives the
group its strategy name; `payoff_bounds()` its maximum profit and loss at expiration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ttai_cli.broker import symbols as sym
from ttai_cli.broker.models import Position
from ttai_cli.clock import NEW_YORK

ZERO = Decimal(0)

# strategy names (SPEC "Version 3 contract"); `future` and `crypto` are ttai's own
STOCK = "stock"
FUTURE = "future"
CRYPTO = "crypto"
COVERED_CALL = "covered call"
CASH_SECURED_PUT = "cash-secured put"
SHORT_PUT = "short put"
SHORT_CALL = "short call"
LONG_PUT = "long put"
LONG_CALL = "long call"
PUT_CREDIT_SPREAD = "put credit spread"
CALL_CREDIT_SPREAD = "call credit spread"
PUT_DEBIT_SPREAD = "put debit spread"
CALL_DEBIT_SPREAD = "call debit spread"
SHORT_STRANGLE = "short strangle"
SHORT_STRADDLE = "short straddle"
IRON_CONDOR = "iron condor"
IRON_BUTTERFLY = "iron butterfly"
CALENDAR = "calendar"
DIAGONAL = "diagonal"
CUSTOM = "custom"
NAMES = (
    STOCK,
    COVERED_CALL,
    CASH_SECURED_PUT,
    SHORT_PUT,
    SHORT_CALL,
    LONG_PUT,
    LONG_CALL,
    PUT_CREDIT_SPREAD,
    CALL_CREDIT_SPREAD,
    PUT_DEBIT_SPREAD,
    CALL_DEBIT_SPREAD,
    SHORT_STRANGLE,
    SHORT_STRADDLE,
    IRON_CONDOR,
    IRON_BUTTERFLY,
    CALENDAR,
    DIAGONAL,
    CUSTOM,
    FUTURE,
    CRYPTO,
)


@dataclass(frozen=True)
class Leg:
    """A position as a strategy leg. `kind`: `option` (equity or futures option),
    `stock`, `future`, `crypto`, or `other`. Options carry right, strike and
    expiration (from the symbol); a future its expiry date (from `expires_at`)."""

    position: Position
    kind: str
    right: str | None = None  # "C" or "P"
    strike: Decimal | None = None
    expiration: date | None = None

    @property
    def quantity(self) -> Decimal:
        return self.position.quantity

    @property
    def multiplier(self) -> Decimal:
        return self.position.multiplier

    @property
    def is_short_option(self) -> bool:
        return self.kind == "option" and self.quantity < 0


def leg_of(position: Position) -> Leg:
    """Read a position's shape from its instrument type and symbol. An option whose
    symbol cannot be parsed is `other` (it will stand alone as `custom`)."""
    kind = position.instrument_type
    if position.is_option:
        parsed = sym.parse_option(position.symbol)
        if parsed is None:
            return Leg(position, "other")
        return Leg(position, "option", parsed.right, parsed.strike, parsed.expiration)
    if kind == "Equity":
        return Leg(position, "stock")
    expires = position.expires_at.astimezone(NEW_YORK).date() if position.expires_at else None
    if kind == "Future":
        return Leg(position, "future", expiration=expires)
    if kind == "Cryptocurrency":
        return Leg(position, "crypto")
    return Leg(position, "other", expiration=expires)


def name(legs: list[Leg]) -> str:
    """The strategy name of a group of legs of one underlying.

    - one leg: `stock` (shares, long or short), `future`, `crypto`, `short put` (or
      `cash-secured put`, decided later from the cash), `short call`, `long put`,
      `long call`; anything else `custom`;
    - long shares with short calls only, the shares covering every contract
      (`|quantity| x multiplier` shares each): `covered call`;
    - two options, the same number of contracts each:
      - same expiration and right, one short and one long: a vertical, `put credit
        spread` when the short put has the higher strike, `call credit spread` when the
        short call has the lower one, else `put debit spread` / `call debit spread`;
      - same expiration, a short put and a short call: `short straddle` at one strike,
        else `short strangle` (also when inverted, the put above the call);
      - different expirations, same right, one short and one long: `calendar` at one
        strike, else `diagonal`;
    - four options of one expiration, the same number of contracts each: a put credit
      spread below (or meeting) a call credit spread: `iron butterfly` when the short
      strikes meet, else `iron condor`;
    - everything else (ratios, three legs, long strangles, mixed expirations): `custom`.
    """
    if len(legs) == 1:
        return _single(legs[0])
    stocks = [leg for leg in legs if leg.kind == "stock"]
    options = [leg for leg in legs if leg.kind == "option"]
    if len(stocks) + len(options) != len(legs):
        return CUSTOM
    if stocks:
        return COVERED_CALL if _covers(stocks, options) else CUSTOM
    if len({abs(leg.quantity) for leg in options}) != 1:
        return CUSTOM  # a ratio: no named shape
    if len(options) == 2:
        return _pair(options[0], options[1])
    if len(options) == 4:
        return _iron(options)
    return CUSTOM


def _single(leg: Leg) -> str:
    if leg.kind == "stock":
        return STOCK
    if leg.kind == "future":
        return FUTURE
    if leg.kind == "crypto":
        return CRYPTO
    if leg.kind != "option":
        return CUSTOM
    if leg.right == "P":
        return SHORT_PUT if leg.quantity < 0 else LONG_PUT
    return SHORT_CALL if leg.quantity < 0 else LONG_CALL


def _covers(stocks: list[Leg], options: list[Leg]) -> bool:
    """One long stock position whose shares cover every (short call) contract."""
    if len(stocks) != 1 or stocks[0].quantity <= 0 or not options:
        return False
    if not all(leg.right == "C" and leg.quantity < 0 for leg in options):
        return False
    needed = sum((abs(leg.quantity) * leg.multiplier for leg in options), ZERO)
    return stocks[0].quantity * stocks[0].multiplier >= needed


def _pair(a: Leg, b: Leg) -> str:
    assert a.strike is not None and b.strike is not None
    if a.expiration != b.expiration:
        if a.right == b.right and (a.quantity < 0) != (b.quantity < 0):
            return CALENDAR if a.strike == b.strike else DIAGONAL
        return CUSTOM
    if a.right == b.right and (a.quantity < 0) != (b.quantity < 0):
        short, long = (a, b) if a.quantity < 0 else (b, a)
        assert short.strike is not None and long.strike is not None
        if short.right == "P":
            return PUT_CREDIT_SPREAD if short.strike > long.strike else PUT_DEBIT_SPREAD
        return CALL_CREDIT_SPREAD if short.strike < long.strike else CALL_DEBIT_SPREAD
    if a.right != b.right and a.quantity < 0 and b.quantity < 0:
        return SHORT_STRADDLE if a.strike == b.strike else SHORT_STRANGLE
    return CUSTOM


def _iron(legs: list[Leg]) -> str:
    if len({leg.expiration for leg in legs}) != 1:
        return CUSTOM
    puts = [leg for leg in legs if leg.right == "P"]
    calls = [leg for leg in legs if leg.right == "C"]
    if len(puts) != 2 or len(calls) != 2:
        return CUSTOM
    put_side, call_side = _pair(puts[0], puts[1]), _pair(calls[0], calls[1])
    if put_side != PUT_CREDIT_SPREAD or call_side != CALL_CREDIT_SPREAD:
        return CUSTOM
    short_put = next(leg.strike for leg in puts if leg.quantity < 0)
    short_call = next(leg.strike for leg in calls if leg.quantity < 0)
    assert short_put is not None and short_call is not None
    if short_put > short_call:
        return CUSTOM
    return IRON_BUTTERFLY if short_put == short_call else IRON_CONDOR


def credit(legs: list[Leg]) -> Decimal:
    """Dollars received to open (negative: paid): `-sum(average_open_price x quantity x
    multiplier)` with signed quantities."""
    return -sum(
        (leg.position.average_open_price * leg.quantity * leg.multiplier for leg in legs), ZERO
    )


def _value_at(leg: Leg, price: Decimal) -> Decimal:
    """A leg's value per unit when the underlying is at `price`: an option's intrinsic
    value, shares (and futures, crypto) the price itself."""
    if leg.kind != "option":
        return price
    assert leg.strike is not None
    if leg.right == "C":
        return max(price - leg.strike, ZERO)
    return max(leg.strike - price, ZERO)


def payoff_bounds(legs: list[Leg]) -> tuple[Decimal | None, Decimal | None]:
    """(max profit, max loss) in dollars over every underlying price from 0 up, at the
    nearest expiration; None where there is no bound (unlimited) or none can be known.

    The P&L at price S is `sum((value(S) - average_open_price) x quantity x
    multiplier)`; it is piecewise linear with corners at the strikes, so it is evaluated
    at 0 and at every strike, and its slope above the highest strike says whether a
    side is unlimited (more long than short calls and shares: unlimited profit; the
    other way round: unlimited loss). Max loss is a positive number of dollars.

    Several expirations (calendars, diagonals): legs expiring later are valued at their
    intrinsic value at the nearest expiration. For long legs that is a floor (an
    American option is worth at least that), so the max loss found is a true bound;
    with a short later leg it is not, and max loss is None. Max profit depends on the
    later legs' time value then: None.
    Futures, cryptocurrencies and legs of another kind have no expiration payoff here:
    (None, None) unless the legs are options and shares only.
    """
    if any(leg.kind not in ("option", "stock") for leg in legs):
        return None, None
    expirations = sorted({leg.expiration for leg in legs if leg.expiration is not None})
    nearest = expirations[0] if expirations else None
    later_short = any(leg.is_short_option and leg.expiration != nearest for leg in legs)
    opened = credit(legs)
    points = sorted({ZERO, *(leg.strike for leg in legs if leg.strike is not None)})
    pnl = [
        opened + sum((_value_at(leg, p) * leg.quantity * leg.multiplier for leg in legs), ZERO)
        for p in points
    ]
    # above the highest strike every call (and share) moves 1:1 with the price
    slope = sum(
        (leg.quantity * leg.multiplier for leg in legs if leg.kind == "stock" or leg.right == "C"),
        ZERO,
    )
    max_profit = None if slope > 0 else max(pnl)
    max_loss = None if slope < 0 else -min(pnl)
    if len(expirations) > 1:
        max_profit = None
        if later_short:
            max_loss = None
    return max_profit, max_loss
