"""The sink protocol: the writer hands it whole frames; it stores them or raises SinkError."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Sink(Protocol):
    """Stores encoded frames. `write` is all or nothing: on `SinkError` nothing counts as stored."""

    def write(self, frames: Sequence[bytes], records: int) -> None:
        """Store `frames` (holding `records` records in all) or raise `SinkError`."""

    def close(self) -> None:
        """Release connections; later writes may raise `SinkError`."""

    def after_fork(self) -> None:
        """Drop state inherited from the parent process (connections, locks)."""
