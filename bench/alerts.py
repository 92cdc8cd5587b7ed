"""One `alerts check` cycle at scale: 10,000 active alerts over 2,000 symbols.

The simulated API runs in its own process, reached over a local socket through the real
SDK. Measured: the cycle's wall time (median of a few warm cycles), the requests it
made, and the time spent in the database (loading the alerts, then evaluating and
settling them in one transaction). Beside it, the naive approach: one quote request per
alert, timed on a sample and scaled to 10,000 alerts.

Market hours per instrument (#18), side by side in one run (`--markets`): the same
equity-only cycle without the per-market guard (the code path before #18) and with it
(the loop's guard deciding on the markets with an active alert, then each alert
admitted by its market), and a cycle of 10,000 alerts on equities, futures and crypto
at an hour when all three are open; beside them, the guard's own work timed alone.

    python -m bench.alerts [--alerts 10000] [--symbols 2000] [--naive-sample 1000] [--markets]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.common import Row, start_simulator
from ttai_cli.alerts.rules import FAST_TYPES, parse_alert
from ttai_cli.broker.tastytrade import TastytradeBroker
from ttai_cli.clock import NEW_YORK, SystemClock
from ttai_cli.config import Secret, load_settings
from ttai_cli.market.guard import MarketGuard
from ttai_cli.market.hours import MarketHours, OpenAt
from ttai_cli.services.alerts import AlertsService, admitted
from ttai_cli.services.notifications import Notifier
from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
from ttai_cli.store import open_store
from ttai_cli.store.alerts import AlertsRepository

TARGET_SECONDS = 1.0
TARGET_REQUESTS = 20
# the per-market guard must leave an equity-only cycle as it was: its own work at most
# 1 % of the cycle, and the whole cycle within run-to-run noise of the unguarded one
TARGET_GUARD_SHARE = 0.01
TARGET_SAME_CYCLE = 1.10
# a Tuesday 11:00 New York: NYSE, CME Globex and crypto are all open
ALL_OPEN = datetime(2026, 3, 10, 11, 0, tzinfo=NEW_YORK)


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


def account(alerts: int, symbols: int, mixed: bool) -> tuple[AlertsService, MarketGuard]:
    """A database of `alerts` price/change alerts that do not fire, over `symbols`
    symbols: equities, or (`mixed`) 80 % equities, 10 % futures, 10 % crypto; its
    alerts service (the broker set later) and the alerts loop's market guard."""
    home = Path(tempfile.mkdtemp(prefix="ttai-bench-"))
    settings = load_settings(environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"})
    store = open_store(settings.database_path)
    names = []
    for i in range(symbols):
        kind = i % 10 if mixed else 0
        names.append(f"/F{i:04d}" if kind == 8 else f"C{i:04d}/USD" if kind == 9 else f"B{i:04d}")
    with store.transaction() as db:
        for i in range(alerts):
            spec = parse_alert(
                names[i % len(names)], "price" if i % 2 else "change", "above", "100000"
            )
            db.execute(
                "INSERT INTO alerts (symbol, type, condition, threshold, created_at) VALUES (?, ?, ?, ?, datetime('now'))",
                (spec.symbol, spec.type, spec.condition, str(spec.threshold)),
            )
    repo = AlertsRepository(store)
    hours = MarketHours(store)
    hours.is_open("futures", ALL_OPEN)  # fill both calendar caches (pandas) before timing
    clock = SystemClock()
    notifier = Notifier(settings, store, clock, stderr_is_tty=False)
    service = AlertsService(repo, clock, lambda: None, notifier)  # type: ignore[arg-type,return-value]
    guard = MarketGuard(hours.equity, markets=lambda: repo.markets_watching(FAST_TYPES))
    return service, guard


def guarded_cycle(service: AlertsService, guard: MarketGuard) -> float:
    """One cycle as the alerts loop runs it with #18: the guard's decision for the slot
    (the markets with an active alert, their hours), then the check, each alert
    admitted by its market. Returns the wall time."""
    start = time.perf_counter()
    is_open, _ = guard.is_open(ALL_OPEN)
    assert is_open
    asyncio.run(service.check(open_markets=OpenAt(guard.hours, ALL_OPEN)))
    return time.perf_counter() - start


def guard_work(service: AlertsService, guard: MarketGuard, repeat: int = 50) -> float:
    """The guard's own work per cycle, alone: the decision and the admission of every
    watched alert (the best of `repeat`: its cost, without the machine's other load)."""
    alerts = service.repo.watching(FAST_TYPES)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        guard.is_open(ALL_OPEN)
        admitted(alerts, OpenAt(guard.hours, ALL_OPEN))
        times.append(time.perf_counter() - start)
    return min(times)


def measure_markets(
    alerts: int = 10_000, symbols: int = 2_000, cycles: int = 5
) -> dict[str, float]:
    """Equity-only without the guard, with it, and mixed markets with it, interleaved
    cycle by cycle so that all three see the same machine load."""
    equity, equity_guard = account(alerts, symbols, mixed=False)
    mixed, mixed_guard = account(alerts, symbols, mixed=True)
    sim, url = start_simulator()
    try:
        for service in (equity, mixed):
            service.open_broker = lambda: broker(url)
            asyncio.run(service.check())  # warm: SDK imported, connections ready
        plain, guarded, both, requests = [], [], [], []
        for cycle in range(cycles):

            def unguarded() -> None:
                start = time.perf_counter()
                asyncio.run(equity.check())  # the code path before #18
                plain.append(time.perf_counter() - start)

            def with_guard() -> None:
                guarded.append(guarded_cycle(equity, equity_guard))

            # alternate which goes first: neither gets the warmer caches every time
            for run in (unguarded, with_guard) if cycle % 2 else (with_guard, unguarded):
                run()
            both.append(guarded_cycle(mixed, mixed_guard))
            report = asyncio.run(mixed.check(open_markets=OpenAt(mixed_guard.hours, ALL_OPEN)))
            requests.append(report.quote_requests)
        work = guard_work(equity, equity_guard)
        mixed_work = guard_work(mixed, mixed_guard)
    finally:
        sim.terminate()
        sim.wait()
    # best of the interleaved cycles: two code paths compared on a shared machine
    return {
        "plain": min(plain),
        "guarded": min(guarded),
        "mixed": min(both),
        "mixed_requests": max(requests),
        "guard": work,
        "mixed_guard": mixed_work,
        "alerts": alerts,
        "symbols": symbols,
    }


def market_rows(m: dict[str, float]) -> list[Row]:
    n = f"{m['alerts']:,.0f} alerts over {m['symbols']:,.0f} symbols"
    same = m["guarded"] / m["plain"]
    share = m["guard"] / m["plain"]
    return [
        Row(
            f"alerts check, market hours per instrument: equity-only, {n}, one cycle",
            f"{m['guarded']:.3f} s (guard + per-alert market check; best of 9)",
            f"same cycle without them (before #18) {m['plain']:.3f} s",
            same,
            f"<= {TARGET_SAME_CYCLE:g}x (unchanged, within noise)",
            same <= TARGET_SAME_CYCLE,
        ),
        Row(
            f"market guard's own work per cycle: equity-only, {m['alerts']:,.0f} alerts",
            f"{m['guard'] * 1000:.2f} ms (decision + admitting each alert; best of 50)",
            f"equity-only cycle {m['plain']:.3f} s",
            share,
            f"<= {TARGET_GUARD_SHARE:.0%} of the cycle",
            share <= TARGET_GUARD_SHARE,
        ),
        Row(
            f"alerts check: {n} on equities, futures and crypto, all open, one cycle",
            f"{m['mixed']:.3f} s, {m['mixed_requests']:.0f} quote requests, "
            f"guard {m['mixed_guard'] * 1000:.2f} ms",
            f"equity-only with the guard {m['guarded']:.3f} s",
            m["mixed"] / m["guarded"],
            f"<= {TARGET_SECONDS:g} s, <= {TARGET_REQUESTS} requests",
            m["mixed"] <= TARGET_SECONDS and m["mixed_requests"] <= TARGET_REQUESTS,
        ),
    ]


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
        ),
        *market_rows(measure_markets()),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=2_000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=1_000)
    parser.add_argument(
        "--markets",
        action="store_true",
        help="only the market-hours rows: equity-only with and without the guard, mixed",
    )
    args = parser.parse_args()
    if args.markets:
        from bench.common import HEADER

        print(HEADER)
        for row in market_rows(measure_markets(args.alerts, args.symbols, max(args.cycles, 9))):
            print(row.line())
        return 0
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
