"""Alert kinds, their conditions, and validating what the user typed.

| type | conditions | threshold | fires when (boundary included) |
|---|---|---|---|
| price | above, below | a price > 0 | last (else mark) >= / <= threshold |
| change | above, below | percent, may be negative | % change vs the previous close >= / <= threshold |
| iv-rank | above, below | 0-100 | IV rank (percent) >= / <= threshold |
| delta | above | 0-1 | abs(delta) of an option position on the symbol >= threshold |
| dte | below | whole days >= 0 | an option or futures position on the symbol expires within N days (0: today; a future: a roll reminder) |
| pnl | profit, loss | percent > 0 | a position's P&L % >= threshold (profit) or <= -threshold (loss) |
| tested | within | percent, 0-100 | the underlying is within PCT % of a short strike of a strategy on it, or through it |
| earnings | within | whole days >= 0 | the symbol reports earnings 0..N New York days from today |
| bp-usage * | above | percent, 0 < PCT <= 1000 | maintenance requirement / NLV x 100 >= threshold |
| drawdown * | above | percent, 0 < PCT <= 100 | NLV is that far below the highest NLV seen in 30 days |
| theta * | below | dollars per day | the portfolio's theta <= threshold |
| beta-delta * | above, below | SPY-equivalent shares | beta-weighted delta >= / <= threshold |

`*` account-level: no SYMBOL (stored as ""; shown as `account`, `null` in JSON).
`alerts check` (the fast path) evaluates price, change and iv-rank; `monitor` all kinds.

Strategy alerts (`--strategy EXPIRATION`, on pnl, dte and tested only; SYMBOL is the
underlying): bound to the strategy on SYMBOL whose expiration (the nearest of its legs',
the date in its name: `TSLA short strangle 1/15`) is that day. pnl is then the strategy's
P&L as a percent of its credit (of its debit for a debit strategy), dte its days to that
expiration, tested its short strikes only. A tested alert without `--strategy` watches
every strategy on SYMBOL. EXPIRATION is written as a trader types it (`parse_expiration`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from ttai_cli.broker.symbols import normalize, parse_option
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
    "tested": ("within",),
    "earnings": ("within",),
    "bp-usage": ("above",),
    "drawdown": ("above",),
    "theta": ("below",),
    "beta-delta": ("above", "below"),
}
# what THRESHOLD is, per kind, as usage lines name it
THRESHOLDS: dict[str, str] = {
    "price": "PRICE",
    "change": "PCT",
    "iv-rank": "RANK",
    "delta": "DELTA",
    "dte": "DAYS",
    "pnl": "PCT",
    "tested": "PCT",
    "earnings": "DAYS",
    "bp-usage": "PCT",
    "drawdown": "PCT",
    "theta": "DOLLARS",
    "beta-delta": "SHARES",
}
FAST_TYPES = ("price", "change", "iv-rank")
POSITION_TYPES = ("delta", "dte", "pnl")
# the kinds `--strategy EXPIRATION` binds to one strategy (tested: optional, else every one)
STRATEGY_TYPES = ("pnl", "dte", "tested")
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
    strategy: date | None = None  # the bound strategy's expiration


def is_account_level(kind: str) -> bool:
    return kind in ACCOUNT_TYPES


def parse_alert(
    symbol: str | None,
    kind: str,
    condition: str,
    threshold: str,
    note: str | None = None,
    repeat_after: timedelta | None = None,
    strategy: str | None = None,
    today: date | None = None,
) -> AlertSpec:
    """Validate an `alerts add`; every problem is one `UsageError` line (exit 2).

    `symbol` is None (or blank) for the account-level kinds, which refuse one; every
    other kind needs one. `strategy`: the `--strategy` EXPIRATION as typed (pnl, dte and
    tested only), resolved against `today`, the New York date (`parse_expiration`);
    whether a strategy expires then is the broker's to say (`AlertsService.add_checked`)."""
    kind = kind.strip().lower()
    if kind not in CONDITIONS:
        raise UsageError(f"unknown alert type {kind!r} (choose from {', '.join(CONDITIONS)})")
    symbol = symbol.strip() if symbol is not None else ""
    if symbol.lower() in CONDITIONS and symbol.lower() != kind:
        # `alerts add bp-usage above 50` without --type: not a symbol called BP-USAGE
        meant = symbol.lower()
        raise UsageError(
            f"{symbol!r} is an alert type, not a symbol: did you mean "
            f"ttai alerts add --type {meant} {condition.strip() or CONDITIONS[meant][0]} "
            f"{threshold.strip() or THRESHOLDS[meant]}?"
        )
    if is_account_level(kind) and symbol:
        raise UsageError(
            f"{_article(kind)} {kind} alert is about the whole account and takes no SYMBOL: "
            f"ttai alerts add --type {kind} {CONDITIONS[kind][0]} {THRESHOLDS[kind]}"
        )
    if not is_account_level(kind) and not symbol:
        typed = f" --type {kind}" if kind != "price" else ""
        if threshold.strip().lower() in CONDITIONS[kind]:
            # `alerts add TSLA above`: SYMBOL CONDITION, read as CONDITION THRESHOLD
            raise UsageError(
                f"{_article(kind)} {kind} alert needs a threshold: ttai alerts add "
                f"{condition.strip()}{typed} {threshold.strip().lower()} {THRESHOLDS[kind]}"
            )
        raise UsageError(
            f"{_article(kind)} {kind} alert needs SYMBOL CONDITION THRESHOLD "
            f"(e.g. ttai alerts add AAPL{typed} {CONDITIONS[kind][0]} {THRESHOLDS[kind]})"
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
    if kind == "tested" and not 0 <= value <= 100:
        raise UsageError(
            "a tested threshold is a percentage from 0 to 100 (how near the underlying is "
            "to a short strike; 0: at or through it)"
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
    if strategy is not None and kind not in STRATEGY_TYPES:
        raise UsageError(
            f"--strategy binds pnl, dte and tested alerts to a strategy, not {_article(kind)} "
            f"{kind} alert"
        )
    stored = "" if is_account_level(kind) else normalize(symbol)
    option = parse_option(stored) if strategy is not None or kind == "tested" else None
    if option is not None:  # strategies are found by underlying
        what = "--strategy" if strategy is not None else "a tested alert"
        raise UsageError(
            f"{what} takes the underlying ({option.root.strip()}), not an option symbol"
        )
    expiration = parse_expiration(strategy, today) if strategy is not None else None
    return AlertSpec(stored, kind, condition, value, note or None, repeat_after, expiration)


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


# -- EXPIRATION as a trader types it ---------------------------------------------------------
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_NUMERIC = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
_MONTH_DAY = re.compile(r"^([a-z]{3,9})\.?[ -]?(\d{1,2})(?:(?:,? |/|'|-)(\d{2}|\d{4}))?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})[ -]?([a-z]{3,9})(?:[ -]?(\d{2}|\d{4}))?$")
EXPIRATION_FORMS = "2027-01-15, 1/15, 1/15/27 or jan15"


def _month(word: str) -> int | None:
    """1-12 for `jan`, `Sept`, `january`: a month name or its start (3 letters or more)."""
    for number, month in enumerate(MONTHS, start=1):
        if month.startswith(word):
            return number
    return None


def parse_expiration(text: str, today: date | None = None) -> date:
    """An expiration as a trader types it; `UsageError` (exit 2) for anything else.

    Accepted: `2027-01-15` (ISO), `1/15`, `1/15/27`, `1/15/2027`, `jan15`, `Jan 15`,
    `jan15/27`, `Jan 15, 2027` and `15JAN27` (any case; month names in English, three
    letters or more). A date without a year is the next such date on or after `today`
    (the New York date; default now): `1/15` typed on 1/16/26 is 1/15/27, typed on 1/15
    it is that very day. A date with a year must not be in the past."""
    if today is None:
        from ttai_cli.clock import NEW_YORK

        today = datetime.now(NEW_YORK).date()
    raw = text
    text = " ".join(text.strip().lower().split())
    month: int | None = None
    day = year = ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        year, month_text, day = text.split("-")
        month = int(month_text)
    elif match := _NUMERIC.match(text):
        month, day, year = int(match[1]), match[2], match[3] or ""
    elif match := _MONTH_DAY.match(text):
        month, day, year = _month(match[1]), match[2], match[3] or ""
    elif match := _DAY_MONTH.match(text):
        month, day, year = _month(match[2]), match[1], match[3] or ""
    if month is None or not day:
        raise UsageError(f"--strategy {raw!r} is not an expiration date (e.g. {EXPIRATION_FORMS})")
    if year:
        full_year = int(year) + (2000 if len(year) == 2 else 0)
        try:
            found = date(full_year, month, int(day))
        except ValueError:
            raise UsageError(f"--strategy {raw!r}: no such date") from None
        if found < today:
            raise UsageError(f"--strategy {raw!r} is in the past")
        return found
    # the next such date on or after today; Feb 29 waits for a leap year (8 years at most)
    for year_number in range(today.year, today.year + 9):
        try:
            found = date(year_number, month, int(day))
        except ValueError:
            continue
        if found >= today:
            return found
    raise UsageError(f"--strategy {raw!r}: no such date")
