"""The latest risk snapshot per account (`risk_snapshots`, migration m013).

Every risk report ttai computes (`ttai risk`, the theta / beta-delta alerts, the
briefings, the live view) replaces its account's row, so `ttai metrics` can show the
beta-weighted delta without asking tastytrade. Figures are decimal strings, times UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ttai_cli.clock import NEW_YORK
from ttai_cli.store import Store, db_time


@dataclass(frozen=True)
class RiskSnapshot:
    account_number: str
    at: datetime
    net_liquidating_value: Decimal
    maintenance_requirement: Decimal
    buying_power_used_percent: Decimal
    beta_weighted_delta: Decimal  # SPY-equivalent shares
    theta: Decimal  # dollars per day
    vega: Decimal  # dollars per point of implied volatility


class RiskRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, snapshot: RiskSnapshot) -> None:
        """Keep `snapshot` as its account's latest, unless a newer one is already kept
        (two processes computing at once: the later report wins whatever the order)."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO risk_snapshots (account_number, at, net_liquidating_value, "
                "maintenance_requirement, buying_power_used_percent, beta_weighted_delta, theta, vega) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account_number) DO UPDATE SET at = excluded.at, "
                "net_liquidating_value = excluded.net_liquidating_value, "
                "maintenance_requirement = excluded.maintenance_requirement, "
                "buying_power_used_percent = excluded.buying_power_used_percent, "
                "beta_weighted_delta = excluded.beta_weighted_delta, "
                "theta = excluded.theta, vega = excluded.vega "
                "WHERE excluded.at >= risk_snapshots.at",
                (
                    snapshot.account_number,
                    db_time(snapshot.at),
                    str(snapshot.net_liquidating_value),
                    str(snapshot.maintenance_requirement),
                    str(snapshot.buying_power_used_percent),
                    str(snapshot.beta_weighted_delta),
                    str(snapshot.theta),
                    str(snapshot.vega),
                ),
            )

    def latest(self) -> list[RiskSnapshot]:
        """Each account's latest snapshot, by account number."""
        rows = self.store.db.execute("SELECT * FROM risk_snapshots ORDER BY account_number")
        return [
            RiskSnapshot(
                account_number=r["account_number"],
                at=datetime.fromisoformat(r["at"]).astimezone(NEW_YORK),
                net_liquidating_value=Decimal(r["net_liquidating_value"]),
                maintenance_requirement=Decimal(r["maintenance_requirement"]),
                buying_power_used_percent=Decimal(r["buying_power_used_percent"]),
                beta_weighted_delta=Decimal(r["beta_weighted_delta"]),
                theta=Decimal(r["theta"]),
                vega=Decimal(r["vega"]),
            )
            for r in rows
        ]
