"""The morning briefing's to-do list (#18): a scripted account through the simulator and
the real briefing, the nothing-to-do line, alerts fired since the last briefing (the
job's own record), and each kind of item from the pure `action_items`; the demo's
morning briefing through the CLI. Money worked by hand in the comments."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET
from tests.fakes import FakeClock
from tests.test_broker import make_broker
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.models import Position
from ttai_cli.broker.symbols import occ_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.config_file import ManageDefaults
from ttai_cli.jobs.context import JobContext
from ttai_cli.jobs.records import BriefingJob
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.scheduling.engine import Runner
from ttai_cli.scheduling.policy import Policy
from ttai_cli.services.actions import action_items
from ttai_cli.services.briefings import Briefing
from ttai_cli.services.risk import EventDate
from ttai_cli.simulator.account import build_demo_account
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer, serve
from ttai_cli.store.alerts import FiredEvent
from ttai_cli.store.jobs import JobsRepository
from ttai_cli.strategies import Strategy, group_strategies

D = Decimal
TODAY = date(2026, 12, 1)  # a Tuesday
JAN8 = date(2027, 1, 8)
DEFAULTS = ManageDefaults()  # profit target 50 %, manage at 21 DTE, tested within 2 %


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


def option(root: str, expiration: str, right: str, strike: str) -> str:
    return occ_symbol(root, date.fromisoformat(expiration), right, D(strike))


# -- a scripted account in the simulator -------------------------------------------------------
# (root, expiration, right, strike, contracts, open price, mark now)
SCRIPTED = [
    # SPY iron condor 12/31 (30 DTE): credit (1.50 + 1.40 - 0.50 - 0.40) x 100 = $200; to
    # close (0.40 + 0.40 - 0.10 - 0.10) x 100 = $60; P&L +$140 = +70 % of the credit: close
    ("SPY", "2026-12-31", "P", "500", 1, "0.50", "0.10"),
    ("SPY", "2026-12-31", "P", "520", -1, "1.50", "0.40"),
    ("SPY", "2026-12-31", "C", "620", -1, "1.40", "0.40"),
    ("SPY", "2026-12-31", "C", "640", 1, "0.40", "0.10"),
    # QQQ short strangle 12/18 (17 DTE <= 21): credit (3.00 + 2.00) x 100 = $500; to close
    # (2.40 + 2.00) x 100 = $440; +$60 = +12 %; QQQ $495 is 9.1 % from both strikes
    ("QQQ", "2026-12-18", "P", "450", -1, "3.00", "2.40"),
    ("QQQ", "2026-12-18", "C", "540", -1, "2.00", "2.00"),
    # IWM put credit spread 1/15/27 (45 DTE): credit (2.50 - 1.00) x 100 = $150; to close
    # (3.40 - 1.60) x 100 = $180; -$30 = -20 %; IWM $249.10 is (249.10 - 245) / 249.10 =
    # 1.65 % above the 245 put: tested (within 2 %): roll the put down and out, or close
    ("IWM", "2027-01-15", "P", "240", 1, "1.00", "1.60"),
    ("IWM", "2027-01-15", "P", "245", -1, "2.50", "3.40"),
]
PRICES = {"SPY": 570.0, "QQQ": 495.0, "IWM": 249.10}
SCRIPTED_TO_DO = [
    "Close SPY iron condor 12/31: +70% of $200 credit",
    "Tested: IWM put credit spread 1/15/27 — IWM $249.10 is 1.6% from the 245 put; "
    "roll down/out or close (-$30, -20% of credit)",
    "Manage or roll QQQ short strangle 12/18: 17 DTE, +12%",
]


class Account:
    """The simulator's account emptied, then what a test trades in it; the clock fake."""

    def __init__(self, store, home: Path, start: str) -> None:  # type: ignore[no-untyped-def]
        self.clock = FakeClock(ny(start))
        self.sim = SimulatedTastytrade(
            any_symbol=True,
            seed=5,
            now=self.clock.now,
            client_secret=CANARY_SECRET,
            refresh_token=CANARY_REFRESH,
        )
        self.sim.account.positions.clear()
        self.store = store
        home.mkdir(parents=True, exist_ok=True)
        self.settings = load_settings(
            environ={"TTAI_HOME": str(home), "TTAI_NOTIFICATION_BACKEND": "none"}
        )
        self.server: RunningServer | None = None

    def context(self) -> JobContext:
        server = self.server
        assert server is not None
        return JobContext(self.settings, self.store, self.clock, lambda: make_broker(server))

    def script(self, legs: list[tuple[str, str, str, str, int, str, str]]) -> None:
        """Open `legs` the day before, one order per underlying, and pin every price."""
        opened = self.clock.now() - timedelta(days=1)
        orders: dict[str, int] = {}
        for root, expiration, right, strike, contracts, price, mark in legs:
            symbol = option(root, expiration, right, strike)
            order = orders.setdefault(root, 900_000 + len(orders))
            expires = ny(f"{expiration} 16:00")
            self.sim.account.trade(
                symbol,
                contracts,
                price,
                opened,
                underlying=root,
                instrument_type="Equity Option",
                expires_at=expires,
                order_id=order,
            )
            self.sim.market.pin(symbol, float(mark), float(mark))
        for symbol, price in PRICES.items():
            self.sim.market.pin(symbol, price, price)

    def morning(self) -> Briefing:
        return asyncio.run(self.context().briefings().build("morning"))


