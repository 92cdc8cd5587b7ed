"""Notifications against a real local receiver: formats, durability, retries, redaction."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_subprocess
from tests.fakes import FakeClock, RecordingSleep
from tests.receiver import Receiver, Reply
from tests.test_cli import one_line_error
from ttai_cli.config import load_settings
from ttai_cli.errors import ConfigError
from ttai_cli.notify.models import Notification
from ttai_cli.services.notifications import DeliveryPolicy, Notifier, order_group
from ttai_cli.store import open_store

SPEC_KEYS = ["id", "type", "notification_type", "title", "body", "data", "timestamp"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def alert(n: int = 0, alert_id: int | None = None) -> Notification:
    """An alert notification; with `alert_id`, one of that alert's (they keep their order)."""
    data = {"symbol": "AAPL", "condition": "above", "threshold": 185.0, "current_price": 185.5}
    return Notification(
        "alert_triggered",
        "Price Alert: AAPL",
        f"AAPL is now $185.50 (above $185.00) #{n}",
        data if alert_id is None else {**data, "alert_id": alert_id},
    )


def make_notifier(
    home: Path,
    env: dict[str, str],
    *,
    tty: bool = False,
    sleep: RecordingSleep | None = None,
    clock: FakeClock | None = None,
) -> tuple[Notifier, io.StringIO]:
    settings = load_settings(environ={"TTAI_HOME": str(home), **env})
    home.mkdir(parents=True, exist_ok=True)
    err = io.StringIO()
    notifier = Notifier(
        settings,
        open_store(settings.database_path),
        clock or FakeClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
        policy=DeliveryPolicy(jitter=lambda low, high: high),
        sleep=sleep or RecordingSleep(),
        stderr=lambda: err,
        stderr_is_tty=tty,
    )
    return notifier, err


# -- formats ----------------------------------------------------------------------------------
def test_webhook_gets_the_exact_spec_payload_and_idempotency_key(
    receiver: Receiver, clean_env: Path
) -> None:
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": receiver.url + "/hook"})
    n = alert()
    asyncio.run(notifier.notify(n))
    (request,) = receiver.requests
    body = request.json()
    assert list(body) == SPEC_KEYS
    assert body == {
        "id": n.id,
        "type": "notification",
        "notification_type": "alert_triggered",
        "title": "Price Alert: AAPL",
        "body": "AAPL is now $185.50 (above $185.00) #0",
        "data": {
            "symbol": "AAPL",
            "condition": "above",
            "threshold": 185.0,
            "current_price": 185.5,
        },
        "timestamp": n.timestamp,
    }
    assert request.headers["idempotency-key"] == n.id
    assert request.headers["content-type"] == "application/json"
    assert request.path == "/hook"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_stderr_backend_writes_the_same_json_one_per_line(clean_env: Path) -> None:
    notifier, err = make_notifier(clean_env, {"TTAI_NOTIFICATION_BACKEND": "stderr"})
    first, second = alert(1), alert(2)
    asyncio.run(notifier.notify(first))
    asyncio.run(notifier.notify(second))
    lines = err.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [first.payload(), second.payload()]


def test_console_backend_is_a_readable_panel(clean_env: Path) -> None:
    notifier, err = make_notifier(clean_env, {}, tty=True)
    asyncio.run(notifier.notify(alert()))
    text = err.getvalue()
    assert (
        "Price Alert: AAPL" in text
        and "AAPL is now $185.50 (above $185.00)" in text
        and "Threshold" in text
    )


def test_slack_gets_block_kit_with_a_text_fallback(receiver: Receiver, clean_env: Path) -> None:
    notifier, _ = make_notifier(
        clean_env, {"TTAI_SLACK_WEBHOOK_URL": receiver.url + "/services/T1/B2/xyz"}
    )
    asyncio.run(notifier.notify(alert()))
    body = receiver.requests[0].json()
    assert body["text"] == "Price Alert: AAPL: AAPL is now $185.50 (above $185.00) #0"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert body["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "Price Alert: AAPL",
        "emoji": True,
    }
    assert body["blocks"][1]["text"]["type"] == "mrkdwn"
    assert {"type": "mrkdwn", "text": "*Price*\n$185.50"} in body["blocks"][2]["fields"]
    assert {"type": "mrkdwn", "text": "*Threshold*\nabove $185.00"} in body["blocks"][2]["fields"]


