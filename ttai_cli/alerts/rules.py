"""Alert kinds, their conditions, and validating what the user typed.

| type | conditions | threshold | fires when (boundary included) |
|---|---|---|---|
| price | above, below | a price > 0 | last (else mark) >= / <= threshold |
| change | above, below | percent, may be negative | % change vs the previous close >= / <= threshold |
| iv-rank | above, below | 0-100 | IV rank (percent) >= / <= threshold |
| delta | above | 0-1 | abs(delta) of an option position on the symbol >= threshold |
| dte | below | whole days >= 0 | an option position on the symbol expires within N days (0: today) |
| pnl | profit, loss | percent > 0 | a position's P&L % >= threshold (profit) or <= -threshold (loss) |

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
}
FAST_TYPES = ("price", "change", "iv-rank")
POSITION_TYPES = ("delta", "dte", "pnl")


@dataclass(frozen=True)
class AlertSpec:
    symbol: str
    type: str
    condition: str
    threshold: Decimal
    note: str | None = None
    repeat_after: timedelta | None = None


def parse_alert(
    symbol: str,
    kind: str,
    condition: str,
    threshold: str,
    note: str | None = None,
    repeat_after: timedelta | None = None,
) -> AlertSpec:
    """Validate an `alerts add`; every problem is one `UsageError` line (exit 2)."""
    kind = kind.strip().lower()
    if kind not in CONDITIONS:
        raise UsageError(f"unknown alert type {kind!r} (choose from {', '.join(CONDITIONS)})")
    condition = condition.strip().lower()
    if condition not in CONDITIONS[kind]:
        raise UsageError(f"a {kind} alert takes {' or '.join(CONDITIONS[kind])}, not {condition!r}")
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
    if note is not None and len(note) > 500:
        raise UsageError("--note is limited to 500 characters")
    return AlertSpec(normalize(symbol), kind, condition, value, note or None, repeat_after)
