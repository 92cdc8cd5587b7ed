"""The tools a model may call during `ttai ask`: read-only, compact, and safe.

Each tool is an async method of `AccountTools` that returns plain JSON values; `call()`
runs one by name and always returns text for the model:

- Compact: tables are `{"columns": [...], "rows": [[...], ...]}` (a key per column, not
  per cell), options by their readable names (`QQQ 11/27 465P`) plus the OCC symbol
  without padding (what `quotes` accepts), numbers rounded to cents.
- Fresh where it can be: positions, balances, strategies and transactions come from the
  local record when the last `ttai sync` is at most `fresh_for` old (10 minutes), else
  live from tastytrade; each answer says which (`source`) and when (`as_of`). Quotes,
  Greeks, orders and risk are always live; history, alerts and the market calendar are
  local.
- Safe: the account number is shown masked (`...0001`) wherever it would appear, and
  every known secret is redacted from the text. A tool that fails (tastytrade down, a
  bad argument, an unknown symbol, a bug) answers `{"error": "..."}` and the model goes
  on; an unknown tool name is an error answer too.
- Read-only: the tools read through ttai's services and the broker's read methods.
  `add_alert` / `remove_alert` (only with `allow_alerts`) write ttai's own alerts
  table, never the broker. Nothing here can place, change or cancel an order.

The tools need no model: benchmarks time them directly (`await tools.call(name, {})`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli import logs
from ttai_cli.broker import symbols as sym
from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import TtaiError, UsageError

if TYPE_CHECKING:
    from ttai_cli.jobs.context import JobContext
    from ttai_cli.services.portfolio import PositionView

log = logs.get("ask")
FRESH_FOR = timedelta(minutes=10)
GREEKS_TIMEOUT = 5.0  # seconds to wait for the options' Greeks (positions)
MAX_SYMBOLS = 50
MAX_ROWS = 200  # transactions and orders: the newest, then a note that there are more
EVENT_DAYS = 14

# The tools, by name: every one a model can ever be offered (a test checks the set).
READ_ONLY_TOOLS = (
    "account_summary",
    "positions",
    "strategies",
    "quotes",
    "risk",
    "alerts",
    "transactions",
    "orders",
    "history",
    "market_status",
    "market_metrics",
    "upcoming_events",
)
ALERT_TOOLS = ("add_alert", "remove_alert")
# tools whose answers carry the account's own records (text a broker wrote may name it)
ACCOUNT_TOOLS = frozenset(
    {"account_summary", "positions", "strategies", "risk", "transactions", "orders"}
)

_NO_ARGS: dict[str, Any] = {"type": "object", "properties": {}}
_SYMBOLS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "symbols": {
            "type": "array",
            "items": {"type": "string"},
            "description": f"Up to {MAX_SYMBOLS} symbols: AAPL, SPY, an OCC option symbol "
            "(QQQ261127P00465000), /ESZ6.",
        }
    },
    "required": ["symbols"],
}


def _days_schema(default: int, most: int, what: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": most,
                "default": default,
                "description": f"{what} of the last DAYS days (default {default}, at most {most}).",
            }
        },
    }


# name -> (description, JSON schema of the arguments)
DESCRIPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "account_summary": (
        "The account's balances: net liquidating value, cash, buying power, maintenance "
        "requirement, buying power used (%), change since the last recorded close.",
        _NO_ARGS,
    ),
    "positions": (
        "Every position: readable name (QQQ 11/27 465P), OCC symbol, signed quantity, "
        "average open price, mark, P&L ($ and %), days to expiration, position delta "
        "(shares) and theta ($ per day).",
        _NO_ARGS,
    ),
    "strategies": (
        "Positions grouped into strategies (short strangle, iron condor, covered call, ...): "
        "DTE, legs, credit (null for a future: margined), max profit and loss, P&L and its "
        "% of max profit (of the credit for credit strategies), underlying price, short "
        "strikes, distance to the nearest short strike (%), whether tested, and to_do: "
        "what ttai's own to-do list recommends for it under the user's [manage] settings "
        "(given as manage), null when nothing is due.",
        _NO_ARGS,
    ),
    "quotes": ("Live quotes: bid, ask, last, mark, change today (%).", _SYMBOLS),
    "risk": (
        "Portfolio risk: net liquidating value, buying power used, beta-weighted delta "
        "(SPY shares), theta and vega in dollars, concentration by underlying, upcoming "
        "earnings and ex-dividend dates of held underlyings.",
        _NO_ARGS,
    ),
    "alerts": ("ttai's alerts: active and triggered, with their conditions.", _NO_ARGS),
    "transactions": (
        "Recent transactions (trades, assignments, money movements), newest first.",
        _days_schema(7, 90, "Transactions"),
    ),
    "orders": (
        "Orders (working, filled, cancelled, rejected), newest first, with their legs.",
        _days_schema(7, 90, "Orders"),
    ),
    "history": (
        "Net liquidating value and day P&L per day, from ttai's record.",
        _days_schema(30, 365, "The values"),
    ),
    "market_status": (
        "Whether NYSE is open now, today's session, the next open and close.",
        _NO_ARGS,
    ),
    "market_metrics": (
        "Per symbol: IV rank and percentile (0-100), implied volatility (%), beta, "
        "liquidity (0-5), next earnings date, ex-dividend date and dividend.",
        _SYMBOLS,
    ),
    "upcoming_events": (
        f"Earnings and ex-dividend dates of held underlyings, and option expirations, in "
        f"the next {EVENT_DAYS} days.",
        _NO_ARGS,
    ),
    "add_alert": (
        "Add a ttai alert (ttai's own database; nothing is sent to the broker). Types: "
        "price/change/iv-rank (above|below), delta (above, 0-1), dte (below, days), pnl "
        "(profit|loss, %), earnings (within, days); account-level, without symbol: "
        "bp-usage (above, %), drawdown (above, %), theta (below, $/day), beta-delta "
        "(above|below, SPY shares).",
        {
            "type": "object",
            "properties": {
                "symbol": {"type": "string", "description": "Empty for account-level types."},
                "type": {"type": "string"},
                "condition": {"type": "string"},
                "threshold": {"type": "number"},
                "note": {"type": "string"},
            },
            "required": ["type", "condition", "threshold"],
        },
    ),
    "remove_alert": (
        "Remove a ttai alert by its id (see the alerts tool).",
        {
            "type": "object",
            "properties": {"id": {"type": "integer"}},
            "required": ["id"],
        },
    ),
}


class ToolError(TtaiError):
    """A tool cannot answer (bad arguments, nothing recorded): the model is told why."""


@dataclass(frozen=True)
class ToolSpec:
    """What a model is offered: a name, what it does, its arguments (JSON schema)."""

    name: str
    description: str
    parameters: dict[str, Any]


def mask_account(number: str) -> str:
    """`5WT00001` -> `...0001`: enough to tell accounts apart, not to name one."""
    return f"...{number[-4:]}" if len(number) > 4 else "..."


def _num(value: Decimal | int | float | None, places: int = 2) -> int | float | None:
    """A JSON number, rounded: whole numbers as integers (`2`, not `2.0`)."""
    if value is None:
        return None
    rounded = round(Decimal(value), places)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(NEW_YORK).isoformat(timespec="seconds")


def _table(columns: list[str], rows: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"columns": columns, "rows": rows, **extra}


def _compact(symbol: str) -> str:
    """An OCC symbol without its padding (`QQQ261127P00465000`); others as they are."""
    return "".join(symbol.split()) if sym.parse_occ(symbol) else symbol.strip()


class AccountTools:
    """The tools over one process's `JobContext` (its store, clock and shared broker)."""

    def __init__(
        self,
        context: JobContext,
        *,
        allow_alerts: bool = False,
        fresh_for: timedelta = FRESH_FOR,
        greeks_timeout: float = GREEKS_TIMEOUT,
    ) -> None:
        self.context = context
        self.allow_alerts = allow_alerts
        self.fresh_for = fresh_for
        self.greeks_timeout = greeks_timeout
        # full account numbers: masked in every answer (those configured or recorded, and
        # the one the broker reads, learnt at the first answer from the account)
        self.accounts: set[str] = set()
        if context.settings.account_id:
            self.accounts.add(context.settings.account_id)
        from ttai_cli.store.records import RecordsRepository

        for balances in RecordsRepository(context.store).latest_balances_by_account():
            self._remember(balances.account_number)
        self._learning = asyncio.Lock()  # tools run side by side: one asks, the others wait
        self._implementations: dict[str, Callable[..., Awaitable[Any]]] = {
            "account_summary": self.account_summary,
            "positions": self.positions,
            "strategies": self.strategies,
            "quotes": self.quotes,
            "risk": self.risk,
            "alerts": self.alerts,
            "transactions": self.transactions,
            "orders": self.orders,
            "history": self.history,
            "market_status": self.market_status,
            "market_metrics": self.market_metrics,
            "upcoming_events": self.upcoming_events,
        }
        if allow_alerts:
            self._implementations["add_alert"] = self.add_alert
            self._implementations["remove_alert"] = self.remove_alert

    # -- what the model is offered -------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._implementations)

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(n, *DESCRIPTIONS[n]) for n in self._implementations]

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Run tool `name` and return its answer as compact JSON text, account numbers
        masked and secrets redacted. Never raises (but for cancellation): a failure is
        `{"error": "..."}`."""
        result: Any
        try:
            implementation = self._implementations.get(name)
            if implementation is None:
                raise ToolError(f"no tool named {name!r} (tools: {', '.join(self.names)})")
            arguments = dict(arguments or {})
            allowed = set(DESCRIPTIONS[name][1].get("properties", {}))
            unknown = sorted(set(arguments) - allowed)
            if unknown:
                raise ToolError(
                    f"{name} takes {', '.join(sorted(allowed)) or 'no arguments'}, not "
                    f"{', '.join(unknown)}"
                )
            result = await implementation(**arguments)
            if name in ACCOUNT_TOOLS:
                await self._learn_account()
        except TtaiError as exc:
            result = {"error": str(exc)}
        except Exception as exc:  # a bug of ours must not end the conversation
            log.debug("ask: tool %s failed", name, exc_info=True)
            result = {"error": f"{name} failed: {exc.__class__.__name__}: {exc}"}
        return self.shown(json.dumps(result, separators=(",", ":"), default=str))

    def shown(self, text: str) -> str:
        """`text` as the model may see it: account numbers masked, secrets redacted."""
        for number in sorted(self.accounts, key=len, reverse=True):
            text = text.replace(number, mask_account(number))
        return logs.redact(text)

    # -- helpers -------------------------------------------------------------------------------
    @property
    def _now(self) -> datetime:
        return self.context.clock.now()

    @property
    def _today(self) -> date:
        return self._now.astimezone(NEW_YORK).date()

    def _last_sync(self) -> datetime | None:
        from ttai_cli.store.records import RecordsRepository

        return RecordsRepository(self.context.store).last_sync()

    def _fresh(self) -> datetime | None:
        """When the local record was synced, if that is recent enough to answer from."""
        last = self._last_sync()
        if last is not None and self._now - last <= self.fresh_for:
            return last
        return None

    def _portfolio(self) -> Any:
        from ttai_cli.services.portfolio import PortfolioService

        return PortfolioService(self.context.open_broker, self.context.clock, self.context.store)

    async def _learn_account(self) -> None:
        """The broker's account number, to mask, when none is known yet (none configured,
        none recorded): once, after the first answer from the account, when the broker
        already knows it (no request more)."""
        async with self._learning:
            if self.accounts:
                return
            async with self.context.open_broker() as broker:
                self._remember(await broker.account_number())

    def _remember(self, account_number: str) -> None:
        if account_number:
            self.accounts.add(account_number)

    @staticmethod
    def _days(days: Any, most: int) -> int:
        if isinstance(days, bool) or not isinstance(days, int | float) or int(days) != days:
            raise ToolError(f"days must be a whole number from 1 to {most}")
        if not 1 <= days <= most:
            raise ToolError(f"days must be from 1 to {most}")
        return int(days)

    @staticmethod
    def _symbols(symbols: Any) -> list[str]:
        if isinstance(symbols, str):  # "AAPL, SPY" from a model that does not do arrays
            symbols = symbols.replace(",", " ").split()
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ToolError('symbols must be a list of symbols, e.g. ["AAPL", "SPY"]')
        wanted = list(dict.fromkeys(sym.normalize(s) for s in symbols if s.strip()))
        if not wanted:
            raise ToolError("give at least one symbol")
        if len(wanted) > MAX_SYMBOLS:
            raise ToolError(f"at most {MAX_SYMBOLS} symbols at a time")
        return wanted

    # -- the tools -----------------------------------------------------------------------------
    async def account_summary(self) -> dict[str, Any]:
        from ttai_cli.services.risk import buying_power_used
        from ttai_cli.store.records import RecordsRepository

        portfolio = self._portfolio()
        synced = self._fresh()
        balances = portfolio.stored_balances() if synced else None
        source, as_of = "last sync", synced or self._now
        if balances is None:
            balances, source, as_of = await portfolio.live_balances(), "live", self._now
        self._remember(balances.account_number)
        nlv = balances.net_liquidating_value
        answer: dict[str, Any] = {
            "account": mask_account(balances.account_number),
            "net_liquidating_value": _num(nlv),
            "cash": _num(balances.cash_balance),
            "equity_buying_power": _num(balances.equity_buying_power),
            "derivative_buying_power": _num(balances.derivative_buying_power),
            "maintenance_requirement": _num(balances.maintenance_requirement),
            "buying_power_used_percent": _num(
                buying_power_used(balances.maintenance_requirement, nlv)
            ),
        }
        before = RecordsRepository(self.context.store).snapshot_before(self._today)
        if before is not None and before[1].account_number == balances.account_number:
            answer["last_close"] = before[0].isoformat()
            answer["change_since_last_close"] = _num(nlv - before[1].net_liquidating_value)
        answer.update(as_of=_iso(as_of), source=source)
        return answer

    async def _position_views(self) -> tuple[list[PositionView], str, datetime]:
        portfolio = self._portfolio()
        synced = self._fresh()
        if synced is not None:
            return portfolio.stored_positions(), "last sync", synced
        return await portfolio.live_positions(), "live", self._now

    async def positions(self) -> dict[str, Any]:
        from ttai_cli.errors import BrokerError

        views, source, as_of = await self._position_views()
        options = [v.symbol for v in views if sym.parse_occ(v.symbol)]
        greeks: dict[str, Any] = {}
        notes: list[str] = []
        if options:
            try:
                async with self.context.open_broker() as broker:
                    greeks = await broker.option_greeks(options, self.greeks_timeout)
            except BrokerError as exc:
                notes.append(f"no Greeks: {exc}")
        missing = [o for o in options if o not in greeks]
        if missing and not notes:
            notes.append(f"no Greeks in time for {len(missing)} option(s): delta and theta null")
        today = self._today
        rows = []
        for v in views:
            size = v.quantity * v.multiplier
            g = greeks.get(v.symbol)
            is_option = v.symbol in options
            if is_option:
                delta = _num(g.delta * size, 1) if g else None
                theta = _num(g.theta * size) if g else None
            else:  # shares (or a future's units): delta is the position itself
                delta, theta = _num(size, 1), None
            name = sym.readable(v.symbol, today)
            rows.append(
                [
                    name,
                    _compact(v.symbol) if name != v.symbol.strip() else None,
                    _num(v.quantity, 4),
                    _num(v.average_open_price, 4),
                    _num(v.mark, 4),
                    _num(v.pnl),
                    _num(v.pnl_percent, 1),
                    v.dte,
                    delta,
                    theta,
                ]
            )
        columns = [
            "name",
            "symbol",
            "qty",
            "avg_open",
            "mark",
            "pnl",
            "pnl_pct",
            "dte",
            "delta",
            "theta",
        ]
        extra: dict[str, Any] = {"as_of": _iso(as_of), "source": source}
        if notes:
            extra["notes"] = notes
        return _table(columns, rows, **extra)

    async def strategies(self) -> dict[str, Any]:
        """The strategies, each with the line the morning briefing's to-do list has for it
        (`services/actions.py`, under `[manage]`; earnings and ex-dividend dates from the
        day's metrics cache, left out with a note when they cannot be fetched), so the
        model sees what ttai itself recommends."""
        from ttai_cli.services.actions import strategy_item
        from ttai_cli.services.strategies import StrategiesService

        manage = self.context.settings.file.manage
        service = StrategiesService(
            self.context.open_broker,
            self.context.clock,
            self.context.store,
            tested_within=manage.tested_within,
        )
        fresh = self._fresh() is not None
        report = await (service.stored() if fresh else service.live())
        today = self._today
        extra: dict[str, Any] = {}
        events = await self._events(  # earnings and ex-dividend matter with options only
            [s.underlying for s in report.strategies if any(p.is_option for p in s.legs)],
            extra,
        )
        rows = []
        for s in report.strategies:
            item = strategy_item(s, events, manage, today)
            rows.append(
                [
                    s.label,
                    s.name,
                    s.dte,
                    ", ".join(sym.readable(leg.symbol, today) for leg in s.legs),
                    _num(s.credit),
                    _num(s.max_profit),
                    _num(s.max_loss),
                    _num(s.pnl),
                    _num(s.pnl_percent_of_max, 1),
                    _num(s.underlying_price),
                    [_num(k) for k in s.short_strikes],
                    _num(s.distance_percent, 1),
                    s.tested,
                    item.text if item is not None else None,
                ]
            )
        columns = [
            "name",
            "strategy",
            "dte",
            "legs",
            "credit",
            "max_profit",
            "max_loss",
            "pnl",
            "pnl_pct_of_max",
            "underlying_price",
            "short_strikes",
            "distance_pct",
            "tested",
            "to_do",
        ]
        return _table(
            columns,
            rows,
            as_of=_iso(report.as_of),
            source="last sync" if fresh else "live",
            max_loss_null_means="unlimited",
            manage={
                "profit_target_pct": _num(manage.profit_target),
                "manage_dte": manage.manage_dte,
                "tested_within_pct": _num(manage.tested_within),
            },
            **extra,
        )

    async def _events(self, underlyings: list[str], extra: dict[str, Any]) -> list[Any]:
        """Earnings and ex-dividend dates of `underlyings` in the to-do list's week,
        from the day's metrics cache (one request the first time in a day); none, and a
        note in `extra`, when they cannot be fetched."""
        from ttai_cli.errors import BrokerError, ConfigError
        from ttai_cli.services.actions_rules import EVENT_DAYS as TO_DO_DAYS
        from ttai_cli.services.metrics import MetricsService
        from ttai_cli.services.risk import upcoming_events

        wanted = [
            u
            for u in dict.fromkeys(underlyings)
            if sym.kind_of(sym.normalize(u)) in ("equity", "index")
        ]
        if not wanted:
            return []
        try:
            metrics = await MetricsService(
                self.context.store, self.context.clock, self.context.open_broker
            ).get(wanted)
        except (BrokerError, ConfigError) as exc:
            extra["notes"] = [f"to_do without earnings and ex-dividend dates: {exc}"]
            return []
        return upcoming_events(wanted, metrics, self._today, TO_DO_DAYS)

    async def quotes(self, symbols: Any = None) -> dict[str, Any]:
        wanted = self._symbols(symbols)
        async with self.context.open_broker() as broker:
            quotes = await broker.quotes(wanted)
        rows = [
            [
                _compact(s),
                sym.readable(s, self._today),
                _num(q.bid, 4),
                _num(q.ask, 4),
                _num(q.last, 4),
                _num(q.mark, 4),
                _num(q.change_percent),
            ]
            for s in wanted
            if (q := quotes.get(s)) is not None
        ]
        extra: dict[str, Any] = {"as_of": _iso(self._now)}
        unknown = [_compact(s) for s in wanted if s not in quotes]
        if unknown:
            extra["unknown"] = unknown
        columns = ["symbol", "name", "bid", "ask", "last", "mark", "change_pct"]
        return _table(columns, rows, **extra)

    async def risk(self) -> dict[str, Any]:
        report = await self.context.risk_report()
        answer: dict[str, Any] = {
            "net_liquidating_value": _num(report.net_liquidating_value),
            "maintenance_requirement": _num(report.maintenance_requirement),
            "buying_power_used_percent": _num(report.buying_power_used_percent),
            "beta_weighted_delta": _num(report.beta_weighted_delta, 1),
            "theta": _num(report.theta),
            "vega": _num(report.vega),
            "by_underlying": _table(
                ["symbol", "beta", "delta_shares", "spy_weighted_delta", "notional", "pct_nlv"],
                [
                    [
                        u.symbol,
                        _num(u.beta),
                        _num(u.delta_shares, 1),
                        _num(u.beta_weighted_delta, 1),
                        _num(u.notional, 0),
                        _num(u.percent_of_nlv, 1),
                    ]
                    for u in report.by_underlying
                ],
            ),
            "events": _table(
                ["symbol", "kind", "date", "days"],
                [[e.symbol, e.kind, e.date.isoformat(), e.days] for e in report.events],
            ),
            "as_of": _iso(report.as_of),
        }
        if report.beta_missing:
            answer["beta_missing_counted_as_1"] = report.beta_missing
        if report.missing_greeks:
            answer["options_without_greeks"] = len(report.missing_greeks)
        return answer

    async def alerts(self) -> dict[str, Any]:
        from ttai_cli.alerts.shown import shown_threshold

        today = self._today
        alerts = self.context.alerts(notify=False).list_alerts(include_triggered=True)
        rows = [
            [
                a.id,
                sym.readable(a.symbol, today) or "account",
                a.type,
                a.condition,
                shown_threshold(a.type, a.threshold),
                a.status,
                _iso(a.triggered_at),
                a.note,
            ]
            for a in alerts
        ]
        columns = [
            "id",
            "symbol",
            "type",
            "condition",
            "threshold",
            "status",
            "triggered_at",
            "note",
        ]
        return _table(columns, rows)

    async def transactions(self, days: Any = 7) -> dict[str, Any]:
        from ttai_cli.store.records import RecordsRepository

        count = self._days(days, 90)
        start = self._today - timedelta(days=count)
        synced = self._fresh()
        if synced is not None:
            found = RecordsRepository(self.context.store).transactions_between(start, self._today)
            source, as_of = "last sync", synced
        else:
            async with self.context.open_broker() as broker:
                found = await broker.transactions(start)
            source, as_of = "live", self._now
        found = sorted(found, key=lambda t: (t.executed_at, t.id), reverse=True)
        today = self._today
        rows = [
            [
                t.transaction_date.isoformat(),
                t.transaction_type,
                t.action or t.transaction_sub_type,
                sym.readable(t.symbol, today) if t.symbol else None,
                _num(t.quantity, 4),
                _num(t.price, 4),
                _num(t.net_value),
                None if t.transaction_type == "Trade" else t.description[:80],
            ]
            for t in found[:MAX_ROWS]
        ]
        columns = ["date", "type", "action", "name", "qty", "price", "net_value", "description"]
        extra: dict[str, Any] = {"since": start.isoformat(), "as_of": _iso(as_of), "source": source}
        if len(found) > MAX_ROWS:
            extra["more"] = f"{len(found) - MAX_ROWS} older rows not shown"
        return _table(columns, rows, **extra)

    async def orders(self, days: Any = 7) -> dict[str, Any]:
        count = self._days(days, 90)
        start = self._today - timedelta(days=count)
        async with self.context.open_broker() as broker:
            found = await broker.order_history(start)
        today = self._today

        def leg(part: Any) -> str:
            text = f"{part.action} {_num(part.quantity, 4)} {sym.readable(part.symbol, today)}"
            return text + (f" @{_num(part.fill_price, 4)}" if part.fill_price is not None else "")

        rows = [
            [
                o.order_id,
                o.status,
                o.underlying_symbol,
                o.order_type,
                _num(o.price, 4),
                _num(o.filled_quantity, 4),
                _num(o.remaining_quantity, 4),
                _iso(o.updated_at),
                "; ".join(leg(p) for p in o.legs),
            ]
            for o in found[:MAX_ROWS]
        ]
        columns = [
            "id",
            "status",
            "underlying",
            "type",
            "price",
            "filled",
            "remaining",
            "updated_at",
            "legs",
        ]
        extra: dict[str, Any] = {
            "since": start.isoformat(),
            "as_of": _iso(self._now),
            "price_sign": "credit positive, debit negative",
        }
        if len(found) > MAX_ROWS:
            extra["more"] = f"{len(found) - MAX_ROWS} older orders not shown"
        return _table(columns, rows, **extra)

    async def history(self, days: Any = 30) -> dict[str, Any]:
        from ttai_cli.services.history import HistoryService

        count = self._days(days, 365)
        found = HistoryService(self.context.store, self.context.clock).days(count, self._today)
        rows = [[d.date.isoformat(), _num(d.net_liquidating_value), _num(d.day_pnl)] for d in found]
        answer = _table(["date", "net_liquidating_value", "day_pnl"], rows)
        if not rows:
            answer["note"] = "nothing recorded yet: `ttai sync` keeps one value per day"
        return answer

    async def market_status(self) -> dict[str, Any]:
        from ttai_cli.services.market import MarketService

        status = MarketService(self.context.store, self.context.clock).status_at(self._now)
        session = status.session
        return {
            "now": _iso(status.now),
            "open": status.open,
            "reason": status.reason,
            "session": None
            if session is None
            else {
                "date": session.date.isoformat(),
                "open": _iso(session.open),
                "close": _iso(session.close),
                "early_close": session.early_close,
            },
            "next_open": _iso(status.next_open),
            "next_close": _iso(status.next_close),
        }

    async def market_metrics(self, symbols: Any = None) -> dict[str, Any]:
        from ttai_cli.services.metrics import MetricsService

        wanted = self._symbols(symbols)
        found = await MetricsService(
            self.context.store, self.context.clock, self.context.open_broker
        ).get(wanted)  # fetched at most once per symbol and New York day
        rows = [
            [
                s,
                _num(m.iv_rank, 1),
                _num(m.iv_percentile, 1),
                _num(m.implied_volatility * 100, 1) if m.implied_volatility is not None else None,
                _num(m.beta),
                m.liquidity_rating,
                m.earnings_date.isoformat() if m.earnings_date else None,
                m.ex_dividend_date.isoformat() if m.ex_dividend_date else None,
                _num(m.dividend_amount, 4),
            ]
            for s in wanted
            if (m := found.get(s)) is not None
        ]
        columns = [
            "symbol",
            "iv_rank",
            "iv_percentile",
            "iv_pct",
            "beta",
            "liquidity_0_5",
            "earnings",
            "ex_dividend",
            "dividend",
        ]
        extra: dict[str, Any] = {}
        unknown = [s for s in wanted if s not in found]
        if unknown:
            extra["no_metrics"] = unknown
        return _table(columns, rows, **extra)

    async def upcoming_events(self) -> dict[str, Any]:
        from ttai_cli.services.metrics import MetricsService
        from ttai_cli.services.risk import upcoming_events

        views, _, _ = await self._position_views()
        today = self._today
        underlyings = [
            u
            for u in dict.fromkeys(v.underlying_symbol or v.symbol for v in views)
            if sym.kind_of(sym.normalize(u)) in ("equity", "index")
        ]
        metrics = (
            await MetricsService(
                self.context.store, self.context.clock, self.context.open_broker
            ).get(underlyings)
            if underlyings
            else {}
        )
        events = upcoming_events(underlyings, metrics, today, EVENT_DAYS)
        expiring = [
            [sym.readable(v.symbol, today), v.dte, _num(v.quantity, 4)]
            for v in sorted(views, key=lambda v: (v.dte if v.dte is not None else 9999, v.symbol))
            if v.dte is not None and 0 <= v.dte <= EVENT_DAYS
        ]
        return {
            **_table(
                ["symbol", "kind", "date", "days"],
                [[e.symbol, e.kind, e.date.isoformat(), e.days] for e in events],
            ),
            "expiring": _table(["name", "dte", "qty"], expiring),
            "through": (today + timedelta(days=EVENT_DAYS)).isoformat(),
        }

    async def add_alert(
        self,
        type: Any = None,
        condition: Any = None,
        threshold: Any = None,
        symbol: Any = "",
        note: Any = None,
    ) -> dict[str, Any]:
        from ttai_cli.alerts.rules import parse_alert

        for name, value in (("type", type), ("condition", condition)):
            if not isinstance(value, str) or not value.strip():
                raise ToolError(f"add_alert needs {name}")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float | str):
            raise ToolError("add_alert needs a numeric threshold")
        if not isinstance(symbol, str | None) or not isinstance(note, str | None):
            raise ToolError("symbol and note must be text")
        try:
            spec = parse_alert(symbol or None, type, condition, str(threshold), note)
            alert_id = self.context.alerts(notify=False).add(spec)
        except UsageError as exc:
            raise ToolError(str(exc)) from None
        return {"added": alert_id, "symbol": sym.readable(spec.symbol) or "account"}

    async def remove_alert(self, id: Any = None) -> dict[str, Any]:
        if isinstance(id, bool) or not isinstance(id, int):
            raise ToolError("remove_alert needs the alert's id (a whole number)")
        try:
            self.context.alerts(notify=False).remove([id])
        except UsageError as exc:
            raise ToolError(str(exc)) from None
        return {"removed": id}
