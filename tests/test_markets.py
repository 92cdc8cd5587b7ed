"""Every market's own hours (#18): an alert is checked while its instrument's market is
open (NYSE for equities and equity options, CME Globex for futures and futures options,
crypto always), loops run while any market with an active alert is open, and
`market status` shows each market.

The jobs run through the real scheduling service, policy and guard, against the
simulated API over a real socket through the real SDK, on an injected clock; the
calendars come from the database cache, filled once per test session."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET, fill_calendar
from tests.fakes import FakeClock, VirtualClock
from tests.test_broker import make_broker
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import Settings, load_settings
from ttai_cli.jobs import create_job
from ttai_cli.jobs.base import RunContext
from ttai_cli.jobs.context import JobContext
from ttai_cli.jobs.stream import StreamJob
from ttai_cli.market.calendar import (
    CME_GLOBEX,
    MarketCalendar,
    Session,
    compute_sessions,
    source_version,
)
from ttai_cli.market.hours import MarketHours, OpenNow
from ttai_cli.market.instruments import CRYPTO, EQUITY, EQUITY_ONLY, FUTURES, market_of
from ttai_cli.scheduling.options import ScheduleOptions
from ttai_cli.scheduling.sessions import DuringMarkets, DuringSessions, MarketStreams
from ttai_cli.services.scheduling import DaemonOptions, SchedulingService
from ttai_cli.services.stream import StreamSettings
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer, serve
from ttai_cli.store import Store, open_store
from ttai_cli.store.alerts import AlertsRepository
from ttai_cli.store.jobs import JobsRepository

ES = "/ESM6"  # the June 2026 E-mini S&P 500 future
BTC = "BTC/USD"


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


# -- the calendars, computed once per test session ---------------------------------------------
@pytest.fixture(scope="session")
def cme_sessions() -> list[Session]:
    return compute_sessions(date(2024, 1, 1), date(2029, 12, 31), CME_GLOBEX)


def fill_futures(store: Store, sessions: list[Session]) -> None:
    with store.transaction() as db:
        db.executemany(
            "INSERT OR REPLACE INTO futures_sessions (date, open, close, early_close) VALUES (?, ?, ?, ?)",
            [
                (
                    s.date.isoformat(),
                    s.open.astimezone(UTC).isoformat(),
                    s.close.astimezone(UTC).isoformat(),
                    int(s.early_close),
                )
                for s in sessions
            ],
        )
        for key, value in (
            ("futures_calendar_from", "2024-01-01"),
            ("futures_calendar_to", "2029-12-31"),
            ("futures_calendar_source", source_version()),
        ):
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


@pytest.fixture
def mstore(store: Store, cme_sessions: list[Session]) -> Store:
    """The conftest store (NYSE cached) with the CME Globex calendar cached too."""
    fill_futures(store, cme_sessions)
    return store


@pytest.fixture
def home_db(
    clean_env: Path, nyse_sessions: list[Session], cme_sessions: list[Session]
) -> Iterator[Store]:
    """$TTAI_HOME's own database with both calendars cached: the CLI never needs pandas."""
    clean_env.mkdir(parents=True, exist_ok=True)
    settings = load_settings(environ={"TTAI_HOME": str(clean_env)})
    s = open_store(settings.database_path)
    fill_calendar(s, nyse_sessions, source_version())
    fill_futures(s, cme_sessions)
    yield s
    s.close()