@pytest.fixture
def account(store, clean_env: Path, request: pytest.FixtureRequest) -> Iterator[Account]:  # type: ignore[no-untyped-def]
    acct = Account(store, clean_env, getattr(request, "param", "2026-12-01 09:30"))
    with serve(acct.sim) as server:
        acct.server = server
        yield acct


def test_scripted_account_one_close_one_manage_one_tested_nothing_else(account: Account) -> None:
    account.script(SCRIPTED)
    account.sim.account.trade("MSFT", 10, "400.00", account.clock.now() - timedelta(days=1))
    account.sim.market.pin("MSFT", 410.0, 410.0)  # shares: no target, no expiration: fine
    morning = account.morning()
    assert morning.sections[0] == ("To do", SCRIPTED_TO_DO)
    assert morning.text().startswith(
        "To do:\n• Close SPY iron condor 12/31: +70% of $200 credit\n• Tested: IWM"
    )
    to_do = morning.data["to_do"]
    assert [(i["kind"], i["strategy"]) for i in to_do] == [
        ("close", "SPY iron condor 12/31"),
        ("tested", "IWM put credit spread 1/15/27"),
        ("manage", "QQQ short strangle 12/18"),
    ]
    assert to_do[0]["legs"] == [option("SPY", "2026-12-31", *leg) for leg in (
        ("P", "500"), ("P", "520"), ("C", "620"), ("C", "640"),
    )]  # fmt: skip
    # the briefing lists strategies, not legs: four of them hold nine positions
    assert morning.data["positions"] == 9 and morning.data["strategies"] == 4
    assert dict(morning.sections)["Strategies (4)"][-1] == (
        "SPY iron condor 12/31, 30 DTE: P&L +$140.00 (+70.00% of credit)"
    )


def test_nothing_to_do_is_one_line(account: Account) -> None:
    account.sim.account.trade("SPY", 10, "560.00", account.clock.now() - timedelta(days=1))
    account.sim.market.pin("SPY", 570.0, 570.0)
    morning = account.morning()
    assert morning.sections[0] == ("To do: nothing today", [])
    assert morning.text().startswith("To do: nothing today\n\nAccount:\n• ")
    assert morning.data["to_do"] == []


def run_morning(account: Account) -> Briefing:
    """The morning briefing as the scheduler runs it: the run is recorded (ok) in the
    job's history, which is what "since the last briefing" reads."""
    shown: list[Briefing] = []
    job = BriefingJob(account.context(), "morning", notify=False, show=shown.append)
    repo = JobsRepository(account.store)
    schedule = job.default_schedule(MarketCalendar(account.store))
    assert schedule is not None
    runner = Runner(
        job, schedule, Policy(job.name, repo, None), account.clock, repo, asyncio.Event()
    )
    asyncio.run(runner.execute(account.clock.now(), True))
    assert runner.outcome.runs == 1 and len(shown) == 1
    return shown[0]


