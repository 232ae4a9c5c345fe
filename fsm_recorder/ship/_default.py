"""The process-wide recorder, for machines given none, and the in-memory one tests use."""

from __future__ import annotations

import threading

from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink

_default: Recorder | None = None
_default_lock = threading.Lock()


def get_default_recorder() -> Recorder:
    """The process-wide recorder machines use when given none (created on first use)."""
    global _default  # noqa: PLW0603 - the process-wide default is the point
    with _default_lock:
        if _default is None:
            _default = Recorder()
        return _default


def set_default_recorder(recorder: Recorder | None) -> Recorder | None:
    """Replace the process-wide recorder (None: create a fresh one on next use); returns the old."""
    global _default
    with _default_lock:
        previous, _default = _default, recorder
        return previous


def memory_recorder(**kwargs: object) -> Recorder:
    """A recorder into a `MemorySink`, synchronous so tests see records at once."""
    options: dict[str, object] = {"mode": "sync", **kwargs}
    return Recorder(sink=MemorySink(), **options)  # type: ignore[arg-type]
