from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.server import RunningServer, serve

CANARY_SECRET = "canary-client-secret-3f9a1c"
CANARY_REFRESH = "canary-refresh-token-b7e24d"
TTAI_VARS = [
    "TASTYTRADE_CLIENT_SECRET",
    "TASTYTRADE_REFRESH_TOKEN",
    "TT_SECRET",
    "TT_REFRESH",
    "TASTYTRADE_ACCOUNT_ID",
    "TASTYTRADE_SANDBOX",
    "TTAI_API_URL",
    "TTAI_HOME",
    "TTAI_DEMO",
    "TTAI_NOTIFICATION_BACKEND",
    "TTAI_WEBHOOK_URL",
    "TTAI_SLACK_WEBHOOK_URL",
    "TTAI_DISCORD_WEBHOOK_URL",
    "TTAI_NTFY_URL",
    "TTAI_CONFIG",
    "TTAI_QUIET_HOURS",
    "TTAI_QUIET_ALLOW",
]


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test starts with no ttai configuration, a private TTAI_HOME and a cwd
    without a .env file."""
    for name in TTAI_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in ("COLUMNS", "LINES"):  # output is as wide as a pipe's, unless a test says
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("TTAI_HOME", str(home))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def sim() -> SimulatedTastytrade:
    return SimulatedTastytrade(
        seed=11, client_secret=CANARY_SECRET, refresh_token=CANARY_REFRESH, any_symbol=True
    )


@pytest.fixture
def sim_server(sim: SimulatedTastytrade) -> Iterator[RunningServer]:
    with serve(sim) as running:
        yield running


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch, sim_server: RunningServer) -> RunningServer:
    """Environment pointing ttai at the simulated API over a real socket."""
    monkeypatch.setenv("TTAI_API_URL", sim_server.url)
    monkeypatch.setenv("TASTYTRADE_CLIENT_SECRET", CANARY_SECRET)
    monkeypatch.setenv("TASTYTRADE_REFRESH_TOKEN", CANARY_REFRESH)
    return sim_server


@pytest.fixture
def ttai() -> object:
    """Run the CLI in-process: `ttai("positions", "--json")` -> Result."""
    from ttai_cli.app import main

    def invoke(*args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
        return Result(code, out.getvalue(), err.getvalue())

    return invoke


def run_subprocess(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
    """Run `python -m ttai_cli ARGS` in a fresh interpreter (what a user or cron runs)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "ttai_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


# -- the NYSE calendar, computed once per test session -----------------------------------
@pytest.fixture(scope="session")
def nyse_sessions() -> list[object]:
    from datetime import date

    from ttai_cli.market.calendar import compute_sessions

    return compute_sessions(date(2006, 1, 1), date(2036, 12, 31))  # type: ignore[return-value]


@pytest.fixture
def store(tmp_path: Path, nyse_sessions: list[object]) -> Iterator[object]:
    """A migrated database whose calendar cache is already filled (no pandas per test)."""
    from ttai_cli.market.calendar import source_version
    from ttai_cli.store import open_store

    s = open_store(tmp_path / "test.db")
    fill_calendar(s, nyse_sessions, source_version())
    yield s
    s.close()


def fill_calendar(store: object, sessions: list[object], version: str) -> None:
    from datetime import UTC

    with store.transaction() as db:  # type: ignore[attr-defined]
        db.executemany(
            "INSERT OR REPLACE INTO market_sessions (date, open, close, early_close) VALUES (?, ?, ?, ?)",
            [
                (
                    s.date.isoformat(),
                    s.open.astimezone(UTC).isoformat(),
                    s.close.astimezone(UTC).isoformat(),
                    int(s.early_close),
                )  # type: ignore[attr-defined]
                for s in sessions
            ],
        )
        for key, value in (
            ("calendar_from", "2006-01-01"),
            ("calendar_to", "2036-12-31"),
            ("calendar_source", version),
        ):
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        help="run the long suites in full (200 crashes, more fuzzing)",
    )


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full"))
