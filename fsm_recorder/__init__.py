"""fsm-recorder: state machines with a built-in flight recorder.

Machines built from these classes record every step, encoded through a codebook, into this host's
Redis; the drain archives them, and readers decode them back into `Session`s to show, draw and
replay. Everything public is importable from here; submodules are implementation.
"""

from __future__ import annotations

from fsm_recorder.codebook import Codebook
from fsm_recorder.codebook_store import CodebookStore
from fsm_recorder.declarative import Event, NestedStateMachine, State, StateMachine
from fsm_recorder.decode import SessionDecoder, decode_sessions
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
from fsm_recorder.machine import (
    RecordedAsyncMachine,
    RecordedHierarchicalAsyncMachine,
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.reading import load_sessions
from fsm_recorder.recorder import (
    Recorder,
    RecorderStats,
    get_default_recorder,
    memory_recorder,
    set_default_recorder,
)
from fsm_recorder.replay import ReplayReport, replay
from fsm_recorder.retrofit import record
from fsm_recorder.session import Session, Step
from fsm_recorder.sinks import MemorySink, RedisSink, Sink

__all__ = [
    "ArchiveError",
    "Codebook",
    "CodebookError",
    "CodebookStore",
    "ConfigError",
    "DecodeError",
    "Event",
    "FsmRecorderError",
    "MemorySink",
    "NestedStateMachine",
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
    "Sink",
    "SinkError",
    "State",
    "StateMachine",
    "Step",
    "decode_sessions",
    "get_default_recorder",
    "load_sessions",
    "memory_recorder",
    "record",
    "replay",
    "set_default_recorder",
]