# -- running a job once, as `ttai alerts check` / `ttai monitor` do -----------------------------
class Account:
    """The simulated API on an injected clock, the database, and the alerts job's wiring."""

    def __init__(self, store: Store, home: Path, clock: FakeClock, server: RunningServer) -> None:
        self.store, self.clock, self.server = store, clock, server
        home.mkdir(parents=True, exist_ok=True)
        self.settings: Settings = load_settings(
            environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"}
        )
        self.repo = AlertsRepository(store)

    def add(self, symbol: str, condition: str = "above", threshold: str = "1") -> int:
        return self.repo.add(parse_alert(symbol, "price", condition, threshold), self.clock.now())

    def status(self, alert_id: int) -> str:
        return next(a.status for a in self.repo.all_alerts() if a.id == alert_id)

    def run(self, job: str, **options: Any) -> int:
        """One run of `job` now (or its --dry-run-free schedule), like the CLI's."""
        context = JobContext(self.settings, self.store, self.clock, self.broker)
        service = SchedulingService(self.settings, self.clock, store=self.store)
        return asyncio.run(
            service.run_jobs(
                [create_job(job, context)], ScheduleOptions(**options), stop=asyncio.Event()
            )
        )

    def broker(self) -> Any:
        return make_broker(self.server)

    def last(self, job: str) -> Any:
        return JobsRepository(self.store).history(job, 1)[0]

    def quoted(self) -> set[str]:
        """Every symbol the simulated API was asked a quote for."""
        sim: SimulatedTastytrade = self.server.app  # type: ignore[attr-defined]
        return {
            symbol
            for exchange in sim.requests_to("/market-data/by-type")
            for values in exchange.query.values()
            for raw in values
            for symbol in raw.split(",")
        }


@pytest.fixture
def account(mstore: Store, clean_env: Path) -> Iterator[Account]:
    clock = FakeClock(ny("2026-03-15T20:00"))
    sim = SimulatedTastytrade(
        seed=7,
        client_secret=CANARY_SECRET,
        refresh_token=CANARY_REFRESH,
        any_symbol=True,
        now=clock.now,
    )
    with serve(sim) as server:
        yield Account(mstore, clean_env, clock, server)


@pytest.fixture(autouse=True)
def _info_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ttai")


# -- which market an instrument keeps ----------------------------------------------------------
@pytest.mark.parametrize(
    ("symbol", "instrument_type", "market"),
    [
        ("AAPL", None, EQUITY),
        ("SPY   261218P00450000", None, EQUITY),
        ("BRK/B", None, EQUITY),  # a share class, not a currency pair
        ("SPX", None, EQUITY),
        ("", None, EQUITY),  # an account-level alert
        ("/ES", None, FUTURES),
        ("/ESZ6", None, FUTURES),
        ("./ESZ6 EW4Z6 261218C6000", None, FUTURES),
        ("BTC/USD", None, CRYPTO),
        ("ETH/USD", None, CRYPTO),
        ("ESZ6", "Future", FUTURES),
        ("EW4Z6 C6000", "Future Option", FUTURES),
        ("BTCUSD", "Cryptocurrency", CRYPTO),
        ("AAPL", "Equity Option", EQUITY),
        ("/ES", "Something New", FUTURES),  # an unknown type: the symbol decides
    ],
)
def test_market_of_equities_futures_and_crypto(
    symbol: str, instrument_type: str | None, market: str
) -> None:
    assert market_of(symbol, instrument_type) == market


# -- the acceptance cases -----------------------------------------------------------------------
def test_es_alert_fires_sunday_8pm_new_york(account: Account, caplog: Any) -> None:
    es, aapl = account.add(ES), account.add("AAPL")
    account.clock.set(ny("2026-03-15T20:00"))  # Sunday: CME Globex opened at 18:00

    assert account.run("alerts") == 0

    assert account.status(es) == "triggered"
    assert account.status(aapl) == "active", "NYSE is closed: the AAPL alert waits"
    assert ES in account.quoted() and "AAPL" not in account.quoted()
    run = account.last("alerts")
    assert run.result == "ok"
    assert "1 alert checked, 1 fired, 1 alert waits for NYSE to open" in caplog.text


def test_es_alert_skipped_weekday_1730_halt(account: Account) -> None:
    es = account.add(ES)
    account.clock.set(ny("2026-03-10T17:30"))  # Tuesday, in CME's daily 17:00-18:00 halt

    assert account.run("alerts") == 0

    skipped = account.last("alerts")
    assert skipped.result == "skipped"
    assert skipped.reason == (
        "NYSE closed: after the 16:00 close; futures (CME Globex) closed: daily halt until 18:00"
    )
    assert account.status(es) == "active" and account.quoted() == set()

    account.clock.set(ny("2026-03-10T18:00"))  # the evening session opens
    assert account.run("alerts") == 0
    assert account.status(es) == "triggered"


