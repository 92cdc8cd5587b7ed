"""From the SDK's objects to ttai's models, signs applied (Short quantities and Debit
amounts negative), IV figures in percent. Duck-typed on the SDK's attribute names, so
this module imports nothing from the SDK."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ttai_cli.broker.models import Balances, MarketMetric, OptionGreeks, Position, Transaction


def percent(fraction: Decimal | None) -> Decimal | None:
    """tastytrade sends IV rank/percentile as fractions (0.23 = 23%); a value above 1
    is taken as already a percentage."""
    if fraction is None:
        return None
    return fraction * 100 if fraction <= 1 else fraction


def position(p: Any) -> Position:
    sign = -1 if str(p.quantity_direction).lower() == "short" else 1
    return Position(
        symbol=p.symbol,
        underlying_symbol=p.underlying_symbol,
        instrument_type=str(p.instrument_type.value),
        quantity=abs(p.quantity) * sign,
        average_open_price=p.average_open_price,
        close_price=p.close_price,
        multiplier=p.multiplier,
        mark=p.mark_price,
        expires_at=p.expires_at,
        realized_today=p.realized_today,
        opened_at=p.created_at,
    )


def transaction(t: Any) -> Transaction:
    fees = sum(
        (
            f
            for f in (t.clearing_fees, t.regulatory_fees, t.proprietary_index_option_fees)
            if f is not None
        ),
        Decimal(0),
    )
    return Transaction(
        id=t.id,
        executed_at=t.executed_at,
        transaction_date=t.transaction_date,
        transaction_type=t.transaction_type,
        transaction_sub_type=t.transaction_sub_type,
        description=t.description,
        symbol=t.symbol,
        underlying_symbol=t.underlying_symbol,
        instrument_type=str(t.instrument_type.value) if t.instrument_type else None,
        action=str(t.action.value) if t.action else None,
        quantity=t.quantity,
        price=t.price,
        value=t.value,
        net_value=t.net_value,
        commission=t.commission,
        fees=fees,
        order_id=t.order_id,
    )


def balances(b: Any) -> Balances:
    return Balances(
        account_number=b.account_number,
        net_liquidating_value=b.net_liquidating_value,
        cash_balance=b.cash_balance,
        equity_buying_power=b.equity_buying_power,
        derivative_buying_power=b.derivative_buying_power,
        maintenance_requirement=b.maintenance_requirement,
        pending_cash=b.pending_cash,
        updated_at=b.updated_at,
    )


def market_metric(info: Any) -> MarketMetric:
    """One /market-metrics item. IV rank: tastytrade's own (`tw-`), else the generic one.

    Events: `earnings.expected-report-date` is the next report; of `dividend-ex-date`
    (the declared or latest ex-date) and `dividend-next-date` (the projected next one) the
    later is taken, which is the upcoming one whenever either is upcoming.
    `dividend-rate-per-share` is the amount of one payment.
    """
    rank = info.tw_implied_volatility_index_rank
    if rank is None and info.implied_volatility_index_rank:
        rank = Decimal(info.implied_volatility_index_rank)
    percentile = (
        Decimal(info.implied_volatility_percentile) if info.implied_volatility_percentile else None
    )
    earnings = info.earnings.expected_report_date if info.earnings is not None else None
    ex_dates = [d for d in (info.dividend_ex_date, info.dividend_next_date) if d is not None]
    return MarketMetric(
        symbol=info.symbol,
        iv_rank=percent(rank),
        iv_percentile=percent(percentile),
        implied_volatility=info.implied_volatility_index,
        beta=info.beta,
        earnings_date=earnings,
        ex_dividend_date=max(ex_dates) if ex_dates else None,
        dividend_amount=info.dividend_rate_per_share or None,
        liquidity_rating=info.liquidity_rating,
    )


def option_greeks(event: Any) -> OptionGreeks | None:
    """A DXLink Greeks event; None while its delta is not known (NaN arrives as None).
    A missing theta or vega counts as 0: delta is what an option cannot do without."""
    if event.delta is None:
        return None
    return OptionGreeks(
        delta=event.delta,
        theta=event.theta if event.theta is not None else Decimal(0),
        vega=event.vega if event.vega is not None else Decimal(0),
        implied_volatility=getattr(event, "volatility", None),
    )
