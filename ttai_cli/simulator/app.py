"""A simulated tastytrade API: the endpoints ttai reads, in the API's real JSON shapes.

`SimulatedTastytrade.handle()` is a plain function from a request to a response, so the
same application is served two ways (`ttai_cli.simulator.server`): over a real local
socket for tests and benchmarks, and in-process through an `httpx2.MockTransport` for
`--demo`, so the demo exercises the real SDK and the same broker code as production.

Shapes follow the API: `{"data": {...}}` or `{"data": {"items": [...]}}` envelopes,
dasherized keys, decimal strings with `*-effect` signs, `pagination` on transactions,
`{"error": {"code", "message"}}` errors, and the OAuth token endpoint's own error form.

Faults are injected on demand (`faults.add(...)`) for the reliability tests; every
request is kept in `history` so tests can count what the client sent.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ttai_cli.broker.symbols import kind_of, parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.account import SimAccount, _iso, build_demo_account
from ttai_cli.simulator.market import RandomWalkMarket, SimQuote, _unit

DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_REFRESH_TOKEN = "demo-refresh-token"
DEMO_ACCOUNT = "5WT00001"
MAX_SYMBOLS_PER_QUOTE_REQUEST = 100
KIND_TO_TYPE = {
    "equity": "Equity",
    "equity-option": "Equity Option",
    "future": "Future",
    "future-option": "Future Option",
    "index": "Index",
    "cryptocurrency": "Cryptocurrency",
}


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next `times` matching requests.

    kinds: `status` (answer `status`, e.g. 500/503), `rate_limit` (429 with
    Retry-After), `slow` (answer normally after `delay` seconds), `unauthorized` (401
    and the current access tokens die, as on expiry), `invalid_grant` (the token
    endpoint rejects the refresh token), `malformed` (200 with broken JSON),
    `disconnect` (close the connection without answering; socket server only).
    """

    kind: str
    path: str | None = None  # a path prefix; None matches every request
    times: int = 1
    status: int = 503
    retry_after: float = 1
    delay: float = 0.0

    def matches(self, path: str) -> bool:
        return self.path is None or path.startswith(self.path)


@dataclass
class FaultPlan:
    pending: list[Fault] = field(default_factory=list)

    def add(self, kind: str, path: str | None = None, **options: Any) -> Fault:
        fault = Fault(kind, path, **options)
        self.pending.append(fault)
        return fault

    def clear(self) -> None:
        self.pending.clear()

    def take(self, path: str) -> Fault | None:
        for fault in self.pending:
            if fault.matches(path) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.pending.remove(fault)
                return fault
        return None


@dataclass(frozen=True)
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class SimResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    disconnect: bool = False


