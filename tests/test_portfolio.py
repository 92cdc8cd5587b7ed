"""P&L and DTE as a trader reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ttai_cli.broker.models import Position, Transaction
from ttai_cli.clock import NEW_YORK
from ttai_cli.services.portfolio import (
    days_to_expiry,
    position_pnl,
    position_view,
    realized_pnl,
)

D = Decimal


def option(quantity: str, open_price: str, expires: datetime | None = None) -> Position:
    return Position(
        symbol="SPY   261128P00450000",
        underlying_symbol="SPY",
        instrument_type="Equity Option",
        quantity=D(quantity),
        average_open_price=D(open_price),
        close_price=D(open_price),
        multiplier=D(100),
        mark=None,
        expires_at=expires,
    )


@pytest.mark.parametrize(
    ("quantity", "open_price", "mark", "pnl", "percent"),
    [
        ("-1", "6.40", "3.00", "340.00", "53.13"),  # short put decays: profit
        ("-1", "6.40", "9.60", "-320.00", "-50.00"),  # short put doubles against us
        ("2", "1.50", "3.00", "300.00", "100.00"),  # long call doubles
        ("2", "1.50", "0.75", "-150.00", "-50.00"),
        ("-2", "1.45", "1.45", "0.00", "0.00"),
    ],
)
def test_pnl_is_sign_aware(
    quantity: str, open_price: str, mark: str, pnl: str, percent: str
) -> None:
    assert position_pnl(option(quantity, open_price), D(mark)) == (D(pnl), D(percent))


def test_pnl_unknown_without_a_mark() -> None:
    assert position_pnl(option("-1", "6.40"), None) == (None, None)


def test_dte_counts_new_york_dates_and_is_zero_on_expiry_day() -> None:
    # expires-at 16:00 New York = 21:00Z; on the expiry day itself DTE is 0
    expires = datetime(2026, 11, 27, 21, 0, tzinfo=NEW_YORK).astimezone(NEW_YORK).replace(hour=16)
    assert days_to_expiry(expires, date(2026, 11, 27)) == 0
    assert days_to_expiry(expires, date(2026, 11, 24)) == 3
    assert days_to_expiry(None, date(2026, 11, 24)) is None


def test_dte_uses_the_new_york_date_of_a_utc_timestamp() -> None:
    from datetime import UTC

    # 2026-11-28T02:00Z is still Nov 27 in New York
    assert days_to_expiry(datetime(2026, 11, 28, 2, 0, tzinfo=UTC), date(2026, 11, 27)) == 0


def test_position_view_carries_everything() -> None:
    expires = datetime(2026, 11, 27, 16, 0, tzinfo=NEW_YORK)
    view = position_view(option("-1", "6.40", expires), D("3.20"), date(2026, 11, 24))
    assert view.dte == 3 and view.pnl == D("320.00") and view.pnl_percent == D("50.00")
    assert view.expires_at is not None and view.expires_at.tzinfo is not None


def trade(day: int, action: str, quantity: str, net: str, symbol: str = "AAPL") -> Transaction:
    return Transaction(
        id=day,
        executed_at=datetime(2026, 1, day, 15, tzinfo=UTC),
        transaction_date=date(2026, 1, day),
        transaction_type="Trade",
        transaction_sub_type="",
        description="",
        symbol=symbol,
        underlying_symbol=symbol,
        instrument_type="Equity",
        action=action,
        quantity=D(quantity),
        price=None,
        value=D(net),
        net_value=D(net),
        commission=None,
        fees=D(0),
    )


@pytest.mark.parametrize(
    ("trades", "expected"),
    [
        pytest.param(
            [trade(5, "Buy to Open", "10", "-1000"), trade(6, "Sell to Close", "10", "1100")],
            D("100"),
            id="one-round-trip",
        ),
        pytest.param(
            [
                trade(5, "Buy to Open", "10", "-1000"),
                trade(6, "Sell to Close", "10", "1100"),  # January's +100 is not today's
                trade(20, "Buy to Open", "10", "-1000"),
                trade(21, "Sell to Close", "10", "950"),
            ],
            D("-50"),
            id="second-round-trip-in-the-same-symbol",
        ),
        pytest.param(
            [
                trade(5, "Sell to Open", "2", "640"),
                trade(6, "Sell to Open", "1", "300"),  # added to the short
                trade(7, "Buy to Close", "1", "-100"),  # partly closed
                trade(8, "Buy to Close", "2", "-200"),
            ],
            D("640"),
            id="scaled-in-and-out",
        ),
        pytest.param(
            [trade(21, "Sell to Close", "10", "950")],
            None,
            id="opening-trade-older-than-the-record",
        ),
        pytest.param(
            [trade(20, "Buy to Open", "10", "-1000")],
            None,
            id="still-open",
        ),
        pytest.param(
            [trade(20, "Buy to Open", "10", "-1000", symbol="MSFT")],
            None,
            id="other-symbol-only",
        ),
    ],
)
def test_realized_pnl_is_the_latest_complete_round_trip(
    trades: list[Transaction], expected: Decimal | None
) -> None:
    assert realized_pnl(trades, "AAPL") == expected


# -- as_of: when the numbers shown were fetched (SPEC v3) ------------------------------------
def test_positions_and_balances_json_say_as_of_the_last_sync_or_now(ttai, broker_env) -> None:  # type: ignore[no-untyped-def]
    import json

    before = datetime.now(UTC)
    live_rows = json.loads(ttai("positions", "--live", "--json").out)
    assert isinstance(live_rows, list), "the SPEC's list shape stays"
    live = {datetime.fromisoformat(r["as_of"]) for r in live_rows}
    assert len(live) == 1 and before <= live.pop() <= datetime.now(UTC)
    balances = json.loads(ttai("balances", "--live", "--json").out)
    assert balances["account_number"] == "5WT00001" and "net_liquidating_value" in balances
    assert before <= datetime.fromisoformat(balances["as_of"]) <= datetime.now(UTC)

    assert ttai("sync").code == 0
    synced = datetime.now(UTC)
    stored_rows = json.loads(ttai("positions", "--json").out)
    stored = {r["as_of"] for r in stored_rows}
    (as_of,) = stored
    assert as_of.endswith(("-05:00", "-04:00")), "New York time with its offset"
    assert json.loads(ttai("balances", "--json").out)["as_of"] == as_of, "both: the sync"
    assert before <= datetime.fromisoformat(as_of) <= synced


def test_positions_and_balances_tables_say_as_of_in_their_caption(ttai, broker_env) -> None:  # type: ignore[no-untyped-def]
    assert ttai("sync").code == 0
    for command in ("positions", "balances"):
        for args in ((), ("--live",)):
            result = ttai(command, *args)
            assert result.code == 0, result.err
            (line,) = [x for x in result.out.splitlines() if "As of " in x]
            assert line.strip().startswith("As of "), line
            assert line.strip().endswith(("EST", "EDT")), line


# -- quote shows what alerts test -------------------------------------------------------------
def short_iwm_put(sim) -> str:  # type: ignore[no-untyped-def]
    """The demo book's short put of its IWM put credit spread."""
    return next(
        s for s, p in sim.account.positions.items() if s.startswith("IWM") and p.quantity < 0
    )


