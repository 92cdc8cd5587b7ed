"""CLI fuzzing: random argument vectors and environment values for every command.

Whatever comes in, ttai answers with exit 0, 1 or 2, and a failure is one clear line
starting with `ttai:` on stderr: never a traceback, never an "internal error". Job
commands always get --dry-run (so a random --loop cannot run forever); nothing reaches
the network but the in-process demo and a dead local port.
"""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttai_cli.app import main

COMMANDS = [
    ["positions"],
    ["balances"],
    ["quote"],
    ["doctor", "--offline"],
    ["market", "status"],
    ["market", "calendar"],
    ["status"],
    ["pause"],
    ["resume"],
    ["notify", "outbox"],
    ["notify", "flush"],
    ["notify", "retry"],
    ["notify", "drop"],
    ["notify", "send"],
    ["alerts", "add"],
    ["alerts", "list"],
    ["alerts", "remove"],
    ["alerts", "rearm"],
    ["cron"],
    ["systemd"],
    ["run"],
    ["monitor"],
    ["alerts", "check"],
    ["sync"],
    ["briefing"],
]
JOB_COMMANDS = (["run"], ["monitor"], ["alerts", "check"], ["sync"], ["briefing"])
OPTIONS = [
    "--json",
    "--live",
    "--all",
    "--loop",
    "--every",
    "--period",
    "--hourly",
    "--daily",
    "--schedule",
    "--market-open",
    "--cron",
    "--days",
    "--ignore-market-hours",
    "--catch-up",
    "--grace",
    "--max-runs",
    "--timeout",
    "--count",
    "--now",
    "--type",
    "--note",
    "--repeat-after",
    "--title",
    "--body",
    "--data",
    "--since",
    "--from",
    "--to",
    "--name",
    "--when-closed",
    "--print-only",
    "--backend",
    "--failed",
    "--bogus",
    "-v",
    "-q",
    "--",
]
VALUES = [
    "AAPL",
    "spy 261218p00450000",
    "/ESZ6",
    "A$PL",
    "ZZZZ",
    "above",
    "below",
    "profit",
    "loss",
    "price",
    "change",
    "delta",
    "dte",
    "pnl",
    "iv-rank",
    "morning",
    "eod",
    "weekly",
    "monitor",
    "alerts",
    "sync",
    "1",
    "-3",
    "0",
    "1e9",
    "nan",
    "185.50",
    "30s",
    "5m",
    "1h",
    "0s",
    "banana",
    "9:30am",
    "25:00",
    "market-open",
    "market-close",
    "mon-fri",
    "funday",
    "*/5 * * * *",
    "61 * * * *",
    "2026-03-09T09:30",
    "2026-13-40",
    "2007-01-01",
    "{}",
    "[1]",
    '{"a": 1}',
    "true",
    "pause",
    "",
    " ",
    "--",
    "é",
    "\x00",
]
ENV_VALUES = {
    "TTAI_NOTIFICATION_BACKEND": ["auto", "none", "stderr", "console,stderr", "pager", "slack", ""],
    "TTAI_DEMO": ["1", "0", "maybe", ""],
    "TTAI_API_TIMEOUT": ["0.5", "0", "x", ""],
    "TTAI_API_ATTEMPTS": ["1", "99", "-1", ""],
    "TTAI_API_URL": ["http://127.0.0.1:1", "ftp://nowhere", "", "http://[::1"],
    "TASTYTRADE_ACCOUNT_ID": ["5WT00001", "", "x" * 300],
}
MAX_EXAMPLES = int(os.environ.get("TTAI_FUZZ_EXAMPLES", "120"))
WORK = Path(tempfile.mkdtemp(prefix="ttai-fuzz-"))


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
        return code, out.getvalue(), err.getvalue()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@st.composite
def invocations(draw: st.DrawFn) -> tuple[list[str], dict[str, str]]:
    command = draw(st.sampled_from(COMMANDS))
    words = draw(
        st.lists(
            st.one_of(st.sampled_from(OPTIONS), st.sampled_from(VALUES), st.text(max_size=8)),
            max_size=6,
        )
    )
    argv = (["--demo"] if draw(st.booleans()) else []) + list(command) + words
    if list(command) in JOB_COMMANDS:  # preview only: a random --loop must not run forever
        argv.insert(argv.index(command[-1]) + 1, "--dry-run")
    env = {k: draw(st.sampled_from(v)) for k, v in ENV_VALUES.items() if draw(st.booleans())}
    home = WORK / ("a-file/home" if draw(st.integers(0, 9)) == 0 else "home")
    env.update({"TTAI_HOME": str(home), "XDG_CONFIG_HOME": str(WORK / "config")})
    return argv, env


@pytest.fixture(autouse=True)
def _a_file_in_the_way() -> None:
    (WORK / "a-file").write_text("not a directory")


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(invocations())
def test_random_command_lines_never_crash(invocation: tuple[list[str], dict[str, str]]) -> None:
    argv, env = invocation
    for name in ("TASTYTRADE_CLIENT_SECRET", "TASTYTRADE_REFRESH_TOKEN", "TT_SECRET", "TT_REFRESH"):
        os.environ.pop(name, None)
    code, out, err = run_cli(argv, env)
    assert code in (0, 1, 2), (argv, env, code, err)
    assert "Traceback" not in err and "Traceback" not in out, (argv, env, err)
    assert "internal error" not in err, (argv, env, err)
    if code != 0:
        lines = [
            line
            for line in err.splitlines()
            if line.strip() and not line[:4].isdigit() and not line.startswith("{")
        ]
        assert lines and lines[-1].startswith("ttai: "), (argv, env, err)
