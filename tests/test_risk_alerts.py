"""Account-level alerts (bp-usage, drawdown, theta, beta-delta), earnings alerts, the NLV
high-water mark, and the built-in assignment warnings. Numbers are worked by hand in
the comments."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import one_line_error
from ttai_cli.alerts.rules import parse_alert
from ttai_cli.errors import UsageError


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
        (("AAPL", "above"), "needs SYMBOL CONDITION THRESHOLD"),
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
