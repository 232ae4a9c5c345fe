"""State diagram with the path overlaid: the machine's structure, what the session used of it.

The structure comes from the session's codebook (states, nesting by separator, declared
transitions, initial state). Visited states and taken transitions are green with their counts,
states where events were rejected or callbacks raised are orange or red with a line per kind, and
whatever the session never touched stays in the picture, greyed. Transitions the session took that
the codebook does not declare (`to_X` auto transitions, `to()`) are drawn dashed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from fsm_recorder.format._codebook import Codebook
from fsm_recorder.read._session import Session
from fsm_recorder.render import _plantuml as puml
from fsm_recorder.render._filters import narrow
from fsm_recorder.render._moves import moves
from fsm_recorder.render._plantuml import text

H = TypeVar("H", bound=Hashable)
Edge = tuple[str, str, str]  # source, event, dest ("" = internal)


@dataclass(frozen=True)
class Structure:
    """The codebook's states and transitions, collapsed to the level shown."""

    separator: str
    states: list[str]
    transitions: list[Edge]
    initial: str

    def parent(self, state: str) -> str:
        """The longest state name that prefixes `state` plus the separator ("" at the top)."""
        if not self.separator:
            return ""
        found = [s for s in self.states if state.startswith(s + self.separator)]
        return max(found, key=len, default="")

    def short(self, state: str) -> str:
        parent = self.parent(state)
        return state[len(parent) + len(self.separator) :] if parent else state


@dataclass(frozen=True)
class Usage:
    """What the session did: visits per state, taken edges, marks per state."""

    visits: Counter[str]
    taken: Counter[Edge]
    marks: dict[str, Counter[tuple[str, str, str]]]


def state_diagram(
    session: Session,
    codebook: Codebook,
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
) -> str:
    """PlantUML state diagram of `codebook` with `session`'s path on it (filters as in `narrow`)."""
    view = state_view(session, codebook, start=start, end=end, level=level, steps=steps)
    structure, usage, counts = view.structure, view.usage, view.counts
    body = [
        *_states(structure, usage, ""),
        *_descriptions(structure, usage, counts),
        *_arrows(structure, usage, counts),
    ]
    return puml.document(
        view.title, body, extra=["!pragma layout smetana", "hide empty description"]
    )


@dataclass(frozen=True)
class StateView:
    """What a state diagram shows, whatever its language: structure, usage, counts per edge."""

    title: str
    structure: Structure
    usage: Usage
    counts: Counter[Edge]


def state_view(
    session: Session,
    codebook: Codebook,
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
) -> StateView:
    """The codebook's structure at `level` and what the narrowed session did with it."""
    shown = narrow(session, start=start, end=end, level=level, steps=steps)
    structure = _structure(codebook, level)
    usage = _usage(shown, structure)
    structure = _with_recorded(structure, usage)
    title = f"{codebook.machine} v{codebook.version}: {shown.id} ({len(shown.steps)} steps)"
    return StateView(title, structure, usage, _match(structure, usage.taken))


def mark_label(kind: str, event: str, detail: str, n: int) -> str:
    """The line a state gets for `n` rejections or exceptions (unescaped)."""
    line = f"⚡ {detail} in {event}" if kind == "exception" else f"✗ {event} ({detail})"
    return f"{line} {n}{puml.TIMES}"


def _structure(codebook: Codebook, level: int | None) -> Structure:
    sep = codebook.separator
    cut: Callable[[str], str] = (
        (lambda name: sep.join(name.split(sep)[:level])) if sep and level else (lambda n: n)
    )
    kept = [
        (cut(s), e, cut(d) if d else "")
        for s, e, d in codebook.transitions
        if not (d and cut(s) == cut(d) and s != d)  # moves inside one collapsed state
    ]
    states = _unique(cut(s) for s in codebook.states)
    return Structure(sep, states, _unique(kept), cut(codebook.initial))


def _with_recorded(structure: Structure, usage: Usage) -> Structure:
    """Add states the session names but the codebook lacks, so every arrow has both ends."""
    named = [*usage.visits, *(s for edge in usage.taken for s in (edge[0], edge[2]) if s)]
    extra = [s for s in _unique(named) if s not in structure.states]
    return replace(structure, states=[*structure.states, *extra]) if extra else structure


def _unique(items: Iterable[H]) -> list[H]:
    return list(dict.fromkeys(items))


