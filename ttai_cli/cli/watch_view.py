"""Drawing `ttai watch`: the full-screen rich layout, and the plain snapshot.

The screen, top to bottom: a two-line header (account figures; NYSE clock, feed and
time), strategies (each with its legs beneath), alerts, jobs, notifications, and a
one-line footer with the keys. Space goes to strategies first: on a small pane (80x24)
the other sections shrink to a one-line summary each, then hide, before strategies
lose rows: first their legs (a strategy collapses to its own row, from the last up),
then the strategies themselves, the table ending with `… N more`. Nothing wraps: a
line too long is cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ttai_cli.cli.common import money
from ttai_cli.clock import NEW_YORK

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ttai_cli.services.watch_lines import (
        AlertLine,
        MarketClock,
        PositionLine,
        StrategyLine,
        WatchView,
    )

STRATEGY_HEADERS = ("Strategy / legs", "Qty", "Mark", "Day", "P&L", "P&L %", "DTE")
NUMBERS = {1, 2, 3, 4, 5, 6}  # the right-aligned columns
ALERT_HEADERS = ("Id", "Alert", "To trigger", "Note")
JOB_HEADERS = ("Job", "State", "Last", "Next run")


# -- shared text ------------------------------------------------------------------------------
def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def to_trigger(a: AlertLine) -> str:
    """What is left before an armed alert fires: `met` when its condition already holds
    (it fires on the alerts job's next check), else how far is left, never signed:
    "-2.4%" next to "SPY change" reads as today's move. Empty when not known."""
    if a.met:
        return "met"
    if a.distance_percent is None:
        return ""
    unit = " pts" if a.type == "change" else "%"  # a change alert's distance is in points
    return f"{abs(a.distance_percent):.1f}{unit} away"


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes >= 24 * 60:
        return f"{minutes // (24 * 60)}d {minutes % (24 * 60) // 60}h"
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _hm(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment.astimezone(NEW_YORK):%H:%M}"


def clock_text(market: MarketClock | None, now: datetime) -> str:
    if market is None:
        return "NYSE —"
    if market.open and market.closes_at is not None:
        early = " (early close)" if market.early_close else ""
        return (
            f"NYSE open, closes {_hm(market.closes_at)}{early} in {_span(market.closes_at - now)}"
        )
    opens = market.next_open.astimezone(NEW_YORK)
    return f"NYSE closed, opens {opens:%a %H:%M} in {_span(opens - now)}"


def account_text(view: WatchView) -> str:
    parts = [
        f"NLV {money(view.net_liquidating_value)}",
        f"Day {money(view.day_pnl, signed=True)}",
        "BP used "
        + (
            "—"
            if view.buying_power_used_percent is None
            else f"{view.buying_power_used_percent:.1f}%"
        ),
    ]
    if view.beta_weighted_delta is not None:
        parts.append(f"β-Δ {view.beta_weighted_delta:+,.0f} SPY")
    return "   ".join(parts)


def status_text(view: WatchView) -> str:
    feed = {"streaming": "live (stream)", "polling": "polling 5s", "snapshot": "snapshot"}
    parts = [clock_text(view.market, view.now), feed.get(view.source, view.source)]
    if view.stream_connected is not None:
        parts.append("ttai stream " + ("up" if view.stream_connected else "down"))
    parts.append(f"{view.now.astimezone(NEW_YORK):%H:%M:%S}")
    return " · ".join(parts)


def _leg_row(p: PositionLine) -> list[str]:
    return [
        f"  {p.name}",
        _qty(p.quantity),
        money(p.mark),
        money(p.day_change, signed=True),
        money(p.pnl, signed=True),
        _pct(p.pnl_percent),
        "",
    ]


def _strategy_row(s: StrategyLine) -> list[str]:
    """The strategy's figures; a one-leg strategy's row also carries the leg's quantity
    and mark (no leg row beneath it)."""
    alone = s.legs[0] if len(s.legs) == 1 else None
    return [
        s.label,
        _qty(alone.quantity) if alone else "",
        money(alone.mark) if alone else "",
        money(s.day_change, signed=True),
        money(s.pnl, signed=True),
        _pct(s.pnl_percent),
        "" if s.dte is None else str(s.dte),
    ]


def strategy_rows(view: WatchView, room: int | None = None) -> list[list[str]]:
    """A row per strategy with its legs' rows beneath. `room`: the rows there are
    (None: no limit). Strategies keep their legs, in order, while the rest still fits
    as one row each; when even one row each does not fit, the last row says
    `… N more`."""
    strategies = view.strategies
    if room is not None and len(strategies) > room:
        if room <= 0:
            return []
        shown = room - 1
        more = [f"… {len(strategies) - shown} more", *[""] * (len(STRATEGY_HEADERS) - 1)]
        return [_strategy_row(s) for s in strategies[:shown]] + [more]
    spare = None if room is None else room - len(strategies)
    rows: list[list[str]] = []
    for s in strategies:
        rows.append(_strategy_row(s))
        if len(s.legs) > 1 and (spare is None or spare >= len(s.legs)):
            rows.extend(_leg_row(leg) for leg in s.legs)
            if spare is not None:
                spare -= len(s.legs)
    return rows


def alert_label(a: AlertLine) -> str:
    threshold = f"{a.threshold.normalize():f}"
    if a.type == "price":
        threshold = money(a.threshold)
    elif a.type in ("change", "pnl", "bp-usage", "drawdown", "tested"):
        threshold += "%"
    return f"{a.symbol} {a.type} {a.condition} {threshold}"


def alert_rows(view: WatchView) -> list[list[str]]:
    return [
        [
            str(a.id),
            alert_label(a),
            to_trigger(a),
            a.note or "",
        ]
        for a in view.armed
    ]


def fired_rows(view: WatchView) -> list[str]:
    return [f"{_hm(f.fired_at)} #{f.alert_id} {f.message}" for f in view.fired_today]


def job_rows(view: WatchView) -> list[list[str]]:
    rows = []
    for j in view.jobs:
        last = j.last_result or "—"
        if j.last_error:
            last = f"{last}: {j.last_error}"
        if j.last_started_at is not None:
            last = f"{_hm(j.last_started_at)} {last}"
        rows.append([j.job, j.state, last, _hm(j.next_run_at)])
    return rows


def alerts_summary(view: WatchView) -> str:
    return f"Alerts: {len(view.armed)} armed, {len(view.fired_today)} fired today"


def jobs_summary(view: WatchView) -> str:
    if not view.jobs:
        return "Jobs: none has run yet"
    failing = [j.job for j in view.jobs if j.last_result == "error"]
    states = ", ".join(f"{j.job} {j.state}" for j in view.jobs if j.state != "idle")
    text = f"Jobs: {len(view.jobs)}"
    if failing:
        text += f", failing: {', '.join(failing)}"
    return text + (f" ({states})" if states else "")


def notifications_summary(view: WatchView) -> str:
    pending = sum(view.pending.values())
    text = "Notifications: "
    if pending:
        text += (
            f"{pending} pending (" + ", ".join(f"{d} {n}" for d, n in view.pending.items()) + ")"
        )
    else:
        text += "none pending"
    failed = sum(view.failed.values())
    return text + (f", {failed} failed" if failed else "")


# -- plain snapshot ---------------------------------------------------------------------------
def _columns(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(c) for c in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def plain(view: WatchView) -> str:
    """The whole view as plain text (no colour, no width limit): `ttai watch | cat`."""
    title = f"ttai watch {view.account_number or ''}".rstrip()
    out = [
        f"{title}  {view.now.astimezone(NEW_YORK):%Y-%m-%d %H:%M:%S %Z}",
        account_text(view),
        clock_text(view.market, view.now),
        "",
        f"Strategies ({len(view.strategies)})",
    ]
    rows = strategy_rows(view)
    out += _columns(STRATEGY_HEADERS, rows, NUMBERS) if rows else ["none"]
    out += ["", alerts_summary(view)]
    if view.armed:
        out += _columns(ALERT_HEADERS, alert_rows(view), {0, 2})
    if view.fired_today:
        out += ["Fired today:", *(f"  {line}" for line in fired_rows(view))]
    out += ["", jobs_summary(view)]
    if view.jobs:
        out += _columns(JOB_HEADERS, job_rows(view), set())
    if view.stream_connected is not None:
        out.append(f"ttai stream: market feed {'connected' if view.stream_connected else 'down'}")
    out += ["", notifications_summary(view)]
    return "\n".join(out) + "\n"


# -- the live screen --------------------------------------------------------------------------
def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int], width: int
) -> list[RenderableType]:
    """Aligned columns as one line each (a bold header first): drawing a rich `Table`
    costs ten times more, and the view redraws several times a second. Cells never
    wrap; a line longer than `width` is cut at the end (the last column, free text)."""
    from rich.text import Text

    widths = [max(len(c) for c in column) for column in zip(headers, *rows, strict=False)]
    last = len(headers) - 1

    def cells(row: Sequence[str]) -> str:
        text = "  ".join(
            c.rjust(w) if i in right else c if i == last else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        )
        return text.rstrip()

    lines: list[RenderableType] = [
        Text(cells(headers), style="bold", no_wrap=True, overflow="ellipsis")
    ]
    lines.extend(Text(cells(r), no_wrap=True, overflow="ellipsis") for r in rows)
    return lines


