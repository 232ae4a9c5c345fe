"""Columns: the archive's view of a frame agrees with `decode_frame`, payloads included."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsm_recorder.exceptions import DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._columns import Columns, columns, records_of
from fsm_recorder.format._wire import Kind

PRODUCER = bytes.fromhex("00112233445566ff")
SESSIONS = {1: "a1a2a3a4a5a6a7a8", 2: "b1b2b3b4b5b6b7b8"}
LONG = bytes(range(wire.PAYLOAD_PER_SLOT * 2 + 3))


def _frame(slots: bytes, *, compress: bool = True) -> bytes:
    return wire.encode_frame(
        producer=PRODUCER, pid=1, host="h", first_seq=40, slots=slots, sessions=SESSIONS,
        compress=compress,
    )  # fmt: skip


def _slots() -> bytes:
    """Payload records first, in the middle, back to back and last, in two sessions."""
    return b"".join(
        [
            wire.pack_with_payload(Kind.SESSION_START, 0, 0, 1, 100, b"order-7"),
            wire.RECORD.pack(Kind.EVENT, 0, 3, 1, 0, 1, 101),
            wire.pack_with_payload(Kind.ARGS, 3, 0, 1, 102, LONG),
            wire.pack_with_payload(Kind.ARGS, 3, 0, 1, 103, b"x" * wire.PAYLOAD_PER_SLOT),
            wire.RECORD.pack(Kind.TRANSITION, 0, 3, 1, 2, 1, 104),
            wire.pack_with_payload(Kind.SESSION_START, 0, 0, 2, 105, b""),
            wire.RECORD.pack(Kind.EXCEPTION, 0, 5, 2, 4, 2, 106),
            wire.RECORD.pack(Kind.SESSION_END, 0, 0, 2, 0, 2, 107),
            wire.pack_with_payload(Kind.ARGS, 4, 0, 2, 108, b"last"),
        ]
    )


def _columns(data: bytes) -> Columns:
    return columns(wire.open_frame(data))


@pytest.mark.parametrize("compress", [True, False])
def test_columns_hold_every_field_and_payload_as_decoded(compress: bool) -> None:
    """Each column is the field of every record (continuation slots are no records)."""
    data = _frame(_slots(), compress=compress)
    records = wire.decode_frame(data).records
    cols = _columns(data)
    for name in ("kind", "a", "b", "c", "session", "ts"):
        assert list(getattr(cols, name)) == [getattr(r, name) for r in records], name
    assert cols.payloads == {i: r.payload for i, r in enumerate(records) if r.payload}


def test_starts_cut_each_record_as_encoded() -> None:
    """``body[starts[i]:starts[i + 1]]`` decodes to record i again, continuations included."""
    data = _frame(_slots())
    body = wire.open_frame(data).body
    cols = _columns(data)
    assert cols.starts[-1] == len(body)
    for i, record in enumerate(wire.decode_frame(data).records):
        cut = body[cols.starts[i] : cols.starts[i + 1]]
        assert list(records_of(wire.VERSION, cut, iter([record.seq]), SESSIONS)) == [record]


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        (wire.RECORD.pack(Kind.ARGS, 0, 1, 0, 40, 1, 5), "payload that is not there"),
        (wire.pack_with_payload(Kind.ARGS, 0, 1, 1, 5, LONG)[: -wire.SLOT], "not there"),
        (
            wire.RECORD.pack(Kind.EVENT, 0, 1, 1, 0, 1, 5)
            + wire.pack_with_payload(Kind.ARGS, 0, 1, 1, 5, b"ab")[wire.SLOT :],
            "continuation",
        ),
        (
            wire.pack_with_payload(Kind.ARGS, 0, 1, 1, 5, b"ab")
            + wire.pack_with_payload(Kind.ARGS, 0, 1, 1, 5, b"cd")[wire.SLOT :],
            "continuation",
        ),
    ],
    ids=["length-without-slots", "payload-cut-short", "stray-continuation", "one-slot-too-many"],
)
def test_misplaced_continuation_slots_are_decode_errors(slots: bytes, message: str) -> None:
    """A payload short of its slots, or a continuation slot no record owns, is refused."""
    with pytest.raises(DecodeError):
        wire.decode_frame(_frame(slots))
    with pytest.raises(DecodeError, match=message):
        _columns(_frame(slots))


def _same_verdict(data: bytes) -> None:
    """`columns` refuses exactly the frames `decode_frame` refuses, and agrees on the rest."""
    try:
        records = wire.decode_frame(data).records
    except DecodeError:
        with contextlib.suppress(DecodeError):  # not an openable frame at all
            opened = wire.open_frame(data)
            with pytest.raises(DecodeError):
                columns(opened)
        return
    cols = _columns(data)
    assert list(cols.kind) == [r.kind for r in records]
    assert list(cols.ts) == [r.ts for r in records]
    assert cols.payloads == {i: r.payload for i, r in enumerate(records) if r.payload}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_bodies_get_the_decoder_verdict(data: st.DataObject) -> None:
    """Bodies with changed bytes, slots cut or slots repeated: the same verdict as decoding."""
    slots = bytearray(_slots())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(slots) - 1))
        op = data.draw(st.sampled_from(["byte", "kind", "cut", "repeat"]))
        slot = at - at % wire.SLOT
        if op == "byte":
            slots[at] = data.draw(st.integers(0, 255))
        elif op == "kind":
            slots[slot] = data.draw(st.sampled_from([*map(int, Kind), wire.CONTINUATION]))
        elif op == "cut":
            del slots[slot : slot + wire.SLOT]
        else:
            slots[slot:slot] = slots[slot : slot + wire.SLOT]
        if not slots:
            return
    _same_verdict(_frame(bytes(slots), compress=data.draw(st.booleans())))


def test_many_payload_records_keep_their_order() -> None:
    """Every other record carries a payload: indices, kinds and sessions stay aligned."""
    slots = b"".join(
        wire.pack_with_payload(Kind.ARGS, i, 0, 1 + i % 2, i, bytes([i]) * (i % 40))
        + wire.RECORD.pack(Kind.EVENT, 0, i, 1, 0, 1 + i % 2, i)
        for i in range(200)
    )
    data = _frame(slots)
    records = wire.decode_frame(data).records
    cols = _columns(data)
    assert list(cols.session) == [r.session for r in records]
    assert list(cols.a) == [r.a for r in records]
    assert cols.payloads == {i: r.payload for i, r in enumerate(records) if r.payload}
    assert len(cols.starts) == len(records) + 1
    assert all(s < e for s, e in itertools.pairwise(cols.starts))
