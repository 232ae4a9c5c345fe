"""How the writer thread gets frames to the sink: in order, retried, spilled, every record counted.

A frame the sink refuses stays in an in-memory backlog (bounded in records); frames beyond that
bound move, oldest first, to the producer's spill file (bounded in bytes); frames beyond that are
lost and counted as ``spill_full`` (``sink_unavailable`` when spilling is off). While anything
is spilled, new frames wait behind it, so the sink receives every producer's frames in order.

A failure that took long (a hanging server: the sink's socket timeout) leaves the sink alone for
a growing pause (0.1 s up to 2 s) instead of trying it every cycle, so it costs the writer one
timeout per pause, not per cycle. A fast failure (connection refused, out of memory) costs
nothing and is retried at the next cycle.

Delivery is at-least-once: a write that timed out may still have been applied by the server, and
is then written again. Readers deduplicate by (producer, seq), so a repeated frame never shows as
a repeated step.

A failing sink is counted (``errors["sink"]``) and told in the ``fsm_recorder`` log by `OutageLog`:
first failure, at most once a minute while it lasts, recovery. Logging never raises into the
writer: a broken log handler is counted as ``errors["log"]``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError, SinkError
from fsm_recorder.format import _wire as wire
from fsm_recorder.ship._outage import OutageLog
from fsm_recorder.ship.sinks._base import Sink
from fsm_recorder.ship.sinks._spill import Checkpoint, SpillFile

REPLAY_BYTES = 1 << 20
_FIRST_PAUSE = 0.1
_MAX_PAUSE = 2.0
_SLOW = 0.05
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
Lose = Callable[[str, int], None]
Note = Callable[[str], None]


@dataclass(frozen=True)
class PreviousRun:
    """A producer of the same name that ended without delivering everything (killed, or the sink
    was down at exit), as its checkpoint and spill file tell.

    Attributes:
        name: The recorder name (``_`` for unnamed recorders).
        producer: Its producer identity (hex): the records in Redis carry it.
        pid: Its process.
        numbered: Records it had framed at its last checkpoint.
        written: Of those, records its sink had confirmed.
        lost: Records it had counted as lost (any reason).
        recovered: Records found in its spill file and now written by this recorder.
        unaccounted: Framed records neither written, counted nor spilled: its in-memory backlog
            when it died. Records produced after its last checkpoint (at most one writer cycle)
            are not even numbered and cannot be known.
    """

    name: str
    producer: str
    pid: int
    numbered: int
    written: int
    lost: int
    recovered: int
    unaccounted: int


def check_name(name: str | None) -> str:
    """The file-name-safe recorder name (``_`` for none); a bad one is a `ConfigError`."""
    if name is None:
        return "_"
    if not _NAME.fullmatch(name):
        raise ConfigError(f"recorder name {name!r}: use 1-64 letters, digits, '_' or '-'")
    return name


class Outbox:
    """The writer's outbox: backlog, spill file, orphan spills of dead producers, checkpoint."""

    def __init__(
        self,
        sink: Sink,
        *,
        name: str,
        backlog_records: int,
        spill_dir: Path | None,
        spill_bytes: int,
        lose: Lose,
        note: Note,
        outage: OutageLog | None = None,
    ) -> None:
        self.sink = sink
        self.outage = outage if outage is not None else OutageLog.for_sink(sink)
        self._writes = 0  # sink writes that succeeded: whether a cycle proved the sink works
        self.name = name
        self._backlog_cap = backlog_records
        self._spill_dir = spill_dir
        self._spill_bytes = spill_bytes
        self._lose = lose
        self._note = note
        self.previous: list[PreviousRun] = []
        self._orphans: list[SpillFile] | None = None if spill_dir else []
        self.reset()

    def reset(self) -> None:
        """Start empty (a new producer, e.g. in a forked child: the parent delivers its own)."""
        self.written = 0
        self.lost = 0
        self._backlog: list[tuple[bytes, int]] = []
        self.backlog_records = 0
        self._left_spilled = 0
        self._spill: SpillFile | None = None
        self._retry_at = 0.0
        self._pause = _FIRST_PAUSE

    def after_fork(self) -> None:
        """In a child: let go of the parent's files (its locks stay with the parent)."""
        for spill in [*(self._orphans or []), *([self._spill] if self._spill else [])]:
            spill.close()
        self._orphans = [] if self._orphans is not None else None
        self.previous = []
        self.reset()

    @property
    def pending(self) -> int:
        """Records framed and neither written nor lost: backlog plus own spill file."""
        return self.backlog_records + self.spilled

    @property
    def spilled(self) -> int:
        """Records waiting in this producer's spill file (left for the next start once closed)."""
        return self._spill.records if self._spill else self._left_spilled

    def add(self, frame: bytes, records: int) -> None:
        """Queue a frame behind everything queued before it."""
        self._backlog.append((frame, records))
        self.backlog_records += records

    # -- one cycle ------------------------------------------------------------------------------
    def deliver(self, *, force: bool = False) -> None:
        """Try the sink (unless it failed moments ago), then bound the backlog. Never raises."""
        began = time.monotonic()
        if not (force or began >= self._retry_at):
            self._trim_backlog(self._backlog_cap)
            return
        failure: SinkError | None = None
        writes = self._writes
        try:
            self._adopt_orphans()
            self._replay_orphans()
            self._replay_own()
            self._write_backlog()
        except SinkError as exc:
            failure = exc
            self._note("sink")
            self._back_off(time.monotonic() - began)
        else:
            self._pause = _FIRST_PAUSE
        self._trim_backlog(self._backlog_cap)
        # A cycle that had nothing to write proves nothing about the sink.
        if failure is not None or self._writes > writes:
            self._tell(failure)

    def _tell(self, failure: SinkError | None) -> None:
        """Log an outage's start, progress or end (after trimming: spill counts are current)."""
        try:
            if failure is None:
                self.outage.delivered()
            else:
                self.outage.failed(failure, self._situation)
        except Exception:  # a broken log handler must not stop the writer; it is counted
            self._note("log")

    def _situation(self) -> str:
        """Where the undelivered records are, for the log."""
        parts = [f"{self.backlog_records} records waiting in memory"]
        if self._spill is not None and self._spill.records:
            parts.append(f"{self._spill.records} spilled to {self._spill.data_path}")
        elif self._spill_dir is None:
            parts.append("spilling is off: records beyond the backlog are lost")
        if self.lost:
            parts.append(f"{self.lost} lost so far (Recorder.stats() has the reasons)")
        return ", ".join(parts)

    def _back_off(self, spent: float) -> None:
        if spent < _SLOW:
            return
        self._retry_at = time.monotonic() + self._pause
        self._pause = min(2 * self._pause, _MAX_PAUSE)

    def _write_backlog(self) -> None:
        if not self._backlog:
            return
        self.sink.write([frame for frame, _ in self._backlog], self.backlog_records)
        self._writes += 1
        self.written += self.backlog_records
        self._backlog.clear()
        self.backlog_records = 0

    def _trim_backlog(self, keep: int) -> None:
        """Move the oldest frames beyond `keep` records to the spill file, or count them lost."""
        cut = 0
        excess = self.backlog_records
        while cut < len(self._backlog) and excess > keep:
            excess -= self._backlog[cut][1]
            cut += 1
        if not cut:
            return
        moved, self._backlog = self._backlog[:cut], self._backlog[cut:]
        self.backlog_records = excess
        taken, reason = self._spill_frames([frame for frame, _ in moved])
        lost = sum(records for _, records in moved[taken:])
        if lost:
            self._lose(reason, lost)
            self.lost += lost

    def _spill_frames(self, frames: list[bytes]) -> tuple[int, str]:
        """Append to the own spill file: (frames taken, reason to count the rest under)."""
        spill = self._own_spill()
        if spill is None:
            return 0, "sink_unavailable" if self._spill_dir is None else "spill_error"
        try:
            return spill.append(frames), "spill_full"
        except SinkError:
            self._note("spill")
            return 0, "spill_error"

    def _own_spill(self) -> SpillFile | None:
        if self._spill is None and self._spill_dir is not None:
            stem = f"{self.name}.{time.time_ns():x}"
            try:
                self._spill = SpillFile.create(self._spill_dir, stem, self._spill_bytes)
            except SinkError:
                self._note("spill")
        return self._spill

    # -- replays --------------------------------------------------------------------------------
    def _replay(self, spill: SpillFile) -> int:
        """Write a spill file's frames to the sink in chunks, oldest first; returns records."""
        done = 0
        while spill.records > 0:
            frames, offset = spill.pending(REPLAY_BYTES)
            if not frames:
                break  # a torn tail: those records are unaccounted for
            records = sum(wire.announced_records(frame) for frame in frames)
            self.sink.write(frames, records)
            self._writes += 1
            spill.replayed(offset, records)
            done += records
        return done

    def _replay_own(self) -> None:
        if self._spill is not None:
            self.written += self._replay(self._spill)

    def _adopt_orphans(self) -> None:
        # Once, at the first cycle that reaches the sink: orphans of later deaths are for the
        # next recorder to start.
        if self._orphans is None and self._spill_dir is not None:
            self._orphans = SpillFile.orphans(self._spill_dir, f"{self.name}.", self._spill_bytes)

    def _replay_orphans(self) -> None:
        while self._orphans:
            orphan = self._orphans[0]
            self._replay(orphan)
            self.previous.append(_report(orphan))
            orphan.remove()
            self._orphans.pop(0)

    # -- checkpoint and close -------------------------------------------------------------------
    def checkpoint(self, checkpoint: Checkpoint) -> None:
        """Persist the producer's counts (spill enabled only); a failure is noted, not raised."""
        spill = self._own_spill()
        if spill is None:
            return
        replayed = spill.checkpoint.replayed
        try:
            spill.save(Checkpoint(**{**checkpoint.__dict__, "replayed": replayed}))
        except SinkError:
            self._note("spill")

    def close(self, checkpoint: Checkpoint) -> None:
        """Spill whatever the sink did not take, then leave the files for the next start."""
        self._trim_backlog(0)
        if self._spill is None:
            return
        if self._spill.records == 0:
            self._spill.remove()
        else:
            self.checkpoint(checkpoint)
            self._spill.close()
            self._left_spilled = self._spill.records
        self._spill = None


def _report(orphan: SpillFile) -> PreviousRun:
    cp = orphan.checkpoint
    recovered = orphan.found_records - orphan.records
    return PreviousRun(
        name=orphan.name.rsplit(".", 1)[0],
        producer=cp.producer.hex(),
        pid=cp.pid,
        numbered=cp.numbered,
        written=cp.written,
        lost=cp.lost,
        recovered=recovered,
        unaccounted=max(0, cp.numbered - cp.written - cp.lost - recovered),
    )


def spill_dir(spill: str | os.PathLike[str] | bool | None, *, default: bool) -> Path | None:
    """The spill directory `spill` asks for: None follows `default`, True the runtime dir."""
    if spill is None:
        spill = default
    if spill is True:
        return config.runtime_dir() / "spill"
    if spill is False:
        return None
    return Path(spill)
