"""Write drained batches into the archive: one transaction per batch, each record exactly once.

Exactly-once rests on ``spans``, the ranges of sequence numbers each producer has archived.
Inside the batch's transaction the writer takes a lock per producer (PostgreSQL advisory lock;
SQLite's BEGIN IMMEDIATE already serializes writers), reads the producer's spans that touch the
batch, keeps only the records outside them (and outside the frames taken earlier in the same
batch), and stores the batch's ranges merged into the spans. The ``sessions`` counters therefore
count each record once even when two drains replay the same frames.

Records are not parsed into objects: a frame is opened, read as columns (`format._columns`), and
each session's runs of records are appended, as encoded, to that session's block of the batch.
On PostgreSQL blocks go in through ``COPY``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import ne
from typing import Any

from sqlalchemy import Connection, Insert, Table, and_, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._columns import Columns, columns
from fsm_recorder.store import _schema as schema
from fsm_recorder.store._block import BlockBuilder
from fsm_recorder.store._index import SessionIndex
from fsm_recorder.store._migrations import migrate

_STATISTICS_EVERY = 3600.0
_INT64 = 2**63
_INT32 = 2**31
_BLOCK_COLUMNS = (
    "producer", "number", "first_seq", "last_seq", "first_ts", "last_ts", "codebook", "format",
    "records", "crc", "body",
)  # fmt: skip


@dataclass(frozen=True)
class Parsed:
    """A frame ready for the writer: opened, and its records as columns."""

    frame: wire.Opened
    cols: Columns

    @property
    def last_seq(self) -> int:
        """The sequence number of the frame's last record."""
        return self.frame.first_seq + self.frame.count - 1


def parse(data: bytes, keys: wire.Opener | None = None) -> Parsed:
    """Open a frame and read its columns; raises `DecodeError` and nothing else."""
    frame = wire.open_frame(data, keys)
    return Parsed(frame, columns(frame))


def unstorable(parsed: Parsed) -> None:
    """Raise `ArchiveError` if the archive's columns cannot hold the frame's seq, time or pid.

    The archive stores signed 64-bit sequence numbers and times and 32-bit pids (PostgreSQL has
    no unsigned types); such a frame is a dead letter rather than a batch that fails forever.
    """
    frame = parsed.frame
    latest = max(parsed.cols.ts, default=0)
    if parsed.last_seq >= _INT64 or latest >= _INT64 or frame.pid >= _INT32:
        raise ArchiveError(
            f"frame of producer {frame.producer} is out of the archive's range "
            f"(last seq {parsed.last_seq}, latest time {latest}, pid {frame.pid}): "
            "kept as a dead letter"
        )


@dataclass(frozen=True)
class DeadLetter:
    """A frame the drain could not archive as records: kept whole, with the reason."""

    frame: bytes
    reason: str
    source: str
    entry: str


@dataclass
class Batch:
    """What one drain step hands the writer: parsed frames, their codebooks, dead letters."""

    frames: list[Parsed] = field(default_factory=list)
    codebooks: dict[str, Codebook] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)


@dataclass(frozen=True)
class WriteResult:
    """What a committed batch changed: records inserted, records already there, dead letters."""

    inserted: int
    duplicates: int
    dead: int


