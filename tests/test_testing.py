"""Assertion helpers: they pass on what the session shows and fail with its decoded steps."""

from __future__ import annotations

import pytest

from fsm_recorder.pytest_plugin import FlightRecorder
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.replay._replay import (
    Observation,
    ReplayReport,
    ReplayRow,
    ReplayStep,
)
from fsm_recorder.testing import (
    assert_events,
    assert_no_exceptions,
    assert_not_reached,
    assert_path,
    assert_reached,
    format_steps,
    regression_test_source,
)


class _BoomError(Exception):
    pass


def _raise(**_: object) -> None:
    raise _BoomError


@pytest.fixture
def session(flight_recorder: FlightRecorder) -> Session:
    """happy -lose-> sad -gain-> happy, then a rejected gain."""
    machine = RecordedMachine(
        states=["happy", "sad", "gone"],
        transitions=[["lose", "happy", "sad"], ["gain", "sad", "happy"], ["boom", "happy", "gone"]],
        initial="happy",
        name="HappySad",
        session_id="order-7",
    )
    machine.lose()
    machine.gain()
    with pytest.raises(Exception, match="Can't trigger event gain"):
        machine.gain()
    return flight_recorder.session()


def test_helpers_pass_on_what_happened(session: Session) -> None:
    """Path, events and reached states as recorded satisfy the helpers."""
    assert_path(session, ["sad", "happy"])
    assert_events(session, ["lose", "gain", "gain"])
    assert_reached(session, "sad")
    assert_not_reached(session, "gone")
    assert_no_exceptions(session)


@pytest.mark.parametrize(
    ("helper", "argument", "message"),
    [
        (assert_path, ["sad", "gone"], "path of states differs"),
        (assert_events, ["lose"], "events differ"),
        (assert_reached, "gone", "state 'gone' never reached"),
        (assert_not_reached, "sad", "state 'sad' was reached"),
    ],
)
def test_failures_show_the_decoded_steps(
    session: Session, helper: object, argument: object, message: str
) -> None:
    """A failing helper raises AssertionError naming the problem and listing every step."""
    with pytest.raises(AssertionError) as failure:
        helper(session, argument)  # type: ignore[operator]
    text = str(failure.value)
    assert message in text
    assert "session order-7 (HappySad" in text
    assert "rejected       gain   happy         machine_error" in text


def test_no_exceptions_fails_when_a_callback_raised(flight_recorder: FlightRecorder) -> None:
    """An exception step makes assert_no_exceptions fail and name the exception type."""
    machine = RecordedMachine(states=["a", "b"], initial="a", name="M", after_state_change=_raise)
    with pytest.raises(_BoomError):
        machine.to_b()
    with pytest.raises(AssertionError, match=r"to_b: \S*test_testing\._BoomError"):
        assert_no_exceptions(flight_recorder.session())


def test_format_steps_is_an_aligned_table(session: Session) -> None:
    """Every step is one line, columns aligned under their headers."""
    lines = format_steps(session).splitlines()
    assert lines[1].split() == ["seq", "kind", "event", "state", "dest", "detail", "args"]
    assert len(lines) == 2 + len(session.steps)
    transition = next(line for line in lines if " transition " in line)
    assert transition.index("sad") == lines[1].index("dest")


def test_regression_source_is_valid_python_pinning_todays_outcome() -> None:
    """The emitted module compiles and pins the replayed state, not the recorded one."""
    step = ReplayStep(5, "lose", {"amount": 3}, "sad", "happy", "ok", "sad")
    report = ReplayReport(
        "order-7", "HappySad", "off", [ReplayRow(step, Observation("happy", "ok", "angry"))]
    )
    source = regression_test_source(report, "shop.machines:build")
    namespace: dict[str, object] = {}
    exec(compile(source, "emitted.py", "exec"), namespace)
    assert namespace["FACTORY"] == "shop.machines:build"
    assert namespace["STEPS"] == [{**step.to_dict(), "state": "angry"}]
    assert callable(namespace["test_replay_order_7"])
