"""`--ping URL` and `[jobs.NAME] ping`: healthchecks.io pings against a real local receiver."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.fakes import FakeClock, RecordingJob
from tests.receiver import Receiver, Reply
from tests.test_cli import one_line_error
from tests.test_schedule import make_runner, ny, schedule_for
from ttai_cli.config import load_settings
from ttai_cli.errors import TtaiError
from ttai_cli.scheduling.catch_up import catch_up
from ttai_cli.scheduling.schedules import Schedule
from ttai_cli.services.pings import PING_TIMEOUT, Pinger, ping_url

CHECK = "/5f1c0e2a-check"  # a healthchecks.io-like UUID path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def pings(receiver: Receiver) -> list[tuple[str, str]]:
    """(path, body) of every ping that arrived, in order."""
    return [(r.path, r.body.decode()) for r in receiver.requests]


def paths(receiver: Receiver) -> list[str]:
    return [r.path for r in receiver.requests]


def closed_port() -> int:
    """A local port nobody listens on: a ping to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinger_for(clock: FakeClock, **kwargs: float) -> Pinger:
    return Pinger(clock, **kwargs)


# -- the convention ---------------------------------------------------------------------------
def test_ping_urls_follow_the_healthchecks_convention() -> None:
    assert ping_url("https://hc-ping.com/abc", "start") == "https://hc-ping.com/abc/start"
    assert ping_url("https://hc-ping.com/abc", "success") == "https://hc-ping.com/abc"
    assert ping_url("https://hc-ping.com/k/slug?create=1", "fail") == (
        "https://hc-ping.com/k/slug/fail?create=1"
    ), "a query string stays at the end"
    assert PING_TIMEOUT == 5.0, "SPEC: a ping never delays the job more than 5 s"


