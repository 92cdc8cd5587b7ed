"""A disk that is really full: a 2 MB tmpfs filled to the last block, in a mount namespace
of its own (`unshare`), so nothing is mounted on the machine and the mount goes away with
the namespace. `TTAI_DB_MAX_PAGES` makes the database full, not the disk: SQLite can still
create the -shm and -wal files a WAL database needs even for reading, so only a real full
disk shows what happens when they cannot be created.

`run_in_full_tmpfs(scenario, tmp_path)` runs one of the scenarios below in that namespace
(`python -m tests.full_disk SCENARIO MOUNTPOINT OUTSIDE`): root through `unshare --mount`,
another user through `unshare --user --map-root-user --mount`; the test is skipped where
neither is allowed. Each scenario runs the real CLI in subprocesses with TTAI_HOME on the
tmpfs and prints its results as one JSON object.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SIZE = "2m"


def run_in_full_tmpfs(scenario: str, tmp_path: Path, timeout: float = 60) -> dict[str, Any]:
    """The results of `scenario` (a function of this module), run in a fresh namespace with
    a 2 MB tmpfs at `tmp_path/full`; `tmp_path/outside` is on the ordinary filesystem."""
    unshare = shutil.which("unshare")
    mount = shutil.which("mount")
    if unshare is None or mount is None or sys.platform != "linux":
        pytest.skip("needs Linux with unshare(1) and mount(8)")
    point, outside = tmp_path / "full", tmp_path / "outside"
    point.mkdir()
    outside.mkdir()
    namespace = ["--mount"] if os.geteuid() == 0 else ["--user", "--map-root-user", "--mount"]
    script = 'mount -t tmpfs -o size="$1" tmpfs "$2" || exit 97; shift 2; exec "$@"'
    command = [unshare, *namespace, "sh", "-c", script, "sh", SIZE, str(point)]
    command += [sys.executable, "-m", "tests.full_disk", scenario, str(point), str(outside)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode in (1, 97) and not done.stdout.strip():
        pytest.skip(f"cannot mount a tmpfs in a namespace here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- inside the namespace ------------------------------------------------------------------
def _ttai_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ttai_cli", *args]


def _ttai(*args: str, timeout: float = 30) -> dict[str, Any]:
    done = subprocess.run(_ttai_command(*args), capture_output=True, text=True, timeout=timeout)
    return {"code": done.returncode, "out": done.stdout, "err": done.stderr}


def _fill(point: Path) -> None:
    """Write zeros until the filesystem says it is full (dd would do the same)."""
    block = b"\0" * 4096
    with (point / "fill").open("wb", buffering=0) as file:
        try:
            while True:
                file.write(block)
        except OSError:
            pass


def _database_files(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.startswith("ttai-demo.db"))


def reading(point: Path, outside: Path) -> dict[str, Any]:
    """A synced demo database, no process holding it, the disk filled: each reading
    command, a writing one, a one-off job, and `backup --output` to another filesystem."""
    home = point / "home"
    os.environ.update(TTAI_HOME=str(home), TTAI_NOTIFICATION_BACKEND="none")
    results: dict[str, Any] = {"setup": _ttai("-q", "--demo", "sync")}
    results["files_before"] = _database_files(home)  # no -wal, no -shm: nobody has it open
    _fill(point)
    commands = {
        "status": ["status"],
        "alerts list": ["alerts", "list"],
        "notify outbox": ["notify", "outbox"],
        "positions": ["positions"],
        "history": ["history"],
        "metrics": ["metrics"],
    }
    running = {
        name: subprocess.Popen(
            _ttai_command("--demo", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in commands.items()
    }
    for name, proc in running.items():
        out, err = proc.communicate(timeout=30)
        results[name] = {"code": proc.returncode, "out": out, "err": err}
    results["alerts add"] = _ttai("--demo", "alerts", "add", "SPY", "above", "1")
    results["alerts check"] = _ttai("--demo", "alerts", "check", "--ignore-market-hours")
    results["backup"] = _ttai("--demo", "backup", "--output", str(outside / "copy.db"))
    results["free_kb"] = shutil.disk_usage(point).free // 1024
    return results


def loop(point: Path, outside: Path) -> dict[str, Any]:
    """A loop started on the full disk (every second), space given back after its second
    failed run, stopped by SIGTERM after its first run that works; then `status`."""
    home = point / "home"
    os.environ.update(TTAI_HOME=str(home), TTAI_NOTIFICATION_BACKEND="none")
    results: dict[str, Any] = {"setup": _ttai("-q", "--demo", "alerts", "list")}
    _fill(point)
    args = ["--demo", "alerts", "check", "--every", "1s", "--ignore-market-hours"]
    started = time.monotonic()
    proc = subprocess.Popen(_ttai_command(*args), stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        lines.extend(proc.stderr)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def wait_for(text: str, count: int) -> None:
        deadline = time.monotonic() + 20
        while sum(text in line for line in lines) < count:
            if proc.poll() is not None or time.monotonic() > deadline:
                return
            time.sleep(0.02)

    wait_for("error after", 2)
    results["alive_after_two_runs"] = proc.poll() is None
    results["seconds_to_two_runs"] = time.monotonic() - started
    (point / "fill").unlink()
    wait_for(": ok in", 1)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    results["loop"] = {"code": proc.wait(timeout=20), "err": ""}
    reader.join(timeout=5)
    results["loop"]["err"] = "".join(lines)
    results["status"] = _ttai("--demo", "status", "--json")
    return results


if __name__ == "__main__":
    scenario, point, outside = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    found = {"reading": reading, "loop": loop}[scenario](point, outside)
    sys.stdout.write(json.dumps(found) + "\n")
