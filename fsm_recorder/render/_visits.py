"""State visits: when the session entered each state and when it left, nested states inside
their parents. The Perfetto trace draws them as slices, the viewer as its timeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fsm_recorder.read._session import Session
from fsm_recorder.render._moves import moves


@dataclass(frozen=True, slots=True)
class Visit:
    """One stay in `state` from `start` to `end` (ns); `depth` 0 is a top-level state.

    `until_seq` is the step that ended it (its exit, or the last step for a stay still open).
    """

    state: str
    start: int
    end: int
    depth: int
    until_seq: int


def state_visits(session: Session) -> Iterator[Visit]:
    """The visits in the order they end: a stack of open states, closed by their exits.

    Linear in the steps. A stay still open at the last step (a live or unended session) ends
    there; an exit of a state never entered in the shown steps (a window) is skipped.
    """
    if not session.steps:
        return
    started = session.steps[0].ts
    open_: list[tuple[str, int]] = [(state, started) for state in _chain(session)]
    for step in session.steps:
        if step.kind == "enter":
            open_.append((step.state, step.ts))
        elif step.kind == "exit" and any(state == step.state for state, _ in open_):
            while open_:
                state, began = open_.pop()
                yield Visit(state, began, step.ts, len(open_), step.seq)
                if state == step.state:  # inner states left without their own exit close too
                    break
    last = session.steps[-1]
    while open_:
        state, began = open_.pop()
        yield Visit(state, began, last.ts, len(open_), last.seq)


def _chain(session: Session) -> list[str]:
    """The state the session starts in with its parents, outermost first."""
    found = moves(session)
    if not found:
        return []
    state = found[0].state
    if not session.separator:
        return [state]
    parts = state.split(session.separator)
    return [session.separator.join(parts[: i + 1]) for i in range(len(parts))]
