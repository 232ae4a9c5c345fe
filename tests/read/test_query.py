"""What a reader asks for: `SessionFilter` on decoded sessions, the states a session reached."""

from __future__ import annotations

import pytest

from fsm_recorder.read._query import SessionFilter, raise_error, reached_states
from fsm_recorder.read._session import Session, Step


def _session() -> Session:
    steps = [
        Step(seq=1, ts=100, kind="event", event="pay", state="new"),
        Step(seq=2, ts=200, kind="transition", event="pay", state="new", dest="paid", source="new"),
        Step(seq=3, ts=300, kind="enter", event="pay", state="paid"),
    ]
    return Session("o-1", "Order", "host-a", 7, "ab" * 8, 3, "cb", steps=steps)


def test_every_given_criterion_must_hold() -> None:
    """Each field narrows; an empty filter passes everything."""
    session = _session()
    passing = [
        SessionFilter(),
        SessionFilter(key="o-1"),
        SessionFilter(key=f"{'ab' * 8}:3"),
        SessionFilter(keys=frozenset({("ab" * 8, 3)})),
        SessionFilter(machine="Order", host="host-a", since=300, until=100, reached="paid"),
    ]
    failing = [
        SessionFilter(key="o-2"),
        SessionFilter(keys=frozenset()),
        SessionFilter(machine="Order", host="host-b"),
        SessionFilter(since=301),
        SessionFilter(until=99),
        SessionFilter(reached="refunded"),
    ]
    assert [f.matches(session) for f in passing] == [True] * len(passing)
    assert [f.matches(session) for f in failing] == [False] * len(failing)


def test_reached_states_are_states_and_destinations() -> None:
    """A session reached every state it was in and every transition's destination."""
    assert reached_states(_session()) == {"new", "paid"}


def test_the_default_on_error_raises() -> None:
    """Without an `on_error`, a bad frame's error goes through."""
    with pytest.raises(KeyError):
        raise_error("frame 0", KeyError("x"))
