"""Strategies as a premium seller manages them: grouping, names and the numbers, worked by hand.

Every figure below is worked out in the comment beside it: options are 100 shares a
contract unless said otherwise, credits are per share x 100.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from ttai_cli.broker.models import Position, Transaction
from ttai_cli.broker.symbols import occ_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.strategies import Strategy, group_strategies, opening_orders

D = Decimal
TODAY = date(2027, 1, 4)  # a Monday
JAN15 = date(2027, 1, 15)  # 11 days away
FEB19 = date(2027, 2, 19)


def option(
    root: str,
    expiration: date,
    right: str,
    strike: str,
    quantity: int,
    opened: str,
    mark: str | None,
    multiplier: int = 100,
) -> Position:
    return Position(
        symbol=occ_symbol(root, expiration, right, D(strike)),
        underlying_symbol=root,
        instrument_type="Equity Option",
        quantity=D(quantity),
        average_open_price=D(opened),
        close_price=D(opened),
        multiplier=D(multiplier),
        mark=D(mark) if mark is not None else None,
        expires_at=datetime.combine(expiration, time(16), NEW_YORK),
    )


def shares(symbol: str, quantity: int, opened: str, mark: str | None) -> Position:
    return Position(
        symbol=symbol,
        underlying_symbol=symbol,
        instrument_type="Equity",
        quantity=D(quantity),
        average_open_price=D(opened),
        close_price=D(opened),
        multiplier=D(1),
        mark=D(mark) if mark is not None else None,
        expires_at=None,
    )


_ids = iter(range(1, 10_000))


def fill(
    position: Position | str,
    action: str,
    quantity: int,
    order: int | None,
    days_ago: int,
    underlying: str = "SPY",
) -> Transaction:
    symbol = position if isinstance(position, str) else position.symbol
    at = datetime.combine(TODAY - timedelta(days=days_ago), time(10, 30), NEW_YORK)
    return Transaction(
        id=next(_ids),
        executed_at=at.astimezone(UTC),
        transaction_date=at.date(),
        transaction_type="Trade",
        transaction_sub_type=action,
        description="",
        symbol=symbol,
        underlying_symbol=underlying,
        instrument_type="Equity Option",
        action=action,
        quantity=D(quantity),
        price=None,
        value=D(0),
        net_value=D(0),
        commission=None,
        fees=D(0),
        order_id=order,
    )


def opened_by(order: int, *legs: Position, days_ago: int = 20) -> list[Transaction]:
    """The fills of one opening order: a sale for each short leg, a purchase for each long."""
    return [
        fill(
            leg,
            "Sell to Open" if leg.quantity < 0 else "Buy to Open",
            int(abs(leg.quantity)),
            order,
            days_ago,
            leg.underlying_symbol,
        )
        for leg in legs
    ]


def only(strategies: list[Strategy]) -> Strategy:
    assert len(strategies) == 1, [s.label for s in strategies]
    return strategies[0]


# -- the shapes and their numbers ----------------------------------------------------------
def test_short_strangle_credit_cost_to_close_and_percent_of_max() -> None:
    call = option("TSLA", JAN15, "C", "300", -1, "9.15", "4.00")
    put = option("TSLA", JAN15, "P", "200", -1, "8.70", "2.60")
    s = only(group_strategies([call, put], prices={"TSLA": D(250)}, today=TODAY))
    assert s.name == "short strangle" and s.label == "TSLA short strangle 1/15"
    assert s.legs == (put, call)  # puts before calls
    assert s.credit == D("1785.00")  # (9.15 + 8.70) x 100
    assert s.cost_to_close == D("660.00")  # (4.00 + 2.60) x 100 to buy both back
    assert s.pnl == D("1125.00")  # 1785 - 660
    assert s.pnl_percent_of_max == D("63.03")  # 1125 / 1785 = 0.63025
    assert s.pnl_percent == s.pnl_percent_of_max  # a credit strategy: both of the credit
    assert s.max_profit == D("1785.00")  # TSLA between 200 and 300 at expiration
    assert s.max_loss is None  # a short call: unlimited
    assert s.expiration == JAN15 and s.dte == 11  # Jan 4 -> Jan 15
    assert s.short_strikes == (D(200), D(300))
    assert s.underlying_price == D(250)
    assert s.distance_percent == D("20.00")  # (250 - 200) / 250 and (300 - 250) / 250
    assert not s.tested


def test_short_straddle_is_named_by_its_one_strike() -> None:
    legs = [
        option("SPY", JAN15, "C", "520", -1, "8.00", "7.00"),
        option("SPY", JAN15, "P", "520", -1, "7.50", "6.00"),
    ]
    s = only(group_strategies(legs, today=TODAY))
    assert s.name == "short straddle" and s.short_strikes == (D(520),)
    assert s.max_profit == D("1550.00") and s.max_loss is None  # (8.00 + 7.50) x 100


def iron_condor(
    long_put: str = "0.40",
    short_put: str = "0.90",
    short_call: str = "0.70",
    long_call: str = "0.20",
) -> list[Position]:
    return [
        option("SPY", JAN15, "P", "480", 1, "1.10", long_put),
        option("SPY", JAN15, "P", "490", -1, "2.30", short_put),
        option("SPY", JAN15, "C", "560", -1, "2.05", short_call),
        option("SPY", JAN15, "C", "570", 1, "0.85", long_call),
    ]


def test_iron_condor_max_profit_is_the_credit_and_max_loss_the_width_less_it() -> None:
    s = only(group_strategies(iron_condor(), prices={"SPY": D(525)}, today=TODAY))
    assert s.name == "iron condor"
    assert s.credit == D("240.00")  # (2.30 - 1.10) + (2.05 - 0.85) = 2.40 x 100
    assert s.max_profit == D("240.00")  # SPY between 490 and 560: everything expires
    assert s.max_loss == D("760.00")  # a side's width 10 x 100 = 1000, less the 240
    assert s.cost_to_close == D("100.00")  # (0.90 - 0.40) + (0.70 - 0.20) = 1.00 x 100
    assert s.pnl == D("140.00")  # 240 - 100
    assert s.pnl_percent_of_max == D("58.33")  # 140 / 240
    assert s.short_strikes == (D(490), D(560))
    assert s.distance_percent == D("6.67")  # (525 - 490) / 525 = (560 - 525) / 525 = 6.67 %


def test_iron_butterfly_when_the_short_strikes_meet() -> None:
    legs = [
        option("SPY", JAN15, "P", "510", 1, "2.00", "2.00"),
        option("SPY", JAN15, "P", "520", -1, "5.00", "5.00"),
        option("SPY", JAN15, "C", "520", -1, "5.50", "5.50"),
        option("SPY", JAN15, "C", "530", 1, "2.50", "2.50"),
    ]
    s = only(group_strategies(legs, today=TODAY))
    assert s.name == "iron butterfly"
    assert s.credit == D("600.00")  # (5.00 - 2.00 + 5.50 - 2.50) x 100
    assert s.max_loss == D("400.00")  # width 10 x 100 - 600
    assert s.pnl == D("0.00") and s.pnl_percent_of_max == D("0.00")


def test_covered_call_pairs_shares_with_the_short_call_of_another_order() -> None:
    stock = shares("AAPL", 100, "200.00", "210.00")
    call = option("AAPL", JAN15, "C", "220", -1, "3.00", "2.50")
    history = [
        fill("AAPL", "Buy to Open", 100, 1, 60, "AAPL"),
        *opened_by(2, call, days_ago=10),
    ]
    s = only(group_strategies([stock, call], history, today=TODAY))
    assert s.name == "covered call" and s.label == "AAPL covered call 1/15"
    assert s.legs == (stock, call)
    assert s.credit == D("-19700.00")  # 100 x 200.00 paid, 3.00 x 100 received
    assert s.cost_to_close == D("-20750.00")  # selling the shares gets 21000, the call costs 250
    assert s.pnl == D("1050.00")  # shares +1000, call +50
    assert s.max_profit == D("2300.00")  # called away at 220: 100 x 20 + 300
    assert s.pnl_percent_of_max == D("45.65")  # % max: 1050 / 2300 of the max profit
    assert s.pnl_percent == D("5.33")  # of the debit: 1050 / 19700 (what a pnl alert reads)
    assert s.max_loss == D("19700.00")  # AAPL to 0: the shares' 20000 less the 300
    assert s.underlying_price == D("210.00")  # no quote given: the shares' own mark
    assert s.distance_percent == D("4.76")  # (220 - 210) / 210
    assert not s.tested and s.tested_within(D(5))


def test_shares_that_do_not_cover_the_call_stay_apart() -> None:
    stock = shares("AAPL", 50, "200.00", "210.00")
    call = option("AAPL", JAN15, "C", "220", -1, "3.00", "2.50")
    names = [s.name for s in group_strategies([stock, call], today=TODAY)]
    assert names == ["stock", "short call"]


def test_two_short_calls_covered_nearest_first_while_the_shares_last() -> None:
    stock = shares("AAPL", 100, "200.00", "210.00")
    near = option("AAPL", JAN15, "C", "220", -1, "3.00", "2.50")
    far = option("AAPL", FEB19, "C", "230", -1, "3.50", "3.00")
    history = [*opened_by(1, near), *opened_by(2, far)]  # the shares: no history
    got = {s.name: s for s in group_strategies([stock, near, far], history, today=TODAY)}
    assert got["covered call"].legs == (stock, near)
    assert got["short call"].legs == (far,) and got["short call"].opening_order == 2


def test_put_credit_spread() -> None:
    legs = [
        option("QQQ", JAN15, "P", "500", -1, "3.20", "1.60"),
        option("QQQ", JAN15, "P", "490", 1, "1.70", "0.80"),
    ]
    s = only(group_strategies(legs, today=TODAY))
    assert s.name == "put credit spread"
    assert s.credit == D("150.00")  # (3.20 - 1.70) x 100
    assert s.max_profit == D("150.00")
    assert s.max_loss == D("850.00")  # width 10 x 100 - 150
    assert s.pnl == D("70.00")  # cost to close (1.60 - 0.80) x 100 = 80; 150 - 80
    assert s.pnl_percent_of_max == D("46.67")  # 70 / 150


def test_call_debit_spread_percent_of_max_is_of_its_max_profit() -> None:
    legs = [
        option("QQQ", JAN15, "C", "500", 1, "6.00", "7.00"),
        option("QQQ", JAN15, "C", "510", -1, "2.50", "3.00"),
    ]
    s = only(group_strategies(legs, today=TODAY))
    assert s.name == "call debit spread"
    assert s.credit == D("-350.00")  # paid (6.00 - 2.50) x 100
    assert s.max_loss == D("350.00")  # the debit
    assert s.max_profit == D("650.00")  # width 10 x 100 - 350
    assert s.cost_to_close == D("-400.00")  # closing receives (7.00 - 3.00) x 100
    assert s.pnl == D("50.00")  # -350 + 400
    assert s.pnl_percent_of_max == D("7.69")  # 50 / 650, as the to-do list's target reads it
    assert s.pnl_percent == D("14.29")  # of the debit: 50 / 350


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        pytest.param([("P", "500", 1), ("P", "490", -1)], "put debit spread", id="put-debit"),
        pytest.param([("C", "500", -1), ("C", "510", 1)], "call credit spread", id="call-credit"),
        pytest.param([("P", "500", -1)], "short put", id="short-put"),
        pytest.param([("C", "500", -1)], "short call", id="short-call"),
        pytest.param([("P", "500", 1)], "long put", id="long-put"),
        pytest.param([("C", "500", 1)], "long call", id="long-call"),
        pytest.param([("P", "480", 1), ("C", "520", 1)], "custom", id="long-strangle"),
        pytest.param([("P", "490", -2), ("P", "480", 1)], "custom", id="ratio"),
        pytest.param(
            [("P", "480", -1), ("C", "560", -1), ("C", "570", 1)], "custom", id="jade-lizard"
        ),
        pytest.param(
            [("P", "480", 1), ("P", "490", -1), ("C", "560", -2), ("C", "570", 2)],
            "custom",
            id="unbalanced-condor",
        ),
    ],
)
def test_names_of_one_expiration_shapes(legs: list[tuple[str, str, int]], expected: str) -> None:
    positions = [option("SPY", JAN15, r, k, q, "1.00", "1.00") for r, k, q in legs]
    s = only(group_strategies(positions, today=TODAY))
    assert s.name == expected and len(s.legs) == len(legs)


def test_an_unknown_shape_is_custom_with_its_numbers_never_dropped() -> None:
    # a jade lizard: short put 480 @ 3.00, short call spread 560/570 @ 2.00/1.00
    legs = [
        option("SPY", JAN15, "P", "480", -1, "3.00", "2.00"),
        option("SPY", JAN15, "C", "560", -1, "2.00", "1.50"),
        option("SPY", JAN15, "C", "570", 1, "1.00", "0.50"),
    ]
    s = only(group_strategies(legs, today=TODAY))
    assert s.name == "custom" and s.label == "SPY custom 1/15"
    assert s.credit == D("400.00")  # 3.00 + 2.00 - 1.00
    assert s.max_profit == D("400.00")  # between 480 and 560 all expire
    assert s.max_loss == D("47600.00")  # SPY at 0: the put costs 48000, less 400
    assert s.pnl == D("100.00")  # cost to close 2.00 + 1.50 - 0.50 = 3.00 x 100
    assert s.short_strikes == (D(480), D(560))


def test_calendar_max_loss_is_the_debit_and_max_profit_unknown() -> None:
    short = option("SPY", JAN15, "C", "520", -1, "4.00", "3.00")
    long = option("SPY", FEB19, "C", "520", 1, "7.50", "7.00")
    s = only(group_strategies([short, long], opened_by(5, short, long), today=TODAY))
    assert s.name == "calendar" and s.opening_order == 5
    assert s.expiration == JAN15 and s.dte == 11  # the nearest leg
    assert s.credit == D("-350.00")  # paid 7.50, received 4.00
    assert s.max_loss == D("350.00")  # the long call is worth at least the short's value
    assert s.max_profit is None  # depends on the February call's time value
    assert s.pnl == D("50.00")  # cost to close: -(7.00 - 3.00) x 100 = -400; -350 + 400
    assert s.pnl_percent_of_max is None  # no max profit known: no % of it
    assert s.pnl_percent == D("14.29")  # of the debit: 50 / 350


def test_diagonal_with_the_long_strike_above_loses_the_width_too() -> None:
    short = option("SPY", JAN15, "C", "520", -1, "4.00", "4.00")
    long = option("SPY", FEB19, "C", "530", 1, "7.50", "7.50")
    s = only(group_strategies([short, long], opened_by(6, short, long), today=TODAY))
    assert s.name == "diagonal"
    # SPY above 530 on Jan 15: the 520 call costs 10 more than the 530 is worth at least,
    # 10 x 100 = 1000, plus the 350 debit
    assert s.max_loss == D("1350.00")


def test_calendar_found_without_history_from_two_lone_legs() -> None:
    short = option("SPY", JAN15, "P", "500", -1, "4.00", "3.00")
    long = option("SPY", FEB19, "P", "500", 1, "7.50", "7.00")
    s = only(group_strategies([short, long], today=TODAY))
    assert s.name == "calendar" and s.opening_order is None


def test_iron_condor_with_its_call_side_closed_is_a_put_credit_spread() -> None:
    condor = iron_condor()
    long_put, short_put, short_call, long_call = condor
    history = [
        *opened_by(7, *condor, days_ago=30),
        fill(short_call, "Buy to Close", 1, 8, 3),
        fill(long_call, "Sell to Close", 1, 8, 3),
    ]
    s = only(group_strategies([long_put, short_put], history, today=TODAY))
    assert s.name == "put credit spread" and s.opening_order == 7
    assert s.credit == D("120.00")  # what is left: (2.30 - 1.10) x 100
    assert s.max_loss == D("880.00")  # 1000 - 120
    assert s.pnl == D("70.00")  # cost to close (0.90 - 0.40) x 100 = 50; 120 - 50


# -- grouping ------------------------------------------------------------------------------
def two_put_spreads() -> tuple[list[Position], list[Transaction]]:
    first = [
        option("SPY", JAN15, "P", "500", -1, "3.00", "2.00"),
        option("SPY", JAN15, "P", "490", 1, "1.50", "1.00"),
    ]
    second = [
        option("SPY", JAN15, "P", "470", -1, "1.20", "0.60"),
        option("SPY", JAN15, "P", "460", 1, "0.50", "0.20"),
    ]
    return [*first, *second], [*opened_by(11, *first, days_ago=20), *opened_by(12, *second)]


def test_grouping_by_opening_order_splits_two_spreads_of_one_expiration() -> None:
    positions, history = two_put_spreads()
    got = group_strategies(positions, history, today=TODAY)
    # one expiration: ordered by their first (lowest) strike, 460 before 490
    assert [(s.name, s.opening_order) for s in got] == [
        ("put credit spread", 12),
        ("put credit spread", 11),
    ]
    by_order = {s.opening_order: s for s in got}
    assert by_order[11].credit == D("150.00")  # 3.00 - 1.50
    assert by_order[12].credit == D("70.00")  # 1.20 - 0.50
    assert by_order[11].max_loss == D("850.00") and by_order[12].max_loss == D("930.00")


def test_grouping_by_expiration_without_history_makes_one_custom() -> None:
    positions, _ = two_put_spreads()
    s = only(group_strategies(positions, today=TODAY))
    assert s.name == "custom" and len(s.legs) == 4 and s.opening_order is None
    assert s.credit == D("220.00")  # both spreads' 150 + 70


def test_a_rolled_call_stays_in_its_strangle() -> None:
    """One order bought the 300 call back and sold the 320: the roll carries the new
    call into the strangle the first order opened."""
    put = option("TSLA", JAN15, "P", "200", -1, "8.70", "3.00")
    old_call = option("TSLA", JAN15, "C", "300", -1, "9.15", "14.00")
    new_call = option("TSLA", JAN15, "C", "320", -1, "8.00", "7.50")
    history = [
        *opened_by(21, put, old_call, days_ago=20),
        fill(old_call, "Buy to Close", 1, 22, 2, "TSLA"),
        fill(new_call, "Sell to Open", 1, 22, 2, "TSLA"),
    ]
    s = only(group_strategies([put, new_call], history, today=TODAY))
    assert s.name == "short strangle" and s.opening_order == 21
    assert s.short_strikes == (D(200), D(320))


def test_a_strangle_legged_into_with_two_orders_is_one_strangle() -> None:
    """The put sold one day, the call the next: each its own order's only leg."""
    put = option("TSLA", JAN15, "P", "200", -1, "8.70", "2.60")
    call = option("TSLA", JAN15, "C", "300", -1, "9.15", "4.00")
    history = [*opened_by(31, put, days_ago=10), *opened_by(32, call, days_ago=9)]
    s = only(group_strategies([put, call], history, today=TODAY))
    assert s.name == "short strangle" and s.opening_order == 31  # the earlier order
    assert s.credit == D("1785.00") and s.pnl == D("1125.00")  # as one strangle


