"""Jobs: the units of work the scheduling engine runs.

`JOB_NAMES` are the jobs `ttai run JOB...`, `ttai status`, `pause` and `resume` know by
name (SPEC); `create_job` builds one. Commands run with `ttai run -- COMMAND` are jobs too,
named `cmd:<program>:<hash>` unless `--name` is given.
"""

from __future__ import annotations

JOB_NAMES = ("monitor", "alerts", "sync", "briefing-morning", "briefing-eod", "briefing-weekly")
