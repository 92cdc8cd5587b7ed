"""`ttai doctor`: what is configured, what works, and what to fix.

Secrets are reported only as set / not set; destination URLs only in redacted form.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ttai_cli import __version__
from ttai_cli.broker.models import Broker
from ttai_cli.clock import NEW_YORK, SystemClock
from ttai_cli.config import Secret, Settings, ensure_home
from ttai_cli.errors import DatabaseDamaged, NotATtaiDatabase, TtaiError
from ttai_cli.redaction import redact_url, redact_urls, url_problem
from ttai_cli.store import Store, open_settings_store

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


def _set(secret: Secret | None) -> str:
    return "set" if secret is not None else "not set"


class DoctorService:
    def __init__(self, settings: Settings, open_broker: Callable[[], Broker]) -> None:
        self.settings = settings
        self.open_broker = open_broker

    def local_checks(self) -> list[Check]:
        s = self.settings
        checks = [Check("version", INFO, f"ttai {__version__}")]
        if s.env_file is None:
            checks.append(Check(".env", INFO, "no .env file found (./.env, $TTAI_HOME/.env)"))
        else:
            mode = stat.S_IMODE(os.stat(s.env_file).st_mode)
            if mode & 0o077:
                checks.append(
                    Check(
                        ".env",
                        WARN,
                        f"{s.env_file} is readable by others (mode {mode:o}); chmod 600 it",
                    )
                )
            else:
                checks.append(Check(".env", OK, str(s.env_file)))
        checks.append(
            Check(
                "mode",
                INFO,
                "demo (simulated account)"
                if s.demo
                else "sandbox"
                if s.sandbox
                else "tastytrade production",
            )
        )
        if s.api_url:
            checks.append(Check("endpoint", INFO, s.api_url))
        creds_ok = s.client_secret is not None and s.refresh_token is not None
        detail = f"TASTYTRADE_CLIENT_SECRET {_set(s.client_secret)}, TASTYTRADE_REFRESH_TOKEN {_set(s.refresh_token)}"
        if s.demo:
            checks.append(Check("credentials", INFO, f"{detail} (not needed for --demo)"))
        else:
            checks.append(Check("credentials", OK if creds_ok else FAIL, detail))
        checks.append(
            Check("account", INFO, s.account_id or "first account (TASTYTRADE_ACCOUNT_ID not set)")
        )
        checks.extend(self._database())
        destinations = {
            "TTAI_WEBHOOK_URL": s.webhook_url,
            "TTAI_SLACK_WEBHOOK_URL": s.slack_webhook_url,
            "TTAI_DISCORD_WEBHOOK_URL": s.discord_webhook_url,
            "TTAI_NTFY_URL": s.ntfy_url,
        }
        configured = [
            f"{name}={redact_url(url.reveal())}" for name, url in destinations.items() if url
        ]
        for name, url in destinations.items():
            problem = url_problem(url.reveal()) if url else None
            if problem:  # kept pending until fixed: say so before the first alert is due
                checks.append(Check("notifications", WARN, f"{name} {problem}"))
        checks.append(
            Check(
                "notifications",
                INFO,
                f"backends {','.join(s.notification_backends)}; "
                + ("; ".join(configured) if configured else "no destination URL set"),
            )
        )
        checks.extend(self._file_config())
        return checks

    def _database(self) -> list[Check]:
        """The database: it opens, `PRAGMA integrity_check` passes, it is private; then
        what it records (jobs, calendar, outbox) and the backups. A damaged file is a
        failed check followed by the way back, never a crash.

        `integrity_check`, not only `quick_check`: it also matches every index against
        its table, and a WAL replayed into the wrong file (a copy moved over the database
        of a running process) leaves exactly that kind of damage, duplicate keys and
        indexes missing rows, which `quick_check` passes. ttai's database is small: it
        adds milliseconds (bench/RESULTS.md)."""
        s = self.settings
        path = s.database_path
        checks: list[Check] = []
        problems: list[str] = []
        try:
            ensure_home(s)
            with open_settings_store(s) as store:
                problems = store.integrity_check()
                applied = len(store.applied_migrations())
                if not problems:
                    checks.extend(self._jobs_and_calendar(store))
                    checks.extend(self._outbox(store))
        except DatabaseDamaged as exc:  # SQLite's own words, not ours (which point here)
            problems = [str(exc.__cause__ or exc)]
        except NotATtaiDatabase as exc:  # (its message says doctor shows the way back)
            way_back = Check("way back", INFO, self._way_back())
            return [Check("database", FAIL, str(exc)), way_back, *self._backups()]
        except TtaiError as exc:
            return [Check("database", FAIL, str(exc)), *self._backups()]
        except sqlite3.DatabaseError as exc:  # SQLite met the damage outside quick_check
            problems = [str(exc)]
        if problems:
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            checks.append(
                Check("database", FAIL, f"{path} is damaged: integrity_check: {problems[0]}{more}")
            )
            checks.append(Check("way back", INFO, self._way_back()))
            return checks + self._backups()
        mode = stat.S_IMODE(os.stat(path).st_mode)
        checks.append(
            Check(
                "database",
                FAIL if mode & 0o077 else OK,
                f"{path} (integrity_check ok, {applied} migrations, mode {mode:o})",
            )
        )
        return checks + self._backups()

    def _way_back(self) -> str:
        """How to get a damaged database back, with the README's commands (When the
        database is damaged): the newest backup, else salvage with sqlite3's `.recover`,
        or where that fails (Debian's sqlite3 3.40: "SQL logic error", and the pipe still
        exits 0, leaving an empty file) `.dump` with its closing ROLLBACK made a COMMIT."""
        from ttai_cli.services.backup import BackupService

        path = self.settings.database_path
        latest = next(iter(BackupService(self.settings, SystemClock()).backups()), None)
        restore = (
            f"stop ttai's jobs, then `ttai restore {latest}` (the newest backup)"
            if latest
            else "stop ttai's jobs, then `ttai restore FILE` with a backup"
        )
        recovered = path.with_name(f"{path.stem}-recovered.db")
        return (
            f"{restore}; or salvage what is readable: `sqlite3 {path} .recover | sqlite3 "
            f'{recovered}`; if .recover fails (Debian\'s sqlite3: "SQL logic error" or '
            f'"no such table: sqlite_dbpage"; {recovered.name} is then empty): `sqlite3 '
            f"{path} .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 "
            f"{recovered}`; then `ttai restore {recovered}` (README: When the database is "
            "damaged)"
        )

    def _backups(self) -> list[Check]:
        from ttai_cli.services.backup import BackupService

        found = BackupService(self.settings, SystemClock()).backups()
        if not found:
            return [
                Check(
                    "backups",
                    INFO,
                    "none yet: `ttai backup` makes one (the daemon keeps one a day, 7 days)",
                )
            ]
        newest = found[0]
        return [
            Check(
                "backups",
                INFO,
                f"{len(found)} in {newest.parent}, newest {newest.name}",
            )
        ]

    def _file_config(self) -> list[Check]:
        """The effective config.toml values (URLs redacted) and where each came from."""
        config = self.settings.file
        sources = config.sources

        def origin(key: str) -> str:
            return f" ({sources[key]})" if key in sources else " (default)"

        checks = [
            Check(
                "config",
                INFO,
                str(config.path) if config.path else "no config.toml (defaults; see --config)",
            )
        ]
        from ttai_cli.services.notifications import unreachable_routes, url_variable

        unreachable: dict[str, list[str]] = {}
        for route_key, backend in unreachable_routes(self.settings):
            unreachable.setdefault(route_key, []).append(backend)
        muted = self.settings.notification_backends == ("none",)
        for kind, backends in config.routes.items():
            key = f"notify.routes.{kind}"
            shown = ", ".join(backends) or "none (stored, not sent)"
            if muted:
                checks.append(
                    Check(
                        "route",
                        INFO,
                        f"{kind} -> {shown}{origin(key)}; muted by TTAI_NOTIFICATION_BACKEND=none",
                    )
                )
            elif key in unreachable:
                missing = ", ".join(url_variable(b) for b in unreachable[key])
                checks.append(
                    Check(
                        "route",
                        WARN,
                        f"{kind} -> {shown}{origin(key)}: points nowhere, {missing} not set "
                        "(jobs that notify, `notify flush|test|send|retry` exit 2 until it is)",
                    )
                )
            else:
                checks.append(Check("route", INFO, f"{kind} -> {shown}{origin(key)}"))
        if config.quiet_hours is None:
            checks.append(Check("quiet hours", INFO, "none" + origin("notify.quiet_hours")))
        else:
            allowed = ", ".join(sorted(config.quiet_allow)) or "nothing"
            checks.append(
                Check(
                    "quiet hours",
                    INFO,
                    f"{config.quiet_hours} New York{origin('notify.quiet_hours')}; "
                    f"allowed through: {allowed}{origin('notify.quiet_allow')}",
                )
            )
        for job, url in config.job_pings.items():
            checks.append(
                Check("ping", INFO, f"{job} -> {redact_url(url)}" + origin(f"jobs.{job}.ping"))
            )
        manage = config.manage
        checks.append(
            Check(
                "manage",
                INFO,
                f"profit target {manage.profit_target}%{origin('manage.profit_target')}, "
                f"manage at {manage.manage_dte} DTE{origin('manage.manage_dte')}, "
                f"tested within {manage.tested_within}%{origin('manage.tested_within')}",
            )
        )
        checks.append(Check("ask", INFO, self._ask(origin)))
        return checks

    def _ask(self, origin: Callable[[str], str]) -> str:
        """`ttai ask`: its model, whether llm is installed (looked up, not imported: that
        takes a second), and the daemon's `[ask.NAME]` jobs."""
        import importlib.util

        config = self.settings.file
        if self.settings.model:
            model = f"model {self.settings.model} (TTAI_MODEL)"
        elif config.ask_model:
            model = f"model {config.ask_model}{origin('ask.model')}"
        else:
            model = "llm's default model"
        installed = importlib.util.find_spec("llm") is not None
        text = model + (
            "; llm installed" if installed else "; llm not installed (pip install 'ttai-cli[ai]')"
        )
        if config.ask_jobs:
            text += "; daemon jobs: " + ", ".join(
                # a --ping URL there (refused when the daemon builds the job) is a secret
                f"ask:{job.name} ({redact_urls(job.schedule)})"
                for job in config.ask_jobs.values()
            )
        return text

    def _jobs_and_calendar(self, store: Store) -> list[Check]:
        from datetime import date, timedelta

        from ttai_cli.market.calendar import MarketCalendar
        from ttai_cli.store.jobs import JobsRepository

        checks = []
        statuses = JobsRepository(store).statuses(datetime.now(NEW_YORK))
        running = [
            f"{j.job} (pid {j.running_pid}{', STALLED' if j.state == 'stalled' else ''})"
            for j in statuses
            if j.running_pid
        ]
        stalled = any(j.state == "stalled" for j in statuses)
        paused = [j.job for j in statuses if j.paused]
        detail = "running: " + (", ".join(running) if running else "none")
        if paused:
            detail += "; paused: " + ", ".join(paused)
        checks.append(Check("jobs", WARN if stalled else INFO, detail))
        calendar = MarketCalendar(store)
        coverage = calendar.coverage()
        if coverage is None:
            checks.append(
                Check("calendar", INFO, "NYSE calendar not cached yet (filled on first use)")
            )
        else:
            soon = coverage[1] < date.today() + timedelta(days=60)
            checks.append(
                Check(
                    "calendar",
                    WARN if soon else OK,
                    f"NYSE sessions cached {coverage[0]} to {coverage[1]} "
                    f"(pandas_market_calendars {calendar.source()}; extended automatically)",
                )
            )
        return checks

    @staticmethod
    def _outbox(store: Store) -> list[Check]:
        """A warning while notifications that failed for good wait in the outbox."""
        from ttai_cli.store.outbox import Outbox

        failed = Outbox(store).failed_counts()
        if not failed:
            return []
        total = sum(failed.values())
        where = ", ".join(f"{d}: {n}" for d, n in failed.items())
        return [
            Check(
                "outbox",
                WARN,
                f"{total} notification{'' if total == 1 else 's'} failed for good ({where}); "
                "fix the destination, then `ttai notify retry --failed` "
                "(or `ttai notify drop --failed`)",
            )
        ]

    async def destinations_check(self) -> list[Check]:
        """TCP reachability of each destination's host (no message is sent)."""
        import asyncio
        from urllib.parse import urlsplit

        results = []
        for name, secret in self.settings.destination_urls().items():
            if secret is None or name == "apprise":
                continue
            url = secret.reveal()
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(parts.hostname, port), timeout=5
                )
                writer.close()
                results.append(Check(f"{name} reach", OK, f"{redact_url(url)} reachable"))
            except (OSError, TimeoutError) as exc:
                reason = (
                    "timed out"
                    if isinstance(exc, TimeoutError)
                    else (exc.strerror or exc.__class__.__name__)
                )
                results.append(
                    Check(f"{name} reach", FAIL, f"{redact_url(url)} unreachable ({reason})")
                )
        return results

    async def api_check(self) -> Check:
        try:
            async with self.open_broker() as broker:
                accounts = await broker.accounts()
        except TtaiError as exc:
            return Check("api", FAIL, str(exc))
        numbers = ", ".join(a.account_number for a in accounts) or "none"
        return Check("api", OK, f"logged in; accounts: {numbers}")
