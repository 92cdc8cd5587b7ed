"""config.toml: parsed with tomllib, every key checked, errors name the key and line,
the environment wins, and `doctor` says where each value came from."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.errors import ConfigError


def settings_with(tmp_path: Path, text: str, **env: str):
    (tmp_path / "config.toml").write_text(text)
    return load_settings(environ={"TTAI_HOME": str(tmp_path), **env})


def test_spec_example_is_read_from_home(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path,
        """
[notify]
quiet_hours = "22:00-07:00"
quiet_allow = ["order_filled", "order_rejected", "assignment_risk"]
[notify.routes]
briefing = ["slack"]
alert_triggered = ["ntfy", "webhook"]
[jobs.alerts]
ping = "https://hc-ping.com/UUID"
[jobs."cmd:backup"]
ping = "https://hc-ping.com/OTHER/"
[manage]
profit_target = 50
manage_dte = 21
tested_within = 2.5
""",
    )
    config = settings.file
    assert config.route("briefing") == ("slack",)
    assert config.route("alert_triggered") == ("ntfy", "webhook")
    assert config.route("error") is None  # no route and no "*": every configured backend
    assert config.ping_for("alerts") == "https://hc-ping.com/UUID"
    assert config.ping_for("cmd:backup") == "https://hc-ping.com/OTHER"
    assert config.manage.tested_within == Decimal("2.5")
    assert config.sources["notify.routes.briefing"].endswith("config.toml line 6")


def test_star_route_is_the_default_for_unrouted_types(tmp_path: Path) -> None:
    config = settings_with(tmp_path, '[notify.routes]\n"*" = ["ntfy"]\nerror = []\n').file
    assert config.route("briefing") == ("ntfy",)
    assert config.route("error") == ()


def test_quiet_hours_wrapping_midnight_hold_until_the_morning(tmp_path: Path) -> None:
    config = settings_with(tmp_path, '[notify]\nquiet_hours = "22:00-07:00"\n').file
    late = datetime(2026, 3, 7, 23, 30, tzinfo=NEW_YORK)  # the night before DST starts
    assert config.held_until("alert_triggered", late) == datetime(2026, 3, 8, 7, 0, tzinfo=NEW_YORK)
    assert config.held_until("order_filled", late) is None  # allowed through by default
    assert config.held_until("alert_triggered", late.replace(hour=12)) is None


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path, '[notify]\nquiet_hours = "22:00-07:00"\n', TTAI_QUIET_HOURS="off"
    )
    assert settings.file.quiet_hours is None
    assert settings.file.sources["notify.quiet_hours"] == "TTAI_QUIET_HOURS"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[notify\n", "not valid TOML"),
        ("[notfy]\n", "line 1: unknown table [notfy] (known: notify, jobs, manage, ask)"),
        (
            '[notify.rutes]\nbriefing = ["slack"]\n',
            "line 1: unknown table [notify.rutes] (known in [notify]: quiet_hours, quiet_allow, routes)",
        ),
        ('quiet_hours = "22:00-07:00"\n', "line 1: quiet_hours belongs in [notify]"),
        (
            "colour = 1\n",
            "unknown key colour (settings go in the tables [notify], [jobs], [manage], [ask])",
        ),
        ('[notify]\nquiet_hours = "22:00-07:00"\nquiet = 1\n', "line 3: notify.quiet: unknown key"),
        (
            '[notify.routes]\nbriefing = ["sms"]\n',
            "line 2: notify.routes.briefing: unknown backend sms",
        ),
        (
            '[notify.routes]\nbriefings = ["slack"]\n',
            "notify.routes.briefings: unknown notification type",
        ),
        ('[notify]\nquiet_hours = "22:00-25:00"\n', "line 2: notify.quiet_hours"),
        ('[notify]\nquiet_hours = "7am-9am"\n', "notify.quiet_hours"),
        (
            '[notify]\nquiet_allow = ["fills"]\n',
            "notify.quiet_allow: unknown notification type 'fills' (use one of alert_triggered, ",
        ),
        ('[jobs.alerts]\nping = "hc-ping.com/x"\n', "jobs.alerts.ping: must start with http"),
        ('[jobs.alerts]\npong = "https://x"\n', "line 2: jobs.alerts.pong: unknown key"),
        ('[jobs.monitr]\nping = "https://x"\n', "line 1: jobs.monitr: unknown job 'monitr' (jobs:"),
        ('[jobs."ask:"]\nping = "https://x"\n', "jobs.ask:: unknown job"),
        ('[jobs."cmd:"]\nping = "https://x"\n', "jobs.cmd:: unknown job"),
        ("[manage]\nmanage_dte = 2.5\n", "manage.manage_dte: must be a whole number"),
        ("[manage]\nprofit_target = -5\n", "manage.profit_target: must be from"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings_with(tmp_path, text)


def test_a_bad_quiet_allow_lists_the_valid_types_as_routes_do(tmp_path: Path) -> None:
    from ttai_cli.notify.models import NOTIFICATION_TYPES

    with pytest.raises(ConfigError) as raised:
        settings_with(tmp_path, '[notify]\nquiet_allow = ["fills", "order_filled"]\n')
    assert str(raised.value).endswith(
        "line 2: notify.quiet_allow: unknown notification type 'fills' "
        f"(use one of {', '.join(NOTIFICATION_TYPES)})"
    )
    with pytest.raises(ConfigError) as raised:
        settings_with(tmp_path, "", TTAI_QUIET_ALLOW="fills")
    assert str(raised.value) == (
        f"TTAI_QUIET_ALLOW: unknown notification type 'fills' "
        f"(use one of {', '.join(NOTIFICATION_TYPES)})"
    )


def test_jobs_tables_take_every_job_ttai_runs(tmp_path: Path) -> None:
    names = [
        "monitor",
        "alerts",
        "sync",
        "briefing-morning",
        "briefing-eod",
        "briefing-weekly",
        "stream",
        "backup",
        "ask",
        "ask:open",
        "cmd:nightly",
        "cmd:check.sh:1a2b3c4d",
    ]
    text = "".join(
        f'[jobs."{n}"]\nping = "https://hc-ping.com/{i}-check"\n' for i, n in enumerate(names)
    )
    assert sorted(settings_with(tmp_path, text).file.job_pings) == sorted(names)


def test_a_typo_in_a_jobs_table_is_exit_2_naming_the_key_and_line(tmp_path: Path, ttai) -> None:  # type: ignore[no-untyped-def]
    """`[jobs.monitr]` was accepted and listed by doctor without a warning: it never pings."""
    (tmp_path / "c.toml").write_text(
        '[jobs.alerts]\nping = "https://hc-ping.com/a-check"\n\n'
        '[jobs.monitr]\nping = "https://hc-ping.com/5f1e2d3c-secret"\n'
    )
    for args in (["doctor", "--offline"], ["alerts", "list"]):
        result = ttai("--config", str(tmp_path / "c.toml"), "--demo", *args)
        assert result.code == 2
        (line,) = result.err.splitlines()
        assert line.startswith(f"ttai: {tmp_path / 'c.toml'} line 4: jobs.monitr: unknown job")
        assert "monitor, alerts" in line and "5f1e2d3c-secret" not in line


def test_doctor_redacts_a_ping_url_in_an_ask_schedule(tmp_path: Path, ttai) -> None:  # type: ignore[no-untyped-def]
    """`--ping URL` in an `[ask.NAME] schedule` (refused when the daemon builds the job)
    was printed whole by doctor: the URL is a check's secret."""
    (tmp_path / "c.toml").write_text(
        '[ask.open]\nprompt = "Check my portfolio"\n'
        'schedule = "--hourly --ping https://hc-ping.com/5f1e2d3c-secret-uuid"\n'
    )
    result = ttai("--config", str(tmp_path / "c.toml"), "--demo", "doctor", "--offline", "--json")
    assert "5f1e2d3c" not in result.out + result.err
    (ask,) = [c for c in json.loads(result.out) if c["name"] == "ask"]
    assert "ask:open (--hourly --ping https://hc-ping.com/5…/***)" in ask["detail"]


