"""Create the archive, or upgrade one an older fsm-recorder wrote, one version at a time.

A new archive gets the current tables at once. An older one runs ``MIGRATIONS[n]`` for every
version n above its own, in one transaction under an advisory lock (two drains starting together
migrate once). Append a migration for every change of layout; never edit a released one.

- Version 1 stored one ``records`` row per record. Version 2 (`_blocks_from_records`) packs them
  into per-session blocks, derives the ``spans`` of archived sequence numbers and the
  ``session_exceptions`` index from them, then drops ``records``: the archive reads the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError
from fsm_recorder.format import _wire as wire
from fsm_recorder.store import _schema as schema
from fsm_recorder.store._block import BlockBuilder

_MIGRATION_LOCK = 0x46534D52  # "FSMR"
_BLOCK_RECORDS = 50_000
_PAYLOAD_KINDS = (wire.Kind.SESSION_START, wire.Kind.ARGS)

# Version 1's table of one row per record, as it was: only the upgrade reads it.
_records_v1 = Table(
    "records",
    MetaData(),
    Column("producer", String(16)),
    Column("seq", BigInteger),
    Column("session", BigInteger),
    Column("ts", BigInteger),
    Column("kind", SmallInteger),
    Column("a", Integer),
    Column("b", Integer),
    Column("c", Integer),
    Column("payload", LargeBinary),
    Column("codebook", Integer),
)


def _blocks_from_records(conn: Connection) -> None:
    schema.metadata.create_all(
        conn, tables=[schema.blocks, schema.spans, schema.session_exceptions]
    )
    r = _records_v1
    key = (r.c.producer, r.c.session, r.c.codebook, r.c.seq)
    builder: BlockBuilder | None = None
    for row in conn.execute(select(r).order_by(*key)).yield_per(_BLOCK_RECORDS):
        if builder is None or not _same_block(builder, row):
            _flush(conn, builder)
            builder = BlockBuilder(
                row.producer, row.session, row.codebook, wire.VERSION, row.seq, row.ts, row.ts
            )
        builder.add(row.seq, 1, _encoded(row), row.ts, row.ts)
    _flush(conn, builder)
    seqs = conn.execute(select(r.c.producer, r.c.seq).order_by(r.c.producer, r.c.seq))
    spans = [{"producer": p, "first_seq": lo, "last_seq": hi} for p, lo, hi in _runs(seqs)]
    if spans:
        conn.execute(insert(schema.spans), spans)
    raised = select(r.c.producer, r.c.session, r.c.c).where(r.c.kind == wire.Kind.EXCEPTION)
    target = schema.session_exceptions
    columns = ["producer", "number", "exception"]
    conn.execute(target.insert().from_select(columns, raised.distinct()))
    r.drop(conn)


def _same_block(builder: BlockBuilder, row: Any) -> bool:
    return (builder.producer, builder.number, builder.codebook) == (
        row.producer,
        row.session,
        row.codebook,
    ) and builder.records < _BLOCK_RECORDS


def _flush(conn: Connection, builder: BlockBuilder | None) -> None:
    if builder is not None:
        schema.ensure_partitions(conn, {schema.month_of(builder.first_ts)})
        conn.execute(insert(schema.blocks), [builder.row()])


def _encoded(row: Any) -> bytes:
    """A version-1 record row as the slots its frame carried."""
    if row.kind in _PAYLOAD_KINDS:
        payload = row.payload or b""
        return wire.pack_with_payload(row.kind, row.a, row.b, row.session, row.ts, payload)
    return wire.RECORD.pack(row.kind, 0, row.a, row.b, row.c, row.session, row.ts)


def _runs(rows: Iterable[Any]) -> Iterable[tuple[str, int, int]]:
    """(producer, first, last) for each run of consecutive sequence numbers."""
    current: list[Any] | None = None
    for producer, seq in rows:
        if current is not None and current[0] == producer and current[2] + 1 == seq:
            current[2] = seq
            continue
        if current is not None:
            yield current[0], current[1], current[2]
        current = [producer, seq, seq]
    if current is not None:
        yield current[0], current[1], current[2]


Migration = Callable[[Connection], None]
# MIGRATIONS[n] turns a version n-1 archive into version n; append, never edit a released one.
MIGRATIONS: dict[int, Migration] = {2: _blocks_from_records}


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema; return the version. A newer archive is an `ArchiveError`."""
    try:
        with engine.begin() as conn:
            schema.lock(conn, _MIGRATION_LOCK)
            table = schema.schema_version
            table.create(conn, checkfirst=True)
            found = conn.execute(select(table.c.version)).scalar()
            if found is None:
                _create(conn)
                conn.execute(table.insert().values(version=schema.SCHEMA_VERSION))
            else:
                _upgrade(conn, found)
                conn.execute(table.update().values(version=schema.SCHEMA_VERSION))
    except SQLAlchemyError as exc:
        raise ArchiveError(f"cannot prepare archive {engine.url!r}: {exc}") from exc
    return schema.SCHEMA_VERSION


def _create(conn: Connection) -> None:
    tables = [t for t in schema.metadata.sorted_tables if t is not schema.schema_version]
    schema.metadata.create_all(conn, tables=tables)


def _upgrade(conn: Connection, found: int) -> None:
    if found > schema.SCHEMA_VERSION:
        raise ArchiveError(
            f"archive {conn.engine.url!r} has schema version {found}, newer than version "
            f"{schema.SCHEMA_VERSION} this fsm-recorder understands: upgrade fsm-recorder"
        )
    for version in range(found + 1, schema.SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn)


def check_version(conn: Connection) -> None:
    """Refuse to read an archive that is missing, older or newer than this code."""
    try:
        found = conn.execute(select(schema.schema_version.c.version)).scalar()
    except SQLAlchemyError as exc:
        raise ArchiveError(
            f"{conn.engine.url!r} is not an fsm-recorder archive (run `fsm-recorder drain` "
            f"into it first): {exc}"
        ) from exc
    found = found or 0
    if found != schema.SCHEMA_VERSION:
        raise ArchiveError(
            f"archive {conn.engine.url!r} has schema version {found}, this fsm-recorder reads "
            f"version {schema.SCHEMA_VERSION}: "
            + (
                "upgrade fsm-recorder"
                if found > schema.SCHEMA_VERSION
                else "drain into it to migrate"
            )
        )
