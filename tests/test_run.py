"""`ttai run -- COMMAND` as users run it: real processes, signals, locks, status, pause."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET, run_subprocess
from tests.fakes import FakeClock
from tests.test_cli import one_line_error
from tests.test_schedule import make_runner, ny, schedule_for
from ttai_cli.jobs.command import CommandJob
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer
from ttai_cli.store import open_store
from ttai_cli.store.jobs import JobsRepository

TTAI = [sys.executable, "-m", "ttai_cli"]


def job_status(name: str) -> dict[str, object] | None:
    result = run_subprocess("status", "--json")
    assert result.code == 0, result.err
    return next((j for j in json.loads(result.out)["jobs"] if j["job"] == name), None)


def wait_for(predicate, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def start_loop(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*TTAI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_sigterm_mid_run_exits_0_within_3s_and_status_shows_the_job(clean_env: Path) -> None:
    loop = start_loop(
        "run", "--every", "1s", "--ignore-market-hours", "--name", "sleeper", "--", "sleep", "5"
    )
    try:
        running = wait_for(
            lambda: (s := job_status("sleeper")) and s["running_pid"] and s["last_started_at"] and s
        )
        assert running["running_pid"] == loop.pid
        assert running["last_started_at"] is not None, "the status is readable while the loop runs"
        started = time.monotonic()
        loop.send_signal(signal.SIGTERM)
        code = loop.wait(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if loop.poll() is None:
            loop.kill()
    _, err = loop.communicate()
    assert code == 0, err
    assert elapsed < 3.0, f"took {elapsed:.2f}s"
    assert "received SIGTERM: stopping" in err
    after = job_status("sleeper")
    assert after is not None and after["running_pid"] is None
    assert after["last_result"] == "cancelled", "a stopped run is not the command's failure"


def test_second_process_for_the_same_job_exits_0_at_once(clean_env: Path) -> None:
    loop = start_loop(
        "run", "--every", "1s", "--ignore-market-hours", "--name", "twice", "--", "sleep", "2"
    )
    try:
        wait_for(lambda: (s := job_status("twice")) and s["running_pid"])
        started = time.monotonic()
        second = run_subprocess(
            "run", "--every", "1s", "--ignore-market-hours", "--name", "twice", "--", "sleep", "2"
        )
        elapsed = time.monotonic() - started
        assert second.code == 0
        assert "twice: already running (pid" in second.err
        assert elapsed < 2.0
    finally:
        loop.send_signal(signal.SIGTERM)
        loop.wait(timeout=10)


def test_command_environment_and_exit_code(clean_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    script = f'echo "$TTAI_JOB|$TTAI_SLOT|$TTAI_MARKET_OPEN" > {out}'
    result = run_subprocess(
        "run", "--ignore-market-hours", "--name", "envjob", "--", "sh", "-c", script
    )
    assert result.code == 0, result.err
    job, slot, market = out.read_text().strip().split("|")
    assert (
        job == "envjob"
        and slot[:4].isdigit()
        and slot[-6:] in ("-05:00", "-04:00")
        and market == ""
    )
    failed = run_subprocess(
        "run", "--ignore-market-hours", "--name", "failing", "--", "sh", "-c", "exit 3"
    )
    assert failed.code == 1
    status = job_status("failing")
    assert (
        status is not None
        and status["last_error"] == "sh failed: exit code 3"
        and status["errors"] == 1
    )


def test_pause_skips_cron_runs_until_resume(clean_env: Path) -> None:
    assert (
        run_subprocess("run", "--ignore-market-hours", "--name", "nightly", "--", "true").code == 0
    )
    assert run_subprocess("pause", "nightly").code == 0
    skipped = run_subprocess("run", "--ignore-market-hours", "--name", "nightly", "--", "true")
    assert skipped.code == 0 and "paused" in skipped.err
    status = job_status("nightly")
    assert (
        status is not None
        and status["paused"] is True
        and status["runs"] == 1
        and status["skipped"] == 1
    )
    assert run_subprocess("resume", "nightly").code == 0
    assert (
        run_subprocess("run", "--ignore-market-hours", "--name", "nightly", "--", "true").code == 0
    )
    assert job_status("nightly")["runs"] == 2  # type: ignore[index]


def test_pause_unknown_job_is_exit_2(ttai) -> None:  # type: ignore[no-untyped-def]
    assert "unknown job 'nope'" in one_line_error(ttai("pause", "nope"), 2)


def test_dry_run_json_shape(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai(
        "--demo",
        "run",
        "--market-open",
        "--every",
        "2h",
        "--dry-run",
        "--count",
        "5",
        "--now",
        "2026-03-06T15:00",
        "--json",
        "--",
        "true",
    )
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [list(r) for r in rows] == [["at", "action", "reason"]] * 5
    assert [r["at"] for r in rows] == [
        "2026-03-09T09:30:00-04:00",
        "2026-03-09T11:30:00-04:00",
        "2026-03-09T13:30:00-04:00",
        "2026-03-09T15:30:00-04:00",
        "2026-03-10T09:30:00-04:00",
    ]
    assert {r["action"] for r in rows} == {"run"}


def test_dry_run_shows_skips_with_reasons(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai(
        "--demo",
        "run",
        "--daily",
        "--schedule",
        "10:00",
        "--days",
        "mon-fri",
        "--dry-run",
        "--count",
        "4",
        "--now",
        "2026-11-25T11:00",
        "--json",
        "--",
        "true",
    )
    rows = json.loads(result.out)
    assert [(r["at"][:10], r["action"], r["reason"]) for r in rows] == [
        ("2026-11-26", "skip", "market closed: holiday (no session on Thu 2026-11-26)"),
        ("2026-11-27", "run", "market open until the 13:00 early close"),
        ("2026-11-28", "skip", "not on mon-fri (Saturday)"),
        ("2026-11-29", "skip", "not on mon-fri (Sunday)"),
    ]


def test_dry_run_ends_where_max_runs_would_end_the_job(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai(
        "--demo", "run", "--daily", "--schedule", "10:00", "--max-runs", "2", "--dry-run",
        "--count", "10", "--now", "2026-11-25T11:00", "--json", "--", "true",
    )  # fmt: skip
    rows = json.loads(result.out)
    assert [(r["at"][:10], r["action"]) for r in rows] == [
        ("2026-11-26", "skip"),  # Thanksgiving: skipped slots do not count
        ("2026-11-27", "run"),
        ("2026-11-28", "skip"),
        ("2026-11-29", "skip"),
        ("2026-11-30", "run"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "0s"], "must be longer than zero"),
        (["--every", "banana"], "is not a duration"),
        (["--every", "250ms"], "--every: '250ms' is shorter than 1s"),
        (["--period", "0.5"], "--period: '0.5' is shorter than 1s"),
        (["--hourly", "--daily"], "choose one of"),
        (["--cron", "61 * * * *"], "not a 5-field cron expression"),
        (["--days", "funday"], "not a list of weekdays"),
        (["--grace", "1h"], "--grace only applies with --catch-up"),
        (["--now", "2026-01-01T10:00"], "--now only goes with --dry-run"),
        (["--schedule", "25:00"], "not a valid time of day"),
        (["--schedule", "9"], "ambiguous"),
        (["--max-runs", "0"], "--max-runs must be at least 1"),
        (["--loop"], "--loop needs a cadence"),
        (["--every", "5m", "--period", "30"], "--every or --period"),
    ],
)
def test_bad_schedule_options_are_one_line_exit_2(ttai, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    assert message in one_line_error(ttai("run", *args, "--", "true"), 2)


def test_run_without_a_command_or_unknown_program(ttai) -> None:  # type: ignore[no-untyped-def]
    assert "give the command to run after --" in one_line_error(ttai("run", "--"), 2)
    assert "the daemon runs each job at its own cadence" in one_line_error(
        ttai("run", "--every", "5m"), 2
    )
    assert "unknown job 'nope'" in one_line_error(ttai("run", "nope"), 2)
    assert "command not found" in one_line_error(ttai("run", "--", "no-such-program-xyz"), 2)


def test_nohup_ignored_sighup_keeps_the_loop_running(clean_env: Path) -> None:
    loop = subprocess.Popen(
        [
            *TTAI,
            "run",
            "--every",
            "1s",
            "--ignore-market-hours",
            "--name",
            "nohupped",
            "--",
            "true",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),  # what nohup does
    )
    try:
        wait_for(lambda: (s := job_status("nohupped")) and s["runs"] >= 1)
        loop.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert loop.poll() is None, "SIGHUP is ignored under nohup"
        loop.send_signal(signal.SIGTERM)
        assert loop.wait(timeout=10) == 0
    finally:
        if loop.poll() is None:
            loop.kill()


def test_catch_up_from_crontab(clean_env: Path) -> None:
    # a daily slot half an hour ago, within a 2 h grace: the first cron run runs it, the next does not
    from datetime import datetime, timedelta

    from ttai_cli.clock import NEW_YORK

    earlier = datetime.now(NEW_YORK) - timedelta(minutes=30)
    args = [
        "run",
        "--daily",
        "--schedule",
        f"{earlier:%H:%M}",
        "--catch-up",
        "--grace",
        "2h",
        "--ignore-market-hours",
        "--name",
        "cronjob",
        "--",
        "true",
    ]
    assert run_subprocess(*args).code == 0
    assert job_status("cronjob")["runs"] == 1  # type: ignore[index]
    again = run_subprocess(*args)
    assert again.code == 0 and "already ran" in again.err
    assert job_status("cronjob")["runs"] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    "args",
    [
        ["monitor", "--ignore-market-hours"],
        ["alerts", "check", "--ignore-market-hours", "--loop"],
        ["sync"],
        ["run", "sync", "--every", "5m"],
        ["run"],
    ],
    ids=["monitor", "alerts-loop", "sync", "run-sync", "daemon"],
)
def test_missing_credentials_stop_a_broker_job_before_its_first_run(ttai, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    message = one_line_error(ttai(*args), 2)
    assert message.startswith("ttai: TASTYTRADE_CLIENT_SECRET and TASTYTRADE_REFRESH_TOKEN not set")


def test_a_command_needs_no_credentials(ttai) -> None:  # type: ignore[no-untyped-def]
    assert ttai("run", "--ignore-market-hours", "--", "true").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "monitor", "--", "true"], "--name monitor is a built-in job's name"),
        (["--name", "backup", "--", "true"], "--name backup is a built-in job's name"),
        (["--name", "ask", "--", "true"], "--name ask is a built-in job's name"),
        (["--name", "ask:open", "--", "true"], "--name ask:open is a built-in job's name"),
        (["--name", "notify-outbox", "--", "true"], "--name notify-outbox is a built-in"),
        (["--name", " ", "--", "true"], "--name must not be empty"),
        (["sync", "--name", "mine"], "--name names a command run after --"),
    ],
    ids=[
        "built-in-name",
        "the-daemons-backup",
        "ask",
        "an-ask-job",
        "the-outbox-lock",
        "empty",
        "without-a-command",
    ],
)
def test_bad_job_names_are_one_line_exit_2(ttai, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    assert message in one_line_error(ttai("run", *args), 2)


# -- the command's process group ----------------------------------------------------------------
PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def group_gone() -> Iterator[Callable[[int], bool]]:
    """`group_gone(pgid)`: whether no process of the group is left (within 2 s).

    This test process adopts the orphans of what it starts and reaps them, as init does:
    an init that does not reap (some containers) would keep their zombies in the group."""
    if sys.platform != "linux":
        pytest.skip("PR_SET_CHILD_SUBREAPER is Linux's")
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    seen: list[int] = []

    def gone(pgid: int) -> bool:
        seen.append(pgid)
        deadline = time.monotonic() + 2.0
        while True:
            with contextlib.suppress(ChildProcessError):
                while os.waitid(os.P_PGID, pgid, os.WEXITED | os.WNOHANG) is not None:
                    pass
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    try:
        yield gone
    finally:
        for pgid in seen:  # a failed test must not leave sleeps behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def stubborn(pids: Path) -> CommandJob:
    """A shell that ignores SIGTERM, and a child of its own that inherits that: the shell
    writes its pid (its group's id, the program leads its own group) and the child's."""
    script = f'trap "" TERM; sleep 300 & echo "$$ $!" > {pids}.tmp; mv {pids}.tmp {pids}; sleep 300'
    return CommandJob(["sh", "-c", script], name="stubborn")


def group_of(pids: Path) -> tuple[int, int]:
    shell, child = (int(p) for p in pids.read_text().split())
    assert os.getpgid(child) == shell, "the program leads a process group of its own"
    return shell, child


def test_stop_kills_the_whole_group_of_a_command_that_ignores_sigterm(
    tmp_path: Path, group_gone: Callable[[int], bool]
) -> None:
    pids = tmp_path / "pids"
    store = open_store(tmp_path / "t.db")
    start = ny("2026-03-10 10:00")
    runner = make_runner(
        store,
        FakeClock(start),
        stubborn(pids),
        schedule_for(store, start, every=timedelta(minutes=1)),
        stop_grace=0.3,
    )

    async def scenario():  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(runner.run())
        while not pids.exists():
            await asyncio.sleep(0.01)
        group = group_of(pids)
        runner.stop.set()
        return group, await task

    started = time.monotonic()
    (pgid, _), outcome = asyncio.run(scenario())
    elapsed = time.monotonic() - started
    assert group_gone(pgid), "no process of the group survives"
    assert elapsed >= 0.3, "SIGTERM was ignored: the group got its grace, then SIGKILL"
    assert outcome.exit_code == 0 and outcome.stopped
    (run,) = [r for r in JobsRepository(store).history("stubborn") if r.result != "skipped"]
    assert run.result == "cancelled" and run.error == "stopped before the run finished"


def test_timeout_kills_the_whole_group_and_is_recorded_as_the_timeout(
    tmp_path: Path, group_gone: Callable[[int], bool]
) -> None:
    pids = tmp_path / "pids"
    store = open_store(tmp_path / "t.db")
    start = ny("2026-03-10 10:00")
    runner = make_runner(
        store,
        FakeClock(start),
        stubborn(pids),
        schedule_for(store, start, every=timedelta(minutes=1)),
        timeout=0.3,
        stop_grace=0.2,
        max_runs=1,
    )
    outcome = asyncio.run(runner.run())
    pgid = int(pids.read_text().split()[0])
    assert group_gone(pgid), "no process of the group survives"
    assert outcome.exit_code == 1
    status = JobsRepository(store).statuses()[0]
    assert status.last_result == "timeout" and status.last_error == "run took longer than 0.3s"


def test_sigterm_leaves_no_sleep_of_a_shell_command_behind(
    clean_env: Path, tmp_path: Path, group_gone: Callable[[int], bool]
) -> None:
    pid_file = tmp_path / "shell.pid"
    loop = start_loop(
        "run",
        "--ignore-market-hours",
        "--name",
        "napper",
        "--",
        "sh",
        "-c",
        f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; sleep 300; echo done",
    )
    try:
        wait_for(pid_file.exists)
        pgid = int(pid_file.read_text())
        assert os.getpgid(pgid) == pgid, "the command leads a process group of its own"
        loop.send_signal(signal.SIGTERM)
        code = loop.wait(timeout=10)
        assert group_gone(pgid), "the sleep went with its shell"
    finally:
        if loop.poll() is None:
            loop.kill()
    out, err = loop.communicate(timeout=5)
    assert code == 0, err
    assert "done" not in out
    status = job_status("napper")
    assert status is not None and status["last_result"] == "cancelled" and status["errors"] == 0


# -- exit codes of a stop (#15): Ctrl-C on a one-off is 130; a loop stopped by any signal is 0 --
def start_napper(tmp_path: Path, *schedule: str) -> tuple[subprocess.Popen[str], Path]:
    """A command job that says when it has started, then sleeps until stopped."""
    started = tmp_path / "started"
    script = f"touch {started}; exec sleep 30"
    loop = start_loop(
        "run", *schedule, "--ignore-market-hours", "--name", "napper", "--", "sh", "-c", script
    )
    wait_for(started.exists)
    return loop, started


@pytest.mark.parametrize(
    ("schedule", "sig", "code"),
    [
        ((), signal.SIGINT, 130),
        ((), signal.SIGTERM, 0),
        (("--every", "1s"), signal.SIGINT, 0),
        (("--every", "1s"), signal.SIGTERM, 0),
    ],
    ids=["sigint-one-off", "sigterm-one-off", "sigint-loop", "sigterm-loop"],
)
def test_sigint_on_one_off_exits_130_and_every_other_stop_exits_0(
    clean_env: Path, tmp_path: Path, schedule: tuple[str, ...], sig: signal.Signals, code: int
) -> None:
    loop, _ = start_napper(tmp_path, *schedule)
    try:
        loop.send_signal(sig)
        assert loop.wait(timeout=10) == code
    finally:
        if loop.poll() is None:
            loop.kill()
    _, err = loop.communicate()
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    if code == 130:
        assert last == "ttai: interrupted"
    else:
        assert last.endswith("stopped cleanly")


def test_sigterm_with_a_slow_api_ends_within_5s(
    clean_env: Path, sim: SimulatedTastytrade, sim_server: RunningServer
) -> None:
    sim.faults.add("slow", "/accounts", times=10, delay=10)  # positions take 10 s to come
    env = {
        "TTAI_API_URL": sim_server.url,
        "TASTYTRADE_CLIENT_SECRET": CANARY_SECRET,
        "TASTYTRADE_REFRESH_TOKEN": CANARY_REFRESH,
        "TTAI_API_TIMEOUT": "60",
        "TTAI_NOTIFICATION_BACKEND": "none",
    }
    loop = subprocess.Popen(
        [*TTAI, "monitor", "--loop", "--ignore-market-hours"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        assert loop.stderr is not None
        for line in loop.stderr:  # the run is under way: the positions request is in flight
            if "monitor: run for" in line:
                break
        wait_for(lambda: sim.faults.pending and sim.faults.pending[0].times < 10)
        started = time.monotonic()
        loop.send_signal(signal.SIGTERM)
        code = loop.wait(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if loop.poll() is None:
            loop.kill()
    assert code == 0
    assert elapsed < 5.0, f"took {elapsed:.2f}s"
    status = job_status("monitor")
    assert status is not None and status["last_result"] == "cancelled"
