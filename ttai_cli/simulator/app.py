"""A simulated tastytrade API: the endpoints ttai reads, in the API's real JSON shapes.

`SimulatedTastytrade.handle()` is a plain function from a request to a response, so the
same application is served two ways (`ttai_cli.simulator.server`): over a real local
socket for tests and benchmarks, and in-process (ASGI) for `--demo`, so the demo
exercises the real SDK and the same broker code as production. The websockets (DXLink
market data at `/dxlink`, the account streamer at `/account-streamer`) live in
`app.streams` (`ttai_cli.simulator.streams.StreamHub`).

Shapes follow the API: `{"data": {...}}` or `{"data": {"items": [...]}}` envelopes,
dasherized keys, decimal strings with `*-effect` signs, `pagination` on transactions,
`{"error": {"code", "message"}}` errors, and the OAuth token endpoint's own error form.

Faults are injected on demand (`faults.add(...)`) for the reliability tests; every
request is kept in `history` so tests can count what the client sent.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ttai_cli.broker.symbols import parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.account import SimAccount, _iso, build_demo_account
from ttai_cli.simulator.accountdata import (
    account_json,
    balances_json,
    orders_page,
    positions,
    transactions,
)
from ttai_cli.simulator.calendar import chain_expirations
from ttai_cli.simulator.http import (
    Exchange,
    Fault,
    FaultPlan,
    SimRequest,
    SimResponse,
    error_response,
    json_response,
)
from ttai_cli.simulator.market import BASE_PRICES, RandomWalkMarket
from ttai_cli.simulator.marketdata import market_data, market_metrics, market_session
from ttai_cli.simulator.streams import StreamHub

DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_REFRESH_TOKEN = "demo-refresh-token"
DEMO_ACCOUNT = "5WT00001"


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
        any_symbol: bool = False,
        demo_fill_after: float | None = None,
    ) -> None:
        self.now = now or (lambda: datetime.now(NEW_YORK))
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.token_lifetime = token_lifetime
        self.max_per_page = max_per_page
        self.unknown_symbols = set(unknown_symbols)
        # True: every well-formed symbol but ZZ... exists (tests and benchmarks that make
        # up symbols); False: only the fixed universe `is_known` describes (the demo)
        self.any_symbol = any_symbol
        self.registered: set[str] = set()
        self.market = RandomWalkMarket(seed, self.now)
        self.account: SimAccount = build_demo_account(
            account_number, self.market, self.now().date()
        )
        self.faults = FaultPlan()
        self.history: list[Exchange] = []
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.time())
        # symbol -> /market-metrics fields to replace (None: leave the field out)
        self.market_metrics_overrides: dict[str, dict[str, Any]] = {}
        self.latency: tuple[float, float] | None = None  # random extra delay per answer (s)
        self._latency_rng = random.Random(seed)
        self.lock = threading.RLock()
        self.quote_tokens: set[str] = set()
        self.orders: dict[int, dict[str, Any]] = {}  # today's orders, latest state by id
        # seconds after an account-streamer connect until the demo's order goes Live
        # (then Filled); None: no demo order (tests)
        self.demo_fill_after = demo_fill_after
        self.streams = StreamHub(self)

    # -- what tests look at ------------------------------------------------------------
    def requests_to(self, path_prefix: str) -> list[Exchange]:
        with self.lock:
            return [e for e in self.history if e.path.startswith(path_prefix)]

    def register(self, *symbols: str) -> None:
        """Make `symbols` (and option chains on the equities among them) known."""
        with self.lock:
            self.registered.update(symbols)

    def is_known(self, symbol: str) -> bool:
        """Whether the API knows `symbol`, as tastytrade would answer.

        Never: names starting with ZZ (the conventional unknown symbol in tests), those
        in `unknown_symbols`, and options past their expiration. Otherwise, with
        `any_symbol`, every well-formed symbol. Without it (the demo), a fixed universe:
        the market's BASE_PRICES symbols (futures contracts on their roots: /ESZ6), the
        demo book's symbols, those `register`ed, and options on the equities among them
        at an expiration of the simulator's chain (`calendar.chain_expirations`)."""
        if symbol in self.unknown_symbols:
            return False
        occ = parse_occ(symbol)
        root = occ.root.strip() if occ else symbol.lstrip("./")
        if root.startswith("ZZ"):
            return False
        today = self.now().astimezone(NEW_YORK).date()
        if occ and occ.expiration < today:
            return False
        if self.any_symbol:
            return True
        with self.lock:
            book = {p.symbol for p in self.account.positions.values()}
            book |= {p.underlying for p in self.account.positions.values()}
            universe = set(BASE_PRICES) | self.registered | book
        if occ is None:
            if symbol in universe:
                return True
            # a futures contract (/ESZ6, /MESZ6) on a listed root (/ES, /MES)
            return symbol.startswith("/") and any(
                symbol[:n] in universe and len(symbol) > n for n in (3, 4)
            )
        if symbol in universe:
            return True
        return root in universe and occ.expiration in chain_expirations(today)

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
        if self.latency is not None:
            response.delay += self._latency_rng.uniform(*self.latency)
        return response

    def _fault_response(self, fault: Fault) -> SimResponse:
        if fault.kind == "status":
            return error_response(fault.status, "server_error", "Simulated failure")
        if fault.kind == "rate_limit":
            seconds = math.ceil(fault.retry_after)
            response = error_response(429, "rate_limited", "Too many requests")
            response.headers["Retry-After"] = str(seconds)
            return response
        if fault.kind == "unauthorized":
            self.tokens.clear()
            return error_response(401, "token_invalid", "This session is invalid or expired")
        if fault.kind == "invalid_grant":
            return json_response(
                400, {"error_code": "invalid_grant", "error_description": "Grant revoked"}
            )
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
            return error_response(401, "token_invalid", "This session is invalid or expired")
        parts = path.strip("/").split("/")
        number = self.account.account_number
        if method == "POST" and path == "/sessions/validate":
            return json_response(201, {"data": {"is-valid": True}})
        if method != "GET":
            return error_response(405, "method_not_allowed", f"{method} not allowed here")
        if path == "/customers/me/accounts":
            return json_response(
                200,
                {"data": {"items": [{"account": account_json(self), "authority-level": "owner"}]}},
            )
        if parts[:3] == ["customers", "me", "accounts"] and len(parts) == 4:
            if parts[3] != number:
                return error_response(404, "record_not_found", "Account not found")
            return json_response(200, {"data": account_json(self)})
        if parts[:1] == ["accounts"] and len(parts) >= 3:
            if parts[1] != number:
                return error_response(403, "not_permitted", "Not permitted for this account")
            if parts[2] == "positions":
                return positions(self, request)
            if parts[2] == "balances":
                return json_response(200, {"data": balances_json(self)})
            if parts[2] == "transactions":
                return transactions(self, request)
            if parts[2:] == ["orders", "live"]:
                return json_response(200, {"data": {"items": list(self.orders.values())}})
            if parts[2:] == ["orders"]:
                return orders_page(self, request)
        if path == "/market-data/by-type":
            return market_data(self, request)
        if path == "/market-metrics":
            return market_metrics(self, request)
        if path == "/market-time/sessions/current":
            return market_session(self)
        if path == "/api-quote-tokens":
            return self._quote_token(request)
        return error_response(404, "not_found", f"No route for {path}")

    # -- endpoints ---------------------------------------------------------------------
    def _oauth_token(self, request: SimRequest) -> SimResponse:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return json_response(
                400, {"error_code": "invalid_request", "error_description": "Body is not JSON"}
            )
        if body.get("grant_type") != "refresh_token":
            return json_response(
                400,
                {"error_code": "unsupported_grant_type", "error_description": "Unsupported grant"},
            )
        if (
            body.get("client_secret") != self.client_secret
            or body.get("refresh_token") != self.refresh_token
        ):
            return json_response(
                401 if body.get("client_secret") != self.client_secret else 400,
                {"error_code": "invalid_grant", "error_description": "Invalid JWT"},
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.token_lifetime
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "id_token": "sim",
            },
        )

    def access_token_valid(self, token: str) -> bool:
        """An OAuth access token this API issued and that has not expired."""
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and expiry > time.time()

    def quote_token_valid(self, token: str) -> bool:
        with self.lock:
            return token in self.quote_tokens

    def _quote_token(self, request: SimRequest) -> SimResponse:
        token = secrets.token_urlsafe(16)
        self.quote_tokens.add(token)
        host = request.headers.get("host", "127.0.0.1")
        return json_response(
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
