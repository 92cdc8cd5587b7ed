"""Each service's native message format, readable on a phone.

- Slack incoming webhooks: `text` (the notification fallback) plus Block Kit blocks: a
  header with the title, the body as mrkdwn, the figures a trader reads (`trader_fields`:
  `3 DTE`, `P&L +94.5% (target +50%)`, `QQQ 12/4 470P`, the underlying's price; for a
  strategy alert the strategy, `+52.0% of $412.00 credit`, `0.4% from the 250 call`), and a
  context line with the ids (`alert #4`). Raw data keys and internal flags stay in the
  webhook's `data`, never in phone text.
- Discord webhooks: one embed with title, description, colour by type, inline fields
  and an ISO timestamp.
- ntfy: JSON publishing (`{"topic", "title", "message", "priority", "tags"}` POSTed to
  the server root), priority and tags by type; the message is the body, one line per
  figure, and the ids on a last line.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from ttai_cli.broker.symbols import parse_occ, readable
from ttai_cli.clock import NEW_YORK
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
    "agent_report": ":robot_face:",
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
    "agent_report": 0x9B59B6,
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
    "agent_report": 3,
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
    "agent_report": ["robot"],
}
MAX_FIELDS = 8


class Field(NamedTuple):
    """One figure a trader reads: `name` / `value` for Slack and Discord fields, `line`
    for plain text (ntfy): `3 DTE`, `P&L +94.5% (target +50%)`, `Price: $185.50`."""

    name: str
    value: str
    line: str


def _field(name: str, value: str, line: str | None = None) -> Field:
    return Field(name, value, line if line is not None else f"{name}: {value}")


def _num(data: dict[str, Any], key: str) -> Decimal | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _money(value: Decimal, signed: bool = False) -> str:
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _plain(value: Decimal, signed: bool = False) -> str:
    """`50`, `0.5`, `+2` (no trailing zeros, no exponent)."""
    text = f"{value.normalize():f}"
    return f"+{text}" if signed and value > 0 else text


def _day(text: Any) -> str | None:
    """`Fri 12/4` for an ISO date or datetime (its own calendar date)."""
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            return None
    return f"{when:%a} {when.month}/{when.day}"


def trader_fields(notification: Notification) -> list[Field]:
    """The figures a trader reads on a phone, from the notification's `data`: the option
    by its readable name (`QQQ 12/4 470P`), days to expiry as `3 DTE`, P&L against its
    target, the price and what the alert waits for, the underlying's price. Ids go to
    `footer_ids`; internal keys (alert type, flags such as `nlv_change_estimated`,
    `condition` on its own, order legs) are left to the webhook's `data`, which keeps
    everything. At most MAX_FIELDS."""
    data = notification.data
    today = notification.created_at.astimezone(NEW_YORK).date()
    condition = data.get("condition")
    threshold = _num(data, "threshold")
    fields: list[Field] = []

    def against(text: str, unit: str = "", signed: bool = False) -> str:
        """`text (alert above 0.50)` when the data says what the alert waits for."""
        if threshold is None or condition not in ("above", "below"):
            return text
        shown = _plain(threshold, signed)
        return f"{text} (alert {condition} {shown}{unit})"

    position = data.get("position")
    symbol = data.get("symbol")
    strategy = data.get("label")  # a strategy alert's `TSLA short strangle 1/15`
    if isinstance(strategy, str) and strategy.strip():
        fields.append(_field("Strategy", strategy))
    elif isinstance(position, str) and position.strip():
        name = readable(position, today)
        fields.append(_field("Option" if parse_occ(position) else "Position", name))
    elif isinstance(symbol, str) and symbol.strip():
        fields.append(_field("Symbol", readable(symbol, today)))
    dte = _num(data, "dte")
    if dte is not None:
        day = _day(data.get("expires_at"))
        text = f"{_plain(dte)} DTE" + (f" ({day})" if day else "")
        fields.append(_field("Expires", text, text))
    elif notification.notification_type == "assignment_risk" and _day(data.get("expires_at")):
        fields.append(_field("Expires", str(_day(data.get("expires_at")))))
    pnl_percent = _num(data, "pnl_percent")
    if pnl_percent is not None:
        text = f"{pnl_percent:+.1f}%"
        credit = _num(data, "credit")
        if credit is not None and credit != 0:  # a strategy's: percent of what it opened for
            text += f" of {_money(abs(credit))} {'credit' if credit > 0 else 'debit'}"
        if threshold is not None and condition in ("profit", "loss"):
            text += f" (target {'+' if condition == 'profit' else '-'}{_plain(threshold)}%)"
        pnl = _num(data, "pnl")
        if pnl is not None:
            text += f", {_money(pnl, signed=True)}"
        fields.append(_field("P&L", text, f"P&L {text}"))
    delta = _num(data, "delta")
    if delta is not None:
        fields.append(_field("Delta", against(f"{delta:+.2f}")))
    price = _num(data, "current_price")
    change = _num(data, "change_percent")
    if change is not None:
        fields.append(_field("Change today", against(f"{change:+.2f}%", "%", signed=True)))
    if price is not None:
        fields.append(_field("Price", _money(price)))
        if change is None and threshold is not None and condition in ("above", "below"):
            fields.append(_field("Threshold", f"{condition} {_money(threshold)}"))
    rank = _num(data, "iv_rank")
    if rank is not None:
        fields.append(_field("IV rank", against(f"{rank:.1f}")))
    underlying_price = _num(data, "underlying_price")
    if underlying_price is not None:
        root = parse_occ(position) if isinstance(position, str) else None
        underlying = root.root if root else str(symbol or "").strip()
        fields.append(_field("Underlying", f"{underlying} {_money(underlying_price)}".strip()))
    distance, strike = _num(data, "distance_percent"), _num(data, "strike")
    if distance is not None and strike is not None:  # a tested alert's nearest short strike
        short = f"the {_plain(strike)} {data.get('right') or 'strike'}"
        where = (
            f"{_plain(distance)}% from {short}"
            if distance > 0
            else f"at {short}"
            if distance == 0
            else f"{_plain(-distance)}% through {short}"
        )
        if threshold is not None and condition == "within":
            where += f" (alert within {_plain(threshold)}%)"
        fields.append(_field("Distance", where))
    shorts = data.get("short_strikes")
    if isinstance(shorts, list) and shorts and isinstance(strategy, str):
        strikes = [_plain(Decimal(str(s))) for s in shorts if isinstance(s, int | float)]
        fields.append(_field("Short strikes", ", ".join(strikes)))
    earnings = _day(data.get("earnings_date"))
    if earnings:
        days = _num(data, "days")
        when = (
            ""
            if days is None
            else ", today"
            if days == 0
            else ", tomorrow"
            if days == 1
            else f", in {days} days"
        )
        fields.append(_field("Earnings", f"{earnings}{when}"))
    used = _num(data, "buying_power_used_percent")
    if used is not None:
        fields.append(_field("Buying power used", against(f"{used:.1f}%", "%")))
    drawdown = _num(data, "drawdown_percent")
    if drawdown is not None:
        fields.append(_field("Drawdown", against(f"{drawdown:.1f}%", "%")))
    for key, label in (("net_liquidating_value", "Net liq"), ("high_water", "30-day high")):
        value = _num(data, key)
        if value is not None and notification.notification_type == "alert_triggered":
            fields.append(_field(label, _money(value)))
    theta = _num(data, "theta")
    if theta is not None and notification.notification_type == "alert_triggered":
        shown = f"{_money(theta)}/day"
        if threshold is not None and condition == "below":
            shown += f" (alert below {_money(threshold)}/day)"
        fields.append(_field("Theta", shown))
    bwd = _num(data, "beta_weighted_delta")
    if bwd is not None and notification.notification_type == "alert_triggered":
        fields.append(
            _field("Beta-weighted delta", against(f"{bwd:+,.1f} SPY shares", signed=True))
        )
    before, after = _num(data, "quantity_before"), _num(data, "quantity_after")
    if "quantity_before" in data or "quantity_after" in data:
        fields.append(
            _field(
                "Quantity",
                f"{(before or Decimal(0)).normalize():f} → {(after or Decimal(0)).normalize():f}",
            )
        )
    realized = _num(data, "realized_pnl")
    if realized is not None:
        fields.append(_field("Realized P&L", _money(realized, signed=True)))
    for key, label in (("extrinsic", "Extrinsic"), ("dividend", "Dividend")):
        value = _num(data, key)
        if value is not None:
            fields.append(_field(label, _money(value)))
    ex_date = _day(data.get("ex_date"))
    if ex_date:
        fields.append(_field("Ex-dividend", ex_date))
    if notification.notification_type == "agent_report":  # `ttai ask`: who wrote it, at what cost
        model = data.get("model")
        if isinstance(model, str) and model:
            fields.append(_field("Model", model))
        tokens_in, tokens_out = _num(data, "input_tokens"), _num(data, "output_tokens")
        if tokens_in is not None or tokens_out is not None:
            counts = [
                f"{t:,.0f} {w}"
                for t, w in ((tokens_in, "in"), (tokens_out, "out"))
                if t is not None
            ]
            fields.append(_field("Tokens", " / ".join(counts)))
    job = data.get("job")
    if isinstance(job, str) and job:
        fields.append(_field("Job", job))
        failures = _num(data, "failures")
        if failures is not None:
            fields.append(_field("Failures in a row", _plain(failures)))
    return fields[:MAX_FIELDS]


def key_fields(notification: Notification) -> list[tuple[str, str]]:
    """(name, value) of `trader_fields`: the console panel's lines."""
    return [(f.name, f.value) for f in trader_fields(notification)]


