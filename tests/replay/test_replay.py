"""Replay: a recorded session re-driven against today's code, divergences found, tests emitted."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from transitions import Machine

from fsm_recorder.cli import main
from fsm_recorder.exceptions import ReplayError
from fsm_recorder.pytest_plugin import FlightRecorder
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import RecordedAsyncMachine, RecordedHierarchicalMachine
from fsm_recorder.replay._replay import load_factory, replay, replay_steps
from fsm_recorder.ship._default import set_default_recorder
from fsm_recorder.ship._recorder import Recorder

pytest_plugins = ["pytester"]

CANARY = "canary-7f3e9b1d-secret"

# Today's code of the machine under replay; tests write variants of it with DEST and LIMIT changed.
MACHINE_SOURCE = """
from fsm_recorder.record._machines import RecordedMachine

BUILT = []


class Order:
    def __init__(self):
        self.entered = []

    def small(self, amount=0, **_):
        return amount < {limit}

    def on_enter_sad(self, **_):
        self.entered.append("sad")


def build():
    order = Order()
    RecordedMachine(
        order,
        states=["happy", "sad", "angry"],
        transitions=[
            {{"trigger": "lose", "source": "happy", "dest": "{dest}", "conditions": "small"}},
            ["gain", "sad", "happy"],
            ["gain", "angry", "happy"],
        ],
        initial="happy",
        name="HappySad",
        record_args={{"lose": ["amount"]}},
    )
    BUILT.append(order)
    return order
"""

MakeFactory = Callable[..., str]


@pytest.fixture
def make_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeFactory:
    """Writes a variant of the machine's code as a new module; returns its "module:build"."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(dest: str = "sad", limit: int = 10) -> str:
        name = f"happy_sad_{uuid.uuid4().hex[:12]}"
        source = MACHINE_SOURCE.format(dest=dest, limit=limit)
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
        importlib.invalidate_caches()
        return f"{name}:build"

    return make


def _record(flight_recorder: FlightRecorder, factory: str) -> Session:
    """Runs the reference scenario on the machine from `factory`: lose, gain, a too-big lose."""
    order = load_factory(factory)()
    order.lose(amount=3, note=CANARY)
    order.gain()
    order.lose(amount=30)
    return flight_recorder.session()


def test_unchanged_code_replays_without_divergence(
    flight_recorder: FlightRecorder, make_factory: MakeFactory
) -> None:
    """The code that produced a session replays it with no divergence in every mode."""
    factory = make_factory()
    session = _record(flight_recorder, factory)
    for mode in ("off", "conditions", "on"):
        report = replay(session, load_factory(factory), side_effects=mode)
        assert [row.seen.state for row in report.rows] == ["sad", "happy", "happy"]
        assert not report.diverged, mode


def test_changed_destination_names_the_first_divergent_step(
    flight_recorder: FlightRecorder, make_factory: MakeFactory
) -> None:
    """A transition whose dest changed diverges at the first event that takes it."""
    session = _record(flight_recorder, make_factory())
    # Steps: 0 session_start, 1 event lose, 2 args (no step), 3 transition, 4 exit, 5 enter, ...
    assert [s.seq for s in session.steps if s.kind == "event"] == [1, 6, 10]
    changed = load_factory(make_factory(dest="angry"))
    report = replay(session, changed, side_effects="conditions")
    first = report.first_divergence
    assert first is not None
    assert (first.step.seq, first.step.state, first.seen.state) == (1, "sad", "angry")
    assert [row.diverged for row in report.rows] == [True, True, False]
    # With side effects off no guard leads where the recording went: the event is rejected.
    first = replay(session, changed, side_effects="off").first_divergence
    assert first is not None
    assert (first.step.seq, first.seen.outcome, first.seen.state) == (1, "rejected", "happy")