def test_discord_gets_an_embed(receiver: Receiver, clean_env: Path) -> None:
    receiver.script = [Reply(204)]  # Discord answers 204 No Content
    notifier, _ = make_notifier(
        clean_env, {"TTAI_DISCORD_WEBHOOK_URL": receiver.url + "/api/webhooks/1/tok"}
    )
    n = alert()
    asyncio.run(notifier.notify(n))
    body = receiver.requests[0].json()
    (embed,) = body["embeds"]
    assert embed["title"] == "Price Alert: AAPL" and embed["description"].startswith("AAPL is now")
    assert embed["timestamp"] == n.timestamp and isinstance(embed["color"], int)
    assert {"name": "Symbol", "value": "AAPL", "inline": True} in embed["fields"]
    assert receiver.delivered == [n.id]


def test_ntfy_gets_json_publishing_with_priority_and_tags(
    receiver: Receiver, clean_env: Path
) -> None:
    notifier, _ = make_notifier(clean_env, {"TTAI_NTFY_URL": receiver.url + "/my-topic"})
    asyncio.run(notifier.notify(alert()))
    request = receiver.requests[0]
    assert request.path == "/"
    body = request.json()
    assert body["topic"] == "my-topic" and body["title"] == "Price Alert: AAPL"
    assert body["priority"] == 4 and body["tags"] == ["rotating_light"]
    assert body["message"].startswith("AAPL is now $185.50")


def pnl_alert() -> Notification:
    """What `alerts` stores for `QQQ --type pnl profit 50` on a short put (SPEC data)."""
    return Notification(
        "alert_triggered",
        "P&L Alert: QQQ",
        "QQQ short put P&L +95% (target +50%)",
        {
            "symbol": "QQQ",
            "position": "QQQ   261204P00470000",
            "condition": "profit",
            "threshold": 50.0,
            "pnl_percent": 94.53,
            "pnl": 472.5,
            "underlying_price": 482.1,
            "alert_id": 4,
            "type": "pnl",
        },
        created_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
    )


RAW_KEYS = ("Pnl percent", "Alert id", "Dte:", "Type:", "Nlv change", "estimated", "True")


def test_phone_text_shows_what_a_trader_reads_not_raw_fields(
    receiver: Receiver, clean_env: Path
) -> None:
    n = pnl_alert()
    notifier, _ = make_notifier(
        clean_env,
        {
            "TTAI_NTFY_URL": receiver.url + "/topic",
            "TTAI_SLACK_WEBHOOK_URL": receiver.url + "/services/T1/B2/x",
            "TTAI_DISCORD_WEBHOOK_URL": receiver.url + "/api/webhooks/1/t",
            "TTAI_WEBHOOK_URL": receiver.url + "/hook",
        },
    )
    asyncio.run(notifier.notify(n))
    by_path = {r.path: r.json() for r in receiver.requests}
    message = by_path["/"]["message"]
    lines = message.splitlines()
    assert lines[0] == "QQQ short put P&L +95% (target +50%)"
    assert "Option: QQQ 12/4 470P" in lines
    assert "P&L +94.5% (target +50%), +$472.50" in lines
    assert "Underlying: QQQ $482.10" in lines
    assert lines[-1] == "— ttai alert #4", "ids only in the footer"
    slack = by_path["/services/T1/B2/x"]
    fields = [f["text"] for f in slack["blocks"][2]["fields"]]
    assert fields[:2] == ["*Option*\nQQQ 12/4 470P", "*P&L*\n+94.5% (target +50%), +$472.50"]
    assert "alert #4" in slack["blocks"][-1]["elements"][0]["text"]
    (embed,) = by_path["/api/webhooks/1/t"]["embeds"]
    assert {"name": "Underlying", "value": "QQQ $482.10", "inline": True} in embed["fields"]
    assert embed["footer"]["text"] == "ttai · alert_triggered · alert #4"
    for text in (message, json.dumps(slack["blocks"][:3]), json.dumps(embed["fields"])):
        assert not any(raw in text for raw in RAW_KEYS), text
    assert by_path["/hook"]["data"] == n.data, "the webhook keeps every raw field"


