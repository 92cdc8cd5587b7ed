"""A scripted language model behind an OpenAI-compatible `/v1/chat/completions`.

`ttai ask` talks to models through the `llm` library; this server lets the demo and the
tests go through that very path (llm's OpenAI chat model, the `openai` client, a real
local socket) with no model and no network:

- `ScriptedModel(script, default)` answers each request with the next `Turn` of its
  script (a `Turn`, or a function of the request's messages that returns one), then
  with `default` forever (none: a plain "done." answer). A turn is text, tool calls,
  an error status (with `retry-after-ms`, so the client's own retries stay quick), or a
  delay. Every request body is kept (`requests`): the tests look for secrets in them.
- `demo_model()` is the demo's model: it asks for the account's figures through ttai's
  tools, then writes a short report from what the tools returned, and says that it is
  the scripted demo model, not a language model.
- `serve_model(model)` serves it on 127.0.0.1 (port 0: a free one) from a thread.

Token counts are estimated as llm's providers would count them, roughly: one token per
four characters of the request (messages and tool definitions) and of the answer.
Answers are never streamed (`ttai ask` does not ask for a stream); a request with
`"stream": true` gets the same answer as server-sent events.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEMO_MODEL_ID = "ttai-demo"
CHARS_PER_TOKEN = 4


@dataclass
class Turn:
    """One answer of the model: `text`, and/or tool calls as (name, arguments); or an
    error `status` (the body says why); `delay` seconds before answering."""

    text: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    error: str = "Simulated model failure"


Step = Turn | Callable[[list[dict[str, Any]]], Turn]


def tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def tool_results(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest result of each tool in `messages` (OpenAI `tool` messages, matched to
    the assistant's calls by id), parsed as JSON where it is JSON."""
    names: dict[str, str] = {}
    results: dict[str, Any] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[call.get("id", "")] = call.get("function", {}).get("name", "")
        if message.get("role") == "tool":
            name = names.get(message.get("tool_call_id", ""), "")
            content = message.get("content")
            try:
                results[name] = json.loads(content) if isinstance(content, str) else content
            except ValueError:
                results[name] = content
    return results


class ScriptedModel:
    """The model's side of the conversation: see the module docstring."""

    def __init__(
        self,
        script: list[Step] | None = None,
        default: Step | None = None,
        model_id: str = "scripted",
    ) -> None:
        self.script: list[Step] = list(script or [])
        self.default = default
        self.model_id = model_id
        self.requests: list[dict[str, Any]] = []  # every request body, parsed
        self.raw: list[bytes] = []  # and as it arrived
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def next_turn(self, messages: list[dict[str, Any]]) -> Turn:
        with self._lock:
            step = self.script.pop(0) if self.script else self.default
        if step is None:
            return Turn(text="done.")
        return step(messages) if callable(step) else step

    def answer(self, body: bytes) -> tuple[int, dict[str, str], bytes, float]:
        """(status, headers, body, delay) for one POST to /v1/chat/completions."""
        with self._lock:
            self.raw.append(body)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "the body is not JSON")
        with self._lock:
            self.requests.append(request)
        messages = request.get("messages") or []
        turn = self.next_turn(messages)
        if turn.status != 200:
            status, headers, payload, _ = _error(turn.status, turn.error)
            return status, headers, payload, turn.delay
        number = next(self._ids)
        calls = [
            {
                "id": f"call_{number}_{index}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for index, (name, arguments) in enumerate(turn.tool_calls)
        ]
        message: dict[str, Any] = {"role": "assistant", "content": turn.text}
        if calls:
            message["tool_calls"] = calls
        prompt_tokens = tokens(json.dumps(messages) + json.dumps(request.get("tools") or []))
        completion_tokens = tokens((turn.text or "") + (json.dumps(calls) if calls else ""))
        completion = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model") or self.model_id,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        if request.get("stream"):
            return 200, {"Content-Type": "text/event-stream"}, _events(completion), turn.delay
        payload = json.dumps(completion).encode()
        return 200, {"Content-Type": "application/json"}, payload, turn.delay


def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes, float]:
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": status}})
    # the openai client waits this long before a retry: tests of "failing after its
    # retries" take milliseconds, not the default backoff
    return status, {"Content-Type": "application/json", "retry-after-ms": "1"}, body.encode(), 0.0


def _events(completion: dict[str, Any]) -> bytes:
    """The completion as one chunk of server-sent events, then the usage, then [DONE]."""
    choice = completion["choices"][0]
    message = choice["message"]
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    base = {k: completion[k] for k in ("id", "created", "model")}
    chunks = [
        {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": choice["finish_reason"]}],
        },
        {**base, "object": "chat.completion.chunk", "choices": [], "usage": completion["usage"]},
    ]
    lines = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


# -- the demo's model ------------------------------------------------------------------------
DEMO_TOOLS = (
    "account_summary",
    "positions",
    "strategies",
    "risk",
    "market_status",
    "upcoming_events",
    "alerts",
)


def demo_model() -> ScriptedModel:
    """The demo's scripted model: first it calls the read-only tools a portfolio check
    needs (all at once), then it answers from their results."""

    def turn(messages: list[dict[str, Any]]) -> Turn:
        results = tool_results(messages)
        if not results:
            return Turn(tool_calls=[(name, {}) for name in DEMO_TOOLS])
        return Turn(text=demo_report(results))

    return ScriptedModel(default=turn, model_id=DEMO_MODEL_ID)