# -- through the real CLI -----------------------------------------------------------------------
def test_good_run_pings_start_then_success(ttai, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    url = receiver.url + CHECK
    result = ttai("--demo", "alerts", "check", "--ignore-market-hours", "--ping", url)
    assert result.code == 0, result.err
    assert paths(receiver) == [f"{CHECK}/start", CHECK]
    start, success = pings(receiver)
    assert start[1].startswith("alerts: run for ") and start[1].endswith(" started")
    assert success[1].startswith("alerts: ok in ") and "alerts checked" in success[1]
    assert receiver.requests[0].headers["user-agent"].startswith("ttai/")


def test_failing_run_pings_start_then_fail_with_the_error_line(ttai, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    url = receiver.url + CHECK
    result = ttai(
        "run",
        "--ignore-market-hours",
        "--ping",
        url,
        "--name",
        "nightly",
        "--",
        "sh",
        "-c",
        "exit 3",
    )
    assert result.code == 1, "the job's own exit code, pings or not"
    assert paths(receiver) == [f"{CHECK}/start", f"{CHECK}/fail"]
    body = pings(receiver)[1][1]
    assert body.startswith("nightly: error after ") and body.endswith(": sh failed: exit code 3")


def test_paused_job_pings_success_with_the_reason(ttai, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    url = receiver.url + CHECK
    assert ttai("run", "--ignore-market-hours", "--name", "nightly", "--", "true").code == 0
    assert ttai("pause", "nightly").code == 0
    result = ttai("run", "--ignore-market-hours", "--ping", url, "--name", "nightly", "--", "true")
    assert result.code == 0
    assert pings(receiver) == [(CHECK, "nightly: skipped: paused (ttai resume nightly)")]


def test_a_day_left_out_by_days_pings_success_not_start(ttai, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.clock import NEW_YORK

    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    today = datetime.now(NEW_YORK).weekday()
    other = names[(today + 3) % 7]
    args = ["run", "--ignore-market-hours", "--days", other, "--ping", receiver.url + CHECK]
    result = ttai(*args, "--name", "weekly", "--", "true")
    assert result.code == 0
    print(pings(receiver))
    ((path, body),) = pings(receiver)
    assert path == CHECK and body.startswith(f"weekly: skipped: not on {other} (")


def test_dead_ping_url_changes_no_exit_code(ttai) -> None:  # type: ignore[no-untyped-def]
    dead = f"http://127.0.0.1:{closed_port()}{CHECK}"
    started = time.monotonic()
    ok = ttai("run", "--ignore-market-hours", "--ping", dead, "--", "true")
    failed = ttai("run", "--ignore-market-hours", "--ping", dead, "--", "sh", "-c", "exit 3")
    assert (ok.code, failed.code) == (0, 1)
    assert time.monotonic() - started < 3.0
    warnings = [line for line in ok.err.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, "warned once per URL, then quietly until it works again"
    assert "connection refused (the job goes on)" in warnings[0]
    assert CHECK.strip("/") not in ok.err + failed.err, "the check's UUID is a secret"


def test_ping_answered_with_5xx_is_logged_and_changes_nothing(ttai, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(status=500), Reply(status=503)]
    result = ttai("run", "--ignore-market-hours", "--ping", receiver.url + CHECK, "--", "true")
    assert result.code == 0
    assert paths(receiver) == [f"{CHECK}/start", CHECK], "tried once each, no retry storm"
    assert "failed: HTTP 500 (the job goes on)" in result.err


def test_slug_ping_url_masks_the_key_not_the_job_name(ttai, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    key = "k3yq0p9Wz1x2c3v4b5n6"  # healthchecks.io: https://hc-ping.com/<ping key>/<slug>
    url = f"{receiver.url}/{key}/alerts"
    result = ttai("--demo", "alerts", "check", "--ignore-market-hours", "--ping", url)
    assert result.code == 0
    assert paths(receiver) == [f"/{key}/alerts/start", f"/{key}/alerts"]
    assert pings(receiver)[0][1].startswith("alerts: run for "), "the job's name, unmasked"
    assert "alerts: ok in " in result.err
    assert key not in result.err


def test_config_ping_is_used_and_the_command_line_wins(
    ttai, receiver: Receiver, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    clean_env.mkdir(parents=True, exist_ok=True)
    (clean_env / "config.toml").write_text(f'[jobs.alerts]\nping = "{receiver.url}{CHECK}"\n')
    assert ttai("--demo", "alerts", "check", "--ignore-market-hours").code == 0
    assert paths(receiver) == [f"{CHECK}/start", CHECK]
    other = "/0d9e-other-check"
    result = ttai(
        "--demo", "alerts", "check", "--ignore-market-hours", "--ping", receiver.url + other
    )
    assert result.code == 0
    assert paths(receiver)[2:] == [f"{other}/start", other]


def test_command_job_ping_from_cmd_name_in_config(
    ttai, receiver: Receiver, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    clean_env.mkdir(parents=True, exist_ok=True)
    (clean_env / "config.toml").write_text(
        f'[jobs."cmd:nightly"]\nping = "{receiver.url}{CHECK}"\n'
    )
    assert ttai("run", "--ignore-market-hours", "--name", "nightly", "--", "true").code == 0
    assert paths(receiver) == [f"{CHECK}/start", CHECK]
    assert ttai("run", "--ignore-market-hours", "--name", "other", "--", "true").code == 0
    assert len(receiver.requests) == 2, "another job has no ping"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alerts", "check", "--ping", "hc-ping.com/abc"], "--ping must start with http://"),
        (["sync", "--ping", "ftp://example.com/x"], "--ping must start with http://"),
        (["briefing", "morning", "--ping", "https://"], "--ping has no host name"),
        (["run", "--ping", "nope", "--", "true"], "--ping must start with http://"),
        (["stream", "--ping", "nope"], "--ping must start with http://"),
        (["monitor", "--ping", "http://host:99999/x"], "--ping is not a valid URL"),
    ],
    ids=["no-scheme", "ftp", "no-host", "run", "stream", "bad-port"],
)
def test_bad_ping_url_is_one_line_exit_2(ttai, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    assert message in one_line_error(ttai(*args), 2)


def test_catch_up_with_nothing_due_pings_success(ttai, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.clock import NEW_YORK

    later = datetime.now(NEW_YORK) + timedelta(hours=2)
    args = ["run", "--schedule", f"{later:%H:%M}", "--catch-up", "--grace", "1m"]
    result = ttai(*args, "--ignore-market-hours", "--ping", receiver.url + CHECK, "--", "true")
    assert result.code == 0
    print(pings(receiver))
    ((path, body),) = pings(receiver)
    assert path == CHECK and body.startswith("cmd:true:") and ": nothing due: " in body


def test_several_jobs_ping_the_process_check_and_their_own(
    ttai, receiver: Receiver, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    clean_env.mkdir(parents=True, exist_ok=True)
    (clean_env / "config.toml").write_text(f'[jobs.alerts]\nping = "{receiver.url}/alerts-check"\n')
    process = "/process-check"
    result = ttai(
        "--demo",
        "run",
        "alerts",
        "monitor",
        "--ignore-market-hours",
        "--ping",
        receiver.url + process,
    )
    assert result.code == 0, result.err
    got = paths(receiver)
    assert [p for p in got if p.startswith(process)] == [f"{process}/start", process]
    assert [p for p in got if p.startswith("/alerts")] == ["/alerts-check/start", "/alerts-check"]
    assert got[0] == f"{process}/start" and got[-1] == process
    assert pings(receiver)[-1][1] == "ttai run: done"


# -- the engine with an injected clock -------------------------------------------------------
class EverySlot(Schedule):
    """A finite grid: `count` slots `period` seconds apart from `start`."""

    def __init__(self, start: datetime, period: float, count: int) -> None:
        self.slots = [start + timedelta(seconds=period * k) for k in range(count)]

    def first(self, now: datetime) -> datetime | None:
        return next((s for s in self.slots if s >= now), None)

    def after(self, slot: datetime) -> datetime | None:
        return next((s for s in self.slots if s > slot), None)

    def describe(self) -> str:
        return f"{len(self.slots)} slots"


def test_guard_skips_through_a_closed_night_ping_once_per_5_minutes(
    store, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-15 10:00")  # a Sunday: NYSE closed all day
    clock = FakeClock(start)
    job = RecordingJob("alerts", market_aware=True)
    schedule = EverySlot(start, 30, 120)  # an hour, every 30 s
    pinger = pinger_for(clock)
    runner = make_runner(
        store, clock, job, schedule, guard=True, max_chunk=30.0,
        pings=pinger.for_job("alerts", receiver.url + CHECK),
    )  # fmt: skip
    asyncio.run(runner.run())
    assert job.history == [], "nothing ran"
    assert paths(receiver) == [CHECK] * 12, "120 skipped slots, one success ping per 5 min"
    assert {body for _, body in pings(receiver)} == {"alerts: skipped: market closed: Sunday"}


def test_long_wait_pings_waiting_every_5_minutes_then_runs(store, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 08:00")
    clock = FakeClock(start)
    job = RecordingJob("briefing-morning")
    schedule = schedule_for(store, start, at="9:30am")
    pinger = pinger_for(clock)
    runner = make_runner(
        store, clock, job, schedule, max_chunk=60.0,
        pings=pinger.for_job("briefing-morning", receiver.url + CHECK),
    )  # fmt: skip
    asyncio.run(runner.run())
    got = pings(receiver)
    waits = [body for path, body in got if "waiting" in body]
    assert len(waits) == 17, "every 5 min from 08:05 to 09:25"
    assert waits[0] == "briefing-morning: waiting for the next run at 2026-03-10 09:30 EDT"
    assert [path for path, _ in got[-2:]] == [f"{CHECK}/start", CHECK]


def test_secrets_are_never_in_a_ping_body(store, receiver: Receiver, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    load_settings(
        environ={
            "TTAI_HOME": str(clean_env),
            "TASTYTRADE_CLIENT_SECRET": CANARY_SECRET,
            "TASTYTRADE_REFRESH_TOKEN": CANARY_REFRESH,
            "TTAI_WEBHOOK_URL": "https://hooks.example.com/hook/SECRETPATH123",
        }
    )  # registers the secrets with the redactor, as every command does

    class Leaky(RecordingJob):
        async def run(self, ctx: object) -> str:
            raise TtaiError(
                f"login failed\nrefresh {CANARY_REFRESH} secret {CANARY_SECRET} "
                "posting to https://hooks.example.com/hook/SECRETPATH123"
            )

    start = ny("2026-03-10 10:00")
    clock = FakeClock(start)
    runner = make_runner(
        store, clock, Leaky("leaky"), schedule_for(store, start),
        pings=pinger_for(clock).for_job("leaky", receiver.url + CHECK),
    )  # fmt: skip
    asyncio.run(runner.run())
    assert paths(receiver) == [f"{CHECK}/start", f"{CHECK}/fail"]
    body = pings(receiver)[1][1]
    assert body.startswith("leaky: error after ") and body.endswith("posting to ***")
    assert "refresh *** secret ***" in body, "the last line of the error, redacted"
    for secret in (CANARY_REFRESH, CANARY_SECRET, "SECRETPATH123", "login failed"):
        assert secret not in body


def test_hung_receiver_holds_the_job_no_longer_than_the_cap(store, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    receiver.script = [Reply(delay=3.0), Reply(delay=3.0)]
    start = ny("2026-03-10 10:00")
    clock = FakeClock(start)
    job = RecordingJob("alerts")
    runner = make_runner(
        store, clock, job, schedule_for(store, start),
        pings=pinger_for(clock, timeout=0.2).for_job("alerts", receiver.url + CHECK),
    )  # fmt: skip
    began = time.monotonic()
    outcome = asyncio.run(runner.run())
    elapsed = time.monotonic() - began
    assert outcome.runs == 1 and outcome.exit_code == 0 and len(job.history) == 1
    assert elapsed < 1.0, f"two pings of at most 0.2 s each, took {elapsed:.2f}s"


def test_run_cancelled_by_a_stop_sends_no_end_ping(store, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.jobs.command import CommandJob

    start = ny("2026-03-10 10:00")
    clock = FakeClock(start)
    job = CommandJob(["sleep", "5"], "sleeper")
    stop = asyncio.Event()
    pinger = Pinger(clock, stop)

    async def scenario() -> float:
        runner = make_runner(
            store, clock, job, schedule_for(store, start), stop_grace=2.0,
            pings=pinger.for_job("sleeper", receiver.url + CHECK),
        )  # fmt: skip
        runner.stop = stop
        task = asyncio.ensure_future(runner.run())
        while not receiver.requests:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        began = time.monotonic()
        stop.set()
        await task
        return time.monotonic() - began

    assert asyncio.run(scenario()) < 2.0
    assert paths(receiver) == [f"{CHECK}/start"], "stopped: neither success nor failure"


def test_catch_up_on_a_closed_day_pings_success_with_the_reason(store, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-15 10:00")  # Sunday
    clock = FakeClock(start)
    job = RecordingJob("sync", market_aware=True)
    schedule = schedule_for(store, start, at="9:30am", catch_up=True)
    pings_ = pinger_for(clock).for_job("sync", receiver.url + CHECK)
    runner = make_runner(store, clock, job, schedule, guard=True, pings=pings_)
    asyncio.run(catch_up(runner, timedelta(hours=1)))
    assert pings(receiver) == [(CHECK, "sync: skipped: market closed: Sunday")]


def test_a_long_run_with_liveness_keeps_the_check_alive(store, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 09:30")
    clock = FakeClock(start)

    class Streaming(RecordingJob):
        """Healthy for two keep-alive checks, then not; the run ends after the third."""

        asked = 0

        def liveness(self) -> str | None:
            self.asked += 1
            return "streaming: market feed connected" if self.asked <= 2 else None

        async def run(self, ctx: object) -> str:
            while self.asked < 3:
                await asyncio.sleep(0.005)
            return "session over"

    runner = make_runner(
        store, clock, Streaming("stream"), schedule_for(store, start),
        pings=pinger_for(clock).for_job("stream", receiver.url + CHECK),
    )  # fmt: skip
    asyncio.run(runner.run())
    got = pings(receiver)
    assert [p for p, _ in got] == [f"{CHECK}/start", CHECK, CHECK, CHECK], "none while unhealthy"
    assert got[1][1] == got[2][1] == "stream: streaming: market feed connected"
    assert got[3][1].startswith("stream: ok in ") and got[3][1].endswith("session over")


def test_process_check_of_several_jobs_fails_while_a_job_keeps_failing(
    store, receiver: Receiver, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes import VirtualClock
    from ttai_cli.scheduling.options import ScheduleOptions
    from ttai_cli.services.scheduling import FAILURES_BEFORE_ALERT, SchedulingService

    clock = VirtualClock(ny("2026-03-10 10:00"))
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    clean_env.mkdir(parents=True, exist_ok=True)

    class Failing(RecordingJob):
        async def run(self, ctx: object) -> str:
            raise TtaiError("tastytrade unreachable")

    jobs = [RecordingJob("good"), Failing("bad")]
    service = SchedulingService(settings, clock, store=store)
    options = ScheduleOptions(every=timedelta(minutes=10), ping=receiver.url + CHECK)
    stop = asyncio.Event()

    async def hour() -> int:
        running = asyncio.ensure_future(
            service.run_jobs(jobs, options, stop=stop, max_chunk=86400)  # type: ignore[arg-type]
        )
        await clock.drive(ny("2026-03-10 10:59:30"), lambda: len(jobs) + 1)
        stop.set()
        return await running

    assert asyncio.run(hour()) == 0, "stopped by a signal: 0"
    got = pings(receiver)
    assert got[0] == (f"{CHECK}/start", "ttai run: good, bad")
    ticks = got[1:]
    assert len(ticks) == 59, "one a minute, none after the stop"
    # bad runs at 10:00, 10:10, 10:20: its third failure makes the `error` notification
    assert FAILURES_BEFORE_ALERT == 3
    assert all(path == CHECK for path, _ in ticks[:19]), "10:01 .. 10:19: all well"
    assert all(path == f"{CHECK}/fail" for path, _ in ticks[20:])
    assert ticks[-1][1] == "bad failed 6 times in a row: tastytrade unreachable"


def test_stream_liveness_is_healthy_only_while_its_feeds_are_up(store, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.jobs.context import JobContext
    from ttai_cli.jobs.stream import LIVENESS_GRACE, StreamJob

    clock = FakeClock(ny("2026-03-10 10:00"))
    settings = load_settings(environ={"TTAI_HOME": str(clean_env)})
    job = StreamJob(JobContext(settings, store, clock, lambda: None))  # type: ignore[arg-type,return-value]
    assert job.liveness() is None, "not streaming"
    job.health.reset(clock.now())
    job.health.market.up(clock.now())
    job.health.account.up(clock.now())
    job.health.market.events = 42
    assert job.liveness() == (
        "streaming: market feed connected, 42 events; account feed connected, 0 events"
    )
    job.health.account.down(clock.now(), "dropped")
    clock.advance(LIVENESS_GRACE - 1)
    assert job.liveness() == (
        "streaming: market feed connected, 42 events; account feed reconnecting, 0 events"
    )
    clock.advance(2)
    assert job.liveness() is None, "down longer than a reconnect takes: the check hears nothing"
    job.health.account.up(clock.now())
    job.health.market.down(clock.now(), None)
    job.health.market.idle = True
    assert job.liveness() == (
        "streaming: market feed idle (nothing to watch); account feed connected, 0 events"
    )


def test_one_off_on_a_full_disk_pings_fail_with_the_disk_full_line_and_exits_1(
    ttai, receiver: Receiver, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.test_storage import demo_db, fill_file

    assert ttai("-q", "--demo", "monitor", "--ignore-market-hours").code == 0
    monkeypatch.setenv("TTAI_DB_MAX_PAGES", str(fill_file(demo_db(clean_env), "monitor")))
    args = ("-q", "--demo", "monitor", "--ignore-market-hours", "--ping", receiver.url + CHECK)
    line = one_line_error(ttai(*args), 1)
    assert line.startswith("ttai: disk full: "), line
    # whether the claim or the run's start met the full disk first, the check hears why at
    # once (a /start, if the run began, then the /fail), not after its grace
    *before, (path, body) = pings(receiver)
    assert [p for p, _ in before] in ([], [f"{CHECK}/start"])
    assert path == f"{CHECK}/fail"
    assert body == "monitor: ended by an error: " + line.removeprefix("ttai: ")


def test_loop_stopped_by_a_moved_database_pings_fail_with_the_reason(
    clean_env: Path, tmp_path: Path, receiver: Receiver
) -> None:
    from tests.test_split_brain import MovingJob, _service
    from ttai_cli.errors import DatabaseMoved
    from ttai_cli.scheduling.options import ScheduleOptions

    service, store = _service(clean_env)
    job = MovingJob(store.path, tmp_path / "elsewhere.db")
    url = receiver.url + CHECK
    options = ScheduleOptions(
        every=timedelta(minutes=1), max_runs=5, ignore_market_hours=True, ping=url
    )
    with pytest.raises(DatabaseMoved):
        asyncio.run(service.run_jobs([job], options, stop=asyncio.Event(), max_chunk=3600))
    # the run that moved it ended well; the loop then stops before its next run, and the
    # check hears why at once rather than after its grace
    assert paths(receiver) == [f"{CHECK}/start", CHECK, f"{CHECK}/start", CHECK, f"{CHECK}/fail"]
    body = pings(receiver)[-1][1]
    assert body.startswith("mover: ended by an error: database moved: "), body