def test_es_alert_skipped_on_christmas(account: Account) -> None:
    es = account.add(ES)
    account.clock.set(ny("2026-12-25T12:00"))  # Friday, Christmas Day: no CME session

    assert account.run("alerts") == 0

    skipped = account.last("alerts")
    assert skipped.result == "skipped"
    assert skipped.reason == (
        "NYSE closed: holiday (no session on Fri 2026-12-25); "
        "futures (CME Globex) closed: holiday until Sun 18:00"
    )
    assert account.status(es) == "active" and account.quoted() == set()


def test_btc_alert_fires_on_saturday(account: Account, caplog: Any) -> None:
    btc, es, aapl = account.add(BTC), account.add(ES), account.add("AAPL")
    account.clock.set(ny("2026-03-14T12:00"))  # Saturday: only crypto trades

    assert account.run("monitor") == 0  # every alert kind, as `ttai monitor`

    assert account.status(btc) == "triggered"
    assert account.status(es) == "active" and account.status(aapl) == "active"
    assert BTC in account.quoted() and not {ES, "AAPL"} & account.quoted()
    assert "2 alerts wait for NYSE and futures (CME Globex) to open" in caplog.text


def test_equity_alert_unchanged(account: Account) -> None:
    """An equity-only account: NYSE's hours and reasons, word for word as before #18."""
    aapl = account.add("AAPL")
    account.clock.set(ny("2026-03-15T20:00"))  # Sunday evening: CME is open, NYSE is not
    assert account.run("alerts") == 0
    skipped = account.last("alerts")
    assert (skipped.result, skipped.reason) == ("skipped", "market closed: Sunday")
    assert account.status(aapl) == "active" and account.quoted() == set()

    account.clock.set(ny("2026-03-16T10:00"))
    assert account.run("alerts") == 0
    assert account.status(aapl) == "triggered"
    service = SchedulingService(account.settings, account.clock, store=account.store)
    job = create_job(
        "alerts", JobContext(account.settings, account.store, account.clock, account.broker)
    )
    previews = service.dry_run(
        job,
        ScheduleOptions(
            every=timedelta(hours=8), now=ny("2026-03-13T08:00"), dry_run=True, count=4
        ),
    )
    assert [(f"{p.at:%a %H:%M}", p.action, p.reason) for p in previews] == [
        ("Fri 08:00", "skip", "market closed: before the 09:30 open"),
        ("Fri 16:00", "run", "at the 16:00 close"),
        ("Sat 00:00", "skip", "market closed: Saturday"),
        ("Sat 08:00", "skip", "market closed: Saturday"),
    ]


def test_an_equity_alert_slot_at_the_close_still_checks_it_beside_futures(
    account: Account,
) -> None:
    """A slot at NYSE's close belongs to the session for an equity alert, also when an
    /ES alert makes the run futures' too."""
    es, aapl = account.add(ES), account.add("AAPL")
    account.clock.set(ny("2026-03-16T16:00"))
    assert account.run("alerts") == 0
    assert account.status(es) == "triggered" and account.status(aapl) == "triggered"


# -- DST weeks: the CME Sunday open is 18:00 New York on both sides of the change ---------------
@pytest.mark.parametrize(
    ("sunday", "offset"),
    [
        ("2026-03-08", "-04:00"),  # clocks went forward at 02:00 that morning
        ("2026-11-01", "-05:00"),  # clocks went back at 02:00 that morning
        ("2027-03-14", "-04:00"),
        ("2027-11-07", "-05:00"),
    ],
)
def test_cme_sunday_open_is_18_00_new_york_in_dst_change_weeks(
    mstore: Store, sunday: str, offset: str
) -> None:
    hours = MarketHours(mstore)
    before = hours.state(FUTURES, ny(f"{sunday}T17:59"))
    assert not before.open
    assert before.next_open is not None
    assert before.next_open.isoformat() == f"{sunday}T18:00:00{offset}"
    assert before.reason == "closed: weekend until 18:00"
    assert hours.is_open(FUTURES, ny(f"{sunday}T18:00"))
    # the whole week keeps New York's 17:00 halt and 18:00 reopen
    monday = date.fromisoformat(sunday) + timedelta(days=1)
    for day in (monday + timedelta(days=n) for n in range(4)):
        assert not hours.is_open(FUTURES, ny(f"{day}T17:00"))
        assert not hours.is_open(FUTURES, ny(f"{day}T17:59:59"))
        assert hours.is_open(FUTURES, ny(f"{day}T16:59:59")) and hours.is_open(
            FUTURES, ny(f"{day}T18:00")
        )
    # the daemon's polling schedule for an /ES alert starts at that open, on UTC's grid
    schedule = DuringMarkets(
        MarketCalendar(mstore), timedelta(minutes=1), lambda: frozenset({EQUITY, FUTURES})
    )
    first = schedule.first(ny(f"{sunday}T12:00"))
    assert first is not None and first.astimezone(NEW_YORK).isoformat() == (
        f"{sunday}T18:00:00{offset}"
    )


