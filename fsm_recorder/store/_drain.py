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
from typing import Any

from redis.exceptions import RedisError, ResponseError

from fsm_recorder import config
from fsm_recorder.exceptions import (
    ArchiveError,
    CodebookError,
    DecodeError,
    SinkError,
)
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._crypto import default_keyring
from fsm_recorder.host._client import redis_client
from fsm_recorder.store._drain_settings import DrainSettings, DrainStats, parse_memory
from fsm_recorder.store._retention import prune
from fsm_recorder.store._writer import (
    ArchiveWriter,
    Batch,
    DeadLetter,
    WriteResult,
    parse,
    unstorable,
)

GROUP = "drain"
_RETRY_SECONDS = 5.0
_PRUNE_EVERY = 3600.0
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
        self._next_prune = 0.0

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
        self._prune()
        return self.stats

    def _prune(self) -> None:
        age = self.settings.prune_older_than
        if age is None or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + _PRUNE_EVERY
        pruned = prune(self.settings.archive, time.time_ns() - int(age * 10**9))
        self.stats.pruned_sessions += pruned.sessions

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
            if fields is None:  # deleted while pending (another drain finished it): just ack
                counts.append(0)
                continue
            data = fields.get(config.FRAME_FIELD)
            if data is None:  # not written by a sink: nothing was counted as held for it
                reason = f"stream entry has no frame field {config.FRAME_FIELD.decode()!r}"
                batch.dead.append(self._letter(_entry_bytes(fields), reason, entry_id))
                counts.append(0)
                continue
            try:
                parsed = parse(data, self._keys)
                batch.codebooks.update(self._books(parsed.frame))
                unstorable(parsed)
            except (DecodeError, CodebookError, ArchiveError) as exc:
                batch.dead.append(self._letter(data, str(exc), entry_id))
                counts.append(wire.announced_records(data))
                continue
            batch.frames.append(parsed)
            counts.append(parsed.frame.count)
        return batch, counts

    def _letter(self, data: bytes, reason: str, entry_id: bytes) -> DeadLetter:
        return DeadLetter(data, reason, self._source, entry_id.decode())

    def _books(self, frame: wire.Opened) -> dict[str, Codebook]:
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


def _entry_bytes(fields: dict[bytes, bytes]) -> bytes:
    """A foreign stream entry kept whole: its fields as ``name=value`` lines."""
    return b"\n".join(name + b"=" + value for name, value in sorted(fields.items()))


__all__ = ["GROUP", "DrainSettings", "DrainStats", "Drainer", "parse_memory"]
