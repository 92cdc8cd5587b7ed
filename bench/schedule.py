"""Schedule lateness: the engine's fixed grid against a plain `sleep(period)` loop.

Both run side by side for the same wall-clock time: `--every 2s` with a job that takes
1.5 s. For each run, lateness is how long after its slot it started. The engine keeps
every run on the grid; the plain loop drifts by the job's duration every period.

    python -m bench.schedule [--seconds 60] [--period 2] [--work 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import Row
from ttai_cli.clock import NEW_YORK, SystemClock
from ttai_cli.jobs.base import Job, RunContext
from ttai_cli.scheduling.engine import Runner
from ttai_cli.scheduling.policy import Policy
from ttai_cli.scheduling.schedules import Every
from ttai_cli.store import open_store
from ttai_cli.store.jobs import JobsRepository

TARGET_MAX_MS = 50.0


class Work(Job):
    name = "bench"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lateness: list[float] = []

    async def run(self, ctx: RunContext) -> str:
        self.lateness.append((datetime.now(NEW_YORK) - ctx.slot).total_seconds())
        await asyncio.sleep(self.seconds)
        return "worked"


def engine(seconds: float, period: float, work: float) -> list[float]:
    store = open_store(Path(tempfile.mkdtemp(prefix="ttai-bench-")) / "bench.db")
    repo = JobsRepository(store)
    job = Work(work)
    clock = SystemClock()
    start = clock.now() + timedelta(milliseconds=200)

    async def main() -> None:
        runner = Runner(
            job,
            Every(timedelta(seconds=period), start),
            Policy(job.name, repo, None),
            clock,
            repo,
            asyncio.Event(),
            max_runs=int(seconds // period),
        )
        await runner.run()

    asyncio.run(main())
    store.close()
    return job.lateness


def plain_loop(seconds: float, period: float, work: float, out: list[float]) -> None:
    start = time.time()
    k = 0
    while time.time() - start < seconds:
        out.append(time.time() - (start + k * period))  # lateness against the same grid
        time.sleep(work)  # the job
        time.sleep(period)  # "sleep(period)"
        k += 1


def rows(seconds: float = 60, period: float = 2.0, work: float = 1.5) -> list[Row]:
    naive: list[float] = []
    thread = threading.Thread(target=plain_loop, args=(seconds, period, work, naive))
    thread.start()
    ours = engine(seconds, period, work)
    thread.join()
    worst, naive_worst = max(ours) * 1000, max(naive) * 1000
    return [
        Row(
            f"schedule: --every {period:g}s, {work:g}s job, {seconds:g}s, max lateness ({len(ours)} runs)",
            f"{worst:.1f} ms (median {statistics.median(ours) * 1000:.1f})",
            f"sleep(period) loop {naive_worst:.0f} ms",
            worst / naive_worst,
            f"<= {TARGET_MAX_MS:g} ms",
            worst <= TARGET_MAX_MS,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--period", type=float, default=2.0)
    parser.add_argument("--work", type=float, default=1.5)
    args = parser.parse_args()
    naive: list[float] = []
    thread = threading.Thread(target=plain_loop, args=(args.seconds, args.period, args.work, naive))
    thread.start()
    ours = engine(args.seconds, args.period, args.work)
    thread.join()
    ms = [x * 1000 for x in ours]
    naive_ms = [x * 1000 for x in naive]
    print(f"schedule lateness over {args.seconds:g}s, --every {args.period:g}s, job {args.work:g}s")
    print(f"{'loop':<24} {'runs':>5} {'median ms':>10} {'max ms':>10}")
    print(f"{'ttai engine':<24} {len(ms):5d} {statistics.median(ms):10.1f} {max(ms):10.1f}")
    print(
        f"{'plain sleep(period)':<24} {len(naive_ms):5d} {statistics.median(naive_ms):10.1f} {max(naive_ms):10.1f}"
    )
    print(f"ratio of max lateness (engine / plain loop): {max(ms) / max(naive_ms):.4f}")
    verdict = "met" if max(ms) <= TARGET_MAX_MS else "NOT met"
    print(f"target: engine max lateness <= {TARGET_MAX_MS:g} ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