def test_es_alert_fires_at_the_sunday_open_in_the_march_dst_week(account: Account) -> None:
    es = account.add(ES)
    account.clock.set(ny("2026-03-08T17:59"))
    assert account.run("alerts") == 0
    assert account.last("alerts").result == "skipped" and account.status(es) == "active"
    account.clock.set(ny("2026-03-08T18:00"))
    assert account.run("alerts") == 0
    assert account.status(es) == "triggered"


# -- loops run while any market with an active alert is open ------------------------------------
def test_daemon_schedule_follows_the_markets_with_an_alert(mstore: Store) -> None:
    calendar = MarketCalendar(mstore)
    watched: set[str] = {EQUITY}
    schedule = DuringMarkets(calendar, timedelta(seconds=30), lambda: frozenset(watched))
    nyse = DuringSessions(calendar, timedelta(seconds=30))
    friday_evening = ny("2026-03-13T18:00")
    # NYSE alone: exactly the session schedule (next: Monday's open)
    assert schedule.first(friday_evening) == nyse.first(friday_evening)
    slot = schedule.first(friday_evening)
    assert slot is not None and slot.astimezone(NEW_YORK) == ny("2026-03-16T09:30")
    assert schedule.revise(slot, ny("2026-03-14T10:00")) is None
    # a BTC alert added on Saturday: the sleeping runner moves its slot to now
    watched.add(CRYPTO)
    assert schedule.revise(slot, ny("2026-03-14T10:00:10")) is None, "looks once a minute"
    sooner = schedule.revise(slot, ny("2026-03-14T10:01:05"))
    assert sooner is not None and sooner.astimezone(NEW_YORK) == ny("2026-03-14T10:01:30")
    # with futures only, from Friday's 17:00 close to Sunday's 18:00 open
    watched.discard(CRYPTO)
    watched.add(FUTURES)
    after_close = schedule.after(ny("2026-03-13T16:59:30"))
    assert after_close is not None and after_close.astimezone(NEW_YORK) == ny("2026-03-15T18:00")


def test_daemon_asleep_until_monday_checks_a_btc_alert_added_on_saturday_within_a_minute(
    mstore: Store, clean_env: Path
) -> None:
    clock = VirtualClock(ny("2026-03-14T09:55"))  # Saturday: NYSE and CME closed
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
    repo = AlertsRepository(mstore)
    aapl = repo.add(parse_alert("AAPL", "price", "above", "1"), clock.now())
    with serve(sim) as server:
        context = JobContext(settings, mstore, clock, lambda: make_broker(server))
        jobs = [create_job("alerts", context)]
        service = SchedulingService(settings, clock, store=mstore)
        stop = asyncio.Event()
        added: list[int] = []

        async def weekend() -> int:
            daemon = asyncio.ensure_future(
                service.run_jobs(
                    jobs, ScheduleOptions(), daemon=DaemonOptions(), stop=stop, max_chunk=60
                )
            )
            await clock.drive(ny("2026-03-14T10:00"), lambda: len(jobs))
            (status,) = JobsRepository(mstore).statuses()
            assert status.next_run_at == ny("2026-03-16T09:30"), "asleep until NYSE opens"
            added.append(repo.add(parse_alert(BTC, "price", "above", "1"), clock.now()))
            await clock.drive(ny("2026-03-14T10:05"), lambda: len(jobs))
            stop.set()
            return await daemon

        assert asyncio.run(weekend()) == 0
    runs = [r for r in JobsRepository(mstore).history("alerts", 50) if r.result == "ok"]
    first = min(r.slot for r in runs if r.slot is not None)
    assert ny("2026-03-14T10:00") < first <= ny("2026-03-14T10:01:30")
    statuses = {a.id: a.status for a in repo.all_alerts()}
    assert statuses[added[0]] == "triggered" and statuses[aapl] == "active"


