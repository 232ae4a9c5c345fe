"""The archive's tables, how to open an engine on it, and the migrations that build them.

Records are stored as they travel: codes, never names. Names live only in the ``codebooks`` table
(the codebook JSON), so the archive is as compact as the stream and stays readable after a machine
evolves. One row per record keyed by (producer, seq) is the exactly-once guarantee: a replayed
batch hits the key and inserts nothing.

Tables (version 1):

- ``schema_version``: one row, the version the archive was migrated to.
- ``codebooks``: fingerprint -> codebook JSON; a small integer ``id`` is what records point to.
- ``records``: one row per record: producer, seq, session number, ts, kind, a, b, c, payload
  (session start ID / event arguments, else NULL), codebook id.
- ``sessions``: one row per (producer, session number), maintained by the writer: session ID,
  machine, host, pid, latest codebook, first/last seq and ts, step count, end time. Indexed by ID,
  machine, host and time so listing and time windows never touch ``records``.
- ``session_states``: (producer, number, state code) for every state a session was in, for
  ``--reached``.
- ``dead_letters``: frames that could not be archived, raw bytes and the reason, keyed by digest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError

SCHEMA_VERSION = 1
metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))
codebooks = Table(
    "codebooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(16), nullable=False, unique=True),
    Column("machine", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
)
records = Table(
    "records",
    metadata,
    Column("producer", String(16), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("session", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("a", Integer, nullable=False),
    Column("b", Integer, nullable=False),
    Column("c", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=True),
    Column("codebook", Integer, nullable=False),
    PrimaryKeyConstraint("producer", "seq", name="pk_records"),
    # One B-tree keyed by (producer, seq) instead of a rowid table plus a key index: half the
    # writes per record, and session reads are range scans of the table itself.
    sqlite_with_rowid=False,
)
sessions = Table(
    "sessions",
    metadata,
    Column("producer", String(16), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("session_id", String, nullable=False),
    Column("machine", String, nullable=False),
    Column("host", String, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("codebook", String(16), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("first_ts", BigInteger, nullable=False),
    Column("last_ts", BigInteger, nullable=False),
    Column("steps", BigInteger, nullable=False),
    Column("ended", BigInteger, nullable=True),
    PrimaryKeyConstraint("producer", "number", name="pk_sessions"),
    Index("ix_sessions_session_id", "session_id"),
    Index("ix_sessions_machine_first_ts", "machine", "first_ts"),
    Index("ix_sessions_host_first_ts", "host", "first_ts"),
    Index("ix_sessions_first_ts", "first_ts"),
    Index("ix_sessions_last_ts", "last_ts"),
)
session_states = Table(
    "session_states",
    metadata,
    Column("producer", String(16), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("state", Integer, nullable=False),
    PrimaryKeyConstraint("producer", "number", "state", name="pk_session_states"),
    Index("ix_session_states_state", "state"),
    sqlite_with_rowid=False,
)
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("source", String, nullable=False),
    Column("entry", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("frame", LargeBinary, nullable=False),
)

Migration = Callable[[Connection], None]


def _create_v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[t for t in metadata.sorted_tables if t is not schema_version])


# MIGRATIONS[n] turns a version n-1 archive into version n; append, never edit a released one.
MIGRATIONS: dict[int, Migration] = {1: _create_v1}


_SUPPORTED = "use an SQLite file path (or sqlite:///path) or postgresql+psycopg://user@host/db"


def archive_url(url: str) -> str:
    """The SQLAlchemy URL of `url`; a plain path means an SQLite file.

    Raises:
        ArchiveError: not an SQLite or PostgreSQL URL, or an SQLite file in a missing directory.
    """
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    scheme = url.split("://", 1)[0]
    if scheme.split("+")[0] not in ("sqlite", "postgresql"):
        raise ArchiveError(f"unsupported archive {url!r}: {_SUPPORTED}")
    if scheme.startswith("sqlite"):
        path = url.split("://", 1)[1][1:]
        if path and path != ":memory:" and not Path(path).parent.is_dir():
            raise ArchiveError(
                f"archive {url!r}: directory {Path(path).parent} does not exist (create it first)"
            )
    return url


def open_engine(url: str, *, write: bool = False) -> Engine:
    """An engine on the archive; SQLite gets WAL, a durable commit and (to write) BEGIN IMMEDIATE.

    `synchronous=FULL`: the drain deletes frames from Redis right after COMMIT returns, so the
    commit must be on disk then. NORMAL would keep WAL-mode commits only up to the last checkpoint
    on power loss, and the frames would be gone from both places. FULL costs one fsync per
    batch, which big batches make cheap.
    """
    try:
        engine = create_engine(archive_url(url))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ArchiveError(f"cannot open archive {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        _tune_sqlite(engine, write=write)
    elif engine.dialect.name != "postgresql":
        raise ArchiveError(f"archive {url!r}: only SQLite and PostgreSQL archives are supported")
    return engine


def _create_private(database: str | None) -> None:
    """Create a new SQLite file 0600 (its WAL files follow): it holds codebooks and payloads."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        raise ArchiveError(f"cannot create archive {database}: {exc.strerror}") from exc


def _tune_sqlite(engine: Engine, *, write: bool) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite's implicit one.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: two drains serialize instead of deadlocking.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def lock(conn: Connection, key: int) -> None:
    """Serialize writers on `key` until the transaction ends (SQLite: BEGIN IMMEDIATE did it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


_MIGRATION_LOCK = 0x46534D52  # "FSMR"


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema; return the version. A newer archive is an `ArchiveError`."""
    try:
        with engine.begin() as conn:
            lock(conn, _MIGRATION_LOCK)
            schema_version.create(conn, checkfirst=True)
            found = conn.execute(select(schema_version.c.version)).scalar()
            current = _upgrade(conn, found or 0)
            if found is None:
                conn.execute(schema_version.insert().values(version=current))
            else:
                conn.execute(schema_version.update().values(version=current))
    except SQLAlchemyError as exc:
        raise ArchiveError(f"cannot prepare archive {engine.url!r}: {exc}") from exc
    return current


def _upgrade(conn: Connection, found: int) -> int:
    if found > SCHEMA_VERSION:
        raise ArchiveError(
            f"archive {conn.engine.url!r} has schema version {found}, newer than version "
            f"{SCHEMA_VERSION} this fsm-recorder understands: upgrade fsm-recorder"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn)
    return SCHEMA_VERSION


def check_version(conn: Connection) -> None:
    """Refuse to read an archive that is missing or newer than this code."""
    try:
        found = conn.execute(select(schema_version.c.version)).scalar()
    except SQLAlchemyError as exc:
        raise ArchiveError(
            f"{conn.engine.url!r} is not an fsm-recorder archive (run `fsm-recorder drain` "
            f"into it first): {exc}"
        ) from exc
    _upgrade_check(conn, found or 0)


def _upgrade_check(conn: Connection, found: int) -> None:
    if found != SCHEMA_VERSION:
        raise ArchiveError(
            f"archive {conn.engine.url!r} has schema version {found}, this fsm-recorder reads "
            f"version {SCHEMA_VERSION}: "
            + ("upgrade fsm-recorder" if found > SCHEMA_VERSION else "drain into it to migrate")
        )
