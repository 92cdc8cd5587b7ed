"""`ttai metrics` (Prometheus text exposition) and `ttai run --metrics-file`.

Every output is read back with prometheus_client's own parser, so a format mistake
(escaping, a TYPE line, a value) fails here the way it would fail a real scrape.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import FakeClock, RecordingJob, RecordingSleep, VirtualClock
from tests.receiver import Receiver, Reply
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.notify.models import Notification
from ttai_cli.scheduling.options import ScheduleOptions
from ttai_cli.services.exposition import ExpositionService, Family, render
from ttai_cli.services.notifications import DeliveryPolicy, Notifier
from ttai_cli.services.scheduling import SchedulingService
from ttai_cli.store import APPLICATION_ID, migrate, open_store
from ttai_cli.store.jobs import JobsRepository
from ttai_cli.store.migrations import MIGRATIONS
from ttai_cli.store.risk import RiskRepository, RiskSnapshot
from ttai_cli.store.stream import StreamStateRepository
from ttai_cli.streaming.health import FeedHealth

REPO = Path(__file__).resolve().parent.parent
# What SPEC and the brief name; every one must be there with HELP and TYPE, even empty.
REQUIRED = {
    "ttai_job_runs_total": "counter",
    "ttai_job_last_success_timestamp_seconds": "gauge",
    "ttai_job_last_duration_seconds": "gauge",
    "ttai_job_paused": "gauge",
    "ttai_job_running": "gauge",
    "ttai_alerts": "gauge",
    "ttai_outbox_notifications": "gauge",
    "ttai_stream_connected": "gauge",
    "ttai_stream_reconnects_total": "counter",
    "ttai_stream_last_event_age_seconds": "gauge",
    "ttai_net_liquidating_value_dollars": "gauge",
    "ttai_buying_power_used_percent": "gauge",
    "ttai_beta_weighted_delta_shares": "gauge",
}


class Job(RecordingJob):
    """A recording job the scheduling service can run (it closes every job at the end)."""

    async def close(self) -> None:
        pass


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


class Scrape:
    """One exposition, parsed: families by their exposed name (counters keep `_total`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families: dict[str, Any] = {}
        for family in text_string_to_metric_families(text):
            name = family.name + ("_total" if family.type == "counter" else "")
            assert name not in self.families, f"{name} exposed twice"
            self.families[name] = family

    def type(self, name: str) -> str:
        return str(self.families[name].type)

    def samples(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {
            tuple(sorted(s.labels.items())): s.value
            for s in self.families[name].samples
            if not s.name.endswith("_created")
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples(name).get(tuple(sorted(labels.items())))


def scrape(ttai: Any, *args: str) -> Scrape:
    result = ttai(*args, "metrics")
    assert result.code == 0, result.err
    assert result.err == ""
    return Scrape(result.out)


# -- the format ---------------------------------------------------------------------------------
def test_empty_database_gives_every_family_and_zeros(ttai: Any) -> None:
    metrics = scrape(ttai)
    for name, kind in REQUIRED.items():
        assert metrics.type(name) == kind, name
        assert metrics.families[name].documentation, f"{name} has no HELP"
    assert all(name.startswith("ttai_") for name in metrics.families)
    for feed in ("market", "account"):
        assert metrics.value("ttai_stream_connected", feed=feed) == 0
        assert metrics.value("ttai_stream_reconnects_total", feed=feed) == 0
    assert metrics.value("ttai_last_sync_timestamp_seconds") == 0
    # nothing ran, nothing is known: no made-up job rows, and no NLV of 0 to page anyone
    assert metrics.samples("ttai_job_runs_total") == {}
    assert metrics.samples("ttai_net_liquidating_value_dollars") == {}
    assert metrics.samples("ttai_stream_last_event_age_seconds") == {}


def test_configured_destination_shows_pending_and_failed_zero(ttai: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("TTAI_NTFY_URL", "http://127.0.0.1:9/topic")
    metrics = scrape(ttai)
    assert metrics.samples("ttai_outbox_notifications") == {
        (("destination", "ntfy"), ("status", "failed")): 0,
        (("destination", "ntfy"), ("status", "held")): 0,
        (("destination", "ntfy"), ("status", "pending")): 0,
    }


def test_label_values_are_escaped_and_read_back_exactly() -> None:
    awkward = 'say "hi"\\ then\nnew line'
    family = Family("ttai_test", "gauge", "A help with a \\ and a\nnewline.")
    family.add(1.5, job=awkward)
    family.add(float("inf"), job="inf")
    family.add(float("nan"), job="nan")
    text = render([family])
    assert 'job="say \\"hi\\"\\\\ then\\nnew line"' in text
    (parsed,) = text_string_to_metric_families(text)
    values = {s.labels["job"]: s.value for s in parsed.samples}
    assert values[awkward] == 1.5
    assert values["inf"] == float("inf") and values["nan"] != values["nan"]
    assert parsed.documentation == "A help with a \\ and a\nnewline."


def test_a_command_job_with_quotes_in_its_name_round_trips(ttai: Any) -> None:
    name = 'nightly "backup" C:\\data'
    argv = ["run", "--ignore-market-hours", "--name", name, "--", sys.executable, "-c", "pass"]
    assert ttai(*argv).code == 0
    metrics = scrape(ttai)
    assert metrics.value("ttai_job_runs_total", job=name, result="ok") == 1


# -- after real runs -------------------------------------------------------------------------------
def test_jobs_alerts_and_risk_after_real_demo_runs(ttai: Any) -> None:
    for _ in range(2):
        assert ttai("--demo", "alerts", "check", "--ignore-market-hours").code == 0
    assert ttai("--demo", "alerts", "add", "MSFT", "above", "100000").code == 0
    assert ttai("--demo", "alerts", "add", "--type", "bp-usage", "above", "95").code == 0
    assert ttai("--demo", "pause", "sync").code == 0
    report = json.loads(ttai("--demo", "risk", "--json").out)
    balances = json.loads(ttai("--demo", "balances", "--json").out)
    started = time.time()
    metrics = scrape(ttai, "--demo")

    # jobs: two ok runs of `alerts`, every result shown; the paused job is listed too
    runs = metrics.samples("ttai_job_runs_total")
    assert runs[(("job", "alerts"), ("result", "ok"))] == 2
    for result in ("error", "timeout", "cancelled", "skipped"):
        assert runs[(("job", "alerts"), ("result", result))] == 0
    last_ok = metrics.value("ttai_job_last_success_timestamp_seconds", job="alerts")
    assert last_ok is not None and started - 60 < last_ok <= started
    duration = metrics.value("ttai_job_last_duration_seconds", job="alerts")
    assert duration is not None and 0 < duration < 30
    assert metrics.value("ttai_job_paused", job="alerts") == 0
    assert metrics.value("ttai_job_paused", job="sync") == 1
    assert metrics.value("ttai_job_running", job="alerts") == 0
    assert metrics.value("ttai_job_last_success_timestamp_seconds", job="sync") == 0

    # alerts: exactly what `alerts list` says, by kind and state
    listed: dict[tuple[str, str], int] = {}
    for alert in json.loads(ttai("--demo", "alerts", "list", "--all", "--json").out):
        key = (alert["type"], alert["status"])
        listed[key] = listed.get(key, 0) + 1
    exported = {
        (dict(k)["kind"], dict(k)["state"]): v
        for k, v in metrics.samples("ttai_alerts").items()
        if v
    }
    assert exported == listed
    assert listed[("price", "triggered")] == 1, "the demo's AAPL breakout fired"
    assert metrics.value("ttai_alerts", kind="bp-usage", state="triggered") == 0

    # the account: the risk report is newer than the demo's seeded snapshot
    account = balances["account_number"]
    assert metrics.value("ttai_net_liquidating_value_dollars", account=account) == pytest.approx(
        report["net_liquidating_value"]
    )
    assert metrics.value("ttai_buying_power_used_percent", account=account) == pytest.approx(
        report["buying_power_used_percent"]
    )
    assert metrics.value("ttai_beta_weighted_delta_shares", account=account) == pytest.approx(
        report["beta_weighted_delta"]
    )
    assert metrics.value("ttai_theta_dollars", account=account) == pytest.approx(report["theta"])
    risk_at = metrics.value(
        "ttai_account_snapshot_timestamp_seconds", account=account, source="risk"
    )
    assert risk_at == pytest.approx(datetime.fromisoformat(report["as_of"]).timestamp(), abs=0.01)


def test_account_figures_from_a_sync_then_from_a_newer_risk_report(
    ttai: Any, broker_env: Any
) -> None:
    assert ttai("sync").code == 0
    balances = json.loads(ttai("balances", "--json").out)
    account = balances["account_number"]
    metrics = scrape(ttai)
    assert metrics.value("ttai_net_liquidating_value_dollars", account=account) == pytest.approx(
        balances["net_liquidating_value"]
    )
    used = balances["maintenance_requirement"] / balances["net_liquidating_value"] * 100
    assert metrics.value("ttai_buying_power_used_percent", account=account) == pytest.approx(
        used, abs=0.005
    )
    assert metrics.samples("ttai_beta_weighted_delta_shares") == {}, "no risk report yet"
    assert metrics.value("ttai_last_sync_timestamp_seconds") == pytest.approx(time.time(), abs=60)
    assert metrics.value("ttai_job_runs_total", job="sync", result="ok") == 1

    report = json.loads(ttai("risk", "--json").out)
    metrics = scrape(ttai)
    assert metrics.value("ttai_beta_weighted_delta_shares", account=account) == pytest.approx(
        report["beta_weighted_delta"]
    )
    assert metrics.value("ttai_net_liquidating_value_dollars", account=account) == pytest.approx(
        report["net_liquidating_value"]
    )
    sources = {
        dict(k)["source"] for k in metrics.samples("ttai_account_snapshot_timestamp_seconds")
    }
    assert sources == {"sync", "risk"}


def test_outbox_pending_for_a_dead_receiver_and_failed_for_a_rejecting_one(
    ttai: Any, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead, rejecting = Receiver().start(), Receiver().start()
    dead.stop()  # connection refused from now on
    rejecting.script = [Reply(400, body=b"bad payload")]
    try:
        env = {"TTAI_WEBHOOK_URL": dead.url + "/hook", "TTAI_NTFY_URL": rejecting.url + "/topic"}
        settings = load_settings(environ={"TTAI_HOME": str(clean_env), **env})
        clean_env.mkdir(parents=True, exist_ok=True)
        notifier = Notifier(
            settings,
            open_store(settings.database_path),
            FakeClock(datetime(2026, 3, 10, 15, 0, tzinfo=UTC)),
            policy=DeliveryPolicy(jitter=lambda low, high: high),
            sleep=RecordingSleep(),
            stderr_is_tty=False,
        )
        report = asyncio.run(notifier.notify(Notification("info", "t", "b", {})))
        notifier.store.close()
        assert "webhook" in report.pending
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        metrics = scrape(ttai)
    finally:
        rejecting.stop()
    assert metrics.samples("ttai_outbox_notifications") == {
        (("destination", "ntfy"), ("status", "failed")): 1,
        (("destination", "ntfy"), ("status", "held")): 0,
        (("destination", "ntfy"), ("status", "pending")): 0,
        (("destination", "webhook"), ("status", "failed")): 0,
        (("destination", "webhook"), ("status", "held")): 0,
        (("destination", "webhook"), ("status", "pending")): 1,
    }


def test_stream_feeds_connected_reconnects_and_last_event_age(store: Any) -> None:
    clock = FakeClock(ny("2026-03-10 11:00"))
    market = FeedHealth("market")
    for _ in range(3):  # connected three times: two reconnects
        market.up(clock.now())
    market.events, market.last_event_at = 120, ny("2026-03-10 10:59:55")
    account = FeedHealth("account")
    account.down(clock.now(), "refused")
    StreamStateRepository(store).save("stream", [market, account], clock.now(), os.getpid(), "5WT1")
    metrics = Scrape(ExpositionService(store, clock).text())
    assert metrics.value("ttai_stream_connected", feed="market") == 1
    assert metrics.value("ttai_stream_connected", feed="account") == 0
    assert metrics.value("ttai_stream_reconnects_total", feed="market") == 2
    assert metrics.value("ttai_stream_events_total", feed="market") == 120
    assert metrics.value("ttai_stream_last_event_age_seconds", feed="market") == 5
    assert metrics.value("ttai_stream_last_event_age_seconds", feed="account") is None

    clock.advance(60)  # the stream process is gone: its row is no longer rewritten
    metrics = Scrape(ExpositionService(store, clock).text())
    assert metrics.value("ttai_stream_connected", feed="market") == 0
    assert metrics.value("ttai_stream_last_event_age_seconds", feed="market") == 65


# -- counters never go down ----------------------------------------------------------------------
def test_runs_by_result_survive_the_30_day_pruning_of_run_history(store: Any) -> None:
    repo = JobsRepository(store)
    clock = FakeClock(ny("2026-01-05 10:00"))
    for result in ("ok", "ok", "error", "timeout", "cancelled"):
        run_id = repo.run_started("sync", clock.now(), clock.now(), 1)
        repo.run_finished(run_id, "sync", result=result, now=clock.now(), duration_s=0.5)
    repo.skipped("sync", clock.now(), "market closed", clock.now(), 1, count=40)
    before = Scrape(ExpositionService(store, clock).text()).samples("ttai_job_runs_total")
    clock.advance(40 * 86400)
    repo.claim("sync", 2, clock.now())  # prunes job_runs older than 30 days
    assert repo.history("sync") == []
    after = Scrape(ExpositionService(store, clock).text()).samples("ttai_job_runs_total")
    assert after == before
    assert {dict(k)["result"]: v for k, v in after.items()} == {
        "ok": 2,
        "error": 1,
        "timeout": 1,
        "cancelled": 1,
        "skipped": 40,
    }


def test_migration_seeds_the_tallies_from_the_jobs_counters(tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    name = "m013_job_results_and_risk_snapshots"
    migrate(db, [m for m in MIGRATIONS if m[0] != name])
    # a job with more runs than the kept history shows (the older ones were pruned)
    db.execute(
        "INSERT INTO jobs (job, runs, errors, skipped, last_finished_at, last_result) "
        "VALUES ('alerts', 10, 3, 7, '2026-01-05T10:00:00-05:00', 'ok')"
    )
    for result, count in (("timeout", 1), ("cancelled", 2), ("skipped", 7), ("error", 1)):
        db.execute(
            "INSERT INTO job_runs (job, started_at, finished_at, result, count) "
            "VALUES ('alerts', '2026-01-05T14:00:00+00:00', '2026-01-05T14:00:01+00:00', ?, ?)",
            (result, count),
        )
    assert migrate(db) == [name]
    db.close()
    with open_store(tmp_path / "old.db") as store:
        tallies = {r.result: r for r in JobsRepository(store).tallies()}
    counts = {k: v.count for k, v in tallies.items()}
    assert counts == {"ok": 5, "error": 2, "timeout": 1, "cancelled": 2, "skipped": 7}
    assert sum(counts.values()) - counts["skipped"] == 10, "runs"
    assert counts["error"] + counts["timeout"] == 3, "errors"
    assert tallies["ok"].last_at == ny("2026-01-05 10:00"), "from the jobs row: history pruned"


def test_an_older_risk_report_never_replaces_a_newer_one(store: Any) -> None:
    repo = RiskRepository(store)

    def snapshot(at: datetime, bwd: str) -> RiskSnapshot:
        one = Decimal(1)
        return RiskSnapshot("5WT1", at, one, one, one, Decimal(bwd), one, one)

    repo.save(snapshot(ny("2026-03-10 11:00"), "10"))
    repo.save(snapshot(ny("2026-03-10 10:00"), "-99"))  # a slow process finishing late
    assert [r.beta_weighted_delta for r in repo.latest()] == [Decimal(10)]
    repo.save(snapshot(ny("2026-03-10 12:00"), "20.5"))
    assert [r.beta_weighted_delta for r in repo.latest()] == [Decimal("20.5")]


# -- --output ------------------------------------------------------------------------------------
def test_output_replaces_the_file_atomically_with_mode_0644(ttai: Any, tmp_path: Path) -> None:
    target = tmp_path / "textfile" / "ttai.prom"
    target.parent.mkdir()
    target.write_text("stale\n")
    old_inode = target.stat().st_ino
    with target.open() as reader:  # a scrape in progress keeps reading the old file whole
        previous = os.umask(0o077)  # a strict umask must not hide the file from node_exporter
        try:
            result = ttai("metrics", "--output", str(target))
        finally:
            os.umask(previous)
        assert reader.read() == "stale\n"
    assert (result.code, result.out, result.err) == (0, "", "")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.stat().st_ino != old_inode, "renamed over, not rewritten in place"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ttai.prom"], "no temp file left"
    assert "ttai_stream_connected" in Scrape(target.read_text()).families


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("missing/ttai.prom", "cannot write {path}: No such file or directory"),
        (".", "is a directory"),
    ],
)
def test_output_to_an_unusable_path_is_one_line_exit_2(
    ttai: Any, tmp_path: Path, where: str, expected: str
) -> None:
    path = tmp_path / where
    result = ttai("metrics", "--output", str(path))
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("ttai: ")
    assert expected.format(path=path) in result.err
    assert "Traceback" not in result.err


# -- ttai run --metrics-file -----------------------------------------------------------------------
def test_run_metrics_file_written_at_start_every_minute_and_at_exit(
    store: Any, clean_env: Path, tmp_path: Path
) -> None:
    clock = VirtualClock(ny("2026-03-10 10:00"))
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    clean_env.mkdir(parents=True, exist_ok=True)
    job = Job("fake")
    service = SchedulingService(settings, clock, store=store)
    target = tmp_path / "ttai.prom"
    seen: dict[str, Scrape] = {}

    def ok_runs(until: datetime) -> int:
        return sum(1 for slot, _ in job.history if slot <= until)

    async def scenario() -> int:
        stop = asyncio.Event()
        # every 7 s: no slot falls on a whole minute, so a run and a refresh never tie
        options = ScheduleOptions(every=timedelta(seconds=7))
        task = asyncio.ensure_future(
            service.run_jobs([job], options, stop=stop, max_chunk=86400, metrics_file=target)
        )
        for moment in ("10:00:59", "10:01:01", "10:01:59", "10:02:01"):
            await clock.drive(ny(f"2026-03-10 {moment}"), lambda: 2)  # the job and the refresher
            seen[moment] = Scrape(target.read_text())
        stop.set()
        return await task

    assert asyncio.run(scenario()) == 0
    final = Scrape(target.read_text())

    def runs(scrape: Scrape) -> float | None:
        return scrape.value("ttai_job_runs_total", job="fake", result="ok")

    assert runs(seen["10:00:59"]) == 0, "the file written at start, before the first run"
    assert seen["10:00:59"].value("ttai_job_running", job="fake") == 1
    assert runs(seen["10:01:01"]) == ok_runs(ny("2026-03-10 10:01")) == 9
    assert runs(seen["10:01:59"]) == 9, "not rewritten between two minutes"
    assert runs(seen["10:02:01"]) == ok_runs(ny("2026-03-10 10:02")) == 18
    assert runs(final) == len(job.history)
    assert final.value("ttai_job_running", job="fake") == 0, "written once more at exit"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_failing_metrics_file_is_logged_once_and_never_stops_the_run(
    store: Any, clean_env: Path, tmp_path: Path, caplog: Any
) -> None:
    clock = VirtualClock(ny("2026-03-10 10:00"))
    settings = load_settings(
        environ={"TTAI_HOME": str(clean_env), "TTAI_NOTIFICATION_BACKEND": "none"}
    )
    clean_env.mkdir(parents=True, exist_ok=True)
    job = Job("fake")
    service = SchedulingService(settings, clock, store=store)
    target = tmp_path / "not-yet" / "ttai.prom"
    caplog.set_level(logging.INFO, logger="ttai")

    async def scenario() -> int:
        stop = asyncio.Event()
        options = ScheduleOptions(every=timedelta(seconds=7))
        task = asyncio.ensure_future(
            service.run_jobs([job], options, stop=stop, max_chunk=86400, metrics_file=target)
        )
        await clock.drive(ny("2026-03-10 10:02:01"), lambda: 2)  # three writes fail
        assert not target.exists()
        target.parent.mkdir()  # the textfile directory appears (mounted late)
        await clock.drive(ny("2026-03-10 10:03:01"), lambda: 2)
        assert target.exists()
        stop.set()
        return await task

    assert asyncio.run(scenario()) == 0
    assert len(job.history) > 20, "the job kept its cadence throughout"
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "metrics file" in r.message
    ]
    assert len(warnings) == 1 and "No such file or directory" in warnings[0].message
    assert any("written again" in r.message for r in caplog.records)


def test_run_metrics_file_on_the_cli(ttai: Any, tmp_path: Path) -> None:
    target = tmp_path / "ttai.prom"
    result = ttai("--demo", "run", "alerts", "--ignore-market-hours", "--metrics-file", str(target))
    assert result.code == 0, result.err
    metrics = Scrape(target.read_text())
    assert metrics.value("ttai_job_runs_total", job="alerts", result="ok") == 1
    assert metrics.value("ttai_job_running", job="alerts") == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_metrics_file_with_dry_run_is_exit_2(ttai: Any, tmp_path: Path) -> None:
    result = ttai(
        "run", "--every", "1m", "--dry-run", "--metrics-file", str(tmp_path / "m"), "--", "true"
    )
    assert result.code == 2
    assert result.err == "ttai: --metrics-file goes with running jobs, not --dry-run\n"


# -- start-up ------------------------------------------------------------------------------------
def test_metrics_imports_neither_the_sdk_nor_pandas_nor_rich(clean_env: Path) -> None:
    probe = (
        "import sys\n"
        "from ttai_cli.app import main\n"
        "code = main(['metrics'])\n"
        "heavy = [m for m in ('tastytrade', 'pandas', 'pandas_market_calendars', 'rich', 'httpx') "
        "if m in sys.modules]\n"
        "print(code, heavy, file=sys.stderr)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.stderr.strip().splitlines()[-1] == "0 []"
    assert "ttai_build_info" in proc.stdout