def test_stream_schedule_stays_connected_while_a_watched_market_is_open(mstore: Store) -> None:
    calendar = MarketCalendar(mstore)
    watched: set[str] = {EQUITY, FUTURES}
    schedule = MarketStreams(calendar, lambda: frozenset(watched))
    hours = MarketHours(mstore)
    monday = ny("2026-03-16T09:30")
    assert schedule.first(monday) == monday
    # one stretch: NYSE's day inside CME's, to the 17:00 halt; then the 18:00 open
    assert hours.open_until(watched, monday) == ny("2026-03-16T17:00")
    following = schedule.after(monday)
    assert following is not None and following.astimezone(NEW_YORK) == ny("2026-03-16T18:00")
    assert hours.open_until(EQUITY_ONLY, monday) == ny("2026-03-16T16:00")
    watched.add(CRYPTO)
    assert hours.open_until(watched, monday) is None, "crypto never closes"


# -- the stream: each tick evaluates the alerts whose market is open ----------------------------
class SundayEvening:
    """Real seconds pass, on a wall clock that reads Sunday evening in New York."""

    def __init__(self, start: datetime) -> None:
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        return (self.start + timedelta(seconds=time.monotonic() - self.t0)).astimezone(NEW_YORK)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def test_stream_evaluates_an_es_tick_on_sunday_evening_not_an_equity_one(
    mstore: Store, clean_env: Path
) -> None:
    clock = SundayEvening(ny("2026-03-15T20:00"))
    sim = SimulatedTastytrade(
        seed=5,
        client_secret=CANARY_SECRET,
        refresh_token=CANARY_REFRESH,
        any_symbol=True,
        now=clock.now,
    )
    sim.streams.tick_interval = 0.05
    repo = AlertsRepository(mstore)
    es = repo.add(parse_alert(ES, "price", "above", "1"), clock.now())
    aapl = repo.add(parse_alert("AAPL", "price", "above", "1"), clock.now())
    clean_env.mkdir(parents=True, exist_ok=True)
    db_path = Path(mstore.db.execute("PRAGMA database_list").fetchone()[2])
    with serve(sim) as server:
        settings = load_settings(
            environ={
                "TTAI_HOME": str(clean_env),
                "TTAI_API_URL": server.url,
                "TASTYTRADE_CLIENT_SECRET": CANARY_SECRET,
                "TASTYTRADE_REFRESH_TOKEN": CANARY_REFRESH,
                "TTAI_NOTIFICATION_BACKEND": "none",
            }
        )
        stop: list[asyncio.Event] = []
        ticks: list[int] = []

        async def stream() -> None:
            store = open_store(db_path)  # the stream's own connection, like another process
            context = JobContext(settings, store, clock, lambda: make_broker(server))
            job = StreamJob(context, StreamSettings(follow_every=0.1, slow_kinds=()))
            ctx = RunContext("stream", clock.now(), clock, True)  # a run keeping market hours
            stop.append(asyncio.Event())
            try:
                report = await job.build_service(ctx).run(stop[0], None)
                ticks.append(report.ticks)
            finally:
                await context.aclose()
                store.close()

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=lambda: loop.run_until_complete(stream()), daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and next(a.status for a in repo.all_alerts() if a.id == es) != "triggered"
        ):
            time.sleep(0.05)
        # a few more ticks of both symbols: the AAPL alert must still not fire
        time.sleep(0.5)
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()
    statuses = {a.id: a.status for a in repo.all_alerts()}
    assert statuses[es] == "triggered"
    assert statuses[aapl] == "active", "NYSE is closed on Sunday evening"
    assert ticks and ticks[0] > 0


def test_open_now_asks_the_calendar_once_per_change(mstore: Store) -> None:
    clock = FakeClock(ny("2026-03-16T15:59"))
    open_now = OpenNow(MarketHours(mstore), clock)
    assert open_now(EQUITY) and open_now(FUTURES) and open_now(CRYPTO)
    clock.set(ny("2026-03-16T16:00"))
    assert not open_now(EQUITY) and open_now(FUTURES)
    clock.set(ny("2026-03-16T17:00"))
    assert not open_now(FUTURES) and open_now(CRYPTO)


