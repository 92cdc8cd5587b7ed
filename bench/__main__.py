"""Every benchmark in one run: `python -m bench [--quick]`.

Prints one table and writes it, with the machine and the date, to bench/RESULTS.md.
`--quick` shortens the long ones (20 s of schedule lateness, 1,000 loop cycles, a smaller
naive sample, 20 calls of each `ask` tool) for a fast look; the RESULTS.md of record comes
from a full run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import datetime
from pathlib import Path

from bench import (
    alerts,
    ask,
    memory,
    notify,
    ops,
    risk,
    schedule,
    startup,
    storage,
    strategies,
    stream,
    watch,
)
from bench.common import HEADER, Row


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone"
    )
    args = parser.parse_args()
    quick = args.quick
    rows: list[Row] = []
    for name, run in (
        ("start-up", lambda: startup.rows(5 if quick else 11)),
        ("memory", lambda: memory.rows(1_000 if quick else 10_000)),
        ("alerts", lambda: alerts.rows(200 if quick else 1_000)),
        ("schedule", lambda: schedule.rows(20 if quick else 60)),
        ("notifications", lambda: notify.rows(300 if quick else 1_000)),
        ("stream", lambda: stream.rows(quick)),
        ("risk", lambda: risk.rows(3 if quick else 7)),
        ("watch", lambda: watch.rows(quick)),
        ("strategies", lambda: strategies.rows(quick)),
        ("storage", lambda: storage.rows(quick)),
        ("ask", lambda: ask.rows(quick)),
        ("ops", lambda: ops.measure(quick)),
    ):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(run())
    table = "\n".join([HEADER, *(row.line() for row in rows)])
    print(table)
    if not args.no_write:
        stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        text = (
            "# Benchmark results\n\n"
            f"Last run: {stamp}, `python -m bench{' --quick' if quick else ''}`, on {machine()}.\n"
            "Every baseline was measured side by side in the same run.\n\n" + table + "\n"
        )
        (Path(__file__).parent / "RESULTS.md").write_text(text)
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
