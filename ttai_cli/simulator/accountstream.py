"""A simulated account streamer: the websocket the SDK's `AlertStreamer` talks to.

Sans-IO like `dxlink.DXLinkSession`: `receive(message)` returns the replies; the hub
pushes notifications (`{"type": "Order", "data": {...}, "timestamp": ms}`) to sessions
subscribed to the notification's account. The client sends

    {"action": "connect", "value": ["5WT00001"], "auth-token": "Bearer TOKEN",
     "request-id": 1, "source": "..."}

and gets `{"status": "ok", "action": "connect", "web-socket-session-id": "...",
"value": ["5WT00001"], "request-id": 1}`. Every message must carry a live access token
(the REST one: `app.tokens`); a dead one gets `{"status": "error", "action": ...,
"message": "invalid-token", ...}`, which the SDK raises as `TastytradeError("Alert
streamer error: invalid-token")`. Actions: `connect`, `heartbeat`, and the non-account
subscriptions (`public-watchlists-subscribe`, `quote-alerts-subscribe`,
`user-message-subscribe`), which need a connect first (else `connect-not-completed`,
as tastytrade answers). `request-id` is echoed only when the request carried one.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade

SUBSCRIPTIONS = frozenset(
    {"public-watchlists-subscribe", "quote-alerts-subscribe", "user-message-subscribe"}
)


class AccountSession:
    """One account-streamer connection's state (thread-safe)."""

    kind = "account"

    def __init__(self, app: SimulatedTastytrade) -> None:
        self.app = app
        self.session_id = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._accounts: set[str] = set()
        self.heartbeats = 0

    def subscribed_to(self, account_number: str) -> bool:
        with self._lock:
            return account_number in self._accounts

    @property
    def accounts(self) -> set[str]:
        with self._lock:
            return set(self._accounts)

    def receive(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        action = str(message.get("action", ""))
        token = str(message.get("auth-token", "")).removeprefix("Bearer ").strip()
        if not self.app.access_token_valid(token):
            return [self._reply(message, "error", message="invalid-token")]
        if action == "connect":
            value = message.get("value") or []
            accounts = [value] if isinstance(value, str) else [str(v) for v in value]
            with self._lock:
                self._accounts.update(accounts)
            return [self._reply(message, "ok", value=accounts)]
        if action == "heartbeat":
            self.heartbeats += 1
            return [self._reply(message, "ok")]
        if action in SUBSCRIPTIONS:
            if not self.accounts:
                return [self._reply(message, "error", message="connect-not-completed")]
            return [self._reply(message, "ok")]
        return [self._reply(message, "error", message=f"unknown-action {action}")]

    def _reply(self, request: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "status": status,
            "action": request.get("action"),
            "web-socket-session-id": self.session_id,
            **extra,
        }
        if "request-id" in request:
            reply["request-id"] = request["request-id"]
        return reply


def notification(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """An account-streamer notification, as tastytrade sends it."""
    return {"type": kind, "data": data, "timestamp": int(time.time() * 1000)}
