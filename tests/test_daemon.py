"""The daemon (`ttai run`), deployment (systemd, cron) and living under nohup / systemd."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET, run_subprocess
from tests.fakes import FakeClock, RecordingJob, VirtualClock
from tests.test_broker import make_broker
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.sharing import QuoteCache
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.jobs import JOB_NAMES, create_job
from ttai_cli.jobs.context import JobContext
from ttai_cli.jobs.records import BriefingJob, SyncJob
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.market.guard import MarketGuard
from ttai_cli.scheduling.catch_up import catch_up
from ttai_cli.scheduling.engine import Runner
from ttai_cli.scheduling.options import ScheduleOptions, build_schedule
from ttai_cli.scheduling.policy import Policy
from ttai_cli.scheduling.schedules import Schedule
from ttai_cli.services.scheduling import DaemonOptions, SchedulingService
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import serve
from ttai_cli.store.alerts import AlertsRepository
from ttai_cli.store.jobs import JobsRepository

REPO = Path(__file__).resolve().parent.parent


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


class CrashOnce(Schedule):
    """A schedule with a bug: it raises once, at `at`, then behaves."""

    def __init__(self, inner: Schedule, at: datetime) -> None:
        self.inner, self.at, self.crashed = inner, at, False

    def first(self, start: datetime) -> datetime | None:
        return self.inner.first(start)

    def after(self, slot: datetime) -> datetime | None:
        if not self.crashed and slot >= self.at:
            self.crashed = True
            raise RuntimeError("injected crash")
        return self.inner.after(slot)

    def describe(self) -> str:
        return "crashes once"


class CrashingSync(SyncJob):
    crash: CrashOnce | None = None

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        inner = super().default_schedule(calendar)
        assert inner is not None
        if CrashingSync.crash is None:
            CrashingSync.crash = CrashOnce(inner, ny("2026-03-13 11:00"))
        return CrashingSync.crash


def test_daemon_runs_a_simulated_trading_day(store, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock(ny("2026-03-13 08:00"))  # a Friday: the weekly review too
    sim = SimulatedTastytrade(
        any_symbol=True,
        seed=3,
        now=clock.now,
        client_secret=CANARY_SECRET,
        refresh_token=CANARY_REFRESH,
    )
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    clean_env.mkdir(parents=True, exist_ok=True)
    for symbol in ("AAPL", "SPY", "QQQ"):
        AlertsRepository(store).add(parse_alert(symbol, "price", "above", "100000"), clock.now())
    with serve(sim) as server:
        context = JobContext(
            settings,
            store,
            clock,
            lambda: make_broker(server),
            QuoteCache(ttl=5, monotonic=clock.monotonic),
        )
        # the polling jobs' day on a virtual clock (the stream's real sockets: test_stream.py)
        polling = [n for n in JOB_NAMES if n not in ("sync", "stream")]
        jobs = [create_job(n, context) for n in polling] + [
            CrashingSync(context, every=timedelta(minutes=30))
        ]
        for job in jobs:  # shorter cadences keep the simulated day quick; the logic is the same
            if job.name == "monitor":
                job.cadence = timedelta(minutes=10)
            elif job.name == "alerts":
                job.cadence = timedelta(minutes=5)
        service = SchedulingService(settings, clock, store=store)
        stop = asyncio.Event()

        async def day() -> int:
            daemon = asyncio.ensure_future(
                service.run_jobs(
                    jobs, ScheduleOptions(), daemon=DaemonOptions(), stop=stop, max_chunk=86400
                )
            )
            await clock.drive(ny("2026-03-13 17:30"), lambda: len(jobs))
            stop.set()
            return await daemon

        assert asyncio.run(day()) == 0

    repo = JobsRepository(store)
    runs = {s.job: s for s in repo.statuses()}
    # 09:30 .. 15:50 every 10 min, every 5 min; sync: every 30 min while open + 16:05
    assert runs["monitor"].runs == 39 and runs["alerts"].runs == 78
    # sync crashed while picking up its 11:00 slot, restarted 1 s later and resumed with
    # that slot: all 14 ran (every 30 min while open, then 16:05)
    synced = [f"{r.slot:%H:%M}" for r in reversed(repo.history("sync", 50)) if r.slot]
    assert synced == [
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "12:00",
        "12:30",
        "13:00",
        "13:30",
        "14:00",
        "14:30",
        "15:00",
        "15:30",
        "16:05",
    ]
    assert runs["sync"].restarts == 1, "the crash was survived, once"
    assert runs["monitor"].errors == runs["alerts"].errors == runs["sync"].errors == 0
    morning = [r for r in repo.history("briefing-morning") if r.result == "ok"]
    eod = [r for r in repo.history("briefing-eod") if r.result == "ok"]
    weekly = [r for r in repo.history("briefing-weekly") if r.result == "ok"]
    assert [r.slot for r in morning] == [ny("2026-03-13 09:30")]
    assert [r.slot for r in eod] == [ny("2026-03-13 16:00")]
    assert [r.slot for r in weekly] == [ny("2026-03-13 17:00")]
    kinds = [
        r[0]
        for r in store.db.execute(
            "SELECT json_extract(data, '$.kind') FROM notifications WHERE type = 'briefing'"
        )
    ]
    assert sorted(kinds) == ["eod", "morning", "weekly"]
    # monitor and alerts are due together every 10 minutes: each symbol fetched once per instant
    fetched: Counter[tuple[datetime, str]] = Counter()
    for exchange in sim.requests_to("/market-data/by-type"):
        for symbols in exchange.query.values():
            for symbol in symbols:
                fetched[(exchange.at, symbol)] += 1  # type: ignore[index]
    assert fetched and max(fetched.values()) == 1, "no duplicate quote requests"
    assert len(sim.requests_to("/oauth/token")) <= 2, "one shared login, not one per run"


def test_daemon_with_ignore_market_hours_runs_at_open_market_cadences_on_a_closed_evening(
    store, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock(ny("2026-03-10 20:00"))  # a Tuesday evening: NYSE closed
    sim = SimulatedTastytrade(
        any_symbol=True,
        seed=3,
        now=clock.now,
        client_secret=CANARY_SECRET,
        refresh_token=CANARY_REFRESH,
    )
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    clean_env.mkdir(parents=True, exist_ok=True)
    AlertsRepository(store).add(parse_alert("AAPL", "price", "above", "100000"), clock.now())
    options = ScheduleOptions(ignore_market_hours=True)
    with serve(sim) as server:
        context = JobContext(settings, store, clock, lambda: make_broker(server))
        jobs = [create_job(n, context) for n in JOB_NAMES if n != "stream"]
        service = SchedulingService(settings, clock, store=store)
        stop = asyncio.Event()

        async def evening() -> int:
            daemon = asyncio.ensure_future(
                service.run_jobs(jobs, options, daemon=DaemonOptions(), stop=stop, max_chunk=3600)
            )
            await clock.drive(ny("2026-03-10 20:10"), lambda: len(jobs))
            for status in JobsRepository(store).statuses():  # while it runs: the next runs
                if status.job in ("monitor", "alerts", "sync"):
                    assert status.next_run_at is not None
                    assert status.next_run_at <= ny("2026-03-10 20:15"), status
            stop.set()
            return await daemon

        assert asyncio.run(evening()) == 0
    repo = JobsRepository(store)
    ran = {
        job: [f"{r.slot:%H:%M:%S}" for r in reversed(repo.history(job, 50)) if r.result == "ok"]
        for job in JOB_NAMES
    }
    assert ran["monitor"] == [f"20:{m:02d}:00" for m in range(11)], "every 60 s from 20:00"
    assert ran["alerts"] == [f"20:{s // 60:02d}:{s % 60:02d}" for s in range(0, 601, 30)]
    assert ran["sync"] == ["20:00:00", "20:05:00", "20:10:00"], "every 5 minutes"
    assert ran["briefing-morning"] == ran["briefing-eod"] == ran["briefing-weekly"] == []


def test_daemon_when_closed_and_ignore_market_hours_conflict(ttai) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli import one_line_error

    line = one_line_error(ttai("--demo", "run", "--ignore-market-hours", "--when-closed", "5m"), 2)
    assert "--when-closed and --ignore-market-hours conflict" in line


def test_sync_loop_with_ignore_market_hours_runs_every_5_minutes_at_night(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai(
        "--demo", "sync", "--loop", "--ignore-market-hours", "--dry-run", "--count", "3",
        "--now", "2026-03-10T20:00", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["at"][11:16], r["action"]) for r in rows] == [
        ("20:00", "run"),
        ("20:05", "run"),
        ("20:10", "run"),
    ]


def test_quote_cache_shares_a_request_in_flight() -> None:
    class SlowBroker:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        async def quotes(self, symbols: list[str]) -> dict[str, object]:
            self.calls.append(list(symbols))
            await asyncio.sleep(0.01)
            return {s: f"quote-{s}" for s in symbols if s != "ZZZZ"}

    async def scenario() -> tuple[list[list[str]], dict[str, object], dict[str, object]]:
        broker = SlowBroker()
        cache = QuoteCache(ttl=5)
        first, second = await asyncio.gather(
            cache(broker, ["AAPL", "SPY"]), cache(broker, ["SPY", "QQQ", "ZZZZ"])
        )  # type: ignore[arg-type]
        await cache(broker, ["AAPL", "ZZZZ"])  # type: ignore[arg-type]
        return broker.calls, first, second  # type: ignore[return-value]

    calls, first, second = asyncio.run(scenario())
    assert calls == [["AAPL", "SPY"], ["QQQ", "ZZZZ"]]
    assert first == {"AAPL": "quote-AAPL", "SPY": "quote-SPY"}
    assert second == {"SPY": "quote-SPY", "QQQ": "quote-QQQ"}


def test_status_shows_a_stalled_loop(store) -> None:  # type: ignore[no-untyped-def]
    repo = JobsRepository(store)
    start = ny("2026-03-10 10:00")
    repo.claim("monitor", os.getpid(), start, heartbeat_s=30)
    assert repo.statuses(start + timedelta(seconds=60))[0].state == "running"
    assert repo.statuses(start + timedelta(seconds=91))[0].state == "stalled"


# -- systemd -----------------------------------------------------------------------------------
@pytest.fixture
def rendered_units(tmp_path: Path, clean_env: Path, ttai) -> Path:  # type: ignore[no-untyped-def]
    target = tmp_path / "config"
    os.environ["XDG_CONFIG_HOME"] = str(target)
    try:
        result = ttai("systemd", "--install")
    finally:
        del os.environ["XDG_CONFIG_HOME"]
    assert result.code == 0, result.err
    assert "systemctl --user enable --now ttai.service" in result.out
    return target / "systemd" / "user"


def test_units_name_the_right_paths_and_no_secret(rendered_units: Path, clean_env: Path) -> None:
    units = {p.name: p.read_text() for p in rendered_units.iterdir()}
    assert sorted(units) == sorted(
        ["ttai.service"]
        + [
            f"ttai-{j}.{k}"
            for j in (
                "monitor",
                "alerts",
                "sync",
                "briefing-morning",
                "briefing-eod",
                "briefing-weekly",
            )
            for k in ("service", "timer")
        ]
    )
    daemon = units["ttai.service"]
    assert f"ExecStart={Path(sys.executable).parent / 'ttai'} --log-format json run" in daemon
    assert (
        f"Environment=TTAI_HOME={clean_env.resolve()}" in daemon and "EnvironmentFile=-" in daemon
    )
    assert "Type=notify" in daemon and "Restart=on-failure" in daemon and "UMask=0077" in daemon
    assert "RestartPreventExitStatus=2" in daemon, "a configuration error is not retried"
    assert "@" not in "".join(
        line
        for text in units.values()
        for line in text.splitlines()
        if not line.startswith(("#", "SystemCall"))
    )
    assert "OnCalendar=Mon..Fri 09:30 America/New_York" in units["ttai-briefing-morning.timer"]
    assert all(
        "Persistent=true" in t and "AccuracySec=1s" in t
        for n, t in units.items()
        if n.endswith(".timer")
    )


def test_systemd_install_enables_a_timer_for_every_job_but_stream(
    rendered_units: Path, ttai, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    """Timers instead of the daemon lose nothing: alerts and the monitor have theirs too."""
    os.environ["XDG_CONFIG_HOME"] = str(rendered_units.parent.parent)
    try:
        result = ttai("systemd", "--install")
    finally:
        del os.environ["XDG_CONFIG_HOME"]
    enable = next(
        line.split()
        for line in result.out.splitlines()
        if line.strip().startswith("systemctl --user enable --now ttai-")
    )
    timers = enable[4:]
    assert timers == [f"ttai-{job}.timer" for job in JOB_NAMES if job != "stream"]
    for timer in timers:
        assert (rendered_units / timer).is_file()
        assert (rendered_units / timer.replace(".timer", ".service")).is_file()
    units = {p.name: p.read_text() for p in rendered_units.iterdir()}
    exe = Path(sys.executable).parent / "ttai"
    assert (
        f"ExecStart={exe} --log-format json alerts check --every 30s --catch-up --grace 5m"
        in units["ttai-alerts.service"]
    )
    assert (
        f"ExecStart={exe} --log-format json monitor --every 1m --catch-up --grace 5m"
        in units["ttai-monitor.service"]
    )
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"systemctl --user enable --now {' '.join(timers)}" in readme


def timer_starts(timer: Path, start: datetime, end: datetime) -> list[datetime]:
    """When systemd starts `timer`'s service in [start, end): its OnCalendar= lines as
    `systemd-analyze calendar` computes them (New York time included), merged. Asked in
    chunks, from the last start seen: each iteration costs it about a millisecond."""
    specs = [
        line.split("=", 1)[1]
        for line in timer.read_text().splitlines()
        if line.startswith("OnCalendar=")
    ]
    starts: set[datetime] = set()
    for spec in specs:
        base = start - timedelta(seconds=1)
        while base < end:
            asked_from = base
            calendar = subprocess.run(
                [
                    "systemd-analyze",
                    "calendar",
                    f"--base-time=@{int(base.timestamp())}",
                    "--iterations=400",
                    spec,
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "TZ": "UTC"},
            )
            for line in calendar.stdout.splitlines():
                label, _, value = line.strip().partition(": ")
                if label == "Next elapse" or label.startswith("Iter."):
                    base = datetime.strptime(value, "%a %Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
                    if start <= base < end:
                        starts.add(base.astimezone(NEW_YORK))
            assert base > asked_from, f"{spec} never elapses after {asked_from}"
    return sorted(starts)


def options_of(service: Path) -> ScheduleOptions:
    """The schedule options of a unit's ExecStart, parsed by ttai's own parser."""
    from typer.main import get_command

    from ttai_cli.app import app
    from ttai_cli.cli.schedule_options import parse_schedule_options

    exec_start = next(
        line.split("=", 1)[1]
        for line in service.read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    group = get_command(app)
    command: object = group
    ctx = group.make_context("ttai", shlex.split(exec_start)[1:], resilient_parsing=False)
    while hasattr(command, "resolve_command"):
        pending = ctx._protected_args + ctx.args
        name, command, rest = command.resolve_command(ctx, pending)  # type: ignore[attr-defined]
        ctx = command.make_context(name, rest, parent=ctx)  # type: ignore[union-attr]
    return parse_schedule_options(ctx.params)


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed: it computes the timers' start times",
)
@pytest.mark.parametrize(
    ("job", "runs_per_hour"), [("alerts", 120), ("monitor", 60)], ids=["alerts", "monitor"]
)
def test_alerts_and_monitor_timers_run_each_session_slot_once_and_skip_holidays(
    rendered_units: Path, store, job: str, runs_per_hour: int
) -> None:  # type: ignore[no-untyped-def]
    """The timer starts the oneshot across the session; --catch-up runs each slot once and
    the market guard decides: the day before Thanksgiving runs 09:30 to the 16:00 close,
    Thanksgiving nothing, the half day after it 09:30 to the 13:00 close."""
    start, end = ny("2026-11-25 00:00"), ny("2026-11-28 00:00")
    starts = timer_starts(rendered_units / f"ttai-{job}.timer", start, end)
    assert starts[0] == ny("2026-11-25 09:30") and starts[-1] == ny("2026-11-27 16:00")
    assert len(starts) == 3 * (int(6.5 * runs_per_hour) + 1), "Mon..Fri, the holiday too"
    options = options_of(rendered_units / f"ttai-{job}.service")
    assert options.catch_up and not options.ignore_market_hours
    calendar = MarketCalendar(store)
    repo = JobsRepository(store)
    recording = RecordingJob(name=job, market_aware=True)
    policy = Policy(job, repo, MarketGuard(calendar))
    clock = FakeClock(start)

    async def fire_all() -> None:
        for moment in starts:
            clock.advance((moment - clock.now()).total_seconds() + 0.2)  # systemd's latency
            schedule = build_schedule(options, clock.now(), lambda: calendar)
            await catch_up(
                Runner(recording, schedule, policy, clock, repo, asyncio.Event()), options.grace
            )

    asyncio.run(fire_all())
    ran = [slot for slot, _ in recording.history]
    assert len(ran) == len(set(ran))
    per_day = Counter(f"{slot:%a}" for slot in ran)
    assert per_day == {
        "Wed": int(6.5 * runs_per_hour) + 1,
        "Fri": int(3.5 * runs_per_hour) + 1,
    }
    assert max(ran) == ny("2026-11-27 13:00"), "the half day's close, then the guard skips"


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_units_verify_and_the_daemon_scores_at_most_2_5(rendered_units: Path) -> None:
    for unit in sorted(rendered_units.iterdir()):
        verify = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True
        )
        assert verify.returncode == 0 and verify.stderr.strip() == "", (unit.name, verify.stderr)
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(rendered_units / "ttai.service")],
        capture_output=True,
        text=True,
    )
    score = float(
        security.stdout.rsplit("Overall exposure level for ttai.service:", 1)[1].split()[0]
    )
    assert score <= 2.5, security.stdout[-500:]


def test_sd_notify_ready_watchdog_stopping(tmp_path: Path, clean_env: Path) -> None:
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(10)
    messages: list[str] = []

    def listen() -> None:  # what systemd does: read as they come
        sock.settimeout(5)
        while True:
            try:
                text = sock.recv(4096).decode()
            except (TimeoutError, OSError):
                return
            messages.append(text)
            if text == "STOPPING=1":
                return

    import threading

    listener = threading.Thread(target=listen)
    listener.start()
    env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "200000"}
    result = run_subprocess(
        "run", "--every", "1s", "--max-runs", "2", "--ignore-market-hours", "--", "true", env=env
    )
    listener.join(timeout=10)
    sock.close()
    assert result.code == 0, result.err
    assert messages[0].startswith("READY=1")
    assert "WATCHDOG=1" in messages
    assert messages[-1] == "STOPPING=1"


# -- cron ------------------------------------------------------------------------------------------
def test_cron_lines_parse(ttai, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    from croniter import croniter
    from typer.main import get_command

    from ttai_cli.app import app

    result = ttai("cron")
    assert result.code == 0, result.err
    lines = [line for line in result.out.splitlines() if line and not line.startswith("#")]
    env = [line for line in lines if "=" in line.split()[0]]
    assert [line.split("=")[0] for line in env] == ["PATH", "TTAI_HOME"]
    entries = [line for line in lines if line not in env]
    assert len(entries) == 6
    group = get_command(app)
    for entry in entries:
        fields = entry.split()
        assert croniter.is_valid(" ".join(fields[:5])), entry
        command = shlex.split(" ".join(fields[5:]))
        redirect = command.index(">>")
        assert (
            command[redirect + 1] == str(clean_env.resolve() / "logs" / "cron.log")
            and command[redirect + 2] == "2>&1"
        )
        argv = command[:redirect]
        assert Path(argv[0]).is_absolute() and os.access(argv[0], os.X_OK)
        assert "--catch-up" in argv and "flock" not in entry
        # the arguments parse with ttai's own parser, down to the command
        command_line: object = group
        ctx = group.make_context("ttai", argv[1:], resilient_parsing=False)
        while hasattr(command_line, "resolve_command"):
            pending = ctx._protected_args + ctx.args  # what the group left for its subcommand
            name, command_line, rest = command_line.resolve_command(ctx, pending)  # type: ignore[attr-defined]
            ctx = command_line.make_context(name, rest, parent=ctx)  # type: ignore[union-attr]
        assert not ctx.args, entry
    assert (clean_env / "logs").is_dir()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("morning", ["Mon 09:30", "Tue 09:30", "Wed 09:30", "Fri 09:30"]),
        ("eod", ["Mon 16:00", "Tue 16:00", "Wed 16:00", "Fri 13:00"]),
        ("weekly", ["Fri 17:00"]),
    ],
)
def test_each_briefing_from_cron_every_5_minutes_over_thanksgiving_week(
    store, kind: str, expected: list[str]
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(ny("2026-11-23 00:00"))
    calendar = MarketCalendar(store)
    briefing = BriefingJob.__new__(BriefingJob)
    briefing.kind = kind
    job = RecordingJob(name=f"briefing-{kind}")
    repo = JobsRepository(store)
    options = ScheduleOptions(catch_up=True)
    while clock.now() < ny("2026-11-29 00:00"):  # */5 * * * *, all week
        schedule = build_schedule(options, clock.now(), lambda: calendar, briefing.default_schedule)
        asyncio.run(
            catch_up(
                Runner(job, schedule, Policy(job.name, repo, None), clock, repo, asyncio.Event()),
                options.grace,
            )
        )
        clock.advance(300)
    assert [f"{slot:%a %H:%M}" for slot, _ in job.history] == expected


# -- nohup -------------------------------------------------------------------------------------------
def test_nohup_run_then_sigterm_exits_0_and_logs_a_clean_stop(
    tmp_path: Path, clean_env: Path
) -> None:
    log = tmp_path / "ttai.log"
    script = (
        f"nohup {shlex.quote(sys.executable)} -m ttai_cli run --every 1s --ignore-market-hours --name nohupped "
        f"-- true > {shlex.quote(str(log))} 2>&1 &\necho $!"
    )
    pid = int(
        subprocess.run(
            ["sh", "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = json.loads(run_subprocess("status", "--json").out)["jobs"]
        if status and status[0]["runs"] >= 2:
            break
        time.sleep(0.2)
    os.kill(pid, signal.SIGTERM)
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("did not stop")
    text = log.read_text()
    assert "received SIGTERM: stopping" in text and "stopped cleanly" in text
    assert "Traceback" not in text
    final = json.loads(run_subprocess("status", "--json").out)["jobs"][0]
    assert final["running_pid"] is None and final["errors"] == 0
