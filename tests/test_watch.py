"""`ttai watch`: the live view read off a real terminal, and the plain snapshot.

The live tests run `ttai --demo watch` in a fresh interpreter on a pseudo-terminal and
feed its output to `pyte` (a terminal emulator), then assert on the screen a person
would see. Every wait polls the screen against a generous deadline (a loaded 2-core
machine), and returns as soon as the screen shows what is expected.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Result, fill_calendar, run_subprocess

pyte = pytest.importorskip("pyte")

ENTER_ALT = b"\x1b[?1049h"
LEAVE_ALT = b"\x1b[?1049l"
SHOW_CURSOR = b"\x1b[?25h"
DEADLINE = 20.0  # seconds: generous; a passing wait returns as soon as the screen is right


@pytest.fixture
def demo_home(clean_env: Path, nyse_sessions: list[object]) -> Path:
    """TTAI_HOME with the demo database's calendar cache filled (no pandas per test)."""
    from ttai_cli.market.calendar import source_version
    from ttai_cli.store import open_store

    clean_env.mkdir(parents=True, exist_ok=True)
    store = open_store(clean_env / "ttai-demo.db")
    fill_calendar(store, nyse_sessions, source_version())
    store.close()
    return clean_env


class Terminal:
    """`ttai ARGS` on a pseudo-terminal of `cols` x `rows`, read through pyte."""

    def __init__(self, *args: str, cols: int = 100, rows: int = 30) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env.update(TERM="xterm-256color", PYTHONPATH=str(Path(__file__).parent.parent))
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal
            try:
                os.execve(sys.executable, [sys.executable, "-m", "ttai_cli", *args], env)
            finally:
                os._exit(127)
        self.raw = bytearray()
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.code: int | None = None
        self.resize(cols, rows)

    def resize(self, cols: int, rows: int) -> None:
        # the kernel sends SIGWINCH to the terminal's foreground process group
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.screen.resize(rows, cols)

    def pump(self, timeout: float) -> None:
        """Read what the program wrote for up to `timeout` seconds (less if it ends)."""
        end = time.monotonic() + timeout
        while self.code is None and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # the child closed the terminal
                self._reap()
                return
            self.raw += data
            self.stream.feed(data)

    def _reap(self) -> None:
        _pid, status = os.waitpid(self.pid, 0)
        self.code = os.waitstatus_to_exitcode(status)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, check: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            self.pump(0.1)
            if check(self.text):
                return self.text
            if self.code is not None:
                break
        raise AssertionError(f"screen never showed {what}:\n{self.text}\n(exit {self.code})")

    def wait_exit(self) -> int:
        deadline = time.monotonic() + DEADLINE
        while self.code is None and time.monotonic() < deadline:
            self.pump(0.2)
        if self.code is None:
            self.close()
            raise AssertionError(f"still running:\n{self.text}")
        return self.code

    def close(self) -> None:
        if self.code is None:
            os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@pytest.fixture
def terminal(demo_home: Path) -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(cols: int = 100, rows: int = 30) -> Terminal:
        term = Terminal("--demo", "watch", cols=cols, rows=rows)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def drawn(text: str) -> bool:
    return "Positions (5)" in text and "q quit" in text and "AAPL " in text


def row_of(text: str, start: str) -> str:
    return next((line for line in text.splitlines() if line.startswith(start)), "")


def test_watch_shows_every_section_and_values_update(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(100, 30)
    text = term.wait_for(drawn, "the positions")
    for part in ("NLV $", "Day ", "BP used", "NYSE ", "Alerts: 5 armed", "Notifications: "):
        assert part in text, part
    assert "Jobs" in text
    # readable option names, never OCC symbols
    assert "QQQ " in text and "P " in text and "261" not in row_of(text, "QQQ")
    first = row_of(text, "AAPL")
    term.wait_for(lambda t: row_of(t, "AAPL") not in ("", first), "AAPL's mark moving")


def test_80x24_pane_still_shows_every_position(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(80, 24)
    text = term.wait_for(drawn, "the positions")
    for start in ("AAPL", "SPY ", "QQQ ", "TSLA "):
        assert row_of(text, start), start
    assert sum(1 for line in text.splitlines() if line.startswith("TSLA ")) == 2
    assert term.screen.display[-1].startswith("q quit")
    assert all(len(line.rstrip()) <= 80 for line in text.splitlines())


def test_resize_redraws_at_the_new_size(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(120, 40)
    term.wait_for(drawn, "the first screen")
    term.resize(80, 24)
    term.wait_for(
        lambda t: drawn(t) and t.splitlines()[-1].startswith("q quit"), "the footer on line 24"
    )
    assert term.code is None


def test_q_exits_0_and_leaves_the_alternate_screen(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(100, 30)
    term.wait_for(drawn, "the positions")
    assert ENTER_ALT in term.raw
    os.write(term.fd, b"q")
    assert term.wait_exit() == 0
    raw = bytes(term.raw)
    assert raw.rfind(LEAVE_ALT) > raw.rfind(ENTER_ALT)
    assert raw.rfind(SHOW_CURSOR) > raw.rfind(ENTER_ALT)
    assert b"Traceback" not in raw


def test_ctrl_c_exits_0_and_restores_the_terminal(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(100, 30)
    term.wait_for(drawn, "the positions")
    os.write(term.fd, b"\x03")  # the line discipline turns it into SIGINT
    assert term.wait_exit() == 0
    raw = bytes(term.raw)
    assert raw.rfind(LEAVE_ALT) > raw.rfind(ENTER_ALT)
    assert b"interrupted" not in raw and b"Traceback" not in raw


def test_not_a_terminal_prints_one_plain_snapshot(demo_home: Path) -> None:
    result: Result = run_subprocess("--demo", "watch", timeout=60)
    assert result.code == 0, result
    out = result.out
    assert "\x1b" not in out  # no escape codes in a pipe
    for part in ("NLV $", "NYSE ", "Positions (5)", "Alerts: 5 armed", "Notifications: "):
        assert part in out, part
    assert "AAPL price above $200.00" in out
    qqq = row_of(out, "QQQ ")
    assert qqq and "P " in qqq  # `QQQ 12/4 470P`, not the OCC symbol


def test_watch_without_credentials_or_demo_is_one_line_exit_2(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("watch")
    assert result.code == 2, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ttai: "), result.err
    assert "Traceback" not in result.err and result.out == ""
