"""PlantUML text primitives: escaping of arbitrary names, time labels."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from fsm_recorder.render._plantuml import document, elapsed, text

ODD = 'a "quoted" ; name | with **bold** <color:red> [x] {y} \\n --strike-- __u__ ~ & #1'


def _decode(escaped: str) -> str:
    """What PlantUML shows for numeric character references."""
    escaped = re.sub(r"<U\+([0-9A-F]{4})>", lambda m: chr(int(m.group(1), 16)), escaped)
    return re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), escaped)


def test_text_leaves_plain_names_readable() -> None:
    """Ordinary state names, nested names and non-ASCII letters pass unchanged."""
    assert text("Idle") == "Idle"
    assert text("B_3_y") == "B_3_y"
    assert text("größe-1.2 (ok)") == "größe-1.2 (ok)"


def test_text_escapes_every_syntax_character() -> None:
    """Quotes, terminators, backslashes and creole markup become character references."""
    escaped = text(ODD)
    # What PlantUML parses besides the references (`<U+005C>` is how a backslash is written).
    bare = re.sub(r"&#\d+;|<U\+005C>", "", escaped)
    for raw in ['"', ";", "|", "**", "<", ">", "[", "]", "{", "}", "\\", "--", "__", "~", "#"]:
        assert raw not in bare, raw
    assert _decode(escaped) == ODD


@given(st.text())
def test_text_round_trips_through_references(value: str) -> None:
    """Whatever the name, decoding PlantUML's references gives it back, and no line breaks."""
    escaped = text(value)
    assert "\n" not in escaped
    assert '"' not in escaped
    assert _decode(escaped) == value


def test_elapsed_picks_a_short_unit() -> None:
    """Durations print in the largest unit that fits."""
    assert elapsed(850) == "+850 ns"
    assert elapsed(12_300) == "+12.3 µs"
    assert elapsed(4_560_000) == "+4.56 ms"
    assert elapsed(1_234_000_000) == "+1.234 s"


def test_document_frames_and_escapes_the_title() -> None:
    """A document starts with @startuml, ends with @enduml, and escapes its title."""
    lines = document('M "x"', ["start"]).splitlines()
    assert lines[0] == "@startuml"
    assert lines[-1] == "@enduml"
    assert "title M &#34;x&#34;" in lines
