"""Configuration: environment, .env files, secrets, state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttai_cli.config import Secret, ensure_home, load_settings
from ttai_cli.errors import ConfigError, CredentialsError


def test_env_file_fills_in_but_never_overrides(tmp_path: Path) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text(
        "TASTYTRADE_CLIENT_SECRET=from-file\nTASTYTRADE_ACCOUNT_ID=5WT1\n# comment\n\nexport TTAI_DEMO=1\n"
    )
    settings = load_settings(env_file=env_file, environ={"TASTYTRADE_ACCOUNT_ID": "5WT2"})
    assert settings.client_secret == Secret("from-file")
    assert settings.account_id == "5WT2"
    assert settings.demo is True
    assert settings.env_file == env_file


def test_dotenv_in_cwd_then_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / ".env").write_text("TASTYTRADE_ACCOUNT_ID=from-home\n")
    assert load_settings(environ={"TTAI_HOME": str(home)}).account_id == "from-home"
    (Path.cwd() / ".env").write_text("TASTYTRADE_ACCOUNT_ID=from-cwd\n")
    assert load_settings(environ={"TTAI_HOME": str(home)}).account_id == "from-cwd"


def test_sdk_variable_names_are_accepted() -> None:
    settings = load_settings(environ={"TT_SECRET": "s3cr3t-value", "TT_REFRESH": "r3fr3sh-value"})
    secret, refresh = settings.require_credentials()
    assert secret.reveal() == "s3cr3t-value" and refresh.reveal() == "r3fr3sh-value"


def test_missing_credentials_name_both_variables() -> None:
    with pytest.raises(CredentialsError) as caught:
        load_settings(environ={}).require_credentials()
    assert "TASTYTRADE_CLIENT_SECRET and TASTYTRADE_REFRESH_TOKEN" in str(caught.value)
    assert caught.value.exit_code == 2


def test_bad_env_line_names_the_line_not_its_content(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text("TASTYTRADE_CLIENT_SECRET=ok\nthis line holds hunter2-secret junk\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=env_file, environ={})
    assert "line 2" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_binary_env_file_is_a_config_error(tmp_path: Path) -> None:
    env_file = tmp_path / "bin.env"
    env_file.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not a text file"):
        load_settings(env_file=env_file, environ={})


def test_missing_explicit_env_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(env_file=tmp_path / "nope.env", environ={})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ("auto",)),
        ("auto", ("auto",)),
        ("webhook, slack", ("webhook", "slack")),
        ("none", ("none",)),
    ],
)
def test_notification_backends(raw: str, expected: tuple[str, ...]) -> None:
    assert (
        load_settings(environ={"TTAI_NOTIFICATION_BACKEND": raw}).notification_backends == expected
    )


def test_unknown_backend_and_bad_flags_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown backend pager"):
        load_settings(environ={"TTAI_NOTIFICATION_BACKEND": "pager"})
    with pytest.raises(ConfigError, match="TTAI_DEMO must be 1 or 0"):
        load_settings(environ={"TTAI_DEMO": "maybe"})
    with pytest.raises(ConfigError, match="TTAI_API_URL"):
        load_settings(environ={"TTAI_API_URL": "localhost:8000"})


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (
            "TTAI_DB_MAX_PAGES",
            "abc",
            "TTAI_DB_MAX_PAGES must be a whole number from 1 to 2147483647 (got 'abc')",
        ),
        (
            "TTAI_DB_MAX_PAGES",
            "2.5",
            "TTAI_DB_MAX_PAGES must be a whole number from 1 to 2147483647 (got '2.5')",
        ),
        (
            "TTAI_API_ATTEMPTS",
            "0",
            "TTAI_API_ATTEMPTS must be a whole number from 1 to 20 (got '0')",
        ),
        ("TTAI_API_TIMEOUT", "0", "TTAI_API_TIMEOUT must be a number from 0.1 to 600 (got '0')"),
        (
            "TTAI_DB_BUSY_TIMEOUT",
            "-1",
            "TTAI_DB_BUSY_TIMEOUT must be a number from 0 to 3600 (got '-1')",
        ),
    ],
    ids=["max-pages-not-a-number", "max-pages-a-fraction", "attempts", "timeout", "busy-timeout"],
)
def test_a_number_out_of_range_names_its_range_as_typed(name: str, raw: str, message: str) -> None:
    """`TTAI_DB_MAX_PAGES=abc` said "must be a number from 1 to 2.14748e+09"."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={name: raw})
    assert str(caught.value) == message


def test_a_whole_number_setting_takes_one_written_as_such() -> None:
    settings = load_settings(
        environ={"TTAI_DB_MAX_PAGES": "2147483647", "TTAI_API_ATTEMPTS": "3.0"}
    )
    assert settings.db_max_pages == 2**31 - 1 and settings.api_attempts == 3


def test_secret_never_prints() -> None:
    secret = Secret("do-not-show-me")
    assert (
        "do-not-show" not in repr(secret)
        and "do-not-show" not in str(secret)
        and "do-not-show" not in f"{secret}"
    )
    settings = load_settings(environ={"TASTYTRADE_CLIENT_SECRET": "do-not-show-me"})
    assert "do-not-show" not in repr(settings)


def test_unwritable_home_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = load_settings(home=blocker / "sub", environ={})
    with pytest.raises(ConfigError, match="not usable"):
        ensure_home(settings)


def test_home_is_created_private(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "new" / "home", environ={})
    home = ensure_home(settings)
    assert home.is_dir() and (home.stat().st_mode & 0o077) == 0
