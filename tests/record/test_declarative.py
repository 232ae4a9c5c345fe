"""Machines declared as State/Event classes translate into recorded transitions machines."""

from __future__ import annotations

from typing import Any

import pytest
from transitions.core import MachineError

from fsm_recorder import (
    ConfigError,
    Event,
    NestedStateMachine,
    Recorder,
    State,
    StateMachine,
    decode_sessions,
    memory_recorder,
)


class Idle(State):
    pass


class Busy(State):
    def on_enter(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        machine.log.append(("enter Busy", kwargs.get("job")))

    def on_exit(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        machine.log.append(("exit Busy", kwargs.get("job")))


class StartJob(Event):
    source = Idle
    dest = Busy

    def condition(self, machine: Any, *args: Any, job: str = "", **kwargs: Any) -> bool:
        return job != "forbidden"

    def before(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        machine.log.append(("before start", kwargs.get("job")))


class Finish(Event):
    source = Busy
    dest = Idle


class Ping(Event):
    """An internal event: no destination, allowed from any state."""


class Worker(StateMachine):
    state_classes = (Idle, Busy)
    event_classes = (StartJob, Finish, Ping)
    initial_state = Idle

    def __init__(self, **kwargs: Any) -> None:
        self.log: list[tuple[str, object]] = []
        super().__init__(**kwargs)


@pytest.fixture
def recorder(codebook_dir: object) -> Recorder:
    return memory_recorder()


def test_declared_machine_runs_its_callbacks_in_transitions_order(recorder: Recorder) -> None:
    """Events are snake_case triggers; condition, before and state callbacks run in order."""
    worker = Worker(recorder=recorder)
    assert worker.state == "Idle"
    assert worker.start_job(job="a") is True
    assert worker.finish(job="a") is True
    assert worker.log == [("before start", "a"), ("enter Busy", "a"), ("exit Busy", "a")]


def test_condition_rejects_and_invalid_source_raises(recorder: Recorder) -> None:
    """The event's condition guards it; an event from a wrong state raises MachineError."""
    worker = Worker(recorder=recorder)
    assert worker.start_job(job="forbidden") is False
    assert worker.state == "Idle"
    with pytest.raises(MachineError):
        worker.finish()


def test_declared_machine_records_under_its_class_name(recorder: Recorder) -> None:
    """The codebook is named after the class and holds the declared names, no auto `to_` events."""
    worker = Worker(recorder=recorder, session_id="w-1")
    worker.start_job(job="a")
    worker.ping()
    assert worker.codebook.machine == "Worker"
    assert set(worker.codebook.events) == {"start_job", "finish", "ping"}
    [session] = decode_sessions(recorder.sink.frames, recorder.codebooks)
    assert session.id == "w-1"
    assert [(s.kind, s.event, s.source, s.dest) for s in session.of_kind("transition")] == [
        ("transition", "start_job", "Idle", "Busy"),
        ("transition", "ping", "Busy", ""),
    ]


class Closed(State):
    pass


class Draft(State):
    pass


class Review(State):
    pass


class Open(State):
    children = (Draft, Review)
    initial = Draft


class Submit(Event):
    source = Draft
    dest = Review


class Reopen(Event):
    source = Closed
    dest = Open


class Close(Event):
    source = Open
    dest = Closed


class Ticket(NestedStateMachine):
    state_classes = (Closed, Open)
    event_classes = (Reopen, Submit, Close)
    initial_state = Closed


def test_nested_states_use_full_paths(recorder: Recorder) -> None:
    """Children become nested states; events name them by class, the machine by full path."""
    ticket = Ticket(recorder=recorder)
    ticket.reopen()
    assert ticket.state == "Open_Draft"
    ticket.submit()
    assert ticket.state == "Open_Review"
    ticket.close()
    [session] = decode_sessions(recorder.sink.frames, recorder.codebooks)
    assert session.path() == ["Open", "Open_Draft", "Open_Review", "Closed"]
    assert session.at_level(1).path() == ["Open", "Closed"]


def test_nested_states_in_a_flat_machine_are_refused() -> None:
    """Declaring children on a flat StateMachine says to use NestedStateMachine."""
    with pytest.raises(ConfigError, match="NestedStateMachine"):

        class Wrong(StateMachine):
            state_classes = (Closed, Open)
            initial_state = Closed


def test_a_machine_without_states_says_what_is_missing() -> None:
    """A declaration without states or initial state fails with a message naming both."""

    class Empty(StateMachine):
        pass

    with pytest.raises(ConfigError, match=r"state_classes.*initial_state"):
        Empty(recorder=memory_recorder())
