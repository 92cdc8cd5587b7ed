"""`ttai ask "INSTRUCTIONS"`: a language model reads the account and reports (SPEC v4).

The answer goes to stdout (Markdown rendered on a terminal, plain text otherwise; with
`--json` the SPEC object, one per line when the schedule repeats) and, unless
`--no-notify`, out as one `agent_report` notification. `--last` prints the latest
answer again, from the database, without asking anything. Every schedule option works
as on the other jobs; the model is resolved (and llm imported) only when a run may
happen: `--dry-run` and `--last` need neither llm nor a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ttai_cli.cli.common import AppState, console, emit_json
from ttai_cli.cli.schedule_options import run_scheduled, with_schedule_options
from ttai_cli.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from ttai_cli.ask.job import AskJob
    from ttai_cli.ask.record import AskRun
    from ttai_cli.config_file import AskJobConfig
    from ttai_cli.jobs.context import JobContext
    from ttai_cli.scheduling.options import ScheduleOptions

MAX_TOOL_CALLS = 100

Instructions = Annotated[
    str | None,
    typer.Argument(
        metavar="INSTRUCTIONS",
        show_default=False,
        help='What to look at and report, e.g. "Check my portfolio and send me a summary".',
    ),
]
Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="ID",
        help="An llm model id or alias (default: $TTAI_MODEL, [ask] model, llm's default).",
    ),
]
System = Annotated[
    str | None,
    typer.Option("--system", metavar="TEXT", help="More system instructions for the model."),
]
AllowAlerts = Annotated[
    bool,
    typer.Option(
        "--allow-alerts", help="Let the model add and remove ttai alerts (ttai's own database)."
    ),
]
MaxToolCalls = Annotated[
    int,
    typer.Option(
        "--max-tool-calls",
        metavar="N",
        help="At most N tool calls; then the model answers with what it has.",
    ),
]
NoNotify = Annotated[
    bool, typer.Option("--no-notify", help="Print the answer only; send no notification.")
]
Name = Annotated[
    str | None,
    typer.Option(
        "--name", metavar="NAME", help="Name the job ask:NAME (status, pause, lock, ping)."
    ),
]
AsJson = Annotated[
    bool,
    typer.Option(
        "--json",
        help='The answer as JSON: {"answer", "model", "tool_calls", "usage", "started_at", '
        '"duration_s"} (with --dry-run: the slots).',
    ),
]
Last = Annotated[
    bool, typer.Option("--last", help="Print the latest answer again (of --name's job if given).")
]


def show_run(run: AskRun, as_json: bool, *, one_line: bool = False) -> None:
    """The answer on stdout: the SPEC JSON, Markdown on a terminal, else plain text."""
    import sys

    if as_json:
        if one_line:  # a loop: one JSON object per line
            import json

            from ttai_cli.cli.common import jsonable

            sys.stdout.write(json.dumps(jsonable(run.as_json())) + "\n")
            sys.stdout.flush()
        else:
            emit_json(run.as_json())
        return
    if sys.stdout.isatty():
        from rich.markdown import Markdown

        console().print(Markdown(run.answer))
    else:
        sys.stdout.write(run.answer.rstrip() + "\n")
    sys.stdout.flush()


def _check_name(name: str | None) -> None:
    from ttai_cli.config_file import ASK_NAME

    if name is not None and not ASK_NAME.match(name):
        raise UsageError("--name must be letters, digits, - or _ (at most 64), e.g. --name open")


def resolve(state: AppState, option: str | None, configured: str | None = None) -> Any:
    """The llm model to ask: the demo's scripted model under --demo (unless --model is
    given), else `--model` > `TTAI_MODEL` > `configured` > `[ask] model` > llm's default."""
    from ttai_cli.ask import models

    if state.settings.demo and not option:
        return models.demo_model()
    return models.resolve_model(models.choose_model(option, state.settings, configured))


