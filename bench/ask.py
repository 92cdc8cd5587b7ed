"""`ttai ask`'s tools for a 200-position account: latency and size of every answer, and
`ttai --help` start-up against `import tastytrade`, in one run.

The simulated API runs in this process over a real local socket, with the account
`bench.risk` builds (50 stocks and 150 options on them: 200 positions over 50
underlyings, every one opened today, so the default 7 days of transactions and orders
hold 200 fills besides the demo's). The tools run in a second interpreter, the way
`ttai ask` runs them (one `JobContext`: one login, one connection pool), and are timed
without a model: `await AccountTools(context).call(name, arguments)`. Its database
holds 100 alerts (two per underlying), a year of daily balance snapshots and the NYSE
calendar.

- live: every tool with nothing synced (positions, balances, strategies and
  transactions come from tastytrade);
- record: right after `ttai sync`, the tools that answer from a fresh local record
  (account_summary, positions, strategies, transactions, upcoming_events);
- all at once: the 12 tools side by side (llm runs the calls of one answer together),
  first as a fresh process's first turn (the login, the account, the streamer's token,
  the day's market metrics fetched; the SDK imported and timed before it), then N times.
`quotes` and `market_metrics` ask for the 50 underlyings (the most a call takes). Each
tool is called once untimed, then N times: p50 and p99 (nearest rank) of the wall time
of `call()`, which includes the JSON text the model gets; its size is that text's
length. Requests per call are counted by the simulator (REST but the login; DXLink
connections, each a Greeks snapshot). Over the internet each adds tastytrade's round
trip; the figures are ttai's own work plus the local simulator's answers.

Targets: p99 <= 200 ms for every tool (the model's time apart); the positions tool's
answer <= 24,000 characters. The start-up row reuses `bench.startup` (the same
interleaving with `python -c "import tastytrade"`) and checks that `ttai --help` does
not import llm.

    python -m bench.ask [--quick] [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time as timer
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.common import Row

POSITIONS = 200
P99_TARGET_MS = 200.0
POSITIONS_CHARS_TARGET = 24_000
# tools that answer from the local record when the last sync is fresh, live otherwise
BOTH_PATHS = ("account_summary", "positions", "strategies", "transactions", "upcoming_events")
LOGIN = "/oauth/token"
STREAMER = ("/api-quote-tokens",)
HELP = "ttai --help"
ALL = "all tools at once"
# `ttai --help` and `import tastytrade` (ms) before #20 (`ttai ask`): `python -m
# bench.startup` in the closing pass of #11-#17 (before #14, #18, #19 too)
HELP_BEFORE = (82, 658)


def underlyings() -> list[str]:
    """The 50 underlyings `bench.risk.build_account` trades (BAA, BAB, ...)."""
    return [f"B{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(POSITIONS // 4)]


def tool_calls() -> list[tuple[str, dict[str, Any]]]:
    """Every read-only tool, with the arguments a model would pass (defaults otherwise)."""
    from ttai_cli.ask.tools import READ_ONLY_TOOLS

    symbols = underlyings()
    arguments: dict[str, dict[str, Any]] = {
        "quotes": {"symbols": symbols},
        "market_metrics": {"symbols": symbols},
    }
    return [(name, arguments.get(name, {})) for name in READ_ONLY_TOOLS]


def nearest_rank(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


# -- the tools' side: a fresh interpreter, talking to the simulator over its socket --------
def _seed(context: Any) -> None:
    """100 alerts (a price and an IV-rank alert per underlying), a balance snapshot per
    weekday of the last year (the history tool's record), and the NYSE calendar cached
    in the database (as any earlier ttai command leaves it)."""
    from ttai_cli.alerts.rules import parse_alert
    from ttai_cli.broker.models import Balances
    from ttai_cli.services.market import MarketService
    from ttai_cli.simulator.app import DEMO_ACCOUNT
    from ttai_cli.store.records import RecordsRepository

    MarketService(context.store, context.clock).status_at(context.clock.now())

    alerts = context.alerts(notify=False)
    for symbol in underlyings():
        alerts.add(parse_alert(symbol, "price", "above", "500", f"{symbol} breakout"))
        alerts.add(parse_alert(symbol, "iv-rank", "above", "60"))
    now = context.clock.now()
    zero = Decimal(0)
    with context.store.transaction() as db:
        for back in range(365, 0, -1):
            moment = now - timedelta(days=back)
            if moment.weekday() >= 5:
                continue
            nlv = Decimal(250_000) + Decimal(back % 17) * 350
            balances = Balances(DEMO_ACCOUNT, nlv, nlv / 4, zero, zero, zero, zero, moment)
            RecordsRepository.save_snapshot(db, balances, moment)


def _handshake(line: str) -> None:
    """Tell the bench process where the run is (it counts the simulator's requests
    between two lines) and wait for its go."""
    print(line, flush=True)
    assert sys.stdin.readline().strip() == "go"


def _result(name: str, path: str, samples: list[float], texts: list[str]) -> dict[str, Any]:
    """What the bench process reports of a series: the samples and the last answer's
    size (the sum over the tools for a round of all of them)."""
    rows: int | None = None
    for text in texts:
        answer = json.loads(text)
        if "error" in answer:
            raise SystemExit(f"{name} ({path}) answered an error: {answer['error']}")
        source = answer.get("source")
        if source is not None and source != ("last sync" if path == "record" else "live"):
            raise SystemExit(f"{name} ({path}) answered from {source}")
        if isinstance(answer.get("rows"), list):
            rows = len(answer["rows"]) if len(texts) == 1 else None
    return {
        "name": name,
        "path": path,
        "samples": samples,
        "chars": sum(len(t) for t in texts),
        "rows": rows,
    }


async def _series(context: Any, path: str, calls: int, fresh: timedelta) -> None:
    """Each tool: one untimed call, then `calls` timed ones."""
    from ttai_cli.ask.tools import AccountTools

    tools = AccountTools(context, fresh_for=fresh)
    for name, arguments in tool_calls():
        if path == "record" and name not in BOTH_PATHS:
            continue
        text = await tools.call(name, arguments)
        samples = []
        _handshake("BEGIN")
        for _ in range(calls):
            started = timer.perf_counter()
            text = await tools.call(name, arguments)
            samples.append(timer.perf_counter() - started)
        result = _result(name, path, samples, [text])
        _handshake("END " + json.dumps(result))


async def _round(context: Any, path: str, calls: int, **extra: Any) -> None:
    """Every tool at once, as a model that asks for all of them in one turn gets them
    (llm runs the calls of one answer side by side), `calls` times."""
    from ttai_cli.ask.tools import AccountTools

    tools = AccountTools(context, fresh_for=timedelta(0))
    wanted = tool_calls()
    samples: list[float] = []
    texts: list[str] = []
    _handshake("BEGIN")
    for _ in range(calls):
        started = timer.perf_counter()
        texts = await asyncio.gather(*(tools.call(n, a) for n, a in wanted))
        samples.append(timer.perf_counter() - started)
    _handshake("END " + json.dumps({**_result(ALL, path, samples, texts), **extra}))


async def _measure_tools(calls: int) -> None:
    from ttai_cli.cli.common import AppState

    context = AppState().job_context()
    try:
        _seed(context)
        # what a fresh `ttai ask` process pays once before its tools can answer: the SDK
        # (imported lazily, at the first broker call) timed on its own
        started = timer.perf_counter()
        import tastytrade
        import tastytrade.market_data
        import tastytrade.metrics  # noqa: F401

        sdk_s = timer.perf_counter() - started
        # its first turn: the login, the account, the streamer's token, the day's market
        # metrics fetched (then cached in the database)
        await _round(context, "cold", 1, sdk_import=sdk_s)
        # live: nothing synced yet, and a record of any age would be too old
        await _series(context, "live", calls, timedelta(0))
        await _round(context, "live", calls)
        await context.sync().run()
        await _series(context, "record", calls, timedelta(minutes=10))
    finally:
        await context.aclose()
    print("DONE", flush=True)


# -- the bench process ---------------------------------------------------------------------
def _requests(sim: Any) -> tuple[int, int]:
    """(REST requests but the login, DXLink connections) since the history was cleared."""
    with sim.lock:
        paths = Counter(e.path for e in sim.history)
        dxlink = sim.streams.connections["dxlink"]
    rest = sum(n for p, n in paths.items() if p != LOGIN and p not in STREAMER)
    return rest, dxlink


def measure_tools(calls: int) -> list[dict[str, Any]]:
    """Every tool's samples, size and requests per call, from a fresh interpreter."""
    from bench.risk import build_account
    from ttai_cli.simulator.app import (
        DEMO_CLIENT_SECRET,
        DEMO_REFRESH_TOKEN,
        SimulatedTastytrade,
    )
    from ttai_cli.simulator.server import start

    sim = SimulatedTastytrade(
        any_symbol=True, seed=3, client_secret=DEMO_CLIENT_SECRET, refresh_token=DEMO_REFRESH_TOKEN
    )
    sim.demo_fill_after = None
    build_account(sim)
    server = start(sim)
    env = dict(
        os.environ,
        TTAI_HOME=tempfile.mkdtemp(prefix="ttai-bench-ask-"),
        TTAI_API_URL=server.url,
        TASTYTRADE_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        TASTYTRADE_REFRESH_TOKEN=DEMO_REFRESH_TOKEN,
    )
    env.pop("TTAI_DEMO", None)
    results: list[dict[str, Any]] = []
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.ask", "--tools-only", "--calls", str(calls)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        dxlink_before = 0
        for line in child.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "BEGIN":
                with sim.lock:
                    sim.history.clear()
                    dxlink_before = sim.streams.connections["dxlink"]
            elif word == "END":
                rest_requests, dxlink = _requests(sim)
                result = json.loads(rest)
                result["rest_per_call"] = rest_requests / len(result["samples"])
                result["dxlink_per_call"] = (dxlink - dxlink_before) / len(result["samples"])
                results.append(result)
            elif word == "DONE":
                break
            else:
                continue
            child.stdin.write("go\n")
            child.stdin.flush()
        if child.wait(timeout=60) != 0:
            raise SystemExit("the tools' interpreter failed")
    finally:
        if child.poll() is None:
            child.kill()
        server.stop()
    return results


def help_imports_llm() -> bool:
    """Whether `ttai --help` imports llm (it must not: llm loads only inside `ask`)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ttai_cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    return any(m == "llm" or m.startswith("llm.") for m in modules)


def _per_call(result: dict[str, Any]) -> str:
    rest, dxlink = result["rest_per_call"], result["dxlink_per_call"]
    parts = [f"{rest:g} REST" if rest else "no request"]
    if dxlink:
        parts.append(f"{dxlink:g} DXLink snapshot{'s' if dxlink > 1 else ''}")
    return " + ".join(parts) + (" a call" if len(result["samples"]) > 1 else "")


def _ms(result: dict[str, Any]) -> tuple[float, float]:
    """p50 and p99 (nearest rank), milliseconds."""
    samples = result["samples"]
    return statistics.median(samples) * 1000, nearest_rank(samples, 99) * 1000


def _size(result: dict[str, Any]) -> str:
    rows = result["rows"]
    return f"{result['chars']:,} chars" + (f" ({rows} rows)" if rows is not None else "")


def tool_rows(results: list[dict[str, Any]], calls: int) -> list[Row]:
    by_key = {(r["name"], r["path"]): r for r in results}
    out: list[Row] = []
    for result in results:
        name, path = result["name"], result["path"]
        if name == ALL:
            continue
        p50, p99 = _ms(result)
        other = by_key.get((name, "live" if path == "record" else "record"))
        baseline = f"target {P99_TARGET_MS:.0f} ms"
        if other is not None:
            other_p50, other_p99 = _ms(other)
            baseline = f"{other['path']}: {other_p50:.1f} / {other_p99:.1f} ms"
        label = "from the record (fresh sync)" if path == "record" else "live"
        if name not in BOTH_PATHS:
            label = "local" if result["rest_per_call"] == 0 else "live"
        out.append(
            Row(
                f"ask tool `{name}`, {POSITIONS} positions, {label}: p50 / p99 of {calls}",
                f"{p50:.1f} / {p99:.1f} ms; {_size(result)}; {_per_call(result)}",
                baseline,
                p99 / P99_TARGET_MS,
                f"p99 <= {P99_TARGET_MS:.0f} ms",
                p99 <= P99_TARGET_MS,
            )
        )
    for path in ("live", "record"):
        found = by_key[("positions", path)]
        chars = found["chars"]
        out.append(
            Row(
                f"ask tool `positions`: answer size, {POSITIONS} positions ({path})",
                f"{chars:,} chars ({found['rows']} rows, {chars / found['rows']:.0f} a row)",
                f"target {POSITIONS_CHARS_TARGET:,} chars",
                chars / POSITIONS_CHARS_TARGET,
                f"<= {POSITIONS_CHARS_TARGET:,} chars",
                chars <= POSITIONS_CHARS_TARGET,
            )
        )
    cold, warm = by_key[(ALL, "cold")], by_key[(ALL, "live")]
    p50, p99 = _ms(warm)
    count = len(tool_calls())
    out.append(
        Row(
            f"ask: all {count} tools at once (one model turn), {POSITIONS} positions, live: "
            f"a fresh process's first turn; p50 / p99 of {calls} more",
            f"first turn {cold['samples'][0] * 1000:.0f} ms ({_per_call(cold)}, login apart; "
            f"after importing the SDK, {cold['sdk_import'] * 1000:.0f} ms); then "
            f"{p50:.0f} / {p99:.0f} ms; {warm['chars']:,} chars in all",
            f"slowest tool alone (live p99): {max(_ms(r)[1] for r in results if r['name'] != ALL and r['path'] == 'live'):.0f} ms",
            p99 / P99_TARGET_MS,
            "(no target; informational)",
            True,
        )
    )
    return out


def help_row(runs: int) -> Row:
    """`ttai --help` against `import tastytrade` (bench.startup's interleaving)."""
    from bench import startup

    measured = startup.measure(runs, only=(HELP,))
    base_s = measured[0][1]
    _, median_s, ratio, target = measured[1]
    llm_loaded = help_imports_llm()
    before_ms, before_base_ms = HELP_BEFORE
    return Row(
        f"start-up: {HELP} with `ttai ask` (median of {runs}; llm "
        f"{'IMPORTED' if llm_loaded else 'not imported'})",
        f"{median_s * 1000:.0f} ms",
        f"import tastytrade {base_s * 1000:.0f} ms",
        ratio,
        f"<= {target:g}x (before #20: {before_ms} vs {before_base_ms} ms, "
        f"{before_ms / before_base_ms:.3g}x)",
        ratio <= target and not llm_loaded,
    )


def rows(quick: bool = False, calls: int | None = None) -> list[Row]:
    calls = calls or (20 if quick else 100)
    return [*tool_rows(measure_tools(calls), calls), help_row(5 if quick else 11)]


def main() -> int:
    from bench.common import HEADER

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 calls a tool, 5 start-up runs")
    parser.add_argument("--calls", type=int, default=None, help="calls a tool (default 100)")
    parser.add_argument("--tools-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tools_only:  # the tools' interpreter (see measure_tools)
        asyncio.run(_measure_tools(args.calls))
        return 0
    result = rows(args.quick, args.calls)
    print("\n".join([HEADER, *(row.line() for row in result)]))
    return 0 if all(row.met for row in result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
