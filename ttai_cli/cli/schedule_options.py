"""The schedule options, identical on every job command (SPEC "Schedule options").

`@with_schedule_options` appends them to a command's signature and hands the command one
parsed `ScheduleOptions` as its `schedule` argument, so each job command declares only
its own options.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ttai_cli.cli.common import emit_json, plain_table

if TYPE_CHECKING:
    from pathlib import Path

    from ttai_cli.scheduling.options import ScheduleOptions

PANEL = "Schedule"

_OPTIONS: list[tuple[str, Any, Any]] = [
    ("loop", bool, typer.Option("--loop", help="Repeat at the job's default cadence.")),
    (
        "every",
        str | None,
        typer.Option(
            "--every", metavar="DURATION", help="Repeat on a fixed grid: 30s, 5m, 1h, 1d."
        ),
    ),
    (
        "period",
        float | None,
        typer.Option("--period", metavar="SECONDS", help="Same as --every, in seconds."),
    ),
    ("hourly", bool, typer.Option("--hourly", help="--every 1h.")),
    (
        "daily",
        bool,
        typer.Option("--daily", help="Same New York wall-clock time every day, across DST."),
    ),
    (
        "schedule_at",
        str | None,
        typer.Option(
            "--schedule",
            metavar="TIME",
            help="9:30am, 4pm, 16:00, market-open, market-close: wait for TIME and run (first run, with a repeat option).",
        ),
    ),
    (
        "market_open",
        bool,
        typer.Option(
            "--market-open",
            help="--schedule market-open; with a repeat option, repeat while the session is open.",
        ),
    ),
    (
        "cron",
        str | None,
        typer.Option("--cron", metavar="EXPR", help="5-field cron expression in New York time."),
    ),
    (
        "days",
        str | None,
        typer.Option(
            "--days", metavar="DAYS", help="Only on these weekdays: mon-fri, mon,wed,fri."
        ),
    ),
    (
        "ignore_market_hours",
        bool,
        typer.Option("--ignore-market-hours", help="Run even when NYSE is closed."),
    ),
    (
        "catch_up",
        bool,
        typer.Option(
            "--catch-up",
            help="For crontab: run only if the latest slot has not run and is within --grace.",
        ),
    ),
    (
        "grace",
        str | None,
        typer.Option(
            "--grace", metavar="DURATION", help="How late --catch-up may run a slot (default 1h)."
        ),
    ),
    ("max_runs", int | None, typer.Option("--max-runs", metavar="N", help="Stop after N runs.")),
    (
        "timeout",
        str | None,
        typer.Option("--timeout", metavar="DURATION", help="Time limit per run."),
    ),
    (
        "dry_run",
        bool,
        typer.Option(
            "--dry-run", help="Print the next slots and whether each would run; run nothing."
        ),
    ),
    ("count", int, typer.Option("--count", metavar="N", help="Slots to print with --dry-run.")),
    (
        "now",
        str | None,
        typer.Option("--now", metavar="ISO", help="Pretend it is this time (with --dry-run)."),
    ),
    ("as_json", bool, typer.Option("--json", help="--dry-run output as JSON.")),
    (
        "ping",
        str | None,
        typer.Option(
            "--ping",
            metavar="URL",
            help="Dead-man's switch (healthchecks.io): POST URL/start, URL on success or a skip, URL/fail with the error.",
        ),
    ),
]
_DEFAULTS: dict[str, Any] = {"count": 10}


def parse_schedule_options(values: dict[str, Any]) -> ScheduleOptions:
    """The typed option values as one validated `ScheduleOptions` (UsageError: exit 2)."""
    from ttai_cli.errors import UsageError
    from ttai_cli.scheduling.options import DEFAULT_GRACE, ScheduleOptions
    from ttai_cli.scheduling.parse import parse_days, parse_duration, parse_instant

    # below a second a loop would spin on the clock's resolution and flood the broker
    shortest = timedelta(seconds=1)
    every = (
        parse_duration(values["every"], option="--every", minimum=shortest)
        if values["every"]
        else None
    )
    if values["period"] is not None:
        if every is not None:
            raise UsageError("give --every or --period, not both")
        if values["period"] <= 0:
            raise UsageError("--period must be more than zero seconds")
        every = parse_duration(
            str(values["period"]), option="--period", minimum=shortest, seconds_if_bare=True
        )
    at = values["schedule_at"]
    if values["market_open"]:
        if at not in (None, "market-open"):
            raise UsageError("--market-open and --schedule conflict; give one")
        at = "market-open"
    if at is not None:
        at = at.strip().lower()
    if not values["catch_up"] and values["grace"]:
        raise UsageError("--grace only applies with --catch-up")
    if not values["dry_run"]:
        for flag, given in (
            ("--count", values["count"] != 10),
            ("--now", values["now"]),
            ("--json", values["as_json"]),
        ):
            if given:
                raise UsageError(f"{flag} only goes with --dry-run")
    options = ScheduleOptions(
        ping=parse_ping(values["ping"]),
        loop=values["loop"],
        every=every,
        hourly=values["hourly"],
        daily=values["daily"],
        at=at,
        cron=values["cron"].strip() if values["cron"] else None,
        days=parse_days(values["days"]) if values["days"] else None,
        days_label=(values["days"] or "").strip().lower(),
        ignore_market_hours=values["ignore_market_hours"],
        catch_up=values["catch_up"],
        grace=parse_duration(values["grace"], option="--grace")
        if values["grace"]
        else DEFAULT_GRACE,
        max_runs=values["max_runs"],
        timeout=parse_duration(values["timeout"], option="--timeout")
        if values["timeout"]
        else None,
        dry_run=values["dry_run"],
        count=values["count"],
        now=parse_instant(values["now"]) if values["now"] else None,
        as_json=values["as_json"],
    )
    options.validate()
    return options


def parse_ping(url: str | None) -> str | None:
    """`--ping URL`: http(s) with a host, else exit 2; registered with the redactor (the
    URL is the check's secret) before anything can log it."""
    if url is None:
        return None
    from ttai_cli.config_file import check_ping_url
    from ttai_cli.errors import UsageError

    try:
        return check_ping_url(url)
    except ValueError as exc:
        raise UsageError(f"--ping {exc}") from None


def with_schedule_options(command: Callable[..., Any]) -> Callable[..., Any]:
    # Only the command's own parameters are evaluated (typer needs their real types);
    # `schedule: ScheduleOptions` is replaced, so its module need not be imported here.
    signature = inspect.signature(command)
    own = [
        p.replace(
            annotation=eval(p.annotation, command.__globals__)
            if isinstance(p.annotation, str)
            else p.annotation
        )
        for p in signature.parameters.values()
        if p.name != "schedule"
    ]
    # A command with a `--json` of its own (`ask`: its answer as JSON) lends it to
    # `--dry-run`: one option, two uses.
    own_json = "as_json" in signature.parameters
    options = [o for o in _OPTIONS if not (own_json and o[0] == "as_json")]
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=_DEFAULTS.get(name, False if kind is bool else None),
            annotation=Annotated[kind, option],
        )
        for name, kind, option in options
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name, _, _ in options}
        if own_json:
            values["as_json"] = bool(kwargs["as_json"] and values["dry_run"])
        return command(*args, schedule=parse_schedule_options(values), **kwargs)

    new_signature = signature.replace(parameters=own + added, return_annotation=None)
    wrapper.__signature__ = new_signature  # type: ignore[attr-defined]
    # what `functools.wraps` copied still names `ScheduleOptions`: typer must not see it
    wrapper.__annotations__ = {p.name: p.annotation for p in new_signature.parameters.values()}
    return wrapper


