"""Write drained batches into the archive: one transaction per batch, each record exactly once.

Exactly-once rests on the (producer, seq) key of ``records``. Inside the batch's transaction the
writer takes a lock per producer (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE already
serializes writers), reads which of the batch's sequence numbers the archive already holds, and
inserts only the others, so the ``sessions`` counters count each record once even when two drains
replay the same frames. ``INSERT ... ON CONFLICT DO NOTHING`` stays as the last line of defence.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Insert, Table, and_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.store import _schema as schema

_ARGS = wire.Kind.ARGS
_TRANSITION = wire.Kind.TRANSITION
_START = wire.Kind.SESSION_START
_END = wire.Kind.SESSION_END
_RECORD_COLUMNS = ("producer", "seq", "session", "ts", "kind", "a", "b", "c", "payload", "codebook")
_SESSION_VALUES = (
    "session_id",
    "machine",
    "host",
    "pid",
    "codebook",
    "first_seq",
    "last_seq",
    "first_ts",
    "last_ts",
    "steps",
    "ended",
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
    """What one drain step hands the writer: decoded frames, their codebooks, dead letters."""

    frames: list[wire.Frame] = field(default_factory=list)
    codebooks: dict[str, Codebook] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)


@dataclass(frozen=True)
class WriteResult:
    """What a committed batch changed: records inserted, records already there, dead letters."""

    inserted: int
    duplicates: int
    dead: int


@dataclass
class _Agg:
    """One session's figures from the records of this batch (merged with its stored row)."""

    producer: str
    number: int
    host: str
    pid: int
    codebook: Codebook
    first_seq: int
    last_seq: int
    first_ts: int
    last_ts: int
    steps: int = 0
    session_id: str | None = None
    ended: int | None = None
    states: set[int] = field(default_factory=set)

    def add(self, recs: Sequence[wire.RawRecord], codebook: Codebook) -> None:
        # Whole-list passes with builtins: far cheaper than one Python branch per record.
        stamps = [r.ts for r in recs]
        self.first_seq = min(self.first_seq, recs[0].seq)
        self.last_seq = max(self.last_seq, recs[-1].seq)
        self.first_ts = min(self.first_ts, *stamps)
        self.last_ts = max(self.last_ts, *stamps)
        kinds = [r.kind for r in recs]
        self.steps += len(recs) - kinds.count(_ARGS)
        if _START in kinds or _END in kinds:
            self._bounds(recs)
        self.states.update(r.b for r in recs if r.b and r.kind != _ARGS)
        self.states.update(r.c for r in recs if r.c and r.kind == _TRANSITION)
        if codebook.version > self.codebook.version:
            self.codebook = codebook

    def _bounds(self, recs: Iterable[wire.RawRecord]) -> None:
        for r in recs:
            if r.kind == _START:
                self.session_id = r.payload.decode(errors="replace")
            elif r.kind == _END:
                self.ended = r.ts

    def row(self, stored: Any) -> dict[str, Any]:
        """The merged sessions row, given the stored one (or None)."""
        mine = {
            "producer": self.producer,
            "number": self.number,
            "session_id": self.session_id or f"{self.producer}:{self.number}",
            "machine": self.codebook.machine,
            "host": self.host,
            "pid": self.pid,
            "codebook": self.codebook.fingerprint,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "steps": self.steps,
            "ended": self.ended,
        }
        return mine if stored is None else _merged(mine, stored._mapping, self.session_id)


def _merged(mine: dict[str, Any], old: Any, started: str | None) -> dict[str, Any]:
    return {
        **mine,
        "session_id": started or old["session_id"],
        "first_seq": min(mine["first_seq"], old["first_seq"]),
        "last_seq": max(mine["last_seq"], old["last_seq"]),
        "first_ts": min(mine["first_ts"], old["first_ts"]),
        "last_ts": max(mine["last_ts"], old["last_ts"]),
        "steps": mine["steps"] + old["steps"],
        "ended": mine["ended"] if mine["ended"] is not None else old["ended"],
    }


