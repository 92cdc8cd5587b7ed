"""Which market an instrument trades on, and so whose hours its alerts keep.

- `equity`: stocks, ETFs, indices and equity options follow NYSE's regular hours;
- `futures`: futures and futures options (`/ES`, `/ESZ6`, `./ESZ6 EW4Z6 261218C6000`)
  follow CME Globex (Sunday 18:00 to Friday 17:00 New York, the daily 17:00-18:00 halt);
- `crypto`: cryptocurrencies (`BTC/USD`) never close.

`market_of` is the one place that decides; it is called per alert on every cycle, so
the common case (a symbol without a slash: a stock, an OCC option, an account-level
alert's empty symbol) costs one substring test. Nothing here imports more than `re`.
"""

from __future__ import annotations

import re

EQUITY = "equity"
FUTURES = "futures"
CRYPTO = "crypto"
MARKETS = (EQUITY, FUTURES, CRYPTO)
EQUITY_ONLY = frozenset({EQUITY})
# how a reason or a status line names each market
LABELS = {EQUITY: "NYSE", FUTURES: "futures (CME Globex)", CRYPTO: "crypto"}

# tastytrade's instrument types
_BY_TYPE = {
    "Equity": EQUITY,
    "Equity Option": EQUITY,
    "Equity Offering": EQUITY,
    "Index": EQUITY,
    "Future": FUTURES,
    "Future Option": FUTURES,
    "Cryptocurrency": CRYPTO,
}
_CRYPTO = re.compile(r"^[A-Z0-9]{2,10}/[A-Z]{3,4}$")  # BTC/USD; BRK/B is a share class


def market_of(symbol: str, instrument_type: str | None = None) -> str:
    """The market whose hours `symbol` keeps: `equity`, `futures` or `crypto`.

    tastytrade's instrument type decides when it is given and known (`Future`, `Future
    Option`, `Cryptocurrency`, `Equity`, `Equity Option`, `Index`); otherwise the
    symbol's shape: `/ES`, `/ESZ6` and `./ESZ6 EW4Z6 261218C6000` are futures, `BTC/USD`
    crypto, everything else (stocks, `BRK/B`, OCC options, indices, and the empty symbol
    of an account-level alert) equity."""
    if instrument_type is not None:
        known = _BY_TYPE.get(instrument_type)
        if known is not None:
            return known
    if "/" not in symbol:
        return EQUITY
    text = symbol.strip()
    if text.startswith(("/", "./")):
        return FUTURES
    return CRYPTO if _CRYPTO.match(text.upper()) else EQUITY