def _usage(session: Session, structure: Structure) -> Usage:
    visits: Counter[str] = Counter(s.state for s in session.of_kind("enter"))
    found = moves(session)
    if found:  # the state it started in counts as visited, with every parent
        state = found[0].state
        while state:
            visits[state] += 1
            state = structure.parent(state)
    taken: Counter[Edge] = Counter(
        (s.source, s.event, s.dest) for s in session.of_kind("transition")
    )
    marks: dict[str, Counter[tuple[str, str, str]]] = {}
    for move in found:
        if move.kind in ("rejected", "exception"):
            marks.setdefault(move.state, Counter())[(move.kind, move.event, move.detail)] += 1
    return Usage(visits, taken, marks)


def _match(structure: Structure, taken: Counter[Edge]) -> Counter[Edge]:
    """Counts per declared edge; a taken edge matches the declared one with the nearest source.

    transitions records the leaf the machine was in (`B_2`) as source of a transition declared
    on its parent (`B`); edges that match nothing keep their own key (drawn dashed).
    """
    counts: Counter[Edge] = Counter()
    for (source, event, dest), n in sorted(taken.items()):
        owner = source
        while owner and (owner, event, dest) not in structure.transitions:
            owner = structure.parent(owner)
        counts[(owner or source, event, dest)] += n
    return counts


def _alias(structure: Structure, state: str) -> str:
    return f"s{structure.states.index(state)}"


def _states(structure: Structure, usage: Usage, parent: str) -> list[str]:
    out: list[str] = []
    for state in structure.states:
        if structure.parent(state) != parent:
            continue
        name, alias = text(structure.short(state)), _alias(structure, state)
        head = f'state "{name}" as {alias} {_style(state, usage)}'
        inner = _states(structure, usage, state)
        out += [f"{head} {{", *inner, "}"] if inner else [head]
    return out


def _style(state: str, usage: Usage) -> str:
    kinds = {kind for kind, _, _ in usage.marks.get(state, {})}
    if "exception" in kinds:
        return _inline(puml.EXCEPTION, line=puml.EXCEPTION_LINE, bold=True)
    if "rejected" in kinds:
        return _inline(puml.REJECTED, line=puml.REJECTED_LINE, bold=True)
    if usage.visits[state]:
        return _inline(puml.VISITED, line=puml.VISITED_LINE, bold=True)
    return _inline(puml.UNVISITED, line=puml.UNVISITED_LINE, text=puml.UNVISITED_TEXT)


def _inline(fill: str, *, line: str, bold: bool = False, text: str = "") -> str:
    """PlantUML's inline element style: `#fill;line:RRGGBB;line.bold;text:RRGGBB`."""
    parts = [fill, f"line:{line.lstrip('#')}"]
    parts += ["line.bold"] if bold else []
    parts += [f"text:{text.lstrip('#')}"] if text else []
    return ";".join(parts)


def _descriptions(structure: Structure, usage: Usage, counts: Counter[Edge]) -> list[str]:
    out: list[str] = []
    for state in structure.states:
        alias = _alias(structure, state)
        if usage.visits[state]:
            out.append(f"{alias} : {text(f'visited {usage.visits[state]}{puml.TIMES}')}")
        for (kind, event, detail), n in sorted(usage.marks.get(state, {}).items()):
            out.append(f"{alias} : {text(mark_label(kind, event, detail, n))}")
        for source, event, dest in structure.transitions:
            if source == state and not dest:
                n = counts[(source, event, dest)]
                out.append(f"{alias} : {text(f'↻ {event}' + (f' {n}{puml.TIMES}' if n else ''))}")
    return out


def _arrows(structure: Structure, usage: Usage, counts: Counter[Edge]) -> list[str]:
    out = [f"[*] --> {_alias(structure, structure.initial)}"] if structure.initial else []
    for edge in structure.transitions:
        if edge[2]:
            out.append(_arrow(structure, edge, counts[edge], dashed=False))
    for edge, n in sorted(counts.items()):
        if edge[2] and edge not in structure.transitions:
            out.append(_arrow(structure, edge, n, dashed=True))
    return out


def _arrow(structure: Structure, edge: Edge, n: int, *, dashed: bool) -> str:
    source, event, dest = (_alias(structure, edge[0]), edge[1], _alias(structure, edge[2]))
    if not n:
        label = f"<color:{puml.UNVISITED_TEXT}>{text(event)}</color>"
        return f"{source} -[{puml.UNVISITED_LINE}]-> {dest} : {label}"
    style = f"{puml.VISITED_LINE},{'dashed' if dashed else 'bold'}"
    return f"{source} -[{style}]-> {dest} : {text(f'{event} {n}{puml.TIMES}')}"