# -- what the user sees -----------------------------------------------------------------------
def test_market_status_json_shows_every_market(ttai: Any, home_db: Store) -> None:
    result = ttai("market", "status", "--now", "2026-03-15T20:00", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert body["open"] is False and body["reason"] == "market closed: Sunday"
    assert body["markets"] == {
        "equity": {
            "open": False,
            "next_open": "2026-03-16T09:30:00-04:00",
            "next_close": "2026-03-16T16:00:00-04:00",
        },
        "futures": {
            "open": True,
            "next_open": "2026-03-16T18:00:00-04:00",
            "next_close": "2026-03-16T17:00:00-04:00",
        },
        "crypto": {"open": True, "next_open": None, "next_close": None},
    }
    human = ttai("market", "status", "--now", "2026-12-25T12:00")
    assert human.code == 0, human.err
    lines = human.out.splitlines()
    rows = [" ".join(line.strip("│ ").split()) for line in lines if line.startswith("│")]
    assert rows[-3:] == [
        "Equities: NYSE │ closed: holiday; opens Mon 09:30",
        "Futures: CME Globex │ closed: holiday until Sun 18:00",
        "Crypto │ open (it never closes)",
    ]
    assert max(len(line) for line in lines) <= 80


def test_market_status_on_sunday_evening_says_futures_run_to_mondays_halt(
    ttai: Any, home_db: Store
) -> None:
    """Sunday 19:00: the session CME opened at 18:00 halts on Monday at 17:00, not
    "the 17:00 halt" (today's 17:00 has passed); and the NYSE table says "closed" once,
    not `Market │ market closed`."""
    result = ttai("market", "status", "--now", "2026-12-06T19:00")
    assert result.code == 0, result.err
    rows = [" ".join(line.strip("│ ").split()) for line in result.out.splitlines()]
    assert "Market │ closed: Sunday" in rows
    assert "Futures: CME Globex │ open until Mon 17:00 (daily halt)" in rows
    # the same session on Monday at 10:00: today's halt, no weekday
    monday = ttai("market", "status", "--now", "2026-12-07T10:00")
    rows = [" ".join(line.strip("│ ").split()) for line in monday.out.splitlines()]
    assert "Market │ open until the 16:00 close" in rows
    assert "Futures: CME Globex │ open until 17:00 (daily halt)" in rows
    # an early close on the Friday after Thanksgiving, and Friday's close before the weekend
    for now, line in (
        ("2026-11-27T10:00", "open until 13:15 (early close)"),
        ("2026-12-04T12:00", "open until 17:00 (closed until Sun 18:00)"),
    ):
        rows = [
            " ".join(row.strip("│ ").split())
            for row in ttai("market", "status", "--now", now).out.splitlines()
        ]
        assert f"Futures: CME Globex │ {line}" in rows, rows


def test_dry_run_names_the_market_in_each_reason(ttai: Any, home_db: Store) -> None:
    added = ttai("alerts", "add", ES, "above", "1")
    assert added.code == 0, added.err  # no credentials: added unchecked, with a warning
    result = ttai(
        "alerts", "check", "--every", "30m", "--dry-run", "--now", "2026-03-13T16:00",
        "--count", "5", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    slots = [(s["at"][11:16], s["action"], s["reason"]) for s in json.loads(result.out)]
    assert slots == [
        (
            "16:00",
            "run",
            "futures (CME Globex) open until 17:00 (closed until Sun 18:00); "
            "NYSE closed: after the 16:00 close",
        ),
        (
            "16:30",
            "run",
            "futures (CME Globex) open until 17:00 (closed until Sun 18:00); "
            "NYSE closed: after the 16:00 close",
        ),
        (
            "17:00",
            "skip",
            "NYSE closed: after the 16:00 close; "
            "futures (CME Globex) closed: weekend until Sun 18:00",
        ),
        (
            "17:30",
            "skip",
            "NYSE closed: after the 16:00 close; "
            "futures (CME Globex) closed: weekend until Sun 18:00",
        ),
        (
            "18:00",
            "skip",
            "NYSE closed: after the 16:00 close; "
            "futures (CME Globex) closed: weekend until Sun 18:00",
        ),
    ]
