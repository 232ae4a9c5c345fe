"""fsm-recorder: state machines with a built-in flight recorder.

Machines built from these classes record every step, encoded through a codebook, into this host's
Redis; the drain archives them, and readers decode them back into `Session`s to show, draw and
replay. Every public name is importable from here. The public submodules are:

- `fsm_recorder.exceptions`: the exception tree;
- `fsm_recorder.config`: where things live on a host (runtime directory, socket, codebook store);
- `fsm_recorder.render`: PlantUML diagrams of sessions, and images made from them;
- `fsm_recorder.testing`: assertion helpers for tests of recorded machines;
- `fsm_recorder.pytest_plugin`: the pytest plugin (entry point ``pytest11``);
- `fsm_recorder.cli`: the ``fsm-recorder`` command.

Everything else is engine, grouped by stage (docs/architecture.md): `format` (wire format and
codebooks, shared by both halves), `record` and `ship` (inside the application process), `host`
(the per-host server), `store` (the drain and archive), `read`, `render` and `replay`; their
modules are private (``_name.py``) and may change without notice.
"""

from __future__ import annotations

from fsm_recorder.exceptions import (
    ArchiveError,
    CodebookError,
    ConfigError,
    DecodeError,
    FsmRecorderError,
    RenderError,
    ReplayError,
    ServerError,
    SinkError,
)
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._crypto import KeyRing, PrivateKey, PublicKey
from fsm_recorder.read._decoder import SessionDecoder, decode_sessions
from fsm_recorder.read._load import find_session, list_sessions, load_sessions
from fsm_recorder.read._query import SessionFilter
from fsm_recorder.read._session import Session, Step
from fsm_recorder.record._declarative import (
    Event,
    NestedStateMachine,
    State,
    StateMachine,
)
from fsm_recorder.record._machines import (
    RecordedAsyncMachine,
    RecordedHierarchicalAsyncMachine,
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.record._retrofit import record
from fsm_recorder.replay._replay import ReplayReport, replay
from fsm_recorder.ship._default import get_default_recorder, memory_recorder, set_default_recorder
from fsm_recorder.ship._lifecycle import close_all
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship._tally import RecorderStats
from fsm_recorder.ship.sinks import MemorySink, RedisSink, Sink

__all__ = [
    "ArchiveError",
    "Codebook",
    "CodebookError",
    "CodebookStore",
    "ConfigError",
    "DecodeError",
    "Event",
    "FsmRecorderError",
    "KeyRing",
    "MemorySink",
    "NestedStateMachine",
    "PrivateKey",
    "PublicKey",
    "RecordedAsyncMachine",
    "RecordedHierarchicalAsyncMachine",
    "RecordedHierarchicalMachine",
    "RecordedMachine",
    "Recorder",
    "RecorderStats",
    "RedisSink",
    "RenderError",
    "ReplayError",
    "ReplayReport",
    "ServerError",
    "Session",
    "SessionDecoder",
    "SessionFilter",
    "Sink",
    "SinkError",
    "State",
    "StateMachine",
    "Step",
    "close_all",
    "decode_sessions",
    "find_session",
    "get_default_recorder",
    "list_sessions",
    "load_sessions",
    "memory_recorder",
    "record",
    "replay",
    "set_default_recorder",
]
