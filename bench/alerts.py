"""One `alerts check` cycle at scale: 10,000 active alerts over 2,000 symbols.

The simulated API runs in its own process, reached over a local socket through the real
SDK. Measured: the cycle's wall time (median of a few warm cycles), the requests it
made, and the time spent in the database (loading the alerts, then evaluating and
settling them in one transaction). Beside it, the naive approach: one quote request per
alert, timed on a sample and scaled to 10,000 alerts.

    python -m bench.alerts [--alerts 10000] [--symbols 2000] [--naive-sample 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Row, start_simulator
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.tastytrade import TastytradeBroker
from ttai_cli.clock import SystemClock
from ttai_cli.config import Secret, load_settings
from ttai_cli.services.alerts import AlertsService
from ttai_cli.services.notifications import Notifier
from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
from ttai_cli.store import open_store
from ttai_cli.store.alerts import AlertsRepository

TARGET_SECONDS = 1.0
TARGET_REQUESTS = 20


def broker(url: str) -> TastytradeBroker:
    return TastytradeBroker(
        client_secret=Secret(DEMO_CLIENT_SECRET),
        refresh_token=Secret(DEMO_REFRESH_TOKEN),
        base_url=url,
    )


class TimedRepository(AlertsRepository):
    """The real repository, with a stopwatch on its database work."""

    seconds = 0.0

    def watching(self, types):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return super().watching(types)
        finally:
            TimedRepository.seconds += time.perf_counter() - start

    def apply_cycle(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return super().apply_cycle(*args, **kwargs)
        finally:
            TimedRepository.seconds += time.perf_counter() - start


def measure(
    alerts: int = 10_000, symbols: int = 2_000, cycles: int = 3, naive_sample: int = 1_000
) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="ttai-bench-"))
    settings = load_settings(environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"})
    store = open_store(settings.database_path)
    repo = TimedRepository(store)
    names = [f"B{i:04d}" for i in range(symbols)]
    with store.transaction() as db:  # alerts that do not fire: the steady state of a watch list
        for i in range(alerts):
            spec = parse_alert(
                names[i % len(names)], "price" if i % 2 else "change", "above", "100000"
            )
            db.execute(
                "INSERT INTO alerts (symbol, type, condition, threshold, created_at) VALUES (?, ?, ?, ?, datetime('now'))",
                (spec.symbol, spec.type, spec.condition, str(spec.threshold)),
            )
    sim, url = start_simulator()
    try:
        clock = SystemClock()
        notifier = Notifier(settings, store, clock, stderr_is_tty=False)
        service = AlertsService(repo, clock, lambda: broker(url), notifier)
        asyncio.run(service.check())  # warm: SDK imported, connections and caches ready
        walls, requests, db_times = [], [], []
        for _ in range(cycles):
            TimedRepository.seconds = 0.0
            start = time.perf_counter()
            report = asyncio.run(service.check())
            walls.append(time.perf_counter() - start)
            requests.append(report.quote_requests)
            db_times.append(TimedRepository.seconds)

        async def naive(sample: int) -> float:
            async with broker(url) as b:
                start = time.perf_counter()
                for i in range(sample):
                    await b.quotes([names[i % len(names)]])
                return time.perf_counter() - start

        naive_seconds = asyncio.run(naive(naive_sample)) / naive_sample * alerts
    finally:
        sim.terminate()
        sim.wait()
    return {
        "cycle": statistics.median(walls),
        "quote_requests": max(requests),
        "db": statistics.median(db_times),
        "naive": naive_seconds,
        "alerts": alerts,
        "symbols": symbols,
        "naive_sample": naive_sample,
    }


def rows(naive_sample: int = 1_000) -> list[Row]:
    m = measure(naive_sample=naive_sample)
    met = m["cycle"] <= TARGET_SECONDS and m["quote_requests"] <= TARGET_REQUESTS
    return [
        Row(
            f"alerts check: {m['alerts']:,.0f} alerts over {m['symbols']:,.0f} symbols, one cycle",
            f"{m['cycle']:.3f} s, {m['quote_requests']:.0f} quote requests, db {m['db']:.3f} s",
            f"one request per alert {m['naive']:.1f} s (timed on {m['naive_sample']:,.0f}, scaled)",
            m["cycle"] / m["naive"],
            f"<= {TARGET_SECONDS:g} s, <= {TARGET_REQUESTS} requests",
            met,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=2_000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=1_000)
    args = parser.parse_args()
    m = measure(args.alerts, args.symbols, args.cycles, args.naive_sample)
    print(
        f"alerts check cycle: {args.alerts:,} alerts over {args.symbols:,} symbols, simulated API over a socket"
    )
    print(f"{'approach':<34} {'wall s':>8} {'quote requests':>15} {'db s':>7}")
    print(
        f"{'ttai (batched, 100 per request)':<34} {m['cycle']:8.3f} {m['quote_requests']:15.0f} {m['db']:7.3f}"
    )
    print(
        f"{'naive (one request per alert)':<34} {m['naive']:8.3f} {args.alerts:15d} {'':>7}"
        f"   (timed on {args.naive_sample:,}, scaled)"
    )
    print(
        f"ratio ttai / naive: {m['cycle'] / m['naive']:.4f} ({m['naive'] / m['cycle']:.0f}x faster)"
    )
    ok = m["cycle"] <= TARGET_SECONDS and m["quote_requests"] <= TARGET_REQUESTS
    print(
        f"target: <= {TARGET_SECONDS:g} s and <= {TARGET_REQUESTS} quote requests per cycle: {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
