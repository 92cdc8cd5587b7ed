"""Each answered `ttai ask` run, kept in the database (`ask_runs`, migration m020).

A run is what `--json` prints (SPEC): the answer, the model, the tool calls the model
made with their arguments, the token usage, when it started and how long it took; plus
the prompt, the system prompt, the job (`ask`, `ask:NAME`) and the account it read.
Runs older than `KEEP_DAYS` are dropped as new ones are kept.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ttai_cli.store import Store, db_time

KEEP_DAYS = 90
RECENT_DAYS = 30  # what `ttai status` sums


@dataclass(frozen=True)
class ToolCallRecord:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AskRun:
    """One answered run. `input_tokens` / `output_tokens` are None when the model's API
    reports no usage (some local servers do not)."""

    job: str
    prompt: str
    answer: str
    model: str
    tool_calls: list[ToolCallRecord]
    input_tokens: int | None
    output_tokens: int | None
    started_at: datetime
    duration_s: float
    system: str | None = None
    account_number: str = ""
    stopped_early: bool = False  # the tool-call limit ended the conversation

    def as_json(self) -> dict[str, Any]:
        """The SPEC `--json` shape, keys in its order."""
        return {
            "answer": self.answer,
            "model": self.model,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in self.tool_calls],
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass(frozen=True)
class AskUsage:
    """One ask job's runs and tokens over the last RECENT_DAYS days (`ttai status`)."""

    job: str
    runs: int
    input_tokens: int
    output_tokens: int
    last_started_at: datetime | None
    last_model: str | None


def _run(row: sqlite3.Row) -> AskRun:
    from ttai_cli.store import ny_time

    started = ny_time(row["started_at"])
    assert started is not None
    return AskRun(
        job=row["job"],
        prompt=row["prompt"],
        answer=row["answer"],
        model=row["model"],
        tool_calls=[
            ToolCallRecord(c.get("name", ""), c.get("arguments") or {})
            for c in json.loads(row["tool_calls"])
        ],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        started_at=started,
        duration_s=row["duration_s"],
        system=row["system"],
        account_number=row["account_number"],
        stopped_early=bool(row["stopped_early"]),
    )


class AskRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, run: AskRun) -> int:
        """Keep `run` (and drop runs older than KEEP_DAYS); returns its id."""
        calls = json.dumps([{"name": c.name, "arguments": c.arguments} for c in run.tool_calls])
        cutoff = run.started_at - timedelta(days=KEEP_DAYS)
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO ask_runs (account_number, job, prompt, system, answer, model,"
                " tool_calls, input_tokens, output_tokens, started_at, duration_s, stopped_early)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.account_number,
                    run.job,
                    run.prompt,
                    run.system,
                    run.answer,
                    run.model,
                    calls,
                    run.input_tokens,
                    run.output_tokens,
                    db_time(run.started_at),
                    run.duration_s,
                    int(run.stopped_early),
                ),
            )
            db.execute("DELETE FROM ask_runs WHERE started_at < ?", (db_time(cutoff),))
        return int(cursor.lastrowid or 0)

    def latest(self, job: str | None = None) -> AskRun | None:
        """The latest run (of `job`, when given)."""
        query = "SELECT * FROM ask_runs"
        args: tuple[str, ...] = ()
        if job is not None:
            query += " WHERE job = ?"
            args = (job,)
        row = self.store.db.execute(
            query + " ORDER BY started_at DESC, id DESC LIMIT 1", args
        ).fetchone()
        return _run(row) if row is not None else None

    def usage(self, now: datetime) -> list[AskUsage]:
        """Per ask job: runs and tokens since RECENT_DAYS days before `now`."""
        from ttai_cli.store import ny_time

        since = db_time(now - timedelta(days=RECENT_DAYS))
        rows = self.store.db.execute(
            "SELECT job, count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),"
            " max(started_at) FROM ask_runs WHERE started_at >= ? GROUP BY job ORDER BY job",
            (since,),
        ).fetchall()
        result = []
        for job, runs, tokens_in, tokens_out, last in rows:
            model = self.store.db.execute(
                "SELECT model FROM ask_runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT 1",
                (job,),
            ).fetchone()
            result.append(
                AskUsage(
                    job, runs, tokens_in, tokens_out, ny_time(last), model[0] if model else None
                )
            )
        return result