def test_quote_json_shows_an_options_greeks_and_an_underlyings_iv_rank(
    ttai, broker_env, sim
) -> None:  # type: ignore[no-untyped-def]
    import json

    put = short_iwm_put(sim)
    result = ttai("quote", put, "AAPL", "--json")
    assert result.code == 0, result.err
    option, stock = json.loads(result.out)
    assert option["symbol"] == put and stock["symbol"] == "AAPL"
    assert -1 < option["delta"] < 0, "a put's delta"
    assert option["theta"] < 0 and 0 < option["implied_volatility"] < 3
    assert option["iv_rank"] is None
    assert stock["delta"] is None and stock["theta"] is None
    assert stock["implied_volatility"] is None and 0 <= stock["iv_rank"] <= 100


def test_quote_table_shows_delta_theta_iv_and_iv_rank(ttai, broker_env, sim) -> None:  # type: ignore[no-untyped-def]
    result = ttai("quote", short_iwm_put(sim), "AAPL")
    assert result.code == 0, result.err
    header = next(line for line in result.out.splitlines() if "Symbol" in line)
    assert all(name in header for name in ("Delta", "Theta", "IV", "IVR"))
    option_row = next(
        line for line in result.out.splitlines() if line.lstrip("┃│ ").startswith("IWM ")
    )
    assert "%" in option_row and "-0." in option_row


def test_quote_at_80_columns_keeps_option_symbols_and_headers_on_one_line(
    ttai, broker_env, sim, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """An option next to a future's four-digit prices: the columns do not fit at 80, and
    the symbol `IWM 1/8/27 216P` stays whole (a column is left out instead); the IV rank
    header is `IVR`, never stacked onto two lines."""
    import re

    monkeypatch.setenv("COLUMNS", "80")
    put = short_iwm_put(sim)
    for symbols in ((put, "IWM", "AAPL"), (put, "/MESH7", "SPY")):
        result = ttai("quote", *symbols)
        assert result.code == 0, result.err
        lines = result.out.splitlines()
        assert all(len(line) <= 80 for line in lines), result.out
        assert any(re.match(r"IWM \d+/\d+/\d+ \d+P ", line) for line in lines), result.out
        assert lines[0].startswith("Symbol "), "a one-line header: " + result.out
    assert "IVR" in lines[0] or "Left out at 80 columns: IVR" in result.out


def test_quote_iv_rank_is_cached_for_the_day(ttai, broker_env, sim) -> None:  # type: ignore[no-untyped-def]
    import json

    first = json.loads(ttai("quote", "SPY", "--json").out)[0]["iv_rank"]
    fetched = len(sim.requests_to("/market-metrics"))
    again = json.loads(ttai("quote", "SPY", "--json").out)[0]["iv_rank"]
    assert first == again and first is not None
    assert fetched == 1 and len(sim.requests_to("/market-metrics")) == 1, "the day's cache"