def test_shares_take_the_short_call_before_a_lone_put_does() -> None:
    stock = shares("AAPL", 100, "200.00", "210.00")
    call = option("AAPL", JAN15, "C", "220", -1, "3.00", "2.50")
    put = option("AAPL", JAN15, "P", "190", -1, "2.00", "1.00")
    history = [*opened_by(33, call), *opened_by(34, put)]  # two orders, one leg each
    got = group_strategies([stock, call, put], history, today=TODAY)
    assert sorted(s.name for s in got) == ["covered call", "short put"]
    # with no history the call and the put share an expiration: one group, a strangle
    names = sorted(s.name for s in group_strategies([stock, call, put], today=TODAY))
    assert names == ["short strangle", "stock"]


def test_a_call_rolled_twice_stays_in_its_strangle() -> None:
    put = option("TSLA", JAN15, "P", "200", -1, "8.70", "3.00")
    first = option("TSLA", JAN15, "C", "300", -1, "9.15", "14.00")
    second = option("TSLA", JAN15, "C", "320", -1, "8.00", "12.00")
    third = option("TSLA", FEB19, "C", "340", -1, "9.00", "8.50")
    history = [
        *opened_by(21, put, first, days_ago=20),
        fill(first, "Buy to Close", 1, 22, 9, "TSLA"),
        fill(second, "Sell to Open", 1, 22, 9, "TSLA"),
        fill(second, "Buy to Close", 1, 23, 2, "TSLA"),
        fill(third, "Sell to Open", 1, 23, 2, "TSLA"),
    ]
    assert opening_orders([put, third], history) == {put.symbol: 21, third.symbol: 21}
    s = only(group_strategies([put, third], history, today=TODAY))
    # rolled out to February too: two expirations, a put and a call, no named shape
    assert s.name == "custom" and s.opening_order == 21 and s.expiration == JAN15


