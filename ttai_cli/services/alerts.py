"""Alerts: managing them, and one check cycle.

A cycle reads the alerts to watch; if there are none it stops there (no broker, no SDK
import). Otherwise it fetches everything the alerts need in as few requests as the API
allows (quotes for all symbols in one batched pass of 100 per request, market metrics
for IV rank, greeks from one streamer subscription), evaluates every alert against that
one snapshot, and settles the outcome in one transaction (`AlertsRepository.apply_cycle`).

Strategy alerts (`--strategy` pnl / dte, and tested) group the positions the monitor
fetched into strategies (`ttai_cli.strategies`), only when one is watched: the opening
orders from the transactions of the last sync and the cash of its balances (no request;
legs opened since are grouped by expiration), the underlyings' prices from the same
batched quotes pass.

Account-level alerts add what they need, only when one is watched: the balances (one
request; bp-usage and drawdown, and the NLV raises the day's high-water mark), the
portfolio risk snapshot (theta, beta-delta), and earnings alerts the day-cached market
metrics. A risk snapshot that fails leaves those alerts unknown, not the whole cycle.

Market hours per instrument: a scheduled cycle checks each alert only while its own
market is open (`open_markets`: NYSE for equities and equity options, CME Globex for
futures, crypto always); the others wait, are not fetched, and are counted in the
summary. One-off runs with --ignore-market-hours check every alert.

Re-arming (`--repeat-after`): a triggered alert re-arms by itself once its condition
has been seen false again and `repeat_after` has passed since it fired, so an alert on a
price hovering at its threshold does not fire on every check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.alerts.models import Alert
from ttai_cli.alerts.rules import ACCOUNT_TYPES, CONDITIONS, FAST_TYPES, RISK_TYPES, AlertSpec
from ttai_cli.clock import NEW_YORK, Clock, elapsed
from ttai_cli.errors import TtaiError, UsageError
from ttai_cli.store.alerts import AlertsRepository, Firing
from ttai_cli.store.outbox import enqueue_with

if TYPE_CHECKING:  # the checking machinery loads only when a check runs
    from ttai_cli.alerts.evaluate import MarketView
    from ttai_cli.broker.models import Broker, MarketMetric, Position, Quote
    from ttai_cli.market.hours import MarketFilter
    from ttai_cli.notify.models import Notification
    from ttai_cli.services.notifications import Notifier
    from ttai_cli.services.portfolio import PositionView
    from ttai_cli.services.risk import RiskReport
    from ttai_cli.strategies import Strategy

log = logs.get("alerts")
PROGRESS_AFTER_ALERTS = 500  # a check this large says what it is doing on a terminal
ALL_TYPES = tuple(CONDITIONS)
OPTION_TYPES = ("delta", "dte", "pnl")  # alerts on the option positions of a symbol
# alerts that read the positions on their symbol (tested: its strategies' short options)
HOLDING_TYPES = (*OPTION_TYPES, "tested")
QuoteSource = Callable[["Broker", list[str]], Awaitable[dict[str, "Quote"]]]
RiskSource = Callable[["Broker"], Awaitable["RiskReport"]]
MetricsSource = Callable[[list[str]], Awaitable[dict[str, "MarketMetric"]]]


async def direct_quotes(broker: Broker, symbols: list[str]) -> dict[str, Quote]:
    return await broker.quotes(symbols)


@dataclass
class CycleReport:
    alerts: int = 0
    fired: int = 0
    unknown: int = 0
    rearmed: int = 0
    position_changes: int = 0
    requests: int = 0
    quote_requests: int = 0
    notes: list[str] = field(default_factory=list)

    def wait_for_markets(self, waiting: dict[str, int]) -> None:
        """Note the alerts left for their market to open (`admitted`)."""
        if waiting:
            from ttai_cli.market.instruments import LABELS, MARKETS

            count = sum(waiting.values())
            closed = " and ".join(LABELS[m] for m in MARKETS if m in waiting)
            self.notes.append(
                f"{_count(count, 'alert')} {'waits' if count == 1 else 'wait'} for {closed} to open"
            )

    def summary(self) -> str:
        if not self.alerts and not self.position_changes:
            return "no alerts to check" + (f"; {'; '.join(self.notes)}" if self.notes else "")
        parts = [f"{_count(self.alerts, 'alert')} checked", f"{self.fired} fired"]
        if self.unknown:
            parts.append(f"{self.unknown} skipped for missing data")
        if self.rearmed:
            parts.append(f"{self.rearmed} re-armed")
        if self.position_changes:
            parts.append(_count(self.position_changes, "position change"))
        return ", ".join(parts + self.notes)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class AlertsService:
    def __init__(
        self,
        repo: AlertsRepository,
        clock: Clock,
        open_broker: Callable[[], Broker],
        notifier: Notifier | None = None,
        quote_source: QuoteSource = direct_quotes,
        risk_source: RiskSource | None = None,
        metrics_source: MetricsSource | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.open_broker = open_broker
        self.notifier = notifier
        self.quote_source = quote_source
        self.risk_source = risk_source
        self.metrics_source = metrics_source
        self.progress = progress  # a terminal's progress line; None under cron

    async def risk_snapshot(self, broker: Broker) -> RiskReport:
        """The portfolio risk snapshot (positions, quotes, streamed Greeks, metrics)."""
        if self.risk_source is not None:
            return await self.risk_source(broker)
        from ttai_cli.services.risk import RiskService

        return await RiskService(self.repo.store, self.clock).snapshot(broker)

    async def daily_metrics(self, symbols: list[str]) -> dict[str, MarketMetric]:
        """Market metrics cached for the New York day (earnings and dividend dates)."""
        if self.metrics_source is not None:
            return await self.metrics_source(symbols)
        from ttai_cli.services.metrics import MetricsService

        return await MetricsService(self.repo.store, self.clock, self.open_broker).get(symbols)

    # -- management --------------------------------------------------------------------------
    def add(self, spec: AlertSpec) -> int:
        """Store the alert; a `UsageError` (exit 2) for an exact duplicate of an active one."""
        duplicate = self.repo.active_duplicate(spec)
        if duplicate is not None:
            raise UsageError(f"alert {duplicate} is already watching exactly that")
        return self.repo.add(spec, self.clock.now())

    async def add_checked(self, spec: AlertSpec) -> tuple[int, list[str]]:
        """`add`, after asking the broker about the symbol: `UnknownSymbolError` (exit 2)
        when it does not know it. Returns the id and warnings for the user: a delta /
        P&L alert on a symbol with no option position today, a DTE alert on one with no
        option or futures position (a future's DTE is a roll reminder), a tested alert on one
        with no short option (accepted: the position may come), or that the symbol could
        not be checked (no credentials, or the broker unreachable: the alert is added
        unchecked rather than refused, so alerts can be set up before the account is).
        Account-level kinds ask nothing. The duplicate check comes first, so a duplicate
        never costs a request.

        `--strategy`: a `UsageError` (exit 2) unless a strategy on the symbol expires
        that day, in the positions the broker holds now or, when it cannot be asked, in
        those of the last sync (neither: added unchecked, with the warning above)."""
        from ttai_cli.errors import BrokerError, ConfigError, UnknownSymbolError

        if not spec.symbol or spec.type in ACCOUNT_TYPES:
            return self.add(spec), []
        if self.repo.active_duplicate(spec) is not None:
            return self.add(spec), []  # raises
        warnings: list[str] = []
        try:
            async with self.open_broker() as broker:
                quotes = await broker.quotes([spec.symbol])
                if spec.symbol not in quotes:
                    raise UnknownSymbolError([spec.symbol])
                positions = await broker.positions() if spec.type in HOLDING_TYPES else None
        except ConfigError as exc:
            warnings.append(f"{spec.symbol} not checked with the broker ({exc}); added anyway")
            positions = None
        except BrokerError as exc:
            warnings.append(f"{spec.symbol} not checked with the broker ({exc}); added anyway")
            positions = None
        if spec.strategy is not None:
            if positions is None:
                positions = self._synced_positions()
            if positions is not None:
                warnings += self._check_strategy(spec, positions)
        elif spec.type == "tested":
            if positions is not None and not any(
                p.is_option and p.quantity < 0 and p.underlying_symbol == spec.symbol
                for p in positions
            ):
                warnings.append(
                    f"no short option on {spec.symbol} today: this tested alert stays "
                    "unknown until there is one"
                )
        elif spec.type == "dte":  # options and futures expire (a future's: a roll reminder)
            if positions is not None and not any(
                p.expires_at is not None and spec.symbol in (p.symbol, p.underlying_symbol)
                for p in positions
            ):
                warnings.append(
                    f"no option or futures position on {spec.symbol} today: this dte alert "
                    "stays unknown until there is one"
                )
        elif positions is not None and not any(
            p.is_option and spec.symbol in (p.symbol, p.underlying_symbol) for p in positions
        ):
            warnings.append(
                f"no option position on {spec.symbol} today: this {spec.type} alert "
                "stays unknown until there is one"
            )
        if spec.strategy is None and spec.type in ("pnl", "dte") and positions:
            warnings += self._strategy_hint(spec, positions)
        return self.add(spec), warnings

    def _strategy_hint(self, spec: AlertSpec, positions: list[Position]) -> list[str]:
        """A plain pnl / dte alert on a symbol that holds a strategy of several legs
        fires for one leg at a time: one line (starting `hint: `; not an error) naming
        them and `--strategy EXP`, the alert on the whole."""
        from ttai_cli.broker.symbols import short_date

        today = self.clock.now().astimezone(NEW_YORK).date()
        several = [
            s
            for s in self.group(positions, {}, today)
            if several_legs(s, spec.type)
            and s.expiration is not None
            and spec.symbol in (s.underlying.strip(), *s.symbols)
        ]
        if not several:
            return []
        names = ", ".join(s.label for s in several)
        expirations = " or ".join(
            dict.fromkeys(short_date(s.expiration, today) for s in several if s.expiration)
        )
        return [
            f"hint: {names}: this {spec.type} alert fires for one leg at a time; "
            f"to alert on the whole strategy add --strategy {expirations}"
        ]

    def _synced_positions(self) -> list[Position] | None:
        """The positions of the last sync; None if there was none."""
        from ttai_cli.store.positions import PositionsRepository
        from ttai_cli.store.records import RecordsRepository

        if RecordsRepository(self.repo.store).last_sync() is None:
            return None
        return PositionsRepository(self.repo.store).stored()

    def _check_strategy(self, spec: AlertSpec, positions: list[Position]) -> list[str]:
        """A `UsageError` unless a strategy on `spec.symbol` expires on `spec.strategy`
        (the message says which expirations it holds), or for a pnl alert on a future
        (no credit or debit to be a percent of); for a tested alert, a warning when none
        of those has a short option."""
        from ttai_cli.broker.symbols import short_date

        assert spec.strategy is not None
        today = self.clock.now().date()
        on_symbol = [
            s for s in self.group(positions, {}, today) if s.underlying.strip() == spec.symbol
        ]
        bound = [s for s in on_symbol if s.expiration == spec.strategy]
        if not bound:
            held = [
                f"{s.name} {short_date(s.expiration, today)}"
                for s in on_symbol
                if s.expiration is not None
            ]
            what = (
                f"{spec.symbol} holds {', '.join(held)}"
                if held
                else f"{spec.symbol} holds no option strategy today"
            )
            raise UsageError(
                f"no {spec.symbol} strategy expires on {short_date(spec.strategy, today)}: {what}"
            )
        if spec.type == "pnl" and all(s.credit is None for s in bound):
            raise UsageError(
                f"{bound[0].label} is margined, not paid for: its P&L is no percent of a "
                f"credit or debit; watch its price instead: ttai alerts add {spec.symbol} "
                "above PRICE"
            )
        if spec.type == "tested" and not any(s.short_strikes for s in bound):
            return [
                f"{bound[0].label} has no short option: this tested alert stays unknown "
                "until it has one"
            ]
        return []

    def group(
        self, positions: list[Position], prices: dict[str, Decimal], today: date
    ) -> list[Strategy]:
        """`positions` as strategies (see the module docstring: the last sync's
        transactions and cash, no request)."""
        from ttai_cli.services.strategies import history_start
        from ttai_cli.store.records import RecordsRepository
        from ttai_cli.strategies import group_strategies

        records = RecordsRepository(self.repo.store)
        transactions = records.transactions_between(history_start(positions, today), today)
        balances = records.latest_balances()
        return group_strategies(
            positions,
            transactions,
            prices,
            today=today,
            cash=balances.cash_balance if balances else None,
        )

    def list_alerts(self, include_triggered: bool) -> list[Alert]:
        return self.repo.all_alerts(include_triggered)

    def remove(self, ids: list[int]) -> None:
        self.repo.remove(ids)

    def rearm(self, ids: list[int]) -> list[int]:
        """Make triggered alerts active again; returns those that were active already."""
        return self.repo.rearm(ids)

    # -- checking ----------------------------------------------------------------------------
    async def check(
        self, types: tuple[str, ...] = FAST_TYPES, open_markets: MarketFilter | None = None
    ) -> CycleReport:
        """One `alerts check` cycle (price, change and IV rank by default); with
        `open_markets`, only the alerts whose market it says is open."""
        alerts = self.repo.watching(types)
        waiting: dict[str, int] = {}
        if open_markets is not None and alerts:
            alerts, waiting = admitted(alerts, open_markets)
        if not alerts:
            report = CycleReport()
            report.wait_for_markets(waiting)
            return report
        if self.progress is not None and len(alerts) >= PROGRESS_AFTER_ALERTS:
            symbols = len({a.symbol for a in alerts})
            self.progress(f"checking {len(alerts):,} alerts on {symbols:,} symbols")
        async with self.open_broker() as broker:
            before = broker.stats.copy()
            view = await self.gather(broker, alerts, [])
            stats = broker.stats.since(before)
        report = await self.settle(alerts, view)
        report.requests = stats.requests
        report.quote_requests = stats.by_path["/market-data/by-type"]
        report.wait_for_markets(waiting)
        return report

    async def gather(
        self,
        broker: Broker,
        alerts: list[Alert],
        positions: list[Position],
        extra_quotes: list[str] | None = None,
    ) -> MarketView:
        """Everything `alerts` need, fetched once: quotes (also `extra_quotes`, in the
        same batched pass), metrics, greeks, marks, and the account's figures."""
        from ttai_cli.alerts.evaluate import MarketView, earnings_symbol
        from ttai_cli.alerts.strategy import is_strategy_alert
        from ttai_cli.services.portfolio import position_view

        types = {a.type for a in alerts}
        quote_symbols = [a.symbol for a in alerts if a.type in ("price", "change")]
        quote_symbols += [p.symbol for p in positions if p.mark is None]
        quote_symbols += extra_quotes or []
        # the underlyings of the options a delta / DTE / P&L / tested alert watches, in
        # the same batched pass: the notification shows the underlying's price beside the
        # option, and a strategy is tested by it
        watched = {a.symbol for a in alerts if a.type in HOLDING_TYPES}
        quote_symbols += [
            p.underlying_symbol
            for p in positions
            if p.is_option and watched & {p.symbol, p.underlying_symbol}
        ]
        quotes = (
            await self.quote_source(broker, list(dict.fromkeys(quote_symbols)))
            if quote_symbols
            else {}
        )
        metric_symbols = list(dict.fromkeys(a.symbol for a in alerts if a.type == "iv-rank"))
        metrics = await broker.market_metrics(metric_symbols) if metric_symbols else {}
        # earnings dates change once a day: the day's cache, unless fetched fresh above
        earnings = [earnings_symbol(a.symbol) for a in alerts if a.type == "earnings"]
        cached = [s for s in dict.fromkeys(earnings) if s not in metrics]
        if cached:
            metrics = {**await self.daily_metrics(cached), **metrics}
        deltas = {}
        if "delta" in types:
            watched = {a.symbol for a in alerts if a.type == "delta"}
            options = [
                p.symbol
                for p in positions
                if p.is_option and (p.symbol in watched or p.underlying_symbol in watched)
            ]
            if options:
                deltas = await broker.greeks(options)
        today = self.clock.now().date()
        views: list[PositionView] = []
        for p in positions:
            mark = (
                p.mark
                if p.mark is not None
                else (quotes[p.symbol].mark if p.symbol in quotes else None)
            )
            views.append(position_view(p, mark, today))
        view = MarketView(quotes=quotes, metrics=metrics, positions=views, deltas=deltas)
        if any(is_strategy_alert(a) for a in alerts):
            view.strategies = self._strategies(positions, quotes, today)
        else:  # only if a leg alert fires (see `settle`)
            view.group = lambda: self._strategies(positions, quotes, today)
        if types & set(ACCOUNT_TYPES):
            await self._account_figures(broker, types, view)
        return view

    def _strategies(
        self, positions: list[Position], quotes: dict[str, Quote], today: date
    ) -> list[Strategy]:
        """The account's strategies at this snapshot: the legs' marks (a position sent
        without one takes its quote's), the underlyings' prices from `quotes`."""
        marked = [
            replace(p, mark=quotes[p.symbol].mark) if p.mark is None and p.symbol in quotes else p
            for p in positions
        ]
        underlyings = {p.underlying_symbol or p.symbol for p in positions}
        prices = {s: q.price for s, q in quotes.items() if s in underlyings and q.price is not None}
        return self.group(marked, prices, today)

    async def _account_figures(self, broker: Broker, types: set[str], view: MarketView) -> None:
        """Fill `view` for the account-level alerts in `types`: the balances for bp-usage
        and drawdown (raising the day's NLV high-water mark on the way, in its own small
        transaction), the risk snapshot for theta and beta-delta."""
        from ttai_cli.store.highwater import (
            DRAWDOWN_WINDOW_DAYS,
            HighWaterRepository,
            drawdown_percent,
        )

        if types & set(RISK_TYPES):
            try:
                view.risk = await self.risk_snapshot(broker)
            except TtaiError as exc:
                view.risk_error = f"no portfolio risk snapshot: {exc}"
                log.warning("portfolio risk snapshot failed: %s", exc)
        if not types & {"bp-usage", "drawdown"}:
            return
        balances = await broker.balances()
        nlv = balances.net_liquidating_value
        view.nlv = nlv
        if nlv > 0:
            view.bp_used_percent = balances.maintenance_requirement / nlv * 100
        now = self.clock.now()
        highs = HighWaterRepository(self.repo.store)
        with self.repo.store.transaction() as db:
            highs.record(db, balances.account_number, nlv, now)
        today = now.date()
        peak = highs.peak(
            balances.account_number, today - timedelta(days=DRAWDOWN_WINDOW_DAYS), today
        )
        view.high_water = peak.high if peak else None
        view.drawdown_percent = drawdown_percent(view.high_water, nlv)

    async def settle(self, alerts: list[Alert], view: MarketView) -> CycleReport:
        """Evaluate, then clear / re-arm / fire in one transaction, print and deliver."""
        now = self.clock.now()
        report = CycleReport(alerts=len(alerts))
        decisions = decide(alerts, view, now)
        today = now.astimezone(NEW_YORK).date()
        decisions.firings = [part_of_strategy(f, view, today) for f in decisions.firings]
        report.unknown = len(decisions.unknown)
        for alert, why in decisions.unknown:
            log.info(
                "alert %d (%s %s) skipped: %s",
                alert.id,
                alert.type,
                alert.symbol.strip() or "account",
                why,
            )
        notifications = self.commit(now, decisions)
        report.fired = len(notifications)
        report.rearmed = len(decisions.rearmed)
        if self.notifier is not None:
            await self.notifier.flush()
        return report

    def commit(self, now: datetime, decisions: Decisions) -> list[Notification]:
        """Apply `decisions` in one transaction and print what fired on local backends;
        returns the notifications stored (delivery to remote destinations is the
        caller's `flush`)."""
        notifications = self.repo.apply_cycle(
            now, decisions.firings, decisions.cleared, decisions.rearmed, self.enqueue
        )
        if self.notifier is not None:
            for notification in notifications:
                self.notifier.emit_local(notification)
        return notifications

    def enqueue(self, db: sqlite3.Connection, notification: Notification, key: str) -> bool:
        return enqueue_with(self.notifier, db, notification, key)

    async def flush(self) -> None:
        if self.notifier is not None:
            await self.notifier.flush()


def admitted(alerts: list[Alert], open_markets: MarketFilter) -> tuple[list[Alert], dict[str, int]]:
    """The alerts whose market is open (`open_markets`), and how many wait per closed
    market. An equity symbol (no slash) is known without a call: the cycle of an
    equity-only account pays one substring test per alert and one calendar lookup."""
    from ttai_cli.market.instruments import EQUITY, market_of

    equity_open = open_markets(EQUITY)
    kept: list[Alert] = []
    waiting: dict[str, int] = {}
    for alert in alerts:
        symbol = alert.symbol
        if "/" not in symbol:
            if equity_open:
                kept.append(alert)
                continue
            market = EQUITY
        else:
            market = market_of(symbol)
            if open_markets(market):
                kept.append(alert)
                continue
        waiting[market] = waiting.get(market, 0) + 1
    return kept, waiting


def several_legs(strategy: Strategy, kind: str) -> bool:
    """Whether a plain `kind` (pnl / dte) alert would see `strategy` a leg at a time: it
    has several legs (for dte, several that expire: a covered call's call is its only
    date, the strategy's own)."""
    legs = [p for p in strategy.legs if kind != "dte" or p.expires_at is not None]
    return len(legs) > 1


def part_of_strategy(firing: Firing, view: MarketView, today: date) -> Firing:
    """A plain (leg) pnl or dte alert fires for one position; when that position is a leg
    of a strategy of several legs, acting on the alert alone would close one leg of it.
    The body then says so, with the strategy's own figures and the way to alert on the
    whole: `SPY short put P&L +81% (target +50%) — part of SPY iron condor 12/31 (+$388,
    +79% of credit); alert on the whole with --strategy 12/31` (the alert's note, if any,
    last). The strategies are grouped only here, when such an alert fires."""
    from ttai_cli.alerts.strategy import is_strategy_alert
    from ttai_cli.broker.symbols import short_date
    from ttai_cli.services.actions_lines import pnl_figures

    alert, evaluation = firing.alert, firing.evaluation
    position = evaluation.data.get("position")
    if alert.type not in ("pnl", "dte") or is_strategy_alert(alert) or not position:
        return firing
    strategy = next(
        (s for s in view.all_strategies() if several_legs(s, alert.type) and position in s.symbols),
        None,
    )
    if strategy is None or strategy.expiration is None:
        return firing
    figures = pnl_figures(strategy)
    part = f"part of {strategy.label}" + (f" ({figures})" if figures else "")
    part += f"; alert on the whole with --strategy {short_date(strategy.expiration, today)}"
    note = evaluation.data.get("note")
    body = evaluation.body
    if note and body.endswith(f" — {note}"):
        body = f"{body[: -len(note) - 3]} — {part} — {note}"
    else:
        body = f"{body} — {part}"
    data = {
        **evaluation.data,
        "strategy": strategy.label,
        "expiration": strategy.expiration.isoformat(),
        "legs": strategy.symbols,
    }
    return replace(firing, evaluation=replace(evaluation, body=body, data=data))


@dataclass
class Decisions:
    """What one look at the market means for a set of alerts."""

    firings: list[Firing] = field(default_factory=list)
    cleared: list[Alert] = field(default_factory=list)  # triggered, condition false again
    rearmed: list[Alert] = field(default_factory=list)  # re-arm now (applied after cleared)
    unknown: list[tuple[Alert, str]] = field(default_factory=list)  # missing data: skipped

    def __bool__(self) -> bool:
        """Anything to write: a firing, a clearing or a re-arming."""
        return bool(self.firings or self.cleared or self.rearmed)


def decide(alerts: list[Alert], view: MarketView, now: datetime) -> Decisions:
    """Evaluate `alerts` against `view`: which fire, which clear, which re-arm
    (`--repeat-after`: the condition was seen false again and that long has passed since
    the firing). Pure: the polling check and the stream share it."""
    from ttai_cli.alerts.evaluate import evaluate

    decisions = Decisions()
    for alert in alerts:
        result = evaluate(alert, view, now.date())
        if result.met is None:
            decisions.unknown.append((alert, result.why_unknown))
            continue
        status = alert.status
        if status == "triggered" and alert.repeat_after is not None and alert.triggered_at:
            cleared_at = alert.cleared_at
            if not result.met and cleared_at is None:
                decisions.cleared.append(alert)
                cleared_at = now
            if cleared_at is not None and elapsed(now, alert.triggered_at) >= alert.repeat_after:
                decisions.rearmed.append(alert)
                status = "active"
        if status == "active" and result.met:
            decisions.firings.append(Firing(alert, result))
    return decisions


def alert_json(alert: Alert) -> dict[str, object]:
    """SPEC `alerts list` shape."""
    return {
        "id": alert.id,
        "symbol": alert.symbol or None,  # null: an account-level alert
        "type": alert.type,
        "condition": alert.condition,
        "threshold": float(alert.threshold),
        "status": alert.status,
        "note": alert.note,
        "created_at": alert.created_at.isoformat(),
        "triggered_at": alert.triggered_at.isoformat() if alert.triggered_at else None,
        "repeat_after": alert.repeat_after.total_seconds() if alert.repeat_after else None,
        # the bound strategy's expiration (`--strategy`), null when not bound
        "strategy": alert.strategy.isoformat() if alert.strategy else None,
    }
