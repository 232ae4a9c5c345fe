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

    kind: Sequence[int]
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
# (offset, width, memoryview format) of each field in a version-1 slot, as RECORD packs it.
_FIELDS: dict[str, tuple[int, int, _Format]] = {
    "a": (2, 2, "H"), "b": (4, 2, "H"), "c": (6, 2, "H"), "session": (8, 4, "I"),
    "ts": (12, 8, "Q"),
}  # fmt: skip


def columns(opened: Opened) -> Columns:
    """The records of an opened frame as columns; raises `DecodeError` and nothing else.

    A body without payload slots is cut into columns by strided slicing (each field's bytes
    gathered and cast at C speed), never an object or a Python step per record; one with
    payloads goes through the record-by-record decoder.
    """
    _check_version(opened.version)
    body = opened.body
    kind = body[0::SLOT]
    if CONTINUATION not in kind:
        fields = {name: _field(body, *spec) for name, spec in _FIELDS.items()}
        _check_columns(opened, kind, fields["session"], fields["c"])
        return Columns(kind=kind, starts=range(0, len(body) + 1, SLOT), payloads={}, **fields)
    try:
        records = list(_records(body, itertools.count(opened.first_seq), opened.sessions))
    except (struct.error, ValueError, IndexError) as exc:
        raise DecodeError(f"malformed frame: {exc}") from exc
    if len(records) != opened.count:
        raise DecodeError(f"frame announces {opened.count} records but holds {len(records)}")
    starts, pos = [], 0
    for r in records:
        starts.append(pos)
        pos += SLOT * (1 + (-(-len(r.payload) // PAYLOAD_PER_SLOT) if r.payload else 0))
    return Columns(
        [r.kind for r in records], [r.a for r in records], [r.b for r in records],
        [r.c for r in records], [r.session for r in records], [r.ts for r in records],
        [*starts, pos], {i: r.payload for i, r in enumerate(records) if r.payload},
    )  # fmt: skip


def _field(body: bytes, offset: int, width: int, fmt: _Format) -> list[int]:
    """One little-endian field of every slot, as ints (native order: like `session_column`)."""
    n = len(body) // SLOT
    gathered = bytearray(width * n)
    for k in range(width):
        gathered[k::width] = body[offset + k :: SLOT]
    return memoryview(gathered).cast(fmt).tolist()


def _check_columns(opened: Opened, kind: bytes, session: Sequence[int], c: Sequence[int]) -> None:
    if len(kind) != opened.count:
        raise DecodeError(f"frame announces {opened.count} records but holds {len(kind)}")
    if not _KINDS.issuperset(kind):
        raise DecodeError(f"frame has unknown record kinds {sorted(set(kind) - _KINDS)}")
    if not set(session) <= opened.sessions.keys():
        raise DecodeError("frame names sessions missing from its session table")
    for payload_kind in _PAYLOAD_KINDS:
        at = kind.find(payload_kind)
        while at >= 0:
            if c[at]:
                raise DecodeError(
                    f"record {opened.first_seq + at} announces a payload that is not there"
                )
            at = kind.find(payload_kind, at + 1)


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
