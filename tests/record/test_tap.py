"""The tap: codes for names, a codebook that evolves with the definition, arguments encoded."""

from __future__ import annotations

from pathlib import Path

import pytest
from recordings import (
    JOB,
    JobModel,
    only_session,
)

from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.record._machines import (
    RecordedMachine,
)
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink


def test_states_added_at_run_time_write_one_codebook_file_per_call(tmp_path: Path) -> None:
    """Each `add_state(s)` call evolves the codebook once: one file, whatever it adds inside."""
    store = CodebookStore(tmp_path)
    rec = Recorder(sink=MemorySink(), codebooks=store, flush_interval=3600)
    machine = RecordedMachine(states=["s0"], initial="s0", recorder=rec, name="Grow")
    assert len(list(tmp_path.iterdir())) == 1
    for i in range(1, 21):
        machine.add_state(f"s{i}")
    assert len(list(tmp_path.iterdir())) == 21
    machine.add_states([f"t{i}" for i in range(10)])
    machine.add_transition("jump", "s0", "t9")
    assert len(list(tmp_path.iterdir())) == 23
    machine.jump()  # type: ignore[attr-defined]
    rec.close()
    [session] = decode_sessions(rec.sink.frames, store)  # type: ignore[attr-defined]
    assert [(s.source, s.event, s.dest) for s in session.steps if s.kind == "transition"] == [
        ("s0", "jump", "t9")
    ]
    assert ("s0", "jump", "t9") in machine.codebook.transitions


def test_lone_surrogates_in_names_and_session_ids_never_raise(tmp_path: Path) -> None:
    """A session ID or a state or event name that UTF-8 cannot encode is recorded, not raised."""
    store = CodebookStore(tmp_path)
    rec = Recorder(sink=MemorySink(), codebooks=store, flush_interval=3600)
    machine = RecordedMachine(
        states=["a\udc00", "b"], initial="a\udc00", recorder=rec, session_id="s-\ud800"
    )
    machine.add_transition("go\ud800", "a\udc00", "b")
    machine.trigger("go\ud800")
    rec.close()
    assert rec.stats().dropped == 0
    [session] = decode_sessions(rec.sink.frames, store)  # type: ignore[attr-defined]
    assert session.id == "s-\\ud800"  # shown escaped: it is typed at a terminal
    assert [(s.source, s.event, s.dest) for s in session.steps if s.kind == "transition"] == [
        ("a\udc00", "go\ud800", "b")
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_allow_listed_arguments_are_recorded() -> None:
    """Only the allow-listed keyword arguments of an event are kept, on its event step."""
    rec = memory_recorder()
    model = JobModel()
    RecordedMachine(model, **JOB, recorder=rec, name="Job", record_args={"guarded": ["ok"]})
    model.guarded(ok=True, secret="card-number")
    [event] = only_session(rec).of_kind("event")
    assert event.args == {"ok": True}


@pytest.mark.parametrize(
    "value",
    [10**5000, b"bytes", object()],
    ids=["int-over-4300-digits", "bytes", "object"],
)
def test_an_argument_value_that_cannot_be_encoded_is_counted_never_raised(value: object) -> None:
    """Whatever the value of an allow-listed argument, the trigger runs as in plain transitions:
    the value is left out and counted, the other arguments are kept."""
    rec = memory_recorder()
    model = JobModel()
    RecordedMachine(model, **JOB, recorder=rec, name="Job", record_args={"guarded": ["ok", "v"]})
    assert model.guarded(ok=True, v=value) is True  # type: ignore[attr-defined]
    assert model.state == "done"  # type: ignore[attr-defined]
    [event] = only_session(rec).of_kind("event")
    assert event.args == {"ok": True}
    assert rec.stats().errors == {"unencodable_arg": 1}
