"""Recorder: modes, stats, losses counted (never raised), exit/close flush, threads and fork."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import redis
from recordings import BrokenKey, toggle

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError, SinkError
from fsm_recorder.format import _wire as wire
from fsm_recorder.read._decoder import SessionDecoder, decode_sessions
from fsm_recorder.read._load import read_frames
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink

RECORDS_PER_TRIGGER = 4  # event, transition, exit, enter
DEADLINE = 2.0


def _xlen(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.xlen(config.stream_key()))


def _stored_records(url: str) -> int:
    return sum(len(wire.decode_frame(f).records) for f in read_frames(url))


def _wait_for(predicate: Callable[[], bool], deadline: float = DEADLINE) -> float:
    """Poll `predicate` until true; returns the seconds it took, fails after `deadline`."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < deadline, "condition not reached before the deadline"
        time.sleep(0.002)
    return time.monotonic() - start


@pytest.fixture
def closing() -> Iterator[Callable[[Recorder], Recorder]]:
    """Close every recorder a test made, so no writer thread outlives it."""
    made: list[Recorder] = []
    yield lambda rec: made.append(rec) or rec  # type: ignore[func-returns-value]
    for rec in made:
        rec.close()


def test_batched_default_cycle_is_50_ms() -> None:
    """Batched mode is the default and its writer cycles every 50 ms unless told otherwise."""
    params = inspect.signature(Recorder).parameters
    assert params["mode"].default == "batched"
    assert params["flush_interval"].default == 0.05


def test_batched_records_reach_redis_after_one_cycle(redis_url: str, closing: Callable) -> None:
    """In batched mode the writer thread ships a trigger's records without any flush call."""
    rec = closing(Recorder(redis_url))
    machine = toggle(rec)
    assert _xlen(redis_url) == 0
    machine.flip()
    took = _wait_for(lambda: _xlen(redis_url) > 0)
    assert took < 1.0
    _wait_for(lambda: _stored_records(redis_url) == 1 + RECORDS_PER_TRIGGER)
    with redis.Redis.from_url(redis_url) as client:
        assert int(client.get(config.held_key())) == 1 + RECORDS_PER_TRIGGER


def test_sync_records_are_in_redis_when_trigger_returns(redis_url: str, closing: Callable) -> None:
    """In sync mode every trigger's records are stored before the trigger returns."""
    rec = closing(Recorder(redis_url, mode="sync"))
    machine = toggle(rec)
    for n in range(1, 4):
        machine.flip()
        assert _stored_records(redis_url) == 1 + n * RECORDS_PER_TRIGGER
    assert _xlen(redis_url) == 3


def test_stats_count_every_record_produced(closing: Callable) -> None:
    """produced counts the records emitted and equals written + dropped + pending at all times."""
    rec = closing(Recorder(sink=MemorySink(), flush_interval=3600))
    machine = toggle(rec)
    for _ in range(5):
        machine.flip()
    before = rec.stats()
    assert (before.produced, before.written, before.pending) == (21, 0, 21)
    assert rec.flush()
    after = rec.stats()
    assert (after.produced, after.written, after.dropped, after.pending) == (21, 21, 0, 0)
    assert after.produced == after.written + after.dropped + after.pending


def test_full_buffer_drops_are_counted_and_leave_a_sequence_gap(closing: Callable) -> None:
    """Records that find the buffer full are counted by reason and appear as a decoder gap."""
    sink = MemorySink()
    # Ten slots: the session start (one slot and one for its ID) and two triggers.
    rec = closing(Recorder(sink=sink, flush_interval=3600, buffer_records=10))
    machine = toggle(rec)
    for _ in range(5):
        machine.flip()
    rec.flush()
    machine.flip()
    rec.flush()
    stats = rec.stats()
    assert stats.dropped_by_reason == {"buffer_full": 12}
    assert (stats.produced, stats.written, stats.pending) == (25, 13, 0)
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(sink.frames)
    assert decoder.gaps() == {rec.producer: 12}


class FlakySink(MemorySink):
    """A sink that fails while `down` is set (a stand-in for any sink outage)."""

    down = True

    def write(self, frames: Sequence[bytes], records: int) -> None:
        if self.down:
            raise SinkError("down for the test")
        super().write(frames, records)


def test_backlog_loss_is_a_gap_of_exactly_the_lost_records(closing: Callable) -> None:
    """Records lost from the backlog during an outage show up as a gap of exactly that size."""
    sink = FlakySink()
    sink.down = False
    rec = closing(Recorder(sink=sink, mode="sync", backlog_records=8))
    machine = toggle(rec)
    machine.flip()
    sink.down = True
    for _ in range(5):
        machine.flip()
    sink.down = False
    rec.flush()  # after a failure the writer pauses before trying again; flush() tries now
    machine.flip()
    stats = rec.stats()
    assert stats.dropped_by_reason == {"sink_unavailable": 12}
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(sink.frames)
    assert decoder.gaps() == {rec.producer: 12}


