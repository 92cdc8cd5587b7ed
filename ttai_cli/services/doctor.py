"""`ttai doctor`: what is configured, what works, and what to fix.

Secrets are reported only as set / not set; destination URLs only in redacted form.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from ttai_cli import __version__
from ttai_cli.broker.models import Broker
from ttai_cli.config import Secret, Settings, ensure_home
from ttai_cli.errors import TtaiError
from ttai_cli.redaction import redact_url
from ttai_cli.store import open_store

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
        try:
            ensure_home(s)
            with open_store(s.database_path) as store:
                integrity = store.integrity_ok()
                applied = len(store.applied_migrations())
            mode = stat.S_IMODE(os.stat(s.database_path).st_mode)
            checks.append(
                Check(
                    "database",
                    OK if integrity and not mode & 0o077 else FAIL,
                    f"{s.database_path} (integrity {'ok' if integrity else 'FAILED'}, "
                    f"{applied} migrations, mode {mode:o})",
                )
            )
        except TtaiError as exc:
            checks.append(Check("database", FAIL, str(exc)))
        destinations = {
            "TTAI_WEBHOOK_URL": s.webhook_url,
            "TTAI_SLACK_WEBHOOK_URL": s.slack_webhook_url,
            "TTAI_DISCORD_WEBHOOK_URL": s.discord_webhook_url,
            "TTAI_NTFY_URL": s.ntfy_url,
        }
        configured = [
            f"{name}={redact_url(url.reveal())}" for name, url in destinations.items() if url
        ]
        checks.append(
            Check(
                "notifications",
                INFO,
                f"backends {','.join(s.notification_backends)}; "
                + ("; ".join(configured) if configured else "no destination URL set"),
            )
        )
        return checks

    async def api_check(self) -> Check:
        try:
            async with self.open_broker() as broker:
                accounts = await broker.accounts()
        except TtaiError as exc:
            return Check("api", FAIL, str(exc))
        numbers = ", ".join(a.account_number for a in accounts) or "none"
        return Check("api", OK, f"logged in; accounts: {numbers}")