class ArchiveWriter:
    """Writes batches into one archive (created or migrated on open)."""

    def __init__(self, url: str, *, level: int = 6) -> None:
        self.url = url
        self.level = level
        self.engine = schema.open_engine(url, write=True)
        try:
            migrate(self.engine)
        except ArchiveError:
            self.engine.dispose()
            raise
        self._postgres = self.engine.dialect.name == "postgresql"
        self._codebook_ids: dict[str, int] = {}
        self._months: set[tuple[int, int]] = set()
        self._next_statistics = 0.0

    def _upsert(self, table: Table) -> Any:
        module: Any = postgresql if self._postgres else sqlite
        return module.insert(table)

    def write(self, batch: Batch) -> WriteResult:
        """Commit `batch` in one transaction; when this returns, it is durable."""
        try:
            with self.engine.begin() as conn:
                ids = self._ids(conn, batch.codebooks)
                assembly = _Assembly(batch, ids, self.level)
                blocks, index, result = assembly.build(conn, len(batch.dead))
                self._partitions(blocks)
                self._blocks(conn, blocks)
                index.write(conn, self._upsert)
                self._dead(conn, batch.dead)
        except SQLAlchemyError as exc:
            raise ArchiveError(f"cannot write to archive {self.engine.url!r}: {exc}") from exc
        self._codebook_ids.update(ids)
        if time.monotonic() >= self._next_statistics:
            self.refresh_statistics()
        return result

    def refresh_statistics(self) -> None:
        """Refresh the planner's statistics of the session index (after the first batch, then
        hourly): without them SQLite walks all sessions of a machine for ``--reached`` instead of
        the few the state index names. Sampled, so it takes milliseconds at any size."""
        self._next_statistics = time.monotonic() + _STATISTICS_EVERY
        tables = ("sessions", "session_states", "session_exceptions")
        try:
            with self.engine.connect() as conn:
                if self._postgres:
                    conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
                else:
                    conn.exec_driver_sql("PRAGMA analysis_limit=1000")
                    for table in tables:
                        conn.exec_driver_sql(f"ANALYZE {table}")
                conn.commit()
        except SQLAlchemyError as exc:
            raise ArchiveError(f"cannot analyze archive {self.engine.url!r}: {exc}") from exc

    def close(self) -> None:
        """Release the archive's connections."""
        self.engine.dispose()

    def _partitions(self, blocks: list[dict[str, Any]]) -> None:
        months = {schema.month_of(b["first_ts"]) for b in blocks} - self._months
        if months and self._postgres:
            # Its own short transaction: concurrent drains must not hold the parent table's lock.
            with self.engine.begin() as conn:
                schema.ensure_partitions(conn, months)
        self._months |= months

    def _blocks(self, conn: Connection, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if not self._postgres:
            conn.execute(insert(schema.blocks), blocks)
            return
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        names = ", ".join(_BLOCK_COLUMNS)
        with cursor.copy(f"COPY blocks ({names}) FROM STDIN") as copy:
            for block in blocks:
                copy.write_row([block[name] for name in _BLOCK_COLUMNS])

    def _ids(self, conn: Connection, books: dict[str, Codebook]) -> dict[str, int]:
        ids = {fp: self._codebook_ids[fp] for fp in books if fp in self._codebook_ids}
        missing = [books[fp] for fp in books if fp not in ids]
        if not missing:
            return ids
        stmt = self._upsert(schema.codebooks).on_conflict_do_nothing()
        conn.execute(stmt, [_codebook_row(book) for book in missing])
        table = schema.codebooks
        query = select(table.c.fingerprint, table.c.id).where(
            table.c.fingerprint.in_([book.fingerprint for book in missing])
        )
        return ids | dict(conn.execute(query).all())

    def _dead(self, conn: Connection, dead: list[DeadLetter]) -> None:
        if not dead:
            return
        now = time.time_ns()
        rows = [
            {
                "digest": hashlib.sha256(d.frame).hexdigest(),
                "at": now,
                "source": d.source,
                "entry": d.entry,
                "reason": d.reason,
                "frame": d.frame,
            }
            for d in dead
        ]
        stmt: Insert = self._upsert(schema.dead_letters).on_conflict_do_nothing()
        conn.execute(stmt, rows)


class _Assembly:
    """Turns one batch into block rows and index entries, skipping records already archived."""

    def __init__(self, batch: Batch, ids: dict[str, int], level: int) -> None:
        self.batch = batch
        self.ids = ids
        self.level = level
        self.index = SessionIndex()
        self.builders: dict[tuple[str, int, int, int], BlockBuilder] = {}

    def build(
        self, conn: Connection, dead: int
    ) -> tuple[list[dict[str, Any]], SessionIndex, WriteResult]:
        by_producer: dict[str, list[Parsed]] = {}
        for parsed in self.batch.frames:
            if parsed.frame.count == 0:
                continue
            by_producer.setdefault(parsed.frame.producer, []).append(parsed)
        inserted = total = 0
        for producer in sorted(by_producer):
            schema.lock(conn, _lock_key(producer))
            frames = by_producer[producer]
            stored = _touching(conn, producer, frames)
            held = list(stored)
            for parsed in frames:
                total += parsed.frame.count
                for run in _fresh_runs(parsed, held):
                    inserted += run.stop - run.start
                    self._take(parsed, run)
                held.append((parsed.frame.first_seq, parsed.last_seq))
            _store_spans(conn, producer, stored, held)
        rows = [b.row(self.level) for b in self.builders.values()]
        return rows, self.index, WriteResult(inserted, total - inserted, dead)

    def _take(self, parsed: Parsed, run: slice) -> None:
        """Append records `run` of a frame to their sessions' blocks and index entries."""
        frame, cols = parsed.frame, parsed.cols
        if len(frame.sessions) == 1:
            [number] = frame.sessions
            self._add(parsed, number, run)
            return
        sessions = cols.session
        start = run.start
        for i in _changes(sessions, run):
            self._add(parsed, sessions[start], slice(start, i))
            start = i
        self._add(parsed, sessions[start], slice(start, run.stop))

    def _add(self, parsed: Parsed, number: int, run: slice) -> None:
        frame, cols = parsed.frame, parsed.cols
        codebook = self.batch.codebooks[frame.sessions[number]]
        book_id = self.ids[codebook.fingerprint]
        low, high = self.index.add_run(frame, cols, number, run, codebook)
        key = (frame.producer, number, book_id, frame.version)
        builder = self.builders.get(key)
        seq = frame.first_seq + run.start
        if builder is None:
            builder = BlockBuilder(frame.producer, number, book_id, frame.version, seq, low, high)
            self.builders[key] = builder
        encoded = frame.body[cols.starts[run.start] : cols.starts[run.stop]]
        builder.add(seq, run.stop - run.start, encoded, low, high)


def _changes(sessions: Sequence[int], run: slice) -> Iterator[int]:
    """The indices in `run` whose session differs from the record before (found at C speed)."""
    before, after = sessions[run.start : run.stop - 1], sessions[run.start + 1 : run.stop]
    return compress(range(run.start + 1, run.stop), map(ne, before, after))


def _touching(conn: Connection, producer: str, frames: list[Parsed]) -> list[tuple[int, int]]:
    """The producer's archived spans that overlap or adjoin the frames' sequence numbers."""
    low = min(p.frame.first_seq for p in frames)
    high = max(p.last_seq for p in frames)
    s = schema.spans
    query = select(s.c.first_seq, s.c.last_seq).where(
        and_(s.c.producer == producer, s.c.first_seq <= high + 1, s.c.last_seq >= low - 1)
    )
    return [(lo, hi) for lo, hi in conn.execute(query)]


def _fresh_runs(parsed: Parsed, held: list[tuple[int, int]]) -> Iterator[slice]:
    """Index runs of the frame's records outside every held range."""
    first, last = parsed.frame.first_seq, parsed.last_seq
    cuts = sorted(
        (max(lo, first) - first, min(hi, last) - first + 1)
        for lo, hi in held
        if lo <= last and hi >= first
    )
    pos = 0
    for start, stop in cuts:
        if start > pos:
            yield slice(pos, start)
        pos = max(pos, stop)
    if pos < parsed.frame.count:
        yield slice(pos, parsed.frame.count)


def _store_spans(
    conn: Connection, producer: str, stored: list[tuple[int, int]], held: list[tuple[int, int]]
) -> None:
    """Replace the touched spans by the merge of them and the batch's frames."""
    merged: list[list[int]] = []
    for lo, hi in sorted(held):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    if sorted(stored) == [tuple(m) for m in merged]:
        return
    s = schema.spans
    if stored:
        firsts = [lo for lo, _ in stored]
        conn.execute(delete(s).where(and_(s.c.producer == producer, s.c.first_seq.in_(firsts))))
    rows = [{"producer": producer, "first_seq": lo, "last_seq": hi} for lo, hi in merged]
    conn.execute(insert(s), rows)


def _lock_key(producer: str) -> int:
    # The producer ID is 8 random bytes: as a signed 64-bit int it is a ready-made lock key.
    return int.from_bytes(bytes.fromhex(producer), "big", signed=True)


def _codebook_row(book: Codebook) -> dict[str, Any]:
    return {
        "fingerprint": book.fingerprint,
        "machine": book.machine,
        "version": book.version,
        "body": book.to_json(),
    }
