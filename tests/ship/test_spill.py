"""Spill files: ordered, size-capped, torn tails tolerated, locked while their producer lives."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from recordings import event_frame

from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink
from fsm_recorder.ship.sinks._spill import (
    ENTRY,
    Checkpoint,
    SpillFile,
)


def test_frames_come_back_in_order_and_a_fully_replayed_file_is_deleted(tmp_path: Path) -> None:
    """Pending frames are returned oldest first, by offset; replaying all of them empties it."""
    spill = SpillFile.create(tmp_path, "_.a")
    frames = [event_frame(seq, 2) for seq in range(0, 10, 2)]
    assert spill.append(frames) == 5
    assert spill.records == 10
    first, offset = spill.pending(1)  # at least one frame, however small the budget
    assert first == frames[:1]
    spill.replayed(offset, 2)
    rest, end = spill.pending(1 << 20)
    assert rest == frames[1:]
    spill.replayed(end, 8)
    assert (spill.records, spill.size) == (0, 0)
    assert not spill.data_path.exists()
    spill.remove()
    assert not list(tmp_path.iterdir())


def test_append_stops_at_the_size_cap(tmp_path: Path) -> None:
    """Only the frames that fit under the cap are taken, in order; the caller counts the rest."""
    frame = event_frame(0)
    spill = SpillFile.create(tmp_path, "_.b", max_bytes=2 * (ENTRY.size + len(frame)) + 1)
    assert spill.append([frame, event_frame(1), event_frame(2)]) == 2
    assert spill.append([event_frame(3)]) == 0
    assert spill.records == 2


def test_a_live_spill_is_no_orphan_and_a_closed_one_is(tmp_path: Path) -> None:
    """The lock tells live from dead: only a closed (or dead) producer's files are adopted."""
    live = SpillFile.create(tmp_path, "app.1")
    dead = SpillFile.create(tmp_path, "app.2")
    dead.append([event_frame(0, 3)])
    dead.save(Checkpoint(producer=b"p" * 8, pid=7, numbered=5, written=2))
    dead.close()
    [orphan] = SpillFile.orphans(tmp_path, "app.")
    assert orphan.name == "app.2"
    assert (orphan.records, orphan.checkpoint.numbered, orphan.checkpoint.pid) == (3, 5, 7)
    assert SpillFile.orphans(tmp_path, "other.") == []
    live.remove()
    orphan.remove()


def test_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    """A frame half-written when the process died is skipped; the frames before it replay."""
    spill = SpillFile.create(tmp_path, "_.c")
    good = event_frame(0, 2)
    spill.append([good, event_frame(2, 2)])
    spill.close()
    data = spill.data_path.read_bytes()
    spill.data_path.write_bytes(data[:-3])
    [orphan] = SpillFile.orphans(tmp_path, "_.")
    assert orphan.records == 2
    assert orphan.pending(1 << 20)[0] == [good]
    orphan.remove()


def test_a_torn_checkpoint_reads_as_absent() -> None:
    """A checkpoint with a bad CRC or size is not trusted."""
    packed = Checkpoint(producer=b"q" * 8, numbered=9).pack()
    assert Checkpoint.unpack(packed) == Checkpoint(producer=b"q" * 8, numbered=9)
    assert Checkpoint.unpack(packed[:-1]) is None
    assert Checkpoint.unpack(packed[:10] + b"\xff" + packed[11:]) is None


class DownSink(MemorySink):
    """A sink that always fails (any outage)."""

    def write(self, frames: object, records: int) -> None:
        from fsm_recorder.exceptions import SinkError

        raise SinkError("down")


def test_an_unusable_spill_directory_counts_records_as_lost(tmp_path: Path) -> None:
    """A spill path that is a file: nothing raises, the records count as lost ("spill_error")."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    rec = Recorder(sink=DownSink(), mode="sync", spill=blocker, backlog_records=0)
    machine = RecordedMachine(
        states=["a", "b"], transitions=[["go", "a", "b"]], initial="a", recorder=rec, name="M"
    )
    assert machine.go() is True
    stats = rec.stats()
    assert stats.dropped_by_reason == {"spill_error": 5}
    assert stats.errors["spill"] >= 1
    assert stats.produced == stats.dropped == 5
    rec.close()


def test_spill_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """Both files of a spill are 0600 in a directory that existed before, even with umask 0."""
    tmp_path.chmod(0o755)
    old = os.umask(0)
    try:
        spill = SpillFile.create(tmp_path, "_.a")
        spill.append([event_frame(0)])
    finally:
        os.umask(old)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    assert modes == {"_.a.bin": 0o600, "_.a.ckpt": 0o600}
    spill.remove()
