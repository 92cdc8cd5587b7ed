"""The simulator's HTTP side: requests, responses, errors, and injected faults."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


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


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> SimResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SimResponse(status, body, {"Content-Type": "application/json", **(headers or {})})


def error_response(status: int, code: str, message: str) -> SimResponse:
    return json_response(status, {"error": {"code": code, "message": message}})


def dec(value: Decimal | float | int) -> str:
    return str(value if isinstance(value, Decimal) else Decimal(str(value)))
