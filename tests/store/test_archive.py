"""The archive: each record stored once, sessions table kept right, filters, schema versions.

The whole suite runs on SQLite and on PostgreSQL (the `archive` fixture).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from archive_backends import archive_fixture, count_records, count_rows  # noqa: F401 - fixture
from recordings import order_machine
from sqlalchemy import update

from fsm_recorder.exceptions import ArchiveError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._archived import add_archived, list_archived
from fsm_recorder.read._decoder import SessionDecoder, decode_sessions
from fsm_recorder.read._query import SessionFilter
from fsm_recorder.read._session import Session
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.store import _schema as archive_schema
from fsm_recorder.store._writer import ArchiveWriter, Batch, DeadLetter, parse


def recorded(ids: list[str], store: CodebookStore, pays: int = 2) -> list[bytes]:
    """Frames of one session per ID, recorded in memory."""
    rec = memory_recorder(codebooks=store)
    for sid in ids:
        machine = order_machine(rec, sid)
        for _ in range(pays):
            machine.pay()
            machine.refund()
        machine.end_session()
    rec.flush()
    return list(rec.sink.frames)


def batch_of(frames: list[bytes], store: CodebookStore) -> Batch:
    """A writer batch of the given frames with their codebooks."""
    parsed = [parse(f) for f in frames]
    books = {fp: store.load(fp) for p in parsed for fp in p.frame.sessions.values()}
    return Batch(frames=parsed, codebooks=books)


@pytest.fixture
def store(codebook_dir: Path) -> CodebookStore:
    """The test's codebook store."""
    return CodebookStore(codebook_dir)


def archived_sessions(url: str, store: CodebookStore, **where: object) -> list[Session]:
    """Sessions decoded from the archive alone."""
    decoder = SessionDecoder(store)
    add_archived(decoder, url, where=SessionFilter(**where) if where else None)  # type: ignore[arg-type]
    return decoder.sessions()


def test_replayed_batch_inserts_nothing(archive: str, store: CodebookStore) -> None:
    """Writing the same batch twice stores each record once and reports the rest as duplicates."""
    frames = recorded(["o-1", "o-2"], store)
    total = sum(len(wire.decode_frame(f).records) for f in frames)
    writer = ArchiveWriter(archive)
    first = writer.write(batch_of(frames, store))
    again = writer.write(batch_of(frames, store))
    writer.close()
    assert (first.inserted, first.duplicates) == (total, 0)
    assert (again.inserted, again.duplicates) == (0, total)
    assert count_records(archive) == total


def test_two_copies_in_one_batch_count_once(archive: str, store: CodebookStore) -> None:
    """A batch holding every frame twice stores each record once and counts its steps once."""
    frames = recorded(["o-1"], store)
    writer = ArchiveWriter(archive)
    result = writer.write(batch_of(frames + frames, store))
    writer.close()
    [live] = decode_sessions(frames, store)
    assert (result.inserted, result.duplicates) == (count_records(archive), count_records(archive))
    [summary] = list_archived(archive)
    assert summary["steps"] == len(live.steps)


def test_overlapping_batch_counts_steps_once(archive: str, store: CodebookStore) -> None:
    """A batch that overlaps an archived one adds only the new records to the session's steps."""
    frames = recorded(["o-1"], store, pays=3)
    writer = ArchiveWriter(archive)
    writer.write(batch_of(frames[:4], store))
    writer.write(batch_of(frames, store))
    writer.close()
    [summary] = list_archived(archive)
    [live] = decode_sessions(frames, store)
    assert summary["steps"] == len(live.steps)
    assert (summary["id"], summary["started"], summary["ended"]) == (
        "o-1",
        live.started,
        live.ended,
    )


def test_archived_sessions_decode_like_live_ones(archive: str, store: CodebookStore) -> None:
    """Decoding from the archive gives the same sessions, step for step, as decoding the frames."""
    frames = recorded(["o-1", "o-2"], store)
    writer = ArchiveWriter(archive)
    writer.write(batch_of(frames, store))
    writer.close()
    assert archived_sessions(archive, store) == decode_sessions(frames, store)


