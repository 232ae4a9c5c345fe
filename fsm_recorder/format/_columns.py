"""Frames as columns and records cut out of frames: what the drain and the archive read.

The drain archives records as they travel, so it needs each record's fields (to index sessions)
and its encoded bytes (to keep), without building an object per record. This module is the
version-specific part of that, next to the wire format: `columns` over an opened frame, and
`records_of` to decode records cut out of frames again, per format version.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fsm_recorder.exceptions import DecodeError
from fsm_recorder.format._wire import (
    CONTINUATION,
    PAYLOAD_PER_SLOT,
    SLOT,
    VERSION,
    Kind,
    Opened,
    RawRecord,
    _records,
)


@dataclass(frozen=True, slots=True)
class Columns:
    """A frame's records as columns (one sequence per field), checked as `decode_frame` checks.

    `starts[i]` is the offset of record i in the body, `starts[-1]` the body's length, so
    ``body[starts[i]:starts[i + 1]]`` is record i as encoded. `payloads` maps record index to
    payload for the records that carry one.
    """

    kind: bytes
    a: Sequence[int]
    b: Sequence[int]
    c: Sequence[int]
    session: Sequence[int]
    ts: Sequence[int]
    starts: Sequence[int]
    payloads: Mapping[int, bytes]


_KINDS = frozenset(int(k) for k in Kind)
_Format = Literal["H", "I", "Q"]
_PAYLOAD_KINDS = (Kind.SESSION_START, Kind.ARGS)
_CONTINUATIONS = bytes((CONTINUATION,))
# (offset, width, memoryview format) of each field in a version-1 slot, as RECORD packs it.
_FIELDS: dict[str, tuple[int, int, _Format]] = {
    "a": (2, 2, "H"), "b": (4, 2, "H"), "c": (6, 2, "H"), "session": (8, 4, "I"),
    "ts": (12, 8, "Q"),
}  # fmt: skip
# A payload record's length is its `c` field.
_LENGTH_OFFSET = _FIELDS["c"][0]
_LENGTH = struct.Struct("<H")


def columns(opened: Opened) -> Columns:
    """The records of an opened frame as columns; raises `DecodeError` and nothing else.

    Every field is cut out by strided slicing (each field's bytes gathered and cast at C speed),
    never an object or a Python step per record: a frame of any size costs a few passes over its
    bytes. Payload records (session starts, arguments) are the only ones looked at one by one:
    their continuation slots are read into `payloads` and left out of the columns.
    """
    _check_version(opened.version)
    body = opened.body
    slot_kinds = body[0::SLOT]
    runs, payloads = _payload_runs(opened, body, slot_kinds)
    if runs:
        kept = [(start, stop) for start, stop in runs if stop > start]
        records = b"".join(body[start * SLOT : stop * SLOT] for start, stop in kept)
        offsets = (range(start * SLOT, stop * SLOT, SLOT) for start, stop in kept)
        starts: Sequence[int] = [*itertools.chain.from_iterable(offsets), len(body)]
    else:
        records, starts = body, range(0, len(body) + 1, SLOT)
    kind = records[0::SLOT]
    fields = {name: _field(records, *spec) for name, spec in _FIELDS.items()}
    _check_columns(opened, kind, fields["session"])
    return Columns(kind=kind, starts=starts, payloads=payloads, **fields)


def _payload_runs(
    opened: Opened, body: bytes, slot_kinds: bytes
) -> tuple[list[tuple[int, int]], dict[int, bytes]]:
    """The runs of record slots between continuation slots, and the payloads, by record index.

    No runs means no continuation slot (the body is all records). Each payload record must be
    followed by exactly the continuation slots its length needs, and every continuation slot
    must belong to one: otherwise the frame is a `DecodeError`, as `decode_frame` has it.
    """
    owners = sorted(
        at for payload_kind in _PAYLOAD_KINDS for at in _positions(slot_kinds, payload_kind)
    )
    runs: list[tuple[int, int]] = []
    payloads: dict[int, bytes] = {}
    start = skipped = 0
    for at in owners:
        (length,) = _LENGTH.unpack_from(body, at * SLOT + _LENGTH_OFFSET)
        n_slots = -(-length // PAYLOAD_PER_SLOT)
        if not n_slots:
            continue
        if slot_kinds[at + 1 : at + 1 + n_slots] != _CONTINUATIONS * n_slots:
            raise DecodeError(
                f"record {opened.first_seq + at - skipped} announces a {length}-byte payload "
                "that is not there"
            )
        chunk = body[(at + 1) * SLOT : (at + 1 + n_slots) * SLOT]
        data = b"".join(chunk[i + 1 : i + SLOT] for i in range(0, len(chunk), SLOT))
        payloads[at - skipped] = data[:length]
        runs.append((start, at + 1))
        start = at + 1 + n_slots
        skipped += n_slots
    if slot_kinds.count(CONTINUATION) != skipped:
        raise DecodeError("frame has a continuation slot that follows no payload record")
    if runs:
        runs.append((start, len(slot_kinds)))
    return runs, payloads


def _positions(data: bytes, value: int) -> Iterator[int]:
    """Every index of byte `value` in `data` (``bytes.find`` skips the rest at C speed)."""
    at = data.find(value)
    while at >= 0:
        yield at
        at = data.find(value, at + 1)


def _field(body: bytes, offset: int, width: int, fmt: _Format) -> list[int]:
    """One little-endian field of every slot, as ints (native order: like `session_column`)."""
    n = len(body) // SLOT
    gathered = bytearray(width * n)
    for k in range(width):
        gathered[k::width] = body[offset + k :: SLOT]
    return memoryview(gathered).cast(fmt).tolist()


def _check_columns(opened: Opened, kind: bytes, session: Sequence[int]) -> None:
    if len(kind) != opened.count:
        raise DecodeError(f"frame announces {opened.count} records but holds {len(kind)}")
    if not _KINDS.issuperset(kind):
        raise DecodeError(f"frame has unknown record kinds {sorted(set(kind) - _KINDS)}")
    if not set(session) <= opened.sessions.keys():
        raise DecodeError("frame names sessions missing from its session table")


def record_stride(version: int) -> int:
    """The fixed size of the record slots of format `version` (what byte shuffling groups by)."""
    _check_version(version)
    return SLOT


def records_of(
    version: int, body: bytes, seqs: Iterator[int], sessions: Mapping[int, str]
) -> Iterator[RawRecord]:
    """Decode records of format `version` cut out of frames, numbered by `seqs`.

    Raises `DecodeError` and nothing else (also for a record left without a sequence number).
    """
    _check_version(version)
    try:
        yield from _records(body, seqs, sessions)
    except DecodeError:
        raise
    except (struct.error, ValueError, IndexError) as exc:
        raise DecodeError(f"malformed records: {exc}") from exc


def _check_version(version: int) -> None:
    if version != VERSION:
        raise DecodeError(f"record format version {version} is not supported (this code reads 1)")
