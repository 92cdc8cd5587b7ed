"""Running ttai unattended: crontab lines and systemd user units with the right paths.

The unit files live in the repository's `systemd/` folder (shipped inside the wheel as
`ttai_cli/systemd_units`) with placeholders: `@TTAI@` (the executable), `@TTAI_HOME@`
(the state directory) and `@ENV_FILE@` (the secrets file).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ttai_cli.config import Settings
from ttai_cli.errors import TtaiError, UsageError
from ttai_cli.jobs import JOB_NAMES

CRON_ENTRIES = {
    # job: (cron schedule, ttai arguments). Debian cron has no CRON_TZ: ttai turns each
    # invocation into "is a New York slot due and not yet done?" with --catch-up.
    "monitor": ("* * * * *", ["monitor", "--every", "1m", "--catch-up", "--grace", "5m"]),
    "alerts": ("* * * * *", ["alerts", "check", "--every", "1m", "--catch-up", "--grace", "5m"]),
    "sync": ("*/5 * * * *", ["sync", "--catch-up", "--grace", "15m"]),
    "briefing-morning": ("*/5 * * * *", ["briefing", "morning", "--catch-up"]),
    "briefing-eod": ("*/5 * * * *", ["briefing", "eod", "--catch-up"]),
    "briefing-weekly": ("*/5 * * * *", ["briefing", "weekly", "--catch-up"]),
}
# Every job but stream (which runs all session long: the daemon or tmux) has a timer, so a
# user who picks the timers instead of the daemon loses nothing: alerts every 30 s and the
# monitor every minute across the session (the market guard decides inside it), sync and
# the briefings at their times.
TIMER_JOBS = ("monitor", "alerts", "sync", "briefing-morning", "briefing-eod", "briefing-weekly")


def executable() -> str:
    """The absolute path of this installation's `ttai` (not whatever PATH finds first)."""
    beside = Path(sys.executable).parent / "ttai"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("ttai")
    if found:
        return str(Path(found).resolve())
    return f"{sys.executable} -m ttai_cli"


def units_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "systemd_units", package.parent / "systemd"):
        if candidate.is_dir():
            return candidate
    raise TtaiError("the systemd unit files are missing from this installation")


def env_file_for(settings: Settings) -> Path:
    return (settings.env_file or settings.home / ".env").resolve()


def cron_lines(settings: Settings, jobs: list[str]) -> list[str]:
    if "stream" in jobs:
        raise UsageError(
            "stream runs all session long, which cron cannot do: run it in tmux, or use the "
            "daemon (`ttai run`, `ttai systemd`), which includes it"
        )
    unknown = [j for j in jobs if j not in CRON_ENTRIES]
    if unknown:
        raise UsageError(f"unknown job {unknown[0]!r} (jobs: {', '.join(JOB_NAMES)})")
    exe = executable()
    home = settings.home.resolve()
    logs_dir = home / "logs"
    base = [exe]
    if settings.env_file is not None:
        base += ["--env-file", str(settings.env_file.resolve())]
    if settings.demo:
        base.append("--demo")
    path_dirs = dict.fromkeys(
        [str(Path(exe.split()[0]).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    )
    lines = [
        "# ttai: paste into `crontab -e`. Times are New York time whatever the machine's time",
        "# zone (no CRON_TZ needed); --catch-up runs each slot once, even after downtime;",
        "# ttai locks each job itself, so no flock. Logs: " + str(logs_dir / "cron.log"),
        f"PATH={':'.join(path_dirs)}",
        f"TTAI_HOME={home}",
    ]
    for job in jobs or list(CRON_ENTRIES):
        schedule, arguments = CRON_ENTRIES[job]
        command = " ".join(shlex.quote(part) for part in base + arguments)
        lines.append(f"{schedule} {command} >> {shlex.quote(str(logs_dir / 'cron.log'))} 2>&1")
    return lines


@dataclass(frozen=True)
class Unit:
    name: str
    text: str


def render_units(settings: Settings) -> list[Unit]:
    replacements = {
        "@TTAI@": executable(),
        "@TTAI_HOME@": str(settings.home.resolve()),
        "@ENV_FILE@": str(env_file_for(settings)),
    }
    units = []
    for path in sorted(units_dir().iterdir()):
        if path.suffix not in (".service", ".timer"):
            continue
        text = path.read_text()
        for placeholder, value in replacements.items():
            text = text.replace(placeholder, value)
        units.append(Unit(path.name, text))
    return units


def user_unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def install_units(settings: Settings, target: Path | None = None) -> tuple[Path, list[str]]:
    """Write the units; return where, and the systemctl commands to run next."""
    directory = target or user_unit_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for unit in render_units(settings):
        (directory / unit.name).write_text(unit.text)
    timers = " ".join(f"ttai-{job}.timer" for job in TIMER_JOBS)
    commands = [
        "systemctl --user daemon-reload",
        "# either the daemon (everything in one process):",
        "systemctl --user enable --now ttai.service",
        "# or, instead, the timers (a oneshot per run; alerts, monitor, sync, briefings):",
        f"systemctl --user enable --now {timers}",
        "# keep running when you are logged out:",
        f"loginctl enable-linger {os.environ.get('USER', '$USER')}",
    ]
    return directory, commands
