"""Machine introspection: what a definition is made of, and how exception types are named."""

from __future__ import annotations

from recordings import (
    JOB,
    PIPE_EVENTS,
    PIPE_STATES,
    PIPE_TRANSITIONS,
    JobModel,
)
from transitions import Machine, MachineError

from fsm_recorder.record._introspect import describe, exception_name
from fsm_recorder.record._machines import (
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.ship._default import memory_recorder


def test_codebook_is_derived_from_the_definition() -> None:
    """The codebook holds full state paths, the events and the static transitions."""
    machine = RecordedHierarchicalMachine(
        JobModel(),
        states=PIPE_STATES,
        transitions=PIPE_TRANSITIONS,
        initial="idle",
        recorder=memory_recorder(),
        name="Pipe",
    )
    book = machine.codebook
    assert (book.machine, book.separator, book.initial) == ("Pipe", "_", "idle")
    assert set(book.states) == {
        "idle",
        "work",
        "work_fetch",
        "work_proc",
        "work_proc_parse",
        "work_proc_check",
        "work_store",
        "par",
        "par_left",
        "par_left_l1",
        "par_left_l2",
        "par_right",
        "par_right_r1",
        "par_right_r2",
        "done",
    }
    assert set(PIPE_EVENTS) <= set(book.events)
    assert {
        ("idle", "start", "work"),
        ("work", "noop", ""),
        ("work_proc_parse", "next", "work_proc_check"),
        ("par_left_l1", "tick", "par_left_l2"),
    } <= set(book.transitions)
    assert not any(event.startswith("to_") for _, event, _ in book.transitions)
    flat = RecordedMachine(JobModel(), **JOB, recorder=memory_recorder(), name="Job").codebook
    assert (list(flat.states), flat.separator) == (["idle", "busy", "done"], "")


class LedgerClosedError(Exception):
    """An application exception at module level: named with its module."""


def test_exception_names_bare_for_builtins_and_machine_errors_qualified_otherwise() -> None:
    """Built-ins and transitions' MachineError by bare name, others qualified by module."""
    assert exception_name(ValueError("x")) == "ValueError"
    assert exception_name(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert exception_name(MachineError("no")) == "MachineError"
    assert exception_name(LedgerClosedError()) == "test_introspect.LedgerClosedError"


def test_describe_leaves_out_auto_transitions_but_keeps_a_users_to_event() -> None:
    """`to_<state>` events transitions adds itself are not part of the definition; a user's own
    event of that spelling, going elsewhere, is."""
    machine = Machine(states=["a", "b", "c"], initial="a")
    machine.add_transition("to_b", "a", "c")
    found = describe(machine)
    assert found["states"] == ["a", "b", "c"]
    assert found["initial"] == "a"
    assert found["transitions"] == [("a", "to_b", "c")]
