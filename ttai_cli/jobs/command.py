"""`ttai run -- COMMAND...`: any program as a scheduled, market-aware job.

The program inherits ttai's environment plus `TTAI_JOB`, `TTAI_SLOT` (the slot's ISO
time) and `TTAI_MARKET_OPEN` (`1`, `0`, or empty when market hours are ignored), and its
stdout and stderr. A non-zero exit code marks the run failed.

The program runs in a session (and process group) of its own. When ttai is asked to stop
during a run, or the run reaches its time limit, the whole group gets SIGTERM at once, so
a shell's children hear it too; the run lasts until every process of the group has ended,
and after the grace period the group gets SIGKILL. `sh -c "sleep 300; echo done"` leaves
no `sleep` behind. A run ended that way is recorded as stopped, not as the program's
failure. Processes the program leaves running when it exits by itself (a daemon it
started) are its own business and are not touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ttai_cli.errors import TtaiError, UsageError
from ttai_cli.jobs.base import Job, RunContext, RunStopped

if TYPE_CHECKING:
    import asyncio


class CommandFailed(TtaiError):
    pass


def command_job_name(argv: list[str]) -> str:
    digest = hashlib.sha1("\0".join(argv).encode()).hexdigest()[:6]
    return f"cmd:{PurePath(argv[0]).name}:{digest}"


class CommandJob(Job):
    market_aware = True

    def __init__(self, argv: list[str], name: str | None = None) -> None:
        if not argv:
            raise UsageError("give a command after --")
        if shutil.which(argv[0]) is None:
            raise UsageError(f"command not found: {argv[0]}")
        self.argv = argv
        self.name = name or command_job_name(argv)
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False  # terminate() was called during this run

    async def run(self, ctx: RunContext) -> str | None:
        import asyncio

        market = "" if ctx.market_open is None else str(int(ctx.market_open))
        env = dict(
            os.environ, TTAI_JOB=self.name, TTAI_SLOT=ctx.slot.isoformat(), TTAI_MARKET_OPEN=market
        )
        self._stopping = False
        # its own session: a stop reaches the program's children, and Ctrl-C in the
        # terminal reaches ttai, which passes it on as SIGTERM with the grace period
        process = await asyncio.create_subprocess_exec(*self.argv, env=env, start_new_session=True)
        self._process = process
        try:
            code = await process.wait()
            if self._stopping:  # what is left of the group gets the rest of the grace
                while group_alive(process.pid):
                    await asyncio.sleep(0.05)
        except asyncio.CancelledError:  # the grace is over
            signal_group(process.pid, signal.SIGKILL)
            if process.returncode is None:
                await process.wait()
            raise
        finally:
            self._process = None
        program = PurePath(self.argv[0]).name
        detail = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        if self._stopping:
            raise RunStopped(f"{program} stopped: {detail}")
        if code != 0:
            raise CommandFailed(f"{program} failed: {detail}")
        return "exit code 0"

    async def terminate(self) -> None:
        process = self._process
        if process is not None:
            self._stopping = True
            signal_group(process.pid, signal.SIGTERM)


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send `sig` to every process of the group; nothing when the group is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. Orphans that were ours are reaped
    (they are ours when ttai is PID 1 in a container); a zombie waiting for another
    parent (an init that does not reap) has ended, so it does not count."""
    if hasattr(os, "waitid"):  # not on macOS, where launchd reaps
        with contextlib.suppress(OSError):  # ChildProcessError: none of them is ours
            while os.waitid(os.P_PGID, pgid, os.WEXITED | os.WNOHANG) is not None:
                pass
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _live_member(pgid)


def _live_member(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: kill(0) said a member exists
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False