def test_an_opening_older_than_the_history_falls_back_to_the_expiration() -> None:
    short = option("SPY", JAN15, "P", "500", -2, "3.00", "2.00")
    # only the second contract's sale is in the record: -2 - (-1) is not flat before it
    history = [fill(short, "Sell to Open", 1, 41, 5)]
    assert opening_orders([short], history) == {}
    assert only(group_strategies([short], history, today=TODAY)).opening_order is None


def test_opening_order_is_the_first_fill_of_the_current_round_trip() -> None:
    short = option("SPY", JAN15, "P", "500", -2, "3.00", "2.00")
    history = [
        fill(short, "Sell to Open", 1, 51, 40),  # an earlier round trip ...
        fill(short, "Buy to Close", 1, 52, 35),  # ... closed
        fill(short, "Sell to Open", 1, 53, 20),  # the position held now opened here
        fill(short, "Sell to Open", 1, 54, 10),  # and was added to
    ]
    assert opening_orders([short], history) == {short.symbol: 53}


def test_positions_of_quantity_zero_are_left_out() -> None:
    gone = option("SPY", JAN15, "P", "500", 0, "3.00", "0.00")
    assert group_strategies([gone], today=TODAY) == []


def test_every_leg_in_exactly_one_strategy() -> None:
    positions, history = two_put_spreads()
    everything = [
        *positions,
        *iron_condor(),
        shares("AAPL", 100, "200", "210"),
        option("AAPL", JAN15, "C", "220", -1, "3.00", "2.50"),
        option("TSLA", FEB19, "P", "200", -1, "8.70", None),
    ]
    legs = [p for s in group_strategies(everything, history, today=TODAY) for p in s.legs]
    assert sorted(p.symbol for p in legs) == sorted(p.symbol for p in everything)


