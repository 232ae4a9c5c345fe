"""The Recorder: a lock-free hot path into a byte buffer, and a writer thread that ships frames.

The hot path packs one fixed-size slot with a precompiled struct and appends it to a bytearray;
the writer thread takes whole runs of slots, wraps them into frames (`format._wire`) and hands
them to a sink. Nothing on the hot path raises, blocks or does I/O; the buffer is bounded and every
record that does not reach the sink is counted in `stats()` by reason.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Literal

from fsm_recorder.exceptions import ConfigError, FsmRecorderError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.ship import _lifecycle as lifecycle
from fsm_recorder.ship._hot_path import Emit, HotPath, emitter
from fsm_recorder.ship._outbox import Outbox, check_name, spill_dir
from fsm_recorder.ship._tally import RecorderStats, Tally
from fsm_recorder.ship.sinks._base import Sink
from fsm_recorder.ship.sinks._spill import DEFAULT_MAX_BYTES, Checkpoint

if TYPE_CHECKING:
    from fsm_recorder.format._crypto import PublicKey

Mode = Literal["batched", "sync"]


class Recorder:
    """Encodes records of recorded machines and ships them to a sink (Redis by default).

    Args:
        url: Redis URL; default `FSM_RECORDER_URL` or the per-host server's socket.
        sink: Any `Sink` instead of Redis (e.g. `MemorySink()` in tests).
        mode: "batched" (writer thread, records reach the sink within `flush_interval`) or
            "sync" (each trigger's records are in the sink before the trigger returns).
        flush_interval: Seconds between writer cycles in batched mode.
        buffer_records: Records the in-process buffer holds before new ones are dropped (counted).
        backlog_records: Records kept for retry while the sink fails, before they count as lost.
        codebooks: Where codebooks are stored; default the per-host codebook store.
        name: A stable name for this application (letters, digits, ``_``, ``-``): a restarted
            process of the same name replays what a killed one spilled and reports its losses.
        spill: Directory of the local spill files; None: ``<runtime dir>/spill`` when writing to
            Redis, off for other sinks; False: off (records beyond the backlog are lost).
        spill_bytes: Size cap of this producer's spill file.
        encrypt_to: The archive's public key (`fsm_recorder.PublicKey`, extra ``crypto``): frames
            leave the process encrypted, only the private key's holder can decode them.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        sink: Sink | None = None,
        mode: Mode = "batched",
        flush_interval: float = 0.05,
        buffer_records: int = 262_144,
        backlog_records: int = 1_048_576,
        codebooks: CodebookStore | None = None,
        compress: bool = True,
        name: str | None = None,
        spill: str | os.PathLike[str] | bool | None = None,
        spill_bytes: int = DEFAULT_MAX_BYTES,
        encrypt_to: PublicKey | None = None,
    ) -> None:
        if mode not in ("batched", "sync"):
            raise ConfigError(f"unknown recorder mode {mode!r}: use 'batched' or 'sync'")
        if flush_interval <= 0 or buffer_records <= 0 or backlog_records < 0:
            raise ConfigError("flush_interval and buffer_records must be positive")
        if buffer_records > wire.MAX_BUFFER_RECORDS:
            raise ConfigError(
                f"buffer_records={buffer_records} exceeds {wire.MAX_BUFFER_RECORDS}:"
                " readers refuse larger frames"
            )
        spill_to = spill_dir(spill, default=sink is None)
        if sink is None:
            from fsm_recorder.ship.sinks._redis import RedisSink

            sink = RedisSink(url)
        self.sink = sink
        self._seal = encrypt_to.seal if encrypt_to is not None else None
        self._outbox = Outbox(
            sink,
            name=check_name(name),
            backlog_records=backlog_records,
            spill_dir=spill_to,
            spill_bytes=spill_bytes,
            lose=self._lose,
            note=self.note,
        )
        self.mode: Mode = mode
        self.sync = mode == "sync"
        self.codebooks = codebooks if codebooks is not None else CodebookStore()
        self._interval = flush_interval
        self._next_checkpoint = 0.0
        self._cap = buffer_records * wire.SLOT
        self._compress = compress
        self._buf = bytearray()
        self.hot_path = HotPath(
            self._buf, self._buf.extend, self._cap, wire.RECORD.pack, self._drop_full
        )
        self.emit: Emit = emitter(self.hot_path)
        self._ship_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._host = socket.gethostname()
        self._sessions: dict[int, str] = {}
        self._open: dict[int, str] = {}
        self._ended: set[int] = set()
        self._session_numbers = itertools.count(1)
        self._reset_producer()
        lifecycle.register(self)
        self._start_writer()

    # -- hot path -------------------------------------------------------------------------------
    def _drop_full(self, records: int) -> None:
        self._tally.refused("buffer_full", records)

    # -- sessions (slow path) -----------------------------------------------------------------
    def open_session(self, codebook: Codebook, session_id: str | None = None) -> tuple[int, str]:
        """Start a session of a machine; returns its producer-local number and its ID."""
        fingerprint = self._save_codebook(codebook)
        number = next(self._session_numbers)
        sid = session_id if session_id is not None else os.urandom(8).hex()
        # Any string is an ID; one UTF-8 cannot encode (a lone surrogate) is kept escaped.
        sid = sid.encode(errors="backslashreplace").decode()
        self._sessions[number] = fingerprint
        self._open[number] = sid
        self.emit_payload(wire.Kind.SESSION_START, 0, 0, number, sid.encode()[:1024])
        return number, sid

    def close_session(self, number: int, state: int = 0) -> None:
        """End a session; its number is forgotten once the end record has been framed."""
        if self._end(number, state, wire.EndReason.ENDED):
            self.commit()

    def drop_session(self, number: int) -> None:
        """End the session of a model that was garbage-collected (reason "dropped").

        Runs inside the garbage collector, on whatever thread it ran: no commit, which could
        wait for the writer's lock held by this very thread; the next cycle ships the record.
        """
        self._end(number, 0, wire.EndReason.DROPPED)

    def _end(self, number: int, state: int, reason: wire.EndReason) -> bool:
        if self._open.pop(number, None) is None:
            return False
        self.emit(wire.Kind.SESSION_END, 0, state, reason, number)
        self._ended.add(number)
        return True

    @property
    def open_sessions(self) -> int:
        """Sessions started and not yet ended (a model that is garbage ends its own)."""
        return len(self._open)

    def session_id(self, number: int) -> str:
        """The ID of an open session ("" once it ended)."""
        return self._open.get(number, "")

    def switch_codebook(self, number: int, codebook: Codebook) -> None:
        """A running session's machine evolved: frames from now on reference the new codebook."""
        if number in self._sessions:
            self._sessions[number] = self._save_codebook(codebook)

    def emit_args(self, event: int, session: int, payload: bytes) -> None:
        """Record the allow-listed arguments of an event (a variable-length record)."""
        self.emit_payload(wire.Kind.ARGS, event, 0, session, payload)

    def emit_payload(self, kind: int, a: int, b: int, session: int, payload: bytes) -> None:
        """Append one record carrying `payload` (arguments, session ID, log line, ...).

        The slow-path record of every kind that carries bytes; readers attach it to the step
        recorded just before it in the same session. Never raises: a payload too large for the
        wire or a full buffer is counted as a lost record (`<kind>_too_large`, `buffer_full`).
        """
        try:
            record = wire.pack_with_payload(kind, a, b, session, time.time_ns(), payload)
        except (ValueError, OverflowError, TypeError, struct.error):
            known = kind in wire.Kind._value2member_map_
            name = wire.Kind(kind).name.lower() if known else "payload"
            self._tally.refused(f"{name}_too_large", 1)
            return
        if len(self._buf) < self._cap:
            self._buf.extend(record)
        else:
            self._drop_full(1)

    def _save_codebook(self, codebook: Codebook) -> str:
        try:
            return self.codebooks.save(codebook)
        except (OSError, ValueError, FsmRecorderError):
            # The records are still worth keeping: the codebook can be exported again later.
            self.note("codebook_store")
            return codebook.fingerprint

    def commit(self) -> None:
        """End of a trigger: in sync mode ship everything now, in batched mode nothing to do."""
        if self.sync:
            self._ship()

    # -- writer ---------------------------------------------------------------------------------
    def _start_writer(self) -> None:
        if self.sync:
            return
        self._writer = threading.Thread(target=self._run, name="fsm-recorder-writer", daemon=True)
        self._writer.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._ship()

    def _ship(self) -> None:
        with self._ship_lock:
            try:
                self._ship_locked()
            except Exception as err:
                self.note("writer", err)

    def _ship_locked(self, *, checkpoint: bool = False, force: bool = False) -> None:
        ended, self._ended = self._ended, set()
        self._take()
        for number in ended:
            self._sessions.pop(number, None)
        self._outbox.deliver(force=force)
        # At most once per flush interval: in sync mode a ship happens per trigger, and a file
        # write per trigger would cost more than the trigger's Redis round trip.
        now = time.monotonic()
        if checkpoint or now >= self._next_checkpoint:
            self._next_checkpoint = now + self._interval
            self._outbox.checkpoint(self._checkpoint())

    def _take(self) -> None:
        """Move the buffer's records into a frame in the outbox; never loses one silently."""
        data = bytes(self._buf)
        del self._buf[: len(data)]
        if not data:
            return
        count = wire.count_records(data)
        self._tally.taken(count)
        try:
            self._frame(data, count)
        except Exception as err:  # taken from the buffer: count them as lost, with the reason
            self._tally.unframed("frame_error", count)
            self.note("writer", err)

    def _frame(self, data: bytes, count: int) -> None:
        sessions = {n: fp for n in wire.session_column(data) if (fp := self._sessions.get(n))}
        frame = wire.encode_frame(
            producer=self._producer,
            pid=self._pid,
            host=self._host,
            first_seq=self._next_seq,
            slots=data,
            sessions=sessions,
            compress=self._compress,
        )
        if self._seal is not None:
            frame = self._seal(frame)
        # Records dropped before framing leave a gap in the sequence after this frame.
        self._next_seq += count + self._tally.take_gap()
        self._outbox.add(frame, count)

    def _checkpoint(self) -> Checkpoint:
        lost = self._tally.total
        return Checkpoint(
            producer=self._producer,
            pid=self._pid,
            numbered=self._next_seq,
            written=self._outbox.written,
            lost=lost,
        )

    # -- bookkeeping ------------------------------------------------------------------------------
    def _lose(self, reason: str, records: int) -> None:
        self._tally.framed(reason, records)

    def note(self, where: str, error: BaseException | None = None) -> None:
        """Count an error that cost no record (codebook store, writer, unencodable argument);
        an `error` of the writer's own is also logged (`_tally`)."""
        self._tally.note(where, error)

    def _reset_producer(self) -> None:
        self._producer = os.urandom(8)
        self._pid = os.getpid()
        self._next_seq = 0
        self._tally = Tally()

    @property
    def producer(self) -> str:
        """This producer's identity (hex); a forked child gets a new one."""
        return self._producer.hex()

    def stats(self) -> RecorderStats:
        """Counts since this producer started (or since fork in a child).

        Never waits on a writer cycle that is stuck in a sink write: then the snapshot is taken
        without the writer's lock and may be off by the frame being moved.
        """
        locked = self._ship_lock.acquire(timeout=0.01)
        try:
            buffered = wire.count_records(bytes(self._buf))
            pending = buffered + self._outbox.pending
            written = self._outbox.written
            spilled = self._outbox.spilled
            previous = tuple(self._outbox.previous)
        finally:
            if locked:
                self._ship_lock.release()
        dropped, errors, total = self._tally.snapshot()
        return RecorderStats(
            producer=self.producer,
            produced=self._tally.produced(buffered),
            written=written,
            dropped=total,
            pending=pending,
            dropped_by_reason=dropped,
            errors=errors,
            spilled=spilled,
            previous=previous,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Ship everything buffered now, trying the sink even during a back-off pause; True when
        nothing is left pending."""
        if not self._ship_lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        try:
            self._ship_locked(checkpoint=True, force=True)
        finally:
            self._ship_lock.release()
        return not self._outbox.pending and not self._buf

    def close(self, timeout: float = 2.0) -> None:
        """Flush, spill what the sink does not take, stop the writer; idempotent, run at exit.

        Waits at most about `timeout` seconds for a writer cycle in progress (a hanging server)
        plus one sink write; what is not written by then is spilled for the next start.
        """
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        writer = getattr(self, "_writer", None)
        if writer is not None and writer.is_alive() and writer is not threading.current_thread():
            writer.join(timeout=timeout)
        if not self._ship_lock.acquire(timeout=timeout):
            self.note("close_timeout")  # a signal arrived mid-cycle on this very thread
            return
        try:
            self._final_ship()
        finally:
            self._ship_lock.release()
        self.sink.close()

    def _final_ship(self) -> None:
        try:
            self._take()
            self._outbox.deliver(force=True)
            self._outbox.close(self._checkpoint())
        except Exception as err:
            self.note("writer", err)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def after_fork_in_child(self) -> None:
        """In a forked child: a new producer identity, an empty buffer, a new writer."""
        del self._buf[:]
        self._ship_lock = threading.Lock()
        self._wake = threading.Event()
        self._ended = set()
        self._reset_producer()
        self._outbox.after_fork()
        self.sink.after_fork()
        for number, sid in list(self._open.items()):
            self.emit_payload(wire.Kind.SESSION_START, 0, 0, number, sid.encode()[:1024])
        if not self._closed:
            self._start_writer()