@pytest.mark.parametrize("account", ["2026-11-30 09:30"], indirect=True)
def test_alerts_fired_since_the_last_morning_briefing(account: Account) -> None:
    account.sim.account.trade("SPY", 10, "560.00", account.clock.now() - timedelta(days=3))
    for symbol, price in PRICES.items():
        account.sim.market.pin(symbol, price, price)
    alerts = account.context().alerts()
    spy = alerts.add(parse_alert("SPY", "price", "above", "1"))
    account.clock.set(ny("2026-11-30 10:00"))
    asyncio.run(alerts.check())  # Monday 10:00: SPY fires, before any briefing

    account.clock.set(ny("2026-12-01 09:30"))
    tuesday = run_morning(account)  # no briefing before: since Monday's open (09:30)
    assert tuesday.sections[0] == (
        "To do",
        [f"Alert #{spy} fired Mon 10:00: SPY is now $570.00 (above $1.00)"],
    )
    qqq = alerts.add(parse_alert("QQQ", "price", "above", "1"))
    account.clock.set(ny("2026-12-01 11:00"))
    asyncio.run(alerts.check())  # Tuesday 11:00: QQQ fires, after Tuesday's briefing

    account.clock.set(ny("2026-12-02 09:30"))
    wednesday = run_morning(account)  # since Tuesday's briefing started (09:30)
    assert wednesday.sections[0] == (
        "To do",
        [f"Alert #{qqq} fired Tue 11:00: QQQ is now $495.00 (above $1.00)"],
    )
    assert wednesday.data["to_do"] == [
        {
            "kind": "alert",
            "text": f"Alert #{qqq} fired Tue 11:00: QQQ is now $495.00 (above $1.00)",
            "strategy": None,
            "reasons": [],
            "alert_id": qqq,
            "symbol": "QQQ",
            "times": 1,
        }
    ]


# -- each kind of item, from plain inputs ------------------------------------------------------
def position(symbol: str, quantity: int, opened: str, mark: str) -> Position:
    is_option = len(symbol) > 6
    return Position(
        symbol=symbol,
        underlying_symbol=symbol[:6].strip(),
        instrument_type="Equity Option" if is_option else "Equity",
        quantity=D(quantity),
        average_open_price=D(opened),
        close_price=D(mark),
        multiplier=D(100 if is_option else 1),
        mark=D(mark),
        expires_at=None,
    )


def strategies(prices: dict[str, str], *legs: Position) -> list[Strategy]:
    return group_strategies(legs, (), {s: D(p) for s, p in prices.items()}, today=TODAY)


def texts(items: list[object]) -> list[str]:
    return [item.text for item in items]  # type: ignore[attr-defined]


def test_earnings_before_a_strategys_expiration() -> None:
    held = strategies(
        {"TSLA": "340", "AAPL": "230", "MSFT": "420"},
        # TSLA reports Mon 12/7, before this strangle expires (1/15/27): an item
        position(option("TSLA", "2027-01-15", "P", "270"), -1, "9.00", "8.00"),
        position(option("TSLA", "2027-01-15", "C", "420"), -1, "8.00", "7.00"),
        # AAPL reports Mon 12/7 too, after its put expires (Fri 12/4): none
        position(option("AAPL", "2026-12-04", "P", "200"), -1, "1.00", "0.80"),
        # MSFT reports Fri 12/11: 10 days out, past the week the list looks at: none
        position(option("MSFT", "2027-01-15", "P", "380"), -1, "5.00", "4.00"),
    )
    events = [
        EventDate("TSLA", "earnings", date(2026, 12, 7), 6),
        EventDate("AAPL", "earnings", date(2026, 12, 7), 6),
        EventDate("MSFT", "earnings", date(2026, 12, 11), 10),
    ]
    # manage_dte 0: the AAPL put (3 DTE) is not also "manage or roll"
    items = action_items(held, events, [], ManageDefaults(manage_dte=0), TODAY)
    assert texts(items) == ["Earnings Mon 12/7 before TSLA short strangle 1/15/27 expires"]
    assert items[0].kind == "earnings" and items[0].reasons == ("earnings",)