def test_phone_text_of_a_dte_alert_says_3_dte() -> None:
    from ttai_cli.notify import formats

    n = Notification(
        "alert_triggered",
        "Expiration Alert: QQQ",
        "QQQ 12/4 470P expires in 3 days",
        {
            "symbol": "QQQ",
            "position": "QQQ   261204P00470000",
            "dte": 3,
            "threshold": 5,
            "expires_at": "2026-12-04T16:00:00-05:00",
            "alert_id": 9,
            "type": "dte",
        },
        created_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
    )
    _, body = formats.ntfy(n, "https://ntfy.sh/t")
    assert body["message"].splitlines()[1:] == [
        "Option: QQQ 12/4 470P",
        "3 DTE (Fri 12/4)",
        "— ttai alert #9",
    ]


def test_phone_text_of_a_briefing_has_no_internal_flags() -> None:
    from ttai_cli.notify import formats

    n = Notification(
        "briefing",
        "Morning briefing",
        "Account\n  Net liq $100,000.00",
        {"kind": "morning", "nlv_change_estimated": True, "net_liquidating_value": 1e5},
    )
    _, body = formats.ntfy(n, "https://ntfy.sh/t")
    assert body["message"] == n.payload()["body"]
    assert formats.slack(n)["blocks"][2]["type"] == "context", "no fields section"
    assert "fields" not in formats.discord(n)["embeds"][0]


