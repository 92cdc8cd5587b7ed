"""systemd's notify protocol, in plain socket code: readiness, watchdog, stopping.

Under `Type=notify` systemd sets `NOTIFY_SOCKET`; with `WatchdogSec=` it also sets
`WATCHDOG_USEC` (and `WATCHDOG_PID`), and restarts the service if no `WATCHDOG=1` comes
within that time. Elsewhere every call here is a no-op.
"""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send `message` (e.g. "READY=1") to systemd; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            # never block the event loop: a full queue loses one ping, not the daemon
            sock.setblocking(False)
            sock.connect(address)
            sock.send(message.encode())
    except OSError:
        return False
    return True


def watchdog_interval() -> float | None:
    """How often to ping the watchdog (half its timeout), or None without one."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000 / 2
