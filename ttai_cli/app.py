"""The `ttai` entry point: global options, command groups, and the error edge.

`main()` is the only place where errors become exit codes: a `TtaiError` prints one line
on stderr with its own code (1 a failed job, 2 usage or configuration), a usage error
from the parser is one line and exit 2, and anything unexpected is one line and exit 1
(with the traceback only under `-v`). Tracebacks never show local variables.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ttai_cli import __version__, logs
from ttai_cli.cli import (
    alerts,
    ask,
    backup,
    common,
    deploy,
    doctor,
    history,
    jobs,
    market,
    metrics,
    notify,
    portfolio,
    records,
    risk,
    run,
    stream,
    watch,
)
from ttai_cli.cli.common import AppState
from ttai_cli.errors import TtaiError


class LogFormat(StrEnum):
    text = "text"
    json = "json"


app = typer.Typer(
    name="ttai",
    help="Watch a tastytrade account on a schedule: alerts, a local record, briefings and "
    "notifications, guarded by NYSE market hours. Read-only: never places an order.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"ttai {__version__}\n")
        raise typer.Exit()


EnvFile = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        dir_okay=False,
        help="Read this .env file (default ./.env, then $TTAI_HOME/.env).",
    ),
]
Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="State directory (database, locks). Default: $TTAI_HOME or the user data dir.",
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        dir_okay=False,
        help="The TOML config file (default $TTAI_CONFIG, then $TTAI_HOME/config.toml).",
    ),
]
Demo = Annotated[
    bool, typer.Option("--demo", help="Use the built-in simulated account instead of tastytrade.")
]
Verbose = Annotated[
    int,
    typer.Option(
        "-v",
        "--verbose",
        count=True,
        show_default=False,
        help="More logging (-vv adds HTTP libraries).",
    ),
]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Only warnings and errors on stderr.")]
Format = Annotated[LogFormat, typer.Option("--log-format", help="Log lines as text or JSON.")]
Version = Annotated[
    bool,
    typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
]


@app.callback()
def _global_options(
    ctx: typer.Context,
    env_file: EnvFile = None,
    home: Home = None,
    config: ConfigFile = None,
    demo: Demo = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
    log_format: Format = LogFormat.text,
    version: Version = False,
) -> None:
    logs.setup(verbose=verbose, quiet=quiet, fmt=log_format.value)
    ctx.obj = AppState(env_file=env_file, home=home, demo=demo, config=config)


alerts.register(app)
records.register(app)
portfolio.register(app)
risk.register(app)
history.register(app)
market.register(app)
run.register(app)
stream.register(app)
jobs.register(app)
notify.register(app)
deploy.register(app)
doctor.register(app)
backup.register(app)
watch.register(app)
metrics.register(app)
ask.register(app)


GLOBAL_FLAGS = frozenset({"--demo", "-q", "--quiet", "-v", "--verbose"})
GLOBAL_VALUED = frozenset({"--env-file", "--home", "--config", "--log-format"})


def _is_global(token: str) -> bool:
    return (
        token in GLOBAL_FLAGS
        or token.split("=", 1)[0] in GLOBAL_VALUED
        or (len(token) > 2 and token.startswith("-v") and set(token[1:]) == {"v"})  # -vv
    )


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options typed after the command to before it, as the parser wants
    them: `ttai positions --demo` is `ttai --demo positions`. A valued option takes its
    value along (`--home PATH` or `--home=PATH`). Nothing after a bare `--` moves: that
    is `ttai run -- COMMAND`'s own command line. Nothing moves without a command."""
    head: list[str] = []
    index = 0
    while index < len(argv) and argv[index].startswith("-") and argv[index] != "--":
        head.append(argv[index])  # options before the command stay where they are
        if argv[index] in GLOBAL_VALUED and index + 1 < len(argv):
            head.append(argv[index + 1])
            index += 1
        index += 1
    if index >= len(argv) or argv[index] == "--":
        return list(argv)
    moved: list[str] = []
    rest: list[str] = []
    tail = argv[index:]
    position = 0
    while position < len(tail):
        token = tail[position]
        if token == "--":
            rest.extend(tail[position:])
            break
        if _is_global(token):
            moved.append(token)
            if token in GLOBAL_VALUED and position + 1 < len(tail):
                moved.append(tail[position + 1])
                position += 1
        else:
            rest.append(token)
        position += 1
    return head + moved + rest


def _fail(message: str, code: int) -> int:
    """The one line an error becomes: control characters a user typed into an argument
    (a carriage return, a newline) are shown escaped, so they cannot split or overwrite it."""
    one_line = "".join(
        c if c.isprintable() or c == " " else repr(c)[1:-1] for c in logs.redact(message)
    )
    sys.stderr.write(f"ttai: {one_line}\n")
    return code


def _damaged_database(exc: Exception) -> TtaiError | None:
    """SQLite saying the database is damaged through a connection that does not translate
    its errors (the online backup API's): exit 2 pointing at `ttai doctor`, as
    `ttai_cli.store.connection` words it (imported only when the error came from sqlite3)."""
    if exc.__class__.__module__ != "sqlite3":
        return None
    from ttai_cli.store.connection import damage

    return damage(exc, None)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    from typer._click import exceptions as click_exceptions

    args = hoist_global_options(sys.argv[1:] if argv is None else list(argv))
    common.ARGV[:] = args
    try:
        result = app(args=args, prog_name="ttai", standalone_mode=False)
    except TtaiError as exc:
        return _fail(str(exc), exc.exit_code)
    except click_exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
        return 0
    except click_exceptions.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        return _fail(f"{exc.format_message()}{hint}", 2)
    except click_exceptions.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("\nttai: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, no locals
        damaged = _damaged_database(exc)
        if damaged is not None:
            return _fail(str(damaged), damaged.exit_code)
        import logging

        logging.getLogger("ttai").debug("unexpected error", exc_info=True)
        return _fail(
            f"internal error: {exc.__class__.__name__}: {exc} (run with -v for the traceback)", 1
        )
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
