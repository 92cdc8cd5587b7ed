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

    def notifier(self) -> Notifier:
        from ttai_cli.services.notifications import Notifier

        return Notifier(self.settings, self.store(), self.clock)

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


def console() -> Console:
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False)
    # Piped or redirected: no colour, and wide enough not to fold table columns.
    return Console(highlight=False, width=160, no_color=True)


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
) -> None:
    """A table (with `caption` beneath it, e.g. when its data is as of) that stays readable at the terminal's width (80 columns included): ids,
    symbols, kinds and numbers are never cut; the `wrap` columns (free text such as
    notes) wrap first. When the boxed layout does not fit, the table drops its vertical
    rules and outer padding, then the columns that are empty in every row."""
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    out = console()
    columns = list(range(len(headers)))
    widths = [
        max(cell_len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]

    def needed(shown: list[int], overhead_per_column: int) -> int:
        text = sum(min(widths[i], NOTE_MIN_WIDTH) if i in wrap else widths[i] for i in shown)
        return text + overhead_per_column * len(shown) + 1

    compact = needed(columns, 3) > out.width
    if compact and rows:
        columns = [i for i in columns if i in wrap or any(str(row[i]) for row in rows)]
    grid = Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        header_style="bold",
        show_header=show_header,
        box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
        pad_edge=not compact,
        collapse_padding=compact,
    )
    for index in columns:
        free = index in wrap
        grid.add_column(
            headers[index],
            justify="right" if index in right else "left",
            no_wrap=not free,
            overflow="fold" if free else "ellipsis",
            min_width=min(widths[index], NOTE_MIN_WIDTH) if free else widths[index],
        )
    for row in rows:
        grid.add_row(*(row[i] for i in columns))
    out.print(grid)


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns without rich: for the listings a market-closed decision prints,
    where rich's table machinery would cost more start-up time than the work itself."""
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    sys.stdout.write("\n".join(lines) + "\n")