def footer_ids(notification: Notification) -> str:
    """`alert #4`, `order 12345`: the ids a support question needs, for the footer only."""
    parts = []
    alert_id = notification.data.get("alert_id")
    if alert_id is not None:
        parts.append(f"alert #{alert_id}")
    order_id = notification.data.get("order_id")
    if order_id is not None:
        parts.append(f"order {order_id}")
    return " · ".join(parts)


def slack(notification: Notification) -> dict[str, Any]:
    emoji = EMOJI.get(notification.notification_type, "")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": notification.title[:150], "emoji": True},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": notification.body[:3000] or " "}},
    ]
    fields = trader_fields(notification)
    if fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value, _ in fields
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": " · ".join(
                        part
                        for part in (
                            f"{emoji} {notification.notification_type}",
                            "ttai",
                            f"{notification.timestamp[:19]}Z",
                            footer_ids(notification),
                        )
                        if part
                    ),
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
        "footer": {
            "text": " · ".join(
                p for p in ("ttai", notification.notification_type, footer_ids(notification)) if p
            )
        },
    }
    fields = trader_fields(notification)
    if fields:
        embed["fields"] = [
            {"name": name[:256], "value": value[:1024], "inline": True} for name, value, _ in fields
        ]
    return {"username": "ttai", "embeds": [embed]}


def ntfy(notification: Notification, topic_url: str) -> tuple[str, dict[str, Any]]:
    """(URL to POST to, JSON body). The topic is the last path segment of the URL."""
    parts = urlsplit(topic_url)
    path = parts.path.rstrip("/")
    topic = path.rsplit("/", 1)[-1]
    base = urlunsplit((parts.scheme, parts.netloc, path[: -len(topic)] or "/", "", ""))
    lines = [notification.body] + [f.line for f in trader_fields(notification)]
    ids = footer_ids(notification)
    if ids:
        lines.append(f"— ttai {ids}")
    body = {
        "topic": topic,
        "title": notification.title,
        "message": "\n".join(lines),
        "priority": NTFY_PRIORITY.get(notification.notification_type, 3),
        "tags": NTFY_TAGS.get(notification.notification_type, []),
    }
    return base, body
