"""Where encoded frames go: a protocol, a Redis sink for production, a memory sink for tests."""

from __future__ import annotations

from fsm_recorder.sinks.base import Sink
from fsm_recorder.sinks.memory import MemorySink
from fsm_recorder.sinks.redis import RedisSink

__all__ = ["MemorySink", "RedisSink", "Sink"]
