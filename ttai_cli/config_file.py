"""`config.toml`: notification routes, quiet hours, per-job pings, management defaults,
`ttai ask`'s model and its scheduled prompts.

The file is optional. Its path is `--config PATH` (must exist), else `TTAI_CONFIG` (must
exist), else `$TTAI_HOME/config.toml` (read when it is there). It is parsed with the
standard library's `tomllib`; every key is optional and every key is checked: a file that
does not parse, an unknown table or key, an unknown backend or notification type in a
route, a bad time range or a value of the wrong type is a `ConfigError` (exit 2) whose one
line names the file, the key and its line.

Environment variables win over the file (`TTAI_QUIET_HOURS`, `TTAI_QUIET_ALLOW`), and every
value remembers where it came from so that `ttai doctor` can say it. Ping URLs carry a
check's secret (a healthchecks.io UUID is enough to ping it): they are registered with
the log redactor and shown redacted.

```toml
[notify]
quiet_hours = "22:00-07:00"            # New York time, may wrap midnight
quiet_allow = ["order_filled", "order_rejected", "assignment_risk"]
[notify.routes]                         # notification_type (or "*") -> backends
briefing = ["slack"]
alert_triggered = ["ntfy", "webhook"]
[jobs.alerts]                           # a job's name (an unknown one is an error),
ping = "https://hc-ping.com/UUID"       # also "ask:NAME", "cmd:NAME" for run --name NAME
[manage]
profit_target = 50                      # % of max profit
manage_dte = 21
tested_within = 2                       # % from a short strike
[ask]
model = "gpt-4o-mini"                   # `ttai ask`'s model (llm's names)
[ask.open]                              # a daemon job `ask:open` of `ttai run`
prompt = "Check my portfolio and send me a summary"
schedule = "--hourly --market-open"     # schedule options, as on the command line
model = "claude-3.5-haiku"              # optional: this job's own model
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ttai_cli import logs
from ttai_cli.errors import ConfigError

# The types that go through quiet hours when the file does not say (SPEC).
DEFAULT_QUIET_ALLOW = ("order_filled", "order_rejected", "assignment_risk")
ROUTE_DEFAULT = "*"

_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-:*]+)\s*=""")
ASK_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class QuietHours:
    """A daily window in New York wall-clock time; `start > end` wraps midnight
    (22:00-07:00). `start == end` is rejected when parsed (it would mean always or never)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: datetime) -> bool:
        from ttai_cli.clock import NEW_YORK

        now = moment.astimezone(NEW_YORK).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """The end of the window that contains `moment` (aware, New York): the first
        `end` wall-clock time after it, DST-safe (a wall time, not a fixed offset)."""
        from ttai_cli.clock import NEW_YORK

        local = moment.astimezone(NEW_YORK)
        candidate = datetime.combine(local.date(), self.end, NEW_YORK)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, NEW_YORK)
        return candidate


@dataclass(frozen=True)
class ManageDefaults:
    """`[manage]`: what the action list calls close, manage or roll, and tested."""

    profit_target: Decimal = Decimal(50)  # % of max profit
    manage_dte: int = 21
    tested_within: Decimal = Decimal(2)  # % from a short strike


@dataclass(frozen=True)
class AskJobConfig:
    """`[ask.NAME]`: a scheduled `ttai ask` the daemon runs as job `ask:NAME`."""

    name: str
    prompt: str
    schedule: str  # schedule options as typed on the command line: "--hourly --market-open"
    model: str | None = None
    source: str = ""  # `PATH line N` of the table, for messages


@dataclass(frozen=True)
class FileConfig:
    """What `config.toml` (and the environment variables that win over it) say.

    `sources` maps each value's dotted key (`notify.quiet_hours`, `notify.routes.briefing`,
    `jobs.alerts.ping`, `manage.manage_dte`) to where it came from: `PATH line N` or the
    variable's name. Keys absent from `sources` are defaults."""

    path: Path | None = None
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    quiet_allow: frozenset[str] = frozenset(DEFAULT_QUIET_ALLOW)
    job_pings: Mapping[str, str] = field(default_factory=dict)
    manage: ManageDefaults = field(default_factory=ManageDefaults)
    ask_model: str | None = None  # `[ask] model`
    ask_jobs: Mapping[str, AskJobConfig] = field(default_factory=dict)  # `[ask.NAME]`
    sources: Mapping[str, str] = field(default_factory=dict)

    def route(self, notification_type: str) -> tuple[str, ...] | None:
        """The backends a type goes to: its own route, else `"*"`, else None (no route:
        every configured backend, as without a file)."""
        if notification_type in self.routes:
            return self.routes[notification_type]
        return self.routes.get(ROUTE_DEFAULT)

    def held_until(self, notification_type: str, moment: datetime) -> datetime | None:
        """When a notification of this type created at `moment` may go out: None at once
        (no quiet hours, outside them, or a type allowed through), else the window's end."""
        if self.quiet_hours is None or notification_type in self.quiet_allow:
            return None
        if not self.quiet_hours.contains(moment):
            return None
        return self.quiet_hours.ends_after(moment)

    def ping_for(self, job: str) -> str | None:
        return self.job_pings.get(job)