def test_changed_condition_diverges_only_when_conditions_run(
    flight_recorder: FlightRecorder, make_factory: MakeFactory
) -> None:
    """A stricter guard diverges with conditions kept; with side effects off the record decides."""
    session = _record(flight_recorder, make_factory())
    stricter = load_factory(make_factory(limit=2))
    report = replay(session, stricter, side_effects="conditions")
    first = report.first_divergence
    assert first is not None
    assert (first.step.seq, first.seen.outcome, first.seen.state) == (1, "rejected", "happy")
    assert not replay(session, stricter, side_effects="off").diverged


def test_recorded_arguments_are_fed_back(
    flight_recorder: FlightRecorder, make_factory: MakeFactory
) -> None:
    """Listed arguments come back in Step.args and reach the guards on replay."""
    factory = make_factory()
    session = _record(flight_recorder, factory)
    assert [s.args for s in session.steps if s.kind == "event"] == [
        {"amount": 3},
        None,
        {"amount": 30},
    ]
    # Without its recorded amount (default 0) the third lose would pass the guard.
    report = replay(session, load_factory(factory), side_effects="conditions")
    assert report.rows[2].seen.outcome == "rejected"
    assert [step.args for step in replay_steps(session)] == [{"amount": 3}, {}, {"amount": 30}]


def test_unlisted_argument_never_reaches_the_frames(
    flight_recorder: FlightRecorder, make_factory: MakeFactory
) -> None:
    """A secret passed in a non-listed argument, or a listed non-scalar one, is never encoded."""
    order = load_factory(make_factory())()
    order.lose(amount=3, note=CANARY)
    order.gain()
    with pytest.raises(TypeError):  # the guard compares the list with a number
        order.lose(amount=[CANARY])
    flight_recorder.recorder.flush()
    frames = b"".join(flight_recorder._sink.frames)
    assert frames
    assert CANARY.encode() not in frames
    assert flight_recorder.stats().errors.get("unencodable_arg") == 1
    assert flight_recorder.session().steps[1].args == {"amount": 3}


def test_callbacks_run_only_with_side_effects_on(
    flight_recorder: FlightRecorder, make_factory: MakeFactory
) -> None:
    """on_enter callbacks are stubbed in "off" and "conditions" modes and run in "on" mode."""
    factory = make_factory()
    session = _record(flight_recorder, factory)
    built = sys.modules[factory.partition(":")[0]].BUILT
    for mode in ("off", "conditions", "on"):
        replay(session, load_factory(factory), side_effects=mode)
    assert [order.entered for order in built[1:]] == [[], [], ["sad"]]


def test_replay_records_nothing(flight_recorder: FlightRecorder, make_factory: MakeFactory) -> None:
    """Machines built for a replay do not record into the default recorder of the process."""
    factory = make_factory()
    session = _record(flight_recorder, factory)
    frames_before = len(flight_recorder._sink.frames)
    replay(session, load_factory(factory), side_effects="on")
    flight_recorder.recorder.flush()
    assert len(flight_recorder._sink.frames) == frames_before
    assert len(flight_recorder.sessions()) == 1


def test_plain_machine_and_nested_machine_replay(flight_recorder: FlightRecorder) -> None:
    """A factory may return a plain transitions Machine; nested states compare by full name."""
    states = ["A", {"name": "B", "children": ["1", "2"], "initial": "1"}]
    moves = [["go", "A", "B"], ["inner", "B_1", "B_2"], ["back", "B", "A"]]
    recorded = RecordedHierarchicalMachine(states=states, transitions=moves, initial="A", name="N")
    recorded.go()
    recorded.inner()
    session = flight_recorder.session()
    assert [step.state for step in replay_steps(session)] == ["B_1", "B_2"]

    def nested() -> RecordedHierarchicalMachine:
        return RecordedHierarchicalMachine(states=states, transitions=moves, initial="A")

    assert not replay(session, nested).diverged
    flat = replay(
        session, lambda: Machine(states=["A", "B_1"], transitions=[["go", "A", "B_1"]], initial="A")
    )
    first = flat.first_divergence
    assert first is not None
    assert (first.step.event, first.seen.outcome) == ("inner", "exception:AttributeError")


