"""The binary wire format: fixed 20-byte record slots packed into self-describing frames.

The hot path packs one slot per record with a precompiled `struct` (no per-record Python work
later), the writer thread wraps a run of slots into a frame: header, session table, then the slots
byte-shuffled (all first bytes, then all second bytes, ...) and deflated, which is what makes a
record cost a few bytes in Redis. docs/wire-format.md is the normative description.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Protocol

from fsm_recorder.exceptions import DecodeError

MAGIC = b"FR"
VERSION = 1
SLOT = 20
CONTINUATION = 0xFF
PAYLOAD_PER_SLOT = SLOT - 1
FLAG_DEFLATE = 0x01
FLAG_ENCRYPTED = 0x02
KNOWN_FLAGS = FLAG_DEFLATE | FLAG_ENCRYPTED
FLAGS_OFFSET = 3

RECORD = struct.Struct("<BBHHHIQ")
HEADER = struct.Struct("<2sBB8sQIIB")
SESSION_ENTRY = struct.Struct("<I8s")
COUNT = struct.Struct("<H")
MAX_PAYLOAD = 0xFFFF
MIN_DEFLATE = 400
# The most slots one record can take: itself and the continuations of a maximal payload.
MAX_SLOTS_PER_RECORD = 1 + -(-MAX_PAYLOAD // PAYLOAD_PER_SLOT)
# No recorder frames more than this (its buffer is capped below it): the inflation limit of a
# frame whose header announces an absurd record count.
MAX_BODY_BYTES = 64 * 2**20
MAX_BUFFER_RECORDS = MAX_BODY_BYTES // SLOT // 2  # half: room for the payloads past the cap


class Kind(IntEnum):
    """What a record says happened; the numbers are part of the wire format."""

    EVENT = 1
    TRANSITION = 2
    EXIT = 3
    ENTER = 4
    REJECTED = 5
    EXCEPTION = 6
    SESSION_START = 7
    SESSION_END = 8
    ARGS = 9


class Reason(IntEnum):
    """Why an event was rejected (the `c` field of a REJECTED record)."""

    NO_TRANSITION = 1
    CONDITIONS = 2
    MACHINE_ERROR = 3


class EndReason(IntEnum):
    """Why a session ended (the `c` field of a SESSION_END record)."""

    ENDED = 0
    DROPPED = 1  # its model was garbage-collected without `end_session`


class Opener(Protocol):
    """Decrypts an encrypted frame body (`fsm_recorder.format._crypto.KeyRing` is one)."""

    def open(self, head: bytes, sealed: bytes) -> bytes:
        """The plain body of a frame whose clear part is `head`; raises `DecodeError`."""
        ...


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One decoded record, still in codes. `a`, `b`, `c` are read per `Kind` (docs/wire-format)."""

    seq: int
    ts: int
    kind: int
    a: int
    b: int
    c: int
    session: int
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame: who produced it, which codebook each session uses, and its records."""

    producer: str
    pid: int
    host: str
    first_seq: int
    sessions: Mapping[int, str]
    records: tuple[RawRecord, ...]


def pack_with_payload(kind: int, a: int, b: int, session: int, ts: int, payload: bytes) -> bytes:
    """A record followed by continuation slots carrying `payload` (its length goes in `c`)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"record payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = RECORD.pack(kind, 0, a, b, len(payload), session, ts)
    chunks = [
        bytes((CONTINUATION,)) + payload[i : i + PAYLOAD_PER_SLOT].ljust(PAYLOAD_PER_SLOT, b"\0")
        for i in range(0, len(payload), PAYLOAD_PER_SLOT)
    ]
    return head + b"".join(chunks)


def count_records(slots: bytes) -> int:
    """Records in a run of slots: every slot that is not a payload continuation."""
    return len(slots) // SLOT - slots[0::SLOT].count(CONTINUATION)


def session_column(slots: bytes) -> set[int]:
    """The session numbers in a run of slots (continuation slots may add harmless noise)."""
    return set(memoryview(slots).cast("I")[2::5])


