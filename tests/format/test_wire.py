"""Wire format: frames round-trip, malformed bytes raise only DecodeError, records are small."""

from __future__ import annotations

import contextlib
import struct
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsm_recorder.exceptions import DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._wire import Kind, RawRecord
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink

PRODUCER = bytes.fromhex("00112233445566ff")
FP_A, FP_B = "a1a2a3a4a5a6a7a8", "b1b2b3b4b5b6b7b8"
SESSION_ID = "Bestellung-ß-✓-42"
ARGS = b'{"amount":12.5,"who":"\xc3\xa9"}'


def _frame(slots: bytes, sessions: dict[int, str], *, first_seq: int = 7, **kw: object) -> bytes:
    options: dict[str, object] = {"compress": True, "host": "box-1", **kw}
    return wire.encode_frame(
        producer=PRODUCER,
        pid=4242,
        first_seq=first_seq,
        slots=slots,
        sessions=sessions,
        **options,  # type: ignore[arg-type]
    )


def _two_session_slots() -> bytes:
    return b"".join(
        [
            wire.pack_with_payload(Kind.SESSION_START, 0, 0, 1, 100, SESSION_ID.encode()),
            wire.RECORD.pack(Kind.EVENT, 0, 3, 1, 0, 1, 101),
            wire.pack_with_payload(Kind.ARGS, 3, 0, 1, 102, ARGS),
            wire.RECORD.pack(Kind.TRANSITION, 0, 3, 1, 2, 1, 103),
            wire.pack_with_payload(Kind.SESSION_START, 0, 0, 2, 104, b""),
            wire.RECORD.pack(Kind.REJECTED, 0, 5, 2, wire.Reason.CONDITIONS, 2, 105),
            wire.RECORD.pack(Kind.SESSION_END, 0, 0, 2, 0, 2, 2**63 + 5),
        ]
    )


VALID = _frame(_two_session_slots(), {1: FP_A, 2: FP_B})


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_with_payloads_and_two_sessions(compress: bool) -> None:
    """Every field of every record, payloads included, comes back as encoded, seqs consecutive."""
    frame = wire.decode_frame(_frame(_two_session_slots(), {1: FP_A, 2: FP_B}, compress=compress))
    assert (frame.producer, frame.pid, frame.host, frame.first_seq) == (
        PRODUCER.hex(),
        4242,
        "box-1",
        7,
    )
    assert frame.sessions == {1: FP_A, 2: FP_B}
    assert frame.records == (
        RawRecord(
            7, 100, Kind.SESSION_START, 0, 0, len(SESSION_ID.encode()), 1, SESSION_ID.encode()
        ),
        RawRecord(8, 101, Kind.EVENT, 3, 1, 0, 1),
        RawRecord(9, 102, Kind.ARGS, 3, 0, len(ARGS), 1, ARGS),
        RawRecord(10, 103, Kind.TRANSITION, 3, 1, 2, 1),
        RawRecord(11, 104, Kind.SESSION_START, 0, 0, 0, 2, b""),
        RawRecord(12, 105, Kind.REJECTED, 5, 2, 2, 2),
        RawRecord(13, 2**63 + 5, Kind.SESSION_END, 0, 2, 0, 2),
    )
    assert frame.records[0].payload.decode() == SESSION_ID


def test_payload_exactly_filling_slots_and_the_size_limit() -> None:
    """Payloads of a whole number of slots round-trip; one past the 16-bit limit is refused."""
    payload = bytes(range(wire.PAYLOAD_PER_SLOT * 3))
    slots = wire.pack_with_payload(Kind.ARGS, 1, 0, 1, 5, payload)
    assert len(slots) == wire.SLOT * 4
    [record] = wire.decode_frame(_frame(slots, {1: FP_A})).records
    assert record.payload == payload
    with pytest.raises(ValueError, match="exceeds"):
        wire.pack_with_payload(Kind.ARGS, 1, 0, 1, 5, b"x" * (wire.MAX_PAYLOAD + 1))


def test_counts_skip_continuation_slots() -> None:
    """Helpers see records, not slots: continuations are neither records nor sessions."""
    slots = _two_session_slots()
    assert wire.count_records(slots) == 7
    assert {1, 2} <= wire.session_column(slots)


def test_announced_records_read_the_header_only() -> None:
    """The header's record count, even with a damaged body; 0 for what is not a frame."""
    frame = _frame(wire.RECORD.pack(Kind.EVENT, 0, 1, 1, 0, 1, 5) * 7, {1: FP_A})
    assert wire.announced_records(frame) == 7
    assert wire.announced_records(frame[: wire.HEADER.size]) == 7
    assert wire.announced_records(b"xx") == 0
    assert wire.announced_records(b"XY" + frame[2:]) == 0


def test_long_non_ascii_host_still_decodes() -> None:
    """A host name cut to 255 bytes never splits a character into an undecodable frame."""
    slots = wire.RECORD.pack(Kind.EVENT, 0, 1, 1, 0, 1, 5)
    frame = wire.decode_frame(_frame(slots, {1: FP_A}, host="é" * 200))
    assert frame.host == "é" * 127


def test_gap_between_frames_is_visible_in_first_seq() -> None:
    """Two frames of one producer carry their own first sequence numbers (the gap is kept)."""
    slot = wire.RECORD.pack(Kind.EVENT, 0, 1, 1, 0, 1, 5)
    first = wire.decode_frame(_frame(slot * 2, {1: FP_A}, first_seq=0))
    second = wire.decode_frame(_frame(slot, {1: FP_A}, first_seq=5))
    assert [r.seq for r in (*first.records, *second.records)] == [0, 1, 5]


