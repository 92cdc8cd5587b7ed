"""Notification throughput to a local webhook receiver (in its own process).

ttai stores each notification, then delivers the outbox (one at a time, in order, each
marked sent in the database). The baseline is the same POSTs with plain httpx and no
durability at all: the ratio is the price of never losing a notification.

    python -m bench.notify [--count 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row
from ttai_cli.clock import SystemClock
from ttai_cli.config import load_settings
from ttai_cli.notify.models import Notification
from ttai_cli.services.notifications import Notifier
from ttai_cli.store import open_store

RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def measure(count: int = 1_000) -> tuple[float, float]:
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    assert receiver.stdout is not None
    url = f"http://127.0.0.1:{receiver.stdout.readline().strip()}/hook"
    try:
        home = Path(tempfile.mkdtemp(prefix="ttai-bench-"))
        settings = load_settings(
            environ={
                "TTAI_HOME": str(home),
                "TTAI_NOTIFICATION_BACKEND": "webhook",
                "TTAI_WEBHOOK_URL": url,
            }
        )
        store = open_store(settings.database_path)
        notifier = Notifier(settings, store, SystemClock(), stderr_is_tty=False)
        notes = [Notification("info", f"n{i}", "benchmark") for i in range(count)]
        start = time.perf_counter()
        with store.transaction() as db:
            for n in notes:
                notifier.enqueue(db, n)
        report = asyncio.run(notifier.flush())
        ours = count / (time.perf_counter() - start)
        assert report.sent == count, report

        async def plain() -> float:
            import httpx

            async with httpx.AsyncClient() as client:
                begin = time.perf_counter()
                for n in notes:
                    (await client.post(url, json=n.payload())).raise_for_status()
                return count / (time.perf_counter() - begin)

        baseline = asyncio.run(plain())
    finally:
        receiver.terminate()
        receiver.wait()
    return ours, baseline


def rows(count: int = 1_000) -> list[Row]:
    ours, baseline = measure(count)
    return [
        Row(
            f"notifications: {count:,} to a local webhook, stored then delivered in order",
            f"{ours:,.0f} /s",
            f"plain httpx POSTs {baseline:,.0f} /s",
            ours / baseline,
            "(no target; informational)",
            True,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000)
    args = parser.parse_args()
    ours, baseline = measure(args.count)
    print(
        f"ttai outbox: {ours:,.0f} notifications/s; plain httpx: {baseline:,.0f}/s; ratio {ours / baseline:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
