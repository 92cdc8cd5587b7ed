"""`ttai ask` as a scheduled job: `ask`, or `ask:NAME` for several prompts side by side.

Each run asks the model (`run.converse`) with a fresh set of tools, keeps the run in
the database (`record`), hands it to `show` (the CLI prints it) and sends one
`agent_report` notification (title `Ask: <first words>`, body the answer, data: model,
tool calls, tokens) unless `notify` is off. Its summary line (the log's "ok" line) names
the model, the tool calls and the tokens; `ttai status` sums each job's answers and
tokens from the record. A stop or the time limit (`--timeout`) ends the conversation at
once: a model's answer is not waited for, and nothing is kept or sent.

Market hours: a one-off runs whenever it is asked; a schedule that repeats (or a
crontab's `--catch-up`) skips slots while NYSE is closed, unless `--ignore-market-hours`
(`market_aware` says which). A daemon job (`[ask.NAME]` in config.toml) carries its own
schedule options (`own_schedule`): its slots, weekdays and guard come from its
`schedule` string, not from the daemon's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ttai_cli.ask.run import DEFAULT_MAX_TOOL_CALLS
from ttai_cli.jobs.base import RunContext, RunStopped
from ttai_cli.jobs.context import ContextJob, JobContext

if TYPE_CHECKING:
    from ttai_cli.ask.record import AskRun
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.options import ScheduleOptions
    from ttai_cli.scheduling.schedules import Schedule

LOOP_EVERY = timedelta(hours=1)  # `--loop`: the seeds' hourly check
TITLE_WORDS = 6
TITLE_CHARS = 60


def job_name(name: str | None) -> str:
    return f"ask:{name}" if name else "ask"


def title_for(prompt: str) -> str:
    """`Ask: <first words>` of the instructions, short enough for a phone's banner."""
    words = prompt.split()
    text = " ".join(words[:TITLE_WORDS])
    if len(text) > TITLE_CHARS:
        text = text[: TITLE_CHARS - 1].rstrip() + "…"
    elif len(words) > TITLE_WORDS:
        text += "…"
    return f"Ask: {text}"


@dataclass(frozen=True)
class AskSettings:
    """What one ask job asks, and how."""

    prompt: str
    system: str | None = None
    allow_alerts: bool = False
    max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS
    notify: bool = True


class AskJob(ContextJob):
    needs_broker = True

    def __init__(
        self,
        context: JobContext,
        settings: AskSettings,
        model: Any,
        *,
        name: str | None = None,
        show: Callable[[AskRun], None] | None = None,
        market_aware: bool = False,
        own_schedule: ScheduleOptions | None = None,
    ) -> None:
        super().__init__(context)
        self.settings = settings
        self.model = model  # an llm async model, resolved (and checked) by the caller
        self.name = job_name(name)
        self.show = show
        self.market_aware = market_aware
        self.sends = settings.notify
        self.own_schedule = own_schedule
        self._asking: asyncio.Task[Any] | None = None  # the conversation in progress

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        """The daemon's schedule for an `[ask.NAME]` job (its `schedule` string); else the
        `--loop` cadence: every hour."""
        from ttai_cli.scheduling.schedules import Every

        if self.own_schedule is not None and not self.own_schedule.loop:
            from ttai_cli.scheduling.options import build_schedule

            return build_schedule(
                self.own_schedule, self.context.clock.now(), lambda: calendar, None
            )
        return Every(LOOP_EVERY)

    async def run(self, ctx: RunContext) -> str | None:
        from ttai_cli.ask.record import AskRepository, AskRun
        from ttai_cli.ask.run import converse, system_prompt
        from ttai_cli.ask.tools import AccountTools

        clock = self.context.clock
        tools = AccountTools(self.context, allow_alerts=self.settings.allow_alerts)
        system = system_prompt(clock, self.settings.system)
        started_at, started = clock.now(), clock.monotonic()
        self._asking = asyncio.ensure_future(
            converse(
                self.model,
                tools,
                self.settings.prompt,
                system=system,
                max_tool_calls=self.settings.max_tool_calls,
            )
        )
        try:
            answer = await self._asking
        except asyncio.CancelledError:
            if self._asking.cancelled() and not _cancelling():  # terminate(), not our own
                raise RunStopped("stopped while the model was answering") from None
            raise
        finally:
            self._asking = None
        run = AskRun(
            job=self.name,
            prompt=self.settings.prompt,
            answer=answer.answer,
            model=answer.model,
            tool_calls=answer.tool_calls,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            started_at=started_at,
            duration_s=clock.monotonic() - started,
            system=self.settings.system,
            account_number=self._account(tools),
            stopped_early=answer.stopped_early,
        )
        AskRepository(self.context.store).save(run)
        if self.show is not None:
            self.show(run)
        if self.settings.notify:
            await self._notify(run, ctx)
        return summary(run, self.settings.max_tool_calls)

    async def terminate(self) -> None:
        """A stop or the time limit: a model's answer is not worth waiting for (it may
        take minutes), so the conversation ends at once; nothing is kept or sent."""
        if self._asking is not None:
            self._asking.cancel()

    def _account(self, tools: Any) -> str:
        """The account the run read: the one the tools saw, else the last synced one."""
        if len(tools.accounts) == 1:
            return str(next(iter(tools.accounts)))
        from ttai_cli.store.records import RecordsRepository

        latest = RecordsRepository(self.context.store).latest_balances()
        return latest.account_number if latest is not None else ""

    async def _notify(self, run: AskRun, ctx: RunContext) -> None:
        from ttai_cli.notify.models import Notification

        notification = Notification(
            "agent_report",
            title_for(run.prompt),
            run.answer,
            {
                "job": self.name,
                "model": run.model,
                "tool_calls": len(run.tool_calls),
                "input_tokens": run.input_tokens,
                "output_tokens": run.output_tokens,
            },
        )
        notifier = self.context.notifier
        with self.context.store.transaction() as db:
            notifier.enqueue(db, notification, f"{self.name}:{ctx.slot.isoformat()}")
        # printed by the CLI already: only the local outputs a route names (e.g. stderr)
        notifier.emit_local(notification, shown=self.show is not None)
        await notifier.flush()


def _cancelling() -> bool:
    """Whether the task running this is itself being cancelled (the grace is over)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def summary(run: AskRun, limit: int) -> str:
    """`answered (gpt-4o-mini, 5 tool calls, 3,210 in / 412 out tokens)`."""
    calls = len(run.tool_calls)
    parts = [run.model, f"{calls} tool call{'s' if calls != 1 else ''}"]
    if run.input_tokens is not None or run.output_tokens is not None:
        parts.append(f"{run.input_tokens or 0:,} in / {run.output_tokens or 0:,} out tokens")
    text = f"answered ({', '.join(parts)})"
    if run.stopped_early:
        text += f"; stopped at the {limit}-tool-call limit"
    return text