def _corruptions() -> list[bytes]:
    header_end = wire.HEADER.size
    body = VALID[header_end:]
    return [
        b"",
        VALID[:10],
        VALID[: header_end + 3],
        VALID[:-1],
        b"XX" + VALID[2:],
        VALID[:2] + b"\x02" + VALID[3:],
        VALID[:3] + b"\x80" + VALID[4:],
        VALID[:3] + bytes([wire.FLAG_ENCRYPTED | wire.FLAG_DEFLATE]) + VALID[4:],
        VALID[:header_end] + b"\xff" + body[1:],
        VALID + b"\x00",
        _frame(wire.RECORD.pack(Kind.EVENT, 0, 1, 1, 0, 9, 5), {1: FP_A}),
        _frame(wire.RECORD.pack(0x42, 0, 1, 1, 0, 1, 5), {1: FP_A}),
        _frame(wire.RECORD.pack(wire.CONTINUATION, 0, 1, 1, 0, 1, 5), {1: FP_A}),
        _frame(wire.RECORD.pack(Kind.ARGS, 0, 1, 0, 40, 1, 5), {1: FP_A}),
        _frame(wire.RECORD.pack(Kind.EVENT, 0, 1, 1, 0, 1, 5)[:-1], {1: FP_A}),
        _frame(wire.RECORD.pack(Kind.EVENT, 0, 1, 1, 0, 1, 5), {1: FP_A})[:-4]
        + zlib.compress(b"\x01" * 21),
    ]


@pytest.mark.parametrize("data", _corruptions())
def test_corrupt_frames_raise_decode_error(data: bytes) -> None:
    """Truncated, mislabelled or inconsistent frames raise DecodeError."""
    with pytest.raises(DecodeError):
        wire.decode_frame(data)


def test_record_count_mismatch_is_detected() -> None:
    """A header announcing more records than the body holds is a DecodeError."""
    count_at = struct.calcsize("<2sBB8sQ")
    data = bytearray(VALID)
    struct.pack_into("<I", data, count_at, 8)
    with pytest.raises(DecodeError, match="announces 8 records but holds 7"):
        wire.decode_frame(bytes(data))


def _bomb(announced: int, inflated: int) -> bytes:
    """A frame announcing `announced` records whose body inflates to `inflated` zero bytes."""
    deflater = zlib.compressobj(9)
    chunk = bytes(2**20)
    body = b"".join(deflater.compress(chunk) for _ in range(inflated // len(chunk)))
    head = wire.HEADER.pack(
        wire.MAGIC, wire.VERSION, wire.FLAG_DEFLATE, PRODUCER, 0, announced, 1, 0
    )
    return head + wire.COUNT.pack(0) + body + deflater.flush()


@pytest.mark.parametrize(
    ("announced", "peak_mib"),
    [(1, 1), (2**32 - 1, 3 * wire.MAX_BODY_BYTES // 2**20)],
)
def test_zip_bomb_inflates_no_further_than_the_header_allows(announced: int, peak_mib: int) -> None:
    """A body inflating past what its header allows is a DecodeError, and memory stays bounded."""
    bomb = _bomb(announced, 2 * wire.MAX_BODY_BYTES)
    assert len(bomb) < 300_000
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="inflates to more than"):
            wire.decode_frame(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < peak_mib * 2**20


def _only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        wire.decode_frame(data)


_FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes_only_raise_decode_error(data: bytes) -> None:
    """Whatever the bytes, decode_frame returns a Frame or raises DecodeError, nothing else."""
    _only_decode_error(data)
    _only_decode_error(VALID[: wire.HEADER.size] + data)


@_FUZZ
@given(st.data(), st.booleans())
def test_fuzz_mutated_valid_frames_only_raise_decode_error(
    data: st.DataObject, compress: bool
) -> None:
    """Valid frames with flipped, cut, inserted or deleted bytes only ever raise DecodeError."""
    frame = bytearray(_frame(_two_session_slots(), {1: FP_A, 2: FP_B}, compress=compress))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(frame) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if op == "flip":
            frame[at] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del frame[at:]
        elif op == "insert":
            frame[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del frame[at]
        if not frame:
            break
    _only_decode_error(bytes(frame))


def test_flat_machine_costs_at_most_16_bytes_per_transition(tmp_path: object) -> None:
    """10,000 transitions of a flat machine take at most 16 bytes each in the stored frames."""
    sink = MemorySink()
    recorder = Recorder(
        sink=sink, mode="batched", flush_interval=3600, codebooks=CodebookStore(str(tmp_path))
    )
    machine = RecordedMachine(
        states=["idle", "busy", "done"],
        transitions=[
            ["start", "idle", "busy"],
            ["finish", "busy", "done"],
            ["reset", "done", "idle"],
        ],
        initial="idle",
        recorder=recorder,
        name="Cycle",
    )
    for _ in range(3334):
        machine.start()
        machine.finish()
        machine.reset()
    recorder.close()
    transitions = 3 * 3334
    assert recorder.stats().written == 1 + 4 * transitions
    size = sum(len(frame) for frame in sink.frames)
    assert size / transitions <= 16, f"{size / transitions:.1f} bytes per transition"
