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
from datetime import date
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

    def short_label(self) -> str:
        """`SPY 450P 11/28`: how a trader says it."""
        strike = f"{self.strike.normalize():f}"
        return f"{self.root} {strike}{self.right} {self.expiration.month}/{self.expiration.day}"


def parse_occ(symbol: str) -> OptionSymbol | None:
    """Split an OCC equity option symbol, or None for anything else."""
    occ = _OCC.match(symbol.strip().upper())
    if not occ:
        return None
    root, ymd, right, strike = occ.groups()
    expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    return OptionSymbol(root, expiration, right, Decimal(strike) / 1000)


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


def readable(symbol: str, today: date | None = None) -> str:
    """How a person reads a symbol: an OCC equity option becomes `QQQ 11/27 465P`, with
    the year when it is not `today`'s (`QQQ 1/15/27 465P`); anything else is returned
    with its spaces collapsed. `today` defaults to the machine's date."""
    option = parse_occ(symbol)
    if option is None:
        return " ".join(symbol.split())
    expiration = option.expiration
    day = f"{expiration.month}/{expiration.day}"
    if expiration.year != (today or date.today()).year:
        day += f"/{expiration:%y}"
    return f"{option.root.strip()} {day} {option.strike.normalize():f}{option.right}"
