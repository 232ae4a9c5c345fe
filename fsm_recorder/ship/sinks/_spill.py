"""A producer's local spill file: frames the sink refused, kept in order until it takes them.

Each producer owns two files in the spill directory, both locked (``flock``) while it lives:

- ``<name>.bin``: the spilled frames, appended in order as ``<length u32><crc32 u32><frame>``.
  A torn tail (the process was killed mid-append) is ignored on reading; a frame already
  replayed is skipped by offset, so a file is replayed from where the last attempt stopped.
- ``<name>.ckpt``: a fixed 56-byte checkpoint rewritten in place (one ``pwrite``) after every
  writer cycle: producer, pid, records numbered, written, counted lost, replay offset. After a
  crash it tells the next recorder on the host what the dead one had produced and not written.

Files whose lock nobody holds belong to a process that died: `SpillFile.orphans` adopts them so
another recorder can replay their frames (frames carry their own producer, so they decode as the
dead producer's records) and report the rest as lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from fsm_recorder.exceptions import SinkError
from fsm_recorder.format import _wire as wire

ENTRY = struct.Struct("<II")
CHECKPOINT = struct.Struct("<8sQQQQQI")
DEFAULT_MAX_BYTES = 64 * 2**20
_SUFFIX_DATA = ".bin"
_SUFFIX_CHECKPOINT = ".ckpt"


@dataclass(frozen=True)
class Checkpoint:
    """What a producer had done at the end of its last writer cycle.

    Attributes:
        producer: The producer identity (8 bytes).
        pid: Its process.
        numbered: Records framed so far (its next sequence number).
        written: Records the sink confirmed.
        lost: Records counted as lost, any reason.
        replayed: Bytes of the spill file already replayed to the sink.
    """

    producer: bytes = b"\0" * 8
    pid: int = 0
    numbered: int = 0
    written: int = 0
    lost: int = 0
    replayed: int = 0

    def pack(self) -> bytes:
        """The checkpoint's bytes, CRC-protected so a torn write reads as absent."""
        fields = (self.producer, self.pid, self.numbered, self.written, self.lost, self.replayed)
        body = CHECKPOINT.pack(*fields, 0)[:-4]
        return body + struct.pack("<I", zlib.crc32(body))

    @classmethod
    def unpack(cls, data: bytes) -> Checkpoint | None:
        """The checkpoint in `data`, or None when it is missing or torn."""
        if len(data) != CHECKPOINT.size:
            return None
        *fields, crc = CHECKPOINT.unpack(data)
        if crc != zlib.crc32(data[:-4]):
            return None
        return cls(*fields)


