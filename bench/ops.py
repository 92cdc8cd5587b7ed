"""Operations (#14): `ttai metrics` start-up against `import tastytrade`, side by side.

- metrics: `ttai metrics` in a fresh interpreter each time (what a node_exporter textfile
  cron job or a scrape wrapper runs), interleaved with `python -c "import tastytrade"` so
  both see the same machine load; the figure is the median wall time and its ratio to the
  SDK import's median. Two databases: a fresh one, and the demo account's after an alerts
  check and a risk report (jobs, alerts, an outbox, balances and a risk snapshot to read).
  Target: <= 0.25x.

    python -m bench.ops [--quick]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile

from bench.common import Row, run_rows
from bench.startup import BASELINE
from bench.startup import wall as startup_wall

METRICS_TARGET = 0.25


def metrics_rows(quick: bool) -> list[Row]:
    """`ttai metrics` start-up (empty and populated database) vs `import tastytrade`."""
    runs = 5 if quick else 15
    ttai = [sys.executable, "-m", "ttai_cli", "-q"]
    env = dict(os.environ, TTAI_HOME=tempfile.mkdtemp(prefix="ttai-bench-metrics-"))
    for name in ("TTAI_DEMO", "TTAI_CONFIG"):
        env.pop(name, None)
    commands = {
        "ttai metrics (fresh database)": [*ttai, "metrics"],
        "ttai --demo metrics (after alerts check + risk)": [*ttai, "--demo", "metrics"],
    }
    # the demo database with something in every table `ttai metrics` reads, the calendar
    # cache filled, and the .pyc files written: what a refresh every minute finds
    startup_wall([*ttai, "--demo", "alerts", "check", "--ignore-market-hours"], env)
    startup_wall([*ttai, "--demo", "risk", "--json"], env)
    for argv in commands.values():
        startup_wall(argv, env)
    startup_wall(BASELINE, env)
    samples: dict[str, list[float]] = {name: [] for name in ["baseline", *commands]}
    for _ in range(runs):
        samples["baseline"].append(startup_wall(BASELINE, env))
        for name, argv in commands.items():
            samples[name].append(startup_wall(argv, env))
    base = statistics.median(samples["baseline"])
    rows = []
    for name in commands:
        median = statistics.median(samples[name])
        rows.append(
            Row(
                f"ops: start-up of `{name}`, median of {runs}",
                f"{median * 1000:.0f} ms",
                f"import tastytrade {base * 1000:.0f} ms",
                median / base,
                f"<= {METRICS_TARGET:g}x",
                median / base <= METRICS_TARGET,
            )
        )
    return rows


def measure(quick: bool) -> list[Row]:
    return metrics_rows(quick)


def main() -> int:
    return run_rows(__doc__, measure)


if __name__ == "__main__":
    raise SystemExit(main())
