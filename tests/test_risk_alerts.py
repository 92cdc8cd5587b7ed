"""Account-level alerts (bp-usage, drawdown, theta, beta-delta), earnings alerts, the NLV
high-water mark, and the built-in assignment warnings. Numbers are worked by hand in
the comments."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes import FakeClock
from tests.test_alerts import alert, service_for
from tests.test_cli import one_line_error
from ttai_cli.alerts.assignment import assignment_risks
from ttai_cli.alerts.evaluate import MarketView, evaluate
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.broker.models import MarketMetric, Position
from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import BrokerError, UsageError
from ttai_cli.services.alerts import AlertsService
from ttai_cli.services.briefings import BriefingService
from ttai_cli.services.monitor import MonitorService
from ttai_cli.services.risk import RiskReport
from ttai_cli.services.sync import SyncService
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.store.highwater import HighWaterRepository, drawdown_percent
from ttai_cli.store.positions import PositionsRepository

D = Decimal
TODAY = date(2026, 11, 24)  # a Tuesday


# -- adding them: the CLI forms and bad input ------------------------------------------------------
def test_account_level_kinds_take_no_symbol_and_list_as_account(ttai) -> None:  # type: ignore[no-untyped-def]
    assert ttai("alerts", "add", "--type", "bp-usage", "above", "50").out.strip() == "1"
    assert ttai("alerts", "add", "--type", "drawdown", "above", "5").out.strip() == "2"
    assert ttai("alerts", "add", "--type", "theta", "below", "-25").out.strip() == "3"
    assert ttai("alerts", "add", "--type", "beta-delta", "below", "-200").out.strip() == "4"
    assert ttai("alerts", "add", "aapl", "--type", "earnings", "within", "3").out.strip() == "5"
    assert ttai("alerts", "add", "AAPL", "above", "185").out.strip() == "6", "the old form"
    rows = json.loads(ttai("alerts", "list", "--json").out)
    assert [(r["symbol"], r["type"], r["condition"], r["threshold"]) for r in rows] == [
        (None, "bp-usage", "above", 50.0),
        (None, "drawdown", "above", 5.0),
        (None, "theta", "below", -25.0),
        (None, "beta-delta", "below", -200.0),
        ("AAPL", "earnings", "within", 3.0),
        ("AAPL", "price", "above", 185.0),
    ]
    table = ttai("alerts", "list").out
    assert "account" in table and "50%" in table and "3 days" in table
    assert ttai("alerts", "remove", "1").code == 0
    assert json.loads(ttai("alerts", "list", "--json").out)[0]["id"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("AAPL", "--type", "bp-usage", "above", "50"), "takes no SYMBOL"),
        (("SPY", "--type", "drawdown", "above", "5"), "takes no SYMBOL"),
        (("AAPL", "--type", "earnings", "within", "-1"), "whole number of days"),
        (("AAPL", "--type", "earnings", "within", "1.5"), "whole number of days"),
        (("AAPL", "--type", "earnings", "above", "3"), "takes within"),
        (("--type", "earnings", "within", "3"), "needs SYMBOL"),
        (("--type", "bp-usage", "above", "0"), "above 0 and at most 1000"),
        (("--type", "bp-usage", "above", "1000.01"), "above 0 and at most 1000"),
        (("--type", "drawdown", "above", "101"), "at most 100"),
        (("--type", "theta", "above", "10"), "takes below"),
        (("--type", "beta-delta", "sideways", "10"), "takes above or below"),
        (("--type", "beta-delta", "above", "lots"), "is not a number"),
        (("--type", "volatility-smile", "above", "1"), "unknown alert type"),
        (("AAPL", "above"), "needs a threshold: ttai alerts add AAPL above PRICE"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_bad_input_is_one_line_and_exit_2(ttai, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    assert message in one_line_error(ttai("alerts", "add", *args), 2)
    assert json.loads(ttai("alerts", "list", "--json").out) == [], "nothing stored"


def test_bp_usage_1000_percent_is_the_largest_threshold_accepted() -> None:
    assert parse_alert(None, "bp-usage", "above", "1000").threshold == 1000
    with pytest.raises(UsageError):
        parse_alert("", "bp-usage", "above", "1000.001")


def test_earnings_within_0_means_today_and_symbols_are_normalised() -> None:
    spec = parse_alert(" aapl ", "earnings", "WITHIN", "0")
    assert (spec.symbol, spec.type, spec.condition, spec.threshold) == (
        "AAPL",
        "earnings",
        "within",
        0,
    )


# -- the high-water mark and drawdown ------------------------------------------------------------
def at(day: date, hour: int = 16, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def one_stock_account(sim: SimulatedTastytrade, clock: FakeClock) -> None:
    """100 AAPL held at $200 (value $20,000, maintenance 25% = $5,000); NLV = cash + 20,000."""
    sim.now = lambda: clock.now()
    sim.account.positions.clear()
    sim.account.trade("AAPL", 100, "200.00", clock.now())
    sim.market.pin("AAPL", 200)


def notifications(store, kind: str) -> list[tuple[str, dict[str, object]]]:  # type: ignore[no-untyped-def]
    return [
        (r[0], json.loads(r[1]))
        for r in store.db.execute(
            "SELECT body, data FROM notifications WHERE type = ? ORDER BY seq", (kind,)
        )
    ]


def test_drawdown_from_a_peak_two_syncs_ago(store, sim, sim_server, clean_env) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(at(date(2026, 10, 14)))
    one_stock_account(sim, clock)
    alerts = service_for(store, sim_server, clock, clean_env)
    sync = SyncService(store, clock, alerts.open_broker, None)
    # NLV by day: 200,000 (41 days ago: outside the 30-day window), 100,000, 120,000
    # (the peak, two syncs ago), 110,000; then 102,000 when the monitor looks
    for day, cash in [
        (date(2026, 10, 14), "180000"),
        (date(2026, 11, 16), "80000"),
        (date(2026, 11, 18), "100000"),
        (date(2026, 11, 20), "90000"),
    ]:
        clock.set(at(day))
        sim.account.cash = D(cash)
        asyncio.run(sync.run())
    highs = HighWaterRepository(store)
    peak = highs.peak(sim.account.account_number, date(2026, 10, 25), TODAY)
    assert peak is not None and (peak.date, peak.high) == (date(2026, 11, 18), D("120000.00"))
    # drawdown (120,000 - 102,000) / 120,000 = 15.0 %: "above 15" fires, "above 15.1" not;
    # buying power used 5,000 / 102,000 = 4.90 %: "above 4.9" fires, "above 5" not
    for kind, threshold in [
        ("drawdown", "15"),
        ("drawdown", "15.1"),
        ("bp-usage", "4.9"),
        ("bp-usage", "5"),
    ]:
        alerts.add(parse_alert(None, kind, "above", threshold))
    clock.set(at(TODAY, 10, 0))
    sim.account.cash = D("82000")
    monitor = MonitorService(alerts, PositionsRepository(store))
    report = asyncio.run(monitor.run())
    assert (report.alerts, report.fired, report.unknown) == (4, 2, 0)
    fired = notifications(store, "alert_triggered")
    assert [body for body, _ in fired] == [
        "Net liq $102,000.00 is 15.0% below its 30-day high of $120,000.00 (above 15%)",
        "Buying power used 4.9% of net liq (above 4.9%)",
    ]
    assert fired[0][1]["symbol"] is None and fired[0][1]["drawdown_percent"] == 15.0
    assert fired[0][1]["high_water"] == 120000.0
    # the monitor's look raised today's mark
    today_peak = highs.peak(sim.account.account_number, TODAY, TODAY)
    assert today_peak is not None and today_peak.high == D("102000.00")
    asyncio.run(monitor.run())
    assert len(notifications(store, "alert_triggered")) == 2, "each fires once"


def test_a_day_keeps_its_highest_nlv_whoever_records_it(store) -> None:  # type: ignore[no-untyped-def]
    highs = HighWaterRepository(store)
    for nlv in ("100", "130.50", "99", "130.49"):
        with store.transaction() as db:
            highs.record(db, "5WX00001", D(nlv), at(TODAY, 11))
    with store.transaction() as db:
        highs.record(db, "5WX00002", D("999"), at(TODAY, 11))  # another account
    peak = highs.peak("5WX00001", TODAY, TODAY)
    assert peak is not None and peak.high == D("130.50")
    assert highs.peak("5WX00001", date(2026, 11, 25), date(2026, 12, 1)) is None


def test_drawdown_percent_by_hand() -> None:
    assert drawdown_percent(D("120000"), D("102000")) == D("15")
    assert drawdown_percent(D("100"), D("110")) == 0, "above the old peak: no drawdown"
    assert drawdown_percent(None, D("100")) is None and drawdown_percent(D(0), D(5)) is None


def test_an_upgraded_database_seeds_the_high_water_mark_from_daily_snapshots(
    tmp_path: Path,
) -> None:
    from ttai_cli.store import migrate, open_store
    from ttai_cli.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, [m for m in MIGRATIONS if m[0] < "m011"])
    db.execute(
        "INSERT INTO balance_snapshots VALUES ('2026-11-20', '2026-11-20T21:00:00+00:00', "
        "'5WX00001', '125000.00', '0', '0', '0', '0', '0')"
    )
    db.execute("PRAGMA application_id = 0x74746169")
    db.close()
    with open_store(path) as upgraded:
        peak = HighWaterRepository(upgraded).peak("5WX00001", date(2026, 11, 1), TODAY)
        assert peak is not None and peak.high == D("125000.00")


@pytest.mark.parametrize(
    ("kind", "condition", "threshold", "view", "met"),
    [
        ("bp-usage", "above", "50", MarketView(bp_used_percent=D("50")), True),
        ("bp-usage", "above", "50", MarketView(bp_used_percent=D("49.99")), False),
        (
            "drawdown",
            "above",
            "5",
            MarketView(drawdown_percent=D(5), nlv=D(95), high_water=D(100)),
            True,
        ),
        (
            "drawdown",
            "above",
            "5",
            MarketView(drawdown_percent=D("4.9"), nlv=D(95), high_water=D(100)),
            False,
        ),
    ],
    ids=["bp-at-threshold", "bp-just-below", "drawdown-at-threshold", "drawdown-just-below"],
)
def test_account_kinds_at_their_boundary(kind, condition, threshold, view, met) -> None:  # type: ignore[no-untyped-def]
    assert evaluate(alert(kind, condition, threshold, ""), view, TODAY).met is met


def test_account_kinds_without_balances_are_unknown_not_fired() -> None:
    for kind in ("bp-usage", "drawdown", "theta", "beta-delta"):
        result = evaluate(
            alert(kind, "above" if kind != "theta" else "below", "5", ""), MarketView(), TODAY
        )
        assert result.met is None and result.why_unknown, kind


# -- earnings ----------------------------------------------------------------------------------------
def metric(symbol: str, earnings: date | None) -> MarketMetric:
    return MarketMetric(symbol, D(40), None, None, earnings_date=earnings)


@pytest.mark.parametrize(
    ("days", "report", "met"),
    [
        ("0", date(2026, 11, 24), True),  # today counts
        ("0", date(2026, 11, 25), False),
        ("3", date(2026, 11, 24), True),
        ("3", date(2026, 11, 27), True),  # in 3 days: the boundary counts
        ("3", date(2026, 11, 28), False),  # in 4 days
        ("2", date(2026, 11, 27), False),
        ("3", date(2026, 11, 23), False),  # reported yesterday: over
        ("3", None, False),  # no date announced
    ],
    ids=[
        "within-0-today",
        "within-0-tomorrow",
        "within-3-today",
        "within-3-in-3-days",
        "within-3-in-4-days",
        "within-2-in-3-days",
        "within-3-yesterday",
        "within-3-no-date",
    ],
)
def test_earnings_today_vs_in_3_days(days: str, report: date | None, met: bool) -> None:
    view = MarketView(metrics={"AAPL": metric("AAPL", report)})
    assert evaluate(alert("earnings", "within", days), view, TODAY).met is met


def test_earnings_texts_and_an_option_symbol_means_its_underlying() -> None:
    view = MarketView(metrics={"AAPL": metric("AAPL", date(2026, 11, 27))})
    result = evaluate(alert("earnings", "within", "3", "AAPL  261218C00200000"), view, TODAY)
    assert result.met is True
    assert (result.title, result.body) == (
        "Earnings Alert: AAPL",
        "AAPL reports earnings in 3 days (Fri 11/27)",
    )
    assert result.data["earnings_date"] == "2026-11-27" and result.data["days"] == 3
    missing = evaluate(alert("earnings", "within", "3"), MarketView(), TODAY)
    assert missing.met is None and "no market metrics for AAPL" in missing.why_unknown


# -- theta and beta-delta from the risk snapshot -------------------------------------------------
def report(theta: str, bwd: str, missing: list[str] | None = None) -> RiskReport:
    return RiskReport(
        net_liquidating_value=D(100000),
        maintenance_requirement=D(20000),
        buying_power_used_percent=D(20),
        beta_weighted_delta=D(bwd),
        theta=D(theta),
        vega=D(0),
        by_underlying=[],
        events=[],
        as_of=datetime(2026, 11, 24, 15, tzinfo=UTC),
        missing_greeks=missing or [],
    )


@pytest.mark.parametrize(
    ("kind", "condition", "threshold", "risk", "met"),
    [
        ("theta", "below", "25", report("25", "0"), True),
        ("theta", "below", "25", report("25.01", "0"), False),
        ("theta", "below", "-10", report("-12.50", "0"), True),
        ("beta-delta", "above", "150", report("0", "150"), True),
        ("beta-delta", "above", "150", report("0", "149.9"), False),
        ("beta-delta", "below", "-200", report("0", "-200"), True),
        ("beta-delta", "below", "-200", report("0", "-199"), False),
        ("theta", "below", "25", report("10", "0", ["SPY   261218P00450000"]), None),
    ],
    ids=[
        "theta-at-threshold",
        "theta-above",
        "theta-negative",
        "bwd-above-at-threshold",
        "bwd-above-under",
        "bwd-below-at-threshold",
        "bwd-below-over",
        "missing-greeks-unknown",
    ],
)
def test_theta_and_beta_delta_boundaries(kind, condition, threshold, risk, met) -> None:  # type: ignore[no-untyped-def]
    assert evaluate(alert(kind, condition, threshold, ""), MarketView(risk=risk), TODAY).met is met


def test_monitor_fetches_risk_and_day_metrics_only_for_alerts_that_need_them(
    store, sim, sim_server, clean_env
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(at(TODAY, 10, 0))
    sim.now = lambda: clock.now()
    base = service_for(store, sim_server, clock, clean_env)
    calls: list[object] = []

    async def risk_source(broker: object) -> RiskReport:
        calls.append("risk")
        return report("-30", "-250")

    async def metrics_source(symbols: list[str]) -> dict[str, MarketMetric]:
        calls.append(sorted(symbols))
        return {s: metric(s, date(2026, 11, 26)) for s in symbols}

    alerts = AlertsService(
        base.repo,
        clock,
        base.open_broker,
        base.notifier,
        risk_source=risk_source,
        metrics_source=metrics_source,
    )
    monitor = MonitorService(alerts, PositionsRepository(store))
    alerts.add(parse_alert("AAPL", "price", "above", "1000000"))
    asyncio.run(monitor.run())
    assert calls == [], "no account-level or earnings alert: nothing extra fetched"
    alerts.add(parse_alert("nvda", "earnings", "within", "2"))  # Thursday: in 2 days
    alerts.add(parse_alert("TSLA", "earnings", "within", "1"))  # not yet
    alerts.add(parse_alert(None, "theta", "below", "-25"))
    alerts.add(parse_alert(None, "beta-delta", "below", "-200"))
    result = asyncio.run(monitor.run())
    assert calls == [["NVDA", "TSLA"], "risk"]
    assert result.fired == 3 and result.unknown == 0
    assert [body for body, _ in notifications(store, "alert_triggered")] == [
        "NVDA reports earnings in 2 days (Thu 11/26)",
        "Portfolio theta -$30.00/day (below -$25.00/day)",
        "Beta-weighted delta -250 SPY shares (below -200)",
    ]


def test_a_failing_risk_snapshot_skips_theta_alerts_but_not_the_others(
    store, sim, sim_server, clean_env, caplog
) -> None:  # type: ignore[no-untyped-def]
    # the stand-in RiskService (and a real one whose streamer times out) raises
    clock = FakeClock(at(TODAY, 10, 0))
    sim.now = lambda: clock.now()
    alerts = service_for(store, sim_server, clock, clean_env)
    alerts.add(parse_alert(None, "theta", "below", "0"))
    alerts.add(parse_alert("AAPL", "price", "above", "1"))

    async def failing(broker: object) -> RiskReport:
        raise BrokerError("greeks did not arrive within 10 s")

    alerts.risk_source = failing
    result = asyncio.run(MonitorService(alerts, PositionsRepository(store)).run())
    assert (result.fired, result.unknown) == (1, 1)
    assert "greeks did not arrive" in caplog.text


# -- assignment warnings ---------------------------------------------------------------------------
CALL = "AAPL  261218C00150000"  # AAPL Dec 18 2026 150 call
PUT = "QQQ   261124P00465000"  # QQQ Nov 24 2026 465 put: expires TODAY


def short(symbol: str, underlying: str, quantity: str = "-1") -> Position:
    occ_day = date(2000 + int(symbol[6:8]), int(symbol[8:10]), int(symbol[10:12]))
    return Position(
        symbol,
        underlying,
        "Equity Option",
        D(quantity),
        D("1"),
        D("1"),
        D(100),
        None,
        datetime(occ_day.year, occ_day.month, occ_day.day, 16, tzinfo=NEW_YORK),
    )


def dividend(ex: date, amount: str = "0.26") -> dict[str, MarketMetric]:
    return {
        "AAPL": MarketMetric(
            "AAPL", None, None, None, ex_dividend_date=ex, dividend_amount=D(amount)
        )
    }


WEDNESDAY = date(2026, 11, 25)  # Thursday 11/26 is Thanksgiving: the next session is Friday
FRIDAY = date(2026, 11, 27)


def test_covered_call_before_ex_dividend_warns() -> None:
    # AAPL $200, 150 call marked $50.10: intrinsic 50.00, extrinsic 0.10 < the 0.26 dividend;
    # ex-date Friday, the next session after Wednesday (Thanksgiving in between)
    risks = assignment_risks(
        [short(CALL, "AAPL")],
        {"AAPL": D(200)},
        {CALL: D("50.10")},
        dividend(FRIDAY),
        WEDNESDAY,
        FRIDAY,
    )
    assert [(r.reason, r.position) for r in risks] == [("ex-dividend", CALL)]
    note = risks[0].notification(at(WEDNESDAY, 14))
    assert note.notification_type == "assignment_risk"
    assert note.title == "Assignment risk: AAPL 12/18 150C"
    assert note.body == (
        "Short 1 AAPL 12/18 150C is $50.00 in the money with $0.10 extrinsic, less than the "
        "$0.26 dividend; ex-dividend Fri 11/27: early assignment is likely at today's close"
    )
    assert {
        k: note.data[k]
        for k in ("symbol", "position", "reason", "extrinsic", "dividend", "ex_date")
    } == {
        "symbol": "AAPL",
        "position": CALL,
        "reason": "ex-dividend",
        "extrinsic": 0.1,
        "dividend": 0.26,
        "ex_date": "2026-11-27",
    }


@pytest.mark.parametrize(
    ("mark", "price", "ex", "session"),
    [
        ("50.40", 200, FRIDAY, FRIDAY),  # extrinsic 0.40 above the 0.26 dividend
        ("50.26", 200, FRIDAY, FRIDAY),  # extrinsic equal to the dividend: not below it
        ("0.05", 149, FRIDAY, FRIDAY),  # out of the money
        ("50.10", 200, date(2026, 11, 30), FRIDAY),  # ex-date after the next session
    ],
    ids=["extrinsic-above-dividend", "extrinsic-equal", "out-of-the-money", "ex-date-later"],
)
def test_same_call_without_dividend_risk_no_warning(
    mark: str, price: int, ex: date, session: date
) -> None:
    assert (
        assignment_risks(
            [short(CALL, "AAPL")],
            {"AAPL": D(price)},
            {CALL: D(mark)},
            dividend(ex),
            WEDNESDAY,
            session,
        )
        == []
    )


def test_short_put_itm_on_expiry_day_warns_and_the_day_after_nothing() -> None:
    # QQQ $460.10, 465 put: $4.90 in the money on its expiration day
    risks = assignment_risks(
        [short(PUT, "QQQ", "-2")], {"QQQ": D("460.10")}, {PUT: D("4.95")}, {}, TODAY, None
    )
    assert [(r.reason, r.extrinsic) for r in risks] == [("expiration", D("0.05"))]
    note = risks[0].notification(at(TODAY, 15))
    assert note.body == (
        "Short 2 QQQ 11/24 465P expires today $4.90 in the money (QQQ $460.10): "
        "assignment is likely unless closed"
    )
    assert note.data["expires_at"] == "2026-11-24" and note.data["reason"] == "expiration"
    day_after = date(2026, 11, 25)
    assert (
        assignment_risks([short(PUT, "QQQ", "-2")], {"QQQ": D("460.10")}, {}, {}, day_after, None)
        == []
    )


@pytest.mark.parametrize(
    ("price", "warns"),
    [("469.65", True), ("469.66", False), ("465", True), ("520", False)],
    ids=["within-1pct-boundary", "just-beyond-1pct", "at-the-strike", "far-otm"],
)
def test_short_put_near_the_strike_on_expiry_day(price: str, warns: bool) -> None:
    # 1 % of 465 is 4.65: 469.65 is within it
    risks = assignment_risks([short(PUT, "QQQ")], {"QQQ": D(price)}, {}, {}, TODAY, None)
    assert bool(risks) is warns


def test_long_options_and_unknown_prices_never_warn() -> None:
    long_put = short(PUT, "QQQ", "1")
    assert assignment_risks([long_put], {"QQQ": D(400)}, {}, {}, TODAY, None) == []
    assert assignment_risks([short(PUT, "QQQ")], {}, {}, {}, TODAY, None) == []


def test_monitor_warns_once_per_position_reason_and_day(store, sim, sim_server, clean_env) -> None:  # type: ignore[no-untyped-def]
    # Wednesday before Thanksgiving: a covered AAPL 100 call, $100 in the money (a few
    # cents of extrinsic at most in the simulator's pricing) before Friday's ex-date, and
    # a short QQQ put in the money that expires today
    clock = FakeClock(at(WEDNESDAY, 14, 0))
    one_stock_account(sim, clock)
    call, put = "AAPL  261218C00100000", "QQQ   261125P00465000"
    sim.account.trade(
        call, -1, "100.00", clock.now(), underlying="AAPL", instrument_type="Equity Option"
    )
    sim.account.trade(
        put,
        -1,
        "5.00",
        clock.now(),
        underlying="QQQ",
        instrument_type="Equity Option",
        expires_at=at(WEDNESDAY, 16, 0),
    )
    sim.market.pin("QQQ", 460)
    base = service_for(store, sim_server, clock, clean_env)
    asked: list[list[str]] = []

    async def metrics_source(symbols: list[str]) -> dict[str, MarketMetric]:
        asked.append(symbols)
        return dividend(FRIDAY)

    alerts = AlertsService(
        base.repo, clock, base.open_broker, base.notifier, metrics_source=metrics_source
    )
    monitor = MonitorService(alerts, PositionsRepository(store))
    first = asyncio.run(monitor.run())
    assert "2 assignment warnings" in first.summary()
    assert asked == [["AAPL"]], "dividends only for the short call in the money"
    clock.advance(60)
    asyncio.run(monitor.run())
    warned = notifications(store, "assignment_risk")
    assert sorted((d["reason"], d["position"]) for _, d in warned) == [
        ("ex-dividend", call),
        ("expiration", put),
    ], "once per position, reason and day"
    assert next(d for _, d in warned if d["reason"] == "ex-dividend")["extrinsic"] < 0.26
    # Friday: the put expired Wednesday (still listed), the ex-date is today: nothing new
    clock.set(at(FRIDAY, 10, 0))
    asyncio.run(monitor.run())
    assert len(notifications(store, "assignment_risk")) == 2


# -- the weekly briefing -------------------------------------------------------------------------
def test_weekly_review_shows_the_weeks_drawdown(store, sim, sim_server, clean_env) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(at(date(2026, 11, 13)))
    one_stock_account(sim, clock)
    alerts = service_for(store, sim_server, clock, clean_env)
    sync = SyncService(store, clock, alerts.open_broker, None)
    # NLV: last Friday 150,000 (another week), Mon 100,000, Tue 120,000 (the week's high);
    # Friday's review syncs at 108,000: (120,000 - 108,000) / 120,000 = 10.00 %
    for day, cash in [
        (date(2026, 11, 13), "130000"),
        (date(2026, 11, 16), "80000"),
        (date(2026, 11, 17), "100000"),
    ]:
        clock.set(at(day))
        sim.account.cash = D(cash)
        asyncio.run(sync.run())
    clock.set(at(date(2026, 11, 20), 17, 0))
    sim.account.cash = D("88000")
    weekly = asyncio.run(BriefingService(store, clock, sync).build("weekly"))
    week = dict(weekly.sections)["Week"]
    assert "Drawdown 10.00% below the week's high of $120,000.00 (Tue)" in week
    assert weekly.data["week_drawdown_percent"] == 10.0 and weekly.data["week_high"] == 120000.0


def test_an_alert_type_typed_as_a_symbol_is_exit_2_not_a_price_alert(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("--demo", "alerts", "add", "bp-usage", "above", "50")
    assert result.code == 2 and "--type bp-usage" in result.err
    assert "BP-USAGE" not in ttai("--demo", "alerts", "list").out


def test_beta_delta_text_never_reads_as_a_contradiction() -> None:
    from ttai_cli.alerts.evaluate import _like

    assert _like(Decimal("51.67"), Decimal("52")) == "+51.7"  # not "+52 (below +52)"
    assert _like(Decimal("-250"), Decimal("-200")) == "-250"
    assert _like(Decimal("52.4"), Decimal("52")) == "+52.4"