def test_monitor_dte_alert_reaches_ntfy_with_the_option_and_its_underlying_price(
    ttai, broker_env, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_NTFY_URL", receiver.url + "/phone")
    # the demo book's covered call: AAPL shares and one call about five weeks out
    assert ttai("alerts", "add", "AAPL", "--type", "dte", "below", "40").code == 0
    result = ttai("monitor", "--ignore-market-hours")
    assert result.code == 0, result.err
    (request,) = [r for r in receiver.requests if r.json()["title"].startswith("Expiration")]
    lines = request.json()["message"].splitlines()
    assert any(line.startswith("Option: AAPL ") and line.endswith("C") for line in lines), lines
    assert any(line.endswith(" DTE") or " DTE (" in line for line in lines), lines
    assert any(line.startswith("Underlying: AAPL $") for line in lines), lines
    assert lines[-1].startswith("— ttai alert #")
    assert not any(raw in "\n".join(lines) for raw in RAW_KEYS)


# -- durability -------------------------------------------------------------------------------
def test_down_then_503_then_up_delivers_each_once_in_order_across_a_restart(
    receiver: Receiver, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = receiver.url + "/hook"
    receiver.stop()  # down: connection refused
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": url})
    # one alert's notifications: their order holds however long the outage lasts
    created = [alert(i, alert_id=7) for i in range(5)]
    for n in created:
        report = asyncio.run(notifier.notify(n))
        assert "webhook" in report.pending
    assert len(notifier.outbox.undelivered()) == 5
    notifier.store.close()  # the process "restarts": the rest happens in fresh processes

    receiver.script = [Reply(503)] * 4
    receiver.start()
    monkeypatch.setenv("TTAI_WEBHOOK_URL", url)
    for _ in range(6):
        flushed = run_subprocess("notify", "flush")
        if flushed.code == 0:
            break
    assert flushed.code == 0, flushed.out + flushed.err
    assert receiver.delivered == [n.id for n in created], "each once, in creation order"
    assert receiver.attempts(created[0].id) == 5  # 4 x 503, then 200
    assert all(receiver.attempts(n.id) == 1 for n in created[1:])
    assert json.loads(run_subprocess("notify", "outbox", "--json").out) == []


def test_sigkill_right_after_storing_the_next_run_delivers(
    receiver: Receiver, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url + "/hook")
    receiver.script = [Reply(503, delay=5)]  # the first send hangs: the process dies during it
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttai_cli", "notify", "send", "--title", "Stored first"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.requests, "the notification was stored and a send began"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    stored_id = receiver.requests[0].json()["id"]
    assert receiver.delivered == []
    assert run_subprocess("notify", "flush").code == 0
    assert receiver.delivered == [stored_id]


def test_order_holds_behind_a_failing_notification(receiver: Receiver, clean_env: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": receiver.url}, clock=clock)
    first, second = alert(1), alert(2)
    receiver.script = [Reply(503)] * 3
    asyncio.run(notifier.notify(first))
    asyncio.run(notifier.notify(second))  # due later: waits behind the first
    assert receiver.delivered == [] and len(receiver.requests) == 3
    clock.advance(3600)
    asyncio.run(notifier.flush())
    assert receiver.delivered == [first.id, second.id]


def test_429_retry_after_2_is_honoured(receiver: Receiver, clean_env: Path) -> None:
    sleep = RecordingSleep()
    receiver.script = [Reply(429, {"Retry-After": "2"})]
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": receiver.url}, sleep=sleep)
    n = alert()
    asyncio.run(notifier.notify(n))
    assert sleep.history == [2.0]
    assert receiver.delivered == [n.id] and receiver.attempts(n.id) == 2


def test_400_is_not_retried_and_shows_as_failed(
    receiver: Receiver, clean_env: Path, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(400, body=b'{"error": "unknown field"}')]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url)
    sent = ttai("notify", "send", "--title", "Bad request", "--body", "x")
    assert sent.code == 0
    assert len(receiver.requests) == 1, "a 400 is never retried"
    flushed = ttai("notify", "flush")
    assert flushed.code == 1, "failed ones remain"
    assert len(receiver.requests) == 1
    rows = json.loads(ttai("notify", "outbox", "--json").out)
    assert [(r["status"], r["attempts"], r["destination"]) for r in rows] == [
        ("failed", 1, "webhook")
    ]
    assert rows[0]["last_error"].startswith("HTTP 400")


def test_outbox_at_80_columns_keeps_created_on_one_line(
    receiver: Receiver, clean_env: Path, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """`Created` was `12-01` over `13:49:16` beside a long error: now `12-01 13:49`."""
    import re

    receiver.script = [Reply(400, body=b'{"error": "unknown field in the payload of this hook"}')]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("COLUMNS", "80")
    title = "AAPL price above $200: breakout above the range high, take profits"
    assert ttai("notify", "send", "--title", title, "--body", "x").code == 0
    listed = ttai("notify", "outbox")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert all(len(line) <= 80 for line in lines), listed.out
    row = next(line for line in lines if "webhook" in line)
    assert re.search(r" \d\d-\d\d \d\d:\d\d  +webhook", row), listed.out


def test_slack_bursts_are_spaced_by_its_rate_limit(receiver: Receiver, clean_env: Path) -> None:
    sleep = RecordingSleep()
    receiver.stop()
    notifier, _ = make_notifier(
        clean_env, {"TTAI_SLACK_WEBHOOK_URL": receiver.url + "/services/a/b/c"}, sleep=sleep
    )
    for i in range(3):
        with notifier.store.transaction() as db:
            notifier.enqueue(db, alert(i))
    receiver.start()
    asyncio.run(notifier.flush())
    assert len(receiver.delivered) == 3
    assert sleep.history == [1.0, 1.0], "one second between Slack messages"


def test_enqueue_with_the_same_key_stores_one_notification(
    clean_env: Path, receiver: Receiver
) -> None:
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": receiver.url})
    with notifier.store.transaction() as db:
        assert notifier.enqueue(db, alert(1), key="alert-7-fired-1")
        assert not notifier.enqueue(db, alert(2), key="alert-7-fired-1")
    asyncio.run(notifier.flush())
    assert len(receiver.delivered) == 1


# -- dead letters: retry and drop ---------------------------------------------------------------
FAILED_LINE = (
    "ttai: 1 notification failed for good (webhook: 1): fix the destination, then run "
    "`ttai notify retry --failed` (or `ttai notify drop --failed` to give up)"
)


def outbox_rows(ttai) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    listed = ttai("notify", "outbox", "--json")
    assert listed.code == 0, listed.err
    return json.loads(listed.out)  # type: ignore[no-any-return]


def test_a_rejected_notification_is_sent_again_by_retry_after_the_url_is_fixed(
    receiver: Receiver, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(400, body=b'{"error": "no such hook"}')]  # then 200
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url + "/wrong")
    assert ttai("notify", "send", "--title", "Filled", "--body", "x").code == 0
    (row,) = outbox_rows(ttai)
    assert row["status"] == "failed" and row["last_error"].startswith("HTTP 400")

    flushed = ttai("notify", "flush")
    assert flushed.code == 1 and flushed.err.splitlines() == [FAILED_LINE]
    monkeypatch.setenv("TASTYTRADE_CLIENT_SECRET", "s")  # doctor: no credentials problem
    monkeypatch.setenv("TASTYTRADE_REFRESH_TOKEN", "r")
    doctor = ttai("doctor", "--offline")
    assert doctor.code == 0, doctor.out + doctor.err  # a warning, not a failure
    assert "warn  outbox         1 notification failed for good (webhook: 1)" in doctor.out

    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url + "/hook")  # the user fixes the URL
    retried = ttai("notify", "retry", row["id"][:8])  # the ID column of `notify outbox`
    assert retried.code == 0, retried.out + retried.err
    assert receiver.delivered == [row["id"]] and receiver.requests[-1].path == "/hook"
    assert outbox_rows(ttai) == []
    assert ttai("notify", "flush").code == 0
    assert "outbox" not in ttai("doctor", "--offline").out


def test_retry_failed_sends_every_failed_one_again_in_creation_order(
    receiver: Receiver, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(400), Reply(400)]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url)
    for title in ("first", "second"):
        assert ttai("notify", "send", "--title", title).code == 0
    ids = [r["id"] for r in outbox_rows(ttai)]
    assert len(ids) == 2 and receiver.delivered == []
    retried = ttai("notify", "retry", "--failed")
    assert retried.code == 0, retried.out
    assert "sent 2, failed for good 0" in retried.out
    assert receiver.delivered == ids