@with_schedule_options
def ask(
    ctx: typer.Context,
    instructions: Instructions = None,
    model: Model = None,
    system: System = None,
    allow_alerts: AllowAlerts = False,
    max_tool_calls: MaxToolCalls = 12,
    no_notify: NoNotify = False,
    as_json: AsJson = False,
    name: Name = None,
    last: Last = False,
    *,
    schedule: ScheduleOptions,
) -> None:
    """Ask a language model about the account: it reads it through read-only tools and
    reports (stdout, and one agent_report notification). It advises; it never trades."""
    from ttai_cli.ask.job import AskJob, AskSettings

    state = AppState.of(ctx)
    _check_name(name)
    if last:
        _show_last(state, instructions, name, as_json)
        return
    prompt = (instructions or "").strip()
    if not prompt:
        raise UsageError(
            'give the instructions: ttai ask "Check my portfolio and send me a summary"'
        )
    if not 1 <= max_tool_calls <= MAX_TOOL_CALLS:
        raise UsageError(f"--max-tool-calls must be from 1 to {MAX_TOOL_CALLS}")
    # no model and no key needed to preview the slots: llm is not even imported
    if not schedule.dry_run and not state.settings.demo:
        state.settings.require_credentials()  # before llm's second of importing
    llm_model = None if schedule.dry_run else resolve(state, model)
    repeats = schedule.repeats or schedule.catch_up
    job = AskJob(
        state.job_context(),
        AskSettings(prompt, system, allow_alerts, max_tool_calls, notify=not no_notify),
        llm_model,
        name=name,
        show=lambda run: show_run(run, as_json, one_line=repeats),
        market_aware=repeats,  # a one-off runs whenever asked; repeats obey the guard
    )
    run_scheduled(state, [job], schedule)


def _show_last(state: AppState, instructions: str | None, name: str | None, as_json: bool) -> None:
    from ttai_cli.ask.job import job_name
    from ttai_cli.ask.record import AskRepository

    if instructions:
        raise UsageError("--last prints the latest answer again; give no INSTRUCTIONS with it")
    run = AskRepository(state.store()).latest(job_name(name) if name else None)
    if run is None:
        if as_json:
            emit_json(None)
            return
        console().print("No `ttai ask` answer yet" + (f" for ask:{name}." if name else "."))
        return
    show_run(run, as_json)


# -- the daemon's [ask.NAME] jobs ------------------------------------------------------------
DAEMON_REFUSED = ("--catch-up", "--dry-run", "--max-runs", "--timeout", "--now", "--count")


def parse_schedule_string(text: str, where: str) -> ScheduleOptions:
    """An `[ask.NAME] schedule` string, read by the command line's own parser (the same
    options, the same checks); a ConfigError naming `where` when it is not right."""
    import shlex

    from typer._click import exceptions as click_exceptions

    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: schedule: {exc}") from None
    for word in words:
        if word.split("=", 1)[0] in DAEMON_REFUSED:
            raise ConfigError(f"{where}: schedule: {word} does not apply to a daemon job")
        if word.split("=", 1)[0] == "--ping":  # one place for a job's ping, as for every job
            raise ConfigError(f'{where}: schedule: --ping goes in [jobs."ask:NAME"] ping')
    parsed: list[ScheduleOptions] = []

    @with_schedule_options
    def options(*, schedule: ScheduleOptions) -> None:
        parsed.append(schedule)

    parser = typer.Typer(add_completion=False)
    parser.command()(options)
    try:
        parser(args=words, prog_name="schedule", standalone_mode=False)
    except click_exceptions.ClickException as exc:
        raise ConfigError(f"{where}: schedule: {exc.format_message()}") from None
    except UsageError as exc:
        raise ConfigError(f"{where}: schedule: {exc}") from None
    if not parsed:
        raise ConfigError(f"{where}: schedule: not schedule options: {text!r}")
    return parsed[0]


def daemon_jobs(state: AppState, context: JobContext) -> list[AskJob]:
    """The `[ask.NAME]` tables of config.toml as jobs `ask:NAME` of `ttai run` (none
    without such tables: llm is then never imported). Each is checked up front: its
    schedule string and its model (exit 2, one line naming the table)."""
    configured = state.settings.file.ask_jobs
    return [_daemon_job(state, context, config) for config in configured.values()]


def _daemon_job(state: AppState, context: JobContext, config: AskJobConfig) -> AskJob:
    from ttai_cli.ask.job import AskJob, AskSettings

    schedule = parse_schedule_string(config.schedule, config.source)
    try:
        model = resolve(state, None, config.model)
    except ConfigError as exc:
        raise ConfigError(f"{config.source}: {exc}") from None
    return AskJob(
        context,
        AskSettings(config.prompt),
        model,
        name=config.name,
        market_aware=schedule.repeats and not schedule.ignore_market_hours,
        own_schedule=schedule,
    )


def register(app: typer.Typer) -> None:
    app.command()(ask)