def test_ex_dividend_short_call_in_the_money() -> None:
    held = strategies(
        {"AAPL": "223.10", "MSFT": "420"},
        # AAPL covered call 12/18: the 220 call is 223.10 - 220 = $3.10 in the money and
        # AAPL goes ex-dividend Fri 12/4, before it expires; also 17 DTE (manage)
        position("AAPL", 100, "200.00", "223.10"),
        position(option("AAPL", "2026-12-18", "C", "220"), -1, "3.00", "4.10"),
        # MSFT covered call 1/15/27: the 450 call is out of the money: no item
        position("MSFT", 100, "400.00", "420.00"),
        position(option("MSFT", "2027-01-15", "C", "450"), -1, "6.00", "5.00"),
    )
    events = [
        EventDate("AAPL", "ex-dividend", date(2026, 12, 4), 3),
        EventDate("MSFT", "ex-dividend", date(2026, 12, 3), 2),
    ]
    items = action_items(held, events, [], DEFAULTS, TODAY)
    # through the strike, so tested too: not said twice
    assert texts(items) == [
        "Ex-dividend Fri 12/4: AAPL covered call 12/18, the 220 call is $3.10 in the money; 17 DTE"
    ]
    assert items[0].reasons == ("ex-dividend", "tested", "manage")


def test_short_option_in_the_money_expiring_this_week() -> None:
    held = strategies(
        {"QQQ": "466.80", "SPY": "590"},
        # QQQ put credit spread expiring Fri 12/4: QQQ $466.80 is (470 - 466.80) / 466.80
        # = 0.69 % through the 470 put
        position(option("QQQ", "2026-12-04", "P", "465"), 1, "1.00", "1.50"),
        position(option("QQQ", "2026-12-04", "P", "470"), -1, "2.50", "4.20"),
        # SPY short put 12/11, next week: (600 - 590) / 590 = 1.69 % through: tested;
        # sold for $800, $1,200 to buy back: -$400 = -50 % of the credit
        position(option("SPY", "2026-12-11", "P", "600"), -1, "8.00", "12.00"),
    )
    items = action_items(held, [], [], DEFAULTS, TODAY)
    assert texts(items) == [
        "Expiring Fri in the money: QQQ put credit spread 12/4, QQQ $466.80 is 0.7% through the 470 put",
        "Tested: SPY short put 12/11 — SPY $590.00 is 1.7% through the 600 put; "
        "roll down/out or close (-$400, -50% of credit); 10 DTE",
    ]
    assert items[0].reasons == ("expiring", "tested", "manage")


def test_tested_line_says_how_to_defend_and_what_closing_makes() -> None:
    held = strategies(
        {"AAPL": "218.50", "TSLA": "340"},
        # AAPL covered call 1/15/27: AAPL $218.50 is (220 - 218.50) / 218.50 = 0.69 % from
        # the 220 call; shares +1,850, call +90 ((3.00 - 2.10) x 100): +$1,940 of a max
        # profit of 100 x 20 + 300 = $2,300: 84.35 %
        position("AAPL", 100, "200.00", "218.50"),
        position(option("AAPL", "2027-01-15", "C", "220"), -1, "3.00", "2.10"),
        # TSLA short strangle 1/15/27: TSLA $340 is (345 - 340) / 340 = 1.47 % from the
        # 345 call; sold for (9.00 + 8.00) x 100 = $1,700, (8.00 + 11.00) x 100 = $1,900
        # to close: -$200, -11.76 % of the credit
        position(option("TSLA", "2027-01-15", "P", "270"), -1, "9.00", "8.00"),
        position(option("TSLA", "2027-01-15", "C", "345"), -1, "8.00", "11.00"),
    )
    assert texts(action_items(held, [], [], DEFAULTS, TODAY)) == [
        "Tested: AAPL covered call 1/15/27 — AAPL $218.50 is 0.7% from the 220 call; "
        "roll up/out or let the shares be called away (+$1,940, +84% of max profit)",
        "Tested: TSLA short strangle 1/15/27 — TSLA $340.00 is 1.5% from the 345 call; "
        "roll up/out or close (-$200, -12% of credit)",
    ]