class SpillFile:
    """One producer's spill and checkpoint files, locked for as long as this object is open."""

    def __init__(self, directory: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.data_path = directory / f"{name}{_SUFFIX_DATA}"
        self.checkpoint_path = directory / f"{name}{_SUFFIX_CHECKPOINT}"
        self._fd = -1
        self.size = 0
        self.records = 0
        self.found_records = 0
        self.checkpoint = Checkpoint()

    @classmethod
    def create(cls, directory: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> SpillFile:
        """A new spill for a live producer; a fresh name is the caller's business."""
        spill = cls(directory, name, max_bytes)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Lock under a temporary name, then rename: a scanner never sees it unlocked.
            tmp = directory / f".{name}.{os.getpid()}.tmp"
            spill._fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            fcntl.flock(spill._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.replace(tmp, spill.checkpoint_path)
            with contextlib.suppress(FileNotFoundError):
                spill.data_path.unlink()
        except OSError as exc:
            spill.close()
            raise SinkError(f"cannot create spill file in {directory}: {exc}") from exc
        return spill

    @classmethod
    def orphans(
        cls, directory: Path, prefix: str, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> list[SpillFile]:
        """Spills named `prefix`* of dead processes (nobody holds their lock), now locked by us."""
        found = []
        for path in sorted(directory.glob(f"{prefix}*{_SUFFIX_CHECKPOINT}")):
            spill = cls(directory, path.name[: -len(_SUFFIX_CHECKPOINT)], max_bytes)
            if spill._adopt():
                found.append(spill)
        return found

    def _adopt(self) -> bool:
        try:
            self._fd = os.open(self.checkpoint_path, os.O_RDWR)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.checkpoint = Checkpoint.unpack(os.pread(self._fd, CHECKPOINT.size, 0)) or (
                Checkpoint()
            )
            self.size = self.data_path.stat().st_size if self.data_path.exists() else 0
            self.records = sum(
                wire.announced_records(f) for f, _ in self._entries(self.checkpoint.replayed)
            )
            self.found_records = self.records
        except (OSError, SinkError):
            self.close()
            return False
        # A file deleted by its owner between our open and our lock is not an orphan.
        if not self.checkpoint_path.exists():
            self.close()
            return False
        return True

    # -- frames ---------------------------------------------------------------------------------
    def append(self, frames: Sequence[bytes]) -> int:
        """Append as many of `frames` (in order) as the size cap allows; returns how many."""
        taken, records, blob = 0, 0, bytearray()
        for frame in frames:
            if self.size + len(blob) + ENTRY.size + len(frame) > self.max_bytes:
                break
            blob += ENTRY.pack(len(frame), zlib.crc32(frame)) + frame
            taken += 1
            records += wire.announced_records(frame)
        if blob:
            try:
                # 0600 whatever the umask or the directory: frames hold session IDs and arguments.
                fd = os.open(self.data_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "ab") as handle:
                    handle.write(blob)
            except OSError as exc:
                raise SinkError(f"cannot append to spill file {self.data_path}: {exc}") from exc
            self.size += len(blob)
            self.records += records
        return taken

    def pending(self, max_bytes: int) -> tuple[list[bytes], int]:
        """Frames not yet replayed, up to about `max_bytes`, and the offset just past them."""
        frames: list[bytes] = []
        offset = self.checkpoint.replayed
        for frame, end in self._entries(offset):
            frames.append(frame)
            offset = end
            if end - self.checkpoint.replayed >= max_bytes:
                break
        return frames, offset

    def _entries(self, offset: int) -> Iterator[tuple[bytes, int]]:
        try:
            with self.data_path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(self.size - offset)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SinkError(f"cannot read spill file {self.data_path}: {exc}") from exc
        pos = 0
        while pos + ENTRY.size <= len(data):
            length, crc = ENTRY.unpack_from(data, pos)
            frame = data[pos + ENTRY.size : pos + ENTRY.size + length]
            if len(frame) != length or zlib.crc32(frame) != crc:
                return  # a torn or damaged tail: the rest is unreadable
            pos += ENTRY.size + length
            yield frame, offset + pos

    def replayed(self, offset: int, records: int) -> None:
        """Frames up to `offset` (`records` records) reached the sink; once all did, start over."""
        self.records -= records
        if offset >= self.size:
            with contextlib.suppress(FileNotFoundError):
                self.data_path.unlink()
            self.size = offset = 0
        self.save(Checkpoint(**{**self.checkpoint.__dict__, "replayed": offset}))

    # -- checkpoint -----------------------------------------------------------------------------
    def save(self, checkpoint: Checkpoint) -> None:
        """Rewrite the checkpoint in place (one small write, no fsync: survives a process kill)."""
        if checkpoint == self.checkpoint:
            return
        self.checkpoint = checkpoint
        try:
            os.pwrite(self._fd, checkpoint.pack(), 0)
        except OSError as exc:
            raise SinkError(f"cannot write checkpoint {self.checkpoint_path}: {exc}") from exc

    def remove(self) -> None:
        """Delete both files (everything reached the sink) and release the lock."""
        for path in (self.data_path, self.checkpoint_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.close()

    def close(self) -> None:
        """Release the lock, leaving the files for whoever starts next.

        In a forked child this only closes the inherited descriptor: a flock lock lives until
        every descriptor of it is closed, so the parent keeps its lock.
        """
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
