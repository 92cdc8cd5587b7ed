"""Notification routes and quiet hours (config.toml `[notify]`), against real local
receivers: one receiver per destination, so each request is seen where it landed."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.fakes import FakeClock, RecordingSleep, VirtualClock
from tests.receiver import Receiver, Reply
from tests.test_cli import one_line_error
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.errors import ConfigError
from ttai_cli.jobs.base import Job, RunContext
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.notify.models import Notification
from ttai_cli.scheduling.options import ScheduleOptions
from ttai_cli.scheduling.schedules import Daily, Schedule
from ttai_cli.services.notifications import DeliveryPolicy, Notifier
from ttai_cli.services.scheduling import DaemonOptions, SchedulingService
from ttai_cli.store import open_store
from ttai_cli.store.jobs import JobsRepository

QUIET = '[notify]\nquiet_hours = "22:00-07:00"\n'


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    """A receiver per remote destination: webhook, ntfy, slack."""
    started = {name: Receiver().start() for name in ("webhook", "ntfy", "slack")}
    yield started
    for receiver in started.values():
        receiver.stop()


def urls(receivers: dict[str, Receiver]) -> dict[str, str]:
    return {
        "TTAI_WEBHOOK_URL": receivers["webhook"].url + "/hook",
        "TTAI_NTFY_URL": receivers["ntfy"].url + "/ttai-topic",
        "TTAI_SLACK_WEBHOOK_URL": receivers["slack"].url + "/services/T1/B2/xyz",
    }


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


def make_notifier(
    home: Path,
    env: dict[str, str],
    clock: FakeClock | VirtualClock,
    *,
    tty: bool = False,
) -> tuple[Notifier, io.StringIO]:
    """A notifier reading `$home/config.toml` (when written) and `env`, on `clock`."""
    settings = load_settings(environ={"TTAI_HOME": str(home), **env})
    home.mkdir(parents=True, exist_ok=True)
    err = io.StringIO()
    notifier = Notifier(
        settings,
        open_store(settings.database_path),
        clock,
        policy=DeliveryPolicy(jitter=lambda low, high: high),
        sleep=RecordingSleep(),
        stderr=lambda: err,
        stderr_is_tty=tty,
    )
    return notifier, err


def alert(n: int = 0) -> Notification:
    return Notification(
        "alert_triggered",
        "Price Alert: AAPL",
        f"AAPL is now $185.50 (above $185.00) #{n}",
        {"symbol": "AAPL", "alert_id": 7, "current_price": 185.5},
    )


def fill(order_id: int = 1) -> Notification:
    return Notification(
        "order_filled",
        "Filled: sold 1 SPY 12/19 560P",
        "Order filled at $2.15",
        {"order_id": order_id, "status": "Filled", "legs": [], "underlying_symbol": "SPY"},
    )


def briefing() -> Notification:
    return Notification("briefing", "Morning briefing", "NLV $100,000", {"kind": "morning"})


def info() -> Notification:
    return Notification("info", "ttai note", "something to know", {})


def delivered(receivers: dict[str, Receiver]) -> dict[str, list[str]]:
    return {name: list(r.delivered) for name, r in receivers.items()}


def send_all(notifier: Notifier, *notifications: Notification) -> None:
    for notification in notifications:
        asyncio.run(notifier.notify(notification))


# -- routes -------------------------------------------------------------------------------------
def test_routes_deliver_each_type_only_to_its_backends(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(
        clean_env,
        '[notify.routes]\nbriefing = ["slack"]\nalert_triggered = ["ntfy", "webhook"]\n'
        'order_filled = ["ntfy"]\n',
    )
    notifier, _ = make_notifier(clean_env, urls(receivers), FakeClock(ny("2026-03-10 11:00")))
    a, b, f, i = alert(), briefing(), fill(), info()
    send_all(notifier, a, b, f, i)
    assert delivered(receivers) == {
        "webhook": [a.id, i.id],  # `info` has no route: every destination, as without routes
        "ntfy": [a.id, f.id, i.id],
        "slack": [b.id, i.id],
    }
    slack = receivers["slack"].requests[0].json()
    assert slack["blocks"][0]["text"]["text"] == "Morning briefing", "each in its own format"
    assert receivers["ntfy"].requests[0].json()["topic"] == "ttai-topic"


def test_star_route_is_the_default_for_types_without_their_own(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(clean_env, '[notify.routes]\n"*" = ["webhook"]\nbriefing = ["slack", "ntfy"]\n')
    notifier, _ = make_notifier(clean_env, urls(receivers), FakeClock(ny("2026-03-10 11:00")))
    a, b, f = alert(), briefing(), fill()
    send_all(notifier, a, b, f)
    assert delivered(receivers) == {"webhook": [a.id, f.id], "ntfy": [b.id], "slack": [b.id]}


def test_an_empty_route_stores_the_notification_without_sending_it(
    receivers: dict[str, Receiver], clean_env: Path, ttai
) -> None:  # type: ignore[no-untyped-def]
    write_config(clean_env, '[notify.routes]\nbriefing = []\nposition_update = ["none"]\n')
    notifier, err = make_notifier(clean_env, urls(receivers), FakeClock(ny("2026-03-10 11:00")))
    b = briefing()
    p = Notification("position_update", "Closed SPY", "closed", {"symbol": "SPY"})
    send_all(notifier, b, p)
    assert all(not r.requests for r in receivers.values())
    assert err.getvalue() == "", "not printed either: the route names no local output"
    stored = notifier.store.db.execute(
        "SELECT n.id, COUNT(d.seq) FROM notifications n LEFT JOIN deliveries d ON d.seq = n.seq "
        "GROUP BY n.id"
    ).fetchall()
    assert sorted(tuple(r) for r in stored) == sorted([(b.id, 0), (p.id, 0)]), "in the record"
    assert "The outbox is empty" in ttai("notify", "outbox").out


def test_routes_choose_local_outputs_unless_a_person_watches_a_terminal(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(
        clean_env,
        '[notify.routes]\nalert_triggered = ["webhook"]\nbriefing = ["stderr", "slack"]\n',
    )
    clock = FakeClock(ny("2026-03-10 11:00"))
    piped, err = make_notifier(clean_env, urls(receivers), clock)
    a, b = alert(1), briefing()
    send_all(piped, a, b)
    assert [json.loads(line)["id"] for line in err.getvalue().splitlines()] == [b.id]
    terminal, screen = make_notifier(clean_env, urls(receivers), clock, tty=True)
    send_all(terminal, alert(2), briefing())
    shown = screen.getvalue()
    assert "Price Alert: AAPL" in shown and "Morning briefing" in shown, "console shows all"
    assert "{" not in shown, "the console's panels, not stderr's JSON lines"
    assert receivers["webhook"].delivered[-1] != b.id, "remote routes hold on a terminal too"


def test_a_route_to_a_backend_without_its_url_is_exit_2_naming_the_key(
    receivers: dict[str, Receiver], clean_env: Path, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    write_config(clean_env, '[notify]\n[notify.routes]\n"*" = ["webhook"]\nbriefing = ["slack"]\n')
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receivers["webhook"].url)
    config = clean_env / "config.toml"
    for args in (["notify", "send", "--title", "hi"], ["--demo", "alerts", "check"]):
        line = one_line_error(ttai(*args), 2)
        assert line == (
            f"ttai: {config} line 4: notify.routes.briefing: slack has no URL "
            "(TTAI_SLACK_WEBHOOK_URL is not set); set it or take it out of the route"
        )
    assert all(not r.requests for r in receivers.values()), "nothing ran"
    doctor = ttai("--demo", "doctor", "--offline")
    assert doctor.code == 0, doctor
    text = " ".join(doctor.out.split())  # the table may fold long lines
    assert (
        f"warn route briefing -> slack ({config} line 4): points nowhere, "
        "TTAI_SLACK_WEBHOOK_URL not set" in text
    )
    # muted by the environment: the routes are moot, nothing is an error
    monkeypatch.setenv("TTAI_NOTIFICATION_BACKEND", "none")
    assert ttai("notify", "send", "--title", "hi").code == 0
    assert all(not r.requests for r in receivers.values())


def test_commands_that_send_nothing_work_with_a_route_to_a_backend_without_its_url(
    clean_env: Path, ttai
) -> None:  # type: ignore[no-untyped-def]
    """`notify outbox` and `briefing eod --print-only` exited 2 with `notify.routes.briefing:
    ntfy has no URL`: only what sends refuses; what reads (or only prints) works."""
    write_config(clean_env, '[notify.routes]\nbriefing = ["ntfy"]\n"*" = ["stderr"]\n')
    missing = "notify.routes.briefing: ntfy has no URL (TTAI_NTFY_URL is not set)"
    for args in (
        ["notify", "outbox"],
        ["notify", "outbox", "--json"],
        ["notify", "drop", "--failed"],
        ["briefing", "eod", "--print-only"],
        ["ask", "How is my portfolio doing?", "--no-notify"],
        ["status"],
        ["alerts", "list"],
        ["doctor", "--offline"],
    ):
        result = ttai("--demo", *args)
        assert result.code == 0, (args, result)
        assert "has no URL" not in result.err, args
    brief = ttai("--demo", "briefing", "eod", "--print-only")
    assert "(printed only)" in brief.err and "End-of-day briefing" in brief.out
    assert "points nowhere, TTAI_NTFY_URL not set" in " ".join(
        ttai("--demo", "doctor", "--offline").out.split()
    ), "doctor warns"
    for args in (
        ["notify", "flush"],
        ["notify", "test"],
        ["notify", "retry", "--failed"],
        ["briefing", "eod"],
        ["briefing", "eod", "--print-only", "--loop", "--max-runs", "1"],  # notifies failures
        ["ask", "How is my portfolio doing?"],
        ["sync"],
    ):
        assert missing in one_line_error(ttai("--demo", *args), 2), args


def stderr_payloads(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["ask", "How is my portfolio doing?"], "agent_report"),
        (["briefing", "eod"], "briefing"),
    ],
    ids=["ask", "briefing"],
)
def test_a_route_to_stderr_prints_what_the_command_printed_too(
    clean_env: Path, ttai, args: list[str], kind: str
) -> None:  # type: ignore[no-untyped-def]
    """`agent_report = ["stderr"]` printed nothing on stderr: `ttai ask` prints its answer
    on stdout, and skipped the local outputs; a route naming one is asked for it."""
    unrouted = ttai("--demo", *args)
    assert unrouted.code == 0, unrouted
    assert stderr_payloads(unrouted.err) == [], "no route: the answer on stdout is enough"
    write_config(clean_env, f'[notify.routes]\n{kind} = ["stderr"]\n')
    routed = ttai("--demo", *args)
    assert routed.code == 0, routed
    (payload,) = stderr_payloads(routed.err)
    assert payload["notification_type"] == kind and routed.out.strip()
    assert str(payload["body"]).split()[0] in routed.out


def test_notification_backend_none_mutes_routes_too(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(clean_env, '[notify.routes]\n"*" = ["webhook", "stderr"]\n')
    env = {**urls(receivers), "TTAI_NOTIFICATION_BACKEND": "none"}
    notifier, err = make_notifier(clean_env, env, FakeClock(ny("2026-03-10 11:00")))
    send_all(notifier, alert(), fill())
    assert all(not r.requests for r in receivers.values()) and err.getvalue() == ""


def test_notify_test_goes_to_every_routed_destination_even_in_quiet_hours(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(
        clean_env, QUIET + '[notify.routes]\nbriefing = ["slack", "stderr"]\n"*" = ["ntfy"]\n'
    )
    # the webhook URL is set but nothing is routed to it: not part of the test
    notifier, err = make_notifier(clean_env, urls(receivers), FakeClock(ny("2026-03-10 23:30")))
    results = asyncio.run(notifier.send_test())
    assert results == {"stderr": "printed", "slack": "arrived", "ntfy": "arrived"}
    assert [len(r.delivered) for r in receivers.values()] == [0, 1, 1], "not held at 23:30"
    assert json.loads(err.getvalue())["title"] == "ttai test notification"
    assert asyncio.run(notifier.send_test("webhook")) == {"webhook": "arrived"}, "asked for"


# -- quiet hours --------------------------------------------------------------------------------
def test_quiet_hours_hold_an_alert_and_pass_a_fill_then_deliver_it_once_after(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(clean_env, QUIET)
    hook = receivers["webhook"]
    clock = FakeClock(ny("2026-03-10 23:15"))
    notifier, err = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": hook.url}, clock)
    held = alert()
    asyncio.run(notifier.notify(held))
    assert hook.requests == [], "held: no phone buzzes at 23:15"
    assert json.loads(err.getvalue())["id"] == held.id, "the process's own output prints at once"
    clock.advance(60)
    later_fill = fill()
    report = asyncio.run(notifier.notify(later_fill))
    assert hook.delivered == [later_fill.id], "the fill passes the held alert at once"
    assert report.held == 1 and report.held_from == ny("2026-03-11 07:00")
    delivery = notifier.outbox.delivery(held.id, "webhook")
    assert delivery is not None and delivery.status == "pending" and delivery.attempts == 0
    assert delivery.held_until == ny("2026-03-11 07:00")

    clock.set(ny("2026-03-11 06:59:59"))
    asyncio.run(notifier.flush(force=True))  # `force` skips retry waits, never quiet hours
    assert hook.attempts(held.id) == 0, "still held, and no attempt spent"
    clock.set(ny("2026-03-11 07:00"))
    report = asyncio.run(notifier.flush())
    assert hook.delivered == [later_fill.id, held.id] and report.held == 0
    for _ in range(2):
        asyncio.run(notifier.flush(force=True))
    assert hook.attempts(held.id) == 1, "delivered exactly once"
    assert notifier.outbox.undelivered() == []


def test_quiet_allow_lets_named_types_through_and_outside_the_window_all_go(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(clean_env, QUIET + 'quiet_allow = ["alert_triggered"]\n')
    hook = receivers["webhook"]
    clock = FakeClock(ny("2026-03-10 02:00"))
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": hook.url}, clock)
    a, f = alert(), fill()
    send_all(notifier, a, f)
    assert hook.delivered == [a.id], "the list replaces the default: now the fill waits"
    clock.set(ny("2026-03-10 07:00"))
    b = briefing()
    send_all(notifier, b)
    assert hook.delivered == [a.id, f.id, b.id], "after the window: the held one first"


def test_held_notifications_go_in_their_order_after_the_window(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(clean_env, QUIET)
    hook = receivers["webhook"]
    clock = FakeClock(ny("2026-03-10 22:00"))
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": hook.url}, clock)
    night = [alert(1), fill(1), info(), alert(2), fill(2)]
    for n in night:
        asyncio.run(notifier.notify(n))
        clock.advance(600)
    assert hook.delivered == [night[1].id, night[4].id]
    clock.set(ny("2026-03-11 07:00"))
    morning = alert(3)
    asyncio.run(notifier.notify(morning))
    assert hook.delivered == [
        night[1].id,
        night[4].id,
        night[0].id,
        night[2].id,
        night[3].id,
        morning.id,
    ]


def test_a_destination_down_at_the_end_of_the_window_retries_as_usual(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    write_config(clean_env, QUIET)
    hook = receivers["webhook"]
    clock = FakeClock(ny("2026-03-10 23:00"))
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": hook.url}, clock)
    held = alert()
    asyncio.run(notifier.notify(held))
    clock.set(ny("2026-03-11 07:00"))
    hook.script = [Reply(503)] * 3
    report = asyncio.run(notifier.flush())
    assert hook.attempts(held.id) == 3 and report.pending == {"webhook": "HTTP 503"}
    clock.advance(15)
    asyncio.run(notifier.flush())
    assert hook.delivered == [held.id]


@pytest.mark.parametrize(
    ("evening", "release_utc"),
    [
        # spring forward (Sunday 8 March 2026, 02:00 -> 03:00): an 8-hour night
        ("2026-03-07 23:00", datetime(2026, 3, 8, 11, 0, tzinfo=UTC)),
        # fall back (Sunday 1 November 2026, 02:00 -> 01:00): a 10-hour night
        ("2026-10-31 23:00", datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_across_a_dst_change_release_at_seven_local(
    receivers: dict[str, Receiver], clean_env: Path, evening: str, release_utc: datetime
) -> None:
    write_config(clean_env, QUIET)
    hook = receivers["webhook"]
    clock = FakeClock(ny(evening))
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": hook.url}, clock)
    held = alert()
    asyncio.run(notifier.notify(held))
    delivery = notifier.outbox.delivery(held.id, "webhook")
    assert delivery is not None and delivery.held_until == release_utc
    assert f"{release_utc.astimezone(NEW_YORK):%H:%M}" == "07:00"
    clock.set(release_utc - timedelta(seconds=1))
    asyncio.run(notifier.flush())
    assert hook.requests == []
    clock.set(release_utc)
    asyncio.run(notifier.flush())
    assert hook.delivered == [held.id]


def test_held_times_compare_as_instants_to_the_microsecond(store) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.store.outbox import Outbox

    release = ny("2026-03-11 07:00")
    with store.transaction() as db:
        Outbox.add(db, alert(), ["webhook"], held_until=release)
    outbox = Outbox(store)
    for now, held in (
        (release - timedelta(microseconds=1), 1),
        (release, 0),
        (release + timedelta(microseconds=1), 0),
        (release.astimezone(UTC) - timedelta(seconds=1), 1),  # any offset: an instant
    ):
        assert outbox.held(now)[0] == held, now
        assert outbox.released(now) == 1 - held, now
        assert outbox.destinations_with_pending(now) == ([] if held else ["webhook"]), now
    assert outbox.held(release - timedelta(hours=1))[1:] == (release, release)


def test_quiet_hours_turned_off_let_go_of_what_they_held_at_the_next_flush(
    receivers: dict[str, Receiver], clean_env: Path
) -> None:
    """The trader turned quiet hours off (TTAI_QUIET_HOURS=off) and `notify flush` still
    said `3 notifications held by quiet hours until 14:30`: held deliveries follow the
    configuration in force, not the one they were held by."""
    write_config(clean_env, '[notify]\nquiet_hours = "12:00-14:30"\n')
    hook = receivers["webhook"]
    clock = FakeClock(ny("2026-03-10 12:05"))
    env = {"TTAI_WEBHOOK_URL": hook.url}
    quiet, _ = make_notifier(clean_env, env, clock)
    night = [alert(1), briefing(), info()]
    send_all(quiet, *night)
    assert hook.requests == [] and quiet.outbox.held(clock.now())[0] == 3

    clock.advance(60)
    loud, _ = make_notifier(clean_env, {**env, "TTAI_QUIET_HOURS": "off"}, clock)
    (listed,) = {loud.held_until(d, clock.now()) for d in loud.outbox.undelivered()}
    assert listed is None, "`notify outbox` no longer shows them held"
    report = asyncio.run(loud.flush(force=True))
    assert hook.delivered == [n.id for n in night], "in their order"
    assert report.held == 0 and report.sent == 3
    asyncio.run(loud.flush(force=True))
    assert [hook.attempts(n.id) for n in night] == [1, 1, 1], "once"


@pytest.mark.parametrize(
    ("edited", "goes_at"),
    [
        ('quiet_hours = "22:00-05:00"', "2026-03-11 05:00"),  # ends earlier: 05:00
        ('quiet_hours = "22:00-09:00"', "2026-03-11 09:00"),  # ends later: held to 09:00
        ('quiet_hours = "22:00-07:00"\nquiet_allow = ["alert_triggered"]', "2026-03-11 00:00"),
    ],
    ids=["window shortened", "window lengthened", "type allowed through"],
)
def test_held_deliveries_follow_the_quiet_hours_as_edited(
    receivers: dict[str, Receiver], clean_env: Path, edited: str, goes_at: str
) -> None:
    write_config(clean_env, QUIET)
    hook = receivers["webhook"]
    clock = FakeClock(ny("2026-03-10 23:00"))
    env = {"TTAI_WEBHOOK_URL": hook.url}
    before, _ = make_notifier(clean_env, env, clock)
    held = alert()
    send_all(before, held)
    assert before.outbox.delivery(held.id, "webhook").held_until == ny("2026-03-11 07:00")  # type: ignore[union-attr]

    write_config(clean_env, f"[notify]\n{edited}\n")
    clock.set(ny("2026-03-11 00:00"))
    after, _ = make_notifier(clean_env, env, clock)
    for moment in ("2026-03-11 00:00", "2026-03-11 04:59", "2026-03-11 05:00", "2026-03-11 07:00"):
        clock.set(max(ny(moment), clock.now()))
        asyncio.run(after.flush(force=True))
        if hook.delivered:
            break
    if ny(goes_at) <= ny("2026-03-11 07:00"):
        assert hook.delivered == [held.id] and clock.now() == ny(goes_at)
    else:
        assert hook.delivered == [], "held to the new end, past the old one"
        delivery = after.outbox.delivery(held.id, "webhook")
        assert delivery is not None and delivery.held_until == ny(goes_at)
        clock.set(ny(goes_at))
        asyncio.run(after.flush())
        assert hook.delivered == [held.id]
    assert hook.attempts(held.id) == 1


def quiet_now(home: Path) -> tuple[datetime, datetime]:
    """Quiet hours around the real time (the commands' clock): from an hour ago to two
    hours from now, New York wall clock. Returns (now, when the window ends)."""
    now = datetime.now(NEW_YORK).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    write_config(home, f'[notify]\nquiet_hours = "{start:%H:%M}-{end:%H:%M}"\n')
    return now, end


# -- the commands -------------------------------------------------------------------------------
def test_outbox_shows_held_with_the_time_and_flush_exits_0_while_only_held_wait(
    receivers: dict[str, Receiver], clean_env: Path, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    now, release = quiet_now(clean_env)
    hook = receivers["webhook"]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", hook.url)
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": hook.url}, FakeClock(now))
    held = alert()
    asyncio.run(notifier.notify(held))

    listing = ttai("notify", "outbox")
    row = next(line for line in listing.out.splitlines() if held.id[:8] in line)
    assert f"held {release:%H:%M}" in row and "webhook" in row
    (entry,) = json.loads(ttai("notify", "outbox", "--json").out)
    assert entry["status"] == "held" and entry["attempts"] == 0
    assert datetime.fromisoformat(entry["held_until"]) == release
    assert entry["held_until"].endswith(("-04:00", "-05:00")), "New York time"

    flushed = ttai("notify", "flush")
    assert flushed.code == 0, flushed
    assert f"1 notification held by quiet hours until {release:%H:%M} New York time" in flushed.out
    assert hook.requests == []

    retried = ttai("notify", "retry", held.id[:8])  # named: asked for now
    assert retried.code == 0, retried
    assert hook.delivered == [held.id]
    assert "The outbox is empty" in ttai("notify", "outbox").out


def test_notify_flush_with_quiet_hours_off_sends_what_they_held(
    receivers: dict[str, Receiver], clean_env: Path, ttai, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    now, _ = quiet_now(clean_env)
    hook = receivers["webhook"]
    monkeypatch.setenv("TTAI_WEBHOOK_URL", hook.url)
    notifier, _ = make_notifier(clean_env, {"TTAI_WEBHOOK_URL": hook.url}, FakeClock(now))
    held = [alert(1), alert(2), briefing()]
    send_all(notifier, *held)
    assert "3 notifications held" in ttai("notify", "flush").out

    monkeypatch.setenv("TTAI_QUIET_HOURS", "off")
    listing = json.loads(ttai("notify", "outbox", "--json").out)
    assert [(e["status"], e["held_until"]) for e in listing] == [("pending", None)] * 3
    flushed = ttai("notify", "flush")
    assert flushed.code == 0, flushed
    assert "held by quiet hours" not in flushed.out and "sent 3," in flushed.out
    assert hook.delivered == [n.id for n in held]


def test_doctor_lists_routes_and_quiet_hours(clean_env: Path, ttai) -> None:  # type: ignore[no-untyped-def]
    write_config(clean_env, QUIET + '[notify.routes]\nbriefing = []\n"*" = ["stderr"]\n')
    out = ttai("--demo", "doctor", "--offline").out
    assert "briefing -> none (stored, not sent)" in out
    assert "* -> stderr" in out and "22:00-07:00 New York" in out


def test_a_notifier_refuses_a_route_to_a_backend_without_its_url(clean_env: Path) -> None:
    write_config(clean_env, '[notify.routes]\nbriefing = ["slack"]\n')
    with pytest.raises(ConfigError, match=r"line 2: notify\.routes\.briefing: slack has no URL"):
        make_notifier(clean_env, {}, FakeClock(ny("2026-03-10 11:00")))


class WaitsForTheOpen(Job):
    """A daemon job with nothing to do before 09:30 (like every job before the open)."""

    name = "waits"

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        return Daily(time(9, 30))

    async def run(self, ctx: RunContext) -> str | None:
        return "ran"


def test_ttai_run_with_quiet_hours_delivers_at_their_end_before_any_job_runs(
    receivers: dict[str, Receiver], clean_env: Path, store
) -> None:  # type: ignore[no-untyped-def]
    write_config(clean_env, QUIET)
    hook = receivers["webhook"]
    clock = VirtualClock(ny("2026-03-11 06:30"))
    settings = load_settings(environ={"TTAI_HOME": str(clean_env), "TTAI_WEBHOOK_URL": hook.url})
    notifier = Notifier(settings, store, clock, stderr=io.StringIO, stderr_is_tty=False)
    service = SchedulingService(settings, clock, store=store)
    held = alert()
    seen: dict[str, list[str]] = {}

    async def morning() -> int:
        await notifier.notify(held)
        stop = asyncio.Event()
        daemon = asyncio.ensure_future(
            service.run_jobs(
                [WaitsForTheOpen()],
                ScheduleOptions(),
                daemon=DaemonOptions(),
                stop=stop,
                max_chunk=3600,
            )
        )
        await clock.drive(ny("2026-03-11 06:59:59"), lambda: 2)
        seen["06:59:59"] = list(hook.delivered)
        seen["asleep"] = [str(clock.asleep())]
        await clock.drive(ny("2026-03-11 07:01"), lambda: 2)
        seen["07:01"] = list(hook.delivered)
        stop.set()
        return await daemon

    assert asyncio.run(morning()) == 0
    assert seen == {"06:59:59": [], "asleep": ["2"], "07:01": [held.id]}
    assert hook.attempts(held.id) == 1
    assert JobsRepository(store).history("waits", 5) == [], "no job ran: the daemon delivered"


def test_metrics_count_held_notifications_as_held(tmp_path: Path, ttai) -> None:
    """`ttai_outbox_notifications{status="held"}`: what quiet hours hold is neither
    pending (about to go) nor failed."""
    from prometheus_client.parser import text_string_to_metric_families

    from ttai_cli.services.exposition import ExpositionService
    from ttai_cli.store import open_store

    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text('[notify]\nquiet_hours = "22:00-07:00"\n')
    settings = load_settings(
        environ={
            "TTAI_HOME": str(home),
            "TTAI_NOTIFICATION_BACKEND": "webhook",
            "TTAI_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        }
    )
    night = FakeClock(datetime(2026, 3, 10, 23, 0, tzinfo=NEW_YORK))
    store = open_store(settings.database_path)
    notifier = Notifier(settings, store, night, stderr_is_tty=False)
    with store.transaction() as db:
        notifier.enqueue(db, Notification("alert_triggered", "Price Alert: SPY", "SPY is up"))
    text = ExpositionService(store, night, destinations=["webhook"]).text()
    samples = {
        s.labels["status"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "ttai_outbox_notifications"
        for s in family.samples
    }
    assert samples == {"pending": 0, "held": 1, "failed": 0}


def test_briefing_with_notification_backend_stderr_writes_its_json_line(
    clean_env: Path, ttai, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """TTAI_NOTIFICATION_BACKEND=stderr: a briefing logged `(notified)` and wrote nothing
    on stderr (alerts did): the JSON line is a machine interface, not a second copy."""
    monkeypatch.setenv("TTAI_NOTIFICATION_BACKEND", "stderr")
    result = ttai("--demo", "briefing", "morning")
    assert result.code == 0, result
    (payload,) = stderr_payloads(result.err)
    assert payload["notification_type"] == "briefing" and "To do:" in str(payload["body"])
    assert "Morning briefing" in result.out, "the panel for the person, on stdout"
    assert "(notified)" in result.err


def test_briefing_held_by_quiet_hours_says_held_until_not_notified(
    clean_env: Path, ttai, monkeypatch: pytest.MonkeyPatch, receivers: dict[str, Receiver]
) -> None:  # type: ignore[no-untyped-def]
    # a window around the real time the command runs at (it reads the system clock)
    now = datetime.now(NEW_YORK)
    start, end = now - timedelta(hours=2), now + timedelta(hours=2)
    write_config(clean_env, f'[notify]\nquiet_hours = "{start:%H:%M}-{end:%H:%M}"\n')
    monkeypatch.setenv("TTAI_NOTIFICATION_BACKEND", "stderr,webhook")
    monkeypatch.setenv("TTAI_WEBHOOK_URL", receivers["webhook"].url + "/hook")
    result = ttai("--demo", "briefing", "morning")
    assert result.code == 0, result
    assert f"(held until {end:%H:%M})" in result.err and "(notified)" not in result.err
    assert receivers["webhook"].requests == [], "held"
    (payload,) = stderr_payloads(result.err)  # the local output prints at once
    assert payload["notification_type"] == "briefing"
