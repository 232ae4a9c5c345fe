"""The pytest plugin: the flight_recorder fixture, the marker, and reports of failing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsm_recorder.pytest_plugin import FlightRecorder
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._default import get_default_recorder, memory_recorder, set_default_recorder

pytest_plugins = ["pytester"]


# Test modules the inner pytest runs: a machine that loses its happiness, and a test per outcome.
INNER = """
import pytest
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.testing import assert_path


def happy_sad():
    return RecordedMachine(
        states=["happy", "sad"],
        transitions=[["lose", "happy", "sad"], ["gain", "sad", "happy"]],
        initial="happy",
        name="HappySad",
        session_id="order-42",
    )


def test_fails(flight_recorder):
    machine = happy_sad()
    machine.lose()
    assert_path(flight_recorder.session(), ["happy"])


def test_passes(flight_recorder):
    machine = happy_sad()
    machine.lose()
    assert_path(flight_recorder.session("order-42"), ["sad"])


@pytest.mark.fsm_recorder
def test_marked_fails():
    happy_sad().lose()
    assert False, "marked"
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester project holding the inner test module."""
    pytester.makepyfile(test_inner=INNER)
    return pytester


def test_failing_test_reports_its_session(inner: pytest.Pytester) -> None:
    """A failing test's report carries the decoded steps of the sessions it recorded."""
    result = inner.runpytest("-k", "test_fails")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- fsm-recorder sessions -*",
            "session order-42 (HappySad, key *)",
            "seq*kind*event*state*dest*detail*args",
            "2*transition*lose*happy*sad",
            "4*enter*lose*sad",
        ]
    )


def test_helpers_are_assertion_rewritten(inner: pytest.Pytester) -> None:
    """pytest explains a failing helper's comparison, as it does for asserts in test modules."""
    result = inner.runpytest("-k", "test_fails")
    result.stdout.fnmatch_lines(["*path of states differs*", "*At index 0 diff: 'sad' != 'happy'*"])


def test_passing_test_shows_nothing_extra(inner: pytest.Pytester) -> None:
    """A passing test that recorded sessions adds nothing to the output."""
    result = inner.runpytest("-k", "test_passes", "-rA")
    result.assert_outcomes(passed=1)
    assert "fsm-recorder sessions" not in result.stdout.str()
    assert "order-42" not in result.stdout.str()


def test_marker_records_without_the_fixture(inner: pytest.Pytester) -> None:
    """A test marked fsm_recorder records and reports like one using the fixture."""
    result = inner.runpytest("-k", "test_marked_fails", "--strict-markers")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- fsm-recorder sessions -*", "session order-42 (HappySad*"])


def test_failing_test_reports_plantuml(inner: pytest.Pytester) -> None:
    """The report also holds the PlantUML text of the session's activity diagram."""
    result = inner.runpytest("-k", "test_fails")
    result.stdout.fnmatch_lines(["*- fsm-recorder sessions -*", "@startuml*", "*sad*", "@enduml"])


@pytest.mark.parametrize("how", ["option", "ini"])
def test_diagrams_are_written_to_a_directory(inner: pytest.Pytester, how: str) -> None:
    """--fsm-diagrams (or ini fsm_diagrams) writes a .puml per failing test's session."""
    if how == "option":
        result = inner.runpytest("-k", "fails", "--fsm-diagrams", "diagrams")
    else:
        inner.makeini("[pytest]\nfsm_diagrams = diagrams\n")
        result = inner.runpytest("-k", "fails")
    result.assert_outcomes(failed=2)
    written = sorted(p.name for p in Path(inner.path, "diagrams").glob("*.puml"))
    assert written == ["test_inner.py_test_fails-1.puml", "test_inner.py_test_marked_fails-1.puml"]
    text = Path(inner.path, "diagrams", written[0]).read_text()
    assert text.startswith("@startuml")


def test_option_is_listed_in_its_group(pytester: pytest.Pytester) -> None:
    """--help lists the option under the plugin's group and the ini setting."""
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["fsm-recorder flight recorder:", "*--fsm-diagrams=DIR*"])
    result.stdout.fnmatch_lines(["*fsm_diagrams (string)*"])


def test_fixture_installs_and_restores_the_default(pytester: pytest.Pytester) -> None:
    """The fixture is the default recorder during the test and the old one comes back after."""
    outer = memory_recorder()
    previous = set_default_recorder(outer)
    try:
        pytester.makepyfile(
            """
            from fsm_recorder.ship._default import get_default_recorder

            def test_default(flight_recorder):
                assert get_default_recorder() is flight_recorder.recorder
            """
        )
        pytester.runpytest().assert_outcomes(passed=1)
        assert get_default_recorder() is outer
    finally:
        set_default_recorder(previous)
        outer.close()


def test_fixture_sessions_are_per_test(flight_recorder: FlightRecorder) -> None:
    """The fixture starts empty, and sees the sessions of machines built in the test."""
    assert flight_recorder.sessions() == []
    with pytest.raises(LookupError):
        flight_recorder.session()
    RecordedMachine(states=["a", "b"], initial="a", name="M", session_id="s1").to_b()
    RecordedMachine(states=["a", "b"], initial="a", name="M", session_id="s2")
    assert [s.id for s in flight_recorder.sessions()] == ["s1", "s2"]
    assert flight_recorder.session().id == "s2"
    assert flight_recorder.session("s1").path() == ["b"]
    assert flight_recorder.stats().dropped == 0
