from __future__ import annotations

from datetime import time, timedelta

import pytest

from ttai_cli.errors import UsageError
from ttai_cli.scheduling.parse import parse_days, parse_duration, parse_instant, parse_time_of_day


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1.5s", 1.5),
        ("250ms", 0.25),
        ("5min", 300),
        ("10sec", 10),
        ("2hr", 7200),
        ("1hr30min", 5400),
    ],
)
def test_durations(raw: str, seconds: float) -> None:
    assert parse_duration(raw) == timedelta(seconds=seconds)


def test_bare_number_is_seconds_only_where_the_option_says_so() -> None:
    assert parse_duration("90", seconds_if_bare=True) == timedelta(seconds=90)
    with pytest.raises(UsageError, match="has no unit"):
        parse_duration("90")


@pytest.mark.parametrize("raw", ["", "0s", "-5m", "5 parsecs", "m5", "1h-30m", "400d"])
def test_bad_durations(raw: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(raw)


@pytest.mark.parametrize(
    ("raw", "wall"),
    [
        ("9:30am", time(9, 30)),
        ("4pm", time(16)),
        ("16:00", time(16)),
        ("9:30", time(9, 30)),
        ("12am", time(0)),
        ("12:15pm", time(12, 15)),
        ("9:30 AM", time(9, 30)),
    ],
)
def test_times_of_day(raw: str, wall: time) -> None:
    assert parse_time_of_day(raw) == wall


@pytest.mark.parametrize("raw", ["9", "13pm", "24:00", "9:60", "noon", "0am"])
def test_bad_times(raw: str) -> None:
    with pytest.raises(UsageError):
        parse_time_of_day(raw)


@pytest.mark.parametrize(
    ("raw", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("mon,wed,fri", {0, 2, 4}),
        ("sat-sun", {5, 6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("weekdays", {0, 1, 2, 3, 4}),
        ("Tuesday", {1}),
    ],
)
def test_days(raw: str, days: set[int]) -> None:
    assert parse_days(raw) == frozenset(days)


def test_instant_without_offset_is_new_york_and_z_is_utc() -> None:
    assert parse_instant("2026-03-09T09:30").isoformat() == "2026-03-09T09:30:00-04:00"
    assert parse_instant("2026-03-09T13:30:00Z").isoformat() == "2026-03-09T09:30:00-04:00"
    with pytest.raises(UsageError):
        parse_instant("next tuesday")
