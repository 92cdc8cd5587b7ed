"""Account endpoints of the simulator: the account, positions, balances, transactions,
orders."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli.broker.symbols import parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.account import SimPosition, _iso
from ttai_cli.simulator.http import SimRequest, SimResponse, dec, json_response

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade


def account_json(sim: SimulatedTastytrade) -> dict[str, Any]:
    return {
        "account-number": sim.account.account_number,
        "opened-at": "2021-03-01T14:30:00.000Z",
        "nickname": "Simulated",
        "account-type-name": "Individual",
        "is-closed": False,
        "day-trader-status": False,
        "is-firm-error": False,
        "is-firm-proprietary": False,
        "is-futures-approved": False,
        "margin-or-cash": "Margin",
        "is-foreign": False,
        "created-at": "2021-03-01T14:30:00.000Z",
        "suitable-options-level": "No Restrictions",
    }


def positions(sim: SimulatedTastytrade, request: SimRequest) -> SimResponse:
    include_marks = request.query.get("include-marks", ["false"])[0].lower() == "true"
    items = [position_json(sim, pos, include_marks) for pos in sim.account.positions.values()]
    return json_response(
        200,
        {
            "data": {"items": items},
            "context": f"/accounts/{sim.account.account_number}/positions",
        },
    )


def position_json(
    sim: SimulatedTastytrade, pos: SimPosition, include_marks: bool = True
) -> dict[str, Any]:
    """A position in the API's shape (also the account streamer's CurrentPosition);
    a position with quantity 0 is a closed one (`quantity-direction` Zero)."""
    now = sim.now()
    quote = sim.market.quote(pos.symbol)
    direction = "Long" if pos.quantity > 0 else "Short" if pos.quantity < 0 else "Zero"
    item: dict[str, Any] = {
        "account-number": sim.account.account_number,
        "symbol": pos.symbol,
        "instrument-type": pos.instrument_type,
        "underlying-symbol": pos.underlying,
        "quantity": dec(abs(pos.quantity)),
        "quantity-direction": direction,
        "close-price": dec(quote.prev_close),
        "average-open-price": dec(pos.average_open_price),
        "average-yearly-market-close-price": dec(pos.average_open_price),
        "average-daily-market-close-price": dec(quote.prev_close),
        "multiplier": pos.multiplier,
        "cost-effect": "Debit" if pos.quantity > 0 else "Credit",
        "is-suppressed": False,
        "is-frozen": False,
        "restricted-quantity": "0.0",
        "realized-day-gain": "0.0",
        "realized-day-gain-effect": "None",
        "realized-day-gain-date": now.date().isoformat(),
        "realized-today": "0.0",
        "realized-today-effect": "None",
        "realized-today-date": now.date().isoformat(),
        "created-at": _iso(pos.opened_at),
        "updated-at": _iso(now),
    }
    if pos.expires_at is not None:
        item["expires-at"] = _iso(pos.expires_at)
    if include_marks:
        item["mark-price"] = dec(quote.mark)
        item["mark"] = dec(quote.mark * abs(pos.quantity) * pos.multiplier)
    return item


def option_requirement(held: list[SimPosition]) -> Decimal:
    """The margin short equity options need, per root and expiration, in the spirit of
    the real rules (not their detail):
    - a short option covered by a long one of the same right (a vertical) needs what
      the pair can lose at expiration: the strikes' difference when the short strike is
      the riskier one (a credit spread), nothing for a debit spread; the nearest long
      strike covers first;
    - a short call still uncovered is covered by long shares (100 a contract): nothing;
    - the rest is naked: 20 % of the strike a contract;
    - only one side of a root and expiration can finish in the money, so a strangle or
      an iron condor needs the larger of its put side and its call side."""
    shares: dict[str, Decimal] = {}
    sides: dict[tuple[str, object], dict[str, list[tuple[Decimal, Decimal]]]] = {}
    for pos in held:
        if pos.instrument_type == "Equity" and pos.quantity > 0:
            shares[pos.symbol] = shares.get(pos.symbol, Decimal(0)) + pos.quantity
        occ = parse_occ(pos.symbol)
        if occ is not None:
            of_root = sides.setdefault((occ.root.strip(), occ.expiration), {"P": [], "C": []})
            of_root[occ.right].append((occ.strike, pos.quantity * pos.multiplier / 100))
    total = Decimal(0)
    for (root, _), by_right in sorted(sides.items(), key=lambda item: str(item[0])):
        need: dict[str, Decimal] = {}
        for right, legs in by_right.items():
            longs = [[strike, qty] for strike, qty in legs if qty > 0]
            side = Decimal(0)
            for strike, qty in legs:
                left = -qty
                for cover in sorted(longs, key=lambda long: abs(long[0] - strike)):
                    used = min(left, cover[1])
                    if used <= 0:
                        continue
                    width = strike - cover[0] if right == "P" else cover[0] - strike
                    side += max(width, Decimal(0)) * 100 * used
                    cover[1] -= used
                    left -= used
                if left > 0 and right == "C":
                    used = min(left, shares.get(root, Decimal(0)) / 100)
                    shares[root] = shares.get(root, Decimal(0)) - used * 100
                    left -= used
                if left > 0:
                    side += strike * 100 * left * Decimal("0.2")
            need[right] = side
        total += max(need.values())
    return total


def balances_json(sim: SimulatedTastytrade) -> dict[str, Any]:
    """Balances from the positions at their marks. A future counts its gain or loss
    since it opened (the account is marked to market) and 5 % of its notional as
    margin; shares 25 % of their value; short options what `option_requirement` says."""
    long_equity = short_equity = long_deriv = short_deriv = futures = Decimal(0)
    maintenance = option_requirement(list(sim.account.positions.values()))
    for pos in sim.account.positions.values():
        quote = sim.market.quote(pos.symbol)
        value = quote.mark * pos.quantity * pos.multiplier
        if pos.instrument_type == "Future":
            futures += (quote.mark - pos.average_open_price) * pos.quantity * pos.multiplier
            maintenance += abs(value) * Decimal("0.05")
        elif pos.instrument_type == "Equity":
            long_equity += max(value, Decimal(0))
            short_equity += min(value, Decimal(0))
            maintenance += abs(value) * Decimal("0.25")
        else:
            long_deriv += max(value, Decimal(0))
            short_deriv += min(value, Decimal(0))
    cash = sim.account.cash
    nlv = cash + long_equity + short_equity + long_deriv + short_deriv + futures
    equity_bp = max(Decimal(0), (nlv - maintenance) * 2)
    deriv_bp = max(Decimal(0), nlv - maintenance)
    zero = "0.0"
    data = {
        "account-number": sim.account.account_number,
        "cash-balance": dec(cash.quantize(Decimal("0.01"))),
        "long-equity-value": dec(long_equity.quantize(Decimal("0.01"))),
        "short-equity-value": dec(abs(short_equity).quantize(Decimal("0.01"))),
        "long-derivative-value": dec(long_deriv.quantize(Decimal("0.01"))),
        "short-derivative-value": dec(abs(short_deriv).quantize(Decimal("0.01"))),
        "long-futures-value": zero,
        "short-futures-value": zero,
        "long-futures-derivative-value": zero,
        "short-futures-derivative-value": zero,
        "long-margineable-value": dec(long_equity.quantize(Decimal("0.01"))),
        "short-margineable-value": zero,
        "margin-equity": dec(nlv.quantize(Decimal("0.01"))),
        "equity-buying-power": dec(equity_bp.quantize(Decimal("0.01"))),
        "derivative-buying-power": dec(deriv_bp.quantize(Decimal("0.01"))),
        "day-trading-buying-power": zero,
        "futures-margin-requirement": zero,
        "available-trading-funds": zero,
        "maintenance-requirement": dec(maintenance.quantize(Decimal("0.01"))),
        "maintenance-call-value": zero,
        "reg-t-call-value": zero,
        "day-trading-call-value": zero,
        "day-equity-call-value": zero,
        "net-liquidating-value": dec(nlv.quantize(Decimal("0.01"))),
        "cash-available-to-withdraw": dec(max(Decimal(0), cash).quantize(Decimal("0.01"))),
        "day-trade-excess": zero,
        "pending-cash": "125.00",
        "pending-cash-effect": "Debit",
        "long-cryptocurrency-value": zero,
        "short-cryptocurrency-value": zero,
        "cryptocurrency-margin-requirement": zero,
        "unsettled-cryptocurrency-fiat-amount": zero,
        "unsettled-cryptocurrency-fiat-effect": "None",
        "closed-loop-available-balance": zero,
        "equity-offering-margin-requirement": zero,
        "long-bond-value": zero,
        "bond-margin-requirement": zero,
        "used-derivative-buying-power": dec(maintenance.quantize(Decimal("0.01"))),
        "snapshot-date": sim.now().date().isoformat(),
        "reg-t-margin-requirement": dec(maintenance.quantize(Decimal("0.01"))),
        "futures-overnight-margin-requirement": zero,
        "futures-intraday-margin-requirement": zero,
        "maintenance-excess": dec((nlv - maintenance).quantize(Decimal("0.01"))),
        "pending-margin-interest": zero,
        "effective-cryptocurrency-buying-power": zero,
        "updated-at": _iso(sim.now()),
        "currency": "USD",
    }
    return data


def orders_page(sim: SimulatedTastytrade, request: SimRequest) -> SimResponse:
    """`GET /accounts/N/orders`: the order history (`orders.order_history`), received on
    or after `start-date` (New York dates), newest first unless `sort=Asc`, paginated
    as the API does."""
    from ttai_cli.simulator.orders import order_history

    q = request.query
    start = q.get("start-date", [None])[0]
    end = q.get("end-date", [None])[0]

    def day(order: dict[str, Any]) -> str:
        received = datetime.fromisoformat(order["received-at"].replace("Z", "+00:00"))
        return received.astimezone(NEW_YORK).date().isoformat()

    rows = [
        o
        for o in order_history(sim)
        if (start is None or day(o) >= start) and (end is None or day(o) <= end)
    ]
    rows.sort(
        key=lambda o: (o["received-at"], o["id"]), reverse=q.get("sort", ["Desc"])[0] != "Asc"
    )
    return _page(request, rows, sim.max_per_page)


def transactions(sim: SimulatedTastytrade, request: SimRequest) -> SimResponse:
    q = request.query
    start = q.get("start-date", [None])[0]
    end = q.get("end-date", [None])[0]
    rows = [
        t
        for t in sim.account.transactions
        if (start is None or t["transaction-date"] >= start)
        and (end is None or t["transaction-date"] <= end)
    ]
    rows.sort(
        key=lambda t: (t["executed-at"], t["id"]), reverse=q.get("sort", ["Desc"])[0] == "Desc"
    )
    return _page(request, rows, sim.max_per_page)


def _page(request: SimRequest, rows: list[dict[str, Any]], max_per_page: int) -> SimResponse:
    """One page of `rows` (`per-page`, `page-offset`) with the API's pagination block."""
    q = request.query
    per_page = min(int(q.get("per-page", ["250"])[0]), max_per_page)
    offset = int(q.get("page-offset", ["0"])[0])
    total = len(rows)
    pages = max(1, math.ceil(total / per_page))
    page = rows[offset * per_page : (offset + 1) * per_page]
    return json_response(
        200,
        {
            "data": {"items": page},
            "api-version": "v1",
            "context": request.path,
            "pagination": {
                "per-page": per_page,
                "page-offset": offset,
                "item-offset": offset * per_page,
                "total-items": total,
                "total-pages": pages,
                "current-item-count": len(page),
                "previous-link": None,
                "next-link": None,
                "paging-link-template": None,
            },
        },
    )
