"""`ttai history`: NLV per New York day from the local record, as JSON, a table and a
chart read through a terminal emulator (pyte) in a pseudo-terminal."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.fakes import FakeClock
from tests.test_cli import one_line_error
from ttai_cli.broker.models import Balances, Transaction
from ttai_cli.clock import NEW_YORK
from ttai_cli.services.history import HistoryService, sparkline
from ttai_cli.store import Store, open_store
from ttai_cli.store.highwater import HighWaterRepository
from ttai_cli.store.records import RecordsRepository

ACCOUNT = "5WT00042"
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=NEW_YORK)  # a Friday after the close


def balances(nlv: str, account: str = ACCOUNT) -> Balances:
    zero = Decimal(0)
    return Balances(account, Decimal(nlv), Decimal(nlv), zero, zero, zero, zero, NOW)


def close_of(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), NEW_YORK).replace(hour=16, minute=5)


def record(store: Store, day: date, nlv: str, account: str = ACCOUNT) -> None:
    with store.transaction() as db:
        RecordsRepository.save_snapshot(db, balances(nlv, account), close_of(day))
        HighWaterRepository.record(db, account, Decimal(nlv), close_of(day))


def deposit(store: Store, day: date, amount: str) -> None:
    moment = close_of(day)
    with store.transaction() as db:
        RecordsRepository.save_transactions(
            db,
            [
                Transaction(
                    id=9001,
                    executed_at=moment.astimezone(UTC),
                    transaction_date=day,
                    transaction_type="Money Movement",
                    transaction_sub_type="Deposit",
                    description="ACH deposit",
                    symbol=None,
                    underlying_symbol=None,
                    instrument_type=None,
                    action=None,
                    quantity=None,
                    price=None,
                    value=Decimal(amount),
                    net_value=Decimal(amount),
                    commission=None,
                    fees=Decimal(0),
                )
            ],
        )


# -- the service -----------------------------------------------------------------------------
def test_history_is_one_value_per_new_york_day_with_day_pnl(store: Store) -> None:
    record(store, date(2026, 11, 13), "50000")  # before the window: the base of the first P&L
    record(store, date(2026, 11, 16), "50500")
    record(store, date(2026, 11, 17), "50250")
    with store.transaction() as db:  # a monitor run saw the balances; no sync that day
        HighWaterRepository.record(db, ACCOUNT, Decimal("50400"), close_of(date(2026, 11, 18)))
    record(store, date(2026, 11, 20), "51400")
    days = HistoryService(store, FakeClock(NOW)).days(7)
    assert [(d.date.day, d.net_liquidating_value, d.day_pnl, d.source) for d in days] == [
        (16, Decimal("50500"), Decimal("500"), "snapshot"),
        (17, Decimal("50250"), Decimal("-250"), "snapshot"),
        (18, Decimal("50400"), Decimal("150"), "high-water"),
        (20, Decimal("51400"), Decimal("1000"), "snapshot"),
    ]


def test_a_deposit_is_not_day_pnl(store: Store) -> None:
    record(store, date(2026, 11, 19), "50000")
    record(store, date(2026, 11, 20), "60200")
    deposit(store, date(2026, 11, 20), "10000")
    days = HistoryService(store, FakeClock(NOW)).days(2)
    assert [d.day_pnl for d in days] == [None, Decimal("200")]


def test_history_shows_only_the_latest_account(store: Store) -> None:
    record(store, date(2026, 11, 18), "9999", account="OTHER")
    record(store, date(2026, 11, 19), "50000")
    days = HistoryService(store, FakeClock(NOW)).days(30)
    assert [d.net_liquidating_value for d in days] == [Decimal("50000")]


def test_history_of_an_empty_record_is_empty(store: Store) -> None:
    assert HistoryService(store, FakeClock(NOW)).days(30) == []


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        (["5"], "▃"),
        (["5", "5", "5"], "▃▃▃"),
        (["1", "2", "3", "4", "5"], "▁▂▃▅▇"),
        (["100", "90", "110"], "▃▁▇"),
    ],
)
def test_sparkline_levels(values: list[str], line: str) -> None:
    assert sparkline([Decimal(v) for v in values]) == line


# -- the command -----------------------------------------------------------------------------
def seed_home(home: Path, nlvs: list[str]) -> list[date]:
    """Snapshots for the last len(nlvs) New York days up to today (the CLI's real clock)."""
    today = datetime.now(NEW_YORK).date()
    days = [today - timedelta(days=len(nlvs) - 1 - i) for i in range(len(nlvs))]
    home.mkdir(parents=True, exist_ok=True)
    store = open_store(home / "ttai.db")
    try:
        for day, nlv in zip(days, nlvs, strict=True):
            record(store, day, nlv)
    finally:
        store.close()
    return days


def test_history_json_shape(ttai, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    days = seed_home(clean_env, ["50000", "50125.5", "49900"])
    result: Result = ttai("history", "--days", "2", "--json")
    assert result.code == 0, result
    assert json.loads(result.out) == [
        {"date": days[1].isoformat(), "net_liquidating_value": 50125.5, "day_pnl": 125.5},
        {"date": days[2].isoformat(), "net_liquidating_value": 49900.0, "day_pnl": -225.5},
    ]


def test_history_table_when_piped(ttai, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    seed_home(clean_env, ["50000", "50125.5", "49900"])
    result = ttai("history")
    assert result.code == 0, result
    assert "$49,900.00" in result.out and "-$225.50" in result.out and "-0.45%" in result.out


@pytest.mark.parametrize("days", ["0", "-3"])
def test_history_days_below_one_is_exit_2(ttai, days: str) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(ttai("history", "--days", days), 2)
    assert "--days" in line


def test_history_days_not_a_number_is_exit_2(ttai) -> None:  # type: ignore[no-untyped-def]
    one_line_error(ttai("history", "--days", "week"), 2)


def test_history_of_an_empty_record_is_one_line_exit_1(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("history")
    line = one_line_error(result, 1)
    assert "ttai sync" in line and result.out == ""


def test_history_json_of_an_empty_record_is_an_empty_list(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("history", "--json")
    assert result.code == 0 and json.loads(result.out) == [] and result.err == ""


def test_demo_ships_at_least_30_days_of_history(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("--demo", "history", "--days", "60", "--json")
    assert result.code == 0, result
    days = json.loads(result.out)
    assert len(days) >= 30
    assert all(d["net_liquidating_value"] > 0 for d in days)
    assert days[0]["date"] < days[-1]["date"]


# -- the chart, as a person sees it ----------------------------------------------------------
def run_in_pty(
    args: list[str], cols: int, rows: int = 100, timeout: float = 30
) -> tuple[int, list[str]]:
    """Run `python -m ttai_cli ARGS` with a pseudo-terminal of cols x rows as its
    stdout/stderr, and return its exit code and the screen a terminal (pyte) shows."""
    import fcntl
    import pty
    import struct
    import termios

    import pyte

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttai_cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            stream.feed(data)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, [line.rstrip() for line in screen.display]


def test_history_chart_on_a_terminal(clean_env: Path) -> None:
    days = seed_home(clean_env, ["50000", "51000", "50500", "52000", "51500", "53000"])
    code, screen = run_in_pty(["history", "--days", "6"], cols=100)
    assert code == 0, "\n".join(screen)
    text = "\n".join(screen)
    bars = [line for line in screen if "│" in line and "█" in line]
    assert len(bars) >= 8, text  # the chart's rows of bars
    assert bars[0].lstrip().startswith("$53,000 │")  # the y axis: highest value on top
    assert any(line.lstrip().startswith("$50,000 │") for line in screen), text  # lowest below
    axis = next(i for i, line in enumerate(screen) if "└" + "─" * 6 in line)  # the x axis
    ticks = screen[axis + 1]
    assert f"{days[0]:%m/%d}" in ticks and f"{days[-1]:%m/%d}" in ticks  # first, last date
    # the highest day's bar reaches the top row; the lowest day's only the bottom row
    top, bottom = bars[0], bars[-1]
    assert top.rstrip().endswith("█") and bottom.count("█") >= 6
    assert "Day P&L" in text and "$53,000.00" in text and "+$1,500.00" in text


def test_history_chart_fits_80_columns_with_the_demo(clean_env: Path) -> None:
    code, screen = run_in_pty(["--demo", "history", "--days", "60"], cols=80)
    assert code == 0, "\n".join(screen)
    chart_rows = [line for line in screen if "│" in line and ("█" in line or "▁" in line)]
    assert len(chart_rows) >= 8
    assert all(len(line) <= 80 for line in screen)
    assert any(line.lstrip().startswith("$") and "│" in line for line in chart_rows)
    table_rows = [line for line in screen if line.startswith("│ ") and " 20" in line]
    assert len(table_rows) >= 30  # the table shows every day, none cut off
    assert not any("…" in line for line in table_rows)


# -- sparklines in the briefings -------------------------------------------------------------
def test_eod_and_weekly_briefings_carry_an_nlv_sparkline(store: Store) -> None:
    import asyncio

    from ttai_cli.services.briefings import BriefingService

    record(store, date(2026, 11, 13), "50000")  # the previous week's close
    for day, nlv in zip(range(16, 21), ["50100", "50400", "50200", "50800", "51000"], strict=True):
        record(store, date(2026, 11, day), nlv)
    service = BriefingService(store, FakeClock(NOW), sync=None)

    weekly = asyncio.run(service.build("weekly"))
    week = dict(weekly.sections)["NLV over the week"]
    assert week[0] == "▁▁▃▂▅▇ $50,000.00 → $51,000.00 from Fri 11/13"
    assert weekly.data["nlv_sparkline"] == "▁▁▃▂▅▇"
    assert "• ▁▁▃▂▅▇ $50,000.00" in weekly.text()  # the Slack / Discord / ntfy body

    eod = asyncio.run(service.build("eod"))
    account = dict(eod.sections)["Account"]
    assert account[-1].startswith("▁▁▃▂▅▇ $50,000.00 → $51,000.00 since Fri 11/13")
    assert eod.data["nlv_sparkline"] == "▁▁▃▂▅▇"


def test_a_briefing_with_one_recorded_day_has_no_sparkline(store: Store) -> None:
    import asyncio

    from ttai_cli.services.briefings import BriefingService

    record(store, date(2026, 11, 20), "50000")
    eod = asyncio.run(BriefingService(store, FakeClock(NOW), sync=None).build("eod"))
    assert eod.data["nlv_sparkline"] is None
    assert not any("▁" in line or "▇" in line for _, lines in eod.sections for line in lines)
