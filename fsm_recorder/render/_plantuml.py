"""The PlantUML language as the renderers need it: escaping, colours, times, the frame of a diagram.

Names come from user code and may hold anything (quotes, `;`, `|`, creole markup such as `**` or
`<color>`, newlines). `text` turns every character that could end a PlantUML element or start
markup into a numeric character reference (`&#34;`), which PlantUML decodes in names, labels and
notes alike, so a name is always drawn exactly as recorded and never changes the syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Literal

Timestamps = Literal["absolute", "elapsed"]

# Colours of the marks, shared by every kind of diagram so that they read the same everywhere.
REJECTED = "#FFE0B2"
EXCEPTION = "#FFCDD2"
EXCEPTION_LINE = "#C62828"
REJECTED_LINE = "#E65100"
VISITED = "#C8E6C9"
VISITED_LINE = "#2E7D32"
UNVISITED = "#F5F5F5"
UNVISITED_LINE = "#BDBDBD"
UNVISITED_TEXT = "#9E9E9E"
TIMES = "\N{MULTIPLICATION SIGN}"

# Word characters, non-ASCII symbols (not line separators) and a few harmless ones pass; doubled
# `_`/`-` (creole underline/strike), leading/trailing blanks (PlantUML strips them) and everything
# else become references.
_SPECIAL = re.compile(r"_{2,}|-{2,}|^\s|\s$|[^\w .,+()!?$%@'=\u00a1-\u2027\u2030-\uffff-]")
_STYLE = """\
skinparam shadowing false
skinparam defaultFontName Helvetica
skinparam ArrowColor #455A64
skinparam NoteBorderColor #B0BEC5
skinparam NoteBackgroundColor #FFFDE7"""


def text(value: str) -> str:
    """Escape `value` for any PlantUML text position (name, label, note, condition)."""
    return _SPECIAL.sub(lambda m: "".join(_reference(c) for c in m.group()), value)


def _reference(char: str) -> str:
    # PlantUML 1.2025 crashes on `&#92;` (a backslash in a Java regex replacement); its
    # `<U+005C>` form reads the same in every release.
    return "<U+005C>" if char == "\\" else f"&#{ord(char)};"


def lines(*parts: str) -> str:
    """Join already escaped lines of one label with PlantUML's line break `\\n`."""
    return "\\n".join(part for part in parts if part)


def document(title: str, body: Iterable[str], *, extra: Iterable[str] = ()) -> str:
    """Wrap diagram lines in @startuml/@enduml with the shared style and an escaped title."""
    head = ["@startuml", _STYLE, *extra, f"title {text(title)}"]
    return "\n".join([*head, *body, "@enduml", ""])


def stamp(ts: int, origin: int, mode: Timestamps | None) -> str:
    """The time of a step as shown on a label (escaped): see `moment`."""
    return text(moment(ts, origin, mode))


def moment(ts: int, origin: int, mode: Timestamps | None) -> str:
    """The time of a step as a label shows it: offset from `origin`, wall clock, or nothing."""
    if mode is None:
        return ""
    if mode == "elapsed":
        return elapsed(ts - origin)
    return clock(ts)


def elapsed(ns: int) -> str:
    """A duration in the unit that keeps it short: `+850 ns`, `+12.3 µs`, `+4.56 ms`, `+1.234 s`."""
    for unit, size in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if abs(ns) >= size:
            return f"+{ns / size:.4g} {unit}"
    return f"+{ns} ns"


def clock(ts: int) -> str:
    """Wall-clock time (UTC) of a ns timestamp, to the microsecond."""
    moment = datetime.fromtimestamp(ts // 1000 / 10**6, tz=timezone.utc)
    return moment.strftime("%H:%M:%S.%f")


def date(ts: int) -> str:
    """ISO date and time (UTC) of a ns timestamp, for titles."""
    moment = datetime.fromtimestamp(ts // 10**9, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
