"""The morning briefing's to-do list ("To do"): what a premium seller acts on today.

Pure (no I/O): `action_items(strategies, events, fired, manage, today)` returns one
`ActionItem` per line; `briefings.py` puts them first in the morning briefing. This
module puts the list together; its parts:
- `actions_rules.py`: why a strategy is on the list (close, expiring, ex-dividend,
  tested, manage, earnings, in that order of priority) and what each reason says;
- `actions_alerts.py`: the fired alerts, folded into a strategy's line or one line each;
- `actions_lines.py`: the `ActionItem` and how its figures read on a phone.

Each strategy is one line, whatever number of reasons it has: the reason first in
priority leads, the others follow as short notes (`Manage or roll TSLA short strangle
12/18: 17 DTE, +12%; earnings Mon 12/7`), but for what the lead already says (see
`actions_rules.py`).

Strategies are ordered by their leading reason's priority, then soonest expiration,
then name. An alert about a strategy that has a line ends that line with a short note
(`Close SPY iron condor 12/31: ...; alerts #4, #6 fired`); after the strategies come
the other alerts fired since the last briefing, one line per alert, the most pressing
first, at most MAX_ALERT_LINES of them, then how many more fired (`actions_alerts.py`).
Lines are plain text (a phone shows no Markdown). With no items the briefing says
`To do: nothing today`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from ttai_cli.services.actions_alerts import alert_items, fold_alerts
from ttai_cli.services.actions_lines import ActionItem
from ttai_cli.services.actions_rules import IMPLIED, PRIORITY, reasons

if TYPE_CHECKING:
    from ttai_cli.config_file import ManageDefaults
    from ttai_cli.services.risk import EventDate
    from ttai_cli.store.alerts import FiredEvent
    from ttai_cli.strategies import Strategy

NOTHING = "To do: nothing today"


def strategy_item(
    strategy: Strategy,
    events: Sequence[EventDate],
    manage: ManageDefaults,
    today: date,
) -> ActionItem | None:
    """`strategy`'s line of the to-do list, or None when there is nothing to do about it
    (the same line the morning briefing shows; `ttai ask`'s strategies tool gives it to
    the model)."""
    found = reasons(strategy, events, manage, today)
    if not found:
        return None
    lead, *rest = found
    implied = {kind for r in found for kind in IMPLIED.get(r.kind, ())}
    text = "; ".join([lead.lead, *(r.note for r in rest if r.kind not in implied)])
    return ActionItem(
        lead.kind,
        text,
        strategy.label,
        tuple(r.kind for r in found),
        {
            "underlying": strategy.underlying,
            "expiration": strategy.expiration.isoformat() if strategy.expiration else None,
            "legs": strategy.symbols,
        },
    )


def action_items(
    strategies: Sequence[Strategy],
    events: Sequence[EventDate],
    fired: Sequence[FiredEvent],
    manage: ManageDefaults,
    today: date,
    *,
    since: datetime | None = None,
) -> list[ActionItem]:
    """The to-do list (see the module docstring). `events`: the held underlyings'
    earnings and ex-dividend dates (`RiskReport.events`); `fired`: the alerts fired
    since the last briefing, `since` being when that was (for the "more" line)."""
    ranked: list[tuple[int, date, str, Strategy, ActionItem]] = []
    for strategy in strategies:
        item = strategy_item(strategy, events, manage, today)
        if item is not None:
            ranked.append(
                (
                    PRIORITY.index(item.kind),
                    strategy.expiration or date.max,
                    strategy.label,
                    strategy,
                    item,
                )
            )
    ranked.sort(key=lambda r: r[:3])
    items, rest = fold_alerts([(strategy, item) for *_, strategy, item in ranked], fired)
    return items + alert_items(rest, today, since)
