"""Mermaid state and sequence diagrams, checked by parsing the text with a small grammar of the
statements they may use (the viewer's browser tests also run them through Mermaid itself).

Expected states, counts and messages are written by hand from the scripted `nested_worker` run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from recordings import nested_worker

from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.render import mermaid_sequence_diagram, mermaid_state_diagram
from fsm_recorder.render._mermaid import text
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder

X = "\N{MULTIPLICATION SIGN}"
_STATE_GRAMMAR = {
    "declare": re.compile(r'state "([^"\n]*)" as (s\d+)'),
    "open": re.compile(r"state (s\d+) \{"),
    "close": re.compile(r"\}"),
    "member": re.compile(r"(s\d+)"),
    "initial": re.compile(r"\[\*\] --> (s\d+)"),
    "arrow": re.compile(r"(s\d+) --> (s\d+) : ([^:\n]+)"),
    "classdef": re.compile(r"classDef (\w+) fill:#\w{6},stroke:#\w{6},color:#\w{6}"),
    "class": re.compile(r"class (s\d+) (\w+)"),
}


def _decode(value: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), value)


def _recorded(tmp_path: Path, run: object = nested_worker) -> tuple[Session, Codebook]:
    recorder: Recorder = memory_recorder(codebooks=CodebookStore(tmp_path / "cb"))
    run(recorder)  # type: ignore[operator]
    recorder.flush()
    [session] = decode_sessions(recorder.sink.frames, recorder.codebooks)  # type: ignore[attr-defined]
    return session, recorder.codebooks.load(session.codebook)


@dataclass
class _StateDiagram:
    labels: dict[str, str] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)
    arrows: list[tuple[str, str, str]] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)
    initial: str = ""

    def names(self) -> list[str]:
        return [label.split("<br>")[0] for label in self.labels.values()]

    def edges(self) -> set[tuple[str, str, str]]:
        short = {label: label.split("<br>")[0] for label in self.labels.values()}
        return {(short[a], short[b], label) for a, b, label in self.arrows}


def _statement(line: str) -> tuple[str, re.Match[str]]:
    for name, pattern in _STATE_GRAMMAR.items():
        if match := pattern.fullmatch(line.strip()):
            return name, match
    raise AssertionError(f"not a state diagram statement: {line!r}")


def _parse_state(diagram: str) -> _StateDiagram:
    """Every line must be a known statement; aliases declared before use; braces balanced."""
    lines = diagram.splitlines()
    assert lines[:4] == ["---", lines[1], "---", "stateDiagram-v2"]
    parsed, stack, defined = _StateDiagram(), [], set()
    for line in lines[4:]:
        name, match = _statement(line)
        for alias in re.findall(r"\bs\d+\b", "" if name == "declare" else line):
            assert alias in parsed.labels, f"{alias} used before it is declared"
        if name == "declare":
            parsed.labels[match[2]] = _decode(match[1])
        elif name in ("open", "close"):
            _ = stack.append(match[1]) if name == "open" else stack.pop()
        elif name == "member":
            parsed.parents[match[1]] = stack[-1]
        elif name == "initial":
            parsed.initial = parsed.labels[match[1]]
        elif name == "arrow":
            ends = parsed.labels[match[1]], parsed.labels[match[2]]
            parsed.arrows.append((*ends, _decode(match[3])))
        elif name == "classdef":
            defined.add(match[1])
        else:
            assert match[2] in defined
            parsed.classes[parsed.labels[match[1]].split("<br>")[0]] = match[2]
    assert not stack, "unbalanced braces"
    return parsed


def test_state_diagram_counts_visits_marks_and_nesting(tmp_path: Path) -> None:
    """States carry visits and marks, arrows their counts, inner states sit in their parent."""
    session, codebook = _recorded(tmp_path)
    parsed = _parse_state(mermaid_state_diagram(session, codebook))
    assert parsed.labels == {
        "s0": f"idle<br>visited 3{X}<br>⚡ recordings.BoomError in boom 1{X}"
        f"<br>✗ next (machine_error) 1{X}",
        "s1": f"busy<br>visited 2{X}",
        "s2": f"load<br>visited 2{X}",
        "s3": f"work<br>visited 2{X}",
    }
    assert parsed.parents == {"s2": "s1", "s3": "s1"}
    assert parsed.initial.startswith("idle<br>")
    assert parsed.edges() == {
        ("idle", "busy", f"go 2{X}"),
        ("load", "work", f"next 2{X}"),
        ("busy", "idle", f"stop 2{X}"),
    }
    assert parsed.classes == {"idle": "raised", "busy": "visited", "load": "visited",
                              "work": "visited"}  # fmt: skip


def test_state_diagram_filters_level_and_window(tmp_path: Path) -> None:
    """--level 1 folds the inner states into busy; a step window counts only what it shows."""
    session, codebook = _recorded(tmp_path)
    top = _parse_state(mermaid_state_diagram(session, codebook, level=1))
    assert (top.names(), top.parents) == (["idle", "busy"], {})
    first_round = _parse_state(mermaid_state_diagram(session, codebook, steps=(0, 14)))
    assert {label for _, _, label in first_round.arrows} == {f"go 1{X}", f"next 1{X}", f"stop 1{X}"}


def _sequence_lines(diagram: str) -> list[str]:
    lines = diagram.splitlines()
    assert lines[:4] == ["---", lines[1], "---", "sequenceDiagram"]
    statement = re.compile(
        r"actor caller|participant s\d+ as [^\n]+|Note (over|right of) s\d+: [^\n]+"
        r"|caller(->>|-x)s\d+: [^\n]+|s\d+--\)caller: [^\n]+|loop [^\n]+|end"
    )
    depth = 0
    body = []
    for line in lines[4:]:
        assert statement.fullmatch(line.strip()), f"not a sequence statement: {line!r}"
        depth += line.strip().startswith("loop ") - (line.strip() == "end")
        assert depth >= 0
        body.append(_decode(line.strip()))
    assert depth == 0, "unbalanced loop/end"
    return body


def test_sequence_diagram_messages_notes_and_marks(tmp_path: Path) -> None:
    """Events are messages, states notes; the rejection is a lost message, the exception a reply."""
    session, _ = _recorded(tmp_path)
    body = _sequence_lines(mermaid_sequence_diagram(session))
    assert body[:2] == ["actor caller", "participant s0 as Worker w-1"]
    one_round = ["caller->>s0: go", "Note over s0: busy_load", "caller->>s0: next",
                 "Note over s0: busy_work", "caller->>s0: stop", "Note over s0: idle"]  # fmt: skip
    assert body[2:] == [
        "Note over s0: idle", *one_round, *one_round,
        "caller-xs0: next", "Note right of s0: ✗ rejected (machine_error)",
        "s0--)caller: ⚡ recordings.BoomError (in boom)", "Note over s0: session ended",
    ]  # fmt: skip


def _cycles(recorder: Recorder) -> None:
    machine = RecordedMachine(
        states=["off", "on"], transitions=[["flip", "off", "on"], ["flip", "on", "off"]],
        initial="off", recorder=recorder, name="T<script>", session_id="c-1",
    )  # fmt: skip
    for _ in range(6):
        machine.trigger("flip")
    machine.end_session()


def test_sequence_folds_repeats_and_escapes_names(tmp_path: Path) -> None:
    """Six flips fold into `loop 3 times`; a machine named `T<script>` cannot inject markup."""
    session, _ = _recorded(tmp_path, _cycles)
    diagram = mermaid_sequence_diagram(session, timestamps="elapsed")
    assert "<script>" not in diagram
    body = _sequence_lines(diagram)
    assert body[1] == "participant s0 as T<script> c-1"
    loop = next(line for line in body if line.startswith("loop "))
    assert re.fullmatch(r"loop 3 times \(\+[\d.]+ \S+ … \+[\d.]+ \S+\)", loop)


@pytest.mark.parametrize("name", ['a"b', "x:y", "<b>", "#35;", "a\nb", " pad ", "semi;colon", "{}"])
def test_text_escapes_everything_that_could_end_a_statement(name: str) -> None:
    """Escaped names hold no quote, colon, angle bracket, newline, brace or semicolon of their
    own, and decode back to the name."""
    escaped = text(name)
    assert not set(escaped) & set('"<>:\n{}') or escaped.count(";") == escaped.count("#")
    assert re.fullmatch(r"(?:#\d+;|[\w .,+-])+", escaped)
    assert _decode(escaped) == name
