"""`python -m ttai_cli.simulator [--port N]`: serve the simulated tastytrade API.

For trying ttai against a local API (`TTAI_API_URL=http://127.0.0.1:N` with the demo
credentials below) and for benchmarks that keep the server in its own process.
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
    args = parser.parse_args()
    running = start(SimulatedTastytrade(seed=args.seed), args.host, args.port)
    print(f"simulated tastytrade API at {running.url}", flush=True)
    print(
        f"TASTYTRADE_CLIENT_SECRET={DEMO_CLIENT_SECRET} TASTYTRADE_REFRESH_TOKEN={DEMO_REFRESH_TOKEN}",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