def locate_config(
    explicit: Path | None, env: Mapping[str, str], home: Path
) -> tuple[Path | None, str]:
    """(the file to read or None, how it was chosen: `--config`, `TTAI_CONFIG`, `default`)."""
    if explicit is not None:
        return _must_exist(explicit.expanduser(), "--config"), "--config"
    named = env.get("TTAI_CONFIG", "").strip()
    if named:
        return _must_exist(Path(named).expanduser(), "TTAI_CONFIG"), "TTAI_CONFIG"
    default = home / "config.toml"
    try:
        return (default if default.is_file() else None), "default"
    except OSError:
        return None, "default"


def _must_exist(path: Path, option: str) -> Path | None:
    """`path` if it is a file to read; None for /dev/null (the usual way to say "no
    config file"). ConfigError saying what it is otherwise: missing, a directory, or
    something else that is not a regular file (a FIFO, a device)."""
    import os

    try:
        if path.is_file():
            return path
        if path.exists():
            if path.resolve() == Path(os.devnull).resolve():
                return None
            what = "is a directory" if path.is_dir() else "is not a regular file"
            raise ConfigError(f"{option} {path}: {what} (expected a TOML file)")
    except OSError as exc:
        raise ConfigError(f"{option} {path}: {exc.strerror or exc}") from None
    raise ConfigError(f"{option} {path}: no such file")


def load_file_config(
    explicit: Path | None, env: Mapping[str, str], home: Path, notification_types: tuple[str, ...]
) -> FileConfig:
    """Read and check the config file (if any), then let the environment win."""
    path, _how = locate_config(explicit, env, home)
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if path is not None:
        data, lines = _parse(path)
    return _Reader(path, lines, notification_types).build(data, env)


