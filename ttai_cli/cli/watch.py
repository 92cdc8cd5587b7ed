"""`ttai watch`: a live full-screen view for a terminal or a tmux pane.

On a terminal: the alternate screen, redrawn when something shown changes, at most
`MAX_REDRAWS_PER_S` times a second (and once a second for the clock); a resize redraws
at the new size. `q` (or Ctrl-C, or SIGTERM) quits with exit 0 and gives the terminal
back as it was. Log lines would scribble over the screen, so while it is up they are
held and written to stderr after it closes (warnings and worse), the latest one shown
in the footer meanwhile.

Not a terminal (a pipe, a file, cron): one plain snapshot, then exit 0, like `top -b -n 1`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from ttai_cli.cli.common import AppState, run

if TYPE_CHECKING:
    import asyncio

    from ttai_cli.services.watch import WatchService

MAX_REDRAWS_PER_S = 4


def watch(ctx: typer.Context) -> None:
    """A live full-screen view: account, positions with live marks and P&L, alerts, jobs,
    notifications, the NYSE clock. `q` quits. Not a terminal: one plain snapshot."""
    from ttai_cli.services.watch import WatchService

    state = AppState.of(ctx)
    settings = state.settings
    service = WatchService(
        state.store(), state.clock, state.open_broker, streaming=settings.streaming
    )
    if not sys.stdout.isatty():
        from ttai_cli.cli.watch_view import plain

        sys.stdout.write(plain(run(service.snapshot())))
        return
    run(_live(service))


async def _live(service: WatchService) -> None:
    import asyncio
    import signal

    from rich.console import Console
    from rich.live import Live

    from ttai_cli.cli.watch_view import render

    loop = asyncio.get_running_loop()
    stop, dirty = asyncio.Event(), asyncio.Event()
    console = Console(highlight=False)
    # the first read happens before the screen opens: an error is one plain line
    async with service.connected():
        held = _HeldLogs()
        service.on_change = dirty.set
        stdin = sys.stdin.fileno() if sys.stdin.isatty() else None
        saved = _cbreak(stdin)
        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGWINCH)
        try:
            with (
                held,
                Live(
                    console=console,
                    screen=True,
                    auto_refresh=False,
                    redirect_stdout=False,
                    redirect_stderr=False,
                ) as live,
            ):
                for sig in signals:
                    loop.add_signal_handler(sig, dirty.set if sig == signal.SIGWINCH else stop.set)
                if stdin is not None:
                    loop.add_reader(stdin, _on_key, stdin, stop)
                follow = asyncio.ensure_future(service.follow(stop))
                last = -1.0
                try:
                    while not stop.is_set():
                        wait = last + 1 / MAX_REDRAWS_PER_S - loop.time()
                        if wait > 0:  # at most MAX_REDRAWS_PER_S redraws a second
                            await _wait(stop, None, wait)
                        dirty.clear()
                        width, height = console.size
                        view = service.view()
                        live.update(render(view, width, height, held.last), refresh=True)
                        last = loop.time()
                        await _wait(stop, dirty, 1.0)  # the clock moves once a second
                finally:
                    stop.set()
                    await follow
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
            if stdin is not None:
                loop.remove_reader(stdin)
            _restore(stdin, saved)
            held.replay()


def _on_key(fd: int, stop: asyncio.Event) -> None:
    import os

    try:
        data = os.read(fd, 64)
    except OSError:
        data = b""
    # q quits; so does a closed terminal (an empty read), and Ctrl-C / Ctrl-D when the
    # terminal sends them as bytes
    if not data or any(key in data for key in (b"q", b"Q", b"\x03", b"\x04")):
        stop.set()


async def _wait(stop: asyncio.Event, other: asyncio.Event | None, timeout: float) -> None:
    from ttai_cli.streaming.market import wait_any

    await wait_any(stop, *([other] if other is not None else []), timeout=timeout)


def _cbreak(fd: int | None) -> list[Any] | None:
    """Keys one at a time, not echoed; Ctrl-C still sends SIGINT."""
    if fd is None:
        return None
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    return saved


def _restore(fd: int | None, saved: list[Any] | None) -> None:
    if fd is None or saved is None:
        return
    import termios

    termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class _HeldLogs:
    """While the screen is up: the root logger's handlers are set aside, records are
    kept (warnings and worse, the last 100), the latest shown in the footer; on exit
    the handlers come back and the kept records go to stderr."""

    def __init__(self) -> None:
        import logging

        self.records: list[logging.LogRecord] = []
        self.last: str | None = None
        self._handlers: list[logging.Handler] = []
        self._handler: logging.Handler | None = None

    def __enter__(self) -> _HeldLogs:
        import logging

        held = self

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.levelno >= logging.WARNING:
                    held.records = [*held.records[-99:], record]
                    from ttai_cli import logs

                    held.last = logs.redact(record.getMessage())[:200]

        root = logging.getLogger()
        self._handlers = list(root.handlers)
        for handler in self._handlers:
            root.removeHandler(handler)
        self._handler = Keep(logging.WARNING)
        root.addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        import logging

        root = logging.getLogger()
        if self._handler is not None:
            root.removeHandler(self._handler)
            self._handler = None
        for handler in self._handlers:
            root.addHandler(handler)

    def replay(self) -> None:
        import logging

        for record in self.records:
            logging.getLogger(record.name).handle(record)
        self.records = []


def register(app: typer.Typer) -> None:
    app.command()(watch)
