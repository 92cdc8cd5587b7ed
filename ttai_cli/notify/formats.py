"""Each service's native message format, readable on a phone.

- Slack incoming webhooks: `text` (the notification fallback) plus Block Kit blocks: a
  header with the title, the body as mrkdwn, the key data fields, and a context line.
- Discord webhooks: one embed with title, description, colour by type, inline fields
  and an ISO timestamp.
- ntfy: JSON publishing (`{"topic", "title", "message", "priority", "tags"}` POSTed to
  the server root), priority and tags by type.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ttai_cli.notify.models import Notification

EMOJI = {
    "alert_triggered": ":rotating_light:",
    "position_update": ":arrows_counterclockwise:",
    "briefing": ":newspaper:",
    "info": ":information_source:",
    "warning": ":warning:",
    "error": ":x:",
    "order_filled": ":white_check_mark:",
    "order_partially_filled": ":hourglass_flowing_sand:",
    "order_cancelled": ":no_entry_sign:",
    "order_rejected": ":x:",
    "order_expired": ":hourglass:",
    "assignment_risk": ":warning:",
}
DISCORD_COLOURS = {
    "alert_triggered": 0xE67E22,
    "position_update": 0x3498DB,
    "briefing": 0x2ECC71,
    "info": 0x95A5A6,
    "warning": 0xF1C40F,
    "error": 0xE74C3C,
    "order_filled": 0x2ECC71,
    "order_partially_filled": 0x3498DB,
    "order_cancelled": 0x95A5A6,
    "order_rejected": 0xE74C3C,
    "order_expired": 0x95A5A6,
    "assignment_risk": 0xE74C3C,
}
NTFY_PRIORITY = {
    "alert_triggered": 4,
    "error": 4,
    "warning": 3,
    "position_update": 3,
    "briefing": 3,
    "info": 2,
    "order_filled": 4,
    "order_partially_filled": 3,
    "order_cancelled": 3,
    "order_rejected": 4,
    "order_expired": 3,
    "assignment_risk": 4,
}
NTFY_TAGS = {
    "alert_triggered": ["rotating_light"],
    "position_update": ["arrows_counterclockwise"],
    "briefing": ["newspaper"],
    "info": ["information_source"],
    "warning": ["warning"],
    "error": ["x"],
    "order_filled": ["white_check_mark"],
    "order_partially_filled": ["hourglass_flowing_sand"],
    "order_cancelled": ["no_entry_sign"],
    "order_rejected": ["x"],
    "order_expired": ["hourglass"],
    "assignment_risk": ["warning"],
}
MAX_FIELDS = 8


def key_fields(notification: Notification) -> list[tuple[str, str]]:
    """The data fields worth a line: scalars only, first MAX_FIELDS, names humanised."""
    fields = []
    for key, value in notification.data.items():
        if isinstance(value, dict | list) or value is None:
            continue
        fields.append((key.replace("_", " ").capitalize(), _show(value)))
    return fields[:MAX_FIELDS]


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:g}"
    return str(value)


def slack(notification: Notification) -> dict[str, Any]:
    emoji = EMOJI.get(notification.notification_type, "")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": notification.title[:150], "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": notification.body[:3000] or " "}},
    ]
    fields = key_fields(notification)
    if fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{emoji} {notification.notification_type} · ttai · {notification.timestamp[:19]}Z",
                }
            ],
        }
    )
    return {"text": f"{notification.title}: {notification.body}", "blocks": blocks}


def discord(notification: Notification) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": notification.title[:256],
        "description": notification.body[:4096],
        "color": DISCORD_COLOURS.get(notification.notification_type, 0x95A5A6),
        "timestamp": notification.timestamp,
        "footer": {"text": f"ttai · {notification.notification_type}"},
    }
    fields = key_fields(notification)
    if fields:
        embed["fields"] = [
            {"name": name[:256], "value": value[:1024], "inline": True} for name, value in fields
        ]
    return {"username": "ttai", "embeds": [embed]}


def ntfy(notification: Notification, topic_url: str) -> tuple[str, dict[str, Any]]:
    """(URL to POST to, JSON body). The topic is the last path segment of the URL."""
    parts = urlsplit(topic_url)
    path = parts.path.rstrip("/")
    topic = path.rsplit("/", 1)[-1]
    base = urlunsplit((parts.scheme, parts.netloc, path[: -len(topic)] or "/", "", ""))
    lines = [notification.body] + [f"{name}: {value}" for name, value in key_fields(notification)]
    body = {
        "topic": topic,
        "title": notification.title,
        "message": "\n".join(lines),
        "priority": NTFY_PRIORITY.get(notification.notification_type, 3),
        "tags": NTFY_TAGS.get(notification.notification_type, []),
    }
    return base, body
