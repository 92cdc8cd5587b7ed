"""What `ttai watch` shows, kept current: account, positions, alerts, jobs, outbox, clock.

Sources, and how fresh each is:
- positions and balances: read over REST when the view starts, then every `poll_every`
  seconds (5). Marks come from the broker's position marks (or a quote for a position
  with none) at each read;
- live marks: unless streaming is off (`TTAI_STREAMING=0`), the view opens its own DXLink
  connection (`MarketFeed`) for the positions' and the price / change alerts' symbols;
  while it is connected a streamed mark wins over the polled one, and NLV moves with the
  streamed marks between two reads (NLV at the read + the streamed change since). While
  it is down, the alert symbols' prices are polled with the positions;
- beta-weighted delta: `RiskService` (one Greeks snapshot) at start and every
  `risk_every` seconds (300); shown only once it has worked;
- alerts, fired-today events, jobs, stream processes, pending notifications and the
  NYSE clock: from the local database every `records_every` seconds (2).

Each section's lines are made by `watch_lines.py` (pure) from what is gathered here.

Numbers: a position's day change is `(mark - base) x quantity x multiplier`, base being
the previous close, or the open price for a position opened today (the briefings'
rule); the day P&L is the sum of the day changes plus what was realised today on the
open positions. Positions are sorted by the largest absolute P&L first (unknown last).

Strategies: the positions grouped as `ttai positions --strategies` groups them (by
opening order, from the transactions read when the view starts and again whenever the
held quantities change, else by expiration); their figures move with the legs' marks.
They are sorted like positions, each with its legs beneath in the strategy's order.
An armed alert's distance is how far the watched value must move to trigger it:
a price alert `(threshold - price) / price x 100` %, a % change alert
`threshold - change` percentage points; other kinds have none.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli import logs
from ttai_cli.broker.models import Balances, Broker, Position, Transaction
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.errors import TtaiError
from ttai_cli.services.watch_lines import (
    CENTS,
    AlertLine,
    FiredLine,
    JobLine,
    MarketClock,
    PositionLine,
    StrategyGroup,
    WatchView,
    alert_line,
    fired_line,
    job_line,
    position_line,
    quote_distance,
    strategy_lines,
)
from ttai_cli.strategies import group_strategies

if TYPE_CHECKING:
    from ttai_cli.store import Store
    from ttai_cli.streaming.events import Tick

log = logs.get("watch")
QUOTE_ALERT_TYPES = ("price", "change")
STOP_GRACE = 1.0  # seconds the refresh tasks get to end once the view closes


@dataclass
class _Price:
    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    prev_close: Decimal | None = None

    @property
    def mark(self) -> Decimal | None:
        if self.bid and self.ask:
            return (self.bid + self.ask) / 2
        return self.last if self.last is not None else self.bid or self.ask

    @property
    def price(self) -> Decimal | None:
        return self.last if self.last is not None else self.mark


@dataclass
class _Records:
    armed: list[AlertLine] = field(default_factory=list)
    armed_symbols: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (symbol, type)
    fired: list[FiredLine] = field(default_factory=list)
    jobs: list[JobLine] = field(default_factory=list)
    stream_connected: bool | None = None
    pending: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    market: MarketClock | None = None


class WatchService:
    """The live view's state. `snapshot()` reads everything once; `connected()` +
    `follow()` keep it current; `view()` is what to draw now (cheap, no I/O)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        open_broker: Callable[[], Broker],
        *,
        streaming: bool = True,
        poll_every: float = 5.0,
        records_every: float = 2.0,
        risk_every: float = 300.0,
        greeks_timeout: float = 5.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.open_broker = open_broker
        self.streaming = streaming
        self.poll_every = poll_every
        self.records_every = records_every
        self.risk_every = risk_every
        self.greeks_timeout = greeks_timeout
        self.on_change: Callable[[], None] = lambda: None
        self._broker: Broker | None = None
        self._positions: list[Position] = []
        self._balances: Balances | None = None
        self._held: frozenset[tuple[str, Decimal]] | None = None  # what `_groups` is of
        self._groups: list[StrategyGroup] = []
        self._polled: dict[str, Decimal] = {}  # symbol -> price from the last REST read
        self._previous: dict[str, Decimal] = {}  # alert symbol -> previous close (REST)
        self._streamed: dict[str, _Price] = {}
        self._alert_symbols: set[str] = set()
        self._beta_delta: Decimal | None = None
        self._records = _Records()
        self._updated_at: datetime | None = None
        self._error: str | None = None
        self._feed: Any = None
        self._source = "snapshot"
        self._alerts_version: tuple[int, ...] = ()

    # -- one-off -----------------------------------------------------------------------------
    async def snapshot(self) -> WatchView:
        """Everything read once (no stream): what a non-terminal `ttai watch` prints."""
        self.read_records()
        async with self.open_broker() as broker:
            await self.poll(broker)
            await self.refresh_risk(broker)
        return self.view()

    # -- live --------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[WatchService]:
        """Open the broker and read everything once; a failure here (no credentials, a
        rejected token, tastytrade down) raises before anything is drawn."""
        self.read_records()
        async with self.open_broker() as broker:
            self._broker = broker
            await self.poll(broker)
            self._source = "polling"
            try:
                yield self
            finally:
                self._broker = None

    async def follow(self, stop: asyncio.Event) -> None:
        """Keep the state current until `stop` is set; `on_change()` after each change
        that shows. Failures are shown in the view and retried at the next turn."""
        assert self._broker is not None, "follow() runs inside connected()"
        broker = self._broker
        tasks = [
            asyncio.ensure_future(self._every(stop, self.poll_every, lambda: self.poll(broker))),
            asyncio.ensure_future(self._every(stop, self.records_every, self._records_turn)),
            asyncio.ensure_future(
                self._every(stop, self.risk_every, lambda: self.refresh_risk(broker), first=0.0)
            ),
        ]
        if self.streaming:
            tasks.append(asyncio.ensure_future(self._stream(stop, broker)))
        try:
            await stop.wait()
        finally:
            # the tasks see `stop` and end by themselves (a DXLink connection cancelled
            # while it opens can hang); what is still busy after STOP_GRACE is cancelled
            _done, busy = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in busy:
                task.cancel()
            await asyncio.wait(tasks, timeout=STOP_GRACE)

    async def _every(
        self,
        stop: asyncio.Event,
        seconds: float,
        turn: Callable[[], Any],
        first: float | None = None,
    ) -> None:
        """`turn()` every `seconds` (the first after `first`, default `seconds`)."""
        delay = seconds if first is None else first
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = seconds
            if stop.is_set():
                return
            try:
                result = turn()
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:  # shown, and tried again next turn
                self._error = logs.redact(f"{exc.__class__.__name__}: {exc}")[:200]
                log.debug("watch: a refresh failed", exc_info=True)
            self.on_change()

    async def _records_turn(self) -> None:
        self.read_records()
        if self._feed is not None:
            self._feed.want(self._wanted())

    # -- the broker --------------------------------------------------------------------------
    async def poll(self, broker: Broker) -> None:
        """Positions and balances over REST, and prices the stream does not give now."""
        positions, balances = await asyncio.gather(broker.positions(), broker.balances())
        streaming = self._streaming_now()
        wanted = [p.symbol for p in positions if p.mark is None]
        if not streaming:
            wanted += sorted(self._alert_symbols)
        quotes = await broker.quotes(list(dict.fromkeys(wanted))) if wanted else {}
        polled = {p.symbol: p.mark for p in positions if p.mark is not None}
        for symbol, quote in quotes.items():
            price = quote.mark if symbol not in self._alert_symbols else quote.price
            if price is not None:
                polled.setdefault(symbol, price)
            if quote.prev_close:
                self._previous[symbol] = quote.prev_close
        self._positions, self._balances, self._polled = positions, balances, polled
        held = frozenset((p.symbol, p.quantity) for p in positions)
        if held != self._held:
            await self._regroup(broker, positions, balances)
            self._held = held
        self._updated_at = self.clock.now()
        self._error = None
        if self._feed is not None:
            self._feed.want(self._wanted())

    async def _regroup(self, broker: Broker, positions: list[Position], balances: Balances) -> None:
        """Group the positions into strategies, with the transactions since the oldest
        opened (one request; without them, legs group by expiration)."""
        from ttai_cli.services.strategies import history_start

        today = self.clock.now().astimezone(NEW_YORK).date()
        transactions: list[Transaction] = []
        if any(p.is_option for p in positions):
            try:
                transactions = await broker.transactions(history_start(positions, today))
            except TtaiError as exc:
                log.debug("watch: no transactions to group by order: %s", exc)
        strategies = group_strategies(
            positions, transactions, today=today, cash=balances.cash_balance
        )
        self._groups = [
            StrategyGroup(s.underlying, s.name, tuple(s.symbols), s.opening_order)
            for s in strategies
        ]

    async def refresh_risk(self, broker: Broker) -> None:
        """The beta-weighted delta; a failure keeps the last one (or none) and is logged."""
        from ttai_cli.services.risk import RiskService

        try:
            report = await RiskService(
                self.store, self.clock, greeks_timeout=self.greeks_timeout
            ).snapshot(broker)
        except Exception as exc:
            log.debug("watch: no risk figures: %s", exc)
            return
        self._beta_delta = report.beta_weighted_delta

    def _streaming_now(self) -> bool:
        return self._feed is not None and bool(self._feed.health.connected)

    def _wanted(self) -> dict[str, set[str]]:
        symbols = {p.symbol for p in self._positions} | self._alert_symbols
        return {"Trade": set(symbols), "Quote": set(symbols), "Summary": set(symbols)}

    async def _stream(self, stop: asyncio.Event, broker: Broker) -> None:
        from ttai_cli.streaming.health import FeedHealth
        from ttai_cli.streaming.market import MarketFeed

        async def session() -> Any:
            return broker.sdk_session  # type: ignore[attr-defined]

        feed = MarketFeed(session, self.on_tick, FeedHealth("market"), self.clock)
        self._feed = feed
        feed.want(self._wanted())
        try:
            await feed.run(stop)
        finally:
            self._feed = None

    def on_tick(self, tick: Tick) -> None:
        price = self._streamed.setdefault(tick.symbol, _Price())
        if tick.kind == "trade":
            price.last = tick.price
        elif tick.kind == "quote":
            price.bid, price.ask = tick.bid, tick.ask
        elif tick.kind == "summary":
            price.prev_close = tick.prev_close
        else:
            return
        self._source = "streaming"
        self.on_change()

    # -- the database ------------------------------------------------------------------------
    def read_records(self) -> None:
        """Alerts, jobs, stream processes, the outbox and the NYSE clock, from the database."""
        from ttai_cli.market.calendar import MarketCalendar
        from ttai_cli.market.guard import MarketGuard
        from ttai_cli.store.alerts import AlertsRepository
        from ttai_cli.store.jobs import JobsRepository
        from ttai_cli.store.outbox import Outbox
        from ttai_cli.store.stream import StreamStateRepository

        now = self.clock.now()
        today = now.astimezone(NEW_YORK).date()
        alerts = AlertsRepository(self.store)
        armed = alerts.all_alerts(include_triggered=False)
        records = _Records()
        records.armed_symbols = {a.id: (a.symbol, a.type) for a in armed}
        records.armed = [alert_line(a, today) for a in armed]
        start = datetime.combine(today, time(0), NEW_YORK)
        records.fired = [fired_line(e, today) for e in reversed(alerts.fired_between(start, now))]
        records.jobs = [job_line(s) for s in JobsRepository(self.store).statuses(now)]
        feeds = [
            f
            for f in StreamStateRepository(self.store).states(now)
            if f.live and f.feed == "market"
        ]
        records.stream_connected = any(f.connected for f in feeds) if feeds else None
        outbox = Outbox(self.store)
        records.pending, records.failed = outbox.pending_counts(), outbox.failed_counts()
        status = MarketGuard(MarketCalendar(self.store)).status(now)
        session = status.session
        records.market = MarketClock(
            open=status.open,
            closes_at=status.next_close if status.open else None,
            next_open=status.next_open,
            early_close=bool(session and session.early_close),
        )
        self._records = records
        self._alert_symbols = {a.symbol for a in armed if a.type in QUOTE_ALERT_TYPES and a.symbol}

    # -- the view ----------------------------------------------------------------------------
    def _price_of(self, symbol: str, *, mark: bool) -> Decimal | None:
        streamed = self._streamed.get(symbol)
        if streamed is not None and self._streaming_now():
            value = streamed.mark if mark else streamed.price
            if value is not None:
                return value
        return self._polled.get(symbol)

    def view(self) -> WatchView:
        """What to draw now, from what is known (no I/O)."""
        now = self.clock.now()
        today = now.astimezone(NEW_YORK).date()
        lines: list[PositionLine] = []
        day_total: Decimal | None = Decimal(0) if self._positions else None
        nlv_move = Decimal(0)
        for p in self._positions:
            mark = self._price_of(p.symbol, mark=True)
            if mark is not None:
                mark = mark.quantize(CENTS)
            line = position_line(p, mark, today)
            change = line.day_change
            if day_total is not None:
                day_total = None if change is None else day_total + change + p.realized_today
            polled = self._polled.get(p.symbol)
            if mark is not None and polled is not None:
                nlv_move += (mark - polled) * p.quantity * p.multiplier
            lines.append(line)
        strategies = strategy_lines(self._groups, self._positions, lines, today)
        lines.sort(key=lambda line: (line.pnl is None, -abs(line.pnl or Decimal(0)), line.name))
        records = self._records
        armed = [
            self._distance(*records.armed_symbols.get(a.id, ("", "")), a) for a in records.armed
        ]
        balances = self._balances
        nlv = bp_used = None
        if balances is not None:
            from ttai_cli.services.risk import buying_power_used

            nlv = (balances.net_liquidating_value + nlv_move).quantize(CENTS)
            bp_used = buying_power_used(balances.maintenance_requirement, nlv)
        return WatchView(
            now=now,
            account_number=balances.account_number if balances else None,
            net_liquidating_value=nlv,
            day_pnl=day_total.quantize(CENTS) if day_total is not None else None,
            buying_power_used_percent=bp_used,
            beta_weighted_delta=self._beta_delta,
            market=records.market,
            positions=lines,
            strategies=strategies,
            armed=armed,
            fired_today=records.fired,
            jobs=records.jobs,
            stream_connected=records.stream_connected,
            pending=records.pending,
            failed=records.failed,
            source=self._source
            if self._source != "streaming" or self._streaming_now()
            else "polling",
            updated_at=self._updated_at,
            error=self._error,
        )

    def _distance(self, symbol: str, kind: str, line: AlertLine) -> AlertLine:
        """An armed alert's line with its distance and whether it is met, at the
        current price."""
        if kind not in QUOTE_ALERT_TYPES or not symbol:
            return line
        price = self._price_of(symbol, mark=False)
        streamed = self._streamed.get(symbol)
        previous = (streamed.prev_close if streamed is not None else None) or self._previous.get(
            symbol
        )
        distance, met = quote_distance(kind, line.condition, line.threshold, price, previous)
        return replace(line, distance_percent=distance, met=met)
