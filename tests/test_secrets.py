"""A canary secret in the credentials never reaches stdout, stderr or the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer

COMMANDS = [
    ["--help"],
    ["--version"],
    ["positions", "--live"],
    ["positions", "--live", "--json"],
    ["balances", "--live"],
    ["balances", "--live", "--json"],
    ["quote", "AAPL", "SPY"],
    ["quote", "ZZZZ"],
    ["quote", "--json", "AAPL"],
    ["doctor"],
    ["doctor", "--offline", "--json"],
    ["positions", "--bogus"],
]
LOGGING = [[], ["-vv"], ["-vv", "--log-format", "json"]]


def database_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.glob("*.db*")))


def assert_clean(text: str | bytes) -> None:
    for canary in (CANARY_SECRET, CANARY_REFRESH):
        needle = canary.encode() if isinstance(text, bytes) else canary
        assert needle not in text


@pytest.mark.parametrize("logging_args", LOGGING, ids=["default", "debug", "json"])
def test_canary_never_leaks_on_success(
    ttai, broker_env: RunningServer, clean_env: Path, logging_args: list[str]
) -> None:  # type: ignore[no-untyped-def]
    seen = 0
    for command in COMMANDS:
        result = ttai(*logging_args, *command)
        assert_clean(result.out)
        assert_clean(result.err)
        seen += bool(result.out or result.err)
    assert seen == len(COMMANDS)
    assert database_bytes(clean_env), "commands created the database"
    assert_clean(database_bytes(clean_env))


@pytest.mark.parametrize("fault", ["invalid_grant", "status", "malformed", "unauthorized"])
def test_canary_never_leaks_on_failure(
    ttai,
    broker_env: RunningServer,
    sim: SimulatedTastytrade,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_API_ATTEMPTS", "1")  # no backoff waits: failures are what we want
    for command in COMMANDS:
        sim.faults.clear()
        sim.faults.add(fault, None, times=20, status=500)
        result = ttai("-vv", *command)
        assert "Traceback" not in result.err
        assert_clean(result.out)
        assert_clean(result.err)
    assert_clean(database_bytes(clean_env))


def test_canary_in_an_unexpected_error_message_is_redacted(
    ttai, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # The secret doubles as a bogus API URL: whatever error mentions it must mask it.
    monkeypatch.setenv("TASTYTRADE_CLIENT_SECRET", CANARY_SECRET)
    monkeypatch.setenv("TASTYTRADE_REFRESH_TOKEN", CANARY_REFRESH)
    monkeypatch.setenv("TTAI_API_URL", f"http://{CANARY_SECRET}.invalid")
    monkeypatch.setenv("TTAI_API_ATTEMPTS", "1")
    result = ttai("-vv", "balances", "--live")
    assert result.code == 1
    assert_clean(result.err)
    assert "***" in result.err


URL_CANARY = "urltoken9x7q2w"
EVERY_COMMAND = [
    ["--help"],
    ["--version"],
    ["doctor"],
    ["doctor", "--offline"],
    ["market", "status"],
    ["market", "calendar"],
    ["quote", "AAPL"],
    ["positions", "--live"],
    ["balances", "--live"],
    ["sync"],
    ["positions"],
    ["balances"],
    ["alerts", "add", "AAPL", "above", "1", "--note", "canary check"],
    ["alerts", "list", "--json"],
    ["alerts", "check", "--ignore-market-hours"],
    ["monitor", "--ignore-market-hours"],
    ["briefing", "morning"],
    ["briefing", "eod", "--print-only"],
    ["briefing", "weekly"],
    ["watch"],
    ["notify", "test"],
    ["notify", "send", "--title", "hello", "--body", "world"],
    ["notify", "outbox", "--json"],
    ["notify", "flush"],
    ["status"],
    ["status", "--json"],
    ["pause", "monitor"],
    ["resume", "monitor"],
    ["run", "--ignore-market-hours", "--", "true"],
    ["run", "--every", "1m", "--dry-run", "--", "true"],
    ["alerts", "remove", "1"],
    ["cron"],
    ["systemd"],
]


def test_canary_over_every_command_log_format_and_backend(
    ttai, broker_env: RunningServer, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.receiver import Receiver

    receiver = Receiver().start()
    try:
        base = receiver.url
        monkeypatch.setenv(
            "TTAI_NOTIFICATION_BACKEND", "console,stderr,webhook,slack,discord,ntfy,apprise"
        )
        monkeypatch.setenv("TTAI_WEBHOOK_URL", f"{base}/hook?token={URL_CANARY}")
        monkeypatch.setenv("TTAI_SLACK_WEBHOOK_URL", f"{base}/services/T0/B0/{URL_CANARY}")
        monkeypatch.setenv("TTAI_DISCORD_WEBHOOK_URL", f"{base}/api/webhooks/1/{URL_CANARY}")
        monkeypatch.setenv("TTAI_NTFY_URL", f"{base}/{URL_CANARY}")
        monkeypatch.setenv("TTAI_APPRISE_URLS", f"json://127.0.0.1:{receiver.port}/{URL_CANARY}")
        texts: list[str] = []
        for log_args in ([], ["-vv", "--log-format", "json"]):
            for command in EVERY_COMMAND:
                result = ttai(*log_args, *command)
                assert "Traceback" not in result.err, (command, result.err)
                texts += [result.out, result.err]
        bodies = [r.body.decode(errors="replace") for r in receiver.requests]
        assert len(bodies) >= 10, "every backend was exercised"
        # ntfy's JSON publishing names the topic (its URL's secret) to ntfy itself: fine
        foreign = [b for b in bodies if '"topic"' not in b]
        for text in texts + bodies:
            assert_clean(text)
        for text in texts + foreign:
            assert URL_CANARY not in text
        data = database_bytes(clean_env)
        assert_clean(data)
        assert URL_CANARY.encode() not in data
    finally:
        receiver.stop()


SLACK_KEY = "XXXXXXXXXXXXXXXXXXXXXXXX"


def test_plain_word_in_a_notification_url_does_not_censor_log_lines(
    ttai, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """An ntfy topic `ttai` and Slack's `T000`/`B000` are words, not keys: the logger name
    `ttai.notify` stays readable; the Slack key and each whole URL are masked."""
    from tests.receiver import Receiver
    from ttai_cli.logs import redact

    receiver = Receiver().start()
    try:
        ntfy = f"{receiver.url}/ttai"
        slack = f"{receiver.url}/services/T000/B000/{SLACK_KEY}"
        monkeypatch.setenv("TTAI_NOTIFICATION_BACKEND", "ntfy,slack")
        monkeypatch.setenv("TTAI_NTFY_URL", ntfy)
        monkeypatch.setenv("TTAI_SLACK_WEBHOOK_URL", slack)
        result = ttai("--demo", "-vv", "notify", "test")
        assert "Traceback" not in result.err, result.err
        assert "ttai.notify" in result.err and "***.notify" not in result.err
        assert SLACK_KEY not in result.err + result.out
        assert redact(f"POST {ntfy} and POST {slack}") == "POST *** and POST ***"
        assert redact(f"POST /services/T000/B000/{SLACK_KEY}") == "POST ***"
        assert redact("T000 B000 ttai /ttai") == "T000 B000 ttai /ttai"
    finally:
        receiver.stop()
