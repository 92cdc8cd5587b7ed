"""Reconnect delays: exponential with full jitter, first retry within a second."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays before reconnecting: attempt n waits a random time in [base*2^(n-1)/2,
    base*2^(n-1)], capped at `cap`. The first retry comes within `base` (1 s), so a blip
    costs little; a long outage settles at one try every `cap` seconds (30 s) without
    every client of a dead server retrying in step. `reset()` after a connection that
    worked."""

    base: float = 1.0
    cap: float = 30.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.attempts)
        self.attempts += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0
