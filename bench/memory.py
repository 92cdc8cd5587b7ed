"""Memory of a long-running loop: resident size after 10,000 cycles against after 100.

A real `alerts check` job (a few alerts, so every cycle fetches quotes through the SDK)
runs on the scheduling engine with a clock that skips the waiting; the simulated API is
in its own process. Target: less than 2 MB of growth between cycle 100 and 10,000.

    python -m bench.memory [--cycles 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import Row, start_simulator
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.tastytrade import TastytradeBroker
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import Secret, load_settings
from ttai_cli.jobs.alerts import AlertsCheckJob
from ttai_cli.jobs.base import RunContext
from ttai_cli.jobs.context import JobContext
from ttai_cli.scheduling.engine import Runner
from ttai_cli.scheduling.policy import Policy
from ttai_cli.scheduling.schedules import Every
from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
from ttai_cli.store import open_store
from ttai_cli.store.alerts import AlertsRepository
from ttai_cli.store.jobs import JobsRepository

TARGET_MB = 2.0


class SkippingClock:
    """Wall time that jumps to each slot: the loop runs back to back."""

    def __init__(self) -> None:
        self._now = datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        await asyncio.sleep(0)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no /proc/self/status")


class Sampling(AlertsCheckJob):
    def __init__(self, context: JobContext, at: int) -> None:
        super().__init__(context)
        self.count, self.at, self.sample = 0, at, 0.0

    async def run(self, ctx: RunContext) -> str | None:
        result = await super().run(ctx)
        self.count += 1
        if self.count == self.at:
            gc.collect()
            self.sample = rss_mb()
        return result


def measure(cycles: int = 10_000, early: int = 100) -> tuple[float, float]:
    home = Path(tempfile.mkdtemp(prefix="ttai-bench-"))
    settings = load_settings(environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"})
    store = open_store(settings.database_path)
    clock = SkippingClock()
    for symbol in ("AAPL", "SPY", "QQQ", "TSLA", "IWM"):
        AlertsRepository(store).add(parse_alert(symbol, "price", "above", "100000"), clock.now())
    sim, url = start_simulator()
    try:
        context = JobContext(
            settings,
            store,
            clock,
            lambda: TastytradeBroker(
                client_secret=Secret(DEMO_CLIENT_SECRET),
                refresh_token=Secret(DEMO_REFRESH_TOKEN),
                base_url=url,
            ),
        )
        job = Sampling(context, early)
        repo = JobsRepository(store)

        async def loop() -> None:
            runner = Runner(
                job,
                Every(timedelta(seconds=30), clock.now()),
                Policy(job.name, repo, None),
                clock,
                repo,
                asyncio.Event(),
                max_runs=cycles,
                max_chunk=3600,
            )
            await runner.run()
            await job.close()

        asyncio.run(loop())
        gc.collect()
        return job.sample, rss_mb()
    finally:
        sim.terminate()
        sim.wait()


def rows(cycles: int = 10_000) -> list[Row]:
    """Measured in a fresh interpreter: other benchmarks' allocations would hide growth."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--cycles", str(cycles), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    early, late = json.loads(done.stdout.strip().splitlines()[-1])
    growth = late - early
    return [
        Row(
            f"memory: alerts-check loop, RSS after {cycles:,} cycles",
            f"{late:.1f} MB (+{growth:.2f} MB)",
            f"after 100 cycles {early:.1f} MB",
            late / early,
            f"growth < {TARGET_MB:g} MB",
            growth < TARGET_MB,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=10_000)
    parser.add_argument(
        "--json", action="store_true", help="print [RSS after 100, after all] in MB"
    )
    args = parser.parse_args()
    if args.json:
        print(json.dumps(list(measure(args.cycles))))
        return 0
    for row in rows(args.cycles):
        print(
            f"{row.name}: {row.figure}; {row.baseline}; target {row.target}: {'met' if row.met else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
