"""`ttai watch`: CPU of the live view, and the delay from a quote change to the screen.

`ttai watch` runs as its own process on a pseudo-terminal (120x60, every strategy on
screen, legs as far as they fit) against the simulated API served from this process over
real sockets, for an account of 50 positions (the demo book's 11, in 5 strategies, and
39 stocks); the simulator streams every
symbol's Trade and Quote 4 times a second (moving quotes). This process reads the
terminal through `pyte`, so the time a value appears is the time a person would see it.

- CPU: the view process's user+system time over the window (60 s; `--quick` 15 s),
  after a warm-up; target <= 5 % of one core.
- latency: a symbol's price is pinned to a new value and published at once; the figure
  is publish -> the new mark on the emulated screen, p50 / max over N changes; target
  <= 300 ms. Baseline in the same run: the same view with streaming off
  (`TTAI_STREAMING=0`, it polls every 5 s), median of a few changes.

    python -m bench.watch [--quick]
"""

from __future__ import annotations

import fcntl
import os
import pty
import random
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from bench.common import Row, run_rows
from bench.stream import cpu_seconds, percentile, symbols
from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, SimulatedTastytrade
from ttai_cli.simulator.server import start

COLS, ROWS = 120, 60
POSITIONS = 50
STRATEGIES = 5 + POSITIONS - 11  # the demo book's 11 positions are 5 strategies; a stock is one


class Screen:
    """`ttai watch` on a pty; a thread keeps reading it into a pyte screen."""

    def __init__(self, env: dict[str, str]) -> None:
        import pyte

        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(sys.executable, [sys.executable, "-m", "ttai_cli", "watch"], env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Condition()
        self.target: str | None = None
        self.seen_at: float | None = None
        self.running = True
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while self.running:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                return
            now = time.perf_counter()
            with self.lock:
                self.stream.feed(data)
                target = self.target
                if (
                    target is not None
                    and self.seen_at is None
                    and any(target in line for line in self.screen.display)
                ):
                    self.seen_at = now
                    self.lock.notify_all()

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def expect(self, target: str) -> None:
        with self.lock:
            self.target, self.seen_at = target, None

    def wait_seen(self, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.seen_at is None and time.monotonic() < deadline:
                self.lock.wait(0.05)
            return self.seen_at

    def wait_text(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"ttai watch never showed {text!r}:\n{self.text()}")
            time.sleep(0.05)

    def close(self) -> None:
        self.running = False
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def make_sim() -> SimulatedTastytrade:
    sim = SimulatedTastytrade(any_symbol=True, seed=5)
    now = sim.now()
    for name in symbols(POSITIONS - len(sim.account.positions)):
        price = sim.market.quote(name).mark
        sim.account.trade(
            name,
            100,
            price,
            now - timedelta(days=10),
            underlying=name,
            instrument_type="Equity",
        )
    sim.streams.tick_interval = 0.25
    return sim


def launch(url: str, home: Path, streaming: bool) -> Screen:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(
        TERM="xterm-256color",
        TTAI_HOME=str(home),
        TTAI_API_URL=url,
        TASTYTRADE_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        TASTYTRADE_REFRESH_TOKEN=DEMO_REFRESH_TOKEN,
        TTAI_STREAMING="1" if streaming else "0",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    screen = Screen(env)
    screen.wait_text(f"Strategies ({STRATEGIES})", 60)
    return screen


def changes(sim: SimulatedTastytrade, screen: Screen, count: int, timeout: float) -> list[float]:
    """Pin the first extra stock to a fresh price `count` times; publish -> on screen."""
    name = symbols(1)[0]
    base = float(sim.market.quote(name).mark)
    latencies: list[float] = []
    rng = random.Random(13)
    for i in range(count):
        price = Decimal(str(round(base * 1.5 + i * 0.37, 2)))
        screen.expect(f"${price:,.2f}")
        sim.market.pin(name, float(price))
        published = time.perf_counter()
        sim.streams.publish([name])
        seen = screen.wait_seen(timeout)
        latencies.append((seen - published) if seen is not None else timeout)
        # a random gap: changes land at every phase of the redraw throttle's window
        time.sleep(rng.uniform(0.3, 0.8))
    sim.market.pinned.pop(name, None)
    return latencies


def measure(quick: bool) -> list[Row]:
    sim = make_sim()
    server = start(sim)
    home = Path(tempfile.mkdtemp(prefix="ttai-bench-watch-"))
    window = 15.0 if quick else 60.0
    try:
        screen = launch(server.url, home, streaming=True)
        try:
            screen.wait_text("live (stream)", 30)
            time.sleep(5.0)  # warm-up: the risk snapshot and first reads are done
            cpu_before, started = cpu_seconds(screen.pid), time.monotonic()
            time.sleep(window)
            cpu = (cpu_seconds(screen.pid) - cpu_before) / (time.monotonic() - started) * 100
            streamed = changes(sim, screen, 30 if quick else 100, 3.0)
        finally:
            screen.close()
        screen = launch(server.url, home, streaming=False)
        try:
            polled = changes(sim, screen, 2 if quick else 4, 12.0)
        finally:
            screen.close()
    finally:
        server.stop()
    p50, worst = percentile(streamed, 50) * 1000, max(streamed) * 1000
    p95 = percentile(streamed, 95) * 1000
    poll_median = statistics.median(polled) * 1000
    return [
        Row(
            f"watch: CPU over {window:.0f} s, {POSITIONS} positions, quotes moving 4/s "
            "(user+system, of one core)",
            f"{cpu:.1f} %",
            "5 %",
            cpu / 5,
            "<= 5 %",
            cpu <= 5,
        ),
        Row(
            f"watch: quote change -> screen (pty + terminal emulator), {len(streamed)} changes "
            "(p50 / p95 / max)",
            f"{p50:.0f} / {p95:.0f} / {worst:.0f} ms",
            f"polling every 5 s (TTAI_STREAMING=0): median {poll_median:,.0f} ms",
            p50 / poll_median,
            "<= 300 ms",
            worst <= 300,
        ),
    ]


def rows(quick: bool = False) -> list[Row]:
    return measure(quick)


def main() -> int:
    return run_rows(__doc__, measure)


if __name__ == "__main__":
    raise SystemExit(main())
