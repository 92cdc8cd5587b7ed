"""`python -m ttai_cli.simulator [--port N]`: serve the simulated tastytrade API.

For trying ttai against a local API (`TTAI_API_URL=http://127.0.0.1:N` with the demo
credentials below) and for benchmarks that keep the server in its own process. Serves
REST, DXLink (`/dxlink`, the URL `/api-quote-tokens` gives) and the account streamer
(`ws://HOST:PORT/account-streamer`).
"""

from __future__ import annotations

import argparse
import signal
import threading

from ttai_cli.simulator.app import DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, SimulatedTastytrade
from ttai_cli.simulator.server import start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--tick-interval", type=float, default=0.5, help="seconds between streamed ticks"
    )
    parser.add_argument(
        "--demo-fill-after",
        type=float,
        default=None,
        help="seconds after an account-streamer connect until a demo order fills",
    )
    parser.add_argument(
        "--any-symbol",
        action="store_true",
        help="know every well-formed symbol but ZZ... (default: the demo's fixed universe)",
    )
    args = parser.parse_args()
    app = SimulatedTastytrade(
        seed=args.seed, demo_fill_after=args.demo_fill_after, any_symbol=args.any_symbol
    )
    app.streams.tick_interval = args.tick_interval
    running = start(app, args.host, args.port)
    print(f"simulated tastytrade API at {running.url}", flush=True)
    print(
        f"TASTYTRADE_CLIENT_SECRET={DEMO_CLIENT_SECRET} TASTYTRADE_REFRESH_TOKEN={DEMO_REFRESH_TOKEN}",
        flush=True,
    )
    print(
        f"account streamer at {running.url.replace('http', 'ws', 1)}/account-streamer", flush=True
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
