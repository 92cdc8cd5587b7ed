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

BASELINE = [sys.executable, "-c", "import tastytrade"]
TARGET_RATIO = 0.2


def commands() -> dict[str, list[str]]:
    ttai = [sys.executable, "-m", "ttai_cli"]
    return {
        "ttai --help": [*ttai, "--help"],
        "ttai --version": [*ttai, "--version"],
        "ttai --demo doctor --offline": [*ttai, "--demo", "doctor", "--offline"],
    }


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def measure(runs: int) -> list[tuple[str, float, float]]:
    env = dict(os.environ, TTAI_HOME=tempfile.mkdtemp(prefix="ttai-bench-"))
    targets = commands()
    samples: dict[str, list[float]] = {name: [] for name in ["baseline", *targets]}
    for argv in targets.values():  # warm the page cache and .pyc files once
        wall(argv, env)
    wall(BASELINE, env)
    for _ in range(runs):
        samples["baseline"].append(wall(BASELINE, env))
        for name, argv in targets.items():
            samples[name].append(wall(argv, env))
    base = statistics.median(samples["baseline"])
    rows = [("python -c 'import tastytrade' (baseline)", base, 1.0)]
    for name in targets:
        median = statistics.median(samples[name])
        rows.append((name, median, median / base))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    rows = measure(args.runs)
    print(f"{'command':<45} {'median':>9} {'ratio':>7}")
    for name, median, ratio in rows:
        flag = "" if ratio <= TARGET_RATIO or name.endswith("(baseline)") else "  over target"
        print(f"{name:<45} {median * 1000:7.0f}ms {ratio:7.3f}{flag}")
    print(f"target: each command <= {TARGET_RATIO}x the SDK import")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