def _parse(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (expected TOML)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return data, _key_lines(text)


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
        return part[1:-1]
    return part


def _key_lines(text: str) -> dict[str, int]:
    """Dotted key -> the line it is set on (tables too), for messages and `doctor`.

    A small scan rather than a parser: tomllib gives no positions. It follows table
    headers and `key =` lines, which is what a hand-written config file holds; a key it
    cannot place is reported without a line, never wrongly."""
    lines: dict[str, int] = {}
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = [_unquote(p) for p in header.group(1).split(".")]
            lines.setdefault(".".join(table), number)
            continue
        key = _KEY.match(line)
        if key:
            dotted = ".".join([*table, *(_unquote(p) for p in key.group(1).split("."))])
            lines.setdefault(dotted, number)
    return lines


# the tables' own keys, to send one written at the top of the file to its table
_TABLE_OF_KEY = {
    "quiet_hours": "notify",
    "quiet_allow": "notify",
    "routes": "notify",
    "profit_target": "manage",
    "manage_dte": "manage",
    "tested_within": "manage",
    "model": "ask",
}


class _Reader:
    def __init__(
        self, path: Path | None, lines: dict[str, int], notification_types: tuple[str, ...]
    ) -> None:
        self.path = path
        self.lines = lines
        self.types = notification_types
        self.sources: dict[str, str] = {}

    # -- messages --------------------------------------------------------------------------
    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.path} line {line}" if line else f"{self.path}"

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {key}: {problem}")

    def took(self, key: str) -> None:
        self.sources[key] = self.where(key)

    def table(self, data: Any, key: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        """`data` as the table `key` ("" for the file's top), refusing a name not in
        `allowed` (None: any): `unknown table [notfy] (known: notify, jobs, manage, ask)`,
        `notify.quiet: unknown key (known in [notify]: quiet_hours, ...)`; a key of a
        table written at the top is sent to its table (`quiet_hours belongs in
        [notify]`)."""
        if not isinstance(data, dict):
            raise self.fail(key, "must be a table")
        if allowed is None:
            return data
        for name, value in data.items():
            if name in allowed:
                continue
            full = f"{key}.{name}" if key else name
            known = ", ".join(allowed)
            if isinstance(value, dict):
                where = f"known: {known}" if not key else f"known in [{key}]: {known}"
                raise ConfigError(f"{self.where(full)}: unknown table [{full}] ({where})")
            if not key:
                home = _TABLE_OF_KEY.get(name)
                if home is not None:
                    raise ConfigError(
                        f"{self.where(full)}: {name} belongs in [{home}]: put it under a "
                        f"[{home}] line"
                    )
                raise ConfigError(
                    f"{self.where(full)}: unknown key {name} (settings go in the tables "
                    f"{', '.join(f'[{t}]' for t in allowed)})"
                )
            raise self.fail(full, f"unknown key (known in [{key}]: {known})")
        return data

    # -- the file --------------------------------------------------------------------------
    def build(self, data: dict[str, Any], env: Mapping[str, str]) -> FileConfig:
        top = self.table(data, "", ("notify", "jobs", "manage", "ask"))
        notify = self.table(
            top.get("notify", {}), "notify", ("quiet_hours", "quiet_allow", "routes")
        )
        routes = self.routes(notify.get("routes", {}))
        quiet_hours = self.quiet_hours(notify)
        quiet_allow = self.quiet_allow(notify)
        quiet_hours, quiet_allow = self.environment(env, quiet_hours, quiet_allow)
        ask_model, ask_jobs = self.ask(top.get("ask", {}))
        return FileConfig(
            path=self.path,
            routes=routes,
            quiet_hours=quiet_hours,
            quiet_allow=quiet_allow,
            job_pings=self.pings(top.get("jobs", {})),
            manage=self.manage(top.get("manage", {})),
            ask_model=ask_model,
            ask_jobs=ask_jobs,
            sources=dict(self.sources),
        )

    def routes(self, raw: Any) -> dict[str, tuple[str, ...]]:
        from ttai_cli.config import NOTIFICATION_BACKENDS

        table = self.table(raw, "notify.routes", None)
        routes: dict[str, tuple[str, ...]] = {}
        for kind, backends in table.items():
            key = f"notify.routes.{kind}"
            if kind != ROUTE_DEFAULT and kind not in self.types:
                raise self.fail(
                    key,
                    f'unknown notification type {kind!r} (use "*" or one of {", ".join(self.types)})',
                )
            if isinstance(backends, str):
                backends = [backends]
            if not isinstance(backends, list) or not all(isinstance(b, str) for b in backends):
                raise self.fail(key, 'must be a list of backend names, e.g. ["ntfy", "webhook"]')
            names = tuple(b.strip().lower() for b in backends)
            unknown = [b for b in names if b not in NOTIFICATION_BACKENDS]
            if unknown:
                raise self.fail(
                    key,
                    f"unknown backend {', '.join(unknown)} (choose from {', '.join(NOTIFICATION_BACKENDS)})",
                )
            routes[kind] = tuple(b for b in names if b != "none")
            self.took(key)
        return routes

    def quiet_hours(self, notify: dict[str, Any]) -> QuietHours | None:
        if "quiet_hours" not in notify:
            return None
        key = "notify.quiet_hours"
        raw = notify["quiet_hours"]
        try:
            window = parse_quiet_hours(raw if isinstance(raw, str) else None)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        self.took(key)
        return window

    def quiet_allow(self, notify: dict[str, Any]) -> frozenset[str]:
        if "quiet_allow" not in notify:
            return frozenset(DEFAULT_QUIET_ALLOW)
        key = "notify.quiet_allow"
        raw = notify["quiet_allow"]
        if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
            raise self.fail(key, "must be a list of notification types")
        unknown = [t for t in raw if t not in self.types]
        if unknown:
            raise self.fail(key, self._unknown_types(unknown))
        self.took(key)
        return frozenset(raw)

    def _unknown_types(self, unknown: list[str]) -> str:
        """`unknown notification type 'fills' (use one of alert_triggered, ...)`."""
        return (
            f"unknown notification type {', '.join(map(repr, unknown))} "
            f"(use one of {', '.join(self.types)})"
        )

    def environment(
        self, env: Mapping[str, str], hours: QuietHours | None, allow: frozenset[str]
    ) -> tuple[QuietHours | None, frozenset[str]]:
        raw = env.get("TTAI_QUIET_HOURS")
        if raw is not None:
            raw = raw.strip()
            if raw.lower() in ("", "none", "off"):
                hours = None
            else:
                try:
                    hours = parse_quiet_hours(raw)
                except ValueError as exc:
                    raise ConfigError(f"TTAI_QUIET_HOURS: {exc}") from None
            self.sources["notify.quiet_hours"] = "TTAI_QUIET_HOURS"
        raw = env.get("TTAI_QUIET_ALLOW")
        if raw is not None:
            names = [t.strip() for t in raw.split(",") if t.strip()]
            unknown = [t for t in names if t not in self.types]
            if unknown:
                raise ConfigError(f"TTAI_QUIET_ALLOW: {self._unknown_types(unknown)}")
            allow = frozenset(names)
            self.sources["notify.quiet_allow"] = "TTAI_QUIET_ALLOW"
        return hours, allow

    def pings(self, raw: Any) -> dict[str, str]:
        jobs = self.table(raw, "jobs", None)
        pings: dict[str, str] = {}
        for job, table in jobs.items():
            if not known_job(job):  # a typo ([jobs.monitr]) would never ping
                raise self.fail(f"jobs.{job}", f"unknown job {job!r} ({known_jobs()})")
            settings = self.table(table, f"jobs.{job}", ("ping",))
            if "ping" not in settings:
                continue
            key = f"jobs.{job}.ping"
            url = settings["ping"]
            if not isinstance(url, str) or not url.strip():
                raise self.fail(key, "must be a URL string")
            try:
                pings[job] = check_ping_url(url)
            except ValueError as exc:
                raise self.fail(key, str(exc)) from None
            self.took(key)
        return pings

    def manage(self, raw: Any) -> ManageDefaults:
        table = self.table(raw, "manage", ("profit_target", "manage_dte", "tested_within"))
        values: dict[str, Any] = {}
        for name, low, high, integral in (
            ("profit_target", 1, 1000, False),
            ("manage_dte", 0, 3650, True),
            ("tested_within", 0, 100, False),
        ):
            if name not in table:
                continue
            key = f"manage.{name}"
            value = table[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(key, "must be a number")
            if integral and not isinstance(value, int):
                raise self.fail(key, "must be a whole number of days")
            if not low <= value <= high:
                raise self.fail(key, f"must be from {low} to {high} (got {value})")
            values[name] = value if integral else Decimal(str(value))
            self.took(key)
        return ManageDefaults(**values)

    def ask(self, raw: Any) -> tuple[str | None, dict[str, AskJobConfig]]:
        """`[ask] model` and the `[ask.NAME]` tables (`prompt`, `schedule`, `model`).
        The schedule string is checked as schedule options when the daemon builds the
        job (the command line's own parser), not here."""
        table = self.table(raw, "ask", None)
        model: str | None = None
        jobs: dict[str, AskJobConfig] = {}
        for name, value in table.items():
            if name == "model":
                model = self._text(value, "ask.model", 'a model name, e.g. "gpt-4o-mini"')
                continue
            key = f"ask.{name}"
            if not isinstance(value, dict):
                raise self.fail(key, "unknown key (known in [ask]: model, and [ask.NAME] tables)")
            if not ASK_NAME.match(name):
                raise self.fail(key, "NAME must be letters, digits, - or _ (at most 64)")
            job = self.table(value, key, ("prompt", "schedule", "model"))
            for required in ("prompt", "schedule"):
                if required not in job:
                    raise self.fail(key, f"needs {required} = ...")
            jobs[name] = AskJobConfig(
                name=name,
                prompt=self._text(job["prompt"], f"{key}.prompt", "the instructions"),
                schedule=self._text(
                    job["schedule"], f"{key}.schedule", 'schedule options, e.g. "--hourly"'
                ),
                model=self._text(job["model"], f"{key}.model", "a model name")
                if "model" in job
                else None,
                source=self.where(key),
            )
        return model, jobs

    def _text(self, value: Any, key: str, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be {what}")
        self.took(key)
        return value.strip()


def known_job(name: str) -> bool:
    """A `[jobs.NAME]` table's NAME: ttai's jobs (`ttai run JOB`, the daemon's `backup`),
    `ask` and `ask:NAME` (`ttai ask --name NAME`, `[ask.NAME]`), or `cmd:NAME` (`ttai run
    --name NAME -- COMMAND`, or the `cmd:PROGRAM:HASH` ttai names a command without one)."""
    from ttai_cli.jobs import DAEMON_JOB_NAMES, JOB_NAMES  # names only: no job is imported

    if name.startswith("cmd:"):
        return len(name) > len("cmd:")
    if name.startswith("ask:"):
        return ASK_NAME.match(name.removeprefix("ask:")) is not None
    return name in (*JOB_NAMES, *DAEMON_JOB_NAMES, "ask")


def known_jobs() -> str:
    from ttai_cli.jobs import DAEMON_JOB_NAMES, JOB_NAMES

    names = ", ".join((*JOB_NAMES, *DAEMON_JOB_NAMES, "ask"))
    return f'jobs: {names}, "ask:NAME", "cmd:NAME" for `ttai run --name NAME -- COMMAND`'


def parse_quiet_hours(raw: str | None) -> QuietHours:
    """`"22:00-07:00"` (24-hour New York time, may wrap midnight) -> `QuietHours`."""
    if raw is None or raw.count("-") != 1:
        raise ValueError('must be "HH:MM-HH:MM" in New York time, e.g. "22:00-07:00"')
    start_text, end_text = raw.split("-")
    start, end = _clock_time(start_text), _clock_time(end_text)
    if start == end:
        raise ValueError(f"{raw!r} starts and ends at the same time")
    return QuietHours(start, end)


def _clock_time(text: str) -> time:
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"{text.strip()!r} is not a time (use 24-hour HH:MM, e.g. 22:00)")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"{text.strip()!r} is not a time of day")
    return time(hour, minute)


def check_ping_url(url: str) -> str:
    """A ping URL, registered with the redactor (its path holds the check's secret).
    ValueError (never quoting the URL) unless it is http(s) with a host."""
    from ttai_cli.redaction import url_problem

    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    problem = url_problem(url)
    if problem:  # not registered: `https://` alone would mask every "https://" logged
        raise ValueError(problem)
    register_ping_url(url)
    return url.rstrip("/")


def register_ping_url(url: str) -> None:
    """Mask the URL and the parts of it that look like keys, as for notification URLs
    (`logs.register_url`): in `https://hc-ping.com/KEY/alerts` the slug `alerts` is a
    job's name, and masking it would mask the job in every log line and ping body."""
    logs.register_url(url)
