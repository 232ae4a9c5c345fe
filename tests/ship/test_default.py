"""The process-wide default recorder, and the synchronous in-memory one tests use."""

from __future__ import annotations

from recordings import toggle

from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._default import get_default_recorder, memory_recorder, set_default_recorder
from fsm_recorder.ship._recorder import Recorder

RECORDS_PER_TRIGGER = 4  # event, transition, exit, enter


def test_memory_recorder_is_synchronous() -> None:
    """With a memory recorder each trigger's records are in the sink when the trigger returns."""
    rec = memory_recorder()
    machine = toggle(rec)
    assert rec.sync
    machine.flip()
    assert rec.sink.records == 1 + RECORDS_PER_TRIGGER  # type: ignore[attr-defined]
    [session] = decode_sessions(rec.sink.frames, rec.codebooks)  # type: ignore[attr-defined]
    assert [s.kind for s in session.steps] == [
        "session_start",
        "event",
        "transition",
        "exit",
        "enter",
    ]


def test_machines_given_no_recorder_share_the_default_one_until_it_is_replaced() -> None:
    """The default is made once and shared; replacing it returns the old one, and None makes a
    fresh one on next use."""
    mine = memory_recorder()
    before = set_default_recorder(mine)
    try:
        assert get_default_recorder() is get_default_recorder() is mine
        machine = RecordedMachine(states=["a", "b"], initial="a", name="Shared")
        machine.to_b()  # type: ignore[attr-defined]
        assert mine.sink.records > 0  # type: ignore[attr-defined]
        assert set_default_recorder(None) is mine
        fresh = get_default_recorder()
        assert isinstance(fresh, Recorder)
        assert fresh is not mine
        fresh.close()
    finally:
        set_default_recorder(before)