def test_retry_that_is_rejected_again_stays_failed_and_exits_1(
    receiver: Receiver, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(400), Reply(400)]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url)
    ttai("notify", "send", "--title", "still wrong")
    retried = ttai("notify", "retry", "--failed")
    assert retried.code == 1 and retried.err.splitlines()[-1] == FAILED_LINE
    assert [(r["status"], r["attempts"]) for r in outbox_rows(ttai)] == [("failed", 1)]


def test_drop_gives_up_failed_and_pending_notifications(
    receiver: Receiver, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(400)]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url)
    ttai("notify", "send", "--title", "rejected")
    dropped = ttai("notify", "drop", "--failed")
    assert dropped.code == 0 and dropped.out.strip() == "dropped 1 notification"
    assert outbox_rows(ttai) == []
    assert ttai("notify", "flush").code == 0
    receiver.stop()  # down: the next one stays pending; dropping it by id gives it up
    ttai("notify", "send", "--title", "pending")
    (row,) = outbox_rows(ttai)
    assert row["status"] == "pending"
    assert ttai("notify", "drop", row["id"]).out.strip() == "dropped 1 notification"
    assert outbox_rows(ttai) == []
    receiver.start()
    assert ttai("notify", "flush").code == 0
    assert len(receiver.requests) == 1, "a dropped notification is never sent"


@pytest.mark.parametrize("command", ["retry", "drop"])
def test_retry_and_drop_with_an_unknown_id_are_exit_2_and_change_nothing(
    receiver: Receiver, ttai, monkeypatch, command: str
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(400)]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url)
    ttai("notify", "send", "--title", "rejected")
    ttai("notify", "send", "--title", "delivered")
    (failed,) = outbox_rows(ttai)
    delivered = receiver.delivered[0]
    for args, message in (
        ([failed["id"], "nope"], "no failed or pending notification with id nope"),
        ([failed["id"], delivered], f"no failed or pending notification with id {delivered}"),
        ([], "give notification ids (see `ttai notify outbox`) or --failed"),
        ([failed["id"], "--failed"], "give notification ids or --failed, not both"),
    ):
        assert message in one_line_error(ttai("notify", command, *args), 2)
    assert outbox_rows(ttai) == [failed], "all or nothing: the known id was not touched"
    assert len(receiver.requests) == 2


