"""The fault suite: a loop of `alerts check` against a misbehaving API keeps going.

For each fault: every cycle is recorded, retries back off within bounds, the right error
reaches `ttai status`, and a failure streak makes one `error` notification (and its end
one `info`), not one per cycle.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.fakes import FakeClock, RecordingSleep, VirtualClock
from tests.test_broker import make_broker
from tests.test_cli import one_line_error
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.tastytrade import TastytradeBroker
from ttai_cli.broker.transport import RetryPolicy
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import Secret, load_settings
from ttai_cli.jobs.alerts import AlertsCheckJob, MonitorJob
from ttai_cli.jobs.context import JobContext
from ttai_cli.scheduling.options import ScheduleOptions
from ttai_cli.services.scheduling import SchedulingService
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer
from ttai_cli.store.alerts import AlertsRepository
from ttai_cli.store.jobs import JobsRepository

pytestmark = pytest.mark.faults
CYCLES = 6


@dataclass(frozen=True)
class Case:
    name: str
    kind: str | None  # the simulator fault, None: a dead port
    path: str | None
    times: int  # how many requests it spoils
    failed_cycles: int
    message: str  # in the last error of a failing cycle
    options: dict[str, float] | None = None


CASES = [
    Case(
        "5xx-burst", "status", "/market-data", 12, 3, "tastytrade error while fetching quotes"
    ),  # 3 cycles x 4 tries
    Case("429-retry-after", "rate_limit", "/market-data", 2, 0, ""),
    Case("slow-past-the-timeout", "slow", "/market-data", 12, 3, "timed out", {"delay": 0.4}),
    Case("connection-refused", None, None, 0, CYCLES, "cannot reach tastytrade"),
    Case(
        "malformed-json", "malformed", "/market-data", 3, 3, "an answer ttai cannot read"
    ),  # not retried
    Case("401-then-refresh", "unauthorized", "/market-data", 1, 0, ""),
]
# A refresh token revoked from the start stops the loop at its first run (exit 2), and one
# revoked while it ran leaves it running: both are tested below, not as a Case.


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_loop_survives(
    case: Case, store, sim: SimulatedTastytrade, sim_server: RunningServer, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    clean_env.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    AlertsRepository(store).add(parse_alert("AAPL", "price", "above", "100000"), clock.now())
    if case.kind is not None:
        sim.faults.add(
            case.kind, case.path, times=case.times, retry_after=2, **(case.options or {})
        )
    url = sim_server.url if case.kind is not None else f"http://127.0.0.1:{dead_port()}"
    sleeps = RecordingSleep()

    def broker() -> TastytradeBroker:
        return TastytradeBroker(
            client_secret=Secret(CANARY_SECRET),
            refresh_token=Secret(CANARY_REFRESH),
            base_url=url,
            retry=RetryPolicy(sleep=sleeps),
            timeout=0.2,
        )

    job = AlertsCheckJob(JobContext(settings, store, clock, broker))
    service = SchedulingService(settings, clock, store=store)
    options = ScheduleOptions(every=timedelta(minutes=1), max_runs=CYCLES, ignore_market_hours=True)
    code = asyncio.run(service.run_jobs([job], options, stop=asyncio.Event(), max_chunk=3600))

    status = next(s for s in JobsRepository(store).statuses() if s.job == "alerts")
    assert status.runs == CYCLES, "every cycle ran and was recorded"
    assert status.errors == case.failed_cycles
    assert code == (1 if case.failed_cycles == CYCLES else 0)
    history = [r for r in JobsRepository(store).history("alerts", 50) if r.result != "running"]
    assert len(history) == CYCLES
    if case.failed_cycles:
        failed = [r for r in history if r.result == "error"]
        assert all(case.message in (r.error or "") for r in failed), failed[0].error
        assert "\n" not in (failed[0].error or "")
    assert all(0 <= s <= 8 or s == 2.0 for s in sleeps.history), "backoff is bounded"
    assert len(sleeps.history) <= CYCLES * 3, "at most 3 retries a request"
    if case.name == "429-retry-after":
        assert 2.0 in sleeps.history
    notes = [
        (r[0], r[1])
        for r in store.db.execute(
            "SELECT type, title FROM notifications WHERE type IN ('error', 'info')"
        )
    ]
    expected = []
    if case.failed_cycles >= 3:
        expected.append(("error", "ttai alerts keeps failing"))
    if 3 <= case.failed_cycles < CYCLES:
        expected.append(("info", "ttai alerts works again"))
    assert notes == expected, "one error notification per failure streak, not one per cycle"


# -- a revoked refresh token (#15) -------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["sync"],
        ["alerts", "check", "--ignore-market-hours"],
        ["monitor", "--ignore-market-hours"],
        ["briefing", "morning", "--print-only"],
        ["briefing", "eod"],
        ["sync", "--loop", "--ignore-market-hours", "--max-runs", "3"],
        ["alerts", "check", "--loop", "--ignore-market-hours", "--max-runs", "3"],
        ["run", "monitor", "sync", "--loop", "--ignore-market-hours", "--max-runs", "3"],
        ["run", "--ignore-market-hours"],
    ],
    ids=[
        "sync",
        "alerts-check",
        "monitor",
        "briefing-morning",
        "briefing-eod",
        "sync-loop",
        "alerts-loop",
        "run-jobs-loop",
        "daemon",
    ],
)
def test_revoked_refresh_token_is_exit_2_with_one_line(
    ttai, args: list[str], sim: SimulatedTastytrade, broker_env: RunningServer
) -> None:  # type: ignore[no-untyped-def]
    # (--max-runs: without the fix a loop would go on failing instead of ending)
    assert ttai("alerts", "add", "AAPL", "above", "100000").code == 0  # so the check asks
    sim.faults.add("invalid_grant", "/oauth/token", times=1000)
    line = one_line_error(ttai("-q", *args), 2)
    assert line.startswith("ttai: tastytrade rejected the refresh token (invalid_grant)")


def test_revoked_refresh_token_while_looping_notifies_once_and_keeps_running(
    store, sim: SimulatedTastytrade, sim_server: RunningServer, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    clock = VirtualClock(datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    clean_env.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    AlertsRepository(store).add(parse_alert("AAPL", "price", "above", "100000"), clock.now())
    context = JobContext(settings, store, clock, lambda: make_broker(sim_server))
    jobs = [AlertsCheckJob(context), MonitorJob(context)]
    service = SchedulingService(settings, clock, store=store)
    options = ScheduleOptions(every=timedelta(minutes=1), ignore_market_hours=True)
    stop = asyncio.Event()

    async def scenario() -> int:
        loop = asyncio.ensure_future(service.run_jobs(jobs, options, stop=stop, max_chunk=3600))
        await clock.drive(datetime(2026, 3, 10, 10, 1, 30, tzinfo=NEW_YORK), lambda: len(jobs))
        # between two cycles the grant is revoked: the access token dies, the refresh fails
        sim.faults.add("unauthorized", "/market-data")
        sim.faults.add("invalid_grant", "/oauth/token", times=1000)
        await clock.drive(datetime(2026, 3, 10, 10, 5, 30, tzinfo=NEW_YORK), lambda: len(jobs))
        stop.set()
        return await loop

    assert asyncio.run(scenario()) == 0, "stopped by a signal, not ended by the token"
    for status in JobsRepository(store).statuses():
        assert (status.runs, status.errors) == (6, 4), "10:00 .. 10:05: it kept running"
        assert status.last_error is not None
        assert status.last_error.startswith("tastytrade rejected the refresh token")
    notes = store.db.execute("SELECT type, title FROM notifications WHERE type = 'error'")
    assert [tuple(n) for n in notes] == [("error", "ttai: tastytrade rejected the refresh token")]
