"""Blocks: one session's records of one batch, kept as encoded, compressed and checksummed.

A block body is, deflated: the number of runs (``<I``), then per run of consecutive sequence
numbers its start (relative to the block's ``first_seq``) and length (``<QI``), then the records'
bytes exactly as their frames carried them, byte-shuffled by the format's record stride (all first
bytes, then all second bytes, ...) as frames are. The row keeps the wire format version, so blocks
of any version sit side by side and decode through that version's reader (`records_of`). The CRC-32
of the stored body turns corruption into a `DecodeError`, never other names.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fsm_recorder.exceptions import DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._columns import record_stride, records_of

_COUNT = struct.Struct("<I")
_RUN = struct.Struct("<QI")
LEVEL = 6


@dataclass
class BlockBuilder:
    """Collects one session's runs of encoded records, in sequence order."""

    producer: str
    number: int
    codebook: int
    version: int
    first_seq: int
    first_ts: int
    last_ts: int
    last_seq: int = -1
    records: int = 0
    runs: list[tuple[int, int]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    def add(self, first_seq: int, count: int, encoded: bytes, first_ts: int, last_ts: int) -> None:
        """Append a run of `count` records numbered from `first_seq`, encoded as `encoded`."""
        if self.runs and self.last_seq + 1 == first_seq:
            start, length = self.runs[-1]
            self.runs[-1] = (start, length + count)
        else:
            self.runs.append((first_seq, count))
        self.chunks.append(encoded)
        self.records += count
        self.last_seq = first_seq + count - 1
        self.first_ts = min(self.first_ts, first_ts)
        self.last_ts = max(self.last_ts, last_ts)

    def row(self, level: int = LEVEL) -> dict[str, Any]:
        """The ``blocks`` row."""
        body = zlib.compress(self.payload(), level)
        return {
            "producer": self.producer,
            "number": self.number,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "codebook": self.codebook,
            "format": self.version,
            "records": self.records,
            "crc": zlib.crc32(body),
            "body": body,
        }

    def payload(self) -> bytes:
        """The uncompressed body: runs, then the shuffled record bytes."""
        encoded = b"".join(self.chunks)
        stride = record_stride(self.version)
        shuffled = b"".join(encoded[i::stride] for i in range(stride)) if stride > 1 else encoded
        runs = b"".join(_RUN.pack(start - self.first_seq, n) for start, n in self.runs)
        return _COUNT.pack(len(self.runs)) + runs + shuffled


def block_records(
    row: Any, fingerprint: str, *, max_bytes: int = 1 << 30
) -> Iterator[wire.RawRecord]:
    """The records of one ``blocks`` row; raises `DecodeError` and nothing else."""
    body = bytes(row.body)
    if zlib.crc32(body) != row.crc:
        raise DecodeError(
            f"block at seq {row.first_seq} fails its checksum: the archive is corrupt"
        )
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(body, max_bytes)
        (n_runs,) = _COUNT.unpack_from(data)
        runs = [_RUN.unpack_from(data, _COUNT.size + i * _RUN.size) for i in range(n_runs)]
        encoded = data[_COUNT.size + n_runs * _RUN.size :]
        stride = record_stride(row.format)
    except (zlib.error, struct.error) as exc:
        raise DecodeError(f"block at seq {row.first_seq} is malformed: {exc}") from exc
    if stride > 1:
        encoded = wire._unshuffle(encoded, stride)
    seqs = itertools.chain.from_iterable(
        range(row.first_seq + start, row.first_seq + start + n) for start, n in runs
    )
    yield from records_of(row.format, encoded, seqs, {row.number: fingerprint})
