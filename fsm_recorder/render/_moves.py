"""Steps -> moves: what the activity and sequence diagrams draw, one entry per thing that happened.

A session records each event as several steps (event, transition, exits, enters). A diagram wants
one entry per happening: the machine started in a state, an event moved it to a state (the
deepest state entered), an event was rejected, a callback raised, an internal transition ran.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from fsm_recorder.read._session import Session, Step

MoveKind = Literal["start", "transition", "internal", "rejected", "exception", "end"]
# Steps that name the state the machine is in when they happen.
_CURRENT = ("event", "transition", "exit", "rejected", "exception", "session_end")


@dataclass(frozen=True, slots=True)
class Move:
    """One happening: `state` is the state after it (for `transition`: the leaf entered)."""

    kind: MoveKind
    ts: int
    state: str
    event: str = ""
    detail: str = ""
    args: tuple[tuple[str, str], ...] = ()
    session: int = 0

    def key(self) -> Hashable:
        """What makes two moves draw the same (everything but the time)."""
        return (self.kind, self.state, self.event, self.detail, self.args, self.session)


def moves(session: Session, index: int = 0) -> list[Move]:
    """The moves of one session; `index` tells sessions apart in a shared sequence diagram."""
    out: list[Move] = []
    first = _first_state(session)
    if first:  # a session that never named a state (only its start) has nothing to draw
        out.append(Move("start", session.steps[0].ts, first, session=index))
    args: tuple[tuple[str, str], ...] = ()
    for step in session.steps:
        if step.kind == "event":
            args = _args(step.args)
        elif step.kind == "enter" and out and out[-1].kind == "transition":
            out[-1] = replace(out[-1], state=step.state)
        else:
            out.extend(_move(step, args, index))
    return out


def _move(step: Step, args: tuple[tuple[str, str], ...], index: int) -> Iterator[Move]:
    if step.kind == "transition":
        kind: MoveKind = "transition" if step.dest else "internal"
        state = step.dest or step.source
        yield Move(kind, step.ts, state, step.event, args=args, session=index)
    elif step.kind in ("rejected", "exception"):
        kind = "rejected" if step.kind == "rejected" else "exception"
        yield Move(kind, step.ts, step.state, step.event, step.detail, args, index)
    elif step.kind == "session_end":
        yield Move("end", step.ts, step.state, session=index)


def _first_state(session: Session) -> str:
    """The state the (possibly windowed) session starts in, from the first step that names it."""
    for step in session.steps:
        if step.kind in _CURRENT and (step.state or step.source):
            return step.state or step.source
        if step.kind == "enter":
            return step.state
    return ""


def _args(args: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((name, repr(value)) for name, value in (args or {}).items()))