def render(view: WatchView, width: int, height: int, log_line: str | None = None) -> RenderableType:
    """The screen for a `width` x `height` terminal (see the module's docstring);
    `log_line`, the latest warning logged, goes in the footer."""
    from rich.console import Group
    from rich.text import Text

    def line(text: str, style: str = "") -> Text:
        return Text(text, style=style, no_wrap=True, overflow="ellipsis")

    parts: list[RenderableType] = [
        line(account_text(view), "bold"),
        line(status_text(view), "dim"),
    ]
    footer_text = "q quit" + (f" · {view.account_number}" if view.account_number else "")
    if view.error:
        footer_text += f" · last read failed: {view.error}"
    elif view.updated_at is not None:
        footer_text += f" · account read {view.updated_at.astimezone(NEW_YORK):%H:%M:%S}"
    if log_line:
        footer_text += f" · {log_line}"
    room = max(0, height - 3)  # header 2 lines, footer 1

    alerts = alert_rows(view)
    fired = fired_rows(view)
    jobs = job_rows(view)
    # each other section as (full lines, one-line summary), in the order they are shown
    compact = 3  # alerts, jobs and notifications, one line each
    strategies = view.strategies
    full = strategy_rows(view)
    want = 2 + len(full) if full else 2
    shown_strategies = min(want, max(3, room - compact)) if room >= 3 else room
    left = room - shown_strategies

    body: list[RenderableType] = []
    if shown_strategies >= 1:
        body.append(line(f"Strategies ({len(strategies)})", "bold reverse"))
    if shown_strategies >= 2:
        if not strategies:
            body.append(line("none"))
        else:
            fit = shown_strategies - 2
            if fit >= 1:
                rows = full if len(full) <= fit else strategy_rows(view, fit)
                body.extend(_table(STRATEGY_HEADERS, rows, NUMBERS, width))
            else:
                body.append(line(f"… {len(strategies)} strategies"))

    # alerts: title + table + fired lines when they fit, else a summary line
    sections_left = 2  # jobs, notifications still to place after alerts
    alert_full = 1 + (1 + len(alerts) if alerts else 0) + len(fired)
    if left - sections_left >= alert_full:
        body.append(line(alerts_summary(view), "bold reverse"))
        if alerts:
            body.extend(_table(ALERT_HEADERS, alerts, {0, 2}, width))
        body.extend(line(f"fired {text}", "yellow") for text in fired)
        left -= alert_full
    elif left - sections_left >= 1:
        body.append(line(alerts_summary(view), "bold reverse"))
        left -= 1
        extra = left - sections_left
        if extra >= 2 and alerts:  # as many armed alerts as fit
            body.extend(_table(ALERT_HEADERS, alerts[: extra - 1], {0, 2}, width))
            left -= min(extra, len(alerts) + 1)
    sections_left = 1
    job_full = 1 + (1 + len(jobs) if jobs else 0)
    if left - sections_left >= job_full and jobs:
        body.append(line("Jobs" + _stream_note(view), "bold reverse"))
        body.extend(_table(JOB_HEADERS, jobs, set(), width))
        left -= job_full
    elif left - sections_left >= 1:
        body.append(line(jobs_summary(view) + _stream_note(view), "bold reverse"))
        left -= 1
    if left >= 1:
        body.append(line(notifications_summary(view), "bold reverse"))
        left -= 1
    parts.extend(body)
    parts.extend(line("") for _ in range(max(0, left)))
    parts.append(line(footer_text, "dim"))
    return Group(*parts)


def _stream_note(view: WatchView) -> str:
    if view.stream_connected is None:
        return ""
    return f" · ttai stream {'connected' if view.stream_connected else 'down'}"
