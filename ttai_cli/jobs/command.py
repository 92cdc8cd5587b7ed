"""`ttai run -- COMMAND...`: any program as a scheduled, market-aware job.

The program inherits ttai's environment plus `TTAI_JOB`, `TTAI_SLOT` (the slot's ISO
time) and `TTAI_MARKET_OPEN` (`1`, `0`, or empty when market hours are ignored), and its
stdout and stderr. A non-zero exit code marks the run failed. When ttai is asked to stop
during a run, the program gets SIGTERM at once, and SIGKILL after the grace period.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import PurePath
from typing import TYPE_CHECKING

from ttai_cli.errors import TtaiError, UsageError
from ttai_cli.jobs.base import Job, RunContext

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

    async def run(self, ctx: RunContext) -> str | None:
        import asyncio

        market = "" if ctx.market_open is None else str(int(ctx.market_open))
        env = dict(
            os.environ, TTAI_JOB=self.name, TTAI_SLOT=ctx.slot.isoformat(), TTAI_MARKET_OPEN=market
        )
        process = await asyncio.create_subprocess_exec(*self.argv, env=env)
        self._process = process
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        finally:
            self._process = None
        if code != 0:
            detail = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            raise CommandFailed(f"{PurePath(self.argv[0]).name} failed: {detail}")
        return "exit code 0"

    async def terminate(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
