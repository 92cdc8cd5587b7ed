"""Briefings for a scripted account on an injected clock: a half day, a holiday week, crontab."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.fakes import FakeClock, RecordingJob
from tests.test_broker import make_broker
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.jobs.context import JobContext
from ttai_cli.jobs.records import BriefingJob
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.scheduling.engine import Runner, catch_up
from ttai_cli.scheduling.options import ScheduleOptions, build_schedule
from ttai_cli.scheduling.policy import Policy
from ttai_cli.services.briefings import best_and_worst, extremes_lines
from ttai_cli.services.portfolio import PortfolioService, PositionView
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer, serve
from ttai_cli.store.jobs import JobsRepository
from ttai_cli.store.records import RecordsRepository

D = Decimal


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


class Account:
    """A simulated account whose history is built around the fake clock's first day."""

    def __init__(self, store, home: Path, start: str) -> None:  # type: ignore[no-untyped-def]
        self.clock = FakeClock(ny(start))
        self.sim = SimulatedTastytrade(
            any_symbol=True,
            seed=5,
            now=self.clock.now,
            client_secret=CANARY_SECRET,
            refresh_token=CANARY_REFRESH,
        )
        self.store = store
        home.mkdir(parents=True, exist_ok=True)
        self.settings = load_settings(
            environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"}
        )

    def context(self, server: RunningServer) -> JobContext:
        return JobContext(self.settings, self.store, self.clock, lambda: make_broker(server))

    def at(self, text: str) -> None:
        self.clock.set(ny(text))


@pytest.fixture
def account(
    store, clean_env: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Account, RunningServer]]:  # type: ignore[no-untyped-def]
    acct = Account(store, clean_env, request.param)
    with serve(acct.sim) as server:
        yield acct, server


