"""Tables and text at the terminal's width: 80 columns on a terminal (pyte in a pty),
piped with COLUMNS=80, and piped with no COLUMNS (160 wide). The trader's cases (#18)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_history import run_in_pty

STATUS = re.compile(r"^\s*(ok|info|warn|fail)  ")


def narrow(screen: list[str], width: int = 80) -> str:
    """The screen as one text, checked: no line wider than `width`, nothing cut to `…`."""
    text = "\n".join(screen)
    assert all(len(line) <= width for line in screen), text
    assert "…" not in text, text
    return text


# -- positions --strategies ------------------------------------------------------------------
def test_positions_strategies_at_80_columns_keep_price_and_distance_beneath_each_strategy(
    clean_env: Path,
) -> None:
    code, screen = run_in_pty(["--demo", "positions", "--strategies"], cols=80)
    text = narrow(screen)
    assert code == 0, text
    header = next(line for line in screen if "Strategy / legs" in line)
    assert "DTE" in header and "Credit" in header and "Max loss" in header, text
    # every strategy with a short option: its underlying's price and the distance to the
    # nearest short strike on the line beneath it, then its legs
    for label, underlying, legs in (
        ("IWM put credit spread", "IWM", 2),
        ("SPY iron condor", "SPY", 4),
        ("TSLA short strangle", "TSLA", 2),
        ("AAPL covered call", "AAPL", 2),
    ):
        row = next(i for i, line in enumerate(screen) if line.startswith(label))
        assert re.fullmatch(
            rf"  {underlying} \$[\d,]+\.\d\d, \d+\.\d% (from|through) \d+(\.\d+)?[CP]",
            screen[row + 1],
        ), text
        assert all(
            screen[row + 2 + k].startswith(("  1 ", "  -1 ", "  2 ", "  -2 ", "  100 "))
            for k in range(legs)
        ), text
    # a future has no short strike: its leg (with its mark) follows at once
    future = next(i for i, line in enumerate(screen) if line.startswith("/MES"))
    assert screen[future + 1].startswith("  1 /MES"), text


# -- status ----------------------------------------------------------------------------------
def test_status_at_80_columns_keeps_last_result_and_next_run_and_names_the_column_left_out(
    ttai: Any, clean_env: Path
) -> None:
    assert ttai("--demo", "sync", "--ignore-market-hours").code == 0
    briefing = ttai("--demo", "briefing", "morning", "--print-only", "--ignore-market-hours")
    assert briefing.code == 0, briefing.err
    code, screen = run_in_pty(["--demo", "status"], cols=80)
    text = narrow(screen)
    assert code == 0, text
    rule = next(i for i, line in enumerate(screen) if line.startswith("────"))
    headers = " ".join(screen[:rule]).split()
    for word in ("Job", "State", "Runs", "Errors", "Skipped", "Last", "start", "result", "Next"):
        assert word in headers, text  # whole, maybe stacked on two lines: never `Nex…`
    rows = {line.split()[0]: line.split() for line in screen[rule + 1 :] if line[:1].isalpha()}
    assert {"sync", "briefing-morning"} <= set(rows), text
    assert rows["sync"][1:3] == ["idle", "1"], text
    assert "ok" in rows["sync"], text  # the last result is shown, not dropped
    # the one counter that did not fit is named, with where to see it
    assert "Left out at 80 columns: Restarts (--json has every column)" in text


# -- alerts list --all ------------------------------------------------------------------------
def test_alerts_list_all_at_80_columns_shows_every_column_and_every_note(
    ttai: Any, clean_env: Path
) -> None:
    added = [
        (
            "TSLA",
            "--strategy",
            "12/18",
            "--type",
            "pnl",
            "profit",
            "50",
            "--note",
            "take profits on the TSLA strangle",
        ),
        (
            "IWM",
            "--type",
            "tested",
            "within",
            "1",
            "--repeat-after",
            "1h",
            "--note",
            "IWM spread tested",
        ),
        ("IWM 270108P00216000", "--type", "dte", "below", "30", "--repeat-after", "30m"),
    ]
    for args in added:
        result = ttai("--demo", "alerts", "add", *args)
        assert result.code == 0, result.err
    assert ttai("--demo", "alerts", "check", "--ignore-market-hours").code == 0  # AAPL fires
    code, screen = run_in_pty(["--demo", "alerts", "list", "--all"], cols=80)
    text = narrow(screen)
    assert code == 0, text
    assert "Left out" not in text
    header = next(line for line in screen if line.startswith("Id"))
    assert header.split() == ["Id", "Symbol", "Strategy", "Alert", "Status", "Repeat", "Note"]
    rows = [line.split() for line in screen if line[:2].strip().isdigit()]
    assert [r[0] for r in rows] == [str(i) for i in range(1, 9)], text
    assert rows[0][1:5] == ["AAPL", "price", "above", "$200"] and rows[0][5] == "triggered"
    assert rows[5][1:3] == ["TSLA", "12/18"] and "1h" in rows[6] and "30m" in rows[7]
    words = text.split()
    for note in ["demo: strangle side getting tested", "take profits on the TSLA strangle"]:
        assert all(word in words for word in note.split()), text  # wrapped, not dropped


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


# -- briefing ---------------------------------------------------------------------------------
def briefing_lines(lines: list[str]) -> list[str]:
    """The panel's inside, each line checked: a heading at the left, an item two in,
    a wrapped item's continuation four in (under its text, never back at the border)."""
    inside = [line[2:-2].rstrip() for line in lines if line.startswith("│")]
    for line in inside:
        if line:
            indent = len(line) - len(line.lstrip())
            assert indent in (0, 2, 4), inside
            assert indent or line[0].isupper(), inside  # not `put` or `close` at the border
    return inside


