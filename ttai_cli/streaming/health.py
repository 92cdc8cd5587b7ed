"""A feed's health, as `ttai status` and the daemon's alerts job read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ttai_cli.clock import Clock, elapsed


@dataclass
class FeedHealth:
    """One stream connection's state. `since` is when it connected, or when it went
    down; `reconnects` counts connections after the first."""

    feed: str  # "market" or "account"
    connected: bool = False
    since: datetime | None = None
    connections: int = 0
    events: int = 0
    malformed: int = 0
    last_event_at: datetime | None = None
    last_error: str | None = None
    idle: bool = False  # nothing to subscribe: not connected, and nothing missed

    @property
    def reconnects(self) -> int:
        return max(0, self.connections - 1)

    def up(self, now: datetime) -> None:
        self.connected = True
        self.since = now
        self.connections += 1
        self.last_error = None

    def down(self, now: datetime, error: str | None) -> None:
        if self.connected or self.since is None:
            self.since = now
        self.connected = False
        self.last_error = error

    def down_for(self, now: datetime) -> float:
        """Seconds since the feed went down (0 while connected; since start if never up)."""
        if self.connected or self.since is None:
            return 0.0
        return elapsed(now, self.since).total_seconds()


@dataclass
class StreamHealth:
    """Both feeds of one `ttai stream` (or the daemon's `stream` job)."""

    market: FeedHealth
    account: FeedHealth
    clock: Clock
    running: bool = False
    fallback_polling: bool = False
    started_at: datetime | None = None

    @classmethod
    def new(cls, clock: Clock) -> StreamHealth:
        return cls(FeedHealth("market"), FeedHealth("account"), clock)

    def reset(self, now: datetime) -> None:
        """A new run: fresh counters (yesterday's idle or connected state must not count)."""
        self.market = FeedHealth("market")
        self.account = FeedHealth("account")
        self.running = True
        self.fallback_polling = False
        self.started_at = now

    def quotes_healthy(self, grace: float = 30.0) -> bool:
        """True while the market feed is connected, or has been down less than `grace`
        seconds (a reconnect usually takes one): then polling quotes would be waste."""
        if not self.running:
            return False
        if self.market.connected or self.market.idle:
            return True
        return self.market.since is not None and self.market.down_for(self.clock.now()) < grace