@pytest.mark.parametrize("mode", ["sync", "batched"])
@pytest.mark.parametrize("spill", [None, False])
def test_unreachable_redis_never_raises_and_counts_losses(
    tmp_path: Path, mode: str, spill: bool | None, closing: Callable
) -> None:
    """With Redis unreachable triggers still work; records are spilled or counted as lost."""
    url = f"unix://{tmp_path}/no-such-dir/redis.sock"
    rec = closing(
        Recorder(url, mode=mode, backlog_records=10, flush_interval=0.01, spill=spill)  # type: ignore[arg-type]
    )
    machine = toggle(rec)
    for _ in range(5):
        assert machine.flip() is True
    assert machine.state == "on"
    rec.flush()
    stats = rec.stats()
    assert (stats.produced, stats.written) == (21, 0)
    assert stats.errors["sink"] >= 1
    if spill is None:
        assert (stats.dropped, stats.pending) == (0, 21)
        assert stats.spilled >= 21 - 10
    else:
        assert stats.pending <= 10
        assert stats.dropped_by_reason["sink_unavailable"] == stats.dropped > 0
        assert stats.dropped + stats.pending == 21


def test_close_flushes_and_is_idempotent(redis_url: str) -> None:
    """close() ships what is buffered, however long the cycle; closing twice is harmless."""
    rec = Recorder(redis_url, flush_interval=3600)
    machine = toggle(rec)
    machine.flip()
    assert _xlen(redis_url) == 0
    rec.close()
    assert _stored_records(redis_url) == 1 + RECORDS_PER_TRIGGER
    rec.close()
    assert rec.stats().written == 1 + RECORDS_PER_TRIGGER


def test_context_manager_closes(redis_url: str) -> None:
    """Leaving a `with Recorder(...)` block flushes its records to Redis."""
    with Recorder(redis_url, flush_interval=3600) as rec:
        toggle(rec).flip()
    assert _stored_records(redis_url) == 1 + RECORDS_PER_TRIGGER


def test_invalid_options_are_config_errors() -> None:
    """An unknown mode or a non-positive interval or buffer is refused up front."""
    with pytest.raises(ConfigError, match="mode"):
        Recorder(sink=MemorySink(), mode="eventually")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        Recorder(sink=MemorySink(), flush_interval=0)
    with pytest.raises(ConfigError):
        Recorder(sink=MemorySink(), buffer_records=0)


def test_buffer_too_large_for_a_frame_is_a_config_error() -> None:
    """A buffer whose frame a reader would refuse as a zip bomb is refused up front."""
    with pytest.raises(ConfigError, match="buffer_records"):
        Recorder(sink=MemorySink(), buffer_records=wire.MAX_BUFFER_RECORDS + 1)
    Recorder(sink=MemorySink(), buffer_records=wire.MAX_BUFFER_RECORDS).close()


def test_concurrent_threads_each_record_lands_once(redis_url: str, closing: Callable) -> None:
    """Threads triggering their own machines at once: every record stored once, seqs gap-free."""
    rec = closing(Recorder(redis_url, flush_interval=0.005))
    threads, flips = 8, 300
    machines = [toggle(rec, session_id=f"t{n}") for n in range(threads)]
    barrier = threading.Barrier(threads)

    def work(machine: RecordedMachine) -> None:
        barrier.wait()
        for _ in range(flips):
            machine.flip()

    workers = [threading.Thread(target=work, args=(m,)) for m in machines]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    rec.close()
    frames = list(read_frames(redis_url))
    seqs = [r.seq for f in frames for r in wire.decode_frame(f).records]
    total = threads * (1 + flips * RECORDS_PER_TRIGGER)
    assert sorted(seqs) == list(range(total))
    sessions = decode_sessions(frames, rec.codebooks)
    assert sorted(s.id for s in sessions) == sorted(f"t{n}" for n in range(threads))
    for session in sessions:
        assert session.events() == ["flip"] * flips
        dests = [s.dest for s in session.of_kind("transition")]
        assert dests == ["on", "off"] * (flips // 2)


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_frame_that_cannot_be_built_is_counted_as_lost(codebook_dir: Path) -> None:
    """Records taken from the buffer but not framed are dropped with a reason, never vanish."""
    rec = Recorder(sink=MemorySink(), mode="sync", encrypt_to=BrokenKey())  # type: ignore[arg-type]
    toggle(rec).flip()
    stats = rec.stats()
    assert stats.written == 0
    assert stats.dropped_by_reason["frame_error"] == stats.produced == stats.dropped > 0
    assert stats.errors["writer"] >= 1


def test_emit_payload_records_any_kind_and_never_raises() -> None:
    """A payload record of any kind is framed after the steps before it; a payload too large for
    the wire is counted as a lost record, never raised."""
    rec = memory_recorder()
    machine = toggle(rec)
    number = machine._fsmr_tap.sessions[id(machine)]  # type: ignore[union-attr]
    rec.emit_payload(wire.Kind.ARGS, 1, 0, number, b'{"n":1}')
    rec.emit_payload(wire.Kind.ARGS, 1, 0, number, b"x" * (wire.MAX_PAYLOAD + 1))
    rec.emit_payload(250, 1, 0, number, b"x" * (wire.MAX_PAYLOAD + 1))
    rec.commit()
    frame = wire.decode_frame(rec.sink.frames[-1])  # type: ignore[attr-defined]
    [record] = [r for r in frame.records if r.kind == wire.Kind.ARGS]
    assert record.payload == b'{"n":1}'
    assert rec.stats().dropped_by_reason == {"args_too_large": 1, "payload_too_large": 1}
