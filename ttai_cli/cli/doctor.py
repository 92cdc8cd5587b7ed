"""`ttai doctor`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ttai_cli.cli.common import AppState, AsJson, console, emit_json, run

STYLES = {"ok": "green", "warn": "yellow", "fail": "red", "info": "dim"}


def doctor(
    ctx: typer.Context,
    offline: Annotated[bool, typer.Option("--offline", help="Skip every network check.")] = False,
    as_json: AsJson = False,
) -> None:
    """Check configuration, credentials, database, destinations and the API."""
    from ttai_cli.services.doctor import DoctorService

    state = AppState.of(ctx)
    service = DoctorService(state.unchecked_settings, state.open_broker)
    checks = service.local_checks()
    credentials_ok = all(c.status != "fail" for c in checks if c.name == "credentials")
    if not offline:
        checks.extend(run(service.destinations_check()))
    if not offline and credentials_ok:
        checks.append(run(service.api_check()))
    if as_json:
        emit_json(checks)
    else:
        from rich.text import Text

        from ttai_cli.cli.common import hanging

        out = console()
        for check in checks:
            style = STYLES.get(check.status, "")
            lead = Text.assemble((f"{check.status:>4}", style), f"  {check.name:<14} ")
            # a long detail wraps under itself, not back under the status
            out.print(hanging(out, lead, check.detail))
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        # a configuration problem is exit 2; only an unreachable API is a failure (1)
        network = ("api", "webhook reach", "slack reach", "discord reach", "ntfy reach")
        names = ", ".join(c.name for c in failed)
        sys.stderr.write(
            f"ttai: doctor found {len(failed)} problem{'s' if len(failed) > 1 else ''}: {names}\n"
        )
        raise typer.Exit(2 if any(c.name not in network for c in failed) else 1)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
