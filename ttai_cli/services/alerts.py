"""Alerts: managing them, and one check cycle.

A cycle reads the alerts to watch; if there are none it stops there (no broker, no SDK
import). Otherwise it fetches everything the alerts need in as few requests as the API
allows (quotes for all symbols in one batched pass of 100 per request, market metrics
for IV rank, greeks from one streamer subscription), evaluates every alert against that
one snapshot, and settles the outcome in one transaction (`AlertsRepository.apply_cycle`).

Re-arming (`--repeat-after`): a triggered alert re-arms by itself once its condition
has been seen false again and `repeat_after` has passed since it fired, so an alert on a
price hovering at its threshold does not fire on every check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.alerts.models import Alert
from ttai_cli.alerts.rules import CONDITIONS, FAST_TYPES, AlertSpec
from ttai_cli.clock import Clock, elapsed
from ttai_cli.store.alerts import AlertsRepository, Firing
from ttai_cli.store.outbox import enqueue_with

if TYPE_CHECKING:  # the checking machinery loads only when a check runs
    from ttai_cli.alerts.evaluate import MarketView
    from ttai_cli.broker.models import Broker, Position, Quote
    from ttai_cli.notify.models import Notification
    from ttai_cli.services.notifications import Notifier
    from ttai_cli.services.portfolio import PositionView

log = logs.get("alerts")
ALL_TYPES = tuple(CONDITIONS)
QuoteSource = Callable[["Broker", list[str]], Awaitable[dict[str, "Quote"]]]


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
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.open_broker = open_broker
        self.notifier = notifier
        self.quote_source = quote_source

    # -- management --------------------------------------------------------------------------
    def add(self, spec: AlertSpec) -> int:
        return self.repo.add(spec, self.clock.now())

    def list_alerts(self, include_triggered: bool) -> list[Alert]:
        return self.repo.all_alerts(include_triggered)

    def remove(self, ids: list[int]) -> None:
        self.repo.remove(ids)

    def rearm(self, ids: list[int]) -> None:
        self.repo.rearm(ids)

    # -- checking ----------------------------------------------------------------------------
    async def check(self, types: tuple[str, ...] = FAST_TYPES) -> CycleReport:
        """One `alerts check` cycle (price, change and IV rank by default)."""
        alerts = self.repo.watching(types)
        if not alerts:
            return CycleReport()
        async with self.open_broker() as broker:
            before = broker.stats.copy()
            view = await self.gather(broker, alerts, [])
            stats = broker.stats.since(before)
        report = await self.settle(alerts, view)
        report.requests = stats.requests
        report.quote_requests = stats.by_path["/market-data/by-type"]
        return report

    async def gather(
        self, broker: Broker, alerts: list[Alert], positions: list[Position]
    ) -> MarketView:
        """Everything `alerts` need, fetched once: quotes, metrics, greeks, marks."""
        from ttai_cli.alerts.evaluate import MarketView
        from ttai_cli.services.portfolio import position_view

        types = {a.type for a in alerts}
        quote_symbols = [a.symbol for a in alerts if a.type in ("price", "change")]
        quote_symbols += [p.symbol for p in positions if p.mark is None]
        quotes = (
            await self.quote_source(broker, list(dict.fromkeys(quote_symbols)))
            if quote_symbols
            else {}
        )
        metric_symbols = list(dict.fromkeys(a.symbol for a in alerts if a.type == "iv-rank"))
        metrics = await broker.market_metrics(metric_symbols) if metric_symbols else {}
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
        return MarketView(quotes=quotes, metrics=metrics, positions=views, deltas=deltas)

    async def settle(self, alerts: list[Alert], view: MarketView) -> CycleReport:
        """Evaluate, then clear / re-arm / fire in one transaction, print and deliver."""
        from ttai_cli.alerts.evaluate import evaluate

        now = self.clock.now()
        report = CycleReport(alerts=len(alerts))
        firings: list[Firing] = []
        cleared: list[Alert] = []
        rearmed: list[Alert] = []
        for alert in alerts:
            result = evaluate(alert, view, now.date())
            if result.met is None:
                report.unknown += 1
                log.info(
                    "alert %d (%s %s) skipped: %s",
                    alert.id,
                    alert.type,
                    alert.symbol.strip(),
                    result.why_unknown,
                )
                continue
            status = alert.status
            if (
                status == "triggered"
                and alert.repeat_after is not None
                and alert.triggered_at is not None
            ):
                cleared_at = alert.cleared_at
                if not result.met and cleared_at is None:
                    cleared.append(alert)
                    cleared_at = now
                if (
                    cleared_at is not None
                    and elapsed(now, alert.triggered_at) >= alert.repeat_after
                ):
                    rearmed.append(alert)  # applied after `cleared`, in the same transaction
                    status = "active"
            if status == "active" and result.met:
                firings.append(Firing(alert, result))
        notifications = self.repo.apply_cycle(now, firings, cleared, rearmed, self.enqueue)
        report.fired = len(notifications)
        report.rearmed = len(rearmed)
        if self.notifier is not None:
            for notification in notifications:
                self.notifier.emit_local(notification)
            await self.notifier.flush()
        return report

    def enqueue(self, db: sqlite3.Connection, notification: Notification, key: str) -> bool:
        return enqueue_with(self.notifier, db, notification, key)

    async def flush(self) -> None:
        if self.notifier is not None:
            await self.notifier.flush()


def alert_json(alert: Alert) -> dict[str, object]:
    """SPEC `alerts list` shape."""
    return {
        "id": alert.id,
        "symbol": alert.symbol,
        "type": alert.type,
        "condition": alert.condition,
        "threshold": float(alert.threshold),
        "status": alert.status,
        "note": alert.note,
        "created_at": alert.created_at.isoformat(),
        "triggered_at": alert.triggered_at.isoformat() if alert.triggered_at else None,
        "repeat_after": alert.repeat_after.total_seconds() if alert.repeat_after else None,
    }
