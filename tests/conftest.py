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
    home = tmp_path / "home"
    monkeypatch.setenv("TTAI_HOME", str(home))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def sim() -> SimulatedTastytrade:
    return SimulatedTastytrade(seed=11, client_secret=CANARY_SECRET, refresh_token=CANARY_REFRESH)


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
