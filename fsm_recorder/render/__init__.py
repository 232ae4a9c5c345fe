"""Drawing recorded sessions: PlantUML text, and images made from it by a local jar or a server.

text = activity_diagram(session, level=1, timestamps="elapsed")
write_diagram(text, Path("session.svg"))   # writes session.puml and session.svg

Mermaid (`mermaid_state_diagram`, `mermaid_sequence_diagram`) and Chrome traces for Perfetto
(`perfetto_trace`) take the same filters.
"""

from fsm_recorder.read._time import parse_time
from fsm_recorder.render._activity import activity_diagram
from fsm_recorder.render._filters import narrow, parse_steps
from fsm_recorder.render._fold import Loop, fold
from fsm_recorder.render._image import check_syntax, render, write_diagram
from fsm_recorder.render._jar import find_jar
from fsm_recorder.render._mermaid import mermaid_sequence_diagram, mermaid_state_diagram
from fsm_recorder.render._perfetto import perfetto_trace
from fsm_recorder.render._plantuml import Timestamps
from fsm_recorder.render._plantuml_server import PlantUMLServer
from fsm_recorder.render._sequence import sequence_diagram
from fsm_recorder.render._state import state_diagram
from fsm_recorder.render._visits import Visit, state_visits

__all__ = [
    "Loop",
    "PlantUMLServer",
    "Timestamps",
    "Visit",
    "activity_diagram",
    "check_syntax",
    "find_jar",
    "fold",
    "mermaid_sequence_diagram",
    "mermaid_state_diagram",
    "narrow",
    "parse_steps",
    "parse_time",
    "perfetto_trace",
    "render",
    "sequence_diagram",
    "state_diagram",
    "state_visits",
    "write_diagram",
]