# -- tested --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("right", "strike", "price", "distance", "tested"),
    [
        pytest.param("P", "490", "505", "2.97", False, id="put-2.97pct-away"),  # 15 / 505
        pytest.param("P", "490", "495", "1.01", True, id="put-within-2pct"),  # 5 / 495
        pytest.param("P", "490", "485", "-1.03", True, id="put-through-the-strike"),  # -5 / 485
        pytest.param("C", "560", "550", "1.82", True, id="call-within-2pct"),  # 10 / 550
        pytest.param("C", "560", "540", "3.70", False, id="call-3.7pct-away"),  # 20 / 540
    ],
)
def test_tested_within_two_percent_of_a_short_strike(
    right: str, strike: str, price: str, distance: str, tested: bool
) -> None:
    leg = option("SPY", JAN15, right, strike, -1, "2.00", "2.00")
    s = only(group_strategies([leg], prices={"SPY": D(price)}, today=TODAY))
    assert s.distance_percent == D(distance) and s.tested is tested


def test_tested_within_is_a_parameter() -> None:
    leg = option("SPY", JAN15, "P", "490", -1, "2.00", "2.00")
    # 15 / 505 = 2.97 % away
    assert not only(group_strategies([leg], prices={"SPY": D(505)}, today=TODAY)).tested
    wide = group_strategies([leg], prices={"SPY": D(505)}, today=TODAY, tested_within=D(3))
    assert only(wide).tested


