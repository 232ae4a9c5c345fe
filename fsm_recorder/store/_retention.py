"""Retention: forget the records older than a cutoff, and the sessions that ended before it.

On PostgreSQL ``blocks`` is partitioned by month of ``first_ts``: pruning drops the partitions
that end at or before the cutoff (no row-by-row DELETE, no table bloat, no vacuum debt), so the
effective cutoff is the start of the cutoff's month. On SQLite the blocks whose last record is
older than the cutoff are deleted. Either way a session whose last record is older than the
(effective) cutoff leaves the index; one still recording across it keeps its summary and the
steps after the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, exists, text
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError
from fsm_recorder.store import _schema as schema
from fsm_recorder.store._migrations import migrate


@dataclass(frozen=True)
class Pruned:
    """What one prune removed; `cutoff` is the effective one (a month start on PostgreSQL)."""

    cutoff: int
    sessions: int
    partitions: int


def prune(archive: str, older_than: int) -> Pruned:
    """Remove the sessions of `archive` whose last record is before `older_than` (ns)."""
    engine = schema.open_engine(archive, write=True)
    try:
        migrate(engine)
        with engine.begin() as conn:
            return _prune(conn, older_than)
    except SQLAlchemyError as exc:
        raise ArchiveError(f"cannot prune archive {engine.url!r}: {exc}") from exc
    finally:
        engine.dispose()


def _prune(conn: Connection, older_than: int) -> Pruned:
    postgres = conn.dialect.name == "postgresql"
    cutoff = schema.month_bounds(schema.month_of(older_than))[0] if postgres else older_than
    s = schema.sessions
    old = s.c.last_ts < cutoff
    for codes in (schema.session_states, schema.session_exceptions):
        gone = exists().where(s.c.producer == codes.c.producer, s.c.number == codes.c.number, old)
        conn.execute(delete(codes).where(gone))
    partitions = _drop_partitions(conn, cutoff) if postgres else 0
    if not postgres:
        conn.execute(delete(schema.blocks).where(schema.blocks.c.last_ts < cutoff))
    removed = conn.execute(delete(s).where(old)).rowcount
    return Pruned(cutoff, int(removed or 0), partitions)


def _drop_partitions(conn: Connection, cutoff: int) -> int:
    schema.lock(conn, schema.PARTITION_LOCK)
    query = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'blocks'::regclass"
    )
    names = list(conn.execute(query).scalars())
    dropped = 0
    for name in names:
        month = (int(name[-6:-2]), int(name[-2:]))
        if schema.month_bounds(month)[1] <= cutoff:
            conn.exec_driver_sql(f"DROP TABLE {name}")
            dropped += 1
    return dropped


__all__ = ["Pruned", "prune"]
