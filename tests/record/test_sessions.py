"""Model sessions: one per model, and a model nobody ended ends its session as "dropped"."""

from __future__ import annotations

import gc

from recordings import sessions_of

from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.record._sessions import ModelSessions
from fsm_recorder.ship._default import memory_recorder


class _Slotted:
    __slots__ = ()


def test_a_model_that_cannot_be_weakly_referenced_still_gets_a_session() -> None:
    """A `__slots__` model has no weak references: it is recorded, only never ended as dropped."""
    rec = memory_recorder()
    sessions = ModelSessions(rec)
    model = _Slotted()
    number = sessions.start(model, rec.codebooks.codebook_for("M", states=["a"], events=[]), "s-1")
    assert sessions == {id(model): number}
    assert sessions.end(model) == number
    assert sessions.end(model) is None


def test_a_machine_dropped_without_ending_its_session_ends_it_as_dropped() -> None:
    """The README's pattern never ends sessions: a machine (its own model) that is garbage ends
    its session with reason "dropped", and the recorder keeps nothing of it."""
    rec = memory_recorder()
    for number in range(3000):
        machine = RecordedMachine(states=["a", "b"], initial="a", recorder=rec, name="Conn")
        machine.to_b()  # type: ignore[attr-defined]
        if number == 0:
            first = machine.session_id()
    del machine
    gc.collect()
    assert rec.open_sessions == 0
    rec.commit()
    sessions = sessions_of(rec)
    assert len(sessions) == 3000
    [one] = [s for s in sessions if s.id == first]
    assert [(s.kind, s.detail) for s in one.steps][-1] == ("session_end", "dropped")
    assert all(s.steps[-1].kind == "session_end" for s in sessions)


def test_a_session_ended_by_hand_is_not_ended_again_when_its_model_goes() -> None:
    """`end_session` and `remove_model` end a session once; the model's later death adds
    nothing."""
    rec = memory_recorder()
    machine = RecordedMachine(states=["a", "b"], initial="a", recorder=rec, name="Conn")
    machine.end_session()
    del machine
    gc.collect()
    [session] = sessions_of(rec)
    assert [s.kind for s in session.steps] == ["session_start", "session_end"]
    assert session.steps[-1].detail == ""
