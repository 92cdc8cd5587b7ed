"""The stream hub's clock: one daemon thread that ticks and runs scheduled actions."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Ticker:
    """Calls `on_tick` every `interval` seconds on its own daemon thread (started by
    `ensure_running`), and runs actions `schedule`d for later on the same thread. An
    exception in either goes to `on_error` and the ticker goes on. Ticks keep to their
    schedule without drift; one that falls a whole interval behind is skipped, not
    made up in a burst."""

    def __init__(
        self, on_tick: Callable[[], object], on_error: Callable[[Exception], None]
    ) -> None:
        self._on_tick = on_tick
        self._on_error = on_error
        self._interval = 0.5
        self._lock = threading.Lock()
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._ids = itertools.count()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._interval = max(0.001, float(seconds))
        self._wake.set()

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="sim-streams", daemon=True)
                self._thread.start()

    def schedule(self, delay: float, action: Callable[[], object]) -> None:
        """Run `action` on the ticker's thread `delay` seconds from now."""
        with self._lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._ids), action))
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread and forget pending actions; `ensure_running` starts over."""
        self._stop.set()
        self._wake.set()
        with self._lock:  # `ensure_running` assigns and starts the thread under the lock:
            thread = self._thread  # read it there, never between the two (join would raise)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        with self._lock:
            self._timers.clear()

    def _run(self) -> None:
        last = time.monotonic()  # when the previous tick was due
        while not self._stop.is_set():
            now = time.monotonic()
            self._run_due(now)
            due = last + self._interval
            if now >= due:
                self._guarded(self._on_tick)
                last = due if now - due < self._interval else now
                due = last + self._interval
            self._wake.clear()  # before looking: a wake-up from now on is not lost
            with self._lock:
                wake_at = min([due] + [t[0] for t in self._timers[:1]])
            self._wake.wait(max(0.0, wake_at - time.monotonic()))

    def _run_due(self, now: float) -> None:
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > now or self._stop.is_set():
                    return
                _, _, action = heapq.heappop(self._timers)
            self._guarded(action)

    def _guarded(self, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # a simulator bug must not stop the stream
            self._on_error(exc)
