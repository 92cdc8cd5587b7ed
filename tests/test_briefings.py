"""Briefings for a scripted account on an injected clock: a half day, a holiday week, crontab."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.fakes import FakeClock, RecordingJob
from tests.test_broker import make_broker
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.symbols import occ_symbol, parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.jobs.context import JobContext
from ttai_cli.jobs.records import BriefingJob
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.scheduling.catch_up import catch_up
from ttai_cli.scheduling.engine import Runner
from ttai_cli.scheduling.options import ScheduleOptions, build_schedule
from ttai_cli.scheduling.policy import Policy
from ttai_cli.services.briefings import best_and_worst, extremes_lines
from ttai_cli.services.portfolio import PositionView
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
    # two QQQ puts sold Wednesday, expiring Friday (the half day)
    qqq = occ_symbol("QQQ", date(2026, 11, 27), "P", D(470))
    acct.sim.account.trade(
        qqq,
        -2,
        "1.45",
        ny("2026-11-25 15:00"),
        underlying="QQQ",
        instrument_type="Equity Option",
        expires_at=ny("2026-11-27 13:00"),
    )
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
    # the demo book's 11 positions (five strategies) and the QQQ puts
    assert m["positions"] == 12 and m["strategies"] == 6 and m["active_alerts"] == 1
    assert m["early_close"] is True and m["close"] == "2026-11-27T13:00:00-05:00"
    assert m["expiring"] == [{"strategy": "QQQ short put 11/27", "symbols": [qqq], "dte": 0}]
    assert ("Market", ["Early close today: NYSE closes at 13:00"]) in morning.sections
    assert dict(morning.sections)["Expiring within 7 days (1)"] == ["QQQ short put 11/27: 0 DTE"]

    acct.at("2026-11-27 10:00")
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
    # the iron condor's short put bought back
    spy = next(
        s
        for s, p in acct.sim.account.positions.items()
        if s.startswith("SPY") and p.quantity < 0 and s[12] == "P"
    )
    sold = acct.sim.account.positions[spy].average_open_price
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
    # sold at `sold`, bought back at 2.00: x 100, less $1.00 commission and $0.13 fees
    # each way (for a sale at 6.40 that is 640 - 200 - 1.26 = 438.74)
    assert w["realized_by_underlying"] == {"SPY": float((sold - 2) * 100 - D("1.26"))}
    assert w["alerts_fired"] == 0
    assert w["best"] is not None and w["worst"] is not None and w["best"] != w["worst"]
    assert ("Activity", ["2 trades", "0 alerts fired"]) in weekly.sections


@pytest.mark.parametrize("account", ["2026-12-01 09:30"], indirect=True)
def test_morning_risk_line_and_the_weeks_earnings_and_ex_dividend_dates(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    morning = asyncio.run(acct.context(server).briefings().build("morning"))
    headings = [heading for heading, _ in morning.sections]
    assert headings[1:4] == ["Account", "Risk", "Earnings and ex-dividend within 7 days (2)"]
    assert headings[0] == "To do"  # the to-do list opens the briefing
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
    return dict(weekly.sections)["Best and worst strategies"]


def only(acct: Account, *trades: tuple[str, int, str, str]) -> None:
    """The account emptied, then (symbol, quantity, open price, mark now) traded the day
    before and pinned: an option's underlying is its root."""
    acct.sim.account.positions.clear()
    opened = acct.clock.now() - timedelta(days=1)
    for symbol, quantity, price, mark in trades:
        occ = parse_occ(symbol)
        if occ is None:
            acct.sim.account.trade(symbol, quantity, price, opened)
        else:
            acct.sim.account.trade(
                symbol,
                quantity,
                price,
                opened,
                underlying=occ.root.strip(),
                instrument_type="Equity Option",
                expires_at=ny(f"{occ.expiration} 16:00"),
                order_id=7,
            )
        acct.sim.market.pin(symbol, float(mark), float(mark))


def all_up(acct: Account) -> None:
    """100 AAPL bought at 200.00, now 237.80: +$3,780.00, +18.90 % of the $20,000 debit;
    an SPY iron condor 12/31 for a $200 credit (1.50 + 1.40 - 0.50 - 0.40), $60 to close
    (0.40 + 0.40 - 0.10 - 0.10): +$140.00, +70.00 % of the credit."""
    only(
        acct,
        ("AAPL", 100, "200.00", "237.80"),
        (occ_symbol("SPY", date(2026, 12, 31), "P", D(500)), 1, "0.50", "0.10"),
        (occ_symbol("SPY", date(2026, 12, 31), "P", D(520)), -1, "1.50", "0.40"),
        (occ_symbol("SPY", date(2026, 12, 31), "C", D(620)), -1, "1.40", "0.40"),
        (occ_symbol("SPY", date(2026, 12, 31), "C", D(640)), 1, "0.40", "0.10"),
    )
    acct.sim.market.pin("SPY", 570.0, 570.0)


@pytest.mark.parametrize("account", ["2026-12-04 17:00"], indirect=True)
def test_weekly_best_is_the_largest_dollar_gain_not_the_largest_percent(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    all_up(acct)
    weekly = asyncio.run(acct.context(server).briefings().build("weekly"))
    best, smallest = dict(weekly.sections)["Best and worst strategies"]
    assert best == "Best: AAPL stock: P&L +$3,780.00 (+18.90% of debit)", "dollars and percent"
    assert weekly.data["best"] == "AAPL stock"
    # the condor gained more in percent: ranked by percent, AAPL would not be best
    assert smallest == (
        "Smallest gain: SPY iron condor 12/31, 27 DTE: P&L +$140.00 (+70.00% of credit)"
    )


@pytest.mark.parametrize("account", ["2026-12-04 17:00"], indirect=True)
def test_weekly_never_calls_a_gain_worst_when_everything_is_up(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    all_up(acct)
    lines = weekly_extremes(acct, server)
    assert [line.split(":")[0] for line in lines] == ["Best", "Smallest gain"]
    assert not any("Worst" in line for line in lines)


@pytest.mark.parametrize("account", ["2026-12-04 17:00"], indirect=True)
def test_weekly_never_calls_a_loss_best_when_everything_is_down(account) -> None:  # type: ignore[no-untyped-def]
    acct, server = account
    # 100 AAPL at 200.00, now 150.00: -$5,000.00, -25.00 % of the debit; two QQQ puts
    # sold at 1.45, now 5.00: (1.45 - 5.00) x 200 = -$710.00, -244.83 % of the $290 credit
    only(
        acct,
        ("AAPL", 100, "200.00", "150.00"),
        (occ_symbol("QQQ", date(2026, 12, 11), "P", D(470)), -2, "1.45", "5.00"),
    )
    acct.sim.market.pin("QQQ", 460.0, 460.0)
    lines = weekly_extremes(acct, server)
    assert lines == [
        "Smallest loss: QQQ short put 12/11, 7 DTE: P&L -$710.00 (-244.83% of credit)",
        "Worst: AAPL stock: P&L -$5,000.00 (-25.00% of debit)",
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
