"""Session queries: time window, seq range, nesting level, path, events, summary."""

from __future__ import annotations

from fsm_recorder.read._session import Session, Step


def _nested() -> Session:
    steps = [
        Step(0, 100, "session_start"),
        Step(1, 110, "event", "start", state="idle"),
        Step(2, 111, "transition", "start", "idle", "work", "idle"),
        Step(3, 112, "exit", "start", state="idle"),
        Step(4, 113, "enter", "start", state="work"),
        Step(5, 114, "enter", "start", state="work_fetch"),
        Step(6, 120, "event", "step", state="work_fetch"),
        Step(7, 121, "transition", "step", "work_fetch", "work_proc", "work_fetch"),
        Step(8, 122, "exit", "step", state="work_fetch"),
        Step(9, 123, "enter", "step", state="work_proc"),
        Step(10, 130, "event", "finish", state="work_proc", args={"ok": True}),
        Step(11, 131, "transition", "finish", "work_proc", "done", "work_proc"),
        Step(12, 132, "exit", "finish", state="work_proc"),
        Step(13, 133, "exit", "finish", state="work"),
        Step(14, 134, "enter", "finish", state="done"),
        Step(15, 140, "event", "poke", state="done"),
        Step(16, 141, "rejected", "poke", state="done", detail="conditions"),
        Step(17, 150, "session_end", state="done"),
    ]
    return Session("order-7", "Pipe", "box", 12, "ab" * 8, 3, "cd" * 8, "_", steps)


def test_window_keeps_steps_in_the_time_range_inclusive() -> None:
    """window(start, end) keeps exactly the steps with start <= ts <= end."""
    session = _nested()
    assert [s.seq for s in session.window(120, 123).steps] == [6, 7, 8, 9]
    assert [s.seq for s in session.window(start=141).steps] == [16, 17]
    assert [s.seq for s in session.window(end=100).steps] == [0]
    assert len(session.steps) == 18


def test_select_keeps_steps_in_the_seq_range_inclusive() -> None:
    """select(first, last) keeps exactly the steps with first <= seq <= last."""
    session = _nested()
    assert [s.seq for s in session.select(3, 5).steps] == [3, 4, 5]
    assert [s.seq for s in session.select(last=1).steps] == [0, 1]
    assert session.select(first=17).steps[0].kind == "session_end"
    assert session.select(3, 5).id == "order-7"


def test_at_level_one_shows_only_top_level_states() -> None:
    """At level 1 inner exits/enters vanish, names are cut, and moves inside a state disappear."""
    top = _nested().at_level(1)
    assert top.path() == ["work", "done"]
    assert [(s.kind, s.state) for s in top.of_kind("exit", "enter")] == [
        ("exit", "idle"),
        ("enter", "work"),
        ("exit", "work"),
        ("enter", "done"),
    ]
    assert [(s.source, s.dest) for s in top.of_kind("transition")] == [
        ("idle", "work"),
        ("work", "done"),
    ]
    assert all("_" not in s.state for s in top.steps)
    assert top.events() == ["start", "step", "finish", "poke"]


def test_at_level_none_or_flat_is_unchanged() -> None:
    """No level, or a flat machine (no separator), keeps every step as is."""
    session = _nested()
    assert session.at_level(None).steps == session.steps
    flat = Session("f", "Flat", "box", 1, "ab" * 8, 1, "cd" * 8, "", session.steps)
    assert flat.at_level(1).steps == session.steps


def test_path_and_events() -> None:
    """path() lists entered states at full depth; events() the events received, in order."""
    session = _nested()
    assert session.path() == ["work", "work_fetch", "work_proc", "done"]
    assert session.events() == ["start", "step", "finish", "poke"]


def test_summary_is_the_sessions_row() -> None:
    """summary() holds identity, timing and step count of the session."""
    assert _nested().summary() == {
        "id": "order-7",
        "key": f"{'ab' * 8}:3",
        "machine": "Pipe",
        "host": "box",
        "pid": 12,
        "producer": "ab" * 8,
        "codebook": "cd" * 8,
        "started": 100,
        "ended": 150,
        "steps": 18,
    }


def test_open_session_has_no_end() -> None:
    """A session whose last step is not session_end is not ended; an empty one has no start."""
    session = _nested().select(last=16)
    assert session.ended is None
    assert session.started == 100
    assert _nested().select(first=99).started is None


def test_step_to_dict_is_json_ready() -> None:
    """to_dict gives every field of a step, args included."""
    step = _nested().steps[10]
    assert step.to_dict() == {
        "seq": 10,
        "ts": 130,
        "kind": "event",
        "event": "finish",
        "source": "",
        "dest": "",
        "state": "work_proc",
        "detail": "",
        "args": {"ok": True},
    }
