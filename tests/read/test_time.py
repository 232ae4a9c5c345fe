"""Command-line times: ISO dates, durations ago, now, epoch seconds and offsets from a session's
start, all in nanoseconds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.read._time import parse_time

NOW = 1_700_000_000 * 10**9
ORIGIN = 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("15m", NOW - 15 * 60 * 10**9),
        ("-2h", NOW - 2 * 3600 * 10**9),
        ("3d ago", NOW - 3 * 86400 * 10**9),
        ("250ms", NOW - 250 * 10**6),
        ("1700000000.5", 1_700_000_000_500_000_000),
        ("2023-11-14T22:13:20+00:00", NOW),
    ],
)
def test_forms_give_nanoseconds(text: str, expected: int) -> None:
    """Each accepted form gives the instant it names, relative forms counted back from now."""
    assert parse_time(text, now_ns=NOW) == expected


def test_naive_iso_time_is_local() -> None:
    """An ISO time without offset is read as local time, like the times `show` prints."""
    local = datetime(2024, 5, 1, 12, 30).astimezone()
    expected = int(local.astimezone(timezone.utc).timestamp()) * 10**9
    assert parse_time("2024-05-01T12:30") == expected


def test_nonsense_names_the_accepted_forms() -> None:
    """An unreadable time is a ConfigError that lists what would work."""
    with pytest.raises(ConfigError, match="ISO 8601"):
        parse_time("yesterday-ish")


def test_relative_times_count_from_the_origin() -> None:
    """+1.5s, +200ms, +30us and +7ns are offsets in ns from the session start."""
    assert parse_time("+1.5s", ORIGIN) == ORIGIN + 1_500_000_000
    assert parse_time("+200ms", ORIGIN) == ORIGIN + 200_000_000
    assert parse_time("+30us", ORIGIN) == ORIGIN + 30_000
    assert parse_time("+7ns", ORIGIN) == ORIGIN + 7


def test_iso_time_with_offset_is_absolute() -> None:
    """An ISO time with an offset is that instant (to the microsecond), whatever the origin."""
    moment = datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=timezone.utc)
    expected = int(moment.timestamp()) * 10**9 + 250_000_000
    assert parse_time("2024-05-01T12:00:00.250+00:00", ORIGIN) == expected


def test_relative_time_without_origin_is_an_error() -> None:
    """A relative time for an empty session cannot be placed."""
    with pytest.raises(ConfigError, match="relative"):
        parse_time("+1s", None)
