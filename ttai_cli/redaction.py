"""Showing destination URLs without their secrets.

Slack and Discord webhook URLs carry their token in the path, an ntfy topic name is
itself the secret, and any URL may hold credentials in its user-info or query. A URL is
therefore shown as scheme and host, well-known path words (`services`, `api`, ...) in
full, and every other path segment cut to its first character:
`https://hooks.slack.com/services/T…/***`.
"""

from __future__ import annotations

import re
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


_WORDS = re.compile(r"[A-Za-z]{1,12}(?:[-_.~][A-Za-z]{1,12})*")


def looks_like_key(piece: str) -> bool:
    """Whether a URL's path segment, query value or user name looks like a key rather
    than a word: 8+ characters mixing letters and digits (a UUID, hex, a push token,
    `urltoken9x7q2w`), 6+ mixing upper and lower case letters and digits (`SeKrIt9`), or
    16+ characters that are not readable words joined by `-`/`_`/`.` (a long base64 or
    random-letter token). `ttai`, `alerts`, `T000`, `v2`, `my-trading-alerts` are not
    keys: masking them would mask that word in every log line."""
    letters = any(c.isalpha() for c in piece)
    digits = any(c.isdigit() for c in piece)
    if letters and digits:
        mixed = any(c.isupper() for c in piece) and any(c.islower() for c in piece)
        if len(piece) >= 8 or (len(piece) >= 6 and mixed):
            return True
    return len(piece) >= 16 and not _WORDS.fullmatch(piece)


# a query parameter by one of these names holds a secret whatever its value looks like
_SECRET_PARAMS = re.compile(r"(?i)(token|key|secret|pass|auth|sig|code|session)")


def url_secrets(url: str) -> list[str]:
    """The strings to mask in logs for a URL that carries a secret: the URL itself always;
    its password and the values of query parameters named like secrets (`token`, `key`,
    `sig` ...); and, on their own (libraries log paths without the host), the path
    segments, query values and user name that look like keys (`looks_like_key`), plus the
    whole path when it holds one. Ordinary words (an ntfy topic `ttai`, Slack's `T000`)
    are never masked alone: that would censor the word in every log line. One rule for
    every URL: notification destinations and ping URLs alike."""
    from urllib.parse import parse_qsl, urlsplit

    pieces = [url.strip()]
    try:
        parts = urlsplit(url.strip())
        user, password = parts.username or "", parts.password or ""
    except ValueError:
        return pieces
    if password:
        pieces.append(password)
    candidates = [user, *(s for s in parts.path.split("/") if s)]
    query = parse_qsl(parts.query)
    candidates += [value for name, value in query if not _SECRET_PARAMS.search(name)]
    keys = [c for c in candidates if c and looks_like_key(c)]
    keys += [value for name, value in query if value and _SECRET_PARAMS.search(name)]
    if any(s for s in parts.path.split("/") if s in keys):
        pieces.append(parts.path.rstrip("/"))
    return pieces + keys


def redact_urls(text: str) -> str:
    """`text` with every http(s) URL in it shown redacted (`redact_url`): for free text a
    user wrote that may hold one, e.g. an `[ask.NAME] schedule` string with `--ping URL`."""
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
