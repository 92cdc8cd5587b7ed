"""`ttai risk` for a 200-position account: wall time and requests, against `import tastytrade`.

The simulated API runs in this process over a real local socket, with an account of 200
positions (50 stocks and 150 options on them, so 50 underlyings); `ttai risk --json`
runs in a fresh interpreter each time (what a user or cron runs), interleaved with
`python -c "import tastytrade"` so both see the same machine load.

- cold: the first run of the New York day, metrics not yet cached;
- warm: the median of the next runs (the day's metrics come from the database).
Requests are counted by the simulator, per run: REST ones (the login's token request
apart) and the streamer snapshot (`/api-quote-tokens` and one `/dxlink` websocket
connection, counted by the simulator's stream hub).

    python -m bench.risk [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time as timer
from collections import Counter
from datetime import datetime, time, timedelta
from decimal import Decimal

from bench.common import Row
from ttai_cli.broker.symbols import occ_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, SimulatedTastytrade
from ttai_cli.simulator.calendar import weekly_expiration
from ttai_cli.simulator.server import start

BASELINE = [sys.executable, "-c", "import tastytrade"]
RISK = [sys.executable, "-m", "ttai_cli", "risk", "--json"]
POSITIONS = 200
STREAMER = ("/api-quote-tokens", "/dxlink")
LOGIN = "/oauth/token"
WALL_TARGET_S = 2.0
REST_TARGET = 5


def build_account(sim: SimulatedTastytrade) -> None:
    """Replace the demo book with 50 stocks and 3 options on each (200 positions)."""
    account = sim.account
    account.positions.clear()
    now = sim.now()
    today = now.date()
    underlyings = [f"B{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(POSITIONS // 4)]
    for index, symbol in enumerate(underlyings):
        spot = sim.market.quote(symbol).mark
        account.trade(symbol, 100 if index % 3 else -100, spot, now)
        legs = ((30, "P", "0.9", -1), (60, "C", "1.1", -1), (90, "P", "0.8", 2))
        for days, right, factor, qty in legs:
            expiry = weekly_expiration(today + timedelta(days=days))
            strike = (spot * Decimal(factor)).quantize(Decimal(1))
            account.trade(
                occ_symbol(symbol, expiry, right, strike),
                qty,
                "1.00",
                now,
                underlying=symbol,
                instrument_type="Equity Option",
                expires_at=datetime.combine(expiry, time(16), NEW_YORK),
            )
    assert len(account.positions) == POSITIONS


def one_run(sim: SimulatedTastytrade, env: dict[str, str]) -> tuple[float, Counter[str]]:
    with sim.lock:
        sim.history.clear()
        connects = sim.streams.connections["dxlink"]
    start_at = timer.perf_counter()
    subprocess.run(RISK, stdout=subprocess.DEVNULL, env=env, check=True)
    elapsed = timer.perf_counter() - start_at
    with sim.lock:
        paths = Counter(e.path for e in sim.history)
        paths["/dxlink"] = sim.streams.connections["dxlink"] - connects
    return elapsed, paths


def baseline() -> float:
    start_at = timer.perf_counter()
    subprocess.run(BASELINE, check=True)
    return timer.perf_counter() - start_at


def _rest(paths: Counter[str]) -> int:
    return sum(n for p, n in paths.items() if p != LOGIN and p not in STREAMER)


def _describe(paths: Counter[str]) -> str:
    """The REST requests by name: `accounts, positions, balances, ...`."""
    names = []
    for path, count in paths.items():
        if path == LOGIN or path in STREAMER:
            continue
        name = path.split("/")[-1] if path.startswith("/accounts/") else path.strip("/")
        name = "balances" if name == "USD" else name.replace("customers/me/", "")
        names.append(name + (f" x{count}" if count > 1 else ""))
    return ", ".join(names)


def rows(runs: int = 7) -> list[Row]:
    sim = SimulatedTastytrade(
        any_symbol=True, seed=3, client_secret=DEMO_CLIENT_SECRET, refresh_token=DEMO_REFRESH_TOKEN
    )
    sim.demo_fill_after = None
    build_account(sim)
    server = start(sim)
    try:
        env = dict(
            os.environ,
            TTAI_HOME=tempfile.mkdtemp(prefix="ttai-bench-risk-"),
            TTAI_API_URL=server.url,
            TASTYTRADE_CLIENT_SECRET=DEMO_CLIENT_SECRET,
            TASTYTRADE_REFRESH_TOKEN=DEMO_REFRESH_TOKEN,
        )
        env.pop("TTAI_DEMO", None)
        baseline()  # warm the .pyc files of both
        cold_s, cold_paths = one_run(sim, env)
        warm: list[float] = []
        bases: list[float] = []
        warm_paths: Counter[str] = Counter()
        for _ in range(runs):
            bases.append(baseline())
            elapsed, warm_paths = one_run(sim, env)
            warm.append(elapsed)
    finally:
        server.stop()
    base = statistics.median(bases)
    warm_s = statistics.median(warm)
    streamer = "streamer snapshot: " + ", ".join(f"{p} x{cold_paths[p]}" for p in STREAMER)
    out = []
    for label, seconds, paths in (
        ("cold: metrics fetched", cold_s, cold_paths),
        (f"warm: metrics cached, median of {runs}", warm_s, warm_paths),
    ):
        rest = _rest(paths)
        out.append(
            Row(
                f"risk: `ttai risk --json`, {POSITIONS} positions, {label}",
                f"{seconds * 1000:.0f} ms; {rest} REST + login ({_describe(paths)}); {streamer}",
                f"import tastytrade {base * 1000:.0f} ms",
                seconds / base,
                f"<= {WALL_TARGET_S:.0f} s, <= {REST_TARGET} REST + one streamer snapshot",
                seconds <= WALL_TARGET_S
                and rest <= REST_TARGET
                and all(paths[p] == 1 for p in STREAMER),
            )
        )
    return out


def main() -> int:
    from bench.common import HEADER

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    result = rows(args.runs)
    print("\n".join([HEADER, *(row.line() for row in result)]))
    return 0 if all(row.met for row in result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
