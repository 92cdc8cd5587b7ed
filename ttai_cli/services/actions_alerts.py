"""The to-do list's fired alerts (`services/actions.py`): folding the alerts about a
strategy into that strategy's line, and one line for each other alert.

Pure (no I/O). An alert about a strategy that has a line (bound to it with
`--strategy`, or firing for one of its legs) gets no line of its own: its line ends
with a short note instead (`Close SPY iron condor 12/31: ...; alerts #4, #6 fired`).
The others come after the strategies, one line per alert, however often it fired (its
latest firing, `×N` when it fired N times): the most pressing first (tested and
strategy alerts, then those on positions and the account, then price, change, IV rank
and earnings alerts), newest first within each. At most MAX_ALERT_LINES of them, then
one line saying how many more alerts fired (`since` the last briefing's time only when
no line shows that time already).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from ttai_cli.services.actions_lines import ActionItem, at

if TYPE_CHECKING:
    from ttai_cli.store.alerts import FiredEvent
    from ttai_cli.strategies import Strategy

MAX_ALERT_LINES = 5

# how pressing a fired alert is, by kind (a strategy-bound alert ranks with `tested`)
_STRATEGY_ALERTS = 0
_POSITION_ALERTS = 1  # on positions or the whole account
_MARKET_ALERTS = 2
_MARKET_KINDS = ("price", "change", "iv-rank", "earnings")


def _about(event: FiredEvent, strategy: Strategy) -> bool:
    """Whether a fired alert is about `strategy`: bound to it (`--strategy`), or about
    one of its legs (a plain pnl / dte / delta alert firing for a leg, a tested alert)."""
    bound = event.strategy is not None and event.strategy == strategy.expiration
    if bound and event.symbol.strip() == strategy.underlying.strip():
        return True
    return bool(set(event.legs) & set(strategy.symbols))


def fold_alerts(
    lines: Sequence[tuple[Strategy, ActionItem]], fired: Sequence[FiredEvent]
) -> tuple[list[ActionItem], list[FiredEvent]]:
    """Each strategy's line (in the order given) with a note naming the fired alerts
    about it, not yet named on an earlier line; and the fired alerts left over, for
    lines of their own (`alert_items`)."""
    items: list[ActionItem] = []
    folded: set[int] = set()
    for strategy, item in lines:
        about = sorted(
            {e.alert_id for e in fired if e.alert_id not in folded and _about(e, strategy)}
        )
        if about:
            folded.update(about)
            ids = ", ".join(f"#{n}" for n in about)
            item = replace(
                item,
                text=f"{item.text}; alert{'s' if len(about) > 1 else ''} {ids} fired",
                data={**item.data, "alerts": about},
            )
        items.append(item)
    return items, [e for e in fired if e.alert_id not in folded]


def _alert_rank(event: FiredEvent) -> int:
    if event.type == "tested" or event.strategy is not None:
        return _STRATEGY_ALERTS
    return _MARKET_ALERTS if event.type in _MARKET_KINDS else _POSITION_ALERTS


def _fired_line(event: FiredEvent, times: int, today: date) -> str:
    """`Alert #1 fired 13:05: AAPL is now $244.39 (above $200.00)`; an alert that
    fired several times by its latest firing: `Alert #7 fired 13:05 (×3): ...`."""
    count = f" (×{times})" if times > 1 else ""
    return f"Alert #{event.alert_id} fired {at(event.fired_at, today)}{count}: {event.message}"


def alert_items(
    fired: Sequence[FiredEvent], today: date, since: datetime | None
) -> list[ActionItem]:
    """One line per alert (see the module docstring), then how many more fired."""
    latest: dict[int, FiredEvent] = {}
    times: dict[int, int] = {}
    for event in sorted(fired, key=lambda e: e.fired_at):
        latest[event.alert_id] = event
        times[event.alert_id] = times.get(event.alert_id, 0) + 1
    ordered = sorted(
        latest.values(),
        key=lambda e: (_alert_rank(e), -e.fired_at.timestamp(), e.alert_id),
    )
    items = [
        ActionItem(
            "alert",
            _fired_line(event, times[event.alert_id], today),
            data={
                "alert_id": event.alert_id,
                "symbol": event.symbol or None,
                "times": times[event.alert_id],
            },
        )
        for event in ordered[:MAX_ALERT_LINES]
    ]
    more = len(ordered) - MAX_ALERT_LINES
    if more > 0:
        # "since 13:50" under lines that each say "fired 13:50" adds nothing
        shown_at = {at(e.fired_at, today) for e in ordered[:MAX_ALERT_LINES]}
        after = ""
        if since is not None and at(since, today) not in shown_at:
            after = f" since {at(since, today)}"
        items.append(
            ActionItem(
                "alert",
                f"{more} more alert{'s' if more > 1 else ''} fired{after} "
                "(ttai alerts list --all shows them)",
                data={"more": more},
            )
        )
    return items
