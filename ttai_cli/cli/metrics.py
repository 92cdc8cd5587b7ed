"""`ttai metrics [--output FILE]`: Prometheus text exposition from the local database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ttai_cli.cli.common import AppState

Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        dir_okay=False,
        help="Write FILE atomically (mode 0644) instead of stdout: for node_exporter's "
        "textfile collector, e.g. /var/lib/node_exporter/textfile/ttai.prom.",
    ),
]


def metrics(ctx: typer.Context, output: Output = None) -> None:
    """Job health, alerts, the outbox, the stream and the account's last known figures
    as Prometheus metrics (text format 0.0.4). Reads the local database only: no
    tastytrade call."""
    from ttai_cli.services.exposition import (
        ExpositionService,
        configured_destinations,
        write_atomic,
    )

    state = AppState.of(ctx)
    service = ExpositionService(state.store(), state.clock, configured_destinations(state.settings))
    text = service.text()
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)


def register(app: typer.Typer) -> None:
    app.command()(metrics)