@pytest.mark.parametrize("account", ["2026-11-25 16:05"], indirect=True)
def test_half_day_morning_and_eod_at_1300_field_by_field(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    ctx = acct.context(server)
    asyncio.run(ctx.sync().run())  # Wednesday after the close: the previous close's snapshot
    wednesday = RecordsRepository(acct.store).latest_balances()
    assert wednesday is not None
    ctx.alerts(notify=False).add(parse_alert("AAPL", "price", "above", "1"))

    acct.at("2026-11-27 09:30")  # Friday after Thanksgiving: a 13:00 half day
    morning = asyncio.run(ctx.briefings().build("morning"))
    friday = RecordsRepository(acct.store).latest_balances()
    assert friday is not None
    m = morning.data
    assert m["net_liquidating_value"] == float(friday.net_liquidating_value)
    assert m["nlv_change"] == float(friday.net_liquidating_value - wednesday.net_liquidating_value)
    assert m["nlv_change_estimated"] is False
    assert m["buying_power"] == float(friday.derivative_buying_power)
    assert m["positions"] == 5 and m["active_alerts"] == 1
    assert m["early_close"] is True and m["close"] == "2026-11-27T13:00:00-05:00"
    assert [e["symbol"].split()[0] for e in m["expiring"]] == ["QQQ"] and m["expiring"][0][
        "dte"
    ] == 0
    assert ("Market", ["Early close today: NYSE closes at 13:00"]) in morning.sections

    acct.at("2026-11-27 10:00")
    qqq = next(s for s in acct.sim.account.positions if s.startswith("QQQ"))
    acct.sim.account.trade(qqq, 2, "0.40", acct.clock.now())  # bought back
    acct.sim.account.trade("NVDA", 10, "140.00", acct.clock.now())
    asyncio.run(ctx.alerts().check())  # the AAPL alert fires
    asyncio.run(ctx.sync().run())

    eod_slot = (
        BriefingJob(ctx, "eod")
        .default_schedule(MarketCalendar(acct.store))
        .first(ny("2026-11-27 09:00"))
    )  # type: ignore[union-attr]
    assert eod_slot == ny("2026-11-27 13:00"), "eod at the real close of a half day"
    acct.at("2026-11-27 13:00")
    eod = asyncio.run(ctx.briefings().build("eod"))
    e = eod.data
    # QQQ: sold 2 @ 1.45 (+290.00 - 2.00 commission - 0.26 fees), bought 2 @ 0.40 (-80.00 - 0.26 fees)
    assert e["realized_pnl"] == 207.48
    assert e["closed"] == [qqq] and e["opened"] == ["NVDA"]
    assert e["alerts_fired"] == 1
    assert e["day_pnl"] == round(e["realized_pnl"] + e["unrealized_pnl"], 2)
    assert eod.title == "End-of-day briefing · Fri Nov 27, 2026"
    assert any(
        line.startswith("AAPL is now")
        for heading, lines in eod.sections
        if heading.startswith("Alerts fired")
        for line in lines
    )


@pytest.mark.parametrize("account", ["2026-03-30 16:10"], indirect=True)
def test_holiday_week_weekly_review_on_thursday_field_by_field(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    ctx = acct.context(server)
    weekly_slot = BriefingJob(ctx, "weekly").default_schedule(MarketCalendar(acct.store))
    assert weekly_slot is not None
    first = weekly_slot.first(ny("2026-03-30 08:00"))
    assert first == ny("2026-04-02 17:00"), "Good Friday: the week ends on Thursday"
    assert weekly_slot.after(first) == ny("2026-04-10 17:00")

    asyncio.run(ctx.sync().run())  # Monday
    monday = RecordsRepository(acct.store).latest_balances()
    acct.at("2026-03-31 11:00")
    spy = next(s for s in acct.sim.account.positions if s.startswith("SPY"))
    acct.sim.account.trade(spy, 1, "2.00", acct.clock.now())
    asyncio.run(ctx.sync().run())  # Tuesday
    acct.at("2026-04-01 12:00")
    acct.sim.account.trade("NVDA", 5, "140.00", acct.clock.now())
    asyncio.run(ctx.sync().run())  # Wednesday
    acct.at("2026-04-02 17:00")
    weekly = asyncio.run(ctx.briefings().build("weekly"))
    w = weekly.data
    thursday = RecordsRepository(acct.store).latest_balances()
    assert monday is not None and thursday is not None
    assert [n["date"] for n in w["nlv"]] == ["2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02"]
    assert w["week_pnl"] == float(thursday.net_liquidating_value - monday.net_liquidating_value)
    assert w["trades"] == 2
    assert w["realized_by_underlying"] == {"SPY": 438.74}  # sold 6.40, bought back 2.00, after fees
    assert w["alerts_fired"] == 0
    assert w["best"] is not None and w["worst"] is not None and w["best"] != w["worst"]
    assert ("Activity", ["2 trades", "0 alerts fired"]) in weekly.sections


@pytest.mark.parametrize("account", ["2026-12-01 09:30"], indirect=True)
def test_morning_risk_line_and_the_weeks_earnings_and_ex_dividend_dates(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    morning = asyncio.run(acct.context(server).briefings().build("morning"))
    headings = [heading for heading, _ in morning.sections]
    assert headings[:3] == ["Account", "Risk", "Earnings and ex-dividend within 7 days (2)"]
    risk = morning.data["risk"]
    (line,) = dict(morning.sections)["Risk"]
    assert line.startswith(f"Buying power used {risk['buying_power_used_percent']:.1f}%")
    assert "SPY shares" in line and "/day" in line and risk["theta"] > 0
    # the demo book: AAPL goes ex-dividend in 3 days, TSLA reports in 6; SPY's ex-date in
    # 12 days is past the briefing's week
    assert dict(morning.sections)["Earnings and ex-dividend within 7 days (2)"] == [
        "AAPL ex-dividend Fri 12/04 (in 3 days)",
        "TSLA earnings Mon 12/07 (in 6 days)",
    ]
    assert [(e["symbol"], e["days"]) for e in morning.data["events"]] == [("AAPL", 3), ("TSLA", 6)]


@pytest.mark.parametrize("account", ["2026-12-01 09:30"], indirect=True)
def test_morning_without_risk_figures_still_goes_out_and_says_so(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    acct.sim.faults.add("status", "/market-metrics", times=100, status=503)
    morning = asyncio.run(acct.context(server).briefings().build("morning"))
    assert morning.data["risk"] is None
    assert "Risk" not in dict(morning.sections)
    assert any(n.startswith("Risk figures unavailable (tastytrade error") for n in morning.notes)


@pytest.mark.parametrize("account", ["2026-11-23 08:00"], indirect=True)
def test_briefing_without_any_sync_says_it_cannot(account) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.errors import BrokerError

    acct, server = account
    acct.sim.faults.add("status", None, times=100, status=503)
    ctx = acct.context(server)
    with pytest.raises(
        BrokerError,
        match="cannot build the morning briefing: nothing synced yet, and syncing failed: tastytrade error",
    ):
        asyncio.run(ctx.briefings().build("morning"))


def test_morning_catch_up_from_crontab_once_per_trading_day_never_on_a_holiday(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(ny("2026-11-23 09:00"))
    calendar = MarketCalendar(store)
    default = BriefingJob.__new__(BriefingJob)
    default.kind = "morning"
    job = RecordingJob(name="briefing-morning")
    repo = JobsRepository(store)
    # crontab: */5 * * * * ttai briefing morning --catch-up, Monday to Friday of Thanksgiving week
    for day in range(5):
        clock.set(ny("2026-11-23 09:00") + timedelta(days=day))
        for _ in range(24):  # 09:00 .. 10:55
            schedule = build_schedule(
                ScheduleOptions(catch_up=True),
                clock.now(),
                lambda: calendar,
                default.default_schedule,
            )
            runner = Runner(
                job, schedule, Policy(job.name, repo, None), clock, repo, asyncio.Event()
            )
            asyncio.run(catch_up(runner, timedelta(hours=1)))
            clock.advance(300)
    days = [f"{slot:%a %H:%M}" for slot, _ in job.history]
    assert days == ["Mon 09:30", "Tue 09:30", "Wed 09:30", "Fri 09:30"]
    assert all(started.strftime("%H:%M") == "09:30" for _, started in job.history)


def weekly_extremes(acct: Account, server: RunningServer) -> list[str]:
    weekly = asyncio.run(acct.context(server).briefings().build("weekly"))
    return dict(weekly.sections)["Best and worst positions"]


def pin_all_up(acct: Account) -> None:
    """Every position of the simulated account in profit: AAPL above its cost, the short
    puts far out of the money, TSLA inside its short strangle."""
    for symbol, price in (("AAPL", 250), ("SPY", 900), ("QQQ", 900), ("TSLA", 355)):
        acct.sim.market.pin(symbol, price)


@pytest.mark.parametrize("account", ["2026-12-04 17:00"], indirect=True)
def test_weekly_best_is_the_largest_dollar_gain_not_the_largest_percent(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    pin_all_up(acct)
    weekly = asyncio.run(acct.context(server).briefings().build("weekly"))
    best, _ = dict(weekly.sections)["Best and worst positions"]
    assert best == "Best: AAPL × 100: P&L +$3,780.00 (+17.81%)", "dollars and percent"
    assert weekly.data["best"] == "AAPL"
    views = PortfolioService(lambda: make_broker(server), acct.clock, acct.store).stored_positions()
    assert any(v.pnl_percent is not None and v.pnl_percent > D("17.81") for v in views), (
        "a smaller position gained more in percent: ranked by percent, AAPL would not be best"
    )


@pytest.mark.parametrize("account", ["2026-12-04 17:00"], indirect=True)
def test_weekly_never_calls_a_gain_worst_when_everything_is_up(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    pin_all_up(acct)
    lines = weekly_extremes(acct, server)
    assert [line.split(":")[0] for line in lines] == ["Best", "Smallest gain"]
    assert lines[1] == "Smallest gain: TSLA 1/15/27 415C × -1, 42 DTE: P&L +$78.00 (+8.52%)"
    assert not any("Worst" in line for line in lines)


@pytest.mark.parametrize("account", ["2026-12-04 17:00"], indirect=True)
def test_weekly_never_calls_a_loss_best_when_everything_is_down(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    for symbol in [s for s in acct.sim.account.positions if s.startswith("TSLA")]:
        acct.sim.account.trade(symbol, 1, "20.00", acct.clock.now())  # the strangle bought back
    for symbol, price in (("AAPL", 150), ("SPY", 300), ("QQQ", 200)):
        acct.sim.market.pin(symbol, price)
    lines = weekly_extremes(acct, server)
    assert lines == [
        "Smallest loss: AAPL × 100: P&L -$6,220.00 (-29.31%)",
        "Worst: QQQ 12/11 445P × -2, 7 DTE: P&L -$48,642.00 (-16773.10%)",
    ]


def view(symbol: str, pnl: str | None) -> PositionView:
    return PositionView(
        symbol, symbol, "Equity", D(100), D(10), D(10), 1, None, None,
        None if pnl is None else D(pnl), None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("pnls", "expected"),
    [
        ({"A": "50", "B": "-20", "C": None}, [("Best", "A"), ("Worst", "B")]),
        ({"A": "5", "B": "900"}, [("Best", "B"), ("Smallest gain", "A")]),
        ({"A": "-5", "B": "-900"}, [("Smallest loss", "A"), ("Worst", "B")]),
        ({"A": "0", "B": "-3"}, [("Flat", "A"), ("Worst", "B")]),
        ({"A": "7"}, [("Only position", "A")]),
        ({"A": None}, []),
    ],
    ids=["mixed", "all-up", "all-down", "flat-and-down", "one-position", "pnl-unknown"],
)
def test_best_and_worst_labels_follow_the_sign_of_the_pnl(
    pnls: dict[str, str | None], expected: list[tuple[str, str]]
) -> None:
    best, worst = best_and_worst([view(symbol, pnl) for symbol, pnl in pnls.items()])
    assert [(label, v.symbol) for label, v in extremes_lines(best, worst)] == expected


@pytest.mark.parametrize("account", ["2026-12-01 09:30"], indirect=True)
def test_morning_alert_list_shows_units_as_alerts_list_does(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    ctx = acct.context(server)
    alerts = ctx.alerts(notify=False)
    tsla = alerts.add(parse_alert("TSLA", "pnl", "loss", "200"))
    aapl = alerts.add(parse_alert("AAPL", "price", "above", "185.10"))
    account_wide = alerts.add(parse_alert(None, "bp-usage", "above", "50"))
    morning = asyncio.run(ctx.briefings().build("morning"))
    assert dict(morning.sections)["Active alerts (3)"] == [
        f"#{tsla} TSLA P&L loss 200%",
        f"#{aapl} AAPL price above $185.10",
        f"#{account_wide} account BP usage above 50%",
    ]
