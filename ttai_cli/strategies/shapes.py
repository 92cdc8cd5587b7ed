"""What a group of legs is, and what it can make or lose: no I/O, Decimal throughout.

A leg is one held position, seen as a trader sees it: an option (right, strike,
expiration), shares, a future, a cryptocurrency, or something else. `name()` gives the
group its strategy name; `payoff_bounds()` its maximum profit and loss at expiration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

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


@dataclass(frozen=True, slots=True)
class Leg:
    """A position as a strategy leg. `kind`: `option` (equity or futures option),
    `stock`, `future`, `crypto`, or `other`. Options carry right, strike and
    expiration (from the symbol); a future its expiry date (from `expires_at`).
    `quantity` (signed) and `multiplier` are the position's, `size` their product."""

    position: Position
    kind: str
    right: str | None = None  # "C" or "P"
    strike: Decimal | None = None
    expiration: date | None = None
    quantity: Decimal = field(init=False)
    multiplier: Decimal = field(init=False)
    size: Decimal = field(init=False)
    is_short_option: bool = field(init=False)

    def __post_init__(self) -> None:
        # copied once: the grouping reads them many times per leg
        quantity, multiplier = self.position.quantity, self.position.multiplier
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "multiplier", multiplier)
        object.__setattr__(self, "size", quantity * multiplier)
        object.__setattr__(self, "is_short_option", self.kind == "option" and quantity < 0)


# an account's option symbols are parsed once per process, not on every grouping (the
# monitor and the live view group the same book again and again); OptionSymbol is frozen
_parse_option = lru_cache(maxsize=16_384)(sym.parse_option)


def leg_of(position: Position) -> Leg:
    """Read a position's shape from its instrument type and symbol. An option whose
    symbol cannot be parsed is `other` (it will stand alone as `custom`)."""
    kind = position.instrument_type
    if position.is_option:
        parsed = _parse_option(position.symbol)
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
    needed = -sum((leg.size for leg in options), ZERO)
    return stocks[0].size >= needed


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
    return -sum((leg.position.average_open_price * leg.size for leg in legs), ZERO)


def payoff_bounds(
    legs: list[Leg], opened: Decimal | None = None
) -> tuple[Decimal | None, Decimal | None]:
    """(max profit, max loss) in dollars over every underlying price from 0 up, at the
    nearest expiration; None where there is no bound (unlimited) or none can be known.
    `opened`: the legs' `credit` when the caller has it already.

    The P&L at price S is `sum((value(S) - average_open_price) x quantity x
    multiplier)`, where an option's value is its intrinsic value and a share's the
    price; it is piecewise linear with corners at the strikes, so it is evaluated at 0
    and at every strike, and its slope above the highest strike says whether a side is
    unlimited (more long than short calls and shares: unlimited profit; the other way
    round: unlimited loss). Max loss is a positive number of dollars.

    Several expirations (calendars, diagonals): legs expiring later are valued at their
    intrinsic value at the nearest expiration. For long legs that is a floor (an
    American option is worth at least that), so the max loss found is a true bound;
    with a short later leg it is not, and max loss is None. Max profit depends on the
    later legs' time value then: None.
    A future is valued like shares (its price, 1:1): long, its max loss is the price
    going to zero (the notional it was opened at), its max profit unlimited; short, the
    other way round.
    Cryptocurrencies and legs of another kind have no expiration payoff here: (None,
    None) unless the legs are options, shares and futures only.
    """
    if any(leg.kind not in ("option", "stock", "future") for leg in legs):
        return None, None
    if opened is None:
        opened = credit(legs)
    # (is an option, is a call, strike, signed size) per leg, read once
    shapes = [
        (leg.kind == "option", leg.right == "C", leg.strike or ZERO, leg.size) for leg in legs
    ]
    points = {ZERO}
    points.update(leg.strike for leg in legs if leg.strike is not None)
    pnl = []
    for price in points:
        total = opened
        for is_option, is_call, strike, size in shapes:
            if not is_option:
                total += price * size
            elif is_call:
                if price > strike:
                    total += (price - strike) * size
            elif strike > price:
                total += (strike - price) * size
        pnl.append(total)
    # above the highest strike every call (and share) moves 1:1 with the price
    slope = sum((size for is_option, is_call, _, size in shapes if is_call or not is_option), ZERO)
    max_profit = None if slope > 0 else max(pnl)
    max_loss = None if slope < 0 else -min(pnl)
    expirations = {leg.expiration for leg in legs if leg.expiration is not None}
    if len(expirations) > 1:
        nearest = min(expirations)
        max_profit = None
        if any(leg.is_short_option and leg.expiration != nearest for leg in legs):
            max_loss = None
    return max_profit, max_loss
