"""Built-in assignment warnings: no alert needed, like position opened / closed.

Pure: positions and plain prices in, warnings out. `monitor` notifies each warning once
per position, reason and New York day (the outbox key).

- `ex-dividend`: a short call in the money whose extrinsic value (mark - (underlying -
  strike)) is below the next dividend, when the ex-dividend date is the next trading
  session: its holder gains by exercising at today's close to collect the dividend.
- `expiration`: a short option, on its expiration day, in the money or within 1 % of the
  strike (a late move or the holder's choice can still assign it).

Only equity options (OCC symbols) with a known underlying price are looked at; a short
call with no known mark or dividend is not warned about for the dividend.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ttai_cli.broker.models import MarketMetric, Position
from ttai_cli.broker.symbols import OptionSymbol, parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.notify.models import Notification

NEAR_STRIKE = Decimal("0.01")  # "within 1 % of the strike" on the expiration day


@dataclass(frozen=True)
class AssignmentRisk:
    reason: str  # "ex-dividend" | "expiration"
    position: str  # the OCC symbol
    underlying: str
    quantity: Decimal
    right: str
    strike: Decimal
    expiration: date
    underlying_price: Decimal
    extrinsic: Decimal | None  # per share; None without a mark
    dividend: Decimal | None  # per share
    ex_date: date | None  # ex-dividend only

    def label(self, today: date) -> str:
        """`AAPL 12/18 150C` (with the year when it is not `today`'s)."""
        return OptionSymbol(self.underlying, self.expiration, self.right, self.strike).label(today)

    def key(self, today: date) -> str:
        """Once per position, reason and New York day."""
        return f"assignment:{self.reason}:{self.position}:{today.isoformat()}"

    def notification(self, now: datetime) -> Notification:
        label = self.label(now.astimezone(NEW_YORK).date())
        intrinsic = (
            self.underlying_price - self.strike
            if self.right == "C"
            else self.strike - self.underlying_price
        )
        contracts = f"{abs(self.quantity).normalize():f}"
        if self.reason == "ex-dividend":
            assert self.ex_date is not None and self.dividend is not None
            extrinsic = self.extrinsic if self.extrinsic is not None else Decimal(0)
            body = (
                f"Short {contracts} {label} is ${intrinsic:,.2f} in the money with "
                f"${max(extrinsic, Decimal(0)):,.2f} extrinsic, less than the ${self.dividend:,.2f} "
                f"dividend; ex-dividend {self.ex_date:%a} {self.ex_date.month}/{self.ex_date.day}: "
                "early assignment is likely at today's close"
            )
        else:
            where = (
                f"${intrinsic:,.2f} in the money" if intrinsic > 0 else "within 1% of the strike"
            )
            body = (
                f"Short {contracts} {label} expires today {where} "
                f"({self.underlying} ${self.underlying_price:,.2f}): assignment is likely unless closed"
            )
        data: dict[str, Any] = {
            "symbol": self.underlying,
            "position": self.position,
            "reason": self.reason,
            "quantity": float(self.quantity),
            "strike": float(self.strike),
            "underlying_price": float(self.underlying_price),
            "extrinsic": float(self.extrinsic) if self.extrinsic is not None else None,
            "dividend": float(self.dividend) if self.dividend is not None else None,
        }
        if self.reason == "ex-dividend":
            data["ex_date"] = self.ex_date.isoformat() if self.ex_date else None
        else:
            data["expires_at"] = self.expiration.isoformat()
        return Notification(
            "assignment_risk",
            f"Assignment risk: {label}",
            body,
            data,
            created_at=now.astimezone(UTC),
        )


def _short_options(positions: list[Position]) -> list[tuple[Position, OptionSymbol]]:
    found = []
    for p in positions:
        occ = parse_occ(p.symbol) if p.is_option and p.quantity < 0 else None
        if occ is not None:
            found.append((p, occ))
    return found


def _expiration(position: Position, occ: OptionSymbol) -> date:
    if position.expires_at is not None:
        return position.expires_at.astimezone(NEW_YORK).date()
    return occ.expiration


def underlyings_to_price(positions: list[Position], today: date) -> list[str]:
    """Underlyings whose price the warnings need: those of short calls (dividends) and
    of short options expiring today. Empty: nothing to look at, no request."""
    wanted = [
        p.underlying_symbol
        for p, occ in _short_options(positions)
        if occ.right == "C" or _expiration(p, occ) == today
    ]
    return list(dict.fromkeys(wanted))


def calls_for_dividends(positions: list[Position], prices: dict[str, Decimal]) -> list[str]:
    """Underlyings with a short call in the money: their dividend dates are needed."""
    wanted = [
        p.underlying_symbol
        for p, occ in _short_options(positions)
        if occ.right == "C"
        and p.underlying_symbol in prices
        and prices[p.underlying_symbol] > occ.strike
    ]
    return list(dict.fromkeys(wanted))


def assignment_risks(
    positions: list[Position],
    prices: dict[str, Decimal],
    marks: dict[str, Decimal],
    dividends: dict[str, MarketMetric],
    today: date,
    next_session: date | None,
) -> list[AssignmentRisk]:
    """The warnings for `positions` today. `prices`: underlying prices; `marks`: option
    marks per share; `dividends`: metrics with the ex-dividend date and amount per
    underlying; `next_session`: the next NYSE session after today (None: not needed,
    no short call in the money)."""
    risks: list[AssignmentRisk] = []
    for p, occ in _short_options(positions):
        price = prices.get(p.underlying_symbol)
        if price is None:
            continue
        strike = occ.strike
        intrinsic = price - strike if occ.right == "C" else strike - price
        mark = marks.get(p.symbol)
        extrinsic = mark - max(intrinsic, Decimal(0)) if mark is not None else None
        expires = _expiration(p, occ)
        metric = dividends.get(p.underlying_symbol)
        dividend = metric.dividend_amount if metric else None
        ex_date = metric.ex_dividend_date if metric else None

        base = AssignmentRisk(
            "expiration",
            p.symbol,
            p.underlying_symbol,
            p.quantity,
            occ.right,
            strike,
            expires,
            price,
            extrinsic,
            dividend,
            None,
        )
        if (
            occ.right == "C"
            and intrinsic > 0
            and extrinsic is not None
            and dividend is not None
            and dividend > 0
            and ex_date is not None
            and next_session is not None
            and ex_date == next_session
            and expires >= today
            and extrinsic < dividend
        ):
            risks.append(replace(base, reason="ex-dividend", ex_date=ex_date))
        if expires == today and (intrinsic > 0 or abs(price - strike) <= strike * NEAR_STRIKE):
            risks.append(base)
    return risks
