"""Where encoded frames go: a protocol, a Redis sink for production, a memory sink for tests."""

from __future__ import annotations

from fsm_recorder.ship.sinks._base import Sink
from fsm_recorder.ship.sinks._memory import MemorySink
from fsm_recorder.ship.sinks._redis import RedisSink

__all__ = ["MemorySink", "RedisSink", "Sink"]