def encode_frame(
    *,
    producer: bytes,
    pid: int,
    host: str,
    first_seq: int,
    slots: bytes,
    sessions: Mapping[int, str],
    compress: bool = True,
) -> bytes:
    """Wrap a run of slots into one frame; `sessions` maps session -> codebook fingerprint."""
    count = count_records(slots)
    host_bytes = _host_bytes(host)
    body, flags = slots, 0
    # Shuffling and deflating pay off from a few dozen records on; below that they cost more
    # than the bytes they save (sync mode ships one trigger's records per frame).
    if compress and len(slots) >= MIN_DEFLATE:
        body = zlib.compress(b"".join(slots[i::SLOT] for i in range(SLOT)), 1)
        flags |= FLAG_DEFLATE
    table = b"".join(
        SESSION_ENTRY.pack(num, _fingerprint_bytes(fp)) for num, fp in sorted(sessions.items())
    )
    header = HEADER.pack(MAGIC, VERSION, flags, producer, first_seq, count, pid, len(host_bytes))
    return header + host_bytes + COUNT.pack(len(sessions)) + table + body


@lru_cache(maxsize=16)
def _host_bytes(host: str) -> bytes:
    # Cut at 255 bytes without splitting a character, or the frame would not decode.
    return host.encode()[:255].decode(errors="ignore").encode()


@lru_cache(maxsize=1024)
def _fingerprint_bytes(fingerprint: str) -> bytes:
    # Cached: sync mode frames every trigger, always with the same few codebooks.
    return bytes.fromhex(fingerprint)


def decode_frame(frame: bytes, keys: Opener | None = None) -> Frame:
    """Decode one frame; anything malformed raises `DecodeError` and nothing else.

    An encrypted frame is opened with `keys`, which the reader brings (readers pass
    `fsm_recorder.format._crypto.default_keyring()`); without keys it is a `DecodeError`.
    """
    try:
        return _decode(memoryview(frame), keys)
    except DecodeError:
        raise
    except (struct.error, zlib.error, ValueError, IndexError, TypeError) as exc:
        raise DecodeError(f"malformed frame: {exc}") from exc


def announced_records(frame: bytes) -> int:
    """Records a frame's header announces without decoding the rest; 0 for a non-frame.

    What the sink counted a frame as (held counter, spill file), even when its body is damaged.
    """
    if len(frame) < HEADER.size or frame[:2] != MAGIC:
        return 0
    return int(HEADER.unpack_from(frame)[5])


def split_frame(frame: bytes) -> tuple[bytes, bytes]:
    """A frame's clear part (header, host, session table) and its body."""
    view = memoryview(frame)
    offset = _clear_part(view, _header(view)[-1])[2]
    return frame[:offset], frame[offset:]


def with_flags(head: bytes, flags: int) -> bytes:
    """A frame's clear part with `flags` set in its header."""
    return head[:FLAGS_OFFSET] + bytes((head[FLAGS_OFFSET] | flags,)) + head[FLAGS_OFFSET + 1 :]


def _decode(frame: memoryview, keys: Opener | None) -> Frame:
    o = _opened(frame, keys)
    records = tuple(_records(o.body, itertools.count(o.first_seq), o.sessions))
    if len(records) != o.count:
        raise DecodeError(f"frame announces {o.count} records but holds {len(records)}")
    return Frame(o.producer, o.pid, o.host, o.first_seq, o.sessions, records)


def _opened(frame: memoryview, keys: Opener | None) -> Opened:
    _, version, flags, producer, first_seq, count, pid, host_len = _header(frame)
    host, sessions, offset = _clear_part(frame, host_len)
    body = bytes(frame[offset:])
    if flags & FLAG_ENCRYPTED:
        body = _open(keys, bytes(frame[:offset]), body)
    if flags & FLAG_DEFLATE:
        body = _unshuffle(_inflate(body, _max_body(count)))
    elif len(body) % SLOT:
        raise DecodeError(f"frame body of {len(body)} bytes is not a whole number of slots")
    return Opened(version, producer.hex(), pid, host, first_seq, count, sessions, body)


def _open(keys: Opener | None, head: bytes, sealed: bytes) -> bytes:
    if keys is None:
        raise DecodeError("frame is encrypted and no private key was given to open it")
    return keys.open(head, sealed)


