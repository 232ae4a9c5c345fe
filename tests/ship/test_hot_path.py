"""The hot path: one slot per record into the bounded buffer, or one record counted as dropped."""

from __future__ import annotations

from fsm_recorder.format import _wire as wire
from fsm_recorder.ship._hot_path import HotPath, emitter


def _path(cap_records: int, dropped: list[int]) -> HotPath:
    buf = bytearray()
    return HotPath(buf, buf.extend, cap_records * wire.SLOT, wire.RECORD.pack, dropped.append)


def test_emit_appends_one_slot_that_reads_back_as_the_record() -> None:
    """Each call adds exactly one slot holding kind, codes, session and a time."""
    dropped: list[int] = []
    path = _path(4, dropped)
    emit = emitter(path)
    emit(int(wire.Kind.EVENT), 7, 3, 0, 9)
    emit(int(wire.Kind.TRANSITION), 7, 3, 4, 9)
    assert len(path.buf) == 2 * wire.SLOT
    kind, _, a, b, c, session, ts = wire.RECORD.unpack(bytes(path.buf[wire.SLOT :]))
    assert (kind, a, b, c, session) == (int(wire.Kind.TRANSITION), 7, 3, 4, 9)
    assert ts > 0
    assert dropped == []


def test_a_full_buffer_drops_and_counts_instead_of_growing() -> None:
    """Beyond the cap nothing is appended: each record is handed to `drop`, one at a time."""
    dropped: list[int] = []
    path = _path(2, dropped)
    emit = emitter(path)
    for _ in range(5):
        emit(int(wire.Kind.EVENT), 1, 1, 0, 1)
    assert len(path.buf) == 2 * wire.SLOT
    assert dropped == [1, 1, 1]