@dataclass(frozen=True)
class Exchange:
    """One request as the simulator saw it, and the status it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    authorized: bool
    at: datetime | None = None  # the simulator's clock when it answered


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> SimResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SimResponse(status, body, {"Content-Type": "application/json", **(headers or {})})


def _error(status: int, code: str, message: str) -> SimResponse:
    return _json(status, {"error": {"code": code, "message": message}})


def _dec(value: Decimal | float | int) -> str:
    return str(value if isinstance(value, Decimal) else Decimal(str(value)))


class SimulatedTastytrade:
    """The simulated API. Thread-safe: the socket server answers from several threads."""

    def __init__(
        self,
        *,
        seed: int = 7,
        now: Callable[[], datetime] | None = None,
        client_secret: str = DEMO_CLIENT_SECRET,
        refresh_token: str = DEMO_REFRESH_TOKEN,
        account_number: str = DEMO_ACCOUNT,
        token_lifetime: int = 900,
        max_per_page: int = 250,
        unknown_symbols: frozenset[str] = frozenset(),
    ) -> None:
        self.now = now or (lambda: datetime.now(NEW_YORK))
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.token_lifetime = token_lifetime
        self.max_per_page = max_per_page
        self.unknown_symbols = set(unknown_symbols)
        self.market = RandomWalkMarket(seed, self.now)
        self.account: SimAccount = build_demo_account(
            account_number, self.market, self.now().date()
        )
        self.faults = FaultPlan()
        self.history: list[Exchange] = []
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.time())
        self.market_metrics_overrides: dict[str, dict[str, str]] = {}
        self.lock = threading.RLock()
        self.quote_tokens: set[str] = set()

    # -- what tests look at ------------------------------------------------------------
    def requests_to(self, path_prefix: str) -> list[Exchange]:
        with self.lock:
            return [e for e in self.history if e.path.startswith(path_prefix)]

    def is_known(self, symbol: str) -> bool:
        """Every well-formed symbol exists, except names starting with ZZ (the
        conventional unknown symbol in tests) and those listed in `unknown_symbols`."""
        if symbol in self.unknown_symbols:
            return False
        occ = parse_occ(symbol)
        root = occ.root.strip() if occ else symbol.lstrip("./")
        if root.startswith("ZZ"):
            return False
        return not (occ and occ.expiration < self.now().date())

    # -- the application ---------------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        with self.lock:
            response = self._dispatch(request)
            self.history.append(
                Exchange(
                    request.method,
                    request.path,
                    request.query,
                    response.status,
                    authorized=self._token_of(request) in self.tokens,
                    at=self.now(),
                )
            )
            return response

    def _dispatch(self, request: SimRequest) -> SimResponse:
        fault = self.faults.take(request.path)
        delay = 0.0
        if fault is not None:
            if fault.kind == "slow":
                delay = fault.delay
            else:
                return self._fault_response(fault)
        response = self._route(request)
        response.delay += delay
        return response

    def _fault_response(self, fault: Fault) -> SimResponse:
        if fault.kind == "status":
            return _error(fault.status, "server_error", "Simulated failure")
        if fault.kind == "rate_limit":
            seconds = math.ceil(fault.retry_after)
            response = _error(429, "rate_limited", "Too many requests")
            response.headers["Retry-After"] = str(seconds)
            return response
        if fault.kind == "unauthorized":
            self.tokens.clear()
            return _error(401, "token_invalid", "This session is invalid or expired")
        if fault.kind == "invalid_grant":
            return _json(400, {"error_code": "invalid_grant", "error_description": "Grant revoked"})
        if fault.kind == "malformed":
            return SimResponse(200, b'{"data": {"items": [', {"Content-Type": "application/json"})
        if fault.kind == "disconnect":
            return SimResponse(0, b"", disconnect=True)
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    @staticmethod
    def _token_of(request: SimRequest) -> str:
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ").strip()

    def _route(self, request: SimRequest) -> SimResponse:
        path, method = request.path.rstrip("/"), request.method
        if method == "POST" and path == "/oauth/token":
            return self._oauth_token(request)
        expiry = self.tokens.get(self._token_of(request))
        if expiry is None or expiry <= time.time():
            return _error(401, "token_invalid", "This session is invalid or expired")
        parts = path.strip("/").split("/")
        number = self.account.account_number
        if method == "POST" and path == "/sessions/validate":
            return _json(201, {"data": {"is-valid": True}})
        if method != "GET":
            return _error(405, "method_not_allowed", f"{method} not allowed here")
        if path == "/customers/me/accounts":
            return _json(
                200,
                {
                    "data": {
                        "items": [{"account": self._account_json(), "authority-level": "owner"}]
                    }
                },
            )
        if parts[:3] == ["customers", "me", "accounts"] and len(parts) == 4:
            if parts[3] != number:
                return _error(404, "record_not_found", "Account not found")
            return _json(200, {"data": self._account_json()})
        if parts[:1] == ["accounts"] and len(parts) >= 3:
            if parts[1] != number:
                return _error(403, "not_permitted", "Not permitted for this account")
            if parts[2] == "positions":
                return self._positions(request)
            if parts[2] == "balances":
                return _json(200, {"data": self._balances_json()})
            if parts[2] == "transactions":
                return self._transactions(request)
        if path == "/market-data/by-type":
            return self._market_data(request)
        if path == "/market-metrics":
            return self._market_metrics(request)
        if path == "/market-time/sessions/current":
            return self._market_session()
        if path == "/api-quote-tokens":
            return self._quote_token(request)
        return _error(404, "not_found", f"No route for {path}")

    # -- endpoints ---------------------------------------------------------------------
    def _oauth_token(self, request: SimRequest) -> SimResponse:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _json(
                400, {"error_code": "invalid_request", "error_description": "Body is not JSON"}
            )
        if body.get("grant_type") != "refresh_token":
            return _json(
                400,
                {"error_code": "unsupported_grant_type", "error_description": "Unsupported grant"},
            )
        if (
            body.get("client_secret") != self.client_secret
            or body.get("refresh_token") != self.refresh_token
        ):
            return _json(
                401 if body.get("client_secret") != self.client_secret else 400,
                {"error_code": "invalid_grant", "error_description": "Invalid JWT"},
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.token_lifetime
        return _json(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "id_token": "sim",
            },
        )

    def quote_token_valid(self, token: str) -> bool:
        with self.lock:
            return token in self.quote_tokens

    def _quote_token(self, request: SimRequest) -> SimResponse:
        token = secrets.token_urlsafe(16)
        self.quote_tokens.add(token)
        host = request.headers.get("host", "127.0.0.1")
        return _json(
            200,
            {
                "data": {
                    "token": token,
                    "dxlink-url": f"ws://{host}/dxlink",
                    "level": "api",
                    "issued-at": _iso(self.now()),
                    "expires-at": _iso(self.now() + timedelta(hours=24)),
                }
            },
        )

    def _account_json(self) -> dict[str, Any]:
        return {
            "account-number": self.account.account_number,
            "opened-at": "2021-03-01T14:30:00.000Z",
            "nickname": "Simulated",
            "account-type-name": "Individual",
            "is-closed": False,
            "day-trader-status": False,
            "is-firm-error": False,
            "is-firm-proprietary": False,
            "is-futures-approved": False,
            "margin-or-cash": "Margin",
            "is-foreign": False,
            "created-at": "2021-03-01T14:30:00.000Z",
            "suitable-options-level": "No Restrictions",
        }

    def _position_quote(self, symbol: str) -> SimQuote:
        return self.market.quote(symbol)

    def _positions(self, request: SimRequest) -> SimResponse:
        include_marks = request.query.get("include-marks", ["false"])[0].lower() == "true"
        items = []
        now = self.now()
        for pos in self.account.positions.values():
            quote = self._position_quote(pos.symbol)
            item: dict[str, Any] = {
                "account-number": self.account.account_number,
                "symbol": pos.symbol,
                "instrument-type": pos.instrument_type,
                "underlying-symbol": pos.underlying,
                "quantity": _dec(abs(pos.quantity)),
                "quantity-direction": "Long" if pos.quantity > 0 else "Short",
                "close-price": _dec(quote.prev_close),
                "average-open-price": _dec(pos.average_open_price),
                "average-yearly-market-close-price": _dec(pos.average_open_price),
                "average-daily-market-close-price": _dec(quote.prev_close),
                "multiplier": pos.multiplier,
                "cost-effect": "Debit" if pos.quantity > 0 else "Credit",
                "is-suppressed": False,
                "is-frozen": False,
                "restricted-quantity": "0.0",
                "realized-day-gain": "0.0",
                "realized-day-gain-effect": "None",
                "realized-day-gain-date": now.date().isoformat(),
                "realized-today": "0.0",
                "realized-today-effect": "None",
                "realized-today-date": now.date().isoformat(),
                "created-at": _iso(pos.opened_at),
                "updated-at": _iso(now),
            }
            if pos.expires_at is not None:
                item["expires-at"] = _iso(pos.expires_at)
            if include_marks:
                item["mark-price"] = _dec(quote.mark)
                item["mark"] = _dec(quote.mark * abs(pos.quantity) * pos.multiplier)
            items.append(item)
        return _json(
            200,
            {
                "data": {"items": items},
                "context": f"/accounts/{self.account.account_number}/positions",
            },
        )

    def _balances_json(self) -> dict[str, Any]:
        long_equity = short_equity = long_deriv = short_deriv = Decimal(0)
        maintenance = Decimal(0)
        for pos in self.account.positions.values():
            quote = self._position_quote(pos.symbol)
            value = quote.mark * pos.quantity * pos.multiplier
            if pos.instrument_type == "Equity":
                long_equity += max(value, Decimal(0))
                short_equity += min(value, Decimal(0))
                maintenance += abs(value) * Decimal("0.25")
            else:
                long_deriv += max(value, Decimal(0))
                short_deriv += min(value, Decimal(0))
                occ = parse_occ(pos.symbol)
                if occ and pos.quantity < 0:
                    maintenance += occ.strike * 100 * abs(pos.quantity) * Decimal("0.2")
        cash = self.account.cash
        nlv = cash + long_equity + short_equity + long_deriv + short_deriv
        equity_bp = max(Decimal(0), (nlv - maintenance) * 2)
        deriv_bp = max(Decimal(0), nlv - maintenance)
        zero = "0.0"
        data = {
            "account-number": self.account.account_number,
            "cash-balance": _dec(cash.quantize(Decimal("0.01"))),
            "long-equity-value": _dec(long_equity.quantize(Decimal("0.01"))),
            "short-equity-value": _dec(abs(short_equity).quantize(Decimal("0.01"))),
            "long-derivative-value": _dec(long_deriv.quantize(Decimal("0.01"))),
            "short-derivative-value": _dec(abs(short_deriv).quantize(Decimal("0.01"))),
            "long-futures-value": zero,
            "short-futures-value": zero,
            "long-futures-derivative-value": zero,
            "short-futures-derivative-value": zero,
            "long-margineable-value": _dec(long_equity.quantize(Decimal("0.01"))),
            "short-margineable-value": zero,
            "margin-equity": _dec(nlv.quantize(Decimal("0.01"))),
            "equity-buying-power": _dec(equity_bp.quantize(Decimal("0.01"))),
            "derivative-buying-power": _dec(deriv_bp.quantize(Decimal("0.01"))),
            "day-trading-buying-power": zero,
            "futures-margin-requirement": zero,
            "available-trading-funds": zero,
            "maintenance-requirement": _dec(maintenance.quantize(Decimal("0.01"))),
            "maintenance-call-value": zero,
            "reg-t-call-value": zero,
            "day-trading-call-value": zero,
            "day-equity-call-value": zero,
            "net-liquidating-value": _dec(nlv.quantize(Decimal("0.01"))),
            "cash-available-to-withdraw": _dec(max(Decimal(0), cash).quantize(Decimal("0.01"))),
            "day-trade-excess": zero,
            "pending-cash": "125.00",
            "pending-cash-effect": "Debit",
            "long-cryptocurrency-value": zero,
            "short-cryptocurrency-value": zero,
            "cryptocurrency-margin-requirement": zero,
            "unsettled-cryptocurrency-fiat-amount": zero,
            "unsettled-cryptocurrency-fiat-effect": "None",
            "closed-loop-available-balance": zero,
            "equity-offering-margin-requirement": zero,
            "long-bond-value": zero,
            "bond-margin-requirement": zero,
            "used-derivative-buying-power": _dec(maintenance.quantize(Decimal("0.01"))),
            "snapshot-date": self.now().date().isoformat(),
            "reg-t-margin-requirement": _dec(maintenance.quantize(Decimal("0.01"))),
            "futures-overnight-margin-requirement": zero,
            "futures-intraday-margin-requirement": zero,
            "maintenance-excess": _dec((nlv - maintenance).quantize(Decimal("0.01"))),
            "pending-margin-interest": zero,
            "effective-cryptocurrency-buying-power": zero,
            "updated-at": _iso(self.now()),
            "currency": "USD",
        }
        return data

    def _transactions(self, request: SimRequest) -> SimResponse:
        q = request.query
        per_page = min(int(q.get("per-page", ["250"])[0]), self.max_per_page)
        offset = int(q.get("page-offset", ["0"])[0])
        start = q.get("start-date", [None])[0]
        end = q.get("end-date", [None])[0]
        rows = [
            t
            for t in self.account.transactions
            if (start is None or t["transaction-date"] >= start)
            and (end is None or t["transaction-date"] <= end)
        ]
        rows.sort(
            key=lambda t: (t["executed-at"], t["id"]), reverse=q.get("sort", ["Desc"])[0] == "Desc"
        )
        total = len(rows)
        pages = max(1, math.ceil(total / per_page))
        page = rows[offset * per_page : (offset + 1) * per_page]
        return _json(
            200,
            {
                "data": {"items": page},
                "api-version": "v1",
                "context": request.path,
                "pagination": {
                    "per-page": per_page,
                    "page-offset": offset,
                    "item-offset": offset * per_page,
                    "total-items": total,
                    "total-pages": pages,
                    "current-item-count": len(page),
                    "previous-link": None,
                    "next-link": None,
                    "paging-link-template": None,
                },
            },
        )

    def _market_data(self, request: SimRequest) -> SimResponse:
        requested: list[tuple[str, str]] = []
        for kind in KIND_TO_TYPE:
            for raw in request.query.get(kind, []):
                # the SDK repeats the key per symbol; other clients send a comma list
                requested.extend((kind, s) for s in raw.split(",") if s)
        if len(requested) > MAX_SYMBOLS_PER_QUOTE_REQUEST:
            return _error(
                400,
                "too_many_symbols",
                f"At most {MAX_SYMBOLS_PER_QUOTE_REQUEST} symbols per request",
            )
        now = self.now()
        items = []
        for kind, symbol in requested:
            if not self.is_known(symbol) or kind_of(symbol) != kind:
                continue
            quote = self.market.quote(symbol)
            items.append(
                {
                    "symbol": symbol,
                    "instrument-type": KIND_TO_TYPE[kind],
                    "updated-at": _iso(now),
                    "bid-size": "100.0",
                    "ask-size": "100.0",
                    "bid": _dec(quote.bid),
                    "ask": _dec(quote.ask),
                    "mid": _dec(((quote.bid + quote.ask) / 2).quantize(Decimal("0.001"))),
                    "mark": _dec(quote.mark),
                    "last": _dec(quote.last),
                    "open": _dec(quote.day_open),
                    "day-high-price": _dec(max(quote.day_open, quote.last)),
                    "day-low-price": _dec(min(quote.day_open, quote.last)),
                    "close-price-type": "Unknown",
                    "prev-close": _dec(quote.prev_close),
                    "prev-close-price-type": "Final",
                    "summary-date": now.date().isoformat(),
                    "prev-close-date": (now.date() - timedelta(days=1)).isoformat(),
                    "halt-start-time": -1,
                    "halt-end-time": -1,
                    "volume": "1250000.0" if kind == "equity" else "1500.0",
                }
            )
        return _json(200, {"data": {"items": items}})

    def _market_metrics(self, request: SimRequest) -> SimResponse:
        symbols = [s for raw in request.query.get("symbols", []) for s in raw.split(",") if s]
        now = self.now()
        items = []
        for symbol in symbols:
            if not self.is_known(symbol):
                continue
            seed = self.market.seed
            # IV rank drifts slowly through the day around a per-symbol level.
            level = _unit(seed, "ivr", symbol)
            wobble = 0.05 * math.sin(now.timestamp() / 3600 + 7 * _unit(seed, "ivr-phase", symbol))
            rank = min(0.99, max(0.01, level + wobble))
            vol = self.market.volatility(symbol)
            item = {
                "symbol": symbol,
                "implied-volatility-index": f"{vol:.4f}",
                "implied-volatility-index-5-day-change": "0.0123",
                "implied-volatility-index-rank": f"{rank:.4f}",
                "tos-implied-volatility-index-rank": f"{rank:.4f}",
                "tw-implied-volatility-index-rank": f"{rank:.4f}",
                "implied-volatility-index-rank-source": "tw",
                "implied-volatility-percentile": f"{min(0.99, rank * 1.1):.4f}",
                "implied-volatility-updated-at": _iso(now),
                "liquidity-rating": 4,
                "updated-at": _iso(now),
                "beta": "1.12",
                "market-cap": "2500000000000",
                "implied-volatility-30-day": f"{vol * 100:.2f}",
                "historical-volatility-30-day": f"{vol * 90:.2f}",
            }
            item.update(self.market_metrics_overrides.get(symbol, {}))
            items.append(item)
        return _json(200, {"data": {"items": items}})

    def _market_session(self) -> SimResponse:
        # A plain weekday 9:30-16:00 view: the broker's answer only confirms the
        # calendar, which stays the source of truth for holidays and half days.
        now = self.now()
        today = now.date()

        def session_for(day: date) -> dict[str, Any]:
            open_at = datetime.combine(day, datetime.min.time(), NEW_YORK).replace(
                hour=9, minute=30
            )
            close_at = open_at.replace(hour=16, minute=0)
            return {
                "close-at": _iso(close_at),
                "close-at-ext": _iso(close_at.replace(hour=20)),
                "instrument-collection": "Equity",
                "open-at": _iso(open_at),
                "session-date": day.isoformat(),
                "start-at": _iso(open_at.replace(hour=4)),
            }

        def next_weekday(day: date) -> date:
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
            return day

        current = session_for(today) if today.weekday() < 5 else None
        state = "Closed"
        if current:
            open_at = datetime.fromisoformat(current["open-at"].replace("Z", "+00:00"))
            close_at = datetime.fromisoformat(current["close-at"].replace("Z", "+00:00"))
            if open_at <= now < close_at:
                state = "Open"
            elif now < open_at and now.hour >= 4:
                state = "Pre-market"
            elif close_at <= now < close_at + timedelta(hours=4):
                state = "Extended"
        item: dict[str, Any] = {
            "instrument-collection": "Equity",
            "state": state,
            "next-session": session_for(next_weekday(today)),
        }
        if current:
            item.update(
                {k: current[k] for k in ("close-at", "close-at-ext", "open-at", "start-at")}
            )
        return _json(200, {"data": {"items": [item]}})
