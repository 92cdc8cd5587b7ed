"""`ttai notify test|outbox|flush|retry|drop|send`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ttai_cli.cli.common import AppState, AsJson, console, emit_json, run, table
from ttai_cli.errors import UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from ttai_cli.services.notifications import FlushReport
    from ttai_cli.store.outbox import Delivery

notify_app = typer.Typer(
    help="Notifications: test destinations, inspect, flush, retry and drop the outbox.",
    no_args_is_help=True,
)
Backend = Annotated[
    str | None,
    typer.Option(
        "--backend",
        metavar="NAME",
        help="Only this backend (console, stderr, webhook, slack, discord, ntfy, apprise).",
    ),
]
Ids = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[ID]...",
        help="Notification ids, or their first characters (see `ttai notify outbox`).",
        show_default=False,
    ),
]
Failed = Annotated[bool, typer.Option("--failed", help="Every notification that failed for good.")]


@notify_app.command("test")
def test(ctx: typer.Context, backend: Backend = None, as_json: AsJson = False) -> None:
    """Send a test notification and say, per destination, whether it arrived."""
    notifier = AppState.of(ctx).notifier()
    results = run(notifier.send_test(backend))
    if as_json:
        emit_json(results)
    elif not results:
        console().print("No notification backend is configured (TTAI_NOTIFICATION_BACKEND=none?).")
    else:
        shown = {d["backend"]: d["destination"] for d in notifier.describe()}
        table(
            None,
            ["Backend", "Destination", "Result"],
            [[k, shown.get(k, k), v] for k, v in results.items()],
            wrap=(2,),
        )
    if any(not v.startswith(("arrived", "printed")) for v in results.values()):
        raise typer.Exit(1)


@notify_app.command()
def outbox(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Pending, held (quiet hours: with the time they go) and failed deliveries, with
    attempts and the last error."""
    from ttai_cli.clock import NEW_YORK

    notifier = AppState.of(ctx).notifier(sends=False)
    deliveries = notifier.outbox.undelivered()
    now = notifier.clock.now()

    # by the quiet hours configured now (turned off, they hold nothing: the next flush sends)
    holds = {(d.seq, d.destination): notifier.held_until(d, now) for d in deliveries}

    def held_until(d: Delivery) -> datetime | None:
        return holds[(d.seq, d.destination)]

    def status(d: Delivery) -> str:
        return "held" if held_until(d) is not None else d.status

    if as_json:
        emit_json(
            [
                {
                    "id": d.notification.id,
                    "created_at": d.notification.created_at,
                    "type": d.notification.notification_type,
                    "title": d.notification.title,
                    "destination": d.destination,
                    "status": status(d),
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                    "next_attempt_at": d.next_attempt_at,
                    "held_until": held_until(d),
                }
                for d in deliveries
            ]
        )
        return
    if not deliveries:
        console().print("The outbox is empty: every notification was delivered.")
        return
    rows = [
        [
            d.notification.id[:8],
            # to the minute: one line at 80 columns (--json has the second)
            f"{d.notification.created_at.astimezone(NEW_YORK):%m-%d %H:%M}",
            d.destination,
            f"held {until.astimezone(NEW_YORK):%H:%M}"
            if (until := held_until(d)) is not None
            else d.status,
            str(d.attempts),
            d.notification.title[:40],
            (d.last_error or "")[:60],
        ]
        for d in deliveries
    ]
    table(
        "Outbox",
        ["ID", "Created", "Destination", "Status", "Tries", "Title", "Last error"],
        rows,
        right=(4,),
        whole=(0, 1, 3),  # an id, a time, `held 07:00`: never on two lines
        wrap=(5, 6),
        caption="held HH:MM: quiet hours hold it; it goes at HH:MM, New York time"
        if any(held_until(d) is not None for d in deliveries)
        else None,
    )


@notify_app.command()
def flush(ctx: typer.Context) -> None:
    """Retry pending deliveries now, whatever their next-attempt time (exit 1 while some
    are still pending or failed for good). Held ones wait for the end of quiet hours
    (not a failure: exit 0 when only they are left)."""
    notifier = AppState.of(ctx).notifier()
    _finish(run(notifier.flush(force=True)), notifier.failed_counts())


