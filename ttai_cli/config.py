"""Configuration: the environment, an optional `.env` file, and the state directory.

Precedence (SPEC "Configuration"): variables already in the environment win; a `.env`
file only fills in what is missing. The file is `--env-file PATH` when given (it must
exist), else `./.env`, else `$TTAI_HOME/.env`. The environment itself is never modified,
so nothing read from a `.env` leaks into child processes by accident.

Secrets are wrapped in `Secret`, whose `repr`/`str` never show the value; every secret
loaded is also registered with the log redactor (`ttai_cli.logs`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ttai_cli import logs
from ttai_cli.config_file import FileConfig
from ttai_cli.errors import ConfigError, CredentialsError

NOTIFICATION_BACKENDS = (
    "console",
    "stderr",
    "webhook",
    "slack",
    "discord",
    "ntfy",
    "apprise",
    "none",
)
TRUTHY = {"1", "true", "yes", "on"}
FALSY = {"", "0", "false", "no", "off"}
# How long a write waits for another process's write lock before `database busy`
# (README), in seconds; TTAI_DB_BUSY_TIMEOUT changes it.
DB_BUSY_TIMEOUT = 10.0


class Secret:
    """A string that refuses to be printed. Call `reveal()` where the value is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Everything ttai reads from its environment, resolved once per process."""

    home: Path
    home_option: str | None = None  # where `home` came from (--home, TTAI_HOME; None: default)
    env_file: Path | None = None
    demo: bool = False
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    account_id: str | None = None
    sandbox: bool = False
    api_url: str | None = None
    notification_backends: tuple[str, ...] = ("auto",)
    webhook_url: Secret | None = None
    slack_webhook_url: Secret | None = None
    discord_webhook_url: Secret | None = None
    ntfy_url: Secret | None = None
    apprise_urls: Secret | None = None
    api_timeout: float = 15.0
    api_attempts: int = 4
    streaming: bool = True  # TTAI_STREAMING=0: never stream, alerts poll
    account_streamer_url: str | None = None  # TTAI_ACCOUNT_STREAMER_URL, else derived
    # TTAI_DB_BUSY_TIMEOUT: seconds a write waits for another process's lock
    db_busy_timeout: float = DB_BUSY_TIMEOUT
    # TTAI_DB_MAX_PAGES: a cap on the database file in pages (SQLite's max_page_count),
    # for trying out a full disk; None: only the disk limits it
    db_max_pages: int | None = None

    model: str | None = None  # TTAI_MODEL: `ttai ask`'s model when --model is not given
    # config.toml (--config, TTAI_CONFIG, $TTAI_HOME/config.toml) with the environment
    # winning over it: routes, quiet hours, pings, management defaults
    file: FileConfig = field(default_factory=FileConfig)

    @property
    def database_path(self) -> Path:
        # The demo account gets its own database so that simulated positions and
        # alerts never mix with the record of a real account.
        return self.home / ("ttai-demo.db" if self.demo else "ttai.db")

    def destination_urls(self) -> dict[str, Secret | None]:
        """Remote notification destinations by backend name (values are secrets)."""
        return {
            "webhook": self.webhook_url,
            "slack": self.slack_webhook_url,
            "discord": self.discord_webhook_url,
            "ntfy": self.ntfy_url,
            "apprise": self.apprise_urls,
        }

    @property
    def locks_dir(self) -> Path:
        return self.home / "locks"

    def require_credentials(self) -> tuple[Secret, Secret]:
        """The OAuth pair, or a `CredentialsError` naming what is missing."""
        missing = []
        if self.client_secret is None:
            missing.append("TASTYTRADE_CLIENT_SECRET")
        if self.refresh_token is None:
            missing.append("TASTYTRADE_REFRESH_TOKEN")
        if missing:
            raise CredentialsError(
                f"{' and '.join(missing)} not set: put them in the environment or a .env "
                "file (see `ttai doctor`), or use --demo for the simulated account"
            )
        assert self.client_secret is not None and self.refresh_token is not None
        return self.client_secret, self.refresh_token


def default_home() -> Path:
    """The platform's user data directory for ttai (what platformdirs would answer)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "ttai"
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "ttai"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ttai"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `.env` file with python-dotenv's parser.

    Unlike `dotenv_values`, a line that does not parse is an error (exit 2) rather than a
    warning: a half-read `.env` would silently run with the wrong account. The message
    names the line number only, never its text, which may hold a secret.
    """
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (expected KEY=VALUE lines)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    import io

    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"{path}: line {binding.original.line} is not KEY=VALUE; fix or remove it"
            )
        if binding.key is not None:
            values[binding.key] = binding.value or ""
    return values


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in TRUTHY:
        return True
    if raw in FALSY:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (got {raw!r})")


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    low: float,
    high: float,
    whole: bool = False,
) -> float:
    """The variable `name` as a number from `low` to `high` (`whole`: a whole number),
    `default` when unset or empty; a ConfigError (exit 2) naming the range otherwise."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high or (whole and not value.is_integer()):  # also rejects nan
        what = "a whole number" if whole else "a number"
        raise ConfigError(
            f"{name} must be {what} from {_plain(low)} to {_plain(high)} (got {raw!r})"
        )
    return value


