"""The real-time job: alerts on every tick, orders and positions the moment they change.

`StreamService.run()` keeps, until stopped (or until `until`, the session's close):
- the market feed (DXLink), subscribed to Trade, Quote and Summary for every watched
  price / change alert's symbol and to Greeks for the option positions behind delta
  alerts. Each event updates that symbol's quote and evaluates only the alerts on it,
  with the polling path's own decisions (`services.alerts.decide`) and exactly-once
  transaction (`AlertsService.commit`): a tick that changes nothing writes nothing.
- market hours per instrument: with `open_markets` (a run that keeps market hours),
  a tick evaluates the alerts on its symbol only while their market is open (NYSE,
  CME Globex, crypto always); the fallback and slow paths likewise.
- the alerts table, followed every `follow_every` seconds (1 s): an alert added, removed
  or re-armed by another process changes the subscriptions incrementally.
- the account feed: `order_filled`, `order_partially_filled`, `order_cancelled`,
  `order_rejected`, `order_expired`, each once per order id and status (the outbox key
  says so, across reconnects and restarts); a fill or a position event re-reads the
  positions and notifies opened / closed through the same record sync and monitor use,
  so each change is notified once whoever sees it first.
- fallback polling: while the market feed has been down for `fallback_after` seconds
  (30), price and change alerts are polled over REST every `fallback_every` (30 s),
  until the feed is back. The kinds no stream carries (IV rank, DTE, P&L, tested) are checked
  as `monitor` does, at start and every `slow_every` (60 s); the daemon leaves them to
  its own monitor job.
- the feeds' health, written to the database every second for `ttai status`.
Delivery to remote destinations runs on its own task, woken by each new notification,
so a slow webhook never holds up the evaluation of the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli import logs
from ttai_cli.alerts.models import Alert
from ttai_cli.broker.models import Position, Quote
from ttai_cli.clock import Clock, elapsed
from ttai_cli.services.alerts import AlertsService, decide
from ttai_cli.services.orders import order_key, order_notification, order_notification_type
from ttai_cli.store.stream import StreamStateRepository
from ttai_cli.streaming.backoff import Backoff
from ttai_cli.streaming.events import OrderEvent, PositionEvent, Tick
from ttai_cli.streaming.health import StreamHealth

if TYPE_CHECKING:
    from ttai_cli.broker.models import Broker
    from ttai_cli.jobs.context import JobContext
    from ttai_cli.market.hours import MarketFilter
    from ttai_cli.services.monitor import MonitorService

log = logs.get("stream")
HORIZON_EVERY = 60.0  # seconds between two looks at how long the run lasts (`horizon`)
STREAMED_TYPES = ("price", "change", "delta")
QUOTE_TYPES = ("price", "change")


@dataclass
class StreamReport:
    ticks: int = 0
    fired: int = 0
    orders: int = 0
    position_changes: int = 0
    fallback_checks: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            _count(self.ticks, "market event"),
            f"{_count(self.fired, 'alert')} fired",
            _count(self.orders, "order notification"),
            _count(self.position_changes, "position change"),
        ]
        if self.fallback_checks:
            parts.append(_count(self.fallback_checks, "fallback poll"))
        return ", ".join(parts + self.notes)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@dataclass
class _QuoteState:
    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    prev_close: Decimal | None = None

    def quote(self, symbol: str, now: datetime) -> Quote:
        mark = (self.bid + self.ask) / 2 if self.bid and self.ask else (self.bid or self.ask)
        return Quote(symbol, "", self.bid, self.ask, self.last, mark, self.prev_close, now)


@dataclass
class StreamSettings:
    follow_every: float = 1.0
    fallback: bool = True  # the daemon turns it off: its polling `alerts` job takes over
    fallback_after: float = 30.0
    fallback_every: float = 30.0
    slow_every: float = 60.0
    # standalone: also check the alerts no stream carries (IV rank, DTE, P&L, tested,
    # earnings, the account-level kinds) every `slow_every`; the daemon leaves them to its
    # monitor
    slow_kinds: tuple[str, ...] = (
        "iv-rank",
        "dte",
        "pnl",
        "tested",
        "earnings",
        "bp-usage",
        "drawdown",
        "theta",
        "beta-delta",
    )
    retry_every: float = 5.0
    silence_after: float = 90.0  # a market connection that sends nothing this long is dead
    positions_every: float = 60.0  # re-read positions for delta alerts' options
    fallback_check_every: float = 1.0
    health_every: float = 1.0
    position_debounce: float = 1.0
    backoff_base: float = 1.0  # first reconnect within this many seconds
    account_heartbeat: float = 20.0
    backoff_cap: float = 30.0


class StreamService:
    def __init__(
        self,
        alerts: AlertsService,
        monitor: MonitorService,
        clock: Clock,
        health: StreamHealth,
        state: StreamStateRepository,
        account_streamer_url: str,
        *,
        job: str = "stream",
        settings: StreamSettings | None = None,
        open_markets: MarketFilter | None = None,
    ) -> None:
        self.alerts = alerts
        self.monitor = monitor
        self.clock = clock
        self.health = health
        self.state = state
        self.account_streamer_url = account_streamer_url
        self.job = job
        self.settings = settings or StreamSettings()
        # each alert is evaluated while its own market is open (None: at all hours)
        self.open_markets = open_markets
        self.report = StreamReport()
        self._alerts: list[Alert] = []
        self._by_symbol: dict[str, list[Alert]] = {}
        self._market_of: dict[str, str] = {}  # symbol -> market, of the alerts watched
        self._delta_alerts: list[Alert] = []
        self._quotes: dict[str, _QuoteState] = {}
        self._deltas: dict[str, Decimal] = {}
        self._positions: list[Position] = []
        self._data_version: int | None = None
        self._deliver = asyncio.Event()
        self._positions_due = asyncio.Event()
        self._reload = asyncio.Event()
        self._account_number = ""
        self._market: Any = None
        self._broker: Any = None
        self._fatal: Exception | None = None

    # -- the run -------------------------------------------------------------------------------
    async def run(
        self,
        stop: asyncio.Event,
        until: datetime | None = None,
        account_until: datetime | None = None,
        horizon: Callable[[], datetime | None] | None = None,
    ) -> StreamReport:
        """Stream until `stop` is set or `until` (the session's close) comes; the account
        feed stays until `account_until` (a while after the close: day orders expire and
        closing fills report then). `horizon`, when given, is asked every minute for a
        new `until` (the markets with an active alert changed); the account feed then
        stays as long after it. Raises `CredentialsError` when tastytrade rejects the
        refresh token (a reconnect cannot fix that)."""
        from ttai_cli.streaming.account import AccountFeed
        from ttai_cli.streaming.market import MarketFeed

        market_stop, account_stop = asyncio.Event(), asyncio.Event()
        self.health.reset(self.clock.now())
        tasks: list[asyncio.Future[None]] = []
        try:
            async with self.alerts.open_broker() as broker:
                self._broker = broker
                self._account_number = await _account_number(broker)
                self._load_alerts()
                # where positions stand now (and what changed since the last sync or
                # monitor run, notified once): the delta alerts' options, the fills' baseline
                await self._refresh_positions(broker, notify=True)
                settings = self.settings
                self._market = MarketFeed(
                    self._sdk_session,
                    self.on_tick,
                    self.health.market,
                    self.clock,
                    Backoff(settings.backoff_base, settings.backoff_cap),
                    silence=settings.silence_after,
                )
                self._market.want(self._wanted())
                account = AccountFeed(
                    self._sdk_session,
                    self.account_streamer_url,
                    self._sdk_accounts,
                    self.on_order,
                    self.on_position,
                    self.health.account,
                    self.clock,
                    Backoff(settings.backoff_base, settings.backoff_cap),
                    heartbeat=settings.account_heartbeat,
                    recent_orders=self._todays_orders,
                )
                tasks = [
                    asyncio.ensure_future(self._market.run(market_stop)),
                    asyncio.ensure_future(self._follow_alerts(market_stop)),
                    asyncio.ensure_future(self._fallback(market_stop)),
                    asyncio.ensure_future(self._slow_path(market_stop)),
                    asyncio.ensure_future(account.run(account_stop)),
                    asyncio.ensure_future(self._deliverer(account_stop)),
                    asyncio.ensure_future(self._positions_worker(account_stop)),
                    asyncio.ensure_future(self._write_health(account_stop)),
                    asyncio.ensure_future(self._watch_credentials(stop)),
                ]
                try:
                    ended = await self._until(stop, until, horizon)
                    if account_until is not None and until is not None and ended is not None:
                        account_until = ended + (account_until - until)
                    market_stop.set()
                    if account_until is not None and not stop.is_set() and not self._fatal:
                        log.info(
                            "market data closed; order events followed until %s",
                            f"{account_until:%H:%M}",
                        )
                        await self._until(stop, account_until)
                finally:
                    market_stop.set()
                    account_stop.set()
                    await _finish(tasks)
                    # a last delivery, bounded: the stop must end within the documented 5 s
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self.alerts.flush(), timeout=1.0)
        finally:
            self.health.running = False
            self.health.market.idle = False
            with contextlib.suppress(Exception):
                self._save_health(stopped=True)
        if self._fatal is not None:
            raise self._fatal
        self.report.ticks = self.health.market.events
        return self.report

    async def _watch_credentials(self, stop: asyncio.Event) -> None:
        """A refresh token tastytrade rejected (`invalid_grant`) ends the run: every
        reconnect would fail the same way."""
        from ttai_cli.broker.tastytrade import TOKEN_HELP
        from ttai_cli.errors import CredentialsError

        while not stop.is_set():
            if getattr(self._broker, "credentials_rejected", False):
                self._fatal = CredentialsError(TOKEN_HELP)
                stop.set()
                return
            await _sleep_or(stop, self.clock, 1.0)

    async def _until(
        self,
        stop: asyncio.Event,
        until: datetime | None,
        horizon: Callable[[], datetime | None] | None = None,
    ) -> datetime | None:
        """Wait for `stop` or `until` (asking `horizon` every minute for a new one);
        returns the `until` that ended the wait."""
        asked = self.clock.monotonic()
        while not stop.is_set():
            if horizon is not None and self.clock.monotonic() - asked >= HORIZON_EVERY:
                asked = self.clock.monotonic()
                try:
                    until = horizon()
                except Exception as exc:  # a busy database: keep the last answer
                    log.debug("stream horizon not read: %s", exc)
            if until is not None:
                remaining = elapsed(until, self.clock.now()).total_seconds()
                if remaining <= 0:
                    return until
                if horizon is not None:
                    remaining = min(remaining, HORIZON_EVERY)
            else:
                remaining = 1.0
            stopper = asyncio.ensure_future(stop.wait())
            sleeper = asyncio.ensure_future(self.clock.sleep(min(1.0, remaining)))
            await asyncio.wait({stopper, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            sleeper.cancel()
        return until

    async def _sdk_session(self) -> Any:
        async with self.alerts.open_broker() as broker:
            return broker.sdk_session  # type: ignore[attr-defined]

    async def _todays_orders(self) -> list[OrderEvent]:
        async with self.alerts.open_broker() as broker:
            getter = getattr(broker, "todays_orders", None)
            return list(await getter()) if getter is not None else []

    async def _sdk_accounts(self) -> Any:
        async with self.alerts.open_broker() as broker:
            return await broker.sdk_accounts()  # type: ignore[attr-defined]

    # -- alerts ----------------------------------------------------------------------------------
    def _load_alerts(self, keep_version: bool = False) -> None:
        """Read the watched alerts and index them by what drives them."""
        from ttai_cli.market.instruments import market_of

        self._alerts = self.alerts.repo.watching(STREAMED_TYPES)
        by_symbol: dict[str, list[Alert]] = {}
        for alert in self._alerts:
            if alert.type in QUOTE_TYPES:
                by_symbol.setdefault(alert.symbol, []).append(alert)
        self._by_symbol = by_symbol
        self._market_of = {a.symbol: market_of(a.symbol) for a in self._alerts}
        self._delta_alerts = [a for a in self._alerts if a.type == "delta"]
        if not keep_version:
            self._data_version = self._current_data_version()

    def _current_data_version(self) -> int:
        return int(self.alerts.repo.store.db.execute("PRAGMA data_version").fetchone()[0])

    def _wanted(self) -> dict[str, set[str]]:
        symbols = set(self._by_symbol)
        watched = {a.symbol for a in self._delta_alerts}
        options = {
            p.symbol
            for p in self._positions
            if p.is_option and (p.symbol in watched or p.underlying_symbol in watched)
        }
        return {"Trade": symbols, "Quote": set(symbols), "Summary": set(symbols), "Greeks": options}

    async def _follow_alerts(self, stop: asyncio.Event) -> None:
        """Follow the alerts table: another process's commit bumps SQLite's data version;
        our own writes set `_reload`. A full re-read every 30 s is the safety net."""
        last_full = self.clock.monotonic()
        while not stop.is_set():
            await _sleep_or(stop, self.clock, self.settings.follow_every, self._reload)
            if stop.is_set():
                return
            try:
                changed = (
                    self._reload.is_set() or self._current_data_version() != self._data_version
                )
                if changed or self.clock.monotonic() - last_full >= 30:
                    self._reload.clear()
                    before = {(a.id, a.status, a.cleared_at) for a in self._alerts}
                    had_delta = bool(self._delta_alerts)
                    self._load_alerts()
                    last_full = self.clock.monotonic()
                    if before != {(a.id, a.status, a.cleared_at) for a in self._alerts}:
                        log.debug("alerts changed: %d watched", len(self._alerts))
                    if self._delta_alerts and not had_delta:
                        self._positions_due.set()
                    self._market.want(self._wanted())
            except Exception as exc:  # a busy database: try again next second
                log.warning("reading the alerts failed: %s", exc)

    def on_tick(self, tick: Tick) -> None:
        """One market event: update the symbol's state, evaluate the alerts on it."""
        if tick.kind == "greeks":
            if tick.delta is None:
                return
            self._deltas[tick.symbol] = tick.delta
            alerts = self._delta_alerts_for(tick.symbol)
            if alerts:
                self._evaluate(alerts, quotes={})
            return
        state = self._quotes.get(tick.symbol)
        if state is None:
            state = self._quotes[tick.symbol] = _QuoteState()
        if tick.kind == "trade":
            state.last = tick.price
        elif tick.kind == "quote":
            state.bid, state.ask = tick.bid, tick.ask
        elif tick.kind == "summary":
            state.prev_close = tick.prev_close
        on_symbol = self._by_symbol.get(tick.symbol)
        if on_symbol and self._market_open(tick.symbol):
            self._evaluate(on_symbol, {tick.symbol: state.quote(tick.symbol, self.clock.now())})

    def _market_open(self, symbol: str) -> bool:
        """Whether the market of the alerts on `symbol` is open now (always, when market
        hours are ignored): a tick outside it updates the quote and evaluates nothing."""
        if self.open_markets is None:
            return True
        from ttai_cli.market.instruments import market_of

        market = self._market_of.get(symbol)
        return self.open_markets(market if market is not None else market_of(symbol))

    def _delta_alerts_for(self, option: str) -> list[Alert]:
        position = next((p for p in self._positions if p.symbol == option), None)
        if position is None:
            return []
        return [
            a
            for a in self._delta_alerts
            if a.symbol in (position.symbol, position.underlying_symbol)
            and self._market_open(a.symbol)
        ]

    def _evaluate(self, alerts: list[Alert], quotes: dict[str, Quote]) -> None:
        from ttai_cli.alerts.evaluate import MarketView
        from ttai_cli.services.portfolio import position_view

        now = self.clock.now()
        views = []
        if any(a.type == "delta" for a in alerts):
            views = [position_view(p, p.mark, now.date()) for p in self._positions]
        view = MarketView(quotes=quotes, positions=views, deltas=self._deltas)
        decisions = decide(alerts, view, now)
        if not decisions:
            return
        notifications = self.alerts.commit(now, decisions)
        self.report.fired += len(notifications)
        # our own write: re-read at once, so the next tick sees the alert triggered (the
        # data version stays as last seen: another process's change is still picked up)
        self._load_alerts(keep_version=True)
        self._market.want(self._wanted())
        self._deliver.set()

    # -- orders and positions -------------------------------------------------------------------
    def on_order(self, order: OrderEvent) -> None:
        kind = order_notification_type(order)
        if kind is None:
            return
        key = order_key(order, kind)
        notification = order_notification(order, kind, self.clock.now())
        with self.alerts.repo.store.transaction() as db:
            stored = self.alerts.enqueue(db, notification, key)
        if stored:
            self.report.orders += 1
            if self.alerts.notifier is not None:
                self.alerts.notifier.emit_local(notification)
            self._deliver.set()
        else:
            log.debug("order %s %s already notified", order.order_id, kind)
        if kind in ("order_filled", "order_partially_filled"):
            self._positions_due.set()

    def on_position(self, event: PositionEvent) -> None:
        self._positions_due.set()

    async def _positions_worker(self, stop: asyncio.Event) -> None:
        """Re-read positions once things settle (a fill brings several events)."""
        while not stop.is_set():
            await _sleep_or(stop, self.clock, None, self._positions_due)
            if stop.is_set():
                return
            if not self._positions_due.is_set():
                continue
            await _sleep_or(stop, self.clock, self.settings.position_debounce)
            self._positions_due.clear()
            try:
                async with self.alerts.open_broker() as broker:
                    await self._refresh_positions(broker, notify=True)
            except Exception as exc:
                log.warning("re-reading positions after an account event failed: %s", exc)

    async def _refresh_positions(self, broker: Broker, *, notify: bool) -> None:
        if notify:
            changes = await self.monitor.track_positions(broker)
            self.report.position_changes += changes
            if changes:
                self._deliver.set()
            self._positions = self.monitor.positions.stored()
        else:
            self._positions = await broker.positions()
        if self._market is not None:
            self._market.want(self._wanted())

    # -- polling where the stream cannot serve -----------------------------------------------------
    async def _fallback(self, stop: asyncio.Event) -> None:
        """Poll price and change alerts over REST every `fallback_every` while the market
        feed has been down `fallback_after` seconds (checked every second)."""
        settings = self.settings
        last_poll = float("-inf")
        while not stop.is_set():
            await _sleep_or(stop, self.clock, settings.fallback_check_every)
            if stop.is_set() or not settings.fallback:
                continue
            market = self.health.market
            down = (
                self._market is not None
                and self._market.needed
                and not market.connected
                and market.down_for(self.clock.now()) >= settings.fallback_after
            )
            if down != self.health.fallback_polling:
                if down:
                    log.warning(
                        "market stream down for %.0fs: polling alerts every %.0fs until it is back",
                        market.down_for(self.clock.now()),
                        settings.fallback_every,
                    )
                elif market.connected:
                    log.warning("market stream is back: polling stopped")
                else:
                    log.info("no price or change alert left to poll")
                self.health.fallback_polling = down
            if down and self.clock.monotonic() - last_poll >= settings.fallback_every:
                last_poll = self.clock.monotonic()
                await self._poll(QUOTE_TYPES)
                self.report.fallback_checks += 1

    async def _slow_path(self, stop: asyncio.Event) -> None:
        """The alerts no stream carries: IV rank (market metrics), DTE and P&L (the
        positions and their marks), checked like `monitor` does, every `slow_every`; and
        the positions behind delta alerts re-read every `positions_every`, in case the
        account stream missed an opening."""
        kinds = self.settings.slow_kinds
        last_positions = self.clock.monotonic()
        while not stop.is_set():
            try:
                if kinds and self.alerts.repo.count_watching(kinds):
                    report = await self.monitor.run(kinds, open_markets=self.open_markets)
                    self.report.fired += report.fired
                    self.report.position_changes += report.position_changes
                elif (
                    self._delta_alerts
                    and self.clock.monotonic() - last_positions >= self.settings.positions_every
                ):
                    self._positions_due.set()
                    last_positions = self.clock.monotonic()
            except Exception as exc:  # a busy database, a failed request: next time
                log.warning("checking %s alerts failed: %s", ", ".join(kinds), exc)
            await _sleep_or(stop, self.clock, self.settings.slow_every)

    async def _poll(self, types: tuple[str, ...]) -> None:
        try:
            report = await self.alerts.check(types, open_markets=self.open_markets)
            self.report.fired += report.fired
        except Exception as exc:
            log.warning("polling %s alerts failed: %s", "/".join(types), exc)

    # -- delivery and health -----------------------------------------------------------------------
    async def _deliverer(self, stop: asyncio.Event) -> None:
        """Deliver at once when something new is stored, and every `retry_every` seconds
        anyway: a notification waiting to be retried (a destination that was down) goes
        out when its time comes, not only when the next one is made."""
        while not stop.is_set():
            await _sleep_or(stop, self.clock, self.settings.retry_every, self._deliver)
            if stop.is_set():
                return
            self._deliver.clear()
            try:
                await self.alerts.flush()
            except Exception as exc:
                log.warning("delivering notifications failed: %s", exc)

    async def _write_health(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self._save_health()
            except Exception as exc:
                log.debug("stream state not written: %s", exc)
            await _sleep_or(stop, self.clock, self.settings.health_every)

    def _save_health(self, stopped: bool = False) -> None:
        self.state.save(
            self.job,
            [self.health.market, self.health.account],
            self.clock.now(),
            None if stopped else os.getpid(),
            self._account_number,
            self.health.fallback_polling,
        )


async def preflight(context: JobContext) -> str:
    """Before streaming: the account must be readable (a missing account or a revoked
    token is a configuration error, exit 2, not a reconnect loop). Logs and returns
    what will be streamed."""
    alerts = context.alerts(notify=False)
    streamed = alerts.repo.watching(STREAMED_TYPES)
    polled = alerts.repo.watching(StreamSettings.slow_kinds)
    async with context.open_broker() as broker:
        number = await _account_number(broker)
    masked = f"...{number[-4:]}" if number else "the account"
    parts = []
    if streamed:
        symbols = sorted({a.symbol.strip() for a in streamed})
        parts.append(f"{_count(len(streamed), 'alert')} on every tick ({', '.join(symbols)})")
    if polled:
        kinds = sorted({a.type for a in polled})
        parts.append(f"{_count(len(polled), 'alert')} ({', '.join(kinds)}) every minute")
    what = "; ".join(parts) or "no active alert"
    log.info("watching %s; orders and positions of %s as they change", what, masked)
    return what


async def _finish(tasks: list[asyncio.Future[None]]) -> None:
    """Let the stopped tasks end (2 s at most), cancel the rest, log any that failed."""
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=2.0)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("stream task failed: %s", task.exception())


async def _account_number(broker: Broker) -> str:
    getter: Callable[[], Awaitable[str]] | None = getattr(broker, "account_number", None)
    return await getter() if getter is not None else ""


async def _sleep_or(
    stop: asyncio.Event, clock: Clock, seconds: float | None, wake: asyncio.Event | None = None
) -> None:
    """Sleep on `clock` until `seconds` pass (None: no limit), `stop` is set, or `wake` is."""
    waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait())}
    if seconds is not None:
        waiters.add(asyncio.ensure_future(clock.sleep(seconds)))
    if wake is not None:
        waiters.add(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