def test_not_tested_without_a_price_or_without_short_options() -> None:
    short = option("SPY", JAN15, "P", "490", -1, "2.00", "2.00")
    assert not only(group_strategies([short], today=TODAY)).tested
    long = option("SPY", JAN15, "P", "490", 1, "2.00", "2.00")
    s = only(group_strategies([long], prices={"SPY": D(490)}, today=TODAY))
    assert s.distance_percent is None and not s.tested and s.short_strikes == ()


# -- cash-secured puts, futures, crypto, missing marks -------------------------------------
def test_cash_secured_when_the_cash_covers_strike_times_100() -> None:
    put = option("KO", JAN15, "P", "60", -1, "1.00", "0.50")
    assert only(group_strategies([put], today=TODAY)).name == "short put"  # no cash known
    assert only(group_strategies([put], today=TODAY, cash=D(6000))).name == "cash-secured put"
    assert only(group_strategies([put], today=TODAY, cash=D(5999))).name == "short put"


def test_cash_secures_the_nearest_puts_first() -> None:
    near = option("KO", JAN15, "P", "60", -1, "1.00", "0.50")
    far = option("PEP", FEB19, "P", "150", -1, "3.00", "2.50")
    got = {s.underlying: s.name for s in group_strategies([far, near], today=TODAY, cash=D(16000))}
    # 6000 for KO leaves 10000, short of PEP's 15000
    assert got == {"KO": "cash-secured put", "PEP": "short put"}


