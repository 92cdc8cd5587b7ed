"""The tastytrade broker: the real SDK (v13) behind the `Broker` interface.

This is the only module that imports `tastytrade` (and, through it, pandas): the import
happens in `__aenter__`, so commands that never talk to the broker never pay for it.

Error handling, from the user's side:
- an access token that dies mid-run (401) is refreshed once and the call retried;
- a refresh token tastytrade rejects (`invalid_grant`) is a `CredentialsError` (exit 2)
  telling the user to create a new one;
- network errors, 5xx and 429 are retried by the transport, then a `BrokerError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2

from ttai_cli import logs
from ttai_cli.broker import mapping
from ttai_cli.broker import symbols as sym
from ttai_cli.broker.models import (
    AccountInfo,
    Balances,
    BrokerStats,
    MarketMetric,
    MarketSessionStatus,
    OptionGreeks,
    Position,
    Quote,
    Transaction,
)
from ttai_cli.broker.transport import ResilientTransport, RetryPolicy
from ttai_cli.config import Secret
from ttai_cli.errors import BrokerError, ConfigError, CredentialsError

log = logs.get("broker")
T = TypeVar("T")
QUOTE_BATCH = 100  # the API's combined limit per /market-data/by-type request
METRICS_BATCH = 100
PARALLEL_REQUESTS = 4
TOKEN_HELP = (
    "tastytrade rejected the refresh token (invalid_grant): create a new one (a new personal "
    "grant for your OAuth application on my.tastytrade.com) and set TASTYTRADE_REFRESH_TOKEN"
)


class TastytradeBroker:
    """Read-only access to one tastytrade account through the SDK."""

    def __init__(
        self,
        *,
        client_secret: Secret,
        refresh_token: Secret,
        account_id: str | None = None,
        sandbox: bool = False,
        base_url: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.stats = BrokerStats()
        self._secret = client_secret
        self._refresh = refresh_token
        self._account_id = account_id
        self._sandbox = sandbox
        self._base_url = base_url
        self._inner = transport
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._stack = AsyncExitStack()
        self._session: Any = None
        self._account: Any = None
        # one lookup when several calls ask at once (ttai ask's tools run side by side)
        self._account_lock: asyncio.Lock | None = None
        self._transport: ResilientTransport | None = None

    async def __aenter__(self) -> TastytradeBroker:
        from tastytrade import Session

        inner = self._inner or httpx2.AsyncHTTPTransport()
        await self._stack.enter_async_context(inner)
        self._transport = ResilientTransport(inner, self._retry, self.stats)
        self._session = Session(
            self._secret.reveal(),
            self._refresh.reveal(),
            is_test=self._sandbox,
            transport=self._transport,
            timeout=httpx2.Timeout(self._timeout, connect=min(5.0, self._timeout)),
        )
        if self._base_url:
            self._session._client.base_url = self._base_url
        await self._stack.enter_async_context(self._session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    @property
    def host(self) -> str:
        if self._session is None:
            return "tastytrade"
        return urlsplit(str(self._session._client.base_url)).netloc or "tastytrade"

    # -- the call wrapper every method goes through ---------------------------------------
    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run one SDK call, refreshing the access token once after a 401, and turn
        every failure into a `BrokerError` or `CredentialsError` with one clear line."""
        from pydantic import ValidationError
        from tastytrade.utils import TastytradeError

        assert self._transport is not None, "use `async with broker:`"
        transport = self._transport
        for attempt in (1, 2):
            transport.unauthorized = False
            try:
                return await call()
            except httpx2.TransportError as exc:
                raise BrokerError(
                    f"cannot reach tastytrade at {self.host} while fetching {what} "
                    f"({transport.last_failure or exc.__class__.__name__})"
                ) from None
            except (ValidationError, json.JSONDecodeError) as exc:
                raise BrokerError(
                    f"tastytrade sent an answer ttai cannot read while fetching {what} "
                    f"({exc.__class__.__name__})"
                ) from None
            except (TastytradeError, KeyError, AttributeError, TypeError) as exc:
                # AttributeError/TypeError: the SDK trips over non-standard error bodies,
                # e.g. the token endpoint's {"error_code": "invalid_grant"} form.
                if transport.invalid_grant:
                    raise CredentialsError(TOKEN_HELP) from None
                if transport.unauthorized and attempt == 1:
                    log.info("access token rejected; refreshing and retrying %s", what)
                    await self._session.refresh(force=True)
                    continue
                if isinstance(exc, TastytradeError):
                    detail = " ".join(str(exc).split()) or transport.last_failure or "error"
                else:
                    detail = transport.last_failure or exc.__class__.__name__
                raise BrokerError(
                    f"tastytrade error while fetching {what}: {logs.redact(detail)}"
                ) from None
        raise AssertionError("unreachable")

    async def _get_account(self) -> Any:
        """The account (TASTYTRADE_ACCOUNT_ID, else the first), looked up once: calls
        that ask at the same time wait for the one lookup instead of each making it."""
        if self._account is not None:
            return self._account
        if self._account_lock is None:
            self._account_lock = asyncio.Lock()
        async with self._account_lock:
            if self._account is None:
                self._account = await self._lookup_account()
        return self._account

    async def _lookup_account(self) -> Any:
        from tastytrade import Account

        accounts = await self._call("accounts", lambda: Account.get(self._session))
        if not accounts:
            raise ConfigError("no open tastytrade account for these credentials")
        if self._account_id:
            matching = [a for a in accounts if a.account_number == self._account_id]
            if not matching:
                available = ", ".join(a.account_number for a in accounts)
                raise ConfigError(
                    f"TASTYTRADE_ACCOUNT_ID {self._account_id} is not one of your accounts ({available})"
                )
            return matching[0]
        return accounts[0]

    # -- for the streaming feeds (ttai_cli/streaming), which drive the SDK's streamers --------
    @property
    def sdk_session(self) -> Any:
        """The SDK `Session` (the streamers need it); only valid inside `async with`."""
        assert self._session is not None, "use `async with broker:`"
        return self._session

    async def sdk_accounts(self) -> list[Any]:
        """The SDK `Account` this broker reads, as a list (the account streamer's input)."""
        return [await self._get_account()]

    @property
    def credentials_rejected(self) -> bool:
        """tastytrade has answered `invalid_grant`: the refresh token is dead."""
        return bool(self._transport is not None and self._transport.invalid_grant)

    async def todays_orders(self) -> list[Any]:
        """Today's orders (`/accounts/N/orders/live`) as the stream's `OrderEvent`s: what
        the account stream may have missed while it was down is read here after each
        (re)connect."""
        from ttai_cli.streaming.account import order_event

        account = await self._get_account()
        orders = await self._call("orders", lambda: account.get_live_orders(self._session))
        return [order_event(o) for o in orders]

    async def order_history(self, since: date) -> list[Any]:
        """Orders received since `since` (every status, working ones too), newest first,
        as `OrderEvent`s: the order history a person reads (`ttai ask`'s `orders` tool).
        A read of `/accounts/N/orders`, every page."""
        from ttai_cli.streaming.account import order_event

        account = await self._get_account()
        orders = await self._call(
            "order history",
            lambda: account.get_order_history(
                self._session, per_page=200, page_offset=None, start_date=since, sort="Desc"
            ),
        )
        return [order_event(o) for o in orders]

    async def account_number(self) -> str:
        return str((await self._get_account()).account_number)

    # -- Broker interface ------------------------------------------------------------------
    async def accounts(self) -> list[AccountInfo]:
        from tastytrade import Account

        accounts = await self._call("accounts", lambda: Account.get(self._session))
        return [AccountInfo(a.account_number, a.nickname, a.account_type_name) for a in accounts]

    async def positions(self) -> list[Position]:
        account = await self._get_account()
        raw = await self._call(
            "positions", lambda: account.get_positions(self._session, include_marks=True)
        )
        return [mapping.position(p) for p in raw]

    async def balances(self) -> Balances:
        account = await self._get_account()
        return mapping.balances(
            await self._call("balances", lambda: account.get_balances(self._session))
        )

    async def quotes(self, symbols: list[str]) -> dict[str, Quote]:
        from tastytrade.market_data import get_market_data_by_type

        wanted = list(dict.fromkeys(sym.normalize(s) for s in symbols))
        semaphore = asyncio.Semaphore(PARALLEL_REQUESTS)

        async def fetch(batch: list[str]) -> list[Any]:
            groups: dict[str, list[str]] = {}
            for s in batch:
                groups.setdefault(sym.kind_of(s), []).append(s)
            async with semaphore:
                return await self._call(
                    "quotes",
                    lambda: get_market_data_by_type(
                        self._session,
                        equities=groups.get("equity"),
                        options=groups.get("equity-option"),
                        futures=groups.get("future"),
                        future_options=groups.get("future-option"),
                        indices=groups.get("index"),
                        cryptocurrencies=groups.get("cryptocurrency"),
                    ),
                )

        results = await asyncio.gather(*(fetch(batch) for batch in _chunks(wanted, QUOTE_BATCH)))
        quotes: dict[str, Quote] = {}
        for batch_result in results:
            for md in batch_result:
                quotes[md.symbol] = Quote(
                    symbol=md.symbol,
                    instrument_type=str(md.instrument_type.value),
                    bid=md.bid,
                    ask=md.ask,
                    last=md.last,
                    mark=md.mark if md.mark is not None else md.mid,
                    prev_close=md.prev_close,
                    updated_at=md.updated_at,
                )
        return quotes

    async def transactions(self, since: date) -> list[Transaction]:
        account = await self._get_account()
        raw = await self._call(
            "transactions",
            lambda: account.get_history(
                self._session, start_date=since, page_offset=None, sort="Asc"
            ),
        )
        return [mapping.transaction(t) for t in raw]

    async def market_metrics(self, symbols: list[str]) -> dict[str, MarketMetric]:
        from tastytrade.metrics import get_market_metrics

        metrics: dict[str, MarketMetric] = {}
        wanted = list(dict.fromkeys(sym.normalize(s) for s in symbols))
        for batch in _chunks(wanted, METRICS_BATCH):

            async def fetch(batch: list[str] = batch) -> Any:
                return await get_market_metrics(self._session, batch)

            for info in await self._call("market metrics", fetch):
                metrics[info.symbol] = mapping.market_metric(info)
        return metrics

    async def greeks(self, option_symbols: list[str], timeout: float = 10.0) -> dict[str, Decimal]:
        """Delta per OCC option symbol (see `option_greeks`)."""
        found = await self.option_greeks(option_symbols, timeout)
        return {occ: g.delta for occ, g in found.items()}

    async def option_greeks(
        self, option_symbols: list[str], timeout: float = 10.0
    ) -> dict[str, OptionGreeks]:
        """Greeks per OCC option symbol from the DXLink streamer: one subscription for
        all of them, waiting at most `timeout` seconds. Options with no event by then
        are absent from the result."""
        import anyio
        from tastytrade import DXLinkStreamer
        from tastytrade.dxfeed import Greeks

        wanted = {
            s: occ for occ in dict.fromkeys(option_symbols) if (s := sym.streamer_symbol(occ))
        }
        if not wanted:
            return {}

        async def stream() -> dict[str, OptionGreeks]:
            found: dict[str, OptionGreeks] = {}
            try:
                async with DXLinkStreamer(self._session) as streamer:
                    await streamer.subscribe(Greeks, list(wanted))
                    with anyio.move_on_after(timeout):
                        async for event in streamer.listen(Greeks):
                            occ = wanted.get(event.event_symbol)
                            greeks = mapping.option_greeks(event)
                            if occ is not None and greeks is not None:
                                found[occ] = greeks
                            if len(found) == len(wanted):
                                break
            except BaseExceptionGroup as group:  # anyio task groups wrap the real error
                raise group.exceptions[0] from None
            return found

        return await self._call("greeks", stream)

    async def market_session(self) -> MarketSessionStatus:
        from tastytrade.market_sessions import ExchangeType, get_market_sessions

        sessions = await self._call(
            "market session", lambda: get_market_sessions(self._session, [ExchangeType.NYSE])
        )
        if not sessions:
            raise BrokerError("tastytrade sent no NYSE market session")
        s = sessions[0]
        return MarketSessionStatus(
            state=str(s.status.value),
            open_at=s.open_at,
            close_at=s.close_at,
            next_open_at=s.next_session.open_at if s.next_session else None,
        )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
