"""The drain: move frames from this host's Redis stream into the archive, exactly once.

Delivery is at-least-once out of Redis and exactly-once into the archive:

1. Frames are read through a consumer group (XREADGROUP), so every frame a drain takes stays
   in the group's pending list until it is acknowledged; pending frames of a drain that died are
   taken over with XAUTOCLAIM once idle for `claim_idle` seconds.
2. A batch is committed to the archive in one transaction keyed by (producer, seq), so replaying
   it (after a crash between commit and acknowledgement) inserts nothing twice.
3. Only after COMMIT returns does one Lua script XACK + XDEL the entries and lower the held-records
   counter by the records of the entries it actually deleted: two drains racing on one entry
   never subtract it twice.

A frame that does not decode, or names a codebook the store does not hold, is committed to the
``dead_letters`` table (bytes and reason) and acknowledged like the others: reported, never lost,
never blocking the batch. If the group vanished (Redis restarted empty, FLUSHALL) it is recreated
from id 0, so nothing still in the stream is skipped.

The long-lived drain wakes on a timer and, in between, polls INFO memory every `poll` seconds (one
cheap command, no busy loop): once ``used_memory`` passes the threshold and frames are waiting,
it drains at once.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.exceptions import RedisError, ResponseError

from fsm_recorder import config
from fsm_recorder.exceptions import (
    ArchiveError,
    CodebookError,
    ConfigError,
    DecodeError,
    SinkError,
)
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._crypto import default_keyring
from fsm_recorder.host._client import redis_client
from fsm_recorder.host._settings import redis_size
from fsm_recorder.store._writer import ArchiveWriter, Batch, DeadLetter, WriteResult

GROUP = "drain"
_RETRY_SECONDS = 5.0
_FIRST_READ_FRAMES = 8
Entry = tuple[bytes, dict[bytes, bytes] | None]

# Both scripts run with allow-oom: a full server is when the drain matters most, and there
# XGROUP CREATE and DECRBY would be refused (denyoom) if sent as plain commands.
_GROUP_SCRIPT = """#!lua flags=allow-oom
return redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
"""
# KEYS: stream, held counter. ARGV: group, then (entry id, records) pairs.
_ACK_SCRIPT = """#!lua flags=allow-oom
local deleted = 0
for i = 2, #ARGV, 2 do
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then deleted = deleted + tonumber(ARGV[i + 1]) end
end
if deleted > 0 then redis.call('DECRBY', KEYS[2], deleted) end
return deleted
"""


@dataclass(frozen=True)
class DrainSettings:
    """How a drain runs.

    Attributes:
        archive: Archive URL (``sqlite:///...``, ``postgresql+psycopg://...``) or SQLite path.
        url: Redis URL (default: this host's server).
        prefix: Key prefix in Redis (default `config.key_prefix`).
        batch_frames: Most frames per XREADGROUP and per archive transaction.
        batch_records: Records aimed at per transaction; frames hold from one to tens of
            thousands of records, so the frame count per read follows the recent average.
        interval: Seconds between timer-triggered passes of the long-lived drain.
        max_memory: Drain as soon as Redis uses this much: ``64mb`` or a fraction of maxmemory
            (``0.5``); None means the timer alone.
        poll: Seconds between memory checks while waiting.
        claim_idle: Seconds a pending frame of another drain must sit idle before this one takes
            it over (that drain is presumed dead).
    """

    archive: str
    url: str | None = None
    prefix: str | None = None
    batch_frames: int = 500
    batch_records: int = 100_000
    interval: float = 60.0
    max_memory: str | None = None
    poll: float = 0.1
    claim_idle: float = 30.0

    def __post_init__(self) -> None:
        sizes = (self.batch_frames, self.batch_records, self.interval, self.poll)
        if min(sizes) <= 0 or self.claim_idle < 0:
            raise ConfigError("batch size, interval and poll must be positive")


@dataclass
class DrainStats:
    """Running figures of one drain; `summary` is the ``--json`` output of ``drain --once``."""

    records: int = 0
    duplicates: int = 0
    frames: int = 0
    dead_letters: int = 0
    batches: int = 0
    busy_seconds: float = 0.0
    max_batch_seconds: float = 0.0
    backlog_frames: int = 0
    backlog_records: int = 0
    passes: int = 0
    wakeups: dict[str, int] = field(default_factory=dict)

    @property
    def records_per_second(self) -> float:
        """Records archived per second of drain work (waiting excluded)."""
        return self.records / self.busy_seconds if self.busy_seconds else 0.0

    @property
    def mean_batch_ms(self) -> float:
        """Mean wall time of a batch: read, decode, commit, acknowledge."""
        return 1000 * self.busy_seconds / self.batches if self.batches else 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of every figure."""
        return {
            **asdict(self),
            "records_per_second": round(self.records_per_second),
            "mean_batch_ms": round(self.mean_batch_ms, 2),
            "max_batch_ms": round(1000 * self.max_batch_seconds, 2),
        }


def parse_memory(text: str, maxmemory: int) -> int:
    """Bytes for `text`: a size (``64mb``, Redis units) or a fraction of `maxmemory` (``0.5``)."""
    size = redis_size(text)
    if size is not None:
        return size
    try:
        fraction = float(text)
    except ValueError:
        fraction = -1.0
    if not 0 < fraction <= 1:
        raise ConfigError(f"--max-memory {text!r}: use a size like 64mb or a fraction like 0.5")
    if not maxmemory:
        raise ConfigError(f"--max-memory {text!r} is a fraction, but the server has no maxmemory")
    return int(fraction * maxmemory)


class Drainer:
    """One drain process: a consumer of the host's stream writing into one archive.

    Encrypted frames are opened with `keys` (default `default_keyring()`) and archived in clear.
    """

    def __init__(
        self,
        settings: DrainSettings,
        *,
        codebooks: CodebookStore | None = None,
        keys: wire.Opener | None = None,
        on_batch: Callable[[DrainStats], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.settings = settings
        self.stats = DrainStats()
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._stream = config.stream_key(settings.prefix)
        self._held = config.held_key(settings.prefix)
        self._source = f"{socket.gethostname()} {self._stream}"
        self._codebooks = codebooks if codebooks is not None else CodebookStore()
        self._keys = keys if keys is not None else default_keyring()
        self._on_batch = on_batch or (lambda _: None)
        self._on_error = on_error
        self._redis = redis_client(settings.url, timeout=30.0)
        self._ack = self._redis.register_script(_ACK_SCRIPT)
        self._create_group = self._redis.register_script(_GROUP_SCRIPT)
        self._threshold = self._memory_threshold()
        self.writer = ArchiveWriter(settings.archive)

    def close(self) -> None:
        """Close the Redis and archive connections."""
        self._redis.close()
        self.writer.close()

    def drain(self, stop: threading.Event | None = None) -> DrainStats:
        """One pass: own pending frames, then idle ones of dead drains, then new ones, until none.

        Stops early (after the current batch) when `stop` is set.
        """
        stop = stop or threading.Event()
        self.stats.passes += 1
        self._call(self._ensure_group)
        for read in (self._own_pending, self._claim, self._new):
            while not stop.is_set() and (entries := self._call(read)):
                self._process(entries)
        self._call(self._backlog)
        return self.stats

    def run(self, stop: threading.Event) -> DrainStats:
        """Drain, then wait for the timer or the memory threshold, until `stop` is set.

        A failing Redis or archive is reported to `on_error` and retried after a pause (the
        frames stay pending meanwhile); without `on_error` it is raised.
        """
        while not stop.is_set():
            try:
                self.drain(stop)
                reason = self._wait(stop)
            except (SinkError, ArchiveError) as exc:
                if self._on_error is None:
                    raise
                self._on_error(exc)
                reason = "retry"
                stop.wait(min(self.settings.interval, _RETRY_SECONDS))
            self.stats.wakeups[reason] = self.stats.wakeups.get(reason, 0) + 1
        return self.stats

    def _wait(self, stop: threading.Event) -> str:
        deadline = time.monotonic() + self.settings.interval
        while not stop.is_set():
            if self._call(self._memory_over):
                return "memory"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timer"
            stop.wait(min(self.settings.poll, remaining))
        return "stop"

    def _memory_threshold(self) -> int | None:
        if self.settings.max_memory is None:
            return None
        info = self._call(lambda: self._redis.info("memory"))
        return parse_memory(self.settings.max_memory, int(info["maxmemory"]))

    def _memory_over(self) -> bool:
        if self._threshold is None:
            return False
        pipe = self._redis.pipeline(transaction=False)
        pipe.info("memory")
        pipe.xlen(self._stream)
        memory, length = pipe.execute()
        return int(memory["used_memory"]) >= self._threshold and int(length) > 0

    def _call(self, func: Callable[[], Any]) -> Any:
        try:
            return func()
        except RedisError as exc:
            raise SinkError(f"drain cannot use Redis at {self._redis_name()}: {exc}") from exc

    def _redis_name(self) -> str:
        kwargs = self._redis.get_connection_kwargs()
        return str(kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}")

    def _ensure_group(self) -> None:
        try:
            self._create_group(keys=[self._stream], args=[GROUP])
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _read(self, start: str) -> list[Entry]:
        try:
            reply: Any = self._redis.xreadgroup(
                GROUP, self.consumer, {self._stream: start}, count=self._count_hint()
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (restart without AOF, FLUSHALL): start over from id 0.
            self._ensure_group()
            return self._read(start)
        return list(reply[0][1]) if reply else []

    def _own_pending(self) -> list[Entry]:
        return self._read("0")

    def _new(self) -> list[Entry]:
        return self._read(">")

    def _count_hint(self) -> int:
        stats = self.stats
        if not stats.frames:  # no idea yet how full frames are: start small, then adapt
            return min(self.settings.batch_frames, _FIRST_READ_FRAMES)
        per_frame = (stats.records + stats.duplicates) / stats.frames
        wanted = int(self.settings.batch_records / max(per_frame, 1.0))
        return max(1, min(self.settings.batch_frames, wanted))

    def _claim(self) -> list[Entry]:
        idle_ms = int(self.settings.claim_idle * 1000)
        reply: Any = self._redis.xautoclaim(
            self._stream, GROUP, self.consumer, idle_ms, "0-0", count=self._count_hint()
        )
        return list(reply[1])

    def _process(self, entries: Sequence[Entry]) -> None:
        began = time.perf_counter()
        batch, counts = self._decode(entries)
        result = self.writer.write(batch)
        pairs = [item for entry, n in zip(entries, counts, strict=True) for item in (entry[0], n)]
        self._call(lambda: self._ack(keys=[self._stream, self._held], args=[GROUP, *pairs]))
        self._count(result, len(entries), time.perf_counter() - began)
        self._call(self._backlog)
        self._on_batch(self.stats)

    def _decode(self, entries: Sequence[Entry]) -> tuple[Batch, list[int]]:
        batch = Batch()
        counts: list[int] = []
        for entry_id, fields in entries:
            data = (fields or {}).get(config.FRAME_FIELD)
            if data is None:  # deleted while pending (another drain finished it): just ack
                counts.append(0)
                continue
            try:
                frame = wire.decode_frame(data, self._keys)
                batch.codebooks.update(self._books(frame))
            except (DecodeError, CodebookError) as exc:
                batch.dead.append(DeadLetter(data, str(exc), self._source, entry_id.decode()))
                counts.append(wire.announced_records(data))
                continue
            batch.frames.append(frame)
            counts.append(len(frame.records))
        return batch, counts

    def _books(self, frame: wire.Frame) -> dict[str, Codebook]:
        return {fp: self._codebooks.load(fp) for fp in set(frame.sessions.values())}

    def _count(self, result: WriteResult, frames: int, seconds: float) -> None:
        stats = self.stats
        stats.records += result.inserted
        stats.duplicates += result.duplicates
        stats.dead_letters += result.dead
        stats.frames += frames
        stats.batches += 1
        stats.busy_seconds += seconds
        stats.max_batch_seconds = max(stats.max_batch_seconds, seconds)

    def _backlog(self) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.xlen(self._stream)
        pipe.get(self._held)
        frames, held = pipe.execute()
        self.stats.backlog_frames = int(frames)
        self.stats.backlog_records = int(held or 0)


__all__ = ["GROUP", "DrainSettings", "DrainStats", "Drainer", "parse_memory"]
