"""`ttai ask`: a language model reads the account through read-only tools and reports.

It advises; it never trades. The parts:

- `tools`: what the model may call (account summary, positions, strategies, quotes,
  risk, alerts, transactions, orders, history, market status and metrics, upcoming
  events; with `--allow-alerts` adding and removing ttai's own alerts). Read-only by
  construction: they go through ttai's services and the broker's read methods, and
  none of them can reach an order endpoint. Callable without a model (benchmarks).
- `models`: which model (`--model` > `TTAI_MODEL` > `[ask] model` > llm's default) and
  the one-line errors for llm missing, an unknown model or a missing key.
- `run`: one conversation through `llm`'s tool chain, bounded by `--max-tool-calls`.
- `record`: each answered run in the database (`ttai ask --last`, `ttai status`).
- `job`: the scheduled job (`ask`, `ask:NAME`) that runs it, prints and notifies.

The `llm` library (the optional extra `ttai-cli[ai]`) is imported only by `models` and
`run`, and only when a model is about to be asked: every other command, `ttai ask
--dry-run` and `ttai ask --last` included, starts without it.
"""
