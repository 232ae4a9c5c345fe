"""Activity diagram: the path through states over time, one box per state visited.

Events label the arrows; nested states sit in partitions named after their parents; a rejected
event or a callback exception colours the box of the state it happened in and adds a note; repeated
cycles fold into `repeat ... repeat while (N times)`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import takewhile

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


@dataclass(frozen=True, slots=True)
class Visit:
    """A stay in one state: the move that entered it and what else happened there."""

    move: Move
    marks: tuple[Move, ...] = ()

    def key(self) -> Hashable:
        return (self.move.key(), tuple(mark.key() for mark in self.marks))


def activity_diagram(
    session: Session,
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
    timestamps: Timestamps | None = None,
    fold_repeats: int | None = MIN_REPEATS,
) -> str:
    """PlantUML activity diagram of the session's path (filters as in `narrow`).

    Args:
        timestamps: Put the wall-clock time (`"absolute"`) or the time since the first shown
            step (`"elapsed"`) on every arrow.
        fold_repeats: Fold a block repeated this many times in a row into a loop; None never.
    """
    shown = narrow(session, start=start, end=end, level=level, steps=steps)
    found = moves(shown)
    visits = _visits(found)
    nodes: Sequence[Node[Visit]] = visits
    if fold_repeats is not None:
        nodes = fold(visits, Visit.key, min_repeats=fold_repeats)
    drawer = _Drawer(shown.separator, found[0].ts if found else 0, timestamps)
    drawer.open_session(shown)
    drawer.draw(nodes)
    drawer.close_session(any(m.kind == "end" for m in found))
    return puml.document(_title(shown), drawer.out, extra=_BOX_COLOURS)


def _title(session: Session) -> str:
    started = f", started {puml.date(session.started)}" if session.started is not None else ""
    return f"{session.machine} {session.id}{started}"


def _visits(found: list[Move]) -> list[Visit]:
    visits: list[Visit] = []
    for move in found:
        if move.kind in ("start", "transition"):
            visits.append(Visit(move))
        elif move.kind != "end" and visits:
            visits[-1] = Visit(visits[-1].move, (*visits[-1].marks, move))
    return visits


@dataclass
class _Drawer:
    """Emits the lines, keeping the stack of open partitions (parent states) balanced."""

    separator: str
    origin: int
    timestamps: Timestamps | None
    out: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)

    def open_session(self, session: Session) -> None:
        if session.steps and session.steps[0].kind == "session_start":
            self.out.append("start")

    def close_session(self, ended: bool) -> None:
        self._close_to(0)
        if ended:
            self.out.append("stop")

    def draw(self, nodes: Sequence[Node[Visit]]) -> None:
        for node in nodes:
            if isinstance(node, Loop):
                self._loop(node)
            else:
                self._visit(node)

    def _loop(self, loop: Loop[Visit]) -> None:
        self._close_to(len(_common(self._parents(v.move.state) for v in _all_visits(loop))))
        depth = len(self.stack)
        self.out.append("repeat")
        self.draw(loop.body)
        self._close_to(depth)
        span = self._stamp(loop.first.move) + " … " + self._stamp(loop.last.move)
        span = span if self.timestamps else ""
        self.out.append(f"repeat while ({puml.lines(f'{loop.count} times', span)})")

    def _visit(self, visit: Visit) -> None:
        parents = self._parents(visit.move.state)
        self._close_to(len(_common([parents, self.stack])))
        if visit.move.kind == "transition":
            label = puml.lines(_event(visit.move), self._stamp(visit.move))
            self.out.append(f"-> {label};")
        for parent in parents[len(self.stack) :]:
            self.out.append(f'partition "{text(self._short(parent))}" {{')
            self.stack.append(parent)
        fill = _fill(visit.marks)
        # A stereotype coloured by skinparam: the one box-colour syntax that both older
        # releases (e.g. 1.2025) and current ones (1.2026, which dropped `#colour:name;`) read.
        mark = f" <<{_STEREOTYPES[fill]}>>" if fill else ""
        self.out.append(f":{text(self._short(visit.move.state))};{mark}")
        self._notes(visit.marks)

    def _notes(self, marks: tuple[Move, ...]) -> None:
        if not marks:
            return
        self.out.append(f"note right {_fill(marks)}".rstrip())
        self.out.extend(f"{_mark(m)} {self._stamp(m)}".rstrip() for m in marks)
        self.out.append("end note")

    def _close_to(self, depth: int) -> None:
        while len(self.stack) > depth:
            self.stack.pop()
            self.out.append("}")

    def _parents(self, state: str) -> list[str]:
        if not self.separator or not state:
            return []
        parts = state.split(self.separator)
        return [self.separator.join(parts[:n]) for n in range(1, len(parts))]

    def _short(self, state: str) -> str:
        return state.rsplit(self.separator, 1)[-1] if self.separator else state

    def _stamp(self, move: Move) -> str:
        return puml.stamp(move.ts, self.origin, self.timestamps)


def _all_visits(node: Node[Visit]) -> Iterator[Visit]:
    if isinstance(node, Loop):
        for child in node.body:
            yield from _all_visits(child)
    else:
        yield node


def _common(paths: Iterable[list[str]]) -> list[str]:
    """The longest common prefix of parent paths."""
    result: list[str] | None = None
    for path in paths:
        pairs = zip(path if result is None else result, path, strict=False)
        result = [a for a, _ in takewhile(lambda pair: pair[0] == pair[1], pairs)]
    return result or []


def _event(move: Move) -> str:
    args = ", ".join(f"{name}={value}" for name, value in move.args)
    return text(f"{move.event}({args})" if args else move.event)


def _mark(move: Move) -> str:
    if move.kind == "rejected":
        return text(f"✗ {move.event} rejected ({move.detail})")
    if move.kind == "exception":
        return text(f"⚡ {move.detail} raised in {move.event}")
    return text(f"↻ {move.event} (internal)")


_STEREOTYPES = {puml.REJECTED: "rejected", puml.EXCEPTION: "exception"}
_BOX_COLOURS = [
    "skinparam activity {",
    *(f"BackgroundColor<<{name}>> {colour}" for colour, name in _STEREOTYPES.items()),
    "}",
]


def _fill(marks: tuple[Move, ...]) -> str:
    """Red for an exception, orange for a rejection, nothing otherwise."""
    kinds = {m.kind for m in marks}
    if "exception" in kinds:
        return puml.EXCEPTION
    return puml.REJECTED if "rejected" in kinds else ""
