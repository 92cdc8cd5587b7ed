"""Alert kinds, their conditions, and validating what the user typed.

| type | conditions | threshold | fires when (boundary included) |
|---|---|---|---|
| price | above, below | a price > 0 | last (else mark) >= / <= threshold |
| change | above, below | percent, may be negative | % change vs the previous close >= / <= threshold |
| iv-rank | above, below | 0-100 | IV rank (percent) >= / <= threshold |
| delta | above | 0-1 | abs(delta) of an option position on the symbol >= threshold |
| dte | below | whole days >= 0 | an option position on the symbol expires within N days (0: today) |
| pnl | profit, loss | percent > 0 | a position's P&L % >= threshold (profit) or <= -threshold (loss) |
| earnings | within | whole days >= 0 | the symbol reports earnings 0..N New York days from today |
| bp-usage * | above | percent, 0 < PCT <= 1000 | maintenance requirement / NLV x 100 >= threshold |
| drawdown * | above | percent, 0 < PCT <= 100 | NLV is that far below the highest NLV seen in 30 days |
| theta * | below | dollars per day | the portfolio's theta <= threshold |
| beta-delta * | above, below | SPY-equivalent shares | beta-weighted delta >= / <= threshold |

`*` account-level: no SYMBOL (stored as ""; shown as `account`, `null` in JSON).
`alerts check` (the fast path) evaluates price, change and iv-rank; `monitor` all kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from ttai_cli.broker.symbols import normalize
from ttai_cli.errors import UsageError

# No price, percentage or day count comes near this; it keeps thresholds finite as floats.
MAX_THRESHOLD = Decimal("1e12")

CONDITIONS: dict[str, tuple[str, ...]] = {
    "price": ("above", "below"),
    "change": ("above", "below"),
    "iv-rank": ("above", "below"),
    "delta": ("above",),
    "dte": ("below",),
    "pnl": ("profit", "loss"),
    "earnings": ("within",),
    "bp-usage": ("above",),
    "drawdown": ("above",),
    "theta": ("below",),
    "beta-delta": ("above", "below"),
}
FAST_TYPES = ("price", "change", "iv-rank")
POSITION_TYPES = ("delta", "dte", "pnl")
# about the whole account: they take no SYMBOL, and are stored with the symbol ""
ACCOUNT_TYPES = ("bp-usage", "drawdown", "theta", "beta-delta")
# the portfolio's Greeks (one risk snapshot: positions, quotes, streamed Greeks)
RISK_TYPES = ("theta", "beta-delta")


@dataclass(frozen=True)
class AlertSpec:
    symbol: str
    type: str
    condition: str
    threshold: Decimal
    note: str | None = None
    repeat_after: timedelta | None = None


def is_account_level(kind: str) -> bool:
    return kind in ACCOUNT_TYPES


def parse_alert(
    symbol: str | None,
    kind: str,
    condition: str,
    threshold: str,
    note: str | None = None,
    repeat_after: timedelta | None = None,
) -> AlertSpec:
    """Validate an `alerts add`; every problem is one `UsageError` line (exit 2).

    `symbol` is None (or blank) for the account-level kinds, which refuse one; every
    other kind needs one."""
    kind = kind.strip().lower()
    if kind not in CONDITIONS:
        raise UsageError(f"unknown alert type {kind!r} (choose from {', '.join(CONDITIONS)})")
    symbol = symbol.strip() if symbol is not None else ""
    if symbol.lower() in CONDITIONS and symbol.lower() != kind:
        # `alerts add bp-usage above 50` without --type: not a symbol called BP-USAGE
        raise UsageError(
            f"{symbol!r} is an alert type, not a symbol: did you mean "
            f"`ttai alerts add --type {symbol.lower()} ...`?"
        )
    if is_account_level(kind) and symbol:
        raise UsageError(
            f"{_article(kind)} {kind} alert is about the whole account and takes no SYMBOL: "
            f"ttai alerts add --type {kind} {CONDITIONS[kind][0]} THRESHOLD"
        )
    if not is_account_level(kind) and not symbol:
        raise UsageError(
            f"{_article(kind)} {kind} alert needs SYMBOL CONDITION THRESHOLD "
            f"(e.g. ttai alerts add AAPL --type {kind} {CONDITIONS[kind][0]} ...)"
        )
    condition = condition.strip().lower()
    if condition not in CONDITIONS[kind]:
        raise UsageError(
            f"{_article(kind)} {kind} alert takes {' or '.join(CONDITIONS[kind])}, not {condition!r}"
        )
    try:
        value = Decimal(threshold.strip())
    except InvalidOperation:
        raise UsageError(f"threshold {threshold!r} is not a number") from None
    if not value.is_finite():
        raise UsageError(f"threshold {threshold!r} is not a number")
    if abs(value) >= MAX_THRESHOLD:  # 1e400 is a Decimal but no float (JSON, comparisons)
        raise UsageError(f"threshold {threshold!r} is too large")
    if kind == "price" and value <= 0:
        raise UsageError("a price threshold must be more than 0")
    if kind == "iv-rank" and not 0 <= value <= 100:
        raise UsageError("an IV rank threshold is a percentage from 0 to 100")
    if kind == "delta" and not 0 < value <= 1:
        raise UsageError("a delta threshold is between 0 and 1 (absolute delta, e.g. 0.30)")
    if kind == "dte" and (value < 0 or value != value.to_integral_value()):
        raise UsageError("a dte threshold is a whole number of days, 0 or more")
    if kind == "pnl" and value <= 0:
        raise UsageError(
            "a pnl threshold is a percentage above 0 (use profit or loss for the direction)"
        )
    if kind == "earnings" and (value < 0 or value != value.to_integral_value()):
        raise UsageError("an earnings threshold is a whole number of days, 0 or more")
    if kind == "bp-usage" and not 0 < value <= 1000:
        raise UsageError(
            "a bp-usage threshold is a percentage of the net liquidating value, above 0 and at most 1000"
        )
    if kind == "drawdown" and not 0 < value <= 100:
        raise UsageError("a drawdown threshold is a percentage above 0 and at most 100")
    if note is not None and len(note) > 500:
        raise UsageError("--note is limited to 500 characters")
    stored = "" if is_account_level(kind) else normalize(symbol)
    return AlertSpec(stored, kind, condition, value, note or None, repeat_after)


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"
