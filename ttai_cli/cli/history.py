"""`ttai history`: net liquidating value per New York day, as a chart and a table.

The chart is drawn with rich's own text (block characters, eighth-height steps) rather
than a plotting library: one bar per day and two axis labels need no more, and rich is
already what every table uses (nothing new to install or to import at start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ttai_cli.cli.common import AppState, AsJson, console, emit_json, money, table
from ttai_cli.errors import TtaiError, UsageError

# decimal, datetime and rich are imported where used: `ttai --help` loads this module
if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal

    from rich.text import Text

    from ttai_cli.services.history import HistoryDay

Days = Annotated[
    int,
    typer.Option("--days", metavar="N", help="The last N New York days, today included."),
]
DEFAULT_DAYS = 30
CHART_HEIGHT = 10  # rows of bars
EIGHTHS = " ▁▂▃▄▅▆▇█"


def _axis_label(value: Decimal) -> str:
    return f"${value:,.0f}"


def chart(points: list[tuple[date, Decimal]], width: int, height: int = CHART_HEIGHT) -> list[Text]:
    """The NLV bars: the y axis labelled with the highest, middle and lowest value, the x
    axis with the first, middle and last date. Bars rise from just below the lowest value
    (so the lowest day still shows a sliver) in eighth-row steps. When more days than
    columns fit in `width`, the latest days that fit are drawn (the table has them all)."""
    from decimal import Decimal

    from rich.text import Text

    values = [v for _, v in points]
    low, high = min(values), max(values)
    if high == low:  # a flat line: give it a band around the value so it sits mid-chart
        pad = max(abs(high) / 100, Decimal(1))
        low, high = low - pad, high + pad
    labels = [_axis_label(high), _axis_label((high + low) / 2), _axis_label(low)]
    gutter = max(len(label) for label in labels) + 1
    room = max(1, width - gutter - 1)
    if len(points) > room:
        points = points[-room:]
        values = values[-room:]
    step = max(1, min(3, room // len(points)))  # columns per day: bar plus a gap when wide
    bar = "█" if step == 1 else "█" * (step - 1)
    base = low - (high - low) / (height * 8)  # the floor sits an eighth of a row below low
    span = high - base
    units = [max(1, round((v - base) / span * height * 8)) for v in values]
    rising = values[-1] >= values[0]
    style = "green" if rising else "red"
    lines = []
    for row in range(height, 0, -1):
        label = (
            labels[0]
            if row == height
            else labels[1]
            if row == (height + 1) // 2
            else labels[2]
            if row == 1
            else ""
        )
        line = Text(label.rjust(gutter - 1) + " │", style="dim")
        for filled in units:
            level = filled - (row - 1) * 8
            cell = bar if level >= 8 else EIGHTHS[max(level, 0)] * len(bar)
            line.append(cell, style=style)
            if step > 1:
                line.append(" ")
        lines.append(line)
    axis_width = len(points) * step
    lines.append(Text(" " * gutter + "└" + "─" * axis_width, style="dim"))
    first, last = points[0][0], points[-1][0]
    left, right = f"{first:%m/%d}", f"{last:%m/%d}"
    ticks = left
    if len(points) > 1 and axis_width >= len(left) + len(right) + 1:
        ticks = left + right.rjust(axis_width - len(left))
        middle = points[len(points) // 2][0]
        centre = (len(points) // 2) * step
        mid = f"{middle:%m/%d}"
        if centre - len(mid) // 2 > len(left) + 1 and centre + len(mid) < axis_width - len(right):
            at = centre - len(mid) // 2
            ticks = ticks[:at] + mid + ticks[at + len(mid) :]
    lines.append(Text(" " * (gutter + 1) + ticks, style="dim"))
    return lines


def _pnl(value: Decimal | None) -> str:
    return "" if value is None else money(value, signed=True)


def _percent(day: HistoryDay) -> str:
    """The day's P&L in percent of the value it started from."""
    if day.day_pnl is None:
        return ""
    start = day.net_liquidating_value - day.day_pnl
    return f"{day.day_pnl / start * 100:+.2f}%" if start > 0 else ""


def history(ctx: typer.Context, days: Days = DEFAULT_DAYS, as_json: AsJson = False) -> None:
    """Net liquidating value and day P&L per New York day from the local record (one
    snapshot per day a sync ran), drawn as a chart on a terminal, then the table."""
    from ttai_cli.services.history import HistoryService

    if days < 1:
        raise UsageError(f"--days must be 1 or more, not {days}")
    state = AppState.of(ctx)
    record = HistoryService(state.store(), state.clock).days(days)
    if as_json:
        emit_json(
            [
                {
                    "date": d.date,
                    "net_liquidating_value": d.net_liquidating_value,
                    "day_pnl": d.day_pnl,
                }
                for d in record
            ]
        )
        return
    if not record:
        raise TtaiError(
            f"no net liquidating value recorded in the last {days} day{'' if days == 1 else 's'}: "
            "`ttai sync` records one a day (`ttai sync --loop` keeps it current)"
        )
    out = console()
    first, last = record[0], record[-1]
    change = last.net_liquidating_value - first.net_liquidating_value
    out.print(
        f"Net liquidating value, last {days} days: {money(last.net_liquidating_value)} "
        f"({money(change, signed=True)} since {first.date:%a %m/%d})",
        style="bold",
        soft_wrap=False,
    )
    if len(record) > 1:
        for line in chart([(d.date, d.net_liquidating_value) for d in record], out.width):
            out.print(line, no_wrap=True, overflow="crop")
        out.print()
    rows = [
        [
            f"{day.date:%a %Y-%m-%d}",
            money(day.net_liquidating_value) + ("*" if day.source == "high-water" else ""),
            _pnl(day.day_pnl),
            _percent(day),
        ]
        for day in record
    ]
    table(None, ["Date", "NLV", "Day P&L", "Day %"], rows, right=(1, 2, 3))
    if any(d.source == "high-water" for d in record):
        out.print("* no sync that day: the highest value a monitor run saw", style="dim")


def register(app: typer.Typer) -> None:
    app.command()(history)