def test_a_strategy_at_target_and_tested_is_one_close_line() -> None:
    held = strategies(
        {"SPY": "615"},
        # credit $200 (see SCRIPTED), to close (0.10 + 0.50 - 0.05 - 0.05) x 100 = $50:
        # +75 %; SPY $615 is (620 - 615) / 615 = 0.81 % from the 620 call
        position(option("SPY", "2026-12-31", "P", "500"), 1, "0.50", "0.05"),
        position(option("SPY", "2026-12-31", "P", "520"), -1, "1.50", "0.10"),
        position(option("SPY", "2026-12-31", "C", "620"), -1, "1.40", "0.50"),
        position(option("SPY", "2026-12-31", "C", "640"), 1, "0.40", "0.05"),
    )
    items = action_items(held, [], [], DEFAULTS, TODAY)
    assert texts(items) == [
        "Close SPY iron condor 12/31: +75% of $200 credit; tested, SPY $615.00 is 0.8% from the 620 call"
    ]


def test_debit_spread_target_is_a_percent_of_its_max_profit() -> None:
    held = strategies(
        {"QQQ": "520", "NVDA": "150"},
        # QQQ call debit spread 1/15/27: paid 3.00 - 1.00 = $200 for a 5-wide spread, max
        # profit 500 - 200 = $300; worth 3.80 - 0.60 = $320 now: +$120 = +40 % of it;
        # QQQ $520 is through the short 505 call, but the long 500 call caps it: the
        # spread's best case, not tested...
        position(option("QQQ", "2027-01-15", "C", "500"), 1, "3.00", "3.80"),
        position(option("QQQ", "2027-01-15", "C", "505"), -1, "1.00", "0.60"),
        # ...and a long call at +200 % has no target (its profit is unbounded)
        position(option("NVDA", "2027-01-15", "C", "150"), 1, "2.00", "6.00"),
    )
    assert action_items(held, [], [], DEFAULTS, TODAY) == []
    forty = ManageDefaults(profit_target=D(40))
    assert texts(action_items(held, [], [], forty, TODAY)) == [
        "Close QQQ call debit spread 1/15/27: +40% of $300 max profit"
    ]


def test_briefing_strategy_lines_say_what_their_percent_is_of() -> None:
    from ttai_cli.services.briefings import BriefingService

    mes = Position(
        symbol="/MESH7",
        underlying_symbol="/MESH7",
        instrument_type="Future",
        quantity=D(1),
        average_open_price=D("5900.00"),
        close_price=D("5900.00"),
        multiplier=D(5),
        mark=D("5992.70"),
        expires_at=datetime(2027, 3, 19, 9, 30, tzinfo=NEW_YORK),
    )
    held = strategies(
        {"AAPL": "223.10", "QQQ": "520"},
        # AAPL covered call: shares +2,310 (100 x 23.10), call -110 ((3.00 - 4.10) x 100):
        # +$2,200 of a max profit of 100 x 20 + 300 = $2,300 (called away at 220): 95.65 %
        position("AAPL", 100, "200.00", "223.10"),
        position(option("AAPL", "2026-12-18", "C", "220"), -1, "3.00", "4.10"),
        # QQQ call debit spread (see below): +$120 of a $300 max profit
        position(option("QQQ", "2027-01-15", "C", "500"), 1, "3.00", "3.80"),
        position(option("QQQ", "2027-01-15", "C", "505"), -1, "1.00", "0.60"),
        mes,  # (5992.70 - 5900) x 5 = +$463.50, margined: no percent
    )
    assert [BriefingService._strategy_line(s) for s in held] == [
        "/MESH7 future 3/19/27, 108 DTE: P&L +$463.50",
        "AAPL covered call 12/18, 17 DTE: P&L +$2,200.00 (+95.65% of max profit)",
        "QQQ call debit spread 1/15/27, 45 DTE: P&L +$120.00 (+40.00% of max profit)",
    ]


