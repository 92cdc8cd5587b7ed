from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ttai_cli.broker.symbols import kind_of, normalize, occ_symbol, parse_occ, readable
from ttai_cli.errors import UsageError


@pytest.mark.parametrize(
    ("raw", "symbol", "kind"),
    [
        ("aapl", "AAPL", "equity"),
        (" brk/b ", "BRK/B", "equity"),
        ("spy 261218p00450000", "SPY   261218P00450000", "equity-option"),
        ("SPXW  261218C05900000", "SPXW  261218C05900000", "equity-option"),
        ("/esz6", "/ESZ6", "future"),
        ("./ESZ6 EW4Z6 261218C6000", "./ESZ6 EW4Z6 261218C6000", "future-option"),
        ("btc/usd", "BTC/USD", "cryptocurrency"),
        ("SPX", "SPX", "index"),
    ],
)
def test_normalize_and_classify(raw: str, symbol: str, kind: str) -> None:
    assert normalize(raw) == symbol
    assert kind_of(symbol) == kind


@pytest.mark.parametrize("raw", ["", "   ", "A$PL", "1ABC", "TOOLONGSYMBOLNAME", "SPY 2612P450"])
def test_junk_is_a_usage_error(raw: str) -> None:
    with pytest.raises(UsageError):
        normalize(raw)


def test_occ_round_trip_and_label() -> None:
    symbol = occ_symbol("SPY", date(2026, 11, 28), "P", Decimal("450"))
    assert symbol == "SPY   261128P00450000"
    occ = parse_occ(symbol)
    assert occ is not None and occ.strike == Decimal("450") and occ.expiration == date(2026, 11, 28)
    assert occ.label(date(2026, 3, 1)) == "SPY 11/28 450P"
    assert parse_occ("AAPL") is None


@pytest.mark.parametrize(
    ("symbol", "shown"),
    [
        ("QQQ   261127P00465000", "QQQ 11/27 465P"),
        ("QQQ   270115P00465000", "QQQ 1/15/27 465P"),  # another year: the year is shown
        ("SPXW  261218C05912500", "SPXW 12/18 5912.5C"),
        ("BRK.B 261120C00500000", "BRK.B 11/20 500C"),
        ("./ESZ6 EW4Z6 261218C6000", "/ESZ6 12/18 6000C"),
        ("  AAPL ", "AAPL"),
        ("/ESZ6", "/ESZ6"),
        ("BTC/USD", "BTC/USD"),
        ("", ""),  # an account-level alert: the caller says "account"
        ("QQQ   261399P00465000", "QQQ   261399P00465000"),  # no such date: shown as stored
    ],
)
def test_readable_option_names(symbol: str, shown: str) -> None:
    assert readable(symbol, today=date(2026, 11, 20)) == shown


def test_readable_without_a_date_uses_this_year() -> None:
    from datetime import datetime

    from ttai_cli.clock import NEW_YORK

    year = datetime.now(NEW_YORK).year
    symbol = occ_symbol("SPY", date(year, 6, 19), "P", Decimal("450"))
    assert readable(symbol) == "SPY 6/19 450P"
    assert readable(occ_symbol("SPY", date(year + 1, 6, 18), "P", Decimal("450"))) == (
        f"SPY 6/18/{(year + 1) % 100:02d} 450P"
    )


def test_short_date_adds_the_year_of_another_year() -> None:
    from ttai_cli.broker.symbols import short_date

    assert short_date(date(2027, 1, 15), today=date(2027, 1, 4)) == "1/15"
    assert short_date(date(2027, 1, 15), today=date(2026, 12, 28)) == "1/15/27"


def test_parse_option_reads_equity_and_futures_options() -> None:
    from ttai_cli.broker.symbols import parse_option

    future = parse_option("./ESZ6 EW4Z6 261218C6000")
    assert future is not None and future.root == "/ESZ6"
    assert (future.expiration, future.right, future.strike) == (date(2026, 12, 18), "C", 6000)
    equity = parse_option("SPY   261218P00450000")
    assert equity is not None and (equity.root.strip(), equity.strike) == ("SPY", 450)
    assert parse_option("/ESZ6") is None and parse_option("./ESZ6 EW4Z6 261318C6000") is None
