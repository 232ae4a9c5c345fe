"""Sessions as a Chrome trace (Trace Event Format JSON), which Perfetto and chrome://tracing open.

One track per session (a process of its own, named after the machine and session ID); every state
visit is a complete ("X") slice from its enter to its exit, nested states nested inside their
parents; events, rejections, exceptions and any other step (log lines, kinds added later) are
instant ("i") events on the same track with the step's fields as arguments. Times are
microseconds since the earliest shown step (`otherData.origin_ns` holds that instant), so the
nanoseconds survive the JSON number.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fsm_recorder.read._session import Session, Step
from fsm_recorder.render._filters import narrow
from fsm_recorder.render._visits import state_visits

# Steps the slices already tell (a transition is the end of one slice and the start of the next).
_SLICED = frozenset({"transition", "exit", "enter"})


def perfetto_trace(
    sessions: Session | Sequence[Session],
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
) -> dict[str, Any]:
    """The trace of one or several sessions (filters as in `narrow`), ready for `json.dump`."""
    group = [sessions] if isinstance(sessions, Session) else list(sessions)
    shown = [narrow(s, start=start, end=end, level=level, steps=steps) for s in group]
    origin = min((s.started for s in shown if s.started is not None), default=0)
    events: list[dict[str, Any]] = []
    for pid, session in enumerate(shown, start=1):
        events += _track(session, pid)
        events += _slices(session, pid, origin)
        events += (
            _instant(step, pid, origin) for step in session.steps if step.kind not in _SLICED
        )
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": {"origin_ns": origin}}


def _us(ts: int, origin: int) -> float:
    return round((ts - origin) / 1000, 3)


def _track(session: Session, pid: int) -> list[dict[str, Any]]:
    name = f"{session.machine} {session.id}"
    meta = {"ph": "M", "pid": pid, "tid": 1}
    return [
        {**meta, "name": "process_name", "args": {"name": name}},
        {**meta, "name": "process_sort_index", "args": {"sort_index": pid}},
        {**meta, "name": "thread_name", "args": {"name": f"{session.host} pid {session.pid}"}},
    ]


def _slices(session: Session, pid: int, origin: int) -> Iterator[dict[str, Any]]:
    for visit in state_visits(session):
        slice_ = {"name": visit.state, "cat": "state", "ph": "X", "pid": pid, "tid": 1}
        args = {"state": visit.state, "until_seq": visit.until_seq}
        yield {
            **slice_,
            "ts": _us(visit.start, origin),
            "dur": _us(visit.end, visit.start),
            "args": args,
        }


def _instant(step: Step, pid: int, origin: int) -> dict[str, Any]:
    args = {key: value for key, value in step.to_dict().items() if value not in ("", None)}
    instant = {"name": _instant_name(step), "cat": step.kind, "ph": "i", "s": "t"}
    return {**instant, "pid": pid, "tid": 1, "ts": _us(step.ts, origin), "args": args}


def _instant_name(step: Step) -> str:
    if step.kind == "event":
        return step.event
    if step.kind == "rejected":
        return f"✗ {step.event} ({step.detail})"
    if step.kind == "exception":
        return f"⚡ {step.detail} in {step.event}"
    # session_start/_end, log lines and kinds this module does not know yet
    said = step.detail or step.event or step.state
    return f"{step.kind}: {said}" if said else str(step.kind)
