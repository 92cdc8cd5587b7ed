from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ttai_cli.broker.symbols import kind_of, normalize, occ_symbol, parse_occ
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
    assert occ.short_label() == "SPY 450P 11/28"
    assert parse_occ("AAPL") is None
