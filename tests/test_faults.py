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
from tests.fakes import FakeClock, RecordingSleep
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.tastytrade import TastytradeBroker
from ttai_cli.broker.transport import RetryPolicy
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import Secret, load_settings
from ttai_cli.jobs.alerts import AlertsCheckJob
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
    Case("invalid-grant", "invalid_grant", "/oauth/token", 40, CYCLES, "create a new one"),
]


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
