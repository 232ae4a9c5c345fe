"""The hot-path contract: what one trigger hands its other records, found under its own name."""

from __future__ import annotations

from recordings import JOB, JobModel
from transitions.core import EventData

from fsm_recorder.record._context import CONTEXT, TAP, TriggerContext
from fsm_recorder.record._machines import RecordedHierarchicalMachine, RecordedMachine
from fsm_recorder.ship._default import memory_recorder


def test_the_event_hands_the_trigger_its_code_session_and_model() -> None:
    """Inside a trigger, transitions' EventData carries the context the event record made:
    the event's code, the model's session and the model itself."""
    seen: list[TriggerContext] = []
    model = JobModel()
    machine = RecordedMachine(
        model,
        **JOB,
        recorder=memory_recorder(),
        name="Job",
        send_event=True,
        before_state_change=lambda event: seen.append(event.__dict__[CONTEXT]),
    )
    model.start()  # type: ignore[attr-defined]
    model.finish()  # type: ignore[attr-defined]
    tap = getattr(machine, TAP)
    book = machine.codebook
    assert [c.event for c in seen] == [book.events["start"], book.events["finish"]]
    assert {c.session for c in seen} == {tap.sessions[id(model)]}
    assert all(c.model is model for c in seen)
    assert seen[0] is not seen[1]


def test_a_nested_machine_hands_the_same_contract() -> None:
    """Hierarchical machines record events in the machine, not the event: same context there."""
    seen: list[object] = []
    machine = RecordedHierarchicalMachine(
        states=["a", {"name": "b", "children": ["x"], "initial": "x"}],
        transitions=[["go", "a", "b"]],
        initial="a",
        recorder=memory_recorder(),
        name="Nest",
        send_event=True,
        before_state_change=lambda event: seen.append(event.__dict__.get(CONTEXT)),
    )
    machine.go()  # type: ignore[attr-defined]
    [context] = seen
    assert isinstance(context, TriggerContext)
    assert context.event == machine.codebook.events["go"]


def test_the_context_is_small_and_fixed() -> None:
    """Made once per trigger: slots, no per-instance dict, and the machine holds no context."""
    context = TriggerContext(1, 2, print, print, None)
    assert not hasattr(context, "__dict__")
    assert CONTEXT != TAP
    assert CONTEXT not in vars(EventData(None, None, None, None, (), {}))  # type: ignore[arg-type]
