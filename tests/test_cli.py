"""The command line: start-up cost, output shapes, and one-line errors with exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Result, run_subprocess
from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer

POSITION_FIELDS = [
    "symbol",
    "underlying_symbol",
    "instrument_type",
    "quantity",
    "average_open_price",
    "mark",
    "multiplier",
    "expires_at",
    "dte",
    "pnl",
    "pnl_percent",
    "as_of",  # when the data was fetched (SPEC v3 `as_of`)
]


def one_line_error(result: Result, code: int) -> str:
    assert result.code == code, result
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("ttai: ")
    return lines[0]


def test_help_imports_neither_the_sdk_nor_pandas() -> None:
    code = (
        "import sys\n"
        "from ttai_cli.app import main\n"
        "rc = main(['--help'])\n"
        "heavy = sorted(m for m in ('tastytrade', 'pandas', 'httpx2', 'httpx', 'pandas_market_calendars') if m in sys.modules)\n"
        "print('HEAVY', heavy, rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY [] 0" in proc.stdout, proc.stdout + proc.stderr


def test_version_and_module_entry_point() -> None:
    result = run_subprocess("--version")
    assert result.code == 0 and result.out.startswith("ttai ")


def test_bare_ttai_prints_help(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai()
    assert result.code == 0 and "Usage: ttai" in result.out


def test_positions_json_shape(ttai, broker_env: RunningServer) -> None:  # type: ignore[no-untyped-def]
    result = ttai("positions", "--live", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert rows and all(list(row) == POSITION_FIELDS for row in rows)
    option = next(
        r
        for r in rows
        if r["instrument_type"] == "Equity Option"
        and r["underlying_symbol"] == "IWM"
        and r["quantity"] < 0
    )
    assert option["quantity"] == -2 and isinstance(option["quantity"], int | float)
    assert isinstance(option["dte"], int) and 30 <= option["dte"] <= 40  # about five weeks
    assert option["expires_at"].endswith(("-05:00", "-04:00"))
    # a short put marked below its open price is a profit
    if option["mark"] < option["average_open_price"]:
        assert option["pnl"] > 0 and option["pnl_percent"] > 0
    stock = next(r for r in rows if r["symbol"] == "AAPL")
    assert stock["dte"] is None and stock["expires_at"] is None


def test_positions_table_on_demo(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("--demo", "positions")
    assert result.code == 0, result.err
    assert "AAPL" in result.out and "P&L" in result.out


def test_balances_and_quote_json(ttai, broker_env: RunningServer) -> None:  # type: ignore[no-untyped-def]
    balances = json.loads(ttai("balances", "--live", "--json").out)
    assert balances["account_number"] == "5WT00001" and isinstance(
        balances["net_liquidating_value"], float
    )
    quotes = json.loads(ttai("quote", "aapl", "SPY", "--json").out)
    assert [q["symbol"] for q in quotes] == ["AAPL", "SPY"]
    assert all(isinstance(q["mark"], float) for q in quotes)


def test_unknown_symbol_is_one_line_exit_2(ttai, broker_env: RunningServer) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(ttai("quote", "AAPL", "ZZZZ"), 2)
    assert line == "ttai: unknown symbol: ZZZZ"


def test_malformed_symbol_is_one_line_exit_2(ttai) -> None:  # type: ignore[no-untyped-def]
    assert "not a valid symbol" in one_line_error(ttai("--demo", "quote", "A$PL"), 2)


def test_missing_credentials_one_line_exit_2() -> None:
    line = one_line_error(run_subprocess("positions"), 2)
    assert "TASTYTRADE_CLIENT_SECRET" in line


def test_bad_env_line_one_line_exit_2(tmp_path: Path) -> None:
    env_file = tmp_path / "broken.env"
    env_file.write_text("TASTYTRADE_CLIENT_SECRET=abc\n'unterminated = oops\n")
    line = one_line_error(run_subprocess("--env-file", str(env_file), "positions"), 2)
    assert "line 2" in line


def test_unwritable_home_one_line_exit_2(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_line_error(ttai("--home", str(blocker / "state"), "--demo", "positions"), 2)
    assert "not usable (Not a directory); fix --home" in line


# -- paths the OS cannot use: exit 2 and one line naming the option (#15) ----------------------
LONG_NAME = "x" * 300  # over the 255-byte limit of one file name


def test_300_character_home_is_exit_2_naming_the_option(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(ttai("--home", str(tmp_path / LONG_NAME), "alerts", "list"), 2)
    assert line.startswith("ttai: --home ") and line.endswith("File name too long")


def test_300_character_ttai_home_is_exit_2_naming_the_variable(
    ttai, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TTAI_HOME", str(tmp_path / LONG_NAME))
    assert one_line_error(ttai("status"), 2).startswith("ttai: TTAI_HOME ")


def test_300_character_env_file_is_exit_2_naming_the_option(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(ttai("--env-file", str(tmp_path / LONG_NAME), "doctor", "--offline"), 2)
    assert line.startswith("ttai: --env-file ") and line.endswith("File name too long")


def test_file_where_the_home_directory_should_be_is_exit_2(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_line_error(ttai("--home", str(blocker), "--demo", "alerts", "list"), 2)
    assert "it is a file, not a directory" in line and "--home" in line


def test_file_where_the_locks_directory_should_be_is_exit_2(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "state"
    home.mkdir()
    (home / "locks").write_text("")
    line = one_line_error(
        ttai("--home", str(home), "--demo", "monitor", "--ignore-market-hours"), 2
    )
    assert "lock file" in line and "is a file, not a directory" in line


def test_directory_where_the_database_should_be_is_exit_2(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "state"
    (home / "ttai-demo.db").mkdir(parents=True)
    line = one_line_error(ttai("--home", str(home), "--demo", "alerts", "list"), 2)
    assert "cannot create database" in line and "Is a directory" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_home_without_permission_is_exit_2(ttai, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = one_line_error(ttai("--home", str(locked / "state"), "--demo", "alerts", "list"), 2)
    assert "Permission denied" in line and "--home" in line


def test_too_long_command_name_is_exit_2(ttai) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(
        ttai("run", "--name", LONG_NAME, "--ignore-market-hours", "--", "true"), 2
    )
    assert "--name is too long" in line


def test_usage_errors_one_line_exit_2(ttai) -> None:  # type: ignore[no-untyped-def]
    assert "No such option" in one_line_error(ttai("positions", "--bogus"), 2)
    assert "Missing argument" in one_line_error(ttai("quote"), 2)
    assert "No such command" in one_line_error(ttai("frobnicate"), 2)
    assert "log-format" in one_line_error(ttai("--log-format", "xml", "doctor"), 2)


def test_broker_unreachable_one_line_exit_1(ttai, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TTAI_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("TASTYTRADE_CLIENT_SECRET", "x-secret")
    monkeypatch.setenv("TASTYTRADE_REFRESH_TOKEN", "x-refresh")
    monkeypatch.setenv("TTAI_API_ATTEMPTS", "2")  # one real, short backoff
    result = ttai("-q", "balances", "--live")
    assert "cannot reach tastytrade" in one_line_error(result, 1)


def test_invalid_grant_one_line_exit_2(
    ttai, broker_env: RunningServer, sim: SimulatedTastytrade
) -> None:  # type: ignore[no-untyped-def]
    sim.refresh_token = "rotated-elsewhere"
    line = one_line_error(ttai("positions", "--live"), 2)
    assert "create a new one" in line


def test_not_a_ttai_database_one_line_exit_2(ttai, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    clean_env.mkdir(parents=True)
    (clean_env / "ttai-demo.db").write_bytes(b"definitely not sqlite" * 200)
    result = ttai("--demo", "doctor", "--offline")
    assert result.code == 2
    assert "not a ttai database" in result.out


def test_doctor_offline_reports_without_secrets(ttai, broker_env: RunningServer) -> None:  # type: ignore[no-untyped-def]
    result = ttai("doctor", "--offline")
    assert result.code == 0, result.out
    assert "TASTYTRADE_CLIENT_SECRET set" in result.out
    assert not any(line.split()[1:2] == ["api"] for line in result.out.splitlines())


def test_doctor_checks_the_api(ttai, broker_env: RunningServer) -> None:  # type: ignore[no-untyped-def]
    result = ttai("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.out)}
    assert checks["api"]["status"] == "ok" and "5WT00001" in checks["api"]["detail"]
    assert checks["database"]["status"] == "ok"


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        (["positions", "--demo"], ["--demo", "positions"]),
        (
            ["positions", "--json", "--home", "/h", "-vv"],
            ["--home", "/h", "-vv", "positions", "--json"],
        ),
        (["alerts", "list", "--home=/h", "-q"], ["--home=/h", "-q", "alerts", "list"]),
        (["--demo", "sync", "--log-format", "json"], ["--demo", "--log-format", "json", "sync"]),
        (
            ["--home", "/h", "status", "--env-file", "e"],
            ["--home", "/h", "--env-file", "e", "status"],
        ),
        # `ttai run -- COMMAND`: the command's own arguments never move
        (
            ["run", "--every", "5m", "--", "echo", "--demo", "-v"],
            ["run", "--every", "5m", "--", "echo", "--demo", "-v"],
        ),
        (["run", "-q", "--", "x", "--home", "h"], ["-q", "run", "--", "x", "--home", "h"]),
        (["--demo"], ["--demo"]),  # no command: nothing to move
        (
            ["alerts", "add", "SPY", "change", "below", "-2"],
            ["alerts", "add", "SPY", "change", "below", "-2"],
        ),
    ],
)
def test_global_options_after_the_command_move_before_it(
    typed: list[str], parsed: list[str]
) -> None:
    from ttai_cli.app import hoist_global_options

    assert hoist_global_options(typed) == parsed


def test_positions_with_demo_after_the_command(ttai) -> None:  # type: ignore[no-untyped-def]
    result = ttai("positions", "--live", "--demo", "--json")
    assert result.code == 0, result
    assert {p["underlying_symbol"] for p in json.loads(result.out)} >= {"AAPL", "SPY"}
    assert one_line_error(ttai("positions", "--home"), 2)


def test_shell_completion_script_and_completions() -> None:
    """`ttai --install-completion` exists (README); the script it installs completes
    command names through the real entry point."""
    script = run_subprocess("--show-completion", env={"SHELL": "/bin/bash"})
    assert script.code == 0 and "_TTAI_COMPLETE=complete_bash" in script.out
    completed = subprocess.run(
        [sys.executable, "-c", "from ttai_cli.app import main; raise SystemExit(main())"],
        env={
            **os.environ,
            "_TTAI_COMPLETE": "complete_bash",
            "COMP_WORDS": "ttai al",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.stdout.split() == ["alerts"]


def test_a_control_character_in_an_argument_cannot_split_the_error_line(ttai) -> None:  # type: ignore[no-untyped-def]
    """Found by the fuzz test: `notify retry $'\\r'` echoed the id raw, ending the line."""
    result = ttai("notify", "retry", "\r")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "\r" not in result.err
    assert result.err.startswith("ttai: no failed or pending notification with id \\r")