def _header(frame: memoryview) -> tuple[bytes, int, int, bytes, int, int, int, int]:
    if len(frame) < HEADER.size:
        raise DecodeError(f"frame of {len(frame)} bytes is shorter than its header")
    magic, version, flags, producer, first_seq, count, pid, host_len = HEADER.unpack_from(frame)
    if magic != MAGIC:
        raise DecodeError("not an fsm-recorder frame (bad magic bytes)")
    if version != VERSION:
        raise DecodeError(f"frame format version {version} is not supported (this code reads 1)")
    if flags & ~KNOWN_FLAGS:
        raise DecodeError(f"unknown frame flags {flags:#x}")
    return magic, version, flags, producer, first_seq, count, pid, host_len


def _clear_part(frame: memoryview, host_len: int) -> tuple[str, dict[int, str], int]:
    """Host, session table and the offset of the body."""
    offset = HEADER.size
    host = bytes(frame[offset : offset + host_len]).decode()
    offset += host_len
    (n_sessions,) = COUNT.unpack_from(frame, offset)
    offset += COUNT.size
    sessions = {}
    for _ in range(n_sessions):
        num, fp = SESSION_ENTRY.unpack_from(frame, offset)
        sessions[num] = fp.hex()
        offset += SESSION_ENTRY.size
    return host, sessions, offset


def _max_body(count: int) -> int:
    """The most bytes a body of `count` records can hold, so that a zip bomb stops there."""
    return min(count * MAX_SLOTS_PER_RECORD * SLOT, MAX_BODY_BYTES)


def _inflate(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    data = inflater.decompress(body, limit + 1)
    if len(data) > limit:
        raise DecodeError(f"compressed frame body inflates to more than the {limit} bytes allowed")
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise DecodeError("compressed frame body is truncated or followed by stray bytes")
    return data


def _unshuffle(body: bytes, stride: int = SLOT) -> bytes:
    if len(body) % stride:
        raise DecodeError(f"body of {len(body)} bytes is not a whole number of {stride}-byte slots")
    n = len(body) // stride
    slots = bytearray(len(body))
    for i in range(stride):
        slots[i::stride] = body[i * n : (i + 1) * n]
    return bytes(slots)


def _records(slots: bytes, seqs: Iterator[int], sessions: Mapping[int, str]) -> Iterator[RawRecord]:
    pos, end = 0, len(slots)
    while pos < end:
        seq = next(seqs, -1)
        if seq < 0:
            raise DecodeError("more records than sequence numbers")
        kind, _flags, a, b, c, session, ts = RECORD.unpack_from(slots, pos)
        pos += SLOT
        if kind == CONTINUATION or kind not in Kind._value2member_map_:
            raise DecodeError(f"record {seq} has unknown kind {kind}")
        if session not in sessions:
            raise DecodeError(f"record {seq} names session {session} missing from the frame table")
        payload = b""
        if kind in (Kind.SESSION_START, Kind.ARGS):
            payload, pos = _payload(slots, pos, c, seq)
        yield RawRecord(seq, ts, kind, a, b, c, session, payload)


def _payload(slots: bytes, pos: int, length: int, seq: int) -> tuple[bytes, int]:
    n_slots = -(-length // PAYLOAD_PER_SLOT)
    chunk = slots[pos : pos + n_slots * SLOT]
    if len(chunk) != n_slots * SLOT or chunk[0::SLOT].count(CONTINUATION) != n_slots:
        raise DecodeError(f"record {seq} announces a {length}-byte payload that is not there")
    data = b"".join(chunk[i + 1 : i + SLOT] for i in range(0, len(chunk), SLOT))
    return data[:length], pos + n_slots * SLOT


# -- For the archive (format/_columns.py): frames opened but not parsed ------------------------


@dataclass(frozen=True, slots=True)
class Opened:
    """A frame opened (decrypted, inflated) but not parsed: its clear fields and record bytes."""

    version: int
    producer: str
    pid: int
    host: str
    first_seq: int
    count: int
    sessions: Mapping[int, str]
    body: bytes


def open_frame(frame: bytes, keys: Opener | None = None) -> Opened:
    """A frame's clear fields and record bytes; raises `DecodeError` and nothing else."""
    try:
        return _opened(memoryview(frame), keys)
    except DecodeError:
        raise
    except (struct.error, zlib.error, ValueError, IndexError, TypeError) as exc:
        raise DecodeError(f"malformed frame: {exc}") from exc