def test_archive_keeps_the_codebooks(archive: str, store: CodebookStore, tmp_path: Path) -> None:
    """A reader whose codebook store is empty still decodes: names come from the archive."""
    frames = recorded(["o-1"], store)
    writer = ArchiveWriter(archive)
    writer.write(batch_of(frames, store))
    writer.close()
    [session] = archived_sessions(archive, CodebookStore(tmp_path / "empty"))
    assert session.events() == ["pay", "refund", "pay", "refund"]
    assert not (tmp_path / "empty").exists()


def test_filters_select_sessions(archive: str, store: CodebookStore) -> None:
    """Machine, host, key, time and reached-state filters each keep just the matching sessions."""
    frames = recorded(["o-1", "o-2"], store)
    rec = memory_recorder(codebooks=store)
    order_machine(rec, "never-paid").end_session()
    rec.flush()
    writer = ArchiveWriter(archive)
    writer.write(batch_of(frames + list(rec.sink.frames), store))
    writer.close()
    ids = lambda **w: [s["id"] for s in list_archived(archive, SessionFilter(**w))]  # noqa: E731
    everything = list_archived(archive)
    assert [s["id"] for s in everything] == ["o-1", "o-2", "never-paid"]
    assert ids(reached="paid") == ["o-1", "o-2"]
    assert ids(reached="new") == ["o-1", "o-2", "never-paid"]
    assert ids(reached="nowhere") == []
    assert ids(machine="Order") == ids()
    assert ids(machine="Other") == []
    assert ids(host=everything[0]["host"]) == ids()
    assert ids(host="elsewhere") == []
    assert ids(key="o-2") == ["o-2"]
    assert ids(key=everything[0]["key"]) == ["o-1"]
    assert ids(since=everything[2]["started"]) == ["never-paid"]
    assert ids(until=everything[0]["started"]) == ["o-1"]
    assert ids(since=time.time_ns() + 10**12) == []


def test_window_reads_only_steps_in_time(archive: str, store: CodebookStore) -> None:
    """add_archived with start/end feeds only the records in that time window."""
    frames = recorded(["o-1"], store, pays=3)
    writer = ArchiveWriter(archive)
    writer.write(batch_of(frames, store))
    writer.close()
    [whole] = archived_sessions(archive, store)
    start, end = whole.steps[3].ts, whole.steps[6].ts
    decoder = SessionDecoder(store)
    add_archived(decoder, archive, start=start, end=end)
    [part] = decoder.sessions()
    assert part.steps == [s for s in whole.steps if start <= s.ts <= end]


def test_dead_letters_are_kept_once(archive: str) -> None:
    """A dead letter is stored with bytes and reason, once even if written again."""
    letter = DeadLetter(b"junk", "malformed frame", "host stream", "1-0")
    writer = ArchiveWriter(archive)
    assert writer.write(Batch(dead=[letter])).dead == 1
    writer.write(Batch(dead=[letter]))
    writer.close()
    assert count_rows(archive, "dead_letters") == 1


def test_newer_schema_is_refused(archive: str) -> None:
    """An archive migrated by a newer fsm-recorder is an ArchiveError for writer and reader."""
    ArchiveWriter(archive).close()
    engine = archive_schema.open_engine(archive, write=True)
    with engine.begin() as conn:
        conn.execute(update(archive_schema.schema_version).values(version=99))
    engine.dispose()
    with pytest.raises(ArchiveError, match="newer"):
        ArchiveWriter(archive)
    with pytest.raises(ArchiveError, match="upgrade fsm-recorder"):
        list_archived(archive)


def test_reopening_keeps_the_schema_version(archive: str) -> None:
    """Opening an archive twice migrates once and leaves it at the current version."""
    ArchiveWriter(archive).close()
    ArchiveWriter(archive).close()
    assert list_archived(archive) == []
    assert count_rows(archive, "schema_version") == 1


def test_not_an_archive_is_an_archive_error(tmp_path: Path) -> None:
    """Reading a file that no drain ever wrote is an ArchiveError that says so."""
    with pytest.raises(ArchiveError, match="not an fsm-recorder archive"):
        list_archived(str(tmp_path / "nothing.sqlite"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db.example/archive", "unsupported archive"),
        ("/no/such/dir/archive.db", "does not exist"),
    ],
)
def test_bad_archive_urls_say_what_to_use(url: str, message: str) -> None:
    """An unsupported database or a path in a missing directory is an ArchiveError that says why."""
    with pytest.raises(ArchiveError, match=message):
        archive_schema.archive_url(url)
