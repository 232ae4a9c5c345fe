"""Command-line times: ISO dates, durations ago, now and epoch seconds, all in nanoseconds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.read._time import parse_time

NOW = 1_700_000_000 * 10**9


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
