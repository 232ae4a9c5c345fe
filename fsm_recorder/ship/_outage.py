"""The recorder's own trouble, told in the log: records that stop reaching the sink.

The outbox counts every failed write (`RecorderStats.errors`), but nobody reads counters while an
application runs. So the first failure is one WARNING on the ``fsm_recorder`` logger saying where
records do not go, what to do and where they wait; while the outage lasts at most one line per
`every` seconds follows; the first write that gets through says so in one last line (also at
WARNING, so that whoever saw the warning sees its end). Lines come from the writer thread (in
sync mode from the trigger's shipping step), never from the hot path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fsm_recorder import config
from fsm_recorder.ship.sinks._base import Sink

LOGGER = logging.getLogger("fsm_recorder")
EVERY = 60.0


def sink_target(sink: Sink) -> tuple[str, str]:
    """Where `sink` writes (a URL without its password, else its type) and what to check."""
    url = getattr(sink, "url", None)
    if not isinstance(url, str):
        return type(sink).__name__, "check the sink"
    if url.startswith("unix://"):
        return config.redact(url), "is the server running? `fsm-recorder server start`"
    return config.redact(url), "is that Redis up and reachable from here?"


class OutageLog:
    """Turns a run of failed deliveries into three kinds of log line: first, ongoing, recovered.

    Args:
        target: Where records should go, as the lines name it.
        hint: What to check first, for the first line.
        clock: Monotonic seconds (tests pass their own to step through the rate limit).
        every: Seconds between lines while the outage lasts.
    """

    def __init__(
        self,
        target: str,
        hint: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        every: float = EVERY,
    ) -> None:
        self.target = target
        self.hint = hint
        self._clock = clock
        self._every = every
        self._began: float | None = None
        self._last_line = 0.0
        self._failures = 0

    @classmethod
    def for_sink(cls, sink: Sink, *, clock: Callable[[], float] = time.monotonic) -> OutageLog:
        """The log of `sink`'s outages."""
        target, hint = sink_target(sink)
        return cls(target, hint, clock=clock)

    @property
    def ongoing(self) -> bool:
        """Whether the last delivery failed."""
        return self._began is not None

    def failed(self, error: Exception, situation: Callable[[], str]) -> None:
        """A delivery failed; `situation` (called only for a line) says where the records wait."""
        now = self._clock()
        self._failures += 1
        if self._began is None:
            self._began = self._last_line = now
            LOGGER.warning(
                "records are not reaching %s: %s; %s (%s)",
                self.target,
                self.hint,
                situation(),
                error,
            )
        elif now - self._last_line >= self._every:
            self._last_line = now
            LOGGER.warning(
                "records are still not reaching %s after %.0f s (%d failed attempts): %s (%s)",
                self.target,
                now - self._began,
                self._failures,
                situation(),
                error,
            )

    def delivered(self) -> None:
        """A delivery got through: end the outage with one line, if there was one."""
        if self._began is None:
            return
        LOGGER.warning(
            "records reach %s again, after %.1f s and %d failed attempts",
            self.target,
            self._clock() - self._began,
            self._failures,
        )
        self._began = None
        self._failures = 0
