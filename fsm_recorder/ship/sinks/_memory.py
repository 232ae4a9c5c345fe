"""An in-process sink for tests, the way httpx ships a MockTransport."""

from __future__ import annotations

import threading
from collections.abc import Sequence


class MemorySink:
    """Keeps every frame in a list; thread-safe, never fails."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.records = 0
        self._lock = threading.Lock()

    def write(self, frames: Sequence[bytes], records: int) -> None:
        """Append the frames."""
        with self._lock:
            self.frames.extend(frames)
            self.records += records

    def clear(self) -> None:
        """Forget everything written so far (the pytest fixture resets per test)."""
        with self._lock:
            self.frames.clear()
            self.records = 0

    def close(self) -> None:
        """Nothing to release."""

    def after_fork(self) -> None:
        """A child starts with its own lock; the frames list is a copy of the parent's."""
        self._lock = threading.Lock()
