"""Sequence diagram: events as messages from the caller to each session, states as notes.

Several sessions of one run (say an order and its payment) are drawn side by side, one participant
per session, their moves interleaved by timestamp, so their interplay reads top to bottom. Repeated
blocks fold into `loop N times` groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fsm_recorder.read._session import Session
from fsm_recorder.render import _plantuml as puml
from fsm_recorder.render._filters import narrow
from fsm_recorder.render._fold import (
    MIN_REPEATS,
    Loop,
    Node,
    fold,
)
from fsm_recorder.render._moves import Move, moves
from fsm_recorder.render._plantuml import Timestamps, text

CALLER = "caller"


def sequence_diagram(
    sessions: Session | Sequence[Session],
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
    timestamps: Timestamps | None = None,
    fold_repeats: int | None = MIN_REPEATS,
) -> str:
    """PlantUML sequence diagram of one or several sessions (filters as in `narrow`).

    Args:
        timestamps: Prefix every message with its wall-clock time (`"absolute"`) or the time
            since the first shown step (`"elapsed"`).
        fold_repeats: Fold a block repeated this many times in a row into a loop; None never.
    """
    view = sequence_view(
        sessions, start=start, end=end, level=level, steps=steps, fold_repeats=fold_repeats
    )
    body = [*_participants(view.sessions), *_draw(view.nodes, view.origin, timestamps)]
    return puml.document(view.title, body, extra=["hide footbox"])


@dataclass(frozen=True)
class SequenceView:
    """What a sequence diagram shows, whatever its language: sessions and their folded moves."""

    title: str
    sessions: list[Session]
    nodes: Sequence[Node[Move]]
    origin: int


def sequence_view(
    sessions: Session | Sequence[Session],
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
    fold_repeats: int | None = MIN_REPEATS,
) -> SequenceView:
    """The narrowed sessions' moves, interleaved by time and folded into loops."""
    group = [sessions] if isinstance(sessions, Session) else list(sessions)
    shown = [narrow(s, start=start, end=end, level=level, steps=steps) for s in group]
    merged = sorted(
        (move for index, session in enumerate(shown) for move in moves(session, index)),
        key=lambda move: (move.ts, move.session),  # stable: same-time moves keep their order
    )
    nodes: Sequence[Node[Move]] = merged
    if fold_repeats is not None:
        nodes = fold(merged, Move.key, min_repeats=fold_repeats)
    origin = merged[0].ts if merged else 0
    return SequenceView(_title(shown), shown, nodes, origin)


def _title(sessions: list[Session]) -> str:
    names = ", ".join(participant(s) for s in sessions)
    first = min((s.started for s in sessions if s.started is not None), default=None)
    return f"{names}, started {puml.date(first)}" if first is not None else names


def participant(session: Session) -> str:
    return f"{session.machine} {session.id}"


def _participants(sessions: list[Session]) -> list[str]:
    lines = [f'actor "{CALLER}" as caller']
    lines += [f'participant "{text(participant(s))}" as s{i}' for i, s in enumerate(sessions)]
    return lines


def _draw(nodes: Sequence[Node[Move]], origin: int, timestamps: Timestamps | None) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Loop):
            span = [puml.stamp(move.ts, origin, timestamps) for move in (node.first, node.last)]
            during = f" ({' … '.join(span)})" if timestamps else ""
            out.append(f"loop {node.count} times{during}")
            out += _draw(node.body, origin, timestamps)
            out.append("end")
        else:
            out += _move(node, _label(node, origin, timestamps))
    return out


def call(move: Move) -> str:
    """How a message shows the event and its arguments (unescaped): `pay(amount=20)`."""
    args = ", ".join(f"{name}={value}" for name, value in move.args)
    return f"{move.event}({args})" if args else move.event


def _label(move: Move, origin: int, timestamps: Timestamps | None) -> str:
    call_text = text(call(move))
    when = puml.stamp(move.ts, origin, timestamps)
    return f"[{when}] {call_text}" if when else call_text


def _move(move: Move, label: str) -> list[str]:
    to = f"s{move.session}"
    state = text(move.state)
    if move.kind == "start":
        return [f"hnote over {to} : {state}"]
    if move.kind == "transition":
        return [f"caller -> {to} : {label}", f"hnote over {to} : {state}"]
    if move.kind == "internal":
        return [f"caller -> {to} : {label} {text('↻ internal')}"]
    if move.kind == "rejected":
        why = text(f"✗ rejected ({move.detail})")
        return [
            f"caller -[{puml.REJECTED_LINE}]x {to} : {label}",
            f"note right of {to} {puml.REJECTED} : {why}",
        ]
    if move.kind == "exception":
        raised = text(f"⚡ {move.detail} (in {move.event})")
        return [f"{to} -[{puml.EXCEPTION_LINE}]->> caller : {raised}"]
    return [f"hnote over {to} {puml.UNVISITED} : {text('session ended')}"]