def _plain(value: float) -> str:
    """`2147483647`, `0.1`, `600`: as a person types it (`:g` would show 2.14748e+09)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _secret(env: Mapping[str, str], *names: str) -> Secret | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            logs.register_secret(value)
            return Secret(value)
    return None


def _register_urls(secret: Secret | None) -> Secret | None:
    """Destination URLs (a list of them, for apprise): mask each, and its secret parts."""
    if secret is not None:
        for part in secret.reveal().replace(",", " ").split():
            logs.register_url(part)
    return secret


def parse_backends(raw: str) -> tuple[str, ...]:
    """`TTAI_NOTIFICATION_BACKEND`: a comma list of backend names, or `auto`."""
    names = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    if not names or names == ("auto",):
        return ("auto",)
    unknown = [n for n in names if n not in NOTIFICATION_BACKENDS]
    if unknown:
        raise ConfigError(
            f"TTAI_NOTIFICATION_BACKEND: unknown backend {', '.join(unknown)} "
            f"(choose from auto, {', '.join(NOTIFICATION_BACKENDS)})"
        )
    return names


def _is_file(path: Path, option: str, given: Path) -> bool:
    """`path.is_file()`, except that a path the OS refuses outright (a name too long,
    a symlink loop) is a `ConfigError` naming the option: `Path.is_file` only
    answers False for a missing file or a file in the way of a directory."""
    try:
        return path.is_file()
    except OSError as exc:
        raise ConfigError(f"{option} {given}: {exc.strerror or exc}") from None


def locate_env_file(
    explicit: Path | None, env: Mapping[str, str], home: Path | None
) -> Path | None:
    if explicit is not None:
        if not _is_file(explicit, "--env-file", explicit):
            raise ConfigError(f"--env-file {explicit}: no such file")
        return explicit
    cwd_env = Path.cwd() / ".env"
    if _is_file(cwd_env, "./.env", cwd_env):
        return cwd_env
    home_dir = home or (Path(env["TTAI_HOME"]) if env.get("TTAI_HOME") else None)
    if home_dir is not None:
        option = "--home" if home is not None else "TTAI_HOME"
        if _is_file(home_dir / ".env", option, home_dir):
            return home_dir / ".env"
    return None


# Destinations posted to over HTTP. A URL without its scheme would only fail at delivery,
# leaving notifications pending forever, so it is a configuration error up front.
# (TTAI_APPRISE_URLS is not here: apprise has its own schemes, tgram://, mailto://.)
DESTINATION_URL_VARS = (
    "TTAI_WEBHOOK_URL",
    "TTAI_SLACK_WEBHOOK_URL",
    "TTAI_DISCORD_WEBHOOK_URL",
    "TTAI_NTFY_URL",
)


def load_settings(
    *,
    env_file: Path | None = None,
    home: Path | None = None,
    demo: bool = False,
    environ: Mapping[str, str] | None = None,
    config: Path | None = None,
) -> Settings:
    """Resolve settings from the environment (default `os.environ`), a `.env` file and
    `config.toml` (`config`, else `TTAI_CONFIG`, else `$TTAI_HOME/config.toml`)."""
    base_env = dict(os.environ if environ is None else environ)
    path = locate_env_file(env_file, base_env, home)
    merged = dict(read_env_file(path)) if path else {}
    merged.update(base_env)  # the real environment always wins

    if home is None and "TTAI_HOME" in merged and not merged["TTAI_HOME"].strip():
        # set but empty (`TTAI_HOME=` in a unit file or .env): a typo, not "the default"
        raise ConfigError(
            "TTAI_HOME is set but empty: set it to the state directory, or unset it for the default"
        )
    home_dir = home or (Path(merged["TTAI_HOME"]).expanduser() if merged.get("TTAI_HOME") else None)
    home_option = "--home" if home else "TTAI_HOME" if home_dir else None
    for name in DESTINATION_URL_VARS:
        value = merged.get(name, "").strip()
        if value and not value.lower().startswith(("http://", "https://")):
            # the value is a secret (a webhook URL carries its token): never echoed
            raise ConfigError(f"{name} must start with http:// or https://")
    api_url = merged.get("TTAI_API_URL", "").strip() or None
    if api_url and not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"TTAI_API_URL must start with http:// or https:// (got {api_url!r})")
    from ttai_cli.config_file import load_file_config
    from ttai_cli.notify.models import NOTIFICATION_TYPES

    resolved_home = home_dir or default_home()
    file_config = load_file_config(config, merged, resolved_home, NOTIFICATION_TYPES)
    return Settings(
        home=resolved_home,
        home_option=home_option,
        env_file=path,
        demo=demo or _flag(merged, "TTAI_DEMO"),
        client_secret=_secret(merged, "TASTYTRADE_CLIENT_SECRET", "TT_SECRET"),
        refresh_token=_secret(merged, "TASTYTRADE_REFRESH_TOKEN", "TT_REFRESH"),
        account_id=merged.get("TASTYTRADE_ACCOUNT_ID", "").strip() or None,
        sandbox=_flag(merged, "TASTYTRADE_SANDBOX"),
        api_url=api_url,
        notification_backends=parse_backends(merged.get("TTAI_NOTIFICATION_BACKEND", "auto")),
        webhook_url=_register_urls(_secret(merged, "TTAI_WEBHOOK_URL")),
        slack_webhook_url=_register_urls(_secret(merged, "TTAI_SLACK_WEBHOOK_URL")),
        discord_webhook_url=_register_urls(_secret(merged, "TTAI_DISCORD_WEBHOOK_URL")),
        ntfy_url=_register_urls(_secret(merged, "TTAI_NTFY_URL")),
        apprise_urls=_register_urls(_secret(merged, "TTAI_APPRISE_URLS")),
        api_timeout=_number(merged, "TTAI_API_TIMEOUT", 15.0, low=0.1, high=600),
        api_attempts=int(_number(merged, "TTAI_API_ATTEMPTS", 4, low=1, high=20, whole=True)),
        streaming=_flag(merged, "TTAI_STREAMING")
        if merged.get("TTAI_STREAMING", "").strip()
        else True,
        account_streamer_url=_websocket_url(merged, "TTAI_ACCOUNT_STREAMER_URL"),
        db_busy_timeout=_number(merged, "TTAI_DB_BUSY_TIMEOUT", DB_BUSY_TIMEOUT, low=0, high=3600),
        db_max_pages=int(_number(merged, "TTAI_DB_MAX_PAGES", 0, low=1, high=2**31 - 1, whole=True))
        if merged.get("TTAI_DB_MAX_PAGES", "").strip()
        else None,
        model=merged.get("TTAI_MODEL", "").strip() or None,
        file=file_config,
    )


def _websocket_url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if raw and not raw.startswith(("ws://", "wss://")):
        raise ConfigError(f"{name} must start with ws:// or wss:// (got {raw!r})")
    return raw or None


def account_streamer_url(settings: Settings, demo_base_url: str | None = None) -> str:
    """SPEC: `TTAI_ACCOUNT_STREAMER_URL`, else `ws(s)://HOST:PORT/account-streamer` of
    `TTAI_API_URL` (or of the demo's in-process API), else tastytrade's own (sandbox's
    with `TASTYTRADE_SANDBOX=1`)."""
    if settings.account_streamer_url:
        return settings.account_streamer_url
    from urllib.parse import urlsplit

    base = demo_base_url if settings.demo else settings.api_url
    if base:
        url = urlsplit(base)
        scheme = "wss" if url.scheme == "https" else "ws"
        return f"{scheme}://{url.netloc}/account-streamer"
    if settings.sandbox:
        return "wss://streamer.cert.tastyworks.com"
    return "wss://streamer.tastyworks.com"


def ensure_home(settings: Settings) -> Path:
    """Create the state directory (mode 0700) or fail with one line naming where it came
    from (--home, TTAI_HOME), exit 2: a path too long, a file in the way, no permission."""
    home = settings.home
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        # a probe of our own (not a fixed name: several processes may start at once)
        probe = home / f".write-test-{os.getpid()}-{id(settings)}"
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.unlink(probe)
    except OSError as exc:
        if isinstance(exc, FileExistsError):  # mkdir's answer when `home` is a file
            reason = "it is a file, not a directory"
        else:
            reason = exc.strerror or exc.__class__.__name__
        fix = f"fix {settings.home_option}" if settings.home_option else "set TTAI_HOME or --home"
        raise ConfigError(f"state directory {home} is not usable ({reason}); {fix}") from None
    return home
