"""Migrations: an archive written by the version-1 layout (one row per record) reads the same after
the upgrade to blocks, on SQLite and on PostgreSQL, and stays exactly-once.

``data/archive_v1.sqlite`` was written by the version-1 writer from the frames in
``data/archive_v1.frames`` (four sessions: arguments, a rejected trigger, an exception, a session
left open; the frames drained in two overlapping batches, plus one dead letter). On PostgreSQL
the test copies its tables, as they are, into a fresh schema.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from archive_backends import archive_fixture, count_records, count_rows  # noqa: F401 - fixture
from sqlalchemy import LargeBinary, MetaData, create_engine, inspect, select
from sqlalchemy.types import BLOB

from fsm_recorder.exceptions import ArchiveError
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._archived import add_archived, list_archived
from fsm_recorder.read._decoder import SessionDecoder, decode_sessions
from fsm_recorder.read._query import SessionFilter
from fsm_recorder.store._schema import open_engine
from fsm_recorder.store._writer import ArchiveWriter, Batch, parse

DATA = Path(__file__).parent / "data"
RECORDS = 112


def old_frames() -> list[bytes]:
    """The frames the version-1 archive was written from."""
    data, frames, pos = (DATA / "archive_v1.frames").read_bytes(), [], 0
    while pos < len(data):
        (size,) = struct.unpack_from("<I", data, pos)
        frames.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return frames


def old_archive(url: str, tmp_path: Path) -> None:
    """The version-1 archive at `url`: the file itself for SQLite, its tables copied elsewhere."""
    source = tmp_path / "v1-source.sqlite"
    shutil.copy(DATA / "archive_v1.sqlite", source)
    if url.startswith("sqlite"):
        shutil.copy(source, url.split("///", 1)[1])
        return
    old = MetaData()
    reader = create_engine(f"sqlite:///{source}")
    old.reflect(reader)
    for table in old.tables.values():
        for column in table.columns:
            if isinstance(column.type, BLOB):
                column.type = LargeBinary()
    target = create_engine(url)
    with reader.connect() as src, target.begin() as dst:
        old.create_all(dst)
        for table in old.sorted_tables:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(table.insert(), rows)
    reader.dispose()
    target.dispose()


def codebooks_of(url: str, directory: Path) -> CodebookStore:
    """A codebook store holding the archive's codebooks (what the frames were recorded with)."""
    store = CodebookStore(directory)
    engine = open_engine(url)
    with engine.connect() as conn:
        for (body,) in conn.exec_driver_sql("SELECT body FROM codebooks"):
            store.save(Codebook.from_json(body))
    engine.dispose()
    return store


def test_version_1_archive_reads_the_same_after_the_upgrade(archive: str, tmp_path: Path) -> None:
    """Upgraded, the old archive decodes step for step as its frames do; nothing is lost."""
    old_archive(archive, tmp_path)
    with pytest.raises(ArchiveError, match="drain into it to migrate"):
        list_archived(archive)
    store = codebooks_of(archive, tmp_path / "cb")
    ArchiveWriter(archive).close()
    expected = decode_sessions(old_frames(), store)
    decoder = SessionDecoder(CodebookStore(tmp_path / "empty"))
    add_archived(decoder, archive)
    assert decoder.sessions() == expected
    assert sorted(s.id for s in expected) == ["order-0", "order-1", "order-2", "toggle"]
    listed = {s["id"]: s for s in list_archived(archive)}
    assert {k: s["steps"] for k, s in listed.items()} == {s.id: len(s.steps) for s in expected}
    assert {k: s["ended"] for k, s in listed.items()} == {s.id: s.ended for s in expected}
    assert count_records(archive) == RECORDS
    assert count_rows(archive, "dead_letters") == 1
    engine = open_engine(archive)
    assert "records" not in inspect(engine).get_table_names()
    engine.dispose()


def test_upgraded_archive_stays_exactly_once(archive: str, tmp_path: Path) -> None:
    """Draining the old frames again after the upgrade stores nothing twice."""
    old_archive(archive, tmp_path)
    store = codebooks_of(archive, tmp_path / "cb")
    writer = ArchiveWriter(archive)
    parsed = [parse(f) for f in old_frames()]
    books = {fp: store.load(fp) for p in parsed for fp in p.frame.sessions.values()}
    result = writer.write(Batch(frames=parsed, codebooks=books))
    writer.close()
    assert (result.inserted, result.duplicates) == (0, RECORDS)
    assert count_records(archive) == RECORDS


def test_exception_index_is_derived_from_old_records(archive: str, tmp_path: Path) -> None:
    """The upgrade fills the exception index from the old records: one session raised, and the
    index answers --exception and --reached."""
    old_archive(archive, tmp_path)
    ArchiveWriter(archive).close()
    assert count_rows(archive, "session_exceptions") == 1
    ids = lambda **w: sorted(s["id"] for s in list_archived(archive, SessionFilter(**w)))  # noqa: E731
    assert ids(exception="__main__.Declined") == ["order-2"]
    assert ids(exception="KeyError") == []
    assert ids(reached="shipped") == ["order-0", "order-1"]
    assert ids(reached="on", machine="Toggle") == ["toggle"]
