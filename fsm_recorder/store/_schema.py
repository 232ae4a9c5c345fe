"""The archive's tables and how to open an engine on it (store/_migrations.py builds them).

Records are stored as they travel: encoded, codes never names. Names live only in the
``codebooks`` table (the codebook JSON), so the archive stays readable after a machine evolves.
What is read together is kept together: a session's records of one drained batch are one
compressed, checksummed block (store/_block.py), and a session index answers every listing
query without opening a block.

Tables (version 2):

- ``schema_version``: one row, the version the archive was migrated to.
- ``codebooks``: fingerprint -> codebook JSON; a small integer ``id`` is what blocks point to.
- ``blocks``: one row per (producer, session number, first seq): last seq, first and last time,
  codebook id, wire format version, record count, CRC-32 and the compressed body.
- ``spans``: per producer, the ranges of sequence numbers archived (adjacent ranges merged, so a
  producer has about one row). It is the exactly-once guarantee: a replayed frame falls in a span
  and stores nothing.
- ``sessions``: one row per (producer, session number), maintained by the writer: session ID,
  machine, host, pid, latest codebook, first/last seq and ts, step count, end time. Indexed by ID,
  machine, host and time so listing and time windows never touch ``blocks``.
- ``session_states``: (producer, number, state code) for every state a session was in, for
  ``--reached``; ``session_exceptions``: (producer, number, exception code) it raised.
- ``dead_letters``: frames that could not be archived, raw bytes and the reason, keyed by digest.

On PostgreSQL ``blocks`` is partitioned by month of ``first_ts`` (declarative partitioning), so
retention drops whole partitions.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
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
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from fsm_recorder.exceptions import ArchiveError

SCHEMA_VERSION = 2
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
blocks = Table(
    "blocks",
    metadata,
    Column("producer", String(16), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("first_ts", BigInteger, nullable=False),
    Column("last_ts", BigInteger, nullable=False),
    Column("codebook", Integer, nullable=False),
    Column("format", SmallInteger, nullable=False),
    Column("records", Integer, nullable=False),
    Column("crc", BigInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
    # A session's blocks are one range scan; the key holds first_ts for PostgreSQL's partitions.
    PrimaryKeyConstraint("producer", "number", "first_seq", "first_ts", name="pk_blocks"),
    sqlite_with_rowid=False,
    postgresql_partition_by="RANGE (first_ts)",
)
spans = Table(
    "spans",
    metadata,
    Column("producer", String(16), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("producer", "first_seq", name="pk_spans"),
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


def _codes_table(name: str, column: str) -> Table:
    """(producer, number, code): which codes of one kind a session recorded, indexed by code."""
    return Table(
        name,
        metadata,
        Column("producer", String(16), nullable=False),
        Column("number", BigInteger, nullable=False),
        Column(column, Integer, nullable=False),
        PrimaryKeyConstraint("producer", "number", column, name=f"pk_{name}"),
        Index(f"ix_{name}_{column}", column),
        sqlite_with_rowid=False,
    )


session_states = _codes_table("session_states", "state")
session_exceptions = _codes_table("session_exceptions", "exception")
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


PARTITION_LOCK = 0x46534D50  # "FSMP"
_NS = 10**9


def month_of(ts: int) -> tuple[int, int]:
    """(year, month) in UTC of a time in ns: the ``blocks`` partition a block goes to."""
    day = datetime.fromtimestamp(ts // _NS, timezone.utc)
    return day.year, day.month


def month_bounds(month: tuple[int, int]) -> tuple[int, int]:
    """First ns of `month` and first ns of the month after it."""
    year, number = month
    start = datetime(year, number, 1, tzinfo=timezone.utc)
    after = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=timezone.utc)
    return int(start.timestamp()) * _NS, int(after.timestamp()) * _NS


def partition_name(month: tuple[int, int]) -> str:
    """The name of the ``blocks`` partition of `month`."""
    return f"blocks_p{month[0]:04d}{month[1]:02d}"


def ensure_partitions(conn: Connection, months: set[tuple[int, int]]) -> None:
    """Create the monthly ``blocks`` partitions `months` needs (PostgreSQL; else nothing)."""
    if conn.dialect.name != "postgresql" or not months:
        return
    lock(conn, PARTITION_LOCK)
    for month in sorted(months):
        low, high = month_bounds(month)
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF blocks "
            f"FOR VALUES FROM ({low}) TO ({high})"
        )
