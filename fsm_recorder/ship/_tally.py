"""The recorder's books: every record it did not deliver, by reason, and its own errors.

The invariant ``produced == written + dropped + pending`` holds because each lost record is
counted here exactly once, where it was lost. `produced` is counted on its own (records taken
from the buffer, records refused by it, records still in it), never derived from the other
three, so a record the outbox forgets breaks the invariant instead of hiding in it. Records lost
before framing never get a sequence number, so the next frame leaves a gap for them
(`take_gap`). Errors that cost no record are counted too; the writer's own failures are also
told on the ``fsm_recorder`` logger (first one at WARNING with its traceback, then at most one
line per minute), never from the hot path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from fsm_recorder.ship._outbox import PreviousRun

LOGGER = logging.getLogger("fsm_recorder")
EVERY = 60.0


@dataclass(frozen=True)
class RecorderStats:
    """Counts of one producer. Invariant: produced == written + dropped + pending.

    `pending` includes `spilled` (records in the local spill file, replayed when the sink
    returns). `previous` reports earlier producers of the same name that died before delivering
    everything (see `PreviousRun`); their records are not in this producer's counts.
    """

    producer: str
    produced: int
    written: int
    dropped: int
    pending: int
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    spilled: int = 0
    previous: tuple[PreviousRun, ...] = ()


class Tally:
    """Thread-safe counts of one producer's losses and errors.

    Args:
        clock: Monotonic seconds (tests pass their own to step through the rate limit).
        every: Seconds between log lines about the same kind of error.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, every: float = EVERY):
        self._lock = threading.Lock()
        self._clock = clock
        self._every = every
        self._dropped: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._total = 0
        self._taken = 0
        self._refused = 0
        self._unframed = 0
        self._gap_accounted = 0
        self._told: dict[str, tuple[float, int]] = {}

    def taken(self, records: int) -> None:
        """Records the writer took from the buffer (to frame them, or to lose them doing so)."""
        with self._lock:
            self._taken += records

    def produced(self, buffered: int) -> int:
        """Every record made so far, given the records still in the buffer."""
        with self._lock:
            return self._taken + self._refused + buffered

    def refused(self, reason: str, records: int) -> None:
        """Records that never entered the buffer (full, too large): lost before framing."""
        with self._lock:
            self._refused += records
        self.unframed(reason, records)

    def unframed(self, reason: str, records: int) -> None:
        """Records lost before framing: they never get a sequence number (a gap)."""
        with self._lock:
            self._dropped[reason] += records
            self._total += records
            self._unframed += records

    def framed(self, reason: str, records: int) -> None:
        """Framed records lost on the way to the sink (their numbers are taken)."""
        with self._lock:
            self._dropped[reason] += records
            self._total += records

    def take_gap(self) -> int:
        """Records lost before framing since the last call: the gap after the next frame."""
        with self._lock:
            gap = self._unframed - self._gap_accounted
            self._gap_accounted += gap
            return gap

    def note(self, where: str, error: BaseException | None = None) -> None:
        """Count an error that cost no record by itself; an `error` from the writer is logged."""
        with self._lock:
            self._errors[where] += 1
        if error is not None:
            self._tell(where, error)

    @property
    def total(self) -> int:
        """All records counted as lost."""
        with self._lock:
            return self._total

    def snapshot(self) -> tuple[dict[str, int], dict[str, int], int]:
        """Lost records by reason, errors by place, and the lost total, taken together."""
        with self._lock:
            return dict(self._dropped), dict(self._errors), self._total

    def _tell(self, where: str, error: BaseException) -> None:
        now = self._clock()
        with self._lock:
            last, since = self._told.get(where, (None, 0))
            if last is not None and now - last < self._every:
                self._told[where] = (last, since + 1)
                return
            self._told[where] = (now, 0)
        if last is None:
            LOGGER.warning(
                "fsm-recorder's writer failed (%s): %s; the records it held are counted as lost "
                "in Recorder.stats().dropped_by_reason, recording goes on. This is a bug: please "
                "report it with this traceback",
                where,
                _describe(error),
                exc_info=error,
            )
        else:
            LOGGER.warning(
                "fsm-recorder's writer failed again (%s): %s (%d more times since the last line)",
                where,
                _describe(error),
                since + 1,
            )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
