"""Retention: `prune` removes old records and the sessions that ended before the cutoff, on
SQLite by deleting blocks, on PostgreSQL by dropping monthly partitions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from archive_backends import archive_fixture, count_records  # noqa: F401 - fixture
from click.testing import CliRunner
from recordings import order_machine, reframed
from sqlalchemy import text

from fsm_recorder.cli import main
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._archived import list_archived
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.store._retention import prune
from fsm_recorder.store._schema import open_engine
from fsm_recorder.store._writer import ArchiveWriter, Batch, parse

DAY = 86_400 * 10**9


def _write(archive: str, store: CodebookStore, sessions: dict[str, int]) -> None:
    """Archive one order session per ID, its times moved `shift` ns (negative: in the past)."""
    frames = []
    for sid, shift in sessions.items():
        rec = memory_recorder(codebooks=store)
        machine = order_machine(rec, sid)
        machine.pay()
        machine.end_session()
        rec.flush()
        frames += [reframed(f, shift=shift) for f in rec.sink.frames]
    parsed = [parse(f) for f in frames]
    books = {fp: store.load(fp) for p in parsed for fp in p.frame.sessions.values()}
    writer = ArchiveWriter(archive)
    writer.write(Batch(frames=parsed, codebooks=books))
    writer.close()


def _partitions(archive: str) -> int:
    engine = open_engine(archive)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'blocks'::regclass")
        ).scalar_one()
    engine.dispose()
    return int(found)


@pytest.fixture
def store(codebook_dir: Path) -> CodebookStore:
    """The test's codebook store."""
    return CodebookStore(codebook_dir)


def test_prune_keeps_recent_sessions_only(archive: str, store: CodebookStore) -> None:
    """Sessions 90 days old go, with their records; today's stay whole."""
    _write(archive, store, {"old-1": -90 * DAY, "old-2": -91 * DAY, "new": 0})
    kept = count_records(archive) // 3
    postgres = archive.startswith("postgresql")
    before = _partitions(archive) if postgres else 0
    pruned = prune(archive, time.time_ns() - 30 * DAY)
    assert pruned.sessions == 2
    assert [s["id"] for s in list_archived(archive)] == ["new"]
    assert count_records(archive) == kept
    if postgres:
        assert pruned.partitions >= 1
        assert _partitions(archive) == before - pruned.partitions


def test_prune_with_nothing_old_changes_nothing(archive: str, store: CodebookStore) -> None:
    """A cutoff before every record removes nothing."""
    _write(archive, store, {"new": 0})
    records = count_records(archive)
    assert prune(archive, time.time_ns() - 30 * DAY).sessions == 0
    assert count_records(archive) == records


def test_cli_prune_reports_json(archive: str, store: CodebookStore) -> None:
    """`archive prune --older-than 30d --json` prints what went; a bad age is a clear error."""
    _write(archive, store, {"old": -100 * DAY, "new": 0})
    runner = CliRunner()
    args = ["archive", "prune", "--archive", archive, "--older-than"]
    result = runner.invoke(main, [*args, "30d", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sessions"] == 1
    bad = runner.invoke(main, [*args, "soon"])
    assert bad.exit_code != 0
    assert "30d" in bad.output
    assert "Traceback" not in bad.output


def test_frames_keep_their_shifted_times(store: CodebookStore) -> None:
    """The test's own tool: re-framed records carry the shifted times, nothing else changes."""
    rec = memory_recorder(codebooks=store)
    order_machine(rec, "x").pay()
    rec.flush()
    [data] = rec.sink.frames[:1]
    before, after = wire.decode_frame(data), wire.decode_frame(reframed(data, shift=-DAY))
    assert [r.ts - DAY for r in before.records] == [r.ts for r in after.records]
    assert [r.kind for r in before.records] == [r.kind for r in after.records]
