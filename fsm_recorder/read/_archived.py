"""Read the archive back: session summaries straight from ``sessions``, steps through the decoder.

Listing never touches ``records``: the writer keeps one indexed row per session. Showing a session
reads its records by primary-key range (producer, first_seq..last_seq) and feeds them to the one
`SessionDecoder`, so archived and live records decode alike and merge into one session.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, false, or_, select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError, CodebookError, DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import SessionDecoder
from fsm_recorder.read._query import OnError, SessionFilter, raise_error
from fsm_recorder.store import _schema as schema

_KEY = re.compile(r"([0-9a-f]{16}):(\d+)")


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
        _feed(decoder, conn.execute(_records_query(conn, where, start, end)), on_error)


class _reading:  # noqa: N801 - used like a function: `with _reading(url) as conn`
    def __init__(self, archive: str) -> None:
        self._engine = schema.open_engine(archive)
        self._conn: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self._conn = self._engine.connect()
            schema.check_version(self._conn)
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


def _records_query(
    conn: Connection, where: SessionFilter | None, start: int | None, end: int | None
) -> Select[Any]:
    r, s, cb = schema.records, schema.sessions, schema.codebooks
    # The seq range makes the join a primary-key range scan of `records`, session by session.
    joined = s.join(
        r,
        and_(
            r.c.producer == s.c.producer,
            r.c.seq.between(s.c.first_seq, s.c.last_seq),
            r.c.session == s.c.number,
        ),
    ).join(cb, cb.c.id == r.c.codebook)
    window = [] if start is None else [r.c.ts >= start]
    window += [] if end is None else [r.c.ts <= end]
    columns = (r.c.producer, r.c.seq, r.c.session, r.c.ts, r.c.kind, r.c.a, r.c.b, r.c.c)
    return (
        select(*columns, r.c.payload, cb.c.fingerprint, s.c.host, s.c.pid)
        .select_from(joined)
        .where(*_conditions(conn, where), *window)
        .order_by(r.c.producer, r.c.seq)
    )


def _feed(decoder: SessionDecoder, rows: Iterable[Any], on_error: OnError) -> None:
    frames: dict[tuple[str, int, str], wire.Frame] = {}
    failed: set[tuple[str, int]] = set()
    for producer, seq, number, ts, kind, a, b, c, payload, fp, host, pid in rows:
        if (producer, number) in failed:
            continue
        frame = frames.get((producer, number, fp))
        if frame is None:
            frame = wire.Frame(producer, pid, host, seq, {number: fp}, ())
            frames[(producer, number, fp)] = frame
        try:
            decoder.add_record(
                frame, wire.RawRecord(seq, ts, kind, a, b, c, number, payload or b"")
            )
        except (DecodeError, CodebookError) as exc:
            failed.add((producer, number))
            on_error(f"archived session {producer}:{number}", exc)


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
        found.append(_reached(conn, where.reached))
    return found


def _key_condition(key: str) -> ColumnElement[bool]:
    s = schema.sessions
    match = _KEY.fullmatch(key)
    if match is None:
        return s.c.session_id == key
    by_key = and_(s.c.producer == match[1], s.c.number == int(match[2]))
    return or_(s.c.session_id == key, by_key)


def _reached(conn: Connection, state: str) -> ColumnElement[bool]:
    """Sessions whose machine's codebook gives `state` a code they recorded."""
    s, st, cb = schema.sessions, schema.session_states, schema.codebooks
    pairs = {
        (machine, book.states[state])
        for machine, body in conn.execute(select(cb.c.machine, cb.c.body))
        if state in (book := Codebook.from_json(body)).states
    }
    if not pairs:
        return false()
    codes = or_(*(and_(s.c.machine == machine, st.c.state == code) for machine, code in pairs))
    return exists().where(st.c.producer == s.c.producer, st.c.number == s.c.number, codes)


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