def render_dry_run(previews: list[Any], as_json: bool) -> None:
    if as_json:
        emit_json([{"at": p.at, "action": p.action, "reason": p.reason} for p in previews])
        return
    rows = [[f"{p.at:%a %Y-%m-%d %H:%M:%S %Z}", p.action, p.reason] for p in previews]
    plain_table(["Slot (New York)", "Action", "Reason"], rows, wrap=2)


def require_credentials_for(state: Any, jobs: list[Any], repeats: bool = True) -> None:
    """A missing credential is a configuration error (exit 2, one line) before the first
    run, not one failed run per cycle, for jobs that talk to tastytrade. So is a
    notification backend or route that names a destination without its URL, for runs
    that send: a job that notifies, or a schedule that `repeats` (a loop notifies its own
    failures). A one-off that sends nothing (`briefing --print-only`, `ask --no-notify`)
    runs: what it stores for such a route waits in the outbox for the URL."""
    settings = state.settings
    if not settings.demo and any(job.needs_broker for job in jobs):
        settings.require_credentials()
    sends = repeats or any(getattr(job, "sends", True) for job in jobs)
    if sends and (settings.notification_backends != ("auto",) or settings.file.routes):
        import sys  # (`auto` without routes cannot name a missing URL: no import needed)

        from ttai_cli.services.notifications import resolve_routing

        resolve_routing(settings, sys.stderr.isatty())


def run_scheduled(
    state: Any, jobs: list[Any], schedule: ScheduleOptions, *, metrics_file: Path | None = None
) -> None:
    """Preview (`--dry-run`) or run `jobs` on `schedule`; exit with the SPEC code.
    `metrics_file` (`ttai run --metrics-file`): where to keep the Prometheus exposition."""
    service = state.scheduling()
    if schedule.dry_run:
        if len(jobs) != 1:
            from ttai_cli.errors import UsageError

            raise UsageError("--dry-run previews one job at a time")
        render_dry_run(service.dry_run(jobs[0], schedule), schedule.as_json)
        return
    require_credentials_for(state, jobs, repeats=schedule.repeats or schedule.catch_up)
    code = service.run_and_wait(jobs, schedule, metrics_file=metrics_file)
    if code:
        raise typer.Exit(code)
