"""Start-up cost of commands that never need the broker, against importing the SDK.

Each command runs in a fresh interpreter, interleaved with `python -c "import
tastytrade"` so that both see the same machine load; the figure is the median wall
time and its ratio to the SDK import's median.

    python -m bench.startup [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import Row

BASELINE = [sys.executable, "-c", "import tastytrade"]
SUNDAY = "2026-11-22T10:00"
TTAI = [sys.executable, "-m", "ttai_cli"]


def commands() -> dict[str, tuple[list[str], float]]:
    """name -> (argv, target ratio). The market-closed decisions read the calendar from
    the database (warmed once before measuring), never pandas or the SDK."""
    return {
        "ttai --help": ([*TTAI, "--help"], 0.2),
        "ttai --version": ([*TTAI, "--version"], 0.2),
        "ttai --demo doctor --offline": ([*TTAI, "--demo", "doctor", "--offline"], 0.25),
        "ttai market status --now <Sunday>": ([*TTAI, "market", "status", "--now", SUNDAY], 0.25),
        "ttai run --dry-run --now <Sunday> -- true": (
            [*TTAI, "run", "--every", "30s", "--dry-run", "--now", SUNDAY, "--", "true"],
            0.25,
        ),
        "ttai alerts check --dry-run --now <Sunday>": (
            [*TTAI, "alerts", "check", "--dry-run", "--now", SUNDAY],
            0.25,
        ),
        "ttai alerts list": ([*TTAI, "alerts", "list"], 0.25),
    }


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def measure(
    runs: int, only: tuple[str, ...] | None = None
) -> list[tuple[str, float, float, float]]:
    """(name, median seconds, ratio to the baseline, target ratio) per command (those
    named in `only`, else all), after the baseline's row."""
    env = dict(os.environ, TTAI_HOME=tempfile.mkdtemp(prefix="ttai-bench-"))
    env.pop("TTAI_DEMO", None)
    targets = {n: c for n, c in commands().items() if only is None or n in only}
    samples: dict[str, list[float]] = {name: [] for name in ["baseline", *targets]}
    for argv, _ in targets.values():  # warm .pyc files and the calendar cache once
        wall(argv, env)
    wall(BASELINE, env)
    for _ in range(runs):
        samples["baseline"].append(wall(BASELINE, env))
        for name, (argv, _) in targets.items():
            samples[name].append(wall(argv, env))
    base = statistics.median(samples["baseline"])
    rows = [("python -c 'import tastytrade' (baseline)", base, 1.0, 1.0)]
    for name, (_, target) in targets.items():
        median = statistics.median(samples[name])
        rows.append((name, median, median / base, target))
    return rows


def rows(runs: int = 11) -> list[Row]:
    measured = measure(runs)
    base = measured[0][1]
    return [
        Row(
            f"start-up: {name}",
            f"{median * 1000:.0f} ms",
            f"import tastytrade {base * 1000:.0f} ms",
            ratio,
            f"<= {target:g}x",
            ratio <= target,
        )
        for name, median, ratio, target in measured[1:]
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    rows = measure(args.runs)
    print(f"{'command':<45} {'median':>9} {'ratio':>7} {'target':>7}")
    for name, median, ratio, target in rows:
        verdict = (
            "" if name.endswith("(baseline)") else ("  met" if ratio <= target else "  NOT met")
        )
        print(f"{name:<45} {median * 1000:7.0f}ms {ratio:7.3f} {target:7.2f}{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