@notify_app.command()
def retry(ctx: typer.Context, ids: Ids = None, failed: Failed = False) -> None:
    """Send failed notifications again, e.g. after fixing the destination URL: the ids
    given (all or nothing: an unknown id changes nothing), or --failed for every one."""
    notifier = AppState.of(ctx).notifier()
    _finish(run(notifier.retry(_targets(ids, failed))), notifier.failed_counts())


@notify_app.command()
def drop(ctx: typer.Context, ids: Ids = None, failed: Failed = False) -> None:
    """Give up notifications that failed (or are still pending): the ids given (all or
    nothing), or --failed for every failed one. They stay in the database's record."""
    count = AppState.of(ctx).notifier(sends=False).drop(_targets(ids, failed))
    console().print(f"dropped {count} notification{'' if count == 1 else 's'}")


def _targets(ids: list[str] | None, failed: bool) -> list[str] | None:
    """The ids to act on, or None for every failed one (--failed)."""
    if ids and failed:
        raise UsageError("give notification ids or --failed, not both")
    if not ids and not failed:
        raise UsageError("give notification ids (see `ttai notify outbox`) or --failed")
    return None if failed else list(dict.fromkeys(ids or []))


def held_line(report: FlushReport) -> str:
    """`3 held by quiet hours until 07:00` (New York time)."""
    from ttai_cli.clock import NEW_YORK

    assert report.held_from is not None and report.held_to is not None
    first = f"{report.held_from.astimezone(NEW_YORK):%H:%M}"
    last = f"{report.held_to.astimezone(NEW_YORK):%H:%M}"
    until = first if first == last else f"{first} (the last at {last})"
    n = report.held
    return (
        f"{n} notification{'' if n == 1 else 's'} held by quiet hours until {until} New York time"
    )


def _finish(report: FlushReport, failed: dict[str, int]) -> None:
    """Print what a flush did; exit 1 while something is pending or failed for good."""
    out = console()
    if report.skipped_locked:
        out.print("Another ttai process is delivering notifications right now.")
        return
    out.print(
        f"sent {report.sent}, failed for good {report.failed}, still pending for {len(report.pending)} destination(s)"
    )
    for destination, error in report.pending.items():
        out.print(f"  {destination}: {error}")
    if report.held:
        out.print(held_line(report))
    if failed:
        total = sum(failed.values())
        where = ", ".join(f"{d}: {n}" for d, n in failed.items())
        sys.stderr.write(
            f"ttai: {total} notification{'' if total == 1 else 's'} failed for good ({where}): "
            "fix the destination, then run `ttai notify retry --failed` "
            "(or `ttai notify drop --failed` to give up)\n"
        )
    if report.pending or failed:
        raise typer.Exit(1)


@notify_app.command()
def send(
    ctx: typer.Context,
    title: Annotated[
        str, typer.Option("--title", help="Title (e.g. the subject of a phone notification).")
    ],
    body: Annotated[str, typer.Option("--body", help="Body text.")] = "",
    kind: Annotated[
        str,
        typer.Option(
            "--type", help="alert_triggered, position_update, briefing, info, warning, error."
        ),
    ] = "info",
    data: Annotated[
        str | None, typer.Option("--data", metavar="JSON", help="A JSON object of extra fields.")
    ] = None,
) -> None:
    """Send a notification of your own (for scripts run with `ttai run -- ...`)."""
    import json

    from ttai_cli.notify.models import NOTIFICATION_TYPES, Notification

    if kind not in NOTIFICATION_TYPES:
        raise UsageError(f"--type must be one of {', '.join(NOTIFICATION_TYPES)}")
    fields = {}
    if data:
        try:
            fields = json.loads(data)
        except ValueError:
            raise UsageError("--data is not valid JSON") from None
        if not isinstance(fields, dict):
            raise UsageError("--data must be a JSON object")
    report = run(AppState.of(ctx).notifier().notify(Notification(kind, title, body, fields)))
    for destination, error in report.pending.items():
        console().print(f"stored; {destination} will be retried: {error}")
    if report.held:
        console().print(held_line(report))


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
