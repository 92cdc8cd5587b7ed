"""Jobs: the units of work the scheduling engine runs.

`JOB_NAMES` are the jobs `ttai run JOB...`, `ttai status`, `pause` and `resume` know by
name (SPEC); `create_job` builds one. Commands run with `ttai run -- COMMAND` are jobs too,
named `cmd:<program>:<hash>` unless `--name` is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ttai_cli.errors import UsageError

if TYPE_CHECKING:
    from ttai_cli.jobs.base import Job
    from ttai_cli.jobs.context import JobContext

JOB_NAMES = (
    "monitor",
    "alerts",
    "sync",
    "briefing-morning",
    "briefing-eod",
    "briefing-weekly",
    "stream",
)


# The daemon's own jobs, which `ttai run JOB` does not take but `ttai status` shows.
DAEMON_JOB_NAMES = ("backup",)


def built_in_job(name: str) -> bool:
    """A name ttai's own jobs use (`ttai run JOB`, the daemon's, `ttai ask`'s `ask` and
    `ask:NAME`): a `ttai run --name` must not take it (it would share that job's lock,
    status, pause and ping)."""
    return name in JOB_NAMES or name in DAEMON_JOB_NAMES or name == "ask" or name.startswith("ask:")


def create_job(name: str, context: JobContext) -> Job:
    if name == "alerts":
        from ttai_cli.jobs.alerts import AlertsCheckJob

        return AlertsCheckJob(context)
    if name == "monitor":
        from ttai_cli.jobs.alerts import MonitorJob

        return MonitorJob(context)
    if name == "sync":
        from ttai_cli.jobs.records import SyncJob

        return SyncJob(context)
    if name == "stream":
        from ttai_cli.jobs.stream import StreamJob

        return StreamJob(context)
    if name.startswith("briefing-") and name in JOB_NAMES:
        from ttai_cli.jobs.records import BriefingJob

        return BriefingJob(context, name.removeprefix("briefing-"))
    raise UsageError(f"unknown job {name!r} (jobs: {', '.join(JOB_NAMES)})")