def test_futures_crypto_and_futures_options() -> None:
    future = Position(
        symbol="/ESH7",
        underlying_symbol="/ESH7",
        instrument_type="Future",
        quantity=D(1),
        average_open_price=D("6000.00"),
        close_price=D("6000.00"),
        multiplier=D(50),
        mark=D("6010.00"),
        expires_at=datetime(2027, 3, 19, 9, 30, tzinfo=NEW_YORK),
    )
    btc = Position(
        symbol="BTC/USD",
        underlying_symbol="BTC/USD",
        instrument_type="Cryptocurrency",
        quantity=D("0.5"),
        average_open_price=D("90000"),
        close_price=D("90000"),
        multiplier=D(1),
        mark=D("92000"),
        expires_at=None,
    )

    def future_option(right: str, strike: str, opened: str) -> Position:
        return Position(
            symbol=f"./ESH7 E1AF7 270108{right}{strike}",
            underlying_symbol="/ESH7",
            instrument_type="Future Option",
            quantity=D(-1),
            average_open_price=D(opened),
            close_price=D(opened),
            multiplier=D(50),
            mark=D("20.00"),
            expires_at=datetime(2027, 1, 8, 16, tzinfo=NEW_YORK),
        )

    legs = [future, btc, future_option("C", "6300", "40.00"), future_option("P", "5700", "35.00")]
    got = {s.name: s for s in group_strategies(legs, today=TODAY)}
    assert set(got) == {"future", "crypto", "short strangle"}
    assert got["future"].label == "/ESH7 future 3/19" and got["future"].pnl == D(
        "500.00"
    )  # 10 x 50
    assert got["crypto"].credit == D("-45000.00")  # paid for: 0.5 x 90000
    assert got["crypto"].label == "BTC/USD crypto" and got["crypto"].pnl == D("1000.00")
    strangle = got["short strangle"]
    assert strangle.credit == D("3750.00")  # (40 + 35) x 50
    assert strangle.pnl == D("1750.00")  # cost to close (20 + 20) x 50 = 2000
    assert strangle.underlying_price == D("6010.00")  # the future's own mark
    assert strangle.label == "/ESH7 short strangle 1/8"


def future(quantity: int, opened: str, mark: str) -> Position:
    """An /MES contract: $5 a point."""
    return Position(
        symbol="/MESH7",
        underlying_symbol="/MESH7",
        instrument_type="Future",
        quantity=D(quantity),
        average_open_price=D(opened),
        close_price=D(opened),
        multiplier=D(5),
        mark=D(mark),
        expires_at=datetime(2027, 3, 19, 9, 30, tzinfo=NEW_YORK),
    )


def test_long_future_has_no_credit_no_percent_and_loses_its_notional_at_most() -> None:
    s = only(group_strategies([future(1, "5896.30", "5989.00")], today=TODAY))
    assert s.name == "future"
    assert s.credit is None and not s.is_credit  # margined: nothing paid or received
    assert s.pnl == D("463.50")  # (5989.00 - 5896.30) x 5
    assert s.pnl_percent_of_max is None and s.pnl_percent is None  # a percent of nothing
    assert s.max_loss == D("29481.50")  # the price to zero: 5896.30 x 5, as for shares
    assert s.max_profit is None  # unlimited


def test_short_future_max_loss_is_unlimited() -> None:
    s = only(group_strategies([future(-2, "5900.00", "5950.00")], today=TODAY))
    assert s.credit is None and s.pnl == D("-500.00")  # (5900 - 5950) x 2 x 5
    assert s.max_loss is None  # unlimited: the price can rise without end
    assert s.max_profit == D("59000.00")  # the price to zero: 5900 x 2 x 5
    assert s.pnl_percent_of_max is None and s.pnl_percent is None


def test_no_mark_no_pnl() -> None:
    legs = [
        option("TSLA", JAN15, "C", "300", -1, "9.15", None),
        option("TSLA", JAN15, "P", "200", -1, "8.70", "2.60"),
    ]
    s = only(group_strategies(legs, today=TODAY))
    assert s.credit == D("1785.00")
    assert s.pnl is None and s.cost_to_close is None and s.pnl_percent_of_max is None


def test_label_adds_the_year_of_another_year() -> None:
    leg = option("SPY", JAN15, "P", "490", -1, "2.00", "2.00")
    s = only(group_strategies([leg], today=date(2026, 12, 28)))
    assert s.label == "SPY short put 1/15/27" and s.dte == 18


# -- `ttai positions --strategies` through the real CLI, SDK and simulated API ---------------
STRATEGY_FIELDS = [
    "underlying",
    "strategy",
    "expiration",
    "dte",
    "legs",
    "credit",
    "max_profit",
    "max_loss",
    "pnl",
    "pnl_percent_of_max",
    "underlying_price",
    "short_strikes",
    "tested",
    "as_of",
]


