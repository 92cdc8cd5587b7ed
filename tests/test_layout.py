"""Tables and text at the terminal's width: 80 columns on a terminal (pyte in a pty),
piped with COLUMNS=80, and piped with no COLUMNS (160 wide). The trader's cases (#18)."""

from __future__ import annotations

import re
from typing import Any

import pytest

STATUS = re.compile(r"^\s*(ok|info|warn|fail)  ")


def narrow(screen: list[str], width: int = 80) -> str:
    """The screen as one text, checked: no line wider than `width`, nothing cut to `…`."""
    text = "\n".join(screen)
    assert all(len(line) <= width for line in screen), text
    assert "…" not in text, text
    return text


# -- a table that cannot fit ------------------------------------------------------------------
def test_a_table_too_wide_even_wrapped_leaves_out_optional_columns_and_says_which(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ttai_cli.cli.common import table

    monkeypatch.setenv("COLUMNS", "50")
    rows = [["briefing-morning", "12", "3", "13:03:12", "a long result that wraps"]]
    headers = ["Job", "Runs", "Restarts", "Last start", "Last result"]
    table("Jobs", headers, rows, right=(1, 2), wrap=(4,), optional=(2,))
    out = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 50 for line in out), out
    text = "\n".join(out)
    assert "Restarts" not in text.split("Left out")[0] and "12" in text and "13:03:12" in text
    # on two lines here: its parenthesis whole on the second
    assert out[-2:] == ["Left out at 50 columns: Restarts", "(--json has every column)"]
    assert "a long result" in text  # the note wraps in the room left


# -- balances ---------------------------------------------------------------------------------
def test_balances_title_keeps_its_as_of_phrase_whole(
    ttai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ttai("--demo", "sync", "--ignore-market-hours").code == 0
    monkeypatch.setenv("COLUMNS", "80")
    title = ttai("--demo", "balances").out.splitlines()[0]
    # one line, though wider than the table beneath it
    assert re.fullmatch(r"Balances \w+ \(synced just now, \w{3} \d\d:\d\d E[SD]T\)", title)
    monkeypatch.setenv("COLUMNS", "40")  # too narrow for it: the phrase on a line of its own
    lines = ttai("--demo", "balances").out.splitlines()
    assert re.fullmatch(r"Balances \w+", lines[0]), lines
    assert re.fullmatch(r"\(synced just now, \w{3} \d\d:\d\d E[SD]T\)", lines[1]), lines