# -- head-of-line blocking ----------------------------------------------------------------------
def test_a_notification_that_keeps_failing_holds_back_only_its_own_alert_after_5_failures(
    receiver: Receiver, clean_env: Path
) -> None:
    clock = FakeClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": receiver.url}, clock=clock)
    poisoned, same_alert, other_alert, own = (
        alert(1, alert_id=1),
        alert(2, alert_id=1),
        alert(3, alert_id=2),
        Notification("info", "from a script", "x"),
    )
    assert order_group(poisoned) == order_group(same_alert) != order_group(other_alert)
    assert order_group(own) is None
    receiver.failing[poisoned.id] = Reply(500)
    asyncio.run(notifier.notify(poisoned))  # 3 tries, then due again in 15 s
    for n in (same_alert, other_alert, own):
        asyncio.run(notifier.notify(n))
    assert receiver.delivered == [], "fewer than 5 failures: the whole order holds"
    clock.advance(61)
    asyncio.run(notifier.flush())  # 3 more tries: 6 failures, due again in 30 s
    assert receiver.delivered == [] and receiver.attempts(poisoned.id) == 6
    clock.advance(20)
    report = asyncio.run(notifier.flush())
    assert receiver.delivered == [other_alert.id, own.id], "independent ones get through"
    assert "webhook" in report.pending, "the poisoned one and its alert's next still wait"
    clock.advance(3600)
    asyncio.run(notifier.flush(force=True))  # still failing: tried once, its alert waits
    assert receiver.attempts(poisoned.id) == 7 and same_alert.id not in receiver.delivered
    del receiver.failing[poisoned.id]
    clock.advance(3600)
    asyncio.run(notifier.flush())
    assert receiver.delivered == [other_alert.id, own.id, poisoned.id, same_alert.id]
    assert receiver.attempts(same_alert.id) == 1, "one alert's notifications keep their order"


def test_when_the_one_after_a_failing_notification_fails_too_the_flush_stops(
    receiver: Receiver, clean_env: Path
) -> None:
    clock = FakeClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC))
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": receiver.url}, clock=clock)
    created = [alert(i, alert_id=i) for i in range(4)]
    receiver.failing[created[0].id] = Reply(503)
    for n in created:
        with notifier.store.transaction() as db:
            notifier.enqueue(db, n)
    asyncio.run(notifier.flush(force=True))
    asyncio.run(notifier.flush(force=True))  # the first has failed 6 times now
    assert receiver.attempts(created[0].id) == 6 and len(receiver.requests) == 6
    receiver.script = [Reply(503)] * 3  # the destination is down for the others too
    asyncio.run(notifier.flush(force=True))
    assert receiver.attempts(created[0].id) == 7, "one try per flush once it keeps failing"
    assert receiver.attempts(created[1].id) == 3, "the next one gets its usual tries"
    assert receiver.attempts(created[2].id) == 0, "two failures in a row: the flush stops"
    assert receiver.delivered == []


# -- configuration and secrets ------------------------------------------------------------------
def test_backend_selection(clean_env: Path) -> None:
    tty, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": "http://127.0.0.1:1/x"}, tty=True)
    assert [o.kind for o in tty.locals] == ["console"] and tty.active == ["webhook"]
    piped, _ = make_notifier(clean_env, {}, tty=False)
    assert [o.kind for o in piped.locals] == ["stderr"] and piped.active == []
    none, _ = make_notifier(
        clean_env, {"TTAI_NOTIFICATION_BACKEND": "none", "TTAI_WEBHOOK_URL": "http://x/y"}
    )
    assert none.locals == [] and none.active == []
    with pytest.raises(ConfigError, match="includes slack but TTAI_SLACK_WEBHOOK_URL is not set"):
        make_notifier(clean_env, {"TTAI_NOTIFICATION_BACKEND": "stderr,slack"})


def test_destination_urls_and_tokens_never_show(receiver: Receiver, ttai, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    secret_path = "/services/T0SeKrIt1/B0SeKrIt2/XXSeKrIt3XX"
    monkeypatch.setenv("TTAI_SLACK_WEBHOOK_URL", receiver.url + secret_path)
    monkeypatch.setenv("TTAI_NTFY_URL", receiver.url + "/topicSeKrIt4")
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url + "/hook?token=SeKrIt5")
    outputs = []
    for args in (
        ["-vv", "notify", "test"],
        ["notify", "outbox"],
        ["--demo", "doctor", "--offline"],
    ):
        result = ttai(*args)
        outputs.append(result.out + result.err)
    receiver.stop()  # now every delivery fails: the errors must not show URLs either
    for args in (
        ["-vv", "notify", "test"],
        ["-vv", "--log-format", "json", "notify", "flush"],
        ["notify", "outbox", "--json"],
    ):
        result = ttai(*args)
        outputs.append(result.out + result.err)
    text = "\n".join(outputs)
    assert "SeKrIt" not in text
    assert "/services/T…/***" in text
    home_db = b"".join(p.read_bytes() for p in Path.cwd().parent.joinpath("home").glob("*.db*"))
    assert b"SeKrIt" not in home_db