def premium_sellers_book(sim: object) -> dict[str, list[str]]:
    """Replace the simulated book: an SPY iron condor (one order), a TSLA strangle (one
    order), 100 AAPL shares and a short AAPL call (two orders). SPY is held at 560, 1.8 %
    above the condor's 550 short put; TSLA at 250, 20 % from both short strikes."""
    from ttai_cli.simulator.calendar import weekly_expiration

    account = sim.account  # type: ignore[attr-defined]
    account.positions.clear()
    account.transactions.clear()
    sim.market.pin("SPY", 560.0)  # type: ignore[attr-defined]
    sim.market.pin("TSLA", 250.0)  # type: ignore[attr-defined]
    now = datetime.now(NEW_YORK) - timedelta(days=3)
    expiry = weekly_expiration(now.date() + timedelta(days=30))
    expires_at = datetime.combine(expiry, time(16), NEW_YORK)
    books: dict[str, list[str]] = {}

    def sell_or_buy(order: int, root: str, legs: list[tuple[str, str, int, str]]) -> None:
        for right, strike, quantity, price in legs:
            symbol = occ_symbol(root, expiry, right, D(strike))
            account.trade(
                symbol,
                quantity,
                price,
                now,
                underlying=root,
                instrument_type="Equity Option",
                expires_at=expires_at,
                order_id=order,
            )
            books.setdefault(root, []).append(symbol)

    sell_or_buy(
        900_001,
        "SPY",
        [
            ("P", "540", 1, "1.10"),
            ("P", "550", -1, "2.30"),
            ("C", "650", -1, "2.05"),
            ("C", "660", 1, "0.85"),
        ],
    )
    sell_or_buy(900_002, "TSLA", [("C", "300", -1, "9.15"), ("P", "200", -1, "8.70")])
    account.trade("AAPL", 100, "200.00", now - timedelta(days=10), order_id=900_003)
    sell_or_buy(900_004, "AAPL", [("C", "260", -1, "3.00")])
    return books


