"""Chrome trace export: valid Trace Event Format, a track per session, visits as nested slices."""

from __future__ import annotations

import json
from pathlib import Path

from recordings import nested_worker, toggle
from trace_format import check_trace

from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.read._session import Session, Step
from fsm_recorder.render import perfetto_trace, state_visits
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder

ROUND = [("busy", 0), ("busy_load", 1), ("busy_work", 1), ("idle", 0)]


def _sessions(tmp_path: Path) -> list[Session]:
    recorder: Recorder = memory_recorder(codebooks=CodebookStore(tmp_path / "cb"))
    nested_worker(recorder)
    flip = toggle(recorder, "t-1")
    flip.trigger("flip")
    recorder.flush()
    return decode_sessions(recorder.sink.frames, recorder.codebooks)  # type: ignore[attr-defined]


def test_one_track_per_session_with_nested_visits(tmp_path: Path) -> None:
    """Each session is a named process; inner states are slices one level inside their parent."""
    worker, flip = _sessions(tmp_path)
    trace = json.loads(json.dumps(perfetto_trace([worker, flip])))  # what a file holds
    tracks = check_trace(trace)
    assert tracks == {1: [("idle", 0), *ROUND, *ROUND], 2: [("off", 0), ("on", 0)]}
    names = {
        e["pid"]: e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "process_name"
    }
    assert names == {1: "Worker w-1", 2: "Toggle t-1"}


def test_instants_for_events_rejections_and_exceptions(tmp_path: Path) -> None:
    """Events, the rejection and the exception are instants on the session's track, in order."""
    worker, _ = _sessions(tmp_path)
    instants = [e for e in perfetto_trace(worker)["traceEvents"] if e["ph"] == "i"]
    assert [e["name"] for e in instants] == [
        "session_start", *["go", "next", "stop"] * 2, "next", "✗ next (machine_error)",
        "boom", "⚡ recordings.BoomError in boom", "session_end: idle",
    ]  # fmt: skip
    assert [e["ts"] for e in instants] == sorted(e["ts"] for e in instants)
    assert instants[-2]["args"]["detail"] == "recordings.BoomError"


def test_times_are_microseconds_from_the_first_step(tmp_path: Path) -> None:
    """The first slice starts at 0; durations are the visits' own lengths in microseconds."""
    worker, _ = _sessions(tmp_path)
    trace = perfetto_trace(worker)
    assert trace["otherData"]["origin_ns"] == worker.started
    visits = list(state_visits(worker))
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert [e["dur"] for e in slices] == [round((v.end - v.start) / 1000, 3) for v in visits]
    assert min(e["ts"] for e in slices) == 0


def test_unknown_step_kinds_become_instants(tmp_path: Path) -> None:
    """A step kind this exporter does not know (say, a log line) still shows, with its fields."""
    worker, _ = _sessions(tmp_path)
    log = Step(seq=99, ts=worker.steps[-1].ts, kind="log", detail="payment retried")  # type: ignore[arg-type]
    worker.steps.insert(len(worker.steps) - 1, log)
    trace = perfetto_trace(worker)
    check_trace(trace)
    [found] = [e for e in trace["traceEvents"] if e.get("cat") == "log"]
    assert (found["name"], found["args"]["detail"]) == ("log: payment retried", "payment retried")


def test_a_live_session_closes_its_open_visit_at_the_last_step(tmp_path: Path) -> None:
    """A session without its end (still running) ends its current state's slice at its last step."""
    _, flip = _sessions(tmp_path)
    trace = perfetto_trace(flip)
    last = [e for e in trace["traceEvents"] if e["ph"] == "X"][-1]
    assert last["name"] == "on"
    assert last["ts"] + last["dur"] == round((flip.steps[-1].ts - flip.started) / 1000, 3)  # type: ignore[operator]