def test_a_rejection_page_that_echoes_the_secret_path_is_masked(
    receiver: Receiver, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # like Express's default 404 page, which quotes the request line back
    receiver.script = [Reply(404, body=b"<pre>Cannot POST /hook/SeKrIt9?token=SeKrIt5</pre>")]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url + "/hook/SeKrIt9?token=SeKrIt5")
    tested = ttai("-vv", "notify", "test")
    rows = json.loads(ttai("notify", "outbox", "--json").out)
    assert rows[0]["status"] == "failed"
    assert rows[0]["last_error"] == "HTTP 404 <pre>Cannot POST ***?token=***</pre>"
    assert "SeKrIt" not in tested.out + tested.err + json.dumps(rows)
    home_db = b"".join(p.read_bytes() for p in Path.cwd().parent.joinpath("home").glob("*.db*"))
    assert b"SeKrIt" not in home_db


@pytest.mark.parametrize(
    "url",
    # (no scheme at all is refused up front: see the config-error test below)
    ["http://127.0.0.1:99999/hook/x", "http:///hook"],
    ids=["port-out-of-range", "no-host"],
)
def test_a_mistyped_destination_url_keeps_notifications_pending(
    clean_env: Path, receiver: Receiver, url: str
) -> None:
    notifier, _ = make_notifier(
        clean_env, {"TTAI_WEBHOOK_URL": url, "TTAI_SLACK_WEBHOOK_URL": receiver.url + "/s/a/b"}
    )
    n = alert()
    report = asyncio.run(notifier.notify(n))
    assert report.pending["webhook"].startswith("the webhook URL ")
    assert receiver.delivered == [n.id], "the other destinations still get it"
    row = notifier.store.db.execute(
        "SELECT status FROM deliveries WHERE destination = 'webhook'"
    ).fetchone()
    assert row[0] == "pending"


def test_doctor_names_a_mistyped_destination_url(ttai, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", "http://127.0.0.1:99999/hook/SeKrIt")
    result = ttai("--demo", "doctor", "--offline")
    assert "TTAI_WEBHOOK_URL is not a valid URL (check the port)" in result.out
    assert "SeKrIt" not in result.out + result.err


def test_notify_test_with_backend_none_sends_nowhere(ttai, monkeypatch, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_NOTIFICATION_BACKEND", "none")
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receiver.url + "/hook")
    ttai("notify", "test")
    assert receiver.requests == []
    assert json.loads(ttai("notify", "outbox", "--json").out) == []
    ttai("notify", "test", "--backend", "webhook")  # asked for by name: sent
    assert len(receiver.requests) == 1


def test_apprise_delivers_through_its_json_scheme(receiver: Receiver, clean_env: Path) -> None:
    pytest.importorskip("apprise")
    notifier, _ = make_notifier(
        clean_env, {"TTAI_APPRISE_URLS": f"json://127.0.0.1:{receiver.port}/apprise"}
    )
    asyncio.run(notifier.notify(alert()))
    (request,) = receiver.requests
    assert request.path == "/apprise" and request.json()["title"] == "Price Alert: AAPL"


def test_later_retries_wait_15s_30s_1min_by_failed_flushes_up_to_30min() -> None:
    from ttai_cli.services.notifications import DeliveryPolicy

    policy = DeliveryPolicy()
    assert [policy.later(n) for n in (1, 3, 4, 6, 9)] == [15, 15, 30, 30, 60]
    assert policy.later(300) == 1800


def test_destination_url_without_http_scheme_is_a_config_error_naming_the_variable(
    ttai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTAI_SLACK_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/secretpart")
    result = ttai("notify", "flush")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip() == "ttai: TTAI_SLACK_WEBHOOK_URL must start with http:// or https://"
    assert "secretpart" not in result.err


def test_notifications_waiting_for_a_destination_without_url_are_warned_of_once(
    receiver: Receiver, clean_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`1 notifications wait for webhook` came twice in a row (one per flush): now once
    per count, in the singular for one."""
    sender, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    with sender.store.transaction() as db:
        sender.enqueue(db, alert(1))
    notifier, _ = make_notifier(clean_env, {"TTAI_NOTIFICATION_BACKEND": "stderr"})
    with caplog.at_level("WARNING", logger="ttai"):
        asyncio.run(notifier.flush())
        asyncio.run(notifier.flush())
    said = [r.getMessage() for r in caplog.records if "no URL" in r.getMessage()]
    assert said == ["1 notification waits for webhook, which has no URL configured"]
