"""Stop signals: SIGTERM, SIGINT and SIGHUP set the event every runner of the process
watches (a sleep or a live market check ends at once; a run gets its grace)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from ttai_cli import logs

log = logs.get("scheduler")


def install_stop_handlers(stop: asyncio.Event, received: list[int] | None = None) -> None:
    """SIGTERM, SIGINT and SIGHUP set `stop`; the first signal is appended to `received`
    (the caller decides the exit code by it). A SIGHUP that is ignored (nohup) stays
    ignored, so closing the terminal does not stop a nohup'd loop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(sig, _on_signal, stop, sig, received)


def _on_signal(stop: asyncio.Event, sig: signal.Signals, received: list[int] | None) -> None:
    if not stop.is_set():
        log.info("received %s: stopping", signal.Signals(sig).name)
        if received is not None:
            received.append(sig)
    stop.set()
