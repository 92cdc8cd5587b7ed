"""A notification and its SPEC webhook payload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

NOTIFICATION_TYPES = (
    "alert_triggered",
    "position_update",
    "briefing",
    "info",
    "warning",
    "error",
    # from the account streamer (`ttai stream`), once per order id and status
    "order_filled",
    "order_partially_filled",
    "order_cancelled",
    "order_rejected",
    "order_expired",
    # from `monitor`: a short option likely to be assigned (ex-dividend, expiration day)
    "assignment_risk",
    # from `ttai ask`: a language model's report on the account
    "agent_report",
)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Notification:
    """One notification. `id` is stable: every retry to every destination carries it
    (and the `Idempotency-Key` header), so a receiver can drop duplicates."""

    notification_type: str
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        if self.notification_type not in NOTIFICATION_TYPES:
            raise ValueError(f"unknown notification type {self.notification_type!r}")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be aware")

    @property
    def timestamp(self) -> str:
        """ISO 8601 in UTC with microseconds: the SPEC layout, plus the offset."""
        return self.created_at.astimezone(UTC).isoformat(timespec="microseconds")

    def payload(self) -> dict[str, Any]:
        """The webhook body (SPEC "Notifications"), keys in the documented order."""
        return {
            "id": self.id,
            "type": "notification",
            "notification_type": self.notification_type,
            "title": self.title,
            "body": self.body,
            "data": self.data,
            "timestamp": self.timestamp,
        }
