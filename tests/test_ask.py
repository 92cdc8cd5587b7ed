"""`ttai ask`: a language model reads the account through read-only tools (SPEC v4).

Every test goes through the real path: the `llm` library, its OpenAI chat model and the
`openai` client, over a real socket, to a scripted OpenAI-compatible model
(`ttai_cli.simulator.model`), configured the way llm users configure a local server
(`LLM_USER_PATH` with an `extra-openai-models.yaml`). The account is the simulated
tastytrade API over a socket, notifications go to a real local webhook receiver.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_REFRESH, CANARY_SECRET, Result, fill_calendar
from tests.fakes import FakeClock
from tests.receiver import Receiver
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.app import DEMO_ACCOUNT, SimulatedTastytrade
from ttai_cli.simulator.model import RunningModel, ScriptedModel, Turn, serve_model, tool_results
from ttai_cli.simulator.server import RunningServer

SPEC_KEYS = ["answer", "model", "tool_calls", "usage", "started_at", "duration_s"]
PROMPT = "How is my portfolio doing today, and what needs attention?"


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def model_server(model: ScriptedModel) -> Iterator[RunningModel]:
    with serve_model(model) as running:
        yield running


@pytest.fixture
def llm_user_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """llm's own directory for the test, with no keys and no OpenAI key in the
    environment: nothing reaches a real provider."""
    path = tmp_path / "llm"
    path.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(path))
    for name in ("OPENAI_API_KEY", "TTAI_MODEL", "LLM_OPENAI_SHOW_RESPONSES"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def scripted(llm_user_path: Path, model_server: RunningModel) -> RunningModel:
    """The scripted model as llm users add a local OpenAI-compatible server."""
    (llm_user_path / "extra-openai-models.yaml").write_text(
        "- model_id: scripted\n"
        "  model_name: scripted-v1\n"
        f"  api_base: {model_server.url}\n"
        "  supports_tools: true\n"
        "- model_id: no-tools\n"
        "  model_name: no-tools\n"
        f"  api_base: {model_server.url}\n"
    )
    return model_server


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver().start()
    monkeypatch.setenv("TTAI_NOTIFICATION_BACKEND", "webhook")
    monkeypatch.setenv("TTAI_WEBHOOK_URL", f"{r.url}/hook")
    yield r
    r.stop()


@pytest.fixture
def account(
    broker_env: RunningServer, clean_env: Path, nyse_sessions: list[object], scripted: RunningModel
) -> RunningServer:
    """The simulated account over a socket, a home whose calendar is already cached (no
    pandas per test), and the scripted model configured in llm."""
    from ttai_cli.market.calendar import source_version
    from ttai_cli.store import open_store

    clean_env.mkdir(parents=True, exist_ok=True)
    with open_store(clean_env / "ttai.db") as store:
        fill_calendar(store, nyse_sessions, source_version())
    return broker_env


def ask(ttai: Any, *args: str) -> Result:
    result: Result = ttai("-q", "ask", *args)
    return result


def agent_reports(receiver: Receiver) -> list[dict[str, Any]]:
    bodies = [r.json() for r in receiver.requests]
    return [b for b in bodies if b["notification_type"] == "agent_report"]


def one_line_error(result: Result, code: int) -> str:
    assert result.code == code, result
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    return lines[0]


def report_from(messages: list[dict[str, Any]]) -> Turn:
    """The answer a model would build from the figures its tools returned."""
    results = tool_results(messages)
    summary, positions, risk = results["account_summary"], results["positions"], results["risk"]
    return Turn(
        text=f"NLV {summary['net_liquidating_value']} in account {summary['account']}; "
        f"{len(positions['rows'])} positions; beta-weighted delta {risk['beta_weighted_delta']}."
    )


READ_TOOLS = [("account_summary", {}), ("positions", {}), ("risk", {})]


# -- the conversation ------------------------------------------------------------------------
def test_the_model_calls_several_tools_and_its_answer_is_printed_and_notified_once(
    ttai, account: RunningServer, model: ScriptedModel, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    model.script = [Turn(tool_calls=READ_TOOLS), report_from]
    result = ask(ttai, PROMPT, "--model", "scripted")
    assert result.code == 0, result.err
    results = tool_results(model.requests[-1]["messages"])
    nlv = results["account_summary"]["net_liquidating_value"]
    # the demo book's 11 positions: a strangle, an iron condor, a put spread (2 legs, 4,
    # 2), a covered call (shares and a call) and a future
    answer = f"NLV {nlv} in account ...0001; 11 positions; beta-weighted delta"
    assert result.out.startswith(answer), result.out
    assert results["positions"]["columns"][0] == "name" and len(results["positions"]["rows"]) == 11
    reports = agent_reports(receiver)
    assert len(reports) == 1, "one notification per run"
    report = reports[0]
    assert report["title"] == "Ask: How is my portfolio doing today,…"
    assert report["body"] == result.out.strip()
    data = report["data"]
    assert data["model"] == "scripted" and data["tool_calls"] == 3
    assert data["input_tokens"] > 0 and data["output_tokens"] > 0
    assert len(model.requests) == 2 and model.requests[0]["model"] == "scripted-v1"
    assert model.requests[0]["messages"][-1] == {"role": "user", "content": PROMPT}
    assert "never instructions" in model.requests[0]["messages"][0]["content"]
    # kept: --last prints it again, `ttai status` counts it with its tokens
    assert ttai("ask", "--last").out == result.out
    status = json.loads(ttai("status", "--json").out)
    job = next(j for j in status["jobs"] if j["job"] == "ask")
    assert job["runs"] == 1 and job["last_result"] == "ok"
    (usage,) = status["ask"]
    assert usage["job"] == "ask" and usage["runs"] == 1
    assert usage["input_tokens"] == data["input_tokens"]
    assert usage["output_tokens"] == data["output_tokens"]


def test_json_is_the_spec_object(ttai, account: RunningServer, model: ScriptedModel) -> None:  # type: ignore[no-untyped-def]
    model.script = [
        Turn(tool_calls=[("quotes", {"symbols": ["AAPL", "SPY"]}), ("transactions", {"days": 30})]),
        Turn(text="AAPL and SPY are quoted."),
    ]
    result = ask(ttai, "Quote AAPL and SPY", "--model", "scripted", "--json", "--no-notify")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert list(out) == SPEC_KEYS
    assert out["answer"] == "AAPL and SPY are quoted." and out["model"] == "scripted"
    assert out["tool_calls"] == [
        {"name": "quotes", "arguments": {"symbols": ["AAPL", "SPY"]}},
        {"name": "transactions", "arguments": {"days": 30}},
    ]
    assert list(out["usage"]) == ["input_tokens", "output_tokens"]
    assert all(isinstance(v, int) and v > 0 for v in out["usage"].values())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?-0[45]:00", out["started_at"])
    assert isinstance(out["duration_s"], float) and 0 < out["duration_s"] < 30
    assert json.loads(ttai("ask", "--last", "--json").out) == out
    quotes = tool_results(model.requests[-1]["messages"])["quotes"]
    assert [row[0] for row in quotes["rows"]] == ["AAPL", "SPY"]


def test_no_notify_prints_and_notifies_nothing(
    ttai, account: RunningServer, model: ScriptedModel, receiver: Receiver, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.store import open_store

    model.script = [Turn(text="All quiet.")]
    result = ask(ttai, "Anything to do?", "--model", "scripted", "--no-notify")
    assert result.code == 0 and result.out == "All quiet.\n"
    assert receiver.requests == []
    with open_store(clean_env / "ttai.db") as store:
        assert store.db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 0


# -- scheduling ------------------------------------------------------------------------------
SUNDAY = "2026-11-22T10:00"


@pytest.mark.parametrize(
    "schedule",
    [
        ["--hourly", "--market-open"],
        ["--schedule", "9:35am", "--daily", "--days", "mon-fri"],
        ["--cron", "35 9 * * 1-5"],
        ["--every", "30m"],
    ],
    ids=["hourly-at-open", "935-weekdays", "cron", "every"],
)
def test_schedule_options_with_dry_run_make_no_model_call(
    ttai, account: RunningServer, sim: SimulatedTastytrade, model: ScriptedModel, schedule
) -> None:  # type: ignore[no-untyped-def]
    result = ask(ttai, PROMPT, *schedule, "--dry-run", "--now", SUNDAY, "--json")
    assert result.code == 0, result.err
    slots = json.loads(result.out)
    assert len(slots) == 10 and {s["action"] for s in slots} <= {"run", "skip"}
    assert model.requests == [] and sim.history == [], "a dry run asks nobody anything"


def test_a_one_off_runs_whenever_asked_but_repeats_obey_the_market_guard(
    ttai, account: RunningServer
) -> None:  # type: ignore[no-untyped-def]
    once = json.loads(ask(ttai, "x", "--dry-run", "--now", SUNDAY, "--json").out)
    assert [(s["action"], s["reason"]) for s in once] == [
        ("run", "scheduled (not bound to market hours)")
    ]
    hourly = json.loads(ask(ttai, "x", "--hourly", "--dry-run", "--now", SUNDAY, "--json").out)
    assert hourly[0]["action"] == "skip" and "closed" in hourly[0]["reason"]
    ignored = ask(ttai, "x", "--hourly", "--ignore-market-hours", "--dry-run", "--now", SUNDAY)
    assert "skip" not in ignored.out


def test_a_named_ask_is_its_own_job(ttai, account: RunningServer, model: ScriptedModel) -> None:  # type: ignore[no-untyped-def]
    model.script = [Turn(text="first"), Turn(text="second")]
    assert ask(ttai, "a", "--model", "scripted", "--name", "open", "--no-notify").code == 0
    assert ask(ttai, "b", "--model", "scripted", "--no-notify").code == 0
    jobs = {j["job"] for j in json.loads(ttai("status", "--json").out)["jobs"]}
    assert {"ask", "ask:open"} <= jobs
    assert ttai("ask", "--last", "--name", "open").out == "first\n"
    assert ttai("ask", "--last").out == "second\n"
    assert ttai("pause", "ask:open").code == 0
    paused = ask(ttai, "a", "--model", "scripted", "--name", "open")
    assert paused.code == 0 and paused.out == "" and len(model.requests) == 2
    assert one_line_error(ask(ttai, "a", "--name", "no spaces"), 2).startswith("ttai: --name")


def test_ask_pings_like_any_job_from_the_option_or_its_jobs_table(
    ttai, account: RunningServer, model: ScriptedModel, receiver: Receiver, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.cli.ask import daemon_jobs
    from ttai_cli.cli.common import AppState
    from ttai_cli.scheduling.options import ScheduleOptions
    from ttai_cli.services.scheduling import DaemonOptions

    model.script = [Turn(text="first"), Turn(text="second")]
    ping = ("--ping", f"{receiver.url}/ask-check")
    assert ask(ttai, "a", "--model", "scripted", "--no-notify", *ping).code == 0
    (clean_env / "config.toml").write_text(
        f'[jobs."ask:open"]\nping = "{receiver.url}/open-check"\n'
        '[ask.open]\nprompt = "p"\nschedule = "--hourly"\nmodel = "scripted"\n'
    )
    assert ask(ttai, "b", "--model", "scripted", "--no-notify", "--name", "open").code == 0
    assert [r.path for r in receiver.requests] == [
        "/ask-check/start",
        "/ask-check",
        "/open-check/start",
        "/open-check",
    ]
    assert receiver.requests[1].body.decode().startswith("ask: ok in ")
    assert receiver.requests[3].body.decode().startswith("ask:open: ok in ")
    # the daemon's [ask.open] job pings its [jobs."ask:open"] URL too
    state = AppState()
    jobs = daemon_jobs(state, state.job_context())
    urls, _ = state.scheduling().ping_urls(jobs, ScheduleOptions(), DaemonOptions())
    assert urls == {"ask:open": f"{receiver.url}/open-check"}


# -- privacy and safety ----------------------------------------------------------------------
EVERY_TOOL = [
    ("account_summary", {}),
    ("positions", {}),
    ("strategies", {}),
    ("quotes", {"symbols": ["AAPL", "QQQ261204P00465000"]}),
    ("risk", {}),
    ("alerts", {}),
    ("transactions", {"days": 90}),
    ("orders", {"days": 90}),
    ("history", {"days": 30}),
    ("market_status", {}),
    ("market_metrics", {"symbols": ["AAPL", "SPY"]}),
    ("upcoming_events", {}),
]


def test_credentials_and_the_account_number_never_reach_the_model(
    ttai, account: RunningServer, model: ScriptedModel, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    model.script = [Turn(tool_calls=EVERY_TOOL), Turn(text="Read everything.")]
    result = ask(ttai, PROMPT, "--model", "scripted", "--allow-alerts")
    assert result.code == 0, result.err
    assert len(model.raw) == 2
    sent = b"".join(model.raw)
    for secret in (CANARY_SECRET, CANARY_REFRESH, DEMO_ACCOUNT, receiver.url):
        assert secret.encode() not in sent, f"{secret} reached the model"
    results = tool_results(model.requests[-1]["messages"])
    assert set(results) == {name for name, _ in EVERY_TOOL}
    assert not [n for n, r in results.items() if isinstance(r, dict) and "error" in r], results
    assert results["account_summary"]["account"] == "...0001"
    assert results["orders"]["rows"], "the order history is there"
    table = results["market_metrics"]
    metrics = dict(zip(table["columns"], table["rows"][0], strict=True))
    assert metrics["symbol"] == "AAPL" and metrics["liquidity_0_5"] == 4


def test_the_account_number_is_masked_even_in_text_the_broker_wrote(
    ttai, account: RunningServer, sim: SimulatedTastytrade, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    sim.account.deposit(Decimal(500), sim.now() - timedelta(days=1))
    sim.account.transactions[-1]["description"] = f"Transfer from {DEMO_ACCOUNT} savings"
    # side by side, as llm runs a turn's calls: neither answers before the number is known
    calls = [("orders", {"days": 3}), ("transactions", {"days": 3}), ("positions", {})]
    model.script = [Turn(tool_calls=calls), Turn(text="ok")]
    assert ask(ttai, "What moved?", "--model", "scripted", "--no-notify").code == 0
    assert DEMO_ACCOUNT.encode() not in b"".join(model.raw)
    rows = tool_results(model.requests[-1]["messages"])["transactions"]["rows"]
    assert [r[-1] for r in rows if r[1] != "Trade"] == ["Transfer from ...0001 savings"]


def test_the_broker_sees_no_write_request_during_ask(
    ttai, account: RunningServer, sim: SimulatedTastytrade, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    # a model that tries everything, also tools that would trade if they existed
    model.script = [
        Turn(tool_calls=[*EVERY_TOOL, ("place_order", {"symbol": "AAPL", "quantity": 100})]),
        Turn(tool_calls=[("cancel_order", {"id": 1}), ("add_alert", {"type": "x"})]),
        Turn(text="done"),
    ]
    result = ask(
        ttai, "Sell everything now", "--model", "scripted", "--no-notify", "--max-tool-calls", "20"
    )
    assert result.code == 0, result.err
    assert sim.history, "the tools read the account"
    writes = [(e.method, e.path) for e in sim.history if e.method != "GET"]
    assert set(writes) <= {("POST", "/oauth/token")}, writes  # logging in is the only POST
    assert not any("/orders" in path for method, path in writes)
    results = tool_results(model.requests[-1]["messages"])
    for name in ("place_order", "cancel_order", "add_alert"):  # no such tool (no --allow-alerts)
        assert "does not exist" in results[name], results[name]


def test_the_tool_set_is_exactly_the_listed_read_only_tools(
    ttai, account: RunningServer, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.ask.tools import ALERT_TOOLS, READ_ONLY_TOOLS

    assert READ_ONLY_TOOLS == (
        "account_summary",
        "positions",
        "strategies",
        "quotes",
        "risk",
        "alerts",
        "transactions",
        "orders",
        "history",
        "market_status",
        "market_metrics",
        "upcoming_events",
    )
    assert ALERT_TOOLS == ("add_alert", "remove_alert")
    model.script = [Turn(text="a"), Turn(text="b")]
    assert ask(ttai, "x", "--model", "scripted", "--no-notify").code == 0
    assert ask(ttai, "x", "--model", "scripted", "--no-notify", "--allow-alerts").code == 0
    offered = [[t["function"]["name"] for t in r["tools"]] for r in model.requests]
    assert offered == [list(READ_ONLY_TOOLS), [*READ_ONLY_TOOLS, *ALERT_TOOLS]]


def test_no_code_of_ttai_names_an_order_writing_call() -> None:
    """Structural: nothing in the package calls the SDK's order-writing methods, and the
    broker layer and `ask` send nothing but reads, so no code path from `ask` can place,
    change or cancel an order."""
    import ttai_cli

    root = Path(ttai_cli.__file__).parent
    sdk_writes = re.compile(
        r"place_order|place_complex_order|replace_order|delete_order|delete_complex_order"
    )
    http_writes = re.compile(r"\.(post|put|delete|patch)\(|_(post|put|delete|patch)\(")
    hits = []
    for path in root.rglob("*.py"):
        if "simulator" in path.parts:
            continue
        reads_only = path.parent.name in ("ask", "broker")
        for line in path.read_text().splitlines():
            if sdk_writes.search(line) or (reads_only and http_writes.search(line)):
                hits.append(f"{path.relative_to(root)}: {line.strip()}")
    assert hits == []


def test_allow_alerts_adds_and_removes_ttai_alerts_only(
    ttai, account: RunningServer, sim: SimulatedTastytrade, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    model.script = [
        Turn(
            tool_calls=[
                (
                    "add_alert",
                    {"symbol": "AAPL", "type": "price", "condition": "above", "threshold": 300},
                ),
                ("add_alert", {"type": "bp-usage", "condition": "above", "threshold": 60}),
                (
                    "add_alert",
                    {"symbol": "AAPL", "type": "price", "condition": "sideways", "threshold": 1},
                ),
            ]
        ),
        Turn(tool_calls=[("remove_alert", {"id": 2}), ("remove_alert", {"id": 99})]),
        Turn(text="Alert set at $300."),
    ]
    result = ask(ttai, "Watch AAPL at 300", "--model", "scripted", "--allow-alerts", "--no-notify")
    assert result.code == 0, result.err
    alerts = json.loads(ttai("alerts", "list", "--json").out)
    assert [(a["id"], a["symbol"], a["threshold"]) for a in alerts] == [(1, "AAPL", 300.0)]
    answers = [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert json.loads(answers[0]) == {"added": 1, "symbol": "AAPL"}
    assert "error" in json.loads(answers[2])
    removed = [m["content"] for m in model.requests[2]["messages"] if m["role"] == "tool"][-2:]
    assert json.loads(removed[0]) == {"removed": 2}
    assert json.loads(removed[1]) == {"error": "no alert with id 99"}
    assert all(e.method == "GET" or e.path == "/oauth/token" for e in sim.history)


# -- failures --------------------------------------------------------------------------------
def test_a_tool_that_fails_gives_the_model_an_error_result(
    ttai, account: RunningServer, sim: SimulatedTastytrade, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    sim.faults.add("malformed", f"/accounts/{DEMO_ACCOUNT}/balances", times=10)
    model.script = [
        Turn(
            tool_calls=[
                ("account_summary", {}),
                ("quotes", {"symbols": ["ZZZZ"]}),
                ("history", {"days": "many"}),
                ("market_status", {}),
            ]
        ),
        lambda messages: Turn(text=json.dumps(tool_results(messages))),
    ]
    result = ask(ttai, PROMPT, "--model", "scripted", "--no-notify")
    assert result.code == 0, result.err
    seen = json.loads(result.out)
    assert "cannot read" in seen["account_summary"]["error"]
    assert seen["quotes"]["rows"] == [] and seen["quotes"]["unknown"] == ["ZZZZ"]
    assert "days must be" in seen["history"]["error"]
    assert seen["market_status"]["open"] in (True, False), "the other tools still answered"


def test_a_tool_whose_request_fails_does_not_fail_the_tools_beside_it(
    ttai, account: RunningServer, sim: SimulatedTastytrade, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    """The tool calls of one answer run side by side on the process's one broker. One that
    failed (balances answering broken JSON) had the broker dropped and closed at once,
    under the others' requests still on the wire: a quote request was cut, and failed the
    quotes tool when its retries failed too ("cannot reach tastytrade ... (ReadError)",
    now and then). The broker is now closed only once nobody uses it: the slow quote
    request is answered, once."""
    sim.faults.add("malformed", f"/accounts/{DEMO_ACCOUNT}/balances", times=10)
    sim.faults.add("slow", "/market-data", delay=0.5, times=5)
    model.script = [
        Turn(tool_calls=[("account_summary", {}), ("quotes", {"symbols": ["SPY"]})]),
        lambda messages: Turn(text=json.dumps(tool_results(messages))),
    ]
    result = ask(ttai, PROMPT, "--model", "scripted", "--no-notify")
    assert result.code == 0, result.err
    seen = json.loads(result.out)
    assert "cannot read" in seen["account_summary"]["error"]
    assert "error" not in seen["quotes"], seen["quotes"]
    assert len(seen["quotes"]["rows"]) == 1
    asked = [e for e in sim.history if e.path.startswith("/market-data")]
    assert len(asked) == 1, "the quote request was not cut and sent again"


def test_max_tool_calls_stops_a_model_that_never_stops_calling_tools(
    ttai, account: RunningServer, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    model.default = Turn(text="Let me look again.", tool_calls=[("market_status", {})])
    result = ttai(
        "ask", PROMPT, "--model", "scripted", "--max-tool-calls", "3", "--json", "--no-notify"
    )
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert [c["name"] for c in out["tool_calls"]] == ["market_status"] * 3
    assert out["answer"] == "Let me look again."
    # 3 calls run, a 4th refused with the reason, and when the model asks yet again it
    # is not asked any more
    assert len(model.requests) == 5
    refused = [m["content"] for m in model.requests[4]["messages"] if m["role"] == "tool"][-1]
    assert "limit of 3 tool calls is reached" in refused
    assert "stopped at the 3-tool-call limit" in result.err


def test_the_model_api_failing_after_its_retries_is_exit_1_one_line(
    ttai, account: RunningServer, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    model.default = Turn(status=500, error="upstream overloaded")
    line = one_line_error(ask(ttai, PROMPT, "--model", "scripted", "--no-notify"), 1)
    assert "model 'scripted' failed" in line and "500" in line, line
    assert len(model.requests) == 3, "the client's own retries, then one line"


def test_a_slow_model_is_cut_at_the_time_limit_at_once(
    ttai, account: RunningServer, model: ScriptedModel, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    import time

    model.default = Turn(text="too late", delay=3.0)
    started = time.monotonic()
    result = ask(ttai, PROMPT, "--model", "scripted", "--timeout", "300ms")
    assert time.monotonic() - started < 2.5, "no grace period spent waiting for the model"
    line = one_line_error(result, 1)
    assert "timeout" in line and "0.3s" in line, line
    assert result.out == "" and agent_reports(receiver) == []
    assert json.loads(ttai("ask", "--last", "--json").out) is None, "nothing kept"


@pytest.mark.parametrize("cut", [False, True], ids=["answered", "cut-at-the-time-limit"])
def test_an_ask_closes_the_model_api_clients_it_used(
    cut: bool, ttai, account: RunningServer, model: ScriptedModel, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    """llm's OpenAI model makes an API client for each request and never closes it; it sits
    in a reference cycle until the garbage collector frees it, at any later moment, and its
    `__del__` then schedules its close on whatever event loop runs: in a later
    `asyncio.run`, on connections of a closed loop ("Task exception was never retrieved
    ... Event loop is closed": the slow-model test failing now and then). With the
    collector held off, no client of the run may be left open, whichever way it ends."""
    import gc

    import openai

    def open_clients() -> list[object]:
        return [
            o for o in gc.get_objects() if isinstance(o, openai.AsyncOpenAI) and not o.is_closed()
        ]

    gc.collect()
    before = len(open_clients())
    gc.disable()
    try:
        if cut:
            model.default = Turn(text="too late", delay=3.0)
            result = ask(ttai, PROMPT, "--model", "scripted", "--timeout", "300ms")
            assert result.code == 1
        else:
            model.script = [Turn(tool_calls=[("account_summary", {})]), Turn(text="fine")]
            result = ask(ttai, PROMPT, "--model", "scripted", "--no-notify")
            assert result.code == 0, result.err
        assert len(model.requests) == (1 if cut else 2)
        assert len(open_clients()) == before, "a model API client was left open"
    finally:
        gc.enable()
    assert "Task exception" not in result.err and "Traceback" not in result.err


def test_a_second_process_leaves_a_running_ask_alone(
    ttai, account: RunningServer, model: ScriptedModel, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.scheduling.locks import JobLock

    lock = JobLock(clean_env / "locks", "ask:open")
    assert lock.acquire()
    try:
        result = ttai("ask", PROMPT, "--model", "scripted", "--name", "open")
    finally:
        lock.release()
    assert result.code == 0 and result.out == "" and "already running" in result.err
    assert model.requests == []


def test_a_loop_notifies_one_error_for_a_failing_model_and_goes_on(
    store,
    sim: SimulatedTastytrade,
    sim_server: RunningServer,
    scripted: RunningModel,
    model: ScriptedModel,
    clean_env: Path,
    receiver: Receiver,
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.ask.job import AskJob, AskSettings
    from ttai_cli.ask.models import ModelChoice, resolve_model
    from ttai_cli.broker.tastytrade import TastytradeBroker
    from ttai_cli.config import Secret, load_settings
    from ttai_cli.jobs.context import JobContext
    from ttai_cli.scheduling.options import ScheduleOptions
    from ttai_cli.services.scheduling import SchedulingService

    clock = FakeClock(datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK))
    sim.now = clock.now
    settings = load_settings(
        environ={
            "TTAI_HOME": str(clean_env),
            "TTAI_NOTIFICATION_BACKEND": "webhook",
            "TTAI_WEBHOOK_URL": f"{receiver.url}/hook",
        }
    )
    model.script = [Turn(status=500)] * 9  # three runs, each 1 + 2 retries
    model.default = Turn(text="Back to normal.")

    def broker() -> TastytradeBroker:
        return TastytradeBroker(
            client_secret=Secret(CANARY_SECRET),
            refresh_token=Secret(CANARY_REFRESH),
            base_url=sim_server.url,
        )

    job = AskJob(
        JobContext(settings, store, clock, broker),
        AskSettings("Summary please"),
        resolve_model(ModelChoice("scripted", "--model")),
    )
    service = SchedulingService(settings, clock, store=store)
    options = ScheduleOptions(every=timedelta(hours=1), max_runs=4, ignore_market_hours=True)
    code = asyncio.run(service.run_jobs([job], options, stop=asyncio.Event(), max_chunk=3600))
    assert code == 0, "the last run worked"
    kinds = [(b["notification_type"], b["title"]) for b in (r.json() for r in receiver.requests)]
    assert kinds == [
        ("error", "ttai ask keeps failing"),
        ("info", "ttai ask works again"),
        ("agent_report", "Ask: Summary please"),
    ] or kinds == [
        ("error", "ttai ask keeps failing"),
        ("agent_report", "Ask: Summary please"),
        ("info", "ttai ask works again"),
    ]


def test_llm_not_installed_is_exit_2_saying_what_to_install(
    account: RunningServer, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    """A fresh interpreter in which `import llm` fails, as it does without the extra: a
    meta-path finder refuses it (ttai's own code is not touched)."""
    code = (
        "import sys\n"
        "class NoLlm:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'llm' or name.startswith('llm.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'llm'\", name='llm')\n"
        "sys.meta_path.insert(0, NoLlm())\n"
        "from ttai_cli.app import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def run(*args: str) -> Result:
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    line = one_line_error(run("ask", PROMPT), 2)
    assert line == (
        "ttai: `ttai ask` needs the llm library, which is not installed: pip install 'ttai-cli[ai]'"
    )
    assert one_line_error(run("--demo", "ask", PROMPT), 2) == line
    preview = run("ask", PROMPT, "--hourly", "--dry-run", "--now", SUNDAY)
    assert preview.code == 0, "a dry run needs no llm"


def test_an_unknown_model_is_exit_2_pointing_at_llm_models(
    ttai, account: RunningServer, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(ask(ttai, PROMPT, "--model", "gpt-99-imaginary"), 2)
    assert "unknown model 'gpt-99-imaginary' (--model)" in line and "`llm models`" in line
    no_tools = one_line_error(ask(ttai, PROMPT, "--model", "no-tools"), 2)
    assert "cannot call tools" in no_tools and "supports_tools: true" in no_tools
    assert model.requests == []


def test_a_missing_key_is_exit_2_saying_llm_keys_set(
    ttai, account: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(ask(ttai, PROMPT, "--model", "gpt-4o-mini"), 2)
    assert "needs an API key: run `llm keys set openai` (or set OPENAI_API_KEY)" in line
    monkeypatch.setenv("TTAI_MODEL", "gpt-4o-mini")  # the environment's choice, same check
    assert "llm keys set openai" in one_line_error(ask(ttai, PROMPT), 2)


def test_missing_tastytrade_credentials_are_exit_2_before_any_model(
    ttai, scripted: RunningModel, model: ScriptedModel
) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(ask(ttai, PROMPT, "--model", "scripted"), 2)
    assert "TASTYTRADE_CLIENT_SECRET and TASTYTRADE_REFRESH_TOKEN not set" in line
    assert model.requests == []


def test_empty_instructions_are_exit_2(ttai, account: RunningServer) -> None:  # type: ignore[no-untyped-def]
    assert "give the instructions" in one_line_error(ask(ttai, "  "), 2)
    assert "give the instructions" in one_line_error(ask(ttai), 2)
    assert "--max-tool-calls" in one_line_error(ask(ttai, "x", "--max-tool-calls", "0"), 2)
    assert "--last" in one_line_error(ask(ttai, "x", "--last"), 2)


# -- models: the choice --------------------------------------------------------------------------
def test_the_model_is_the_option_then_ttai_model_then_config_then_llms_default(
    ttai,
    account: RunningServer,
    model: ScriptedModel,
    llm_user_path: Path,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    model.default = Turn(text="ok")
    (llm_user_path / "default_model.txt").write_text("scripted")
    (clean_env / "config.toml").write_text('[ask]\nmodel = "gpt-99-from-config"\n')
    assert "gpt-99-from-config" in one_line_error(ask(ttai, "x"), 2)
    monkeypatch.setenv("TTAI_MODEL", "gpt-99-from-env")
    assert "gpt-99-from-env" in one_line_error(ask(ttai, "x"), 2)
    assert ask(ttai, "x", "--model", "scripted", "--no-notify").code == 0
    monkeypatch.delenv("TTAI_MODEL")
    (clean_env / "config.toml").write_text("")
    assert ask(ttai, "x", "--no-notify").code == 0, "llm's default model"
    assert len(model.requests) == 2


# -- the daemon's [ask.NAME] jobs ------------------------------------------------------------
def test_config_ask_tables_become_daemon_jobs_with_their_own_schedule(
    account: RunningServer, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.cli.ask import daemon_jobs
    from ttai_cli.cli.common import AppState
    from ttai_cli.scheduling.options import ScheduleOptions
    from ttai_cli.services.scheduling import DaemonOptions

    (clean_env / "config.toml").write_text(
        '[ask]\nmodel = "scripted"\n'
        '[ask.open]\nprompt = "Check my portfolio and send me a summary"\n'
        'schedule = "--hourly --market-open"\n'
        '[ask.brief]\nprompt = "Pre-market brief"\nschedule = "--schedule 9:35am --daily --days mon-fri"\n'
    )
    saturday = datetime(2026, 11, 21, 9, 35, tzinfo=NEW_YORK)
    state = AppState(_clock=FakeClock(saturday))
    jobs = daemon_jobs(state, state.job_context())
    assert [j.name for j in jobs] == ["ask:open", "ask:brief"]
    service = state.scheduling()
    monday = datetime(2026, 11, 23, 9, 35, tzinfo=NEW_YORK)
    slots = {}
    for job in jobs:
        assert job.market_aware and job.model.model_id == "scripted"
        schedule = service.schedule_for(job, ScheduleOptions(), saturday, DaemonOptions())
        policy = service.policy(job, ScheduleOptions(), live=False)
        slots[job.name] = schedule.first(saturday)
        assert policy.decide(monday).run
        assert not policy.decide(saturday).run
    # --hourly --market-open: from Monday's open, hourly; --daily --days: 9:35 every day,
    # skipped on the weekend
    assert slots["ask:open"] == datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)
    assert slots["ask:brief"] == saturday
    policy = service.policy(jobs[1], ScheduleOptions(), live=False)
    assert policy.decide(saturday).reason == "not on mon-fri (Saturday)"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[ask.x]\nprompt = "p"\n', "ask.x: needs schedule"),
        ('[ask.x]\nschedule = "--hourly"\n', "ask.x: needs prompt"),
        (
            '[ask.x]\nprompt = "p"\nschedule = "--hourly"\ncolour = "red"\n',
            "ask.x.colour: unknown key",
        ),
        ("[ask]\nmodel = 3\n", "ask.model: must be a model name"),
        ('[ask]\nmodels = "x"\n', "ask.models: unknown key"),
        ('[ask."a b"]\nprompt = "p"\nschedule = "--hourly"\n', "NAME must be letters"),
    ],
)
def test_a_bad_ask_table_is_exit_2_naming_it(
    ttai, clean_env: Path, table: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    clean_env.mkdir(parents=True, exist_ok=True)
    (clean_env / "config.toml").write_text(table)
    line = one_line_error(ttai("status"), 2)
    assert message in line and "config.toml line" in line, line


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("--hourly --daily", "choose one of"),
        ("--every soon", "--every"),
        ("--timeout 5m", "does not apply to a daemon job"),
        ("--hourly --ping https://hc-ping.com/x", '--ping goes in [jobs."ask:NAME"] ping'),
        ("--bogus", "No such option"),
    ],
)
def test_a_bad_daemon_schedule_is_exit_2_naming_the_table(
    account: RunningServer, clean_env: Path, schedule: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.cli.ask import daemon_jobs
    from ttai_cli.cli.common import AppState
    from ttai_cli.errors import ConfigError

    (clean_env / "config.toml").write_text(
        f'[ask.open]\nprompt = "p"\nschedule = "{schedule}"\nmodel = "scripted"\n'
    )
    state = AppState()
    with pytest.raises(ConfigError) as raised:
        daemon_jobs(state, state.job_context())
    assert "config.toml line 1: schedule" in str(raised.value) and message in str(raised.value)


# -- the demo, and what --help costs ---------------------------------------------------------
def test_the_demo_answers_offline_from_its_scripted_model_and_says_so(
    ttai, llm_user_path: Path, clean_env: Path, nyse_sessions: list[object]
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.market.calendar import source_version
    from ttai_cli.store import open_store

    clean_env.mkdir(parents=True, exist_ok=True)
    with open_store(clean_env / "ttai-demo.db") as store:
        fill_calendar(store, nyse_sessions, source_version())
    result = ttai("--demo", "-q", "ask", "How is my portfolio doing?")
    assert result.code == 0, result.err
    assert result.out.startswith("_Demo model: a scripted stand-in for a language model")
    assert "**Account ...0001**: net liquidating value $" in result.out
    assert DEMO_ACCOUNT not in result.out
    out = json.loads(ttai("--demo", "-q", "ask", "How is my portfolio doing?", "--json").out)
    assert out["model"] == "ttai-demo" and len(out["tool_calls"]) == 7
    assert out["usage"]["input_tokens"] > 1000 and out["usage"]["output_tokens"] > 100


IMPORTS = """
import sys
from ttai_cli.app import main
rc = [main(args) for args in ({args})]
print('LLM', sorted(m for m in ('llm', 'openai') if m in sys.modules), rc)
"""


@pytest.mark.parametrize(
    "args",
    [
        "['--help'], ['ask', '--help']",
        "['alerts', 'list'], ['status']",
        f"['ask', 'x', '--hourly', '--dry-run', '--now', '{SUNDAY}'], ['ask', '--last']",
    ],
    ids=["help", "alerts-list-status", "ask-dry-run-and-last"],
)
def test_only_asking_a_model_imports_llm(args: str, clean_env: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTS.format(args=args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "LLM []" in proc.stdout and "[0, 0]" in proc.stdout, proc.stdout + proc.stderr


# -- the tools without a model ---------------------------------------------------------------
def test_tools_answer_from_a_fresh_sync_and_live_otherwise(
    ttai, account: RunningServer, sim: SimulatedTastytrade, clean_env: Path
) -> None:  # type: ignore[no-untyped-def]
    """The tools need no model (a benchmark times them this way): after a sync the record
    answers; without one, tastytrade does."""
    from ttai_cli.ask.tools import AccountTools
    from ttai_cli.cli.common import AppState

    async def call(name: str, **arguments: Any) -> Any:
        state = AppState()
        context = state.job_context()
        try:
            return json.loads(await AccountTools(context).call(name, arguments))
        finally:
            await context.aclose()

    live = asyncio.run(call("positions"))
    assert live["source"] == "live" and len(live["rows"]) == len(sim.account.positions) == 11
    assert ttai("-q", "sync").code == 0
    before = len(sim.history)
    stored = asyncio.run(call("transactions", days=30))
    assert stored["source"] == "last sync" and stored["rows"]
    assert len(sim.history) == before, "answered from the record"
    summary = asyncio.run(call("account_summary"))
    assert summary["source"] == "last sync" and summary["account"] == "...0001"
    assert asyncio.run(call("nope")) == {
        "error": "no tool named 'nope' (tools: account_summary, positions, strategies, quotes, "
        "risk, alerts, transactions, orders, history, market_status, market_metrics, "
        "upcoming_events)"
    }
    assert asyncio.run(call("quotes", symbols=["A"] * 3, extra=1)) == {
        "error": "quotes takes symbols, not extra"
    }


def test_doctor_says_which_model_and_which_daemon_jobs(ttai, clean_env: Path) -> None:  # type: ignore[no-untyped-def]
    clean_env.mkdir(parents=True, exist_ok=True)
    (clean_env / "config.toml").write_text(
        '[ask]\nmodel = "gpt-4o-mini"\n'
        '[ask.open]\nprompt = "Summary"\nschedule = "--hourly --market-open"\n'
    )
    result = ttai("--demo", "doctor", "--offline", "--json")
    checks = json.loads(result.out)
    (ask_check,) = [
        c for c in (checks if isinstance(checks, list) else checks["checks"]) if c["name"] == "ask"
    ]
    assert ask_check["detail"] == (
        f"model gpt-4o-mini ({clean_env / 'config.toml'} line 2); llm installed; "
        "daemon jobs: ask:open (--hourly --market-open)"
    )


def test_strategies_tool_gives_ttais_to_do_line_under_the_manage_settings(
    account: RunningServer, clean_env: Path
) -> None:
    """The trader's case: with `manage_dte = 14` the briefing dropped the TSLA roll
    line but the model, reading DTE alone, still said to watch it. The tool now hands
    the model the settings and ttai's own line for each strategy."""
    from ttai_cli.ask.tools import AccountTools
    from ttai_cli.cli.common import AppState

    def strategies() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        async def call() -> Any:
            context = AppState().job_context()  # reads config.toml afresh
            try:
                return json.loads(await AccountTools(context).call("strategies", {}))
            finally:
                await context.aclose()

        answer = asyncio.run(call())
        rows = [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]
        return {row["strategy"]: row for row in rows}, answer["manage"]

    rows, manage = strategies()
    assert manage == {"profit_target_pct": 50, "manage_dte": 21, "tested_within_pct": 2}
    strangle = rows["short strangle"]  # the demo's is always 10-18 days out
    assert strangle["to_do"].startswith(f"Manage or roll {strangle['name']}: {strangle['dte']} DTE")
    assert rows["future"]["to_do"] is None and rows["future"]["credit"] is None

    (clean_env / "config.toml").write_text("[manage]\nmanage_dte = 14\n")
    rows, manage = strategies()
    assert manage["manage_dte"] == 14
    # no roll line now; at most the earnings warning the briefing would give too
    to_do = rows["short strangle"]["to_do"]
    assert to_do is None or to_do.startswith("Earnings "), to_do


def test_the_demo_model_repeats_ttais_to_do_lines_not_its_own_guesses(
    ttai, llm_user_path: Path, clean_env: Path, nyse_sessions: list[object]
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.market.calendar import source_version
    from ttai_cli.store import open_store

    clean_env.mkdir(parents=True, exist_ok=True)
    with open_store(clean_env / "ttai-demo.db") as store:
        fill_calendar(store, nyse_sessions, source_version())
    result = ttai("--demo", "-q", "ask", "How is my portfolio doing?", "--no-notify")
    assert result.code == 0, result.err
    assert "- To do: Manage or roll TSLA short strangle " in result.out  # 21 DTE by default
    assert "Watch " not in result.out
    # nothing is ever due: the model says so rather than guessing from DTE or P&L
    (clean_env / "config.toml").write_text("[manage]\nmanage_dte = 0\nprofit_target = 1000\n")
    result = ttai("--demo", "-q", "ask", "How is my portfolio doing?", "--no-notify")
    assert result.code == 0, result.err
    assert "Manage or roll" not in result.out and "Close " not in result.out
    assert "Watch " not in result.out


def test_the_demo_model_counts_active_and_triggered_alerts_apart() -> None:
    """`11 alerts set, 3 triggered` when 8 were active: now `11 alerts: 8 active, 3 triggered`."""
    from ttai_cli.simulator.model import demo_report

    statuses = ["active"] * 8 + ["triggered"] * 3
    alerts = {"columns": ["id", "status"], "rows": [[i, s] for i, s in enumerate(statuses)]}
    assert "- 11 alerts: 8 active, 3 triggered." in demo_report({"alerts": alerts})
    one = {"columns": ["id", "status"], "rows": [[1, "active"]]}
    assert "- 1 alert: 1 active, 0 triggered." in demo_report({"alerts": one})
