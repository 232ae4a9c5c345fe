"""`record()` makes machines built from transitions' plain classes record, unchanged otherwise."""

from __future__ import annotations

import pytest
from transitions import Machine
from transitions.extensions import HierarchicalMachine

from fsm_recorder import (
    ConfigError,
    Recorder,
    decode_sessions,
    memory_recorder,
    record,
)
from fsm_recorder.record._retrofit import recording_class


class Order:
    """A plain model, as an existing code base has it."""


@pytest.fixture
def recorder(codebook_dir: object) -> Recorder:
    return memory_recorder()


def test_plain_machine_records_after_record(recorder: Recorder) -> None:
    """A plain Machine, retrofitted, records its steps and keeps its behaviour."""
    order = Order()
    machine = Machine(order, states=["new", "paid"], transitions=[["pay", "new", "paid"]],
                      initial="new")  # fmt: skip
    assert record(machine, recorder, name="Order", session_id="o-1") is machine
    assert order.pay() is True  # type: ignore[attr-defined]
    assert order.state == "paid"  # type: ignore[attr-defined]
    [session] = decode_sessions(recorder.sink.frames, recorder.codebooks)
    assert (session.machine, session.id) == ("Order", "o-1")
    assert [(s.kind, s.event, s.state) for s in session.steps[1:]] == [
        ("event", "pay", "new"),
        ("transition", "pay", "new"),
        ("exit", "pay", "new"),
        ("enter", "pay", "paid"),
    ]


def test_states_added_later_record_too(recorder: Recorder) -> None:
    """States and transitions added after record() use the recording classes as well."""
    machine = Machine(states=["a"], initial="a")
    record(machine, recorder, name="Grow")
    machine.add_state("b")
    machine.add_transition("go", "a", "b")
    machine.go()
    [session] = decode_sessions(recorder.sink.frames, recorder.codebooks)
    assert session.path() == ["b"]


def test_nested_machine_records_every_level(recorder: Recorder) -> None:
    """A plain HierarchicalMachine, retrofitted, records entries at each nesting level."""
    machine = HierarchicalMachine(
        states=["a", {"name": "b", "children": ["x", "y"], "initial": "x"}],
        transitions=[["go", "a", "b"]],
        initial="a",
    )
    record(machine, recorder, name="Tree")
    machine.go()
    [session] = decode_sessions(recorder.sink.frames, recorder.codebooks)
    assert session.path() == ["b", "b_x"]


def test_the_default_name_is_the_original_class(recorder: Recorder) -> None:
    """Without a name, the codebook is named after the model's class, not a generated one."""
    machine = Machine(Order(), states=["new"], initial="new")
    record(machine, recorder)
    assert machine.codebook.machine == "Order"  # type: ignore[attr-defined]


def test_recording_twice_is_refused(recorder: Recorder) -> None:
    """record() on a machine that records already is a ConfigError, not double records."""
    machine = Machine(states=["a"], initial="a")
    record(machine, recorder)
    with pytest.raises(ConfigError, match="records already"):
        record(machine, recorder)


def test_recording_classes_are_made_once_per_class() -> None:
    """The same transitions class always maps to the same recording subclass."""
    assert recording_class(Machine) is recording_class(Machine)
    assert issubclass(recording_class(Machine), Machine)
