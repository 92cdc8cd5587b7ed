"""`ttai stream` against the polling path: latency, throughput, CPU and memory.

`ttai stream --ignore-market-hours` runs as its own process (its CPU and memory are what
is measured) against the simulated API served from this process over real sockets, and
delivers to a webhook receiver in this process, so one clock times both ends.

- latency: N crossings one after another, each a Trade pushed at a price past one
  alert's threshold; the figure is push -> webhook delivered, p50 and p99. The baseline,
  in the same run: `ttai alerts check --every 30s` (the polling path's default cadence)
  with the price moved at a random moment; its median.
- throughput: 500 alert symbols ticking (Trade and Quote) at 5,000 events/s for
  the duration; once a second one symbol crosses its alert, and the probe's latency is
  the lag under load (max <= 1 s, and no growth from the first half to the second).
  CPU is the stream process's user+system time over the window (<= 50 % of one core).
- memory: RSS after a warm-up against RSS after 1,000,000 more events (< 5 MB growth).

    python -m bench.stream [--quick]
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import Row, run_rows
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, SimulatedTastytrade
from ttai_cli.simulator.server import start
from ttai_cli.store import open_store
from ttai_cli.store.alerts import AlertsRepository

NEVER = 1_000_000.0  # an alert threshold no simulated price reaches
CROSSING = 2_000_000.0


class Receiver:
    """Records when each alert's webhook arrived (perf_counter), by symbol."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                symbol = json.loads(body).get("data", {}).get("symbol")
                with receiver.condition:
                    receiver.arrivals.setdefault(symbol, now)
                    receiver.condition.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, symbol: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self.condition:
            while symbol not in self.arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.condition.wait(left)
            return self.arrivals[symbol]

    def stop(self) -> None:
        self.server.shutdown()


def symbols(count: int) -> list[str]:
    letters = string.ascii_uppercase[:25]  # no Z: ZZ... is the simulator's unknown symbol
    return ["".join(p) for p in itertools.islice(itertools.product(letters, repeat=4), count)]


