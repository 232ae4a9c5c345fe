"""Activity, sequence and state diagrams of recorded sessions, checked by parsing the PlantUML.

The expected state lists are written by hand from the scripted runs below; every diagram also goes
through the real jar (`check_syntax`, and SVG for one of each kind).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import RecordedHierarchicalMachine, RecordedMachine
from fsm_recorder.render import _plantuml as puml
from fsm_recorder.render import (
    activity_diagram,
    check_syntax,
    render,
    sequence_diagram,
    state_diagram,
)
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder

NESTED_STATES: list[Any] = [
    "A",
    {
        "name": "B",
        "children": ["1", "2", {"name": "3", "children": ["x", "y"]}],
        "initial": "1",
        "transitions": [["inner", "1", "2"]],
    },
    "C",
]
NESTED_TRANSITIONS: list[Any] = [
    ["go", "A", "B"],
    ["back", "B", "A"],
    ["deep", "A", "B_3_y"],
    ["t", "B_3_x", "B_3_y"],
    {"trigger": "boom", "source": "C", "dest": "A", "after": "explode"},
]
# The scripted run: go, inner, back, deep, to_C, t (rejected in C), boom (raises after entering A).
NESTED_PATH = ["A", "B_1", "B_2", "A", "B_3_y", "C", "A"]


class BoomError(Exception):
    """Raised by a callback, to be recorded."""


class _Model:
    def explode(self) -> None:
        raise BoomError("callback failed")


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    """A memory recorder with its own codebook store."""
    return memory_recorder(codebooks=CodebookStore(tmp_path / "cb"))


def _sessions(recorder: Recorder) -> list[Session]:
    recorder.flush()
    return decode_sessions(recorder.sink.frames, recorder.codebooks)  # type: ignore[attr-defined]


@pytest.fixture
def nested(recorder: Recorder) -> tuple[Session, Codebook]:
    """One session of the nested machine, driven through NESTED_PATH, and its codebook."""
    model = _Model()
    RecordedHierarchicalMachine(
        model, states=NESTED_STATES, transitions=NESTED_TRANSITIONS, initial="A",
        recorder=recorder, name="Nested", session_id="n-1", exceptions=["BoomError"],
    )  # fmt: skip
    for event in ("go", "inner", "back", "deep", "to_C"):
        model.trigger(event)  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="Can't trigger"):
        model.trigger("t")  # type: ignore[attr-defined]
    with pytest.raises(BoomError):
        model.trigger("boom")  # type: ignore[attr-defined]
    [session] = _sessions(recorder)
    return session, recorder.codebooks.load(session.codebook)


def _cycling(recorder: Recorder, cycles: int, session_id: str = "c-1") -> Session:
    machine = RecordedMachine(
        states=["idle", "run", "done"],
        transitions=[
            ["start", "idle", "run"], ["finish", "run", "done"], ["reset", "done", "idle"],
        ],
        initial="idle", recorder=recorder, name="Cycler", session_id=session_id,
    )  # fmt: skip
    for _ in range(cycles):
        for event in ("start", "finish", "reset"):
            machine.trigger(event)
    machine.end_session()
    [session] = [s for s in _sessions(recorder) if s.id == session_id]
    return session


# -- parsers of the generated text -----------------------------------------------------------------
def _decode(escaped: str) -> str:
    escaped = re.sub(r"<U\+([0-9A-F]{4})>", lambda m: chr(int(m.group(1), 16)), escaped)
    return re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), escaped)


def _activity_states(text: str, separator: str) -> list[str]:
    """Full names of the action boxes, in order, rebuilt from the partitions around them."""
    stack: list[str] = []
    found: list[str] = []
    lines = text.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("title "))
    for line in lines[title:]:  # the style block before the title has braces too
        if match := re.fullmatch(r'partition "(.*)" \{', line):
            stack.append(_decode(match[1]))
        elif line == "}":
            stack.pop()
        elif match := re.fullmatch(r":(.*);( <<\w+>>)?", line):
            found.append(separator.join([*stack, _decode(match[1])]))
    assert not stack, "unbalanced partitions"
    return found


def _sequence_states(text: str) -> list[tuple[str, str]]:
    """(participant alias, state) of every state note, in order."""
    return [
        (m[1], _decode(m[2])) for m in re.finditer(r"^hnote over (\w+) : (.*)$", text, re.MULTILINE)
    ]


def _checked(text: str, jar: Path) -> str:
    check_syntax(text, jar=jar)
    return text


# -- activity --------------------------------------------------------------------------------------
def test_activity_lists_the_recorded_states_in_order(
    nested: tuple[Session, Codebook], jar: Path
) -> None:
    """The activity boxes are the states the nested session went through, leaves in partitions."""
    session, _ = nested
    text = _checked(activity_diagram(session), jar)
    assert _activity_states(text, "_") == NESTED_PATH
    assert 'partition "3" {' in text  # B_3_y sits in partition 3 inside partition B
    svg = render(text, "svg", jar=jar)
    assert b"<svg" in svg[:200]
    assert b"deep" in svg


def test_activity_level_one_shows_top_level_states_only(
    nested: tuple[Session, Codebook], jar: Path
) -> None:
    """With level=1 the inner moves vanish and B is one box, without partitions."""
    session, _ = nested
    text = _checked(activity_diagram(session, level=1), jar)
    assert _activity_states(text, "_") == ["A", "B", "A", "B", "C", "A"]
    assert "partition" not in text
    assert "-> inner;" not in text


def test_activity_time_window_shows_only_steps_inside(
    nested: tuple[Session, Codebook], jar: Path
) -> None:
    """A window from the `back` event to the end of `deep` starts in B_2 and ends in B_3_y."""
    session, _ = nested
    back = next(s for s in session.steps if s.kind == "event" and s.event == "back")
    deep_end = [s for s in session.steps if s.event == "deep"][-1]
    text = _checked(activity_diagram(session, start=back.ts, end=deep_end.ts), jar)
    assert _activity_states(text, "_") == ["B_2", "A", "B_3_y"]
    assert re.findall(r"^-> (\w+);$", text, re.MULTILINE) == ["back", "deep"]
    assert "start" not in text.splitlines()  # the session's start lies outside the window


def test_activity_step_range(nested: tuple[Session, Codebook]) -> None:
    """A seq range selects steps like the time window does."""
    session, _ = nested
    back = next(s for s in session.steps if s.kind == "event" and s.event == "back")
    text = activity_diagram(session, steps=(back.seq, None))
    assert _activity_states(text, "_") == ["B_2", "A", "B_3_y", "C", "A"]


def test_activity_marks_rejections_and_exceptions(nested: tuple[Session, Codebook]) -> None:
    """The rejected `t` colours C orange with a note; BoomError colours the last A red, noted."""
    session, _ = nested
    lines = activity_diagram(session).splitlines()
    c_box = lines.index(":C; <<rejected>>")
    assert lines[c_box + 1] == f"note right {puml.REJECTED}"
    assert "t rejected (machine_error)" in _decode(lines[c_box + 2])
    a_box = lines.index(":A; <<exception>>")
    assert lines[a_box + 1] == f"note right {puml.EXCEPTION}"
    assert "BoomError raised in boom" in _decode(lines[a_box + 2])


def test_activity_timestamps(nested: tuple[Session, Codebook]) -> None:
    """Elapsed times go on every arrow; absolute ones print the wall clock; none by default."""
    session, _ = nested
    elapsed = activity_diagram(session, timestamps="elapsed")
    arrows = re.findall(r"^-> (.*);$", elapsed, re.MULTILINE)
    assert len(arrows) == 6
    assert all(re.search(r"\\n\+[\d.]+ (ns|µs|ms|s)$", a) for a in arrows)
    absolute = activity_diagram(session, timestamps="absolute")
    assert re.search(r"^-> go\\n\d\d&#58;\d\d&#58;\d\d\.\d{6};$", absolute, re.MULTILINE)
    assert "\\n" not in "".join(re.findall(r"^-> (.*);$", activity_diagram(session), re.MULTILINE))


def test_activity_folds_ten_thousand_cycles(recorder: Recorder, jar: Path) -> None:
    """A session cycling 10,000 times draws one repeat loop with that count around three boxes."""
    session = _cycling(recorder, 10_000)
    text = _checked(activity_diagram(session), jar)
    assert re.findall(r"^repeat while \((\d+) times\)$", text, re.MULTILINE) == ["10000"]
    assert _activity_states(text, "") == ["idle", "run", "done", "idle"]
    assert text.splitlines()[-2] == "stop"


def test_activity_is_deterministic(nested: tuple[Session, Codebook]) -> None:
    """The same session gives the same text."""
    session, _ = nested
    assert activity_diagram(session) == activity_diagram(session)


def test_odd_names_are_escaped(recorder: Recorder, jar: Path) -> None:
    """Quotes, semicolons, pipes, markup and backslashes in names draw as themselves."""
    odd_states = ['say "hi"; ok|', "a**b**<c>", "back\\slash {x}"]
    odd_event = 'go; "now" --fast--'
    machine = RecordedMachine(
        states=odd_states, transitions=[[odd_event, odd_states[0], odd_states[1]],
        ["n", odd_states[1], odd_states[2]]], initial=odd_states[0], recorder=recorder,
        name='Odd "M"', session_id="odd;1",
    )  # fmt: skip
    machine.trigger(odd_event)
    machine.trigger("n")
    [session] = _sessions(recorder)
    activity = _checked(activity_diagram(session), jar)
    assert _activity_states(activity, "") == odd_states
    assert f"-> {puml.text(odd_event)};" in activity
    sequence = _checked(sequence_diagram(session), jar)
    assert [state for _, state in _sequence_states(sequence)] == odd_states
    state = _checked(state_diagram(session, recorder.codebooks.load(session.codebook)), jar)
    assert sorted(
        _decode(n) for n in re.findall(r'^state "(.*)" as', state, re.MULTILINE)
    ) == sorted(odd_states)
    svg = render(activity, "svg", jar=jar)
    assert b"a**b**&lt;c" in svg  # drawn as text, not as bold markup


# -- sequence --------------------------------------------------------------------------------------
def test_sequence_lists_states_and_events(nested: tuple[Session, Codebook], jar: Path) -> None:
    """Events are caller messages, state notes follow the path, the exception returns in red."""
    session, _ = nested
    text = _checked(sequence_diagram(session), jar)
    assert 'participant "Nested n-1" as s0' in text
    assert _sequence_states(text) == [("s0", state) for state in NESTED_PATH]
    messages = re.findall(r"^caller -(?:\[#\w+\])?[>x] s0 : (\w+)", text, re.MULTILINE)
    assert messages == ["go", "inner", "back", "deep", "to_C", "t", "boom"]
    assert f"caller -[{puml.REJECTED_LINE}]x s0 : t" in text
    assert re.search(rf"^s0 -\[{puml.EXCEPTION_LINE}\]->> caller : .*BoomError", text, re.MULTILINE)
    assert b"<svg" in render(text, "svg", jar=jar)[:200]


def test_sequence_level_one(nested: tuple[Session, Codebook]) -> None:
    """At level 1 the state notes show top-level states only."""
    session, _ = nested
    states = [s for _, s in _sequence_states(sequence_diagram(session, level=1))]
    assert states == ["A", "B", "A", "B", "C", "A"]


def test_sequence_interleaves_sessions_by_time(recorder: Recorder, jar: Path) -> None:
    """Two sessions of one run sit side by side, their moves in the order they happened."""
    order = RecordedMachine(
        states=["new", "paid"], transitions=[["pay", "new", "paid"]], initial="new",
        recorder=recorder, name="Order", session_id="o-1",
    )  # fmt: skip
    payment = RecordedMachine(
        states=["open", "done"], transitions=[["settle", "open", "done"]], initial="open",
        recorder=recorder, name="Payment", session_id="p-1",
    )  # fmt: skip
    payment.trigger("settle")
    order.trigger("pay")
    sessions = sorted(_sessions(recorder), key=lambda s: s.machine)
    text = _checked(sequence_diagram(sessions), jar)
    assert 'participant "Order o-1" as s0' in text
    assert 'participant "Payment p-1" as s1' in text
    assert _sequence_states(text) == [("s0", "new"), ("s1", "open"), ("s1", "done"), ("s0", "paid")]


def test_sequence_folds_ten_thousand_cycles(recorder: Recorder, jar: Path) -> None:
    """The cycling session becomes one `loop 10000 times` group holding three messages."""
    text = _checked(sequence_diagram(_cycling(recorder, 10_000)), jar)
    lines = text.splitlines()
    assert lines.count("loop 10000 times") == 1
    body = lines[lines.index("loop 10000 times") + 1 : lines.index("end")]
    assert [line for line in body if line.startswith("caller")] == [
        "caller -> s0 : start", "caller -> s0 : finish", "caller -> s0 : reset",
    ]  # fmt: skip


# -- state -----------------------------------------------------------------------------------------
def _state_boxes(text: str, separator: str) -> dict[str, str]:
    """Full state name -> inline style, rebuilt from the nesting of `state ... {` blocks."""
    aliases: dict[str, str] = {}
    stack: list[str] = []
    styles: dict[str, str] = {}
    for line in text.splitlines():
        if match := re.fullmatch(r'state "(.*)" as (\w+) (\S+?)( \{)?', line):
            name = separator.join([*stack, _decode(match[1])])
            aliases[match[2]], styles[name] = name, match[3]
            if match[4]:
                stack.append(_decode(match[1]))
        elif line == "}":
            stack.pop()
    return styles


def test_state_diagram_overlays_the_path(nested: tuple[Session, Codebook], jar: Path) -> None:
    """Every codebook state is drawn; visited ones coloured by what happened, B_3_x greyed."""
    session, codebook = nested
    text = _checked(state_diagram(session, codebook), jar)
    styles = _state_boxes(text, "_")
    assert sorted(styles) == sorted(codebook.states)
    assert styles["B_3_x"].startswith(puml.UNVISITED)
    assert styles["C"].startswith(puml.REJECTED)
    assert styles["A"].startswith(puml.EXCEPTION)
    for name in ("B", "B_1", "B_2", "B_3", "B_3_y"):
        assert styles[name].startswith(puml.VISITED), name
    assert re.search(rf"-\[#2E7D32,bold\]-> \w+ : go 1{puml.TIMES}$", text, re.MULTILINE)
    assert re.search(r"-\[#BDBDBD\]-> \w+ : <color:#9E9E9E>t</color>$", text, re.MULTILINE)
    assert re.search(rf"-\[#2E7D32,dashed\]-> \w+ : to_C 1{puml.TIMES}$", text, re.MULTILINE)
    assert b"<svg" in render(text, "svg", jar=jar)[:200]


def test_state_diagram_level_one(nested: tuple[Session, Codebook], jar: Path) -> None:
    """At level 1 only top-level states remain, with the parent transitions."""
    session, codebook = nested
    text = _checked(state_diagram(session, codebook, level=1), jar)
    assert sorted(_state_boxes(text, "_")) == ["A", "B", "C"]
    assert "{" not in text.split("title", 1)[1]


DIAGRAMS: list[Callable[[Session], str]] = [activity_diagram, sequence_diagram]


@pytest.mark.parametrize("draw", DIAGRAMS)
def test_empty_window_is_still_valid(
    nested: tuple[Session, Codebook], jar: Path, draw: Callable[[Session], str]
) -> None:
    """A window with no steps draws an empty but valid diagram."""
    session, _ = nested
    text = draw(session.window(0, 1))
    check_syntax(text, jar=jar)
    assert _activity_states(text, "_") == []
