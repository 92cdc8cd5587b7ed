"""Strategy grouping (`group_strategies`) for a large book: 2,000 legs over 300 underlyings.

The book, per underlying: an iron condor (one order) and a short strangle (another order,
another expiration); on 100 of them also 100 shares and a short call (a covered call,
two orders). The history holds every leg's opening fill and, per underlying, two
earlier round trips that closed (a put spread opened and bought back), so the walk
back to each opening fill has older fills to skip: 2,000 legs, 4,400 fills.

Timed in this process, the median of the runs (wall and CPU time), after one untimed
run (option symbols are parsed once per process, as in a loop that groups the same
book every minute):
- grouping with the history (by opening order) and without it (by expiration);
- baseline, the same run: the plain positions listing's work for the same 2,000 legs
  (`services.portfolio.position_view`, P&L and DTE per leg).

    python -m bench.strategies [--quick]
"""

from __future__ import annotations

import statistics
import time as timer
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bench.common import Row, run_rows
from ttai_cli.broker.models import Position, Transaction
from ttai_cli.broker.symbols import occ_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.services.portfolio import position_view
from ttai_cli.strategies import group_strategies

UNDERLYINGS = 300
LEGS = 2_000
TARGET_S = 0.050
TODAY = date(2027, 1, 4)
D = Decimal


def book() -> tuple[list[Position], list[Transaction], dict[str, Decimal]]:
    """The positions, their history and the underlyings' prices (see the docstring)."""
    positions: list[Position] = []
    fills: list[Transaction] = []
    prices: dict[str, Decimal] = {}
    ids = iter(range(1, 1_000_000))
    orders = iter(range(1, 1_000_000))

    def fill(symbol: str, root: str, action: str, quantity: int, order: int, days: int) -> None:
        at = datetime.combine(TODAY - timedelta(days=days), time(10), NEW_YORK)
        fills.append(
            Transaction(
                id=next(ids),
                executed_at=at.astimezone(UTC),
                transaction_date=at.date(),
                transaction_type="Trade",
                transaction_sub_type=action,
                description="",
                symbol=symbol,
                underlying_symbol=root,
                instrument_type="Equity Option",
                action=action,
                quantity=D(quantity),
                price=D(1),
                value=D(0),
                net_value=D(0),
                commission=None,
                fees=D(0),
                order_id=order,
            )
        )

    def hold(root: str, expiry: date, legs: list[tuple[str, int, int]], days: int) -> None:
        order = next(orders)
        for right, strike, quantity in legs:
            symbol = occ_symbol(root, expiry, right, D(strike))
            positions.append(
                Position(
                    symbol,
                    root,
                    "Equity Option",
                    D(quantity),
                    D("2.00"),
                    D("2.00"),
                    D(100),
                    D("1.00"),
                    datetime.combine(expiry, time(16), NEW_YORK),
                )
            )
            fill(symbol, root, "Sell to Open" if quantity < 0 else "Buy to Open", 1, order, days)

    for i in range(UNDERLYINGS):
        root = f"U{i:03d}"
        spot = 100 + i
        prices[root] = D(spot)
        near, far = TODAY + timedelta(days=11 + i % 7), TODAY + timedelta(days=46 + i % 7)
        for trip in (80, 60):  # two closed round trips: a put spread opened and closed
            order, closing = next(orders), next(orders)
            for strike, quantity in ((spot - 10, -1), (spot - 20, 1)):
                symbol = occ_symbol(root, near, "P", D(strike))
                fill(
                    symbol, root, "Sell to Open" if quantity < 0 else "Buy to Open", 1, order, trip
                )
                fill(
                    symbol,
                    root,
                    "Buy to Close" if quantity < 0 else "Sell to Close",
                    1,
                    closing,
                    trip - 5,
                )
        hold(
            root,
            near,
            [("P", spot - 20, 1), ("P", spot - 10, -1), ("C", spot + 10, -1), ("C", spot + 20, 1)],
            30,
        )
        hold(root, far, [("P", spot - 15, -1), ("C", spot + 15, -1)], 20)
        if i < (LEGS - UNDERLYINGS * 6) // 2:
            positions.append(
                Position(root, root, "Equity", D(100), D(spot), D(spot), D(1), D(spot), None)
            )
            fill(root, root, "Buy to Open", 100, next(orders), 40)
            hold(root, far, [("C", spot + 25, -1)], 10)
    assert len(positions) == LEGS, len(positions)
    return positions, fills, prices


def medians(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of `work`, each the median of `runs` runs. The CPU time says
    what the grouping costs when other processes share the cores."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = timer.perf_counter(), timer.process_time()
        work()
        wall.append(timer.perf_counter() - start)
        cpu.append(timer.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def measure(quick: bool = False) -> list[Row]:
    positions, fills, prices = book()
    runs = 5 if quick else 21
    grouped = group_strategies(positions, fills, prices, today=TODAY)  # also warms the caches
    by_expiration = group_strategies(positions, (), prices, today=TODAY)
    base, _ = medians(lambda: [position_view(p, p.mark, TODAY) for p in positions], runs)
    rows = []
    for label, history, count in (
        (f"by opening order ({len(fills):,} fills)", fills, len(grouped)),
        ("by expiration (no history)", (), len(by_expiration)),
    ):
        seconds, cpu = medians(
            lambda history=history: group_strategies(positions, history, prices, today=TODAY),
            runs,
        )
        rows.append(
            Row(
                f"strategies: group {LEGS:,} legs over {UNDERLYINGS} underlyings, {label}",
                f"{seconds * 1000:.1f} ms ({seconds / TARGET_S:.2f} of the target; CPU "
                f"{cpu * 1000:.1f} ms), {count} strategies, median of {runs}",
                f"position views for the same legs {base * 1000:.1f} ms",
                seconds / base,
                f"<= {TARGET_S * 1000:.0f} ms",
                seconds <= TARGET_S,
            )
        )
    return rows


def rows(quick: bool = False) -> list[Row]:
    return measure(quick)


def main() -> int:
    return run_rows(__doc__, measure)


if __name__ == "__main__":
    raise SystemExit(main())