def test_fired_alerts_beyond_five_newest_first_then_how_many_more_in_plain_text() -> None:
    since = datetime(2026, 11, 30, 9, 30, tzinfo=NEW_YORK)
    fired = [
        FiredEvent(i, "SPY", "price", since + timedelta(hours=i), f"SPY is now ${560 + i}.00")
        for i in range(1, 8)
    ]
    items = action_items([], [], fired, DEFAULTS, TODAY, since=since)
    assert texts(items) == [
        "Alert #7 fired Mon 16:30: SPY is now $567.00",
        "Alert #6 fired Mon 15:30: SPY is now $566.00",
        "Alert #5 fired Mon 14:30: SPY is now $565.00",
        "Alert #4 fired Mon 13:30: SPY is now $564.00",
        "Alert #3 fired Mon 12:30: SPY is now $563.00",
        # a phone shows no Markdown: no backticks
        "2 more alerts fired since Mon 09:30 (ttai alerts list --all shows them)",
    ]
    # a fired time in UTC reads in New York time
    utc = FiredEvent(9, "SPY", "price", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "x")
    assert texts(action_items([], [], [utc], DEFAULTS, TODAY)) == ["Alert #9 fired 10:00: x"]


def test_an_alert_that_fired_again_is_one_line_by_its_latest_firing() -> None:
    tuesday = datetime(2026, 12, 1, 13, 0, tzinfo=NEW_YORK)
    fired = [
        FiredEvent(1, "AAPL", "price", tuesday + timedelta(minutes=5), "AAPL is now $244.39"),
        FiredEvent(4, "SPY", "pnl", tuesday + timedelta(minutes=5), "SPY 12/31 510P +50%"),
        FiredEvent(1, "AAPL", "price", tuesday + timedelta(minutes=35), "AAPL is now $245.10"),
        FiredEvent(4, "SPY", "pnl", tuesday + timedelta(minutes=35), "SPY 12/31 510P +55%"),
        FiredEvent(1, "AAPL", "price", tuesday + timedelta(minutes=50), "AAPL is now $245.80"),
    ]
    items = action_items([], [], fired, DEFAULTS, TODAY, since=tuesday)
    # a position's P&L before a plain price alert; each alert once, with its count
    assert texts(items) == [
        "Alert #4 fired 13:35 (×2): SPY 12/31 510P +55%",
        "Alert #1 fired 13:50 (×3): AAPL is now $245.80",
    ]
    assert [(i.data["alert_id"], i.data["times"]) for i in items] == [(4, 2), (1, 3)]


def test_strategy_and_tested_alerts_are_never_hidden_behind_older_price_alerts() -> None:
    """The trader's morning: price alerts fired early and often; the strategy alerts
    fired later were left behind a `7 more alerts` line. Now they lead."""
    since = datetime(2026, 12, 1, 13, 3, tzinfo=NEW_YORK)
    price = [
        FiredEvent(i, "AAPL", "price", since + timedelta(minutes=i), f"price #{i}")
        for i in range(1, 7)
    ]
    later = since + timedelta(minutes=30)
    strategy = [
        FiredEvent(13, "IWM", "tested", later, "IWM put credit spread 1/8 tested"),
        FiredEvent(14, "TSLA", "pnl", later, "TSLA short strangle 12/18: +12%", JAN8),
        FiredEvent(15, "SPY", "dte", later, "SPY iron condor 12/31 expires", date(2026, 12, 31)),
        FiredEvent(16, "", "bp-usage", since, "buying power used 52%"),
    ]
    items = action_items([], [], price + strategy, DEFAULTS, TODAY, since=since)
    assert texts(items) == [
        "Alert #13 fired 13:33: IWM put credit spread 1/8 tested",
        "Alert #14 fired 13:33: TSLA short strangle 12/18: +12%",
        "Alert #15 fired 13:33: SPY iron condor 12/31 expires",
        "Alert #16 fired 13:03: buying power used 52%",  # the account's, before prices
        "Alert #6 fired 13:09: price #6",
        # "since 13:03" would repeat alert #16's time
        "5 more alerts fired (ttai alerts list --all shows them)",
    ]