def test_config_option_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config .*: no such file"):
        load_settings(environ={"TTAI_HOME": str(tmp_path)}, config=tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"TTAI_CONFIG .*: no such file"):
        load_settings(environ={"TTAI_HOME": str(tmp_path), "TTAI_CONFIG": str(tmp_path / "x")})


def test_config_dev_null_is_no_config_and_a_fifo_is_not_a_regular_file(
    tmp_path: Path, ttai
) -> None:  # type: ignore[no-untyped-def]
    """`--config /dev/null` said `no such file`: it exists, and is the usual "none"."""
    import os

    empty = ttai("--config", os.devnull, "--demo", "alerts", "list")
    assert empty.code == 0 and empty.err == "", empty.err
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    refused = ttai("--config", str(fifo), "--demo", "alerts", "list")
    assert refused.code == 2
    assert refused.err == f"ttai: --config {fifo}: is not a regular file (expected a TOML file)\n"
    with pytest.raises(ConfigError, match=r"TTAI_CONFIG .*: is a directory"):
        load_settings(environ={"TTAI_HOME": str(tmp_path), "TTAI_CONFIG": str(tmp_path)})


def test_bad_config_is_one_line_and_exit_2_through_the_cli(tmp_path: Path, ttai) -> None:
    (tmp_path / "bad.toml").write_text('[notify.routes]\nbriefing = ["sms"]\n')
    result = ttai("--config", str(tmp_path / "bad.toml"), "--demo", "alerts", "list")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "line 2: notify.routes.briefing: unknown backend sms" in result.err


def test_doctor_shows_effective_config_redacted_with_sources(tmp_path: Path, ttai) -> None:
    (tmp_path / "c.toml").write_text(
        '[jobs.alerts]\nping = "https://hc-ping.com/5f1e2d3c-secret"\n[manage]\nmanage_dte = 14\n'
    )
    result = ttai("--config", str(tmp_path / "c.toml"), "--demo", "doctor", "--offline")
    assert "5f1e2d3c-secret" not in result.out + result.err
    assert "alerts -> https://hc-ping.com/" in result.out
    assert "manage at 14 DTE" in result.out and "c.toml line 4" in result.out