class ArchiveWriter:
    """Writes batches into one archive (created or migrated on open)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = schema.open_engine(url, write=True)
        try:
            schema.migrate(self.engine)
        except ArchiveError:
            self.engine.dispose()
            raise
        self._codebook_ids: dict[str, int] = {}
        # The hot statement goes to the driver as compiled SQL with plain tuples: SQLAlchemy's
        # per-row parameter processing would cost more than SQLite's insert itself.
        compiled = self._upsert(schema.records).on_conflict_do_nothing().compile(self.engine)
        self._insert_sql = str(compiled)
        self._positional = bool(compiled.positional)
        if self._positional and tuple(compiled.positiontup or ()) != _RECORD_COLUMNS:
            raise ArchiveError(f"unexpected parameter order in {self._insert_sql!r}")

    def _upsert(self, table: Table) -> Any:
        module: Any = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return module.insert(table)

    def write(self, batch: Batch) -> WriteResult:
        """Commit `batch` in one transaction; when this returns, it is durable."""
        try:
            with self.engine.begin() as conn:
                ids = self._ids(conn, batch.codebooks)
                result = self._write(conn, batch, ids)
        except SQLAlchemyError as exc:
            raise ArchiveError(f"cannot write to archive {self.engine.url!r}: {exc}") from exc
        self._codebook_ids.update(ids)
        return result

    def close(self) -> None:
        """Release the archive's connections."""
        self.engine.dispose()

    def _write(self, conn: Connection, batch: Batch, ids: dict[str, int]) -> WriteResult:
        producers = sorted({f.producer for f in batch.frames})
        for producer in producers:
            schema.lock(conn, _lock_key(producer))
        held = self._held(conn, batch.frames)
        rows: list[tuple[Any, ...]] = []
        aggs: dict[tuple[str, int], _Agg] = {}
        total = 0
        for frame in batch.frames:
            total += len(frame.records)
            fresh = _fresh(frame, held.get(frame.producer))
            if fresh:
                rows.extend(_rows(frame, fresh, ids))
                _aggregate(frame, fresh, batch.codebooks, aggs)
        if rows:
            params = rows if self._positional else [_named(r) for r in rows]
            conn.exec_driver_sql(self._insert_sql, params)
        self._sessions(conn, aggs)
        self._dead(conn, batch.dead)
        return WriteResult(inserted=len(rows), duplicates=total - len(rows), dead=len(batch.dead))

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

    @staticmethod
    def _held(conn: Connection, frames: list[wire.Frame]) -> dict[str, set[int]]:
        spans: dict[str, tuple[int, int]] = {}
        for frame in frames:
            if frame.records:
                lo, hi = spans.get(frame.producer, (frame.first_seq, frame.first_seq))
                spans[frame.producer] = (min(lo, frame.first_seq), max(hi, frame.records[-1].seq))
        table = schema.records
        held: dict[str, set[int]] = {}
        for producer, (lo, hi) in spans.items():
            query = select(table.c.seq).where(
                and_(table.c.producer == producer, table.c.seq.between(lo, hi))
            )
            seqs = set(conn.execute(query).scalars())
            if seqs:
                held[producer] = seqs
        return held

    def _sessions(self, conn: Connection, aggs: dict[tuple[str, int], _Agg]) -> None:
        if not aggs:
            return
        table = schema.sessions
        key = tuple_(table.c.producer, table.c.number)
        stored = {
            (r.producer, r.number): r for r in conn.execute(select(table).where(key.in_(aggs)))
        }
        stmt = self._upsert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["producer", "number"],
            set_={name: stmt.excluded[name] for name in _SESSION_VALUES},
        )
        conn.execute(stmt, [agg.row(stored.get(k)) for k, agg in aggs.items()])
        states = [
            {"producer": agg.producer, "number": agg.number, "state": state}
            for agg in aggs.values()
            for state in agg.states
        ]
        if states:
            conn.execute(self._upsert(schema.session_states).on_conflict_do_nothing(), states)

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


def _lock_key(producer: str) -> int:
    # The producer ID is 8 random bytes: as a signed 64-bit int it is a ready-made lock key.
    return int.from_bytes(bytes.fromhex(producer), "big", signed=True)


def _fresh(frame: wire.Frame, held: set[int] | None) -> Sequence[wire.RawRecord]:
    if not held:
        return frame.records
    return [r for r in frame.records if r.seq not in held]


def _rows(
    frame: wire.Frame, recs: Sequence[wire.RawRecord], ids: dict[str, int]
) -> list[tuple[Any, ...]]:
    """`records` rows in `_RECORD_COLUMNS` order."""
    p = frame.producer
    books = {number: ids[fp] for number, fp in frame.sessions.items()}
    return [
        (p, r.seq, r.session, r.ts, r.kind, r.a, r.b, r.c, r.payload or None, books[r.session])
        for r in recs
    ]


def _aggregate(
    frame: wire.Frame,
    recs: Sequence[wire.RawRecord],
    books: dict[str, Codebook],
    aggs: dict[tuple[str, int], _Agg],
) -> None:
    groups: dict[int, list[wire.RawRecord]] = {}
    if len(frame.sessions) == 1:
        groups[next(iter(frame.sessions))] = list(recs)
    else:
        for r in recs:
            groups.setdefault(r.session, []).append(r)
    for number, group in groups.items():
        codebook = books[frame.sessions[number]]
        agg = aggs.get((frame.producer, number))
        if agg is None:
            first = group[0]
            agg = _Agg(
                frame.producer, number, frame.host, frame.pid, codebook,
                first.seq, first.seq, first.ts, first.ts,
            )  # fmt: skip
            aggs[(frame.producer, number)] = agg
        agg.add(group, codebook)


def _codebook_row(book: Codebook) -> dict[str, Any]:
    return {
        "fingerprint": book.fingerprint,
        "machine": book.machine,
        "version": book.version,
        "body": book.to_json(),
    }


def _named(row: tuple[Any, ...]) -> dict[str, Any]:
    """A `records` row as named parameters, for drivers without positional ones (psycopg)."""
    return dict(zip(_RECORD_COLUMNS, row, strict=True))