def _money(value: Any, signed: bool = False) -> str:
    if not isinstance(value, int | float):
        return "—"
    sign = "-" if value < 0 else "+" if signed and value > 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _rows(table: Any) -> list[dict[str, Any]]:
    """A tool's `{"columns": [...], "rows": [[...]]}` as dicts."""
    if not isinstance(table, dict):
        return []
    columns = table.get("columns") or []
    return [dict(zip(columns, row, strict=False)) for row in table.get("rows") or []]


def demo_report(results: dict[str, Any]) -> str:
    """A short Markdown report from the tools' results, as a model would write it. On
    the strategies it repeats ttai's own to-do lines (the strategies tool's `to_do`,
    under the user's `[manage]`); only a result without them gets its own rough
    reading (tested, 21 days or less, 50 % of max profit or more)."""
    lines = [
        "_Demo model: a scripted stand-in for a language model, offline. It read the "
        "simulated account through ttai's tools; choose a real model with --model._",
        "",
    ]
    summary = results.get("account_summary") or {}
    if isinstance(summary, dict) and "net_liquidating_value" in summary:
        lines.append(
            f"**Account {summary.get('account', '')}**: net liquidating value "
            f"{_money(summary.get('net_liquidating_value'))}, cash "
            f"{_money(summary.get('cash'))}, buying power used "
            f"{summary.get('buying_power_used_percent', '—')}%."
        )
    positions = _rows(results.get("positions"))
    priced = [p for p in positions if isinstance(p.get("pnl"), int | float)]
    if positions:
        total = sum(p["pnl"] for p in priced)
        line = f"- {len(positions)} positions, open P&L {_money(total, signed=True)}"
        if priced:
            best = max(priced, key=lambda p: p["pnl"])
            worst = min(priced, key=lambda p: p["pnl"])
            line += (
                f"; best {best['name']} {_money(best['pnl'], signed=True)}, "
                f"worst {worst['name']} {_money(worst['pnl'], signed=True)}"
            )
        lines.append(line + ".")
    risk = results.get("risk") or {}
    if isinstance(risk, dict) and "beta_weighted_delta" in risk:
        lines.append(
            f"- Beta-weighted delta {risk['beta_weighted_delta']:+,.1f} SPY shares, theta "
            f"{_money(risk.get('theta'), signed=True)} a day, vega "
            f"{_money(risk.get('vega'), signed=True)} per IV point."
        )
    strategies = results.get("strategies")
    if isinstance(strategies, dict) and "to_do" in (strategies.get("columns") or []):
        # ttai's own to-do lines, under the user's [manage] settings: what it recommends
        to_do = [s["to_do"] for s in _rows(strategies) if s.get("to_do")]
        lines.extend(f"- To do: {line}" for line in to_do)
        if not to_do:
            lines.append("- Nothing to do on the strategies today (ttai's [manage] rules).")
        strategies = None  # said: not the guesses below
    for strategy in _rows(strategies):
        notes = []
        if strategy.get("tested"):
            notes.append("a short strike is tested")
        dte = strategy.get("dte")
        if isinstance(dte, int) and dte <= 21:
            notes.append(f"{dte} DTE")
        percent = strategy.get("pnl_pct_of_max")
        if isinstance(percent, int | float) and percent >= 50:
            notes.append(f"{percent:.0f}% of max profit")
        if notes:
            lines.append(f"- Watch {strategy.get('name')}: {', '.join(notes)}.")
    events = _rows(results.get("upcoming_events"))
    if events:
        shown = ", ".join(f"{e['symbol']} {e['kind']} {e['date']}" for e in events[:4])
        lines.append(f"- Coming up: {shown}.")
    alerts = _rows(results.get("alerts"))
    if alerts:
        fired = sum(a.get("status") == "triggered" for a in alerts)
        active = sum(a.get("status") == "active" for a in alerts)
        # `11 alerts set, 3 triggered` read as 11 watching: say how many still are
        lines.append(
            f"- {len(alerts)} alert{'s' if len(alerts) != 1 else ''}: "
            f"{active} active, {fired} triggered."
        )
    market = results.get("market_status") or {}
    if isinstance(market, dict) and "open" in market:
        lines.append(
            "- NYSE is open."
            if market["open"]
            else f"- NYSE is closed; next open {market.get('next_open')}."
        )
    errors = [
        name for name, value in results.items() if isinstance(value, dict) and "error" in value
    ]
    if errors:
        lines.append(f"- Not available: {', '.join(errors)}.")
    return "\n".join(lines)


# -- serving ---------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server: _ModelServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0].rstrip("/").endswith("/chat/completions"):
            status, headers, payload, delay = self.server.model.answer(body)
        else:
            status, headers, payload, delay = _error(404, f"no route for {self.path}")
        if delay:
            time.sleep(delay)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], model: ScriptedModel) -> None:
        self.model = model
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], OSError):  # a client that hung up
            return
        super().handle_error(request, client_address)


class RunningModel:
    def __init__(self, server: _ModelServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}/v1"  # what llm's `api_base` wants
        self.model = server.model

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_model(model: ScriptedModel, host: str = "127.0.0.1", port: int = 0) -> RunningModel:
    server = _ModelServer((host, port), model)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sim-model", daemon=True
    )
    thread.start()
    return RunningModel(server, thread)


@contextmanager
def serve_model(model: ScriptedModel, host: str = "127.0.0.1") -> Iterator[RunningModel]:
    running = start_model(model, host)
    try:
        yield running
    finally:
        running.stop()


_demo_server: RunningModel | None = None
_demo_lock = threading.Lock()


def demo_model_server() -> RunningModel:
    """The demo's scripted model, served once per process on 127.0.0.1 (a daemon thread:
    it ends with the process)."""
    global _demo_server
    with _demo_lock:
        if _demo_server is None:
            _demo_server = start_model(demo_model())
        return _demo_server
