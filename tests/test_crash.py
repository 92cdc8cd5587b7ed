"""The crash suite: SIGKILL at random points of `alerts check`, `sync` and notification
delivery. After each kill the next run completes; at the end every alert fired exactly
once (in the database and at the receiver), the database is intact and no lock is stuck.

CI kills 20 times; `pytest --full` kills 200 times.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.receiver import Receiver, Reply
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer
from ttai_cli.store import open_store
from ttai_cli.store.alerts import AlertsRepository

pytestmark = pytest.mark.slow
ALERTS = 30
TARGETS = [
    ["alerts", "check", "--ignore-market-hours"],
    ["sync"],
    ["notify", "flush"],
]


class SlowReceiver(Receiver):
    """Answers after a random pause, so that some kills land mid-delivery."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)

    def next_reply(self, received):  # type: ignore[no-untyped-def]
        reply = super().next_reply(received)
        return Reply(reply.status, reply.headers, reply.body, delay=self.rng.uniform(0, 0.3))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = SlowReceiver(seed=9).start()
    yield r
    r.stop()


def test_sigkill_at_random_points(
    full: bool,
    sim: SimulatedTastytrade,
    sim_server: RunningServer,
    receiver: Receiver,
    clean_env: Path,
) -> None:
    kills = 200 if full else 20
    rng = random.Random(2026)
    sim.latency = (0.0, 0.05)
    clean_env.mkdir(parents=True, exist_ok=True)
    with open_store(clean_env / "ttai.db") as store:
        repo = AlertsRepository(store)
        for i in range(ALERTS):
            repo.add(parse_alert(f"S{i:03d}", "price", "above", "1"), datetime.now(NEW_YORK))
    env = {
        **os.environ,
        "TTAI_API_URL": sim_server.url,
        "TASTYTRADE_CLIENT_SECRET": CANARY_SECRET,
        "TASTYTRADE_REFRESH_TOKEN": CANARY_REFRESH,
        "TTAI_HOME": str(clean_env),
        "TTAI_NOTIFICATION_BACKEND": "webhook",
        "TTAI_WEBHOOK_URL": receiver.url + "/hook",
        "TTAI_API_ATTEMPTS": "2",
    }
    killed = 0
    for _ in range(kills):
        target = rng.choice(TARGETS)
        proc = subprocess.Popen(
            [sys.executable, "-m", "ttai_cli", *target],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 2.2))  # start-up, fetching, committing, delivering
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
    assert killed >= kills // 3, "most runs were killed midway"

    for target in TARGETS:  # the next runs complete
        done = subprocess.run(
            [sys.executable, "-m", "ttai_cli", *target],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (target, done.stderr)
    flush = subprocess.run(
        [sys.executable, "-m", "ttai_cli", "notify", "flush"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert flush.returncode == 0, flush.stdout + flush.stderr

    db = sqlite3.connect(clean_env / "ttai.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    fired = [r[0] for r in db.execute("SELECT alert_id FROM alert_events")]
    assert sorted(fired) == list(range(1, ALERTS + 1)), "each alert fired exactly once"
    stored = [
        r[0]
        for r in db.execute(
            "SELECT json_extract(data, '$.alert_id') FROM notifications WHERE type = 'alert_triggered'"
        )
    ]
    assert sorted(stored) == list(range(1, ALERTS + 1))
    delivered_alerts = []
    for request in receiver.requests:
        body = request.json()
        if body["notification_type"] == "alert_triggered" and body["id"] in receiver.delivered:
            delivered_alerts.append((body["id"], body["data"]["alert_id"]))
    unique = dict(delivered_alerts)
    assert sorted(unique.values()) == list(range(1, ALERTS + 1)), (
        "the receiver got every alert, once after deduplication"
    )
    status = json.loads(
        subprocess.run(
            [sys.executable, "-m", "ttai_cli", "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    )["jobs"]
    assert all(job["running_pid"] is None for job in status), "no lock or claim left behind"
