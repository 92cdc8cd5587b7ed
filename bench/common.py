"""What every benchmark reports: a figure, its baseline measured in the same run, the
ratio, and whether the target is met."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    name: str
    figure: str  # e.g. "216 ms"
    baseline: str  # e.g. "import tastytrade 1410 ms"
    ratio: float
    target: str
    met: bool

    def line(self) -> str:
        return f"| {self.name} | {self.figure} | {self.baseline} | {self.ratio:.4g} | {self.target} | {'met' if self.met else 'NOT met'} |"


HEADER = (
    "| benchmark | figure | baseline (same run) | ratio | target | |\n|---|---|---|---|---|---|"
)


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    """The simulated API in its own process (its CPU and memory are not ttai's)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttai_cli.simulator", "--any-symbol"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.rsplit(" ", 1)[-1].strip()


def run_rows(doc: str | None, measure: Callable[[bool], list[Row]]) -> int:
    """`python -m bench.X [--quick]`: print a benchmark's rows; exit 1 if a target is missed."""
    import argparse

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--quick", action="store_true")
    result = measure(parser.parse_args().quick)
    for row in result:
        print(row.line())
    return 0 if all(r.met for r in result) else 1
