"""Showing destination URLs without their secrets.

Slack and Discord webhook URLs carry their token in the path, an ntfy topic name is
itself the secret, and any URL may hold credentials in its user-info or query. A URL is
therefore shown as scheme and host, well-known path words (`services`, `api`, ...) in
full, and every other path segment cut to its first character:
`https://hooks.slack.com/services/T…/***`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

PUBLIC_SEGMENTS = frozenset({"services", "api", "webhooks", "webhook", "hooks", "hook", "v1", "v2"})


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "***"
    if not parts.scheme or not parts.hostname:
        return "***"
    host = parts.hostname + (f":{port}" if port else "")
    shown: list[str] = []
    hidden = bool(parts.query)
    for segment in (p for p in parts.path.split("/") if p):
        if segment in PUBLIC_SEGMENTS and len(shown) == len(
            [s for s in shown if s in PUBLIC_SEGMENTS]
        ):
            shown.append(segment)
        elif not hidden:
            shown.append(segment[0] + "…")
            hidden = True
        else:
            break
    path = "/" + "/".join(shown) if shown else ""
    return f"{parts.scheme}://{host}{path}" + ("/***" if hidden else "")


def redact_urls(text: str) -> str:
    """`text` with every http(s) URL in it shown redacted (`redact_url`): for free text a
    user wrote that may hold one, e.g. an `[ask.NAME] schedule` string with `--ping URL`."""
    import re

    return re.sub(r"(?i)\bhttps?://[^\s\"']+", lambda m: redact_url(m.group(0)), text)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be posted to (None when it looks deliverable). Never quotes it."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "is not a valid URL (check the port)"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host name"
    return None
