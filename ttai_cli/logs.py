"""Logging to stderr, as text or JSON, with every known secret redacted.

Secrets are registered as they are read (`ttai_cli.config`); the formatters redact the
finished line, so a secret is masked whatever logger, library or exception message
carried it. URLs of notification destinations are registered too (they embed tokens).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime
from typing import Any

LOGGER_NAME = "ttai"
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask `value` in every log line and error message from now on."""
    if len(value) >= 4:  # a 1-3 character "secret" would mask ordinary words
        _secrets.add(value)


def register_url(url: str) -> None:
    """Mask a destination URL in full and, on their own, its password and the parts that
    look like keys (`redaction.url_secrets`): libraries log paths without the host, but
    a readable word such as an ntfy topic `ttai` stays readable in every other line."""
    from ttai_cli.redaction import url_secrets

    for piece in url_secrets(url):
        register_secret(piece)


# Tokens minted while running (OAuth access tokens, DXLink quote tokens) are never
# registered, and the SDK's debug log prints them in its messages: mask them by shape.
_TOKEN_SHAPES = re.compile(
    r"""(Bearer\s+|['"](?:auth-token|token|access_token|session-token)['"]\s*:\s*['"](?:Bearer\s+)?)[^'"\s,}]+"""
)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***` (longest first), and
    anything shaped like a bearer or streamer token too."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    if "oken" in text or "Bearer" in text:
        text = _TOKEN_SHAPES.sub(lambda m: m.group(1) + "***", text)
    return text


def _new_york(record: logging.LogRecord) -> datetime:
    # the times users schedule and read are New York's, whatever the machine's zone
    from ttai_cli.clock import NEW_YORK

    return datetime.fromtimestamp(record.created, NEW_YORK)


class RedactingFormatter(logging.Formatter):
    """Plain text lines, stamped in New York time with its zone; the whole formatted
    record (traceback included) is redacted."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _new_york(record).strftime(datefmt or "%Y-%m-%d %H:%M:%S %Z")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": _new_york(record).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("job", "slot", "event"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


class LibraryFilter(logging.Filter):
    """Let ttai's own records through at the configured level, but other libraries'
    only from `min_level` up. (A handler filter, because some libraries, the SDK
    among them, reset their logger's level when imported.)"""

    def __init__(self, min_level: int) -> None:
        super().__init__()
        self.min_level = min_level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == LOGGER_NAME or record.name.startswith(LOGGER_NAME + "."):
            return True
        return record.levelno >= self.min_level


def setup(*, verbose: int = 0, quiet: bool = False, fmt: str = "text") -> None:
    """Configure the `ttai` logger once per process: stderr only, never stdout."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            RedactingFormatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S %Z"
            )
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    handler.addFilter(LibraryFilter(logging.DEBUG if verbose >= 2 else logging.WARNING))


def get(name: str) -> logging.Logger:
    """A logger under the `ttai` namespace (`get("sync")` -> `ttai.sync`)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
