"""The diagram filters: step ranges from the command line, and `narrow` applying them all."""

from __future__ import annotations

import pytest

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.read._session import Session, Step
from fsm_recorder.render._filters import narrow, parse_steps


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