def test_async_machine_replays(flight_recorder: FlightRecorder) -> None:
    """Triggers of an asyncio machine are awaited on a private loop."""

    def build() -> RecordedAsyncMachine:
        return RecordedAsyncMachine(states=["a", "b"], transitions=[["x", "a", "b"]], initial="a")

    asyncio.run(build().x())
    report = replay(flight_recorder.session(), build)
    assert report.path() == ["b"]
    assert not report.diverged


def test_factory_errors_are_replay_errors(flight_recorder: FlightRecorder) -> None:
    """Unusable factories raise ReplayError with a message, never a bare traceback."""
    session = Session("s", "M", "h", 1, "p", 1, "c")
    with pytest.raises(ReplayError, match="neither a transitions Machine nor a model"):
        replay(session, object)
    with pytest.raises(ReplayError, match="is not module:attribute"):
        load_factory("no_colon")
    with pytest.raises(ReplayError, match="cannot load"):
        load_factory("fsm_recorder.replay._replay:missing")


# -- command line ----------------------------------------------------------------------------------
@pytest.fixture
def recorded_in_redis(redis_url: str, make_factory: MakeFactory) -> str:
    """The reference scenario recorded into the test Redis; returns the factory that made it."""
    factory = make_factory()
    with Recorder(redis_url, mode="sync") as recorder:
        previous = set_default_recorder(recorder)
        try:
            order = load_factory(factory)()
            order.lose(amount=3)
            order.gain()
            order.lose(amount=30)
        finally:
            set_default_recorder(previous)
    return factory


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["replay", *args])


def _only_session_key(redis_url: str) -> str:
    from fsm_recorder.read._load import load_sessions

    sessions = [s for s in load_sessions(redis_url) if len(s.steps) > 1]
    assert len(sessions) == 1
    return sessions[0].key


def test_cli_exit_codes(recorded_in_redis: str, redis_url: str, make_factory: MakeFactory) -> None:
    """Exit 0 when the replay matches, 1 when it diverges (JSON names the step), 2 on bad usage."""
    key = _only_session_key(redis_url)
    same = _cli(key, "--machine", recorded_in_redis, "--url", redis_url)
    assert same.exit_code == 0, same.output
    assert "no divergence" in same.output
    changed = _cli(key, "--machine", make_factory(dest="angry"), "--url", redis_url, "--json")
    assert changed.exit_code == 1, changed.output
    assert json.loads(changed.output)["first_divergence"] == 1
    assert _cli("nope", "--machine", recorded_in_redis, "--url", redis_url).exit_code == 2
    assert _cli(key, "--machine", "nomodule:x", "--url", redis_url).exit_code == 2
    assert _cli(key, "--url", redis_url).exit_code == 2


def test_emitted_test_passes_against_the_code_that_recorded(
    recorded_in_redis: str, redis_url: str, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """--emit-test writes a pytest file that passes against the code that produced the session."""
    key = _only_session_key(redis_url)
    module = recorded_in_redis.partition(":")[0]
    emitted = pytester.path / "test_incident.py"
    for mode in ("off", "conditions"):
        result = _cli(
            key,
            "--machine",
            recorded_in_redis,
            "--url",
            redis_url,
            "--side-effects",
            mode,
            "--emit-test",
            str(emitted),
        )
        assert result.exit_code == 0, result.output
        assert CANARY not in emitted.read_text()
        pytester.makepyfile(**{module: (tmp_path / f"{module}.py").read_text()})
        outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", str(emitted))
        outcome.assert_outcomes(passed=1)
    # The emitted file pins behaviour: against changed code it fails and shows the divergence.
    changed = textwrap.dedent(MACHINE_SOURCE.format(dest="angry", limit=10))
    pytester.makepyfile(**{module: changed})
    failing = pytester.runpytest_subprocess("-p", "no:cacheprovider", str(emitted))
    failing.assert_outcomes(failed=1)
    failing.stdout.fnmatch_lines(["*first divergence at seq 1*"])