@pytest.mark.parametrize("account", ["2026-11-30 10:00"], indirect=True)
def test_briefing_lists_a_rearmed_alert_once_after_the_strategy_alerts(account: Account) -> None:
    from ttai_cli.services.monitor import MonitorService
    from ttai_cli.store.positions import PositionsRepository

    account.script(SCRIPTED)
    alerts = account.context().alerts()
    spy = alerts.add(parse_alert("SPY", "price", "above", "1"))
    iwm = alerts.add(parse_alert("IWM", "tested", "within", "2"))  # 1.65 % away: fires
    monday = date(2026, 11, 30)  # the QQQ strangle is 18 days out: fires
    qqq = alerts.add(parse_alert("QQQ", "dte", "below", "21", None, None, "12/18", monday))
    monitor = MonitorService(alerts, PositionsRepository(account.store))
    asyncio.run(monitor.run())  # Monday 10:00: all three fire
    alerts.rearm([spy])
    account.clock.set(ny("2026-11-30 11:00"))
    asyncio.run(alerts.check())  # SPY fires again

    account.clock.set(ny("2026-12-01 09:30"))
    _, lines = run_morning(account).sections[0]
    fired = [line for line in lines if line.startswith("Alert #")]
    # the tested and dte alerts are about strategies with a line: folded into it
    assert fired == [f"Alert #{spy} fired Mon 11:00 (×2): SPY is now $570.00 (above $1.00)"]
    assert any(line.endswith(f"; alert #{iwm} fired") and "IWM" in line for line in lines)
    assert any(
        line.endswith(f"; alert #{qqq} fired") and "QQQ short strangle 12/18" in line
        for line in lines
    ), lines


# -- the demo ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "account",
    ["2026-12-01 09:30", "2026-11-27 09:30", "2026-03-30 09:30"],
    indirect=True,
)
def test_demo_book_at_the_open_one_close_one_tested_one_manage(account: Account) -> None:
    """The demo's book (rebuilt here for the day: `Account` empties it) at 9:30, when
    the simulated prices are the day's opening prices its numbers were worked from."""
    today = account.clock.now().date()
    account.sim.account = build_demo_account("5WT00001", account.sim.market, today)
    morning = account.morning()
    heading, lines = morning.sections[0]
    assert heading == "To do"
    close, tested, manage = lines
    # +80 % of the condor's credit; the IWM short put 0.5 % under the price, give or take
    # the $1 strike grid; the strangle 10-18 days out at +12 %, TSLA reporting this week
    assert re.fullmatch(r"Close SPY iron condor \d+/\d+: \+80% of \$\d+ credit", close), close
    assert re.fullmatch(
        r"Tested: IWM put credit spread \S+ — IWM \$[\d.]+ is 0\.[3-7]% from the \d+ put; "
        r"roll down/out or close \(-\$\d+, -\d+% of credit\)",
        tested,
    ), tested
    assert re.fullmatch(
        r"Manage or roll TSLA short strangle \d+/\d+: 1[0-8] DTE, \+12%; earnings \w{3} \d+/\d+",
        manage,
    ), manage
    assert morning.data["strategies"] == 5  # the covered call and the future: nothing to do


