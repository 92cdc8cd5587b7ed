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
    return "Strategies (5)" in text and "q quit" in text and "AAPL " in text


def row_of(text: str, start: str) -> str:
    return next((line for line in text.splitlines() if line.startswith(start)), "")


def test_watch_shows_every_section_and_values_update(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(100, 30)
    text = term.wait_for(drawn, "the positions")
    for part in ("NLV $", "Day ", "BP used", "NYSE ", "Alerts: 5 armed", "Notifications: "):
        assert part in text, part
    assert "Jobs" in text
    # readable option names, never OCC symbols
    leg = row_of(text, "  IWM ")
    assert leg and "P " in leg and "P00" not in leg
    first = row_of(text, "AAPL")
    term.wait_for(lambda t: row_of(t, "AAPL") not in ("", first), "AAPL's mark moving")


def test_80x24_pane_still_shows_every_position(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(80, 24)
    text = term.wait_for(drawn, "the positions")
    for start in (
        "AAPL covered call ",
        "SPY iron condor ",
        "IWM put credit spread ",
        "TSLA short strangle ",
        "/MES",
    ):
        assert row_of(text, start), start
    # every leg too: the 11 positions are the future's row and 10 legs beneath the 4
    # strategies of more than one (2 + 4 + 2 + 2)
    legs = [line for line in text.splitlines() if line.startswith("  ") and line[2] != " "]
    assert len(legs) == 10, text
    assert sum(1 for line in legs if line.startswith("  TSLA ")) == 2
    assert term.screen.display[-1].startswith("q quit")
    assert all(len(line.rstrip()) <= 80 for line in text.splitlines())


def test_watch_shows_a_row_per_strategy_with_its_legs_beneath(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(100, 30)
    text = term.wait_for(drawn, "the strategies")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("TSLA short strangle "))
    row = lines[at].split()
    # label, then day change, P&L, P&L % of the credit and DTE (no quantity or mark)
    assert row[-1].isdigit() and 0 < int(row[-1]) <= 21, row
    assert row[-2].endswith("%") and row[-3].startswith(("+$", "-$")), row
    put, call = lines[at + 1], lines[at + 2]
    assert put.startswith("  TSLA ") and put.split()[2].endswith("P") and put.split()[3] == "-1"
    assert call.startswith("  TSLA ") and call.split()[2].endswith("C") and call.split()[3] == "-1"
    # a one-leg strategy is one row, with its quantity and mark
    future = row_of(text, "/MES")
    assert future.split()[3] == "1" and future.split()[4].startswith("$"), future


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
    for part in ("NLV $", "NYSE ", "Strategies (5)", "Alerts: 5 armed", "Notifications: "):
        assert part in out, part
    assert "AAPL price above $200.00" in out
    assert row_of(out, "SPY iron condor ")
    leg = row_of(out, "  SPY ")
    assert leg and "P " in leg  # `SPY 12/31 500P`, not the OCC symbol


def test_watch_without_credentials_or_demo_is_one_line_exit_2(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("watch")
    assert result.code == 2, result
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ttai: "), result.err
    assert "Traceback" not in result.err and result.out == ""


def test_strategies_collapse_to_their_own_rows_before_any_is_cut() -> None:
    from datetime import datetime
    from decimal import Decimal

    from ttai_cli.cli.watch_view import strategy_rows
    from ttai_cli.clock import NEW_YORK
    from ttai_cli.services.watch_lines import PositionLine, StrategyLine, WatchView

    def leg(name: str) -> PositionLine:
        return PositionLine(name, name, Decimal(-1), None, None, None, None, 10)

    def strategy(label: str, *legs: str) -> StrategyLine:
        return StrategyLine(label, [leg(n) for n in legs], None, None, None, 10)

    view = WatchView(
        datetime(2026, 12, 1, 10, tzinfo=NEW_YORK), None, None, None, None, None, None, [],
        [
            strategy("SPY iron condor", "P1", "P2", "C1", "C2"),
            strategy("TSLA short strangle", "P", "C"),
            strategy("/MESH7 future", "/MESH7"),
        ],
        [], [], [], None, {}, {}, "snapshot", None, None,
    )  # fmt: skip

    def names(room: int | None) -> list[str]:
        return [row[0].strip() for row in strategy_rows(view, room)]

    assert names(None) == [
        "SPY iron condor", "P1", "P2", "C1", "C2", "TSLA short strangle", "P", "C",
        "/MESH7 future",
    ]  # fmt: skip
    # 5 rows: the condor's 4 legs do not fit beside 3 strategy rows, the strangle's 2 do
    assert names(5) == ["SPY iron condor", "TSLA short strangle", "P", "C", "/MESH7 future"]
    assert names(3) == ["SPY iron condor", "TSLA short strangle", "/MESH7 future"]
    assert names(2) == ["SPY iron condor", "… 2 more"]


def test_alert_whose_condition_already_holds_shows_met_not_a_distance(demo_home: Path) -> None:
    # far enough from any simulated price to hold (or not) whatever the day's path
    for args in (
        ("SPY", "below", "100000"),  # holds: SPY is far below
        ("SPY", "above", "100000"),  # does not
        ("SPY", "above", "-50", "--type", "change"),  # holds
        ("SPY", "below", "-50", "--type", "change"),  # does not
    ):
        added = run_subprocess("--demo", "alerts", "add", *args, timeout=60)
        assert added.code == 0, added
    result: Result = run_subprocess("--demo", "watch", timeout=60)
    assert result.code == 0, result
    rows = {line.split()[0]: line for line in result.out.splitlines() if "SPY " in line}
    assert rows["6"].endswith(" met") and "away" not in rows["6"], rows
    assert rows["7"].endswith("% away"), rows
    assert rows["8"].endswith(" met") and "away" not in rows["8"], rows
    assert rows["9"].endswith(" pts away"), rows


def test_quote_distance_says_met_on_the_unrounded_value() -> None:
    from decimal import Decimal as D

    from ttai_cli.services.watch_lines import quote_distance

    # /MES at 6,357 with an alert above $6,000: met (the trader saw "5.6% away")
    assert quote_distance("price", "above", D(6000), D(6357), None) == (D("-5.62"), True)
    assert quote_distance("price", "below", D(600), D(557), None)[1] is True
    assert quote_distance("price", "below", D(500), D(557), None)[1] is False
    assert quote_distance("price", "above", D(6000), D("5999.999"), None)[1] is False
    assert quote_distance("price", "above", D(6000), D(6000), None)[1] is True  # as the job: >=
    # change: SPY +0.3% on the day, alert above -5%: met; below -2%: 2.3 points to go
    assert quote_distance("change", "above", D(-5), D("100.3"), D(100))[1] is True
    assert quote_distance("change", "below", D(-2), D("100.3"), D(100)) == (D("-2.30"), False)
    assert quote_distance("change", "below", D(-2), D(100), None) == (None, None)
    assert quote_distance("price", "above", D(1), None, None) == (None, None)
