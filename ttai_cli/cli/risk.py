"""`ttai risk`: the portfolio at a glance (SPEC "Version 2 contract", `risk` JSON shape)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from ttai_cli.cli.common import AppState, AsJson, emit_json, money, plain_table, run, table

if TYPE_CHECKING:
    from decimal import Decimal

    from ttai_cli.services.risk import RiskReport

MISSING_BETA_NOTE = "* no beta from tastytrade: counted as 1.0"


def as_json(report: RiskReport) -> dict[str, Any]:
    """The SPEC shape: a missing beta is null (it was counted as 1.0)."""
    return {
        "net_liquidating_value": report.net_liquidating_value,
        "buying_power_used_percent": report.buying_power_used_percent,
        "beta_weighted_delta": report.beta_weighted_delta,
        "theta": report.theta,
        "vega": report.vega,
        "by_underlying": [
            {
                "symbol": u.symbol,
                "beta": u.beta,
                "delta_shares": u.delta_shares,
                "beta_weighted_delta": u.beta_weighted_delta,
                "notional": u.notional,
                "percent_of_nlv": u.percent_of_nlv,
            }
            for u in report.by_underlying
        ],
        "events": [
            {"symbol": e.symbol, "kind": e.kind, "date": e.date, "days": e.days}
            for e in report.events
        ],
        "beta_missing": report.beta_missing,  # counted with beta 1.0
        "as_of": report.as_of,
    }


def _shares(value: Decimal) -> str:
    return f"{value:+,.2f}"


def risk(ctx: typer.Context, json_output: AsJson = False) -> None:
    """Portfolio risk: buying power used, beta-weighted delta (SPY shares), theta, vega,
    concentration by underlying, earnings and ex-dividend dates in the next 14 days."""
    from ttai_cli.services.risk import HORIZON_DAYS

    state = AppState.of(ctx)
    context = state.job_context()
    report = run(context.risk_report())
    if report.missing_greeks:
        sys.stderr.write(
            f"ttai: no Greeks in time for {len(report.missing_greeks)} option position(s), "
            f"counted with no delta, theta or vega: "
            f"{', '.join(s.strip() for s in report.missing_greeks[:5])}"
            f"{' ...' if len(report.missing_greeks) > 5 else ''}\n"
        )
    if json_output:
        emit_json(as_json(report))
        return
    summary = [
        ["Net liquidating value", money(report.net_liquidating_value)],
        [
            "Buying power used",
            f"{report.buying_power_used_percent:.1f}% "
            f"({money(report.maintenance_requirement)} maintenance)",
        ],
        [
            "Beta-weighted delta",
            f"{_shares(report.beta_weighted_delta)} SPY shares"
            + (
                f" (no beta for {', '.join(report.beta_missing)}: counted as 1.0)"
                if report.beta_missing
                else ""
            ),
        ],
        ["Theta", f"{money(report.theta, signed=True)} per day"],
        ["Vega", f"{money(report.vega, signed=True)} per IV point"],
    ]
    underlyings = [
        [
            u.symbol,
            "1.00*" if u.beta is None else f"{u.beta:.2f}",
            _shares(u.delta_shares),
            _shares(u.beta_weighted_delta),
            money(u.notional),
            f"{u.percent_of_nlv:.1f}%",
        ]
        for u in report.by_underlying
    ]
    from ttai_cli.alerts.models import in_days

    events = [[e.symbol, e.kind, e.date.isoformat(), in_days(e.days)] for e in report.events] or [
        ["none", "", "", ""]
    ]
    headers = ["Underlying", "Beta", "Delta (sh)", "SPY-weighted", "Notional", "% NLV"]
    as_of = f"{report.as_of:%a %H:%M:%S %Z}"
    note = [MISSING_BETA_NOTE] if report.beta_missing else []
    if sys.stdout.isatty():
        table(f"Risk (as of {as_of})", ["", "Value"], summary, right=(1,), show_header=False)
        table("By underlying", headers, underlyings or [["none"] + [""] * 5], right=(1, 2, 3, 4, 5))
        table(
            f"Events in the next {HORIZON_DAYS} days", ["Symbol", "Event", "Date", "When"], events
        )
        for line in note:
            sys.stdout.write(line + "\n")
        return
    lines = [f"Risk as of {as_of}"] + [f"{k}: {v}" for k, v in summary]
    sys.stdout.write("\n".join(lines) + "\n\n")
    plain_table(headers, underlyings or [["none", "", "", "", "", ""]], right=(1, 2, 3, 4, 5))
    sys.stdout.write(f"\nEvents in the next {HORIZON_DAYS} days\n")
    plain_table(["Symbol", "Event", "Date", "When"], events)
    for line in note:
        sys.stdout.write(line + "\n")


def register(app: typer.Typer) -> None:
    app.command()(risk)