def test_positions_strategies_json_per_spec_from_the_last_sync(ttai, broker_env, sim) -> None:  # type: ignore[no-untyped-def]
    import json

    books = premium_sellers_book(sim)
    assert ttai("sync").code == 0
    result = ttai("positions", "--strategies", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert all(list(row) == [*STRATEGY_FIELDS, "underlying_price_as_of"] for row in rows)
    got = {row["strategy"]: row for row in rows}
    assert set(got) == {"iron condor", "short strangle", "covered call"}
    condor = got["iron condor"]
    assert condor["underlying"] == "SPY" and condor["legs"] == books["SPY"]  # strike order
    assert condor["credit"] == 240.0  # (2.30 - 1.10 + 2.05 - 0.85) x 100
    assert condor["max_profit"] == 240.0 and condor["max_loss"] == 760.0  # 10 x 100 - 240
    assert condor["short_strikes"] == [550.0, 650.0]
    assert condor["underlying_price"] == 560.0
    assert condor["tested"] is True  # (560 - 550) / 560 = 1.79 % <= 2 %
    assert isinstance(condor["dte"], int) and 25 <= condor["dte"] <= 40
    strangle = got["short strangle"]
    assert strangle["credit"] == 1785.0 and strangle["max_loss"] is None
    assert strangle["tested"] is False  # 20 % away
    covered = got["covered call"]
    assert covered["legs"][0] == "AAPL" and covered["credit"] == -19700.0  # 20000 paid, 300 got
    # called away at 260: the shares make 100 x 60 = 6000, plus the call's 300
    assert covered["max_profit"] == 6300.0 and covered["max_loss"] == 19700.0
    # the P&L is the legs' P&L at the sync's marks; % max is of the max profit (of the
    # credit, for the two credit strategies)
    legs = {r["symbol"]: r for r in json.loads(ttai("positions", "--json").out)}
    for row in rows:
        assert row["pnl"] == pytest.approx(sum(legs[s]["pnl"] for s in row["legs"]), abs=0.005)
        percent = row["pnl"] / row["max_profit"] * 100
        assert row["pnl_percent_of_max"] == pytest.approx(percent, abs=0.006)
    as_of = {row["as_of"] for row in rows}
    assert as_of == {next(iter(legs.values()))["as_of"]}  # the sync's time, as positions say


def test_positions_strategies_table_names_strategies_and_their_legs(ttai, broker_env, sim) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.broker.symbols import readable

    books = premium_sellers_book(sim)
    assert ttai("sync").code == 0
    result = ttai("positions", "--strategies")
    assert result.code == 0, result.err
    out = result.out
    assert "SPY iron condor" in out and "TESTED" in out and "As of" in out
    assert "TSLA short strangle" in out and "AAPL covered call" in out
    today = datetime.now(NEW_YORK).date()
    for symbol in books["SPY"]:
        assert readable(symbol, today) in out  # the legs beneath, readable
    # each strategy's underlying price and distance, then its legs, follow its own row
    lines = out.splitlines()
    condor = next(i for i, line in enumerate(lines) if "SPY iron condor" in line)
    assert "SPY $560.00, 1.8% from 550P" in lines[condor + 1]
    assert readable(books["SPY"][0], today) in lines[condor + 2]


def test_stored_strategies_say_their_underlying_prices_are_live_and_a_debit_is_one(
    ttai, broker_env, sim
) -> None:  # type: ignore[no-untyped-def]
    """From the last sync, legs and P&L are the sync's but the underlying prices are
    quoted now: the caption says so with their time, JSON's `underlying_price_as_of` is
    the quote's (the held shares' own mark: the sync's); the covered call's debit reads
    `$19,700 db`, not `Credit -$19,700` (JSON's credit stays negative)."""
    import json

    premium_sellers_book(sim)
    assert ttai("sync").code == 0
    rows = {r["strategy"]: r for r in json.loads(ttai("positions", "--strategies", "--json").out)}
    condor, covered = rows["iron condor"], rows["covered call"]
    assert condor["underlying_price_as_of"] > condor["as_of"], "SPY quoted after the sync"
    assert covered["underlying_price_as_of"] == covered["as_of"], "AAPL: its shares' mark"
    assert covered["credit"] == -19700.0
    table = ttai("positions", "--strategies")
    assert table.code == 0, table.err
    assert "Underlying prices live at " in table.out
    assert "(shares and futures held: as synced)" in table.out
    row = next(line for line in table.out.splitlines() if "AAPL covered call" in line)
    assert "$19,700 db" in row and "-$19,700" not in row
    live = ttai("positions", "--strategies", "--live")
    assert "Underlying prices live" not in live.out, "live: all of one time, the caption's"


def test_positions_strategies_live_and_never_synced(ttai, broker_env, sim) -> None:  # type: ignore[no-untyped-def]
    import json

    premium_sellers_book(sim)
    never = ttai("positions", "--strategies", "--json")
    assert never.code == 0 and "no sync yet; showing live data" in never.err
    live = ttai("positions", "--strategies", "--live", "--json")
    assert live.code == 0 and live.err == ""
    names = sorted(row["strategy"] for row in json.loads(live.out))
    assert names == sorted(row["strategy"] for row in json.loads(never.out))
    assert names == ["covered call", "iron condor", "short strangle"]


def test_positions_strategies_on_the_demo(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("--demo", "positions", "--strategies")
    assert result.code == 0, result.err
    for name in (
        "AAPL covered call",
        "SPY iron condor",
        "TSLA short strangle",
        "IWM put credit spread",
        "/MES",
    ):
        assert name in result.out, name
    assert "Strategies" in result.out


def test_positions_strategies_from_the_sync_without_tastytrade_shows_no_prices(
    ttai, broker_env, sim, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The underlying prices are the one live part of the stored view: when tastytrade
    cannot be reached the strategies still show, untested, with a warning."""
    import json
    import socket

    premium_sellers_book(sim)
    assert ttai("sync").code == 0
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("TTAI_API_URL", f"http://127.0.0.1:{port}")
    result = ttai("positions", "--strategies", "--json")
    assert result.code == 0, result.err
    rows = {row["strategy"]: row for row in json.loads(result.out)}
    assert rows["iron condor"]["underlying_price"] is None
    assert rows["iron condor"]["tested"] is False
    assert rows["covered call"]["underlying_price"] is not None  # the shares' own mark
    assert "no underlying prices" in result.err


def test_demo_future_shows_no_credit_no_percent_and_its_notional_as_max_loss(ttai) -> None:  # type: ignore[no-untyped-def]
    """The trader's /MES: `Credit -$29,482`, `% max +2%`, `Max loss unlimited` read
    wrong for a long future, which is margined (nothing paid) and can lose at most its
    price to zero."""
    import json

    rows = json.loads(ttai("--demo", "positions", "--strategies", "--json").out)
    future = next(row for row in rows if row["strategy"] == "future")
    legs = {r["symbol"]: r for r in json.loads(ttai("--demo", "positions", "--json").out)}
    leg = legs[future["legs"][0]]
    assert leg["quantity"] > 0  # the demo holds it long
    assert future["credit"] is None and future["pnl_percent_of_max"] is None
    assert future["max_profit"] is None  # unlimited
    notional = leg["average_open_price"] * leg["quantity"] * leg["multiplier"]
    assert future["max_loss"] == pytest.approx(notional, abs=0.005)
    covered = next(row for row in rows if row["strategy"] == "covered call")
    assert covered["pnl_percent_of_max"] == pytest.approx(
        covered["pnl"] / covered["max_profit"] * 100, abs=0.006
    )
    table = ttai("--demo", "positions", "--strategies").out
    assert "% max: P&L as a percent of max profit (the credit, for credit strategies)" in table
    row = next(line for line in table.splitlines() if "future" in line)
    cells = [cell.strip() for cell in re.split(r"[│┃]", row) if cell.strip()]
    assert cells[2:6] == ["—", f"+${future['pnl']:,.0f}", "—", f"${notional:,.0f}"], cells
