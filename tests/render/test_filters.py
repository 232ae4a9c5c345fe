"""Parsing the diagram filters given on the command line."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.read._session import Session, Step
from fsm_recorder.render._filters import narrow, parse_steps, parse_time

ORIGIN = 1_700_000_000_000_000_000


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


def test_garbage_time_is_a_config_error() -> None:
    """An unreadable time says what forms are accepted."""
    with pytest.raises(ConfigError, match="ISO"):
        parse_time("yesterday-ish", ORIGIN)


def test_steps_ranges() -> None:
    """A:B, A: and :B give inclusive seq bounds; anything else is refused."""
    assert parse_steps("10:20") == (10, 20)
    assert parse_steps("10:") == (10, None)
    assert parse_steps(":20") == (None, 20)
    with pytest.raises(ConfigError):
        parse_steps("10-20")


def test_narrow_combines_window_steps_and_rejects_bad_level() -> None:
    """narrow keeps steps inside both the window and the seq range; level 0 is an error."""
    steps = [Step(seq=i, ts=100 * i, kind="event", event="e", state="A") for i in range(10)]
    session = Session("s", "M", "h", 1, "p", 1, "cb", steps=steps)
    kept = narrow(session, start=200, end=800, steps=(4, None))
    assert [s.seq for s in kept.steps] == [4, 5, 6, 7, 8]
    with pytest.raises(ConfigError):
        narrow(session, level=0)
