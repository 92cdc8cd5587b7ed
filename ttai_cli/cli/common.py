"""What every command shares: the global options, services wiring, and output.

Human output goes to stdout through rich (colours only on a terminal); `--json` prints
machine output on stdout and nothing else there. Logs and errors go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

# Everything else is imported where it is used: this module is loaded for `--help` and
# for every command, so it must not pull in the domain (decimal, zoneinfo, sqlite3 ...).
if TYPE_CHECKING:
    from decimal import Decimal

    from rich.console import Console
    from rich.text import Text

    from ttai_cli.broker.models import Broker
    from ttai_cli.clock import Clock
    from ttai_cli.config import Settings
    from ttai_cli.jobs.context import JobContext
    from ttai_cli.market.guard import LiveCheck
    from ttai_cli.services.notifications import Notifier
    from ttai_cli.services.scheduling import SchedulingService
    from ttai_cli.store import Store

T = TypeVar("T")

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


# The raw argument vector of this invocation (set by `ttai_cli.app.main`): `ttai run`
# needs to know which arguments came after `--`, which the parser does not keep.
ARGV: list[str] = []


@dataclass
class AppState:
    """Global options, and the settings they resolve to (loaded on first use, so that
    `--help` and argument errors never read the environment)."""

    env_file: Path | None = None
    home: Path | None = None
    demo: bool = False
    config: Path | None = None
    _clock: Clock | None = None
    _settings: Settings | None = None
    _store: Store | None = None

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            from ttai_cli.clock import SystemClock

            self._clock = SystemClock()
        return self._clock

    @classmethod
    def of(cls, ctx: typer.Context) -> AppState:
        root = ctx.find_root()
        if not isinstance(root.obj, AppState):
            root.obj = AppState()
        return root.obj

    @property
    def settings(self) -> Settings:
        """Settings, with the state directory checked: every command but `doctor`
        keeps state there (database, locks), so an unusable one is exit 2 up front."""
        from ttai_cli.config import ensure_home

        settings = self.unchecked_settings
        ensure_home(settings)
        return settings

    @property
    def unchecked_settings(self) -> Settings:
        if self._settings is None:
            from ttai_cli.config import load_settings

            self._settings = load_settings(
                env_file=self.env_file, home=self.home, demo=self.demo, config=self.config
            )
        return self._settings

    def open_broker(self) -> Broker:
        from ttai_cli.broker import open_broker

        return open_broker(self.settings, self.clock)

    def live_check(self) -> LiveCheck | None:
        """tastytrade's session status, when credentials are configured (not in the demo)."""
        settings = self.settings
        if settings.demo or settings.client_secret is None or settings.refresh_token is None:
            return None
        from ttai_cli.market.live import broker_live_check

        return broker_live_check(self.open_broker)

    def store(self) -> Store:
        if self._store is None:
            from ttai_cli.store import open_settings_store

            self._store = open_settings_store(self.settings)
            if self.settings.demo:
                from ttai_cli.services.demo import seed_demo

                seed_demo(self._store, self.clock)
        return self._store

    def notifier(self, sends: bool = True) -> Notifier:
        """The notifier; `sends=False` for commands that only read or edit the outbox
        (`notify outbox`, `notify drop`): a route to a backend without its URL refuses
        only commands that send (exit 2)."""
        from ttai_cli.services.notifications import Notifier

        return Notifier(self.settings, self.store(), self.clock, strict=sends)

    def job_context(self) -> JobContext:
        from ttai_cli.jobs.context import JobContext

        return JobContext(
            self.settings,
            self.store(),
            self.clock,
            self.open_broker,
            progress=terminal_progress(),
        )

    def scheduling(self) -> SchedulingService:
        from ttai_cli.services.scheduling import SchedulingService

        return SchedulingService(self.settings, self.clock, self.live_check(), store=self.store())


