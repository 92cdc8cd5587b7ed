"""Symbol normalisation and classification, without the SDK.

tastytrade's `/market-data/by-type` wants symbols grouped by instrument type, so every
symbol is classified from its shape:

- `./ESZ6 EW4Z6 261218C6000` future option, `/ESZ6` future,
- `SPY   261218P00450000` equity option (OCC: root padded to 6, YYMMDD, C/P, strike x1000),
- `BTC/USD` cryptocurrency (but `BRK/B` is a share class), `SPX` and friends index, anything else equity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ttai_cli.errors import UsageError

INDEX_SYMBOLS = frozenset({"SPX", "SPXW", "NDX", "RUT", "VIX", "XSP", "DJX", "OEX", "XEO"})
_OCC = re.compile(r"^([A-Z0-9.]{1,6})\s*(\d{6})([CP])(\d{8})$")
_EQUITY = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}(/[A-Z])?$")  # BRK/B: a share class
_FUTURE = re.compile(r"^/[A-Z0-9]{1,8}$")
_FUTURE_OPTION = re.compile(r"^\./[A-Z0-9]{1,8} +[A-Z0-9]{1,8} +\d{6}[CP][0-9.]+$")
_CRYPTO = re.compile(r"^[A-Z0-9]{2,10}/[A-Z]{3,4}$")

# by-type query parameter per kind
KINDS = ("equity", "equity-option", "future", "future-option", "index", "cryptocurrency")


def normalize(raw: str) -> str:
    """Upper-case, trim, and pad OCC option roots; raise `UsageError` for junk."""
    symbol = " ".join(raw.strip().upper().split())
    if not symbol:
        raise UsageError("empty symbol")
    occ = _OCC.match(symbol)
    if occ:
        root, ymd, right, strike = occ.groups()
        return f"{root:<6}{ymd}{right}{strike}"
    if symbol.startswith("./") and _FUTURE_OPTION.match(symbol):
        return symbol
    if _FUTURE.match(symbol) or _CRYPTO.match(symbol) or _EQUITY.match(symbol):
        return symbol
    raise UsageError(f"not a valid symbol: {raw.strip()!r}")


def kind_of(symbol: str) -> str:
    """The by-type parameter name for an already normalised symbol."""
    if symbol.startswith("./"):
        return "future-option"
    if symbol.startswith("/"):
        return "future"
    if _OCC.match(symbol):
        return "equity-option"
    if _CRYPTO.match(symbol):
        return "cryptocurrency"
    if symbol in INDEX_SYMBOLS:
        return "index"
    return "equity"


@dataclass(frozen=True)
class OptionSymbol:
    root: str
    expiration: date
    right: str  # "C" or "P"
    strike: Decimal

    def label(self, today: date | None = None) -> str:
        """`SPY 11/28 450P`: how a trader says it (see `readable`)."""
        return _option_label(self.root, self.expiration, self.right, self.strike, today)


def parse_occ(symbol: str) -> OptionSymbol | None:
    """Split an OCC equity option symbol, or None for anything else."""
    occ = _OCC.match(symbol.strip().upper())
    if not occ:
        return None
    root, ymd, right, strike = occ.groups()
    try:
        expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:  # the shape of an OCC symbol with an impossible date
        return None
    return OptionSymbol(root, expiration, right, Decimal(strike) / 1000)


def _today() -> date:
    from ttai_cli.clock import NEW_YORK  # light, but only needed without an injected date

    return datetime.now(NEW_YORK).date()


def short_date(day: date, today: date | None = None) -> str:
    """A date as traders write an expiration: `1/15`, with the year when it is not
    `today`'s (`1/15/27`). `today` is the New York date (default: now)."""
    year = "" if day.year == (today or _today()).year else f"/{day:%y}"
    return f"{day.month}/{day.day}{year}"


def _option_label(
    root: str, expiration: date, right: str, strike: Decimal, today: date | None
) -> str:
    return f"{root} {short_date(expiration, today)} {strike.normalize():f}{right}"


_FUTURE_OPTION_PARTS = re.compile(r"^\./([A-Z0-9]{1,8}) +[A-Z0-9]{1,8} +(\d{6})([CP])([0-9.]+)$")


def parse_option(symbol: str) -> OptionSymbol | None:
    """An equity option (OCC) or a futures option (`./ESZ6 EW4Z6 261218C6000`, root
    `/ESZ6`: the future it exercises into) split into its parts; None for anything else
    or a malformed date or strike."""
    occ = parse_occ(symbol)
    if occ is not None:
        return occ
    future = _FUTURE_OPTION_PARTS.match(" ".join(symbol.strip().upper().split()))
    if future is None:
        return None
    root, ymd, right, strike = future.groups()
    try:
        expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
        return OptionSymbol(f"/{root}", expiration, right, Decimal(strike))
    except (ValueError, ArithmeticError):
        return None


def readable(symbol: str, today: date | None = None) -> str:
    """The name a person reads for a symbol: an OCC equity option `QQQ   261127P00465000`
    is `QQQ 11/27 465P` (expiration, then strike and right, as traders say it), with the
    year when it expires in another year than `today` (`QQQ 1/15/27 465P`); a futures
    option `./ESZ6 EW4Z6 261218C6000` is `/ESZ6 12/18 6000C`. Anything else comes back
    trimmed (`AAPL`, `/ESZ6`, and the empty symbol of an account-level alert as "").
    `today` is the New York date (default: now); machine output keeps the OCC symbol."""
    text = symbol.strip()
    occ = parse_occ(text)
    if occ is not None:
        return occ.label(today)
    future = _FUTURE_OPTION_PARTS.match(" ".join(text.upper().split()))
    if future is not None:
        root, ymd, right, strike = future.groups()
        try:
            expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
            return _option_label(f"/{root}", expiration, right, Decimal(strike), today)
        except (ValueError, ArithmeticError):  # a malformed date or strike: show it as it is
            return text
    return text


def occ_symbol(root: str, expiration: date, right: str, strike: Decimal) -> str:
    return f"{root:<6}{expiration:%y%m%d}{right}{int(strike * 1000):08d}"


_STREAMER_OPTION = re.compile(r"^\.([A-Z0-9]{1,6})(\d{6})([CP])(\d+(?:\.\d+)?)$")


def streamer_symbol(occ: str) -> str | None:
    """The DXLink symbol of an OCC equity option: `SPY   261218P00450000` -> `.SPY261218P450`."""
    parsed = parse_occ(occ)
    if parsed is None:
        return None
    strike = f"{parsed.strike.normalize():f}"
    return f".{parsed.root.strip()}{parsed.expiration:%y%m%d}{parsed.right}{strike}"


def occ_from_streamer(symbol: str) -> str | None:
    """The OCC symbol of a DXLink equity option symbol, or None."""
    match = _STREAMER_OPTION.match(symbol)
    if not match:
        return None
    root, ymd, right, strike = match.groups()
    expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    return occ_symbol(root, expiration, right, Decimal(strike))
