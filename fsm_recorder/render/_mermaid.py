"""Mermaid text of the state and sequence diagrams, for the places that render Mermaid themselves
(GitHub and GitLab Markdown, the viewer, notebooks).

Both come from the same views as the PlantUML ones (`state_view`, `sequence_view`), so filters,
counts and loops agree between the two languages. Names are escaped as Mermaid entity codes
(`#60;`), which Mermaid decodes in every text position, so a name never changes the syntax. The
activity diagram has no Mermaid form: Mermaid's flowcharts cannot draw a path over time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fsm_recorder.format._codebook import Codebook
from fsm_recorder.read._session import Session
from fsm_recorder.render import _plantuml as puml
from fsm_recorder.render._fold import MIN_REPEATS, Loop, Node
from fsm_recorder.render._moves import Move
from fsm_recorder.render._plantuml import Timestamps
from fsm_recorder.render._sequence import call, participant, sequence_view
from fsm_recorder.render._state import Structure, Usage, mark_label, state_view

_SPECIAL = re.compile(r"[^\w .,+\u00a1-\u2027\u2030-\uffff-]|^\s|\s$")
_CLASSES = {
    "visited": (puml.VISITED, puml.VISITED_LINE, "#000000"),
    "rejected": (puml.REJECTED, puml.REJECTED_LINE, "#000000"),
    "raised": (puml.EXCEPTION, puml.EXCEPTION_LINE, "#000000"),
    "unvisited": (puml.UNVISITED, puml.UNVISITED_LINE, puml.UNVISITED_TEXT),
}


def text(value: str) -> str:
    """Escape `value` for any Mermaid text position (state label, message, note, title)."""
    return _SPECIAL.sub(lambda m: "".join(f"#{ord(c)};" for c in m.group()), value) or "#32;"


def mermaid_state_diagram(
    session: Session,
    codebook: Codebook,
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
) -> str:
    """Mermaid `stateDiagram-v2` of `codebook` with the session's counts (as `state_diagram`)."""
    view = state_view(session, codebook, start=start, end=end, level=level, steps=steps)
    structure, usage = view.structure, view.usage
    lines = ["---", f"title: {text(view.title)}", "---", "stateDiagram-v2"]
    lines += [f'    state "{_state_label(structure, usage, s)}" as {_alias(structure, s)}'
              for s in structure.states]  # fmt: skip
    lines += _nesting(structure, "", "    ")
    if structure.initial:
        lines.append(f"    [*] --> {_alias(structure, structure.initial)}")
    drawn = [e for e in structure.transitions if e[2]]
    drawn += [e for e in sorted(view.counts) if e[2] and e not in structure.transitions]
    for source, event, dest in drawn:
        n = view.counts[(source, event, dest)]
        label = f"{event} {n}{puml.TIMES}" if n else event
        lines.append(
            f"    {_alias(structure, source)} --> {_alias(structure, dest)} : {text(label)}"
        )
    for name, (fill, line, colour) in _CLASSES.items():
        lines.append(f"    classDef {name} fill:{fill},stroke:{line},color:{colour}")
    for state in structure.states:
        lines.append(f"    class {_alias(structure, state)} {_class(usage, state)}")
    return "\n".join(lines) + "\n"


def _alias(structure: Structure, state: str) -> str:
    return f"s{structure.states.index(state)}"


def _state_label(structure: Structure, usage: Usage, state: str) -> str:
    """The state's short name, then a line per count (Mermaid's `<br>` is the only line break)."""
    parts = [structure.short(state)]
    if usage.visits[state]:
        parts.append(f"visited {usage.visits[state]}{puml.TIMES}")
    parts += [mark_label(*mark, n) for mark, n in sorted(usage.marks.get(state, {}).items())]
    return "<br>".join(text(part) for part in parts)


def _nesting(structure: Structure, parent: str, indent: str) -> list[str]:
    out: list[str] = []
    for state in structure.states:
        if structure.parent(state) != parent:
            continue
        inner = _nesting(structure, state, indent + "    ")
        if inner:
            out += [f"{indent}state {_alias(structure, state)} {{", *inner, f"{indent}}}"]
        elif parent:
            out.append(f"{indent}{_alias(structure, state)}")
    return out


def _class(usage: Usage, state: str) -> str:
    kinds = {kind for kind, _, _ in usage.marks.get(state, {})}
    if "exception" in kinds:
        return "raised"
    if "rejected" in kinds:
        return "rejected"
    return "visited" if usage.visits[state] else "unvisited"


def mermaid_sequence_diagram(
    sessions: Session | Sequence[Session],
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
    timestamps: Timestamps | None = None,
    fold_repeats: int | None = MIN_REPEATS,
) -> str:
    """Mermaid `sequenceDiagram` of one or several sessions (as `sequence_diagram`)."""
    view = sequence_view(
        sessions, start=start, end=end, level=level, steps=steps, fold_repeats=fold_repeats
    )
    lines = ["---", f"title: {text(view.title)}", "---", "sequenceDiagram", "    actor caller"]
    lines += [f"    participant s{i} as {text(participant(s))}"
              for i, s in enumerate(view.sessions)]  # fmt: skip
    lines += _draw(view.nodes, view.origin, timestamps, "    ")
    return "\n".join(lines) + "\n"


def _draw(
    nodes: Sequence[Node[Move]], origin: int, timestamps: Timestamps | None, indent: str
) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Loop):
            span = [puml.moment(m.ts, origin, timestamps) for m in (node.first, node.last)]
            during = f" ({' … '.join(span)})" if timestamps else ""
            out.append(f"{indent}loop {text(f'{node.count} times{during}')}")
            out += _draw(node.body, origin, timestamps, indent + "    ")
            out.append(f"{indent}end")
        else:
            when = puml.moment(node.ts, origin, timestamps)
            label = f"[{when}] {call(node)}" if when else call(node)
            out += [f"{indent}{line}" for line in _move(node, label)]
    return out


def _move(move: Move, label: str) -> list[str]:
    to = f"s{move.session}"
    if move.kind == "start":
        return [f"Note over {to}: {text(move.state)}"]
    if move.kind == "transition":
        return [f"caller->>{to}: {text(label)}", f"Note over {to}: {text(move.state)}"]
    if move.kind == "internal":
        return [f"caller->>{to}: {text(f'{label} ↻ internal')}"]
    if move.kind == "rejected":
        return [
            f"caller-x{to}: {text(label)}",
            f"Note right of {to}: {text(f'✗ rejected ({move.detail})')}",
        ]
    if move.kind == "exception":
        return [f"{to}--)caller: {text(f'⚡ {move.detail} (in {move.event})')}"]
    return [f"Note over {to}: {text('session ended')}"]
