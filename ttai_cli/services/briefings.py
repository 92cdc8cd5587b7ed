"""The three briefings: morning, end of day, weekly.

Each briefing syncs first, so it speaks of the account as it is; if the sync fails it
uses the last sync and says so, and if there never was one it says it cannot brief.
Everything else comes from the local record: balances and their daily snapshots,
positions with their last marks, transactions, alerts fired, positions opened and closed.

- morning (9:30 on trading days): first the to-do list ("To do", `services/actions.py`:
  strategies to close, roll, defend; options in the money expiring this week or going
  ex-dividend; earnings before an expiration; alerts fired since the last morning
  briefing), then NLV and its change since the previous close, buying power, the risk
  line (buying power used, beta-weighted delta, theta: fetched live, see
  `services/risk.py`), held underlyings' earnings and ex-dividend dates in the next 7
  days, the strategies (one line each, legs grouped as `ttai positions --strategies`
  does), those expiring within 7 days, active alerts, today's early close. When the risk
  figures cannot be fetched the briefing goes out without them and says so (the to-do
  list then has no earnings or ex-dividend items).
- eod (at the real close, 13:00 on half days): day P&L realised and unrealised, NLV
  change, alerts fired today, positions opened and closed today.
- weekly (17:00 on the week's last trading day): week P&L, the week's drawdown (NLV now
  below the week's highest NLV ttai has seen, the high-water mark syncs and monitor runs
  keep), realised P&L by underlying, trades, best and worst strategy, alerts fired, NLV
  over the week.

"Since the last briefing" is since the start of the latest morning briefing run that
ended ok (the job's record); without one, since the previous NYSE session's open.

The eod and weekly briefings carry a sparkline of NLV (`▁▂▃▅▇`, from `ttai history`'s
record): eod over the last EOD_SPARK_DAYS days, weekly over the week from the previous
week's close. It is a plain line of text, so Slack, Discord and ntfy show it as the panel
does; with fewer than two recorded days there is no line.

"Change since the previous close" uses the previous trading day's snapshot; without one
(a new install) it is estimated from the positions' previous-close marks, and says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ttai_cli import logs
from ttai_cli.alerts.shown import alert_line
from ttai_cli.broker.models import Balances
from ttai_cli.broker.symbols import readable
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.errors import BrokerError, CredentialsError, TtaiError
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.services.actions import NOTHING, action_items
from ttai_cli.services.history import HistoryService, sparkline
from ttai_cli.services.portfolio import PositionView, position_view
from ttai_cli.services.strategies import StrategiesService
from ttai_cli.services.sync import SyncService
from ttai_cli.store import Store
from ttai_cli.store.alerts import AlertsRepository
from ttai_cli.store.highwater import HighWaterRepository, drawdown_percent
from ttai_cli.store.jobs import JobsRepository
from ttai_cli.store.positions import PositionsRepository
from ttai_cli.store.records import RecordsRepository

if TYPE_CHECKING:
    from ttai_cli.broker.models import Broker
    from ttai_cli.config_file import ManageDefaults
    from ttai_cli.services.risk import RiskReport
    from ttai_cli.strategies import Strategy

log = logs.get("briefing")
KINDS = ("morning", "eod", "weekly")
TITLES = {"morning": "Morning briefing", "eod": "End-of-day briefing", "weekly": "Weekly review"}
EXPIRING_DAYS = 7
EVENT_DAYS = 7
EOD_SPARK_DAYS = 30


def usd(value: Decimal | None, signed: bool = False) -> str:
    if value is None:
        return "unknown"
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return f"{sign}${abs(value):,.2f}"


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+.2f}%"


class _HasPnl(Protocol):
    @property
    def pnl(self) -> Decimal | None: ...


Ranked = TypeVar("Ranked", bound=_HasPnl)


def best_and_worst(views: Sequence[Ranked]) -> tuple[Ranked | None, Ranked | None]:
    """The positions (or strategies) with the largest and the smallest P&L in dollars (a
    6% gain on $20,000 beats a 50% gain on $200); those whose P&L is unknown are left
    out. Ties keep the given order. (None, None) without any known P&L."""
    ranked = sorted((v for v in views if v.pnl is not None), key=lambda v: v.pnl or Decimal(0))
    return (ranked[-1], ranked[0]) if ranked else (None, None)


def extremes_lines(
    best: Ranked | None, worst: Ranked | None, noun: str = "position"
) -> list[tuple[str, Ranked]]:
    """How to label the best and worst without calling a gain "worst" or a loss "best":
    when everything is up the bottom one is the "Smallest gain", when everything is down
    the top one is the "Smallest loss"; a P&L of zero is "Flat". One position (or the
    same one twice) gets one line, "Only position" (`noun`: "Only strategy")."""
    if best is None or worst is None:
        return []

    def label(view: Ranked, top: bool) -> str:
        pnl = view.pnl or Decimal(0)
        if pnl == 0:
            return "Flat"
        if top:
            return "Best" if pnl > 0 else "Smallest loss"
        return "Worst" if pnl < 0 else "Smallest gain"

    if best is worst:
        return [(f"Only {noun}", best)]
    return [(label(best, True), best), (label(worst, False), worst)]


@dataclass
class Briefing:
    kind: str
    title: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """Each section as `Heading:` and a bullet a line; a section without lines is
        its heading alone (`To do: nothing today`)."""
        parts = []
        for heading, lines in self.sections:
            if not lines:
                parts.append(heading)
                continue
            parts.append(heading + ":\n" + "\n".join(f"• {line}" for line in lines))
        if self.notes:
            parts.append("\n".join(self.notes))
        return "\n\n".join(parts)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), NEW_YORK)
    return start, start + timedelta(days=1)


def _no_broker() -> Broker:
    raise TtaiError("no broker: strategies from the last sync alone")


class BriefingService:
    """`risk`: fetches the live risk report for the morning briefing (None: no risk line);
    `strategies`: groups the last sync's positions (None: grouped here, without live
    prices, so nothing is tested); `manage`: the `[manage]` defaults of the to-do list."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        sync: SyncService | None,
        risk: Callable[[], Awaitable[RiskReport]] | None = None,
        strategies: StrategiesService | None = None,
        manage: ManageDefaults | None = None,
    ) -> None:
        from ttai_cli.config_file import ManageDefaults

        self.store = store
        self.clock = clock
        self.sync = sync
        self.risk = risk
        self.strategies = strategies
        self.manage = manage or ManageDefaults()
        self.records = RecordsRepository(store)
        self.positions = PositionsRepository(store)
        self.alerts = AlertsRepository(store)
        self.calendar = MarketCalendar(store)

    async def build(self, kind: str) -> Briefing:
        if kind not in KINDS:
            raise TtaiError(f"unknown briefing {kind!r}")
        now = self.clock.now()
        briefing = Briefing(kind, f"{TITLES[kind]} · {now:%a %b} {now.day}, {now.year}")
        sync_error = await self._refresh(briefing)
        balances = self.records.latest_balances()
        if balances is None:
            raise BrokerError(
                f"cannot build the {kind} briefing: nothing synced yet, and syncing failed: "
                f"{sync_error or 'no sync service'}"
            )
        views = [position_view(p, p.mark, now.date()) for p in self.positions.stored()]
        if kind == "morning":
            strategies = await self._strategies(quote=True)
            self._morning(briefing, balances, views, strategies, now)
            report = await self._risk_report(briefing)
            self._risk_section(briefing, report)
            self._to_do(briefing, strategies, report, now)
        elif kind == "eod":
            self._eod(briefing, balances, views, now)
        else:
            self._weekly(briefing, balances, await self._strategies(quote=False), now)
        return briefing

    async def _strategies(self, quote: bool) -> list[Strategy]:
        """The last sync's positions as strategies; `quote`: with live underlying prices
        (tested, distances) when a strategies service is given."""
        if self.strategies is not None:
            return (await self.strategies.stored(quote=quote)).strategies
        service = StrategiesService(_no_broker, self.clock, self.store)
        return (await service.stored(quote=False)).strategies

    def _fired_since_last_briefing(self, now: datetime) -> tuple[datetime, list[Any]]:
        """(since when, the alerts fired since): see the module docstring."""
        since = JobsRepository(self.store).last_success("briefing-morning")
        if since is None or since >= now:
            try:
                since = self.calendar.previous_session(now.astimezone(NEW_YORK).date()).open
            except TtaiError:  # no calendar that far back
                since = now - timedelta(days=1)
        return since, self.alerts.fired_between(since, now)

    def _to_do(
        self,
        briefing: Briefing,
        strategies: list[Strategy],
        report: RiskReport | None,
        now: datetime,
    ) -> None:
        """The to-do list, first in the briefing (`services/actions.py`)."""
        since, fired = self._fired_since_last_briefing(now)
        items = action_items(
            strategies,
            report.events if report is not None else [],
            fired,
            self.manage,
            now.astimezone(NEW_YORK).date(),
            since=since,
        )
        section = ("To do", [item.text for item in items]) if items else (NOTHING, [])
        briefing.sections.insert(0, section)
        briefing.data["to_do"] = [item.to_json() for item in items]

    async def _refresh(self, briefing: Briefing) -> TtaiError | None:
        """Sync first, so the briefing is current; on failure note it in the briefing and
        fall back to the last sync. Returns the failure (None when the sync worked)."""
        if self.sync is None:
            return None
        last = self.records.last_sync()
        try:
            await self.sync.run()
        except CredentialsError:  # a revoked token: the user must act, not read old numbers
            raise
        except TtaiError as exc:
            if last is not None:
                briefing.notes.append(
                    f"Could not sync ({exc}); using the last sync, {last:%a %H:%M %Z}."
                )
            log.warning("briefing: sync failed: %s", exc)
            return exc
        return None

    async def _risk_report(self, briefing: Briefing) -> RiskReport | None:
        if self.risk is None:
            return None
        try:
            return await self.risk()
        except CredentialsError:
            raise
        except TtaiError as exc:
            briefing.notes.append(f"Risk figures unavailable ({exc}).")
            log.warning("briefing: risk failed: %s", exc)
            return None

    @staticmethod
    def _risk_section(briefing: Briefing, report: RiskReport | None) -> None:
        """After "Account": the risk line and the week's earnings / ex-dividend dates."""
        if report is None:
            briefing.data["risk"] = None
            return
        events = [e for e in report.events if e.days <= EVENT_DAYS]
        when = {0: "today", 1: "tomorrow"}
        lines = [
            f"Buying power used {report.buying_power_used_percent:.1f}%, "
            f"beta-weighted delta {report.beta_weighted_delta:+,.1f} SPY shares"
            + (f" (no beta for {', '.join(report.beta_missing)})" if report.beta_missing else "")
            + f", theta {usd(report.theta, signed=True)}/day"
        ]
        section = (
            f"Earnings and ex-dividend within {EVENT_DAYS} days ({len(events)})",
            [
                f"{e.symbol} {e.kind} {e.date:%a %m/%d} ({when.get(e.days, f'in {e.days} days')})"
                for e in events
            ]
            or ["None"],
        )
        at = next((i + 1 for i, (h, _) in enumerate(briefing.sections) if h == "Account"), 0)
        briefing.sections[at:at] = [("Risk", lines), section]
        briefing.data["risk"] = {
            "buying_power_used_percent": float(report.buying_power_used_percent),
            "beta_weighted_delta": float(report.beta_weighted_delta),
            "theta": float(report.theta),
        }
        briefing.data["events"] = [
            {"symbol": e.symbol, "kind": e.kind, "date": e.date.isoformat(), "days": e.days}
            for e in events
        ]

    # -- shared numbers --------------------------------------------------------------------------
    def _nlv_change(
        self, balances: Balances, views: list[PositionView], today: date
    ) -> tuple[Decimal | None, bool]:
        """(change since the previous close, estimated?)"""
        previous = self.records.snapshot_before(today)
        if previous is not None:
            return balances.net_liquidating_value - previous[1].net_liquidating_value, False
        return self._unrealized_today(views, today), True

    def _unrealized_today(self, views: list[PositionView], today: date) -> Decimal:
        stored = {p.symbol: p for p in self.positions.stored()}
        total = Decimal(0)
        for view in views:
            position = stored.get(view.symbol)
            if position is None or view.mark is None:
                continue
            opened_today = (
                position.opened_at is not None
                and position.opened_at.astimezone(NEW_YORK).date() == today
            )
            base = (
                position.average_open_price
                if opened_today or not position.close_price
                else position.close_price
            )
            total += (view.mark - base) * view.quantity * view.multiplier
        return total.quantize(Decimal("0.01"))

    @staticmethod
    def _account_lines(balances: Balances, change: Decimal | None, estimated: bool) -> list[str]:
        nlv = balances.net_liquidating_value
        base = nlv - change if change is not None else None
        percent = (change / base * 100) if change is not None and base else None
        note = " (estimated from previous-close marks)" if estimated else ""
        return [
            f"Net liquidating value {usd(nlv)}, {usd(change, signed=True)} ({pct(percent)}) since the previous close{note}",
            f"Buying power {usd(balances.derivative_buying_power)} (options), {usd(balances.equity_buying_power)} (stock)",
            f"Cash {usd(balances.cash_balance)}",
        ]

    @staticmethod
    def _strategy_line(strategy: Strategy) -> str:
        """`TSLA short strangle 12/18, 17 DTE: P&L +$109.00 (+12.00% of credit)`: the
        percent is of the credit for a credit strategy, of the max profit for another
        whose max profit is known (`AAPL covered call 1/8/27, 38 DTE: P&L +$1,521.00
        (+44.85% of max profit)`), else of the debit (shares, a long call); a future's
        P&L in dollars alone (margined: no credit or debit to be a percent of)."""
        pnl = "P&L unknown"
        if strategy.pnl is not None:
            pnl = f"P&L {usd(strategy.pnl, signed=True)}"
            if strategy.is_credit:
                pnl += f" ({pct(strategy.pnl_percent_of_max)} of credit)"
            elif strategy.pnl_percent_of_max is not None:
                pnl += f" ({pct(strategy.pnl_percent_of_max)} of max profit)"
            elif strategy.pnl_percent is not None:
                pnl += f" ({pct(strategy.pnl_percent)} of debit)"
        dte = f", {strategy.dte} DTE" if strategy.dte is not None else ""
        return f"{strategy.label}{dte}: {pnl}"

    def _spark_line(self, days: int, end: date, since: str) -> str | None:
        """`▁▂▃▅▇ $51,010.74 → $52,991.09 since Mon 11/02`, or None with under two days."""
        record = HistoryService(self.store, self.clock).days(days, end)
        if len(record) < 2:
            return None
        first, last = record[0], record[-1]
        spark = sparkline([d.net_liquidating_value for d in record])
        return (
            f"{spark} {usd(first.net_liquidating_value)} → {usd(last.net_liquidating_value)} "
            f"{since} {first.date:%a %m/%d}"
        )

    # -- the three briefings ---------------------------------------------------------------------
    def _morning(
        self,
        briefing: Briefing,
        balances: Balances,
        views: list[PositionView],
        strategies: list[Strategy],
        now: datetime,
    ) -> None:
        today = now.date()
        change, estimated = self._nlv_change(balances, views, today)
        session = self.calendar.session_on(today)
        expiring = sorted(
            (s for s in strategies if s.dte is not None and s.dte <= EXPIRING_DAYS),
            key=lambda s: s.dte or 0,
        )
        active = self.alerts.all_alerts(include_triggered=False)
        if session is None:
            market = "NYSE is closed today"
        elif session.early_close:
            market = f"Early close today: NYSE closes at {session.close:%H:%M}"
        else:
            market = f"NYSE open {session.open:%H:%M}-{session.close:%H:%M}"
        briefing.sections = [
            ("Account", self._account_lines(balances, change, estimated)),
            ("Market", [market]),
            (
                f"Strategies ({len(strategies)})",
                [self._strategy_line(s) for s in strategies] or ["No open positions"],
            ),
            (
                f"Expiring within {EXPIRING_DAYS} days ({len(expiring)})",
                [f"{s.label}: {s.dte} DTE" for s in expiring] or ["None"],
            ),
            (
                f"Active alerts ({len(active)})",
                [
                    f"#{a.id} "
                    + alert_line(
                        readable(a.symbol, today) or "account",
                        a.type,
                        a.condition,
                        a.threshold,
                        a.strategy,
                        today,
                    )
                    for a in active
                ]
                or ["None"],
            ),
        ]
        briefing.data = {
            "net_liquidating_value": float(balances.net_liquidating_value),
            "nlv_change": float(change) if change is not None else None,
            "nlv_change_estimated": estimated,
            "buying_power": float(balances.derivative_buying_power),
            "positions": len(views),
            "strategies": len(strategies),
            "expiring": [
                {"strategy": s.label, "symbols": s.symbols, "dte": s.dte} for s in expiring
            ],
            "active_alerts": len(active),
            "early_close": bool(session and session.early_close),
            "close": session.close.isoformat() if session else None,
        }

    def _eod(
        self, briefing: Briefing, balances: Balances, views: list[PositionView], now: datetime
    ) -> None:
        today = now.date()
        start, end = _day_bounds(today)
        change, estimated = self._nlv_change(balances, views, today)
        events = self.positions.events_between(start, end)
        realized = sum(
            (e.realized_pnl for e in events if e.change == "closed" and e.realized_pnl is not None),
            Decimal(0),
        )
        unrealized = self._unrealized_today(views, today)
        fired = self.alerts.fired_between(start, end)
        opened = [e for e in events if e.change == "opened"]
        closed = [e for e in events if e.change == "closed"]
        spark = self._spark_line(EOD_SPARK_DAYS, today, "since")
        briefing.sections = [
            (
                "Day P&L",
                [
                    f"Realised {usd(realized, signed=True)}",
                    f"Unrealised {usd(unrealized, signed=True)}",
                    f"Total {usd(realized + unrealized, signed=True)}",
                ],
            ),
            (
                "Account",
                self._account_lines(balances, change, estimated) + ([spark] if spark else []),
            ),
            (f"Alerts fired today ({len(fired)})", [e.message for e in fired] or ["None"]),
            (f"Opened today ({len(opened)})", [e.notification.body for e in opened] or ["None"]),
            (f"Closed today ({len(closed)})", [e.notification.body for e in closed] or ["None"]),
        ]
        briefing.data = {
            "realized_pnl": float(realized),
            "unrealized_pnl": float(unrealized),
            "day_pnl": float(realized + unrealized),
            "nlv_sparkline": spark.split(" ", 1)[0] if spark else None,
            "net_liquidating_value": float(balances.net_liquidating_value),
            "nlv_change": float(change) if change is not None else None,
            "alerts_fired": len(fired),
            "opened": [e.symbol for e in opened],
            "closed": [e.symbol for e in closed],
        }

    def _weekly(
        self, briefing: Briefing, balances: Balances, strategies: list[Strategy], now: datetime
    ) -> None:
        today = now.date()
        monday = today - timedelta(days=today.weekday())
        start, _ = _day_bounds(monday)
        _, end = _day_bounds(today)
        snapshots = self.records.snapshots_between(monday, today)
        before = self.records.snapshot_before(monday)
        base = (
            before[1].net_liquidating_value
            if before
            else (snapshots[0][1].net_liquidating_value if snapshots else None)
        )
        week_pnl = balances.net_liquidating_value - base if base is not None else None
        peak = HighWaterRepository(self.store).peak(balances.account_number, monday, today)
        week_high = peak.high if peak else None
        drawdown = drawdown_percent(week_high, balances.net_liquidating_value)
        if peak is None or drawdown is None:
            drawdown_line = "Drawdown unknown (no NLV recorded this week)"
        elif drawdown == 0:
            drawdown_line = f"Drawdown none: at the week's high of {usd(peak.high)}"
        else:
            drawdown_line = (
                f"Drawdown {drawdown:.2f}% below the week's high of {usd(peak.high)} "
                f"({peak.date:%a})"
            )
        events = self.positions.events_between(start, end)
        by_underlying: dict[str, Decimal] = {}
        for e in events:
            if e.change == "closed" and e.realized_pnl is not None:
                by_underlying[e.underlying_symbol] = (
                    by_underlying.get(e.underlying_symbol, Decimal(0)) + e.realized_pnl
                )
        trades = [
            t
            for t in self.records.transactions_between(monday, today)
            if t.transaction_type == "Trade"
        ]
        fired = self.alerts.fired_between(start, end)
        best, worst = best_and_worst(strategies)
        basis = (
            "since the previous week's close"
            if before
            else "since the week's first snapshot"
            if snapshots
            else ""
        )
        # the sparkline starts at the previous week's close, so Monday's move shows too
        spark_days = (today - before[0]).days + 1 if before else (today - monday).days + 1
        spark = self._spark_line(spark_days, today, "from")
        briefing.sections = [
            (
                "Week",
                [
                    f"P&L {usd(week_pnl, signed=True)} {basis}".rstrip(),
                    f"Net liquidating value {usd(balances.net_liquidating_value)}",
                    drawdown_line,
                ],
            ),
            (
                "Realised P&L by underlying",
                [f"{u}: {usd(v, signed=True)}" for u, v in sorted(by_underlying.items())]
                or ["Nothing closed this week"],
            ),
            ("Activity", [f"{len(trades)} trades", f"{len(fired)} alerts fired"]),
            (
                "Best and worst strategies",
                [
                    f"{label}: {self._strategy_line(s)}"
                    for label, s in extremes_lines(best, worst, "strategy")
                ]
                or ["No open positions"],
            ),
            (
                "NLV over the week",
                ([spark] if spark else [])
                + (
                    [f"{d:%a %m-%d}: {usd(b.net_liquidating_value)}" for d, b in snapshots]
                    or ["No snapshots yet"]
                ),
            ),
        ]
        briefing.data = {
            "nlv_sparkline": spark.split(" ", 1)[0] if spark else None,
            "week_pnl": float(week_pnl) if week_pnl is not None else None,
            "week_drawdown_percent": round(float(drawdown), 2) if drawdown is not None else None,
            "week_high": float(week_high) if week_high is not None else None,
            "realized_by_underlying": {u: float(v) for u, v in by_underlying.items()},
            "trades": len(trades),
            "alerts_fired": len(fired),
            "best": best.label if best else None,
            "worst": worst.label if worst else None,
            "nlv": [
                {"date": d.isoformat(), "net_liquidating_value": float(b.net_liquidating_value)}
                for d, b in snapshots
            ],
        }