def test_briefing_piped_with_columns_80_fits_and_wraps_under_its_text(
    ttai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = ttai("--demo", "briefing", "morning", "--print-only", "--ignore-market-hours")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    narrow(lines)
    inside = briefing_lines(lines)
    assert any(line.startswith("    ") for line in inside), inside  # something did wrap
    # Without COLUMNS a pipe is 160 wide: the same briefing, nothing wrapped
    monkeypatch.delenv("COLUMNS")
    wide = ttai("--demo", "briefing", "morning", "--print-only", "--ignore-market-hours")
    assert not any(line.startswith("    ") for line in briefing_lines(wide.out.splitlines()))


def test_briefing_at_80_columns_on_a_terminal_wraps_under_its_text(clean_env: Path) -> None:
    code, screen = run_in_pty(
        ["--demo", "briefing", "morning", "--print-only", "--ignore-market-hours"], cols=80
    )
    assert code == 0, "\n".join(screen)
    narrow([line for line in screen if line[:1] in "╭│╰"])  # (stderr's progress has `…`)
    assert any(line.startswith("    ") for line in briefing_lines(screen)), screen


# -- doctor -----------------------------------------------------------------------------------
def test_doctor_wraps_a_long_detail_under_itself_at_columns_and_not_at_150_piped(
    ttai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = ttai("--demo", "doctor", "--offline")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    narrow(lines)
    continued = [line for line in lines if not STATUS.match(line)]
    assert continued, lines  # the credentials line is longer than 80
    assert all(line.startswith(" " * 21) and line[21] != " " for line in continued), lines
    # piped with no COLUMNS: 160 wide, so no check of the demo's wraps
    monkeypatch.delenv("COLUMNS")
    wide = ttai("--demo", "doctor", "--offline").out.splitlines()
    assert all(STATUS.match(line) for line in wide), wide
    assert any(len(line) > 100 for line in wide), wide


# -- dry runs ---------------------------------------------------------------------------------
def test_dry_run_reasons_wrap_under_their_column_at_columns_80(
    ttai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a futures alert: each reason names both markets, far wider than 80 columns
    assert ttai("--demo", "alerts", "add", "/MESH7", "above", "5000").code == 0
    args = ["--demo", "alerts", "check", "--loop", "--dry-run", "--now", "2026-12-04T15:58"]
    monkeypatch.setenv("COLUMNS", "80")
    result = ttai(*args)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    narrow(lines)
    reason = lines[0].index("Reason")
    slots = [line for line in lines[2:] if line[:3] in ("Fri", "Sat", "Sun", "Mon")]
    continued = [line for line in lines[2:] if line not in slots]
    assert slots and continued, lines
    assert all(line[:reason].strip() == "" and line[reason] != " " for line in continued), lines
    # piped with no COLUMNS: one line a slot, as before
    monkeypatch.delenv("COLUMNS")
    wide = ttai(*args).out.splitlines()
    assert len(wide) == 2 + len(slots) and max(map(len, wide)) > 80, wide


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


# -- risk -------------------------------------------------------------------------------------
def test_risk_piped_right_aligns_its_numbers(ttai: Any) -> None:
    result = ttai("--demo", "risk")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("Underlying"))
    rule = lines[top + 1]
    spans = [m.span() for m in re.finditer(r"-+", rule)]
    rows = lines[top + 2 : lines.index("", top)]
    assert len(rows) == 5, lines
    for row in rows:
        assert row[spans[0][0]] != " "  # the symbol at the left of its column
        for start, end in spans[1:]:  # beta, deltas, notional, % NLV at the right of theirs
            assert row[end - 1] != " " and row[start:end].strip(), lines
