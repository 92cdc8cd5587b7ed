"""Sharing one broker, and one cycle's quotes, among the jobs of a process.

`SharedBroker` opens the broker on first use and keeps it (one login, one connection
pool) until `aclose()`; each job still writes `async with open_broker() as broker:`.
A broker that failed at the transport level is dropped and reopened on the next use;
it is closed only once no lease still uses it: leases run side by side (the daemon's
jobs, `ttai ask`'s tool calls of one answer), and closing it under another's request
failed that one too ("cannot reach tastytrade ... (ReadError)").

`QuoteCache` hands quotes fetched within the last `ttl` seconds to whoever asks next, and
makes a second caller wait for a request already under way instead of sending its own:
the monitor and the alert check, due at the same instant, fetch each symbol once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ttai_cli.errors import BrokerError

if TYPE_CHECKING:  # at run time asyncio is imported lazily: job start-up stays light
    import asyncio

    from ttai_cli.broker.models import Broker, Quote


class SharedBroker:
    def __init__(self, factory: Callable[[], Broker]) -> None:
        self.factory = factory
        self._broker: Broker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._users: dict[int, int] = {}  # id(broker) -> leases using it now
        self._dropped: dict[int, Broker] = {}  # dropped, to close when its last lease ends

    def lease(self) -> _Lease:
        return _Lease(self)

    async def get(self) -> Broker:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a broker belongs to the event loop it was opened in
            self._broker, self._loop, self._lock = None, loop, asyncio.Lock()
            self._users, self._dropped = {}, {}
        assert self._lock is not None
        async with self._lock:
            if self._broker is None:
                broker = self.factory()
                await broker.__aenter__()
                self._broker = broker
            return self._broker

    async def acquire(self) -> Broker:
        """The broker, counted as in use until `release`."""
        broker = await self.get()
        self._users[id(broker)] = self._users.get(id(broker), 0) + 1
        return broker

    async def release(self, broker: Broker, failed: bool) -> None:
        """A lease of `broker` ends; `failed`: it failed at the transport level, so it is
        dropped (the next lease opens a new one) and closed once no lease uses it."""
        count = self._users.get(id(broker), 0) - 1
        if count > 0:
            self._users[id(broker)] = count
        else:
            self._users.pop(id(broker), None)
        if failed and self._broker is broker:
            self._broker = None
            self._dropped[id(broker)] = broker
        if count <= 0 and id(broker) in self._dropped:
            await _close(self._dropped.pop(id(broker)))

    async def reset(self) -> None:
        """Drop the broker now and close it (nothing may be using it: `aclose`)."""
        broker, self._broker = self._broker, None
        if broker is not None:
            self._users.pop(id(broker), None)
            await _close(broker)

    async def aclose(self) -> None:
        import asyncio

        if self._loop is asyncio.get_running_loop():
            await self.reset()
            dropped, self._dropped = list(self._dropped.values()), {}
            for broker in dropped:
                await _close(broker)
        self._broker = None


async def _close(broker: Broker) -> None:
    with contextlib.suppress(Exception):  # it is being dropped because it is broken
        await broker.__aexit__(None, None, None)


class _Lease:
    def __init__(self, shared: SharedBroker) -> None:
        self.shared = shared
        self._broker: Broker | None = None

    async def __aenter__(self) -> Broker:
        self._broker = await self.shared.acquire()
        return self._broker

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await self.shared.release(broker, isinstance(exc, BrokerError))


class QuoteCache:
    def __init__(self, ttl: float = 5.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, Quote | None]] = {}
        self._inflight: dict[str, asyncio.Future[dict[str, Quote]]] = {}

    async def __call__(self, broker: Broker, symbols: list[str]) -> dict[str, Quote]:
        import asyncio

        now = self.monotonic()
        found: dict[str, Quote] = {}
        missing: list[str] = []
        waiting: dict[str, asyncio.Future[dict[str, Quote]]] = {}
        for symbol in dict.fromkeys(symbols):
            cached = self._cache.get(symbol)
            if cached is not None and now - cached[0] <= self.ttl:
                if cached[1] is not None:
                    found[symbol] = cached[1]
            elif symbol in self._inflight:
                waiting[symbol] = self._inflight[symbol]
            else:
                missing.append(symbol)
        if missing:
            future: asyncio.Future[dict[str, Quote]] = asyncio.get_running_loop().create_future()
            for symbol in missing:
                self._inflight[symbol] = future
            try:
                fetched = await broker.quotes(missing)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: waiters get it, nobody else is warned
                raise
            finally:
                for symbol in missing:
                    self._inflight.pop(symbol, None)
            future.set_result(fetched)
            stamp = self.monotonic()
            for symbol in missing:
                self._cache[symbol] = (stamp, fetched.get(symbol))
            found.update({s: q for s, q in fetched.items() if s in missing})
        for symbol, pending in waiting.items():
            quote = (await pending).get(symbol)
            if quote is not None:
                found[symbol] = quote
        return found


def lease_factory(shared: SharedBroker) -> Callable[[], Any]:
    return shared.lease