def test_demo_strategies_each_opened_by_one_order(account: Account) -> None:
    from ttai_cli.strategies import opening_orders

    account.sim.account = build_demo_account("5WT00001", account.sim.market, TODAY)

    async def read() -> tuple[list[Position], list[object]]:
        assert account.server is not None
        async with make_broker(account.server) as broker:
            held = await broker.positions()
            return held, await broker.transactions(TODAY - timedelta(days=90))

    held, transactions = asyncio.run(read())
    orders = opening_orders(held, transactions)  # type: ignore[arg-type]
    by_root: dict[str, set[int]] = {}
    for p in held:
        if p.is_option:
            by_root.setdefault(p.underlying_symbol, set()).add(orders[p.symbol])
    # each strategy's option legs share their order's id; the shares are an older order
    assert {root: len(ids) for root, ids in by_root.items()} == {
        "AAPL": 1,
        "IWM": 1,
        "SPY": 1,
        "TSLA": 1,
    }
    assert orders["AAPL"] not in by_root["AAPL"]
    names = sorted(
        s.name
        for s in group_strategies(held, transactions, today=TODAY)  # type: ignore[arg-type]
    )
    assert names == [
        "covered call",
        "future",
        "iron condor",
        "put credit spread",
        "short strangle",
    ]


def test_demo_morning_briefing_opens_with_to_do(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("--demo", "briefing", "morning", "--print-only")
    assert result.code == 0, result
    body = [line.strip("│ ").rstrip() for line in result.out.splitlines()[1:]]
    assert body[0] == "To do"
    # the demo's TSLA strangle is always 10-18 days out, and TSLA reports within 7 days
    # (on a Sunday TSLA's report, a weekday, is 8 days out: no earnings note then)
    manage = next(line for line in body if line.startswith("Manage or roll TSLA"))
    assert re.fullmatch(
        r"Manage or roll TSLA short strangle \d+/\d+: \d+ DTE, [+-]\d+%(; earnings \w{3} \d+/\d+)?",
        manage,
    ), manage


def test_alerts_on_a_strategy_or_its_leg_fold_into_its_to_do_line(account: Account) -> None:
    """The trader's to-do list showed the SPY iron condor 4 times: its close line, a
    `--strategy` pnl alert, a `--strategy` dte alert and a plain pnl alert firing for its
    short put. One line now, the alerts a note at its end; others keep their lines."""
    today = account.clock.now().date()
    account.sim.account = build_demo_account("5WT00001", account.sim.market, today)
    alerts = account.context().alerts()
    leg = alerts.add(parse_alert("SPY", "pnl", "profit", "50"))  # fires for the short put
    whole = alerts.add(parse_alert("SPY", "pnl", "profit", "50", None, None, "12/31", today))
    dte = alerts.add(parse_alert("SPY", "dte", "below", "45", None, None, "12/31", today))
    aapl = alerts.add(parse_alert("AAPL", "price", "above", "1"))
    from ttai_cli.services.monitor import MonitorService
    from ttai_cli.store.positions import PositionsRepository

    asyncio.run(MonitorService(alerts, PositionsRepository(account.store)).run())
    asyncio.run(alerts.check())
    account.clock.set(account.clock.now() + timedelta(minutes=5))
    _, lines = account.morning().sections[0]
    close = next(line for line in lines if line.startswith("Close SPY iron condor"))
    assert close.endswith(f"; alerts #{leg}, #{whole}, #{dte} fired"), (close, lines)
    assert sum("SPY iron condor" in line or "SPY short put" in line for line in lines) == 1, lines
    assert [line.split(" fired")[0] for line in lines if line.startswith("Alert #")] == [
        f"Alert #{aapl}"
    ]


def test_more_alerts_line_leaves_out_a_since_time_every_listed_line_shows() -> None:
    since = datetime(2026, 12, 1, 13, 50, tzinfo=NEW_YORK)
    fired = [FiredEvent(i, "SPY", "price", since, f"SPY #{i}") for i in range(1, 8)]
    items = action_items([], [], fired, DEFAULTS, TODAY, since=since)
    assert items[-1].text == "2 more alerts fired (ttai alerts list --all shows them)"
    later = [
        FiredEvent(e.alert_id, e.symbol, e.type, since + timedelta(hours=1), e.message)
        for e in fired
    ]
    items = action_items([], [], later, DEFAULTS, TODAY, since=since)
    assert items[-1].text == "2 more alerts fired since 13:50 (ttai alerts list --all shows them)"
