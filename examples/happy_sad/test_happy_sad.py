"""Tests of the happy/sad machine: how to use fsm-recorder's pytest fixture and assertion helpers.

The `flight_recorder` fixture (from fsm-recorder's pytest plugin) records every machine the test
builds; when a test fails, its report shows the recorded steps and an activity diagram.
"""

from __future__ import annotations

import pytest

from examples.happy_sad.machine import Mood
from fsm_recorder.pytest_plugin import FlightRecorder
from fsm_recorder.testing import (
    assert_events,
    assert_no_exceptions,
    assert_not_reached,
    assert_path,
    assert_reached,
)


def test_losing_money_makes_sad_and_gaining_it_back_makes_happy(
    flight_recorder: FlightRecorder,
) -> None:
    """Money lost then regained walks Happy -> Sad -> Happy, with no callback raising."""
    mood = Mood(balance=10, session_id="alice")
    mood.lose_money(amount=20)
    mood.gain_money(amount=30)

    session = flight_recorder.session("alice")
    assert_path(session, ["Sad", "Happy"])
    assert_events(session, ["lose_money", "gain_money"])
    assert_no_exceptions(session)


def test_too_little_money_is_rejected_by_the_guard(flight_recorder: FlightRecorder) -> None:
    """A gain that does not cover the debt is rejected, and the person stays sad."""
    mood = Mood(balance=0, session_id="bob")
    mood.lose_money(amount=50)
    assert mood.gain_money(amount=10) is False

    session = flight_recorder.session("bob")
    assert_reached(session, "Sad")
    assert_path(session, ["Sad"])
    rejected = [step for step in session.steps if step.kind == "rejected"]
    assert [(s.event, s.detail) for s in rejected] == [("gain_money", "conditions")]


def test_a_happy_person_cannot_gain_money(flight_recorder: FlightRecorder) -> None:
    """gain_money is not allowed from Happy: transitions raises and the recorder says why."""
    mood = Mood(balance=5, session_id="carol")
    with pytest.raises(Exception, match="Can't trigger event gain_money"):
        mood.gain_money(amount=1)

    session = flight_recorder.session("carol")
    assert_not_reached(session, "Sad")
    assert [s.detail for s in session.steps if s.kind == "rejected"] == ["machine_error"]


def test_only_allow_listed_arguments_are_recorded(flight_recorder: FlightRecorder) -> None:
    """The amount is recorded (it is allow-listed); anything else passed along is not."""
    mood = Mood(balance=0, session_id="dave")
    mood.lose_money(amount=7, card_number="4111 1111 1111 1111")

    [event] = [s for s in flight_recorder.session("dave").steps if s.kind == "event"]
    assert event.args == {"amount": 7}
