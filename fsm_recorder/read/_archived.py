"""Read the archive back: session summaries straight from ``sessions``, steps through the decoder.

Listing never opens a block: the writer keeps one indexed row per session, and ``--reached``
and exception filters are lookups in their code tables. Showing a session reads its blocks by
primary-key range (producer, number), checks and inflates each (`store._block`) and feeds the
records to the one `SessionDecoder`, so archived and live records decode alike and merge into one
session.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, and_, false, or_, select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError, CodebookError, DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook, Section
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import SessionDecoder
from fsm_recorder.read._query import OnError, SessionFilter, raise_error
from fsm_recorder.store import _schema as schema
from fsm_recorder.store._block import block_records
from fsm_recorder.store._migrations import check_version

_KEY = re.compile(r"([0-9a-f]{16}):(\d+)")
_CODES: dict[Section, tuple[Table, str]] = {
    "states": (schema.session_states, "state"),
    "exceptions": (schema.session_exceptions, "exception"),
}


class _ArchiveCodebooks(CodebookStore):
    """The reader's codebook store, falling back to the codebooks kept in the archive.

    The archive's codebooks are few (one per machine version) and read once, up front; they are
    never written into the user's store directory.
    """

    def __init__(self, base: CodebookStore, archived: Iterable[Codebook]) -> None:
        super().__init__(base.directory)
        self._archived = {book.fingerprint: book for book in archived}

    def get(self, fingerprint: str) -> Codebook | None:
        """The store's codebook, else the archive's, else None."""
        return super().get(fingerprint) or self._archived.get(fingerprint)


def list_archived(archive: str, where: SessionFilter | None = None) -> list[dict[str, Any]]:
    """Summaries (as `Session.summary` gives them) of the archived sessions matching `where`."""
    table = schema.sessions
    with _reading(archive) as conn:
        query = select(table).where(*_conditions(conn, where)).order_by(table.c.first_ts)
        return [_summary(row._mapping) for row in conn.execute(query)]


def add_archived(
    decoder: SessionDecoder,
    archive: str,
    *,
    on_error: OnError = raise_error,
    where: SessionFilter | None = None,
    start: int | None = None,
    end: int | None = None,
) -> None:
    """Feed the archived records of the sessions matching `where` into `decoder`.

    Args:
        decoder: Receives every record via `SessionDecoder.add_record` (which drops repeats).
        archive: Archive URL or SQLite path.
        on_error: Told once per session whose records do not decode; the rest carry on.
        where: Which sessions (default all).
        start: Only records at or after this time (ns).
        end: Only records at or before this time (ns).
    """
    with _reading(archive) as conn:
        bodies = conn.execute(select(schema.codebooks.c.body)).scalars()
        archived = [Codebook.from_json(body) for body in bodies]
        decoder.codebooks = _ArchiveCodebooks(decoder.codebooks, archived)
        _feed(decoder, conn.execute(_blocks_query(conn, where, start, end)), on_error, start, end)


class _reading:  # noqa: N801 - used like a function: `with _reading(url) as conn`
    def __init__(self, archive: str) -> None:
        self._engine = schema.open_engine(archive)
        self._conn: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self._conn = self._engine.connect()
            check_version(self._conn)
        except (SQLAlchemyError, ArchiveError) as exc:
            self.__exit__(type(exc), exc, None)
            raise
        return self._conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._conn is not None:
            self._conn.close()
        self._engine.dispose()
        if isinstance(exc, SQLAlchemyError):
            raise ArchiveError(f"cannot read archive {self._engine.url!r}: {exc}") from exc


def _blocks_query(
    conn: Connection, where: SessionFilter | None, start: int | None, end: int | None
) -> Select[Any]:
    b, s, cb = schema.blocks, schema.sessions, schema.codebooks
    joined = s.join(b, and_(b.c.producer == s.c.producer, b.c.number == s.c.number)).join(
        cb, cb.c.id == b.c.codebook
    )
    window = [] if start is None else [b.c.last_ts >= start]
    window += [] if end is None else [b.c.first_ts <= end]
    return (
        select(b, cb.c.fingerprint, s.c.host, s.c.pid)
        .select_from(joined)
        .where(*_conditions(conn, where), *window)
        .order_by(b.c.producer, b.c.number, b.c.first_seq)
    )


def _feed(
    decoder: SessionDecoder,
    rows: Iterable[Any],
    on_error: OnError,
    start: int | None,
    end: int | None,
) -> None:
    failed: set[tuple[str, int]] = set()
    low, high = (start if start is not None else -1), (end if end is not None else 2**64)
    for row in rows:
        key = (row.producer, row.number)
        if key in failed:
            continue
        frame = wire.Frame(
            row.producer, row.pid, row.host, row.first_seq, {row.number: row.fingerprint}, ()
        )
        try:
            for record in block_records(row, row.fingerprint):
                if low <= record.ts <= high:
                    decoder.add_record(frame, record)
        except (DecodeError, CodebookError) as exc:
            failed.add(key)
            on_error(f"archived session {row.producer}:{row.number}", exc)


def _conditions(conn: Connection, where: SessionFilter | None) -> list[ColumnElement[bool]]:
    if where is None:
        return []
    s = schema.sessions
    found: list[ColumnElement[bool]] = []
    if where.key is not None:
        found.append(_key_condition(where.key))
    if where.keys is not None:
        found.append(tuple_(s.c.producer, s.c.number).in_(where.keys) if where.keys else false())
    if where.machine is not None:
        found.append(s.c.machine == where.machine)
    if where.host is not None:
        found.append(s.c.host == where.host)
    if where.since is not None:
        found.append(s.c.last_ts >= where.since)
    if where.until is not None:
        found.append(s.c.first_ts <= where.until)
    if where.reached is not None:
        found.append(_recorded(conn, "states", where.reached))
    if where.exception is not None:
        found.append(_recorded(conn, "exceptions", where.exception))
    return found


def _key_condition(key: str) -> ColumnElement[bool]:
    s = schema.sessions
    match = _KEY.fullmatch(key)
    if match is None:
        return s.c.session_id == key
    by_key = and_(s.c.producer == match[1], s.c.number == int(match[2]))
    return or_(s.c.session_id == key, by_key)


def _recorded(conn: Connection, section: Section, name: str) -> ColumnElement[bool]:
    """Sessions that recorded the code their machine's codebooks give `name` in `section`.

    Driven by the code index: the (few) sessions holding the code are found first, then
    looked up by primary key, so the answer costs what it returns, not the archive's size.
    """
    s, cb = schema.sessions, schema.codebooks
    table, column = _CODES[section]
    by_machine: dict[str, set[int]] = {}
    for machine, body in conn.execute(select(cb.c.machine, cb.c.body)):
        code = getattr(Codebook.from_json(body), section).get(name)
        if code is not None:
            by_machine.setdefault(machine, set()).add(code)
    if not by_machine:
        return false()
    key = tuple_(s.c.producer, s.c.number)
    return or_(
        *(
            and_(
                s.c.machine == machine,
                key.in_(select(table.c.producer, table.c.number).where(table.c[column].in_(codes))),
            )
            for machine, codes in by_machine.items()
        )
    )


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row["session_id"],
        "key": f"{row['producer']}:{row['number']}",
        "machine": row["machine"],
        "host": row["host"],
        "pid": row["pid"],
        "producer": row["producer"],
        "codebook": row["codebook"],
        "started": row["first_ts"],
        "ended": row["ended"],
        "steps": row["steps"],
    }