def terminal_progress() -> Callable[[str], None] | None:
    """A progress line writer for long work, when stderr is a terminal (a person is
    watching); None under cron, journald or a pipe, which get nothing extra."""
    import logging

    quiet = logging.getLogger("ttai").getEffectiveLevel() > logging.INFO  # -q
    if quiet or not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        sys.stderr.write(f"… {text}\n")
        sys.stderr.flush()

    return show


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # not at import time: --help should not pay for it

    return asyncio.run(coro)


def jsonable(value: Any) -> Any:
    """Decimals become JSON numbers, times ISO 8601 in New York time with its offset
    (like every time ttai prints; a naive time is left as it is)."""
    from dataclasses import asdict, is_dataclass
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        from ttai_cli.clock import NEW_YORK

        return value.astimezone(NEW_YORK).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    import json

    sys.stdout.write(json.dumps(jsonable(value), indent=2) + "\n")


def output_width() -> int | None:
    """The width human output is laid out for: COLUMNS when set (a pipe or a script can
    ask for 80), else the terminal's; None when piped with no COLUMNS (no limit)."""
    import os

    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        try:
            return os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            return None
    return None


PIPED_WIDTH = 160  # piped with no COLUMNS: wide enough for every table unfolded


def console() -> Console:
    """rich output on stdout: on a terminal as wide as it (or COLUMNS) with colours;
    piped or redirected without colour, COLUMNS wide when set, else PIPED_WIDTH."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False)  # rich reads COLUMNS first, then the terminal
    return Console(highlight=False, width=output_width() or PIPED_WIDTH, no_color=True)


def money(value: Decimal | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = f"{abs(value):,.2f}"
    if value < 0:
        return f"-${text}"
    return f"+${text}" if signed and value > 0 else f"${text}"


def number(value: Decimal | int | None, places: int = 2) -> str:
    from decimal import Decimal

    if value is None:
        return "—"
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.{places}f}"


NOTE_MIN_WIDTH = 12  # a wrapping column keeps at least this much before anything else gives


def table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
    show_header: bool = True,
    wrap: Sequence[int] = (),
    caption: str | None = None,
    optional: Sequence[int] = (),
    whole: Sequence[int] = (),
) -> None:
    """A table that stays readable at the terminal's width (80 columns included), with
    `title` above it and `caption` beneath (e.g. when its data is as of), both wrapped at
    the terminal's width, a closing phrase in parentheses (`(synced 5 min ago, Tue 13:03
    EST)`) kept on a line of its own rather than broken.

    Ids, symbols, kinds and numbers are never cut. The `wrap` columns (free text such as
    notes) wrap first, down to NOTE_MIN_WIDTH (unless dropping the rules and the empty
    columns shows them whole; wrapped, they take the room of the empty columns). When the boxed layout does not fit, the table drops its
    vertical rules and outer padding and the columns empty in every row;
    while it is still too wide, headers of several words stack, then the other text
    columns (all but the `right`, numeric, ones and the `whole` ones, such as symbols:
    `IWM 1/8/27 216P` is one name) wrap at spaces, a word never cut. Only
    when even that does not fit are columns left out, the `optional` ones first (in that
    order), then from the right (never the first), and a line beneath names them and
    points at --json, which has every column. Width to spare goes back to the wrapped
    columns: text cells on two lines at most, then whole, then one-line headers, then
    the `wrap` columns."""
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    out = console()
    width = out.width
    count = len(headers)
    cells = [[str(row[i]) for row in rows] for i in range(count)]

    def span(text: str) -> int:  # the widest line of a cell
        return max((cell_len(line) for line in text.split("\n")), default=0)

    def word(text: str) -> int:  # the widest word: any narrower and it would be cut
        return max((cell_len(w) for w in text.split()), default=0)

    def lines(text: str, room: int) -> int:  # lines a cell takes wrapped at spaces in `room`
        total = 0
        for line in text.split("\n"):
            total += 1
            used = -1  # the first word needs no space before it
            for size in map(cell_len, line.split()):
                if used >= 0 and used + 1 + size > room:
                    total += 1
                    used = size
                else:
                    used += 1 + size
        return total

    def two_lines(column: list[str], room: int, most: int) -> int:  # no cell on 3 lines
        while room < most and any(lines(cell, room) > 2 for cell in column):
            room += 1
        return room

    heads = [header if show_header else "" for header in headers]
    data = [max((span(cell) for cell in column), default=0) for column in cells]
    natural = [max(span(heads[i]), data[i]) for i in range(count)]
    note = [max(min(natural[i], NOTE_MIN_WIDTH), word(heads[i])) for i in range(count)]
    one_line = [note[i] if i in wrap else natural[i] for i in range(count)]
    stacked = [note[i] if i in wrap else max(data[i], word(heads[i])) for i in range(count)]
    shown = [i for i in range(count) if not rows or any(cells[i])] or [0]
    # boxed (a rule and two spaces a column) when it fits; with its notes wrapped only
    # when the compact layout (no rules, a space and a padding a column, no empty
    # columns) could not show them whole either; then it drops its empty columns too:
    # an all-empty `Repeat` would take the room the notes need (3-4 lines each)
    whole_fits = sum(natural) + 3 * count + 1 <= width
    boxing = list(range(count)) if whole_fits else shown
    boxed = whole_fits or (
        sum(one_line[i] for i in boxing) + 3 * len(boxing) + 1 <= width
        and sum(natural[i] for i in shown) + 2 * (len(shown) - 1) > width
    )
    _annotation(out, title, "table.title")
    if boxed:
        grid = Table(box=box.HEAVY_HEAD, header_style="bold", show_header=show_header)
        for index in boxing:
            free = index in wrap
            grid.add_column(
                headers[index],
                justify="right" if index in right else "left",
                no_wrap=not free,
                overflow="fold" if free else "ellipsis",
                min_width=one_line[index],
            )
        for row in rows:
            grid.add_row(*(row[i] for i in boxing))
        out.print(grid)
        _annotation(out, caption, "table.caption")
        return

    # the compact layout's widths: text columns wrapped at spaces, or on two lines
    text = [i for i in range(count) if i not in wrap and i not in right and i not in whole]
    wrapped = list(stacked)
    paired = list(stacked)
    for i in text:
        wrapped[i] = max(max((word(cell) for cell in cells[i]), default=0), word(heads[i]))
        paired[i] = two_lines(cells[i], wrapped[i], stacked[i])

    def fits(columns: list[int]) -> bool:
        return sum(wrapped[i] for i in columns) + 2 * (len(columns) - 1) <= width

    left_out: list[int] = []
    order = [i for i in optional if i in shown]
    order += [i for i in reversed(shown) if i not in order]
    for index in order:
        if fits(shown) or index == shown[0]:
            continue
        shown.remove(index)
        left_out.append(index)
    widths = {i: wrapped[i] for i in shown}
    spare = width - sum(widths.values()) - 2 * (len(shown) - 1)

    def saved(i: int, room: int) -> int:  # lines the column's cells would take fewer
        return sum(lines(cell, widths[i]) - lines(cell, room) for cell in [heads[i], *cells[i]])

    # text cells on two lines at most, then on one, then one-line headers: each column
    # all or nothing, those saving the most lines for their width first
    for target in (paired, stacked, one_line):
        gains = {i: (target[i] - widths[i], saved(i, target[i])) for i in shown}
        for i in sorted(shown, key=lambda i: gains[i][0] / max(gains[i][1], 1)):
            need = target[i] - widths[i]
            if 0 < need <= spare and gains[i][1] > 0:
                widths[i] += need
                spare -= need
    for target in ([natural[i] if i in wrap else 0 for i in range(count)], natural):
        for i in shown:  # then the notes, then anything still short, as far as it goes
            more = min(max(target[i] - widths[i], 0), max(spare, 0))
            widths[i] += more
            spare -= more
    grid = Table(
        box=box.SIMPLE_HEAD,
        header_style="bold",
        show_header=show_header,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for index in shown:
        grid.add_column(
            headers[index],
            justify="right" if index in right else "left",
            width=widths[index],
            overflow="fold",  # only a note's word longer than the column folds
        )

    def cell(i: int, value: str) -> str:  # an indented line (a leg) wraps under itself
        body = value.lstrip(" ")
        lead = value[: len(value) - len(body)]
        if i not in text or not lead or span(value) <= widths[i]:
            return value
        return hanging(out, lead, body, widths[i], indent=len(lead) + 2).plain

    for row in rows:
        grid.add_row(*(cell(i, str(row[i])) for i in shown))
    out.print(grid)
    _annotation(out, caption, "table.caption")
    if left_out:
        names = ", ".join(headers[i] or f"column {i + 1}" for i in sorted(left_out))
        _annotation(
            out, f"Left out at {width} columns: {names} (--json has every column)", "table.caption"
        )


def _annotation(out: Console, text: str | None, style: str) -> None:
    """A table's title or caption, wrapped at the console's width; a closing phrase in
    parentheses that would be broken goes whole onto a line of its own."""
    if not text:
        return
    from rich.cells import cell_len
    from rich.text import Text

    head, bracket, tail = text.rpartition(" (")
    if bracket and cell_len(text) > out.width and cell_len(tail) < out.width:
        out.print(Text(head, style=style))
        out.print(Text("(" + tail, style=style))
    else:
        out.print(Text(text, style=style))


def hanging(
    out: Console,
    lead: str | Text,
    text: str | Text,
    width: int | None = None,
    indent: int | None = None,
) -> Text:
    """`lead` then `text` wrapped at `width` cells (default: the console's), its
    continuation lines indented by `indent` (default: as wide as `lead`, so they start
    under the text) rather than back at column 0. When that leaves them under 20 cells
    and under half the width (a narrow terminal), they are indented by 2 at most."""
    from rich.cells import cell_len
    from rich.text import Text

    lead_text = Text(lead) if isinstance(lead, str) else lead.copy()
    body = Text(text) if isinstance(text, str) else text
    width = out.width if width is None else width
    indent = lead_text.cell_len if indent is None else indent
    if width - indent < min(20, width // 2):
        indent = min(indent, 2)
    first = width - lead_text.cell_len
    words = body.plain.split()
    if words and cell_len(words[0]) > first:  # not even a word fits after the lead
        lead_text.rstrip()
        rest = body
    else:
        line = body.wrap(out, first)[0]
        rest = body[len(line.plain) :]
        rest = rest[len(rest.plain) - len(rest.plain.lstrip()) :]  # the break's spaces
        line.rstrip()
        lead_text.append_text(line)
    for line in rest.wrap(out, max(width - indent, 10)) if rest.plain else []:
        line.rstrip()
        lead_text.append("\n" + " " * indent)
        lead_text.append_text(line)
    return lead_text


def plain_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
    wrap: int | None = None,
) -> None:
    """Aligned columns without rich: for the listings a market-closed decision prints,
    where rich's table machinery would cost more start-up time than the work itself.
    `right` columns (numbers) are right-aligned. When the lines would be wider than the
    terminal (or COLUMNS; piped without it, no limit), the `wrap` column wraps at spaces,
    its continuation lines under it, down to 20 characters."""
    import textwrap

    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    limit = output_width()
    if wrap is not None and limit is not None and sum(widths) + 2 * (len(widths) - 1) > limit:
        others = sum(w for i, w in enumerate(widths) if i != wrap) + 2 * (len(widths) - 1)
        widths[wrap] = max(limit - others, 20, len(headers[wrap]))

    def lines_of(row: Sequence[str]) -> list[list[str]]:
        if wrap is None:
            return [[str(cell) for cell in row]]
        parts = textwrap.wrap(str(row[wrap]), widths[wrap], break_long_words=False) or [""]
        first = [str(cell) for cell in row]
        first[wrap] = parts[0]
        more = [["" if i != wrap else part for i in range(len(row))] for part in parts[1:]]
        return [first, *more]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    out += [line(cells) for row in rows for cells in lines_of(row)]
    sys.stdout.write("\n".join(out) + "\n")