@dataclass
class Setup:
    sim: SimulatedTastytrade
    url: str
    home: Path
    receiver: Receiver
    server: Any
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TTAI_HOME": str(self.home),
            "TTAI_API_URL": self.url,
            "TASTYTRADE_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "TASTYTRADE_REFRESH_TOKEN": DEMO_REFRESH_TOKEN,
            "TTAI_NOTIFICATION_BACKEND": "webhook",
            "TTAI_WEBHOOK_URL": self.receiver.url,
        }

    def add_alerts(self, names: list[str], threshold: float = NEVER) -> None:
        store = open_store(self.home / "ttai.db")
        repo = AlertsRepository(store)
        now = datetime.now(NEW_YORK)
        for name in names:
            repo.add(parse_alert(name, "price", "above", str(threshold)), now)
        store.close()

    def clear_alerts(self) -> None:
        store = open_store(self.home / "ttai.db")
        with store.transaction() as db:
            db.execute("DELETE FROM alerts")
        store.close()

    def events_streamed(self) -> int:
        store = open_store(self.home / "ttai.db")
        try:
            row = store.db.execute(
                "SELECT events FROM stream_state WHERE feed = 'market'"
            ).fetchone()
            return int(row[0]) if row else 0
        finally:
            store.close()

    def launch(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ttai_cli", *args],
            env=self.env(),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(10)
        self.receiver.stop()
        self.server.stop()


def make_setup() -> Setup:
    sim = SimulatedTastytrade(any_symbol=True, seed=3)
    sim.streams.tick_interval = 3600.0  # quiet until a phase sets its own rate
    server = start(sim)
    home = Path(tempfile.mkdtemp(prefix="ttai-bench-stream-"))
    made = Setup(sim, server.url, home, Receiver(), server)
    made.add_alerts([])  # create and migrate the database
    return made


def wait_connected(setup: Setup, proc: subprocess.Popen[str], wanted: set[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ttai stream exited: {proc.stderr.read() if proc.stderr else ''}")
        if wanted <= setup.sim.streams.subscriptions().get("Trade", set()):
            return
        time.sleep(0.05)
    raise RuntimeError("ttai stream did not subscribe in time")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# -- the phases -------------------------------------------------------------------------------------
def stream_latency(setup: Setup, count: int) -> list[float]:
    names = symbols(count)
    setup.add_alerts(names)
    proc = setup.launch("stream", "--ignore-market-hours")
    wait_connected(setup, proc, set(names))
    latencies = []
    for name in names:
        pushed = time.perf_counter()
        setup.sim.streams.push_trade(name, CROSSING)
        arrived = setup.receiver.wait(name, 10)
        if arrived is None:
            raise RuntimeError(f"no webhook for {name}")
        latencies.append(arrived - pushed)
    proc.terminate()
    proc.wait(10)
    setup.clear_alerts()
    return latencies


def polling_latency(setup: Setup, count: int) -> list[float]:
    names = [f"P{n}" for n in symbols(count)]
    for name in names:
        setup.sim.market.pin(name, 100.0, 100.0)
    setup.add_alerts(names, threshold=150.0)
    proc = setup.launch("alerts", "check", "--every", "30s", "--ignore-market-hours")
    rng = random.Random(5)
    latencies = []
    time.sleep(2)
    for name in names:
        time.sleep(rng.uniform(0, 30))  # the price moves at a random moment of the cycle
        moved = time.perf_counter()
        setup.sim.market.pin(name, 200.0, 100.0)
        arrived = setup.receiver.wait(name, 45)
        if arrived is None:
            raise RuntimeError(f"no webhook for {name} from polling")
        latencies.append(arrived - moved)
    proc.terminate()
    proc.wait(10)
    setup.clear_alerts()
    return latencies


@dataclass
class Load:
    rate: float
    probes: list[float]
    cpu_percent: float
    rss_before: float
    rss_after: float
    events: int


def sustained(setup: Setup, seconds: float, memory_events: int) -> Load:
    names = [f"L{n}" for n in symbols(500)]
    setup.add_alerts(names)
    proc = setup.launch("stream", "--ignore-market-hours")
    wait_connected(setup, proc, set(names))
    # 500 symbols, a Trade and a Quote each every 0.2 s (a Summary only when it changes):
    # 10 events/s per symbol, 5,000 events/s (0.18 s: the ticker's own time makes 0.2 s
    # ticks come a little slower than five a second)
    setup.sim.streams.tick_interval = 0.18
    time.sleep(3)  # warm-up
    start_events = setup.events_streamed()
    cpu_start, wall_start = cpu_seconds(proc.pid), time.monotonic()
    probes: list[float] = []
    probe_names = iter(names)
    while time.monotonic() - wall_start < seconds:
        time.sleep(max(0.0, 1.0 - (time.monotonic() - wall_start) % 1.0))
        name = next(probe_names)
        pushed = time.perf_counter()
        setup.sim.streams.push_trade(name, CROSSING)
        arrived = setup.receiver.wait(name, 10)
        probes.append((arrived - pushed) if arrived is not None else 10.0)
    wall = time.monotonic() - wall_start
    cpu = (cpu_seconds(proc.pid) - cpu_start) / wall * 100
    events = setup.events_streamed() - start_events
    # memory: from here, `memory_events` more events at a faster rate
    setup.sim.streams.tick_interval = 0.1
    rss_before = rss_mb(proc.pid)
    base = setup.events_streamed()
    deadline = time.monotonic() + 600
    while setup.events_streamed() - base < memory_events and time.monotonic() < deadline:
        time.sleep(0.5)
    rss_after = rss_mb(proc.pid)
    setup.sim.streams.tick_interval = 3600.0
    proc.terminate()
    proc.wait(10)
    return Load(events / wall, probes, cpu, rss_before, rss_after, setup.events_streamed() - base)


def measure(quick: bool) -> list[Row]:
    setup = make_setup()
    try:
        crossings = 200 if quick else 1_000
        stream = stream_latency(setup, crossings)
        load = sustained(setup, 15 if quick else 60, 200_000 if quick else 1_000_000)
        polled = polling_latency(setup, 2 if quick else 6)
    finally:
        setup.close()
    p50, p99 = percentile(stream, 50) * 1000, percentile(stream, 99) * 1000
    poll_median = statistics.median(polled) * 1000
    half = len(load.probes) // 2
    first, second = max(load.probes[:half] or [0]), max(load.probes[half:] or [0])
    lag = max(load.probes) if load.probes else 0.0
    growth = load.rss_after - load.rss_before
    return [
        Row(
            f"stream: tick -> webhook delivered, {crossings:,} crossings (p50 / p99)",
            f"{p50:.1f} / {p99:.1f} ms",
            f"polling `alerts check` every 30 s: median {poll_median / 1000:.1f} s",
            p50 / poll_median,
            "p99 <= 100 ms",
            p99 <= 100,
        ),
        Row(
            f"stream: {load.rate:,.0f} events/s sustained (500 symbols), max lag of 1/s probes",
            f"{lag * 1000:.0f} ms (1st half {first * 1000:.0f}, 2nd {second * 1000:.0f})",
            "1 s",
            lag,
            ">= 5,000 events/s, max lag <= 1 s, not growing",
            load.rate >= 5_000 and lag <= 1.0 and second <= max(2 * first, 0.2),
        ),
        Row(
            f"stream: CPU at {load.rate:,.0f} events/s (user+system, of one core)",
            f"{load.cpu_percent:.0f} %",
            "50 %",
            load.cpu_percent / 50,
            "<= 50 %",
            load.cpu_percent <= 50,
        ),
        Row(
            f"stream: RSS growth over {load.events:,} events",
            f"{growth:+.1f} MB ({load.rss_before:.0f} -> {load.rss_after:.0f} MB)",
            "5 MB",
            growth / 5,
            "< 5 MB",
            growth < 5,
        ),
    ]


def rows(quick: bool = False) -> list[Row]:
    return measure(quick)


def main() -> int:
    return run_rows(__doc__, measure)


if __name__ == "__main__":
    raise SystemExit(main())
