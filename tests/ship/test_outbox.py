"""The outbox: refused frames wait in order (memory, then spill file), every record counted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from recordings import event_frame

from fsm_recorder.exceptions import ConfigError, SinkError
from fsm_recorder.format import _wire as wire
from fsm_recorder.ship._outbox import Outbox, check_name
from fsm_recorder.ship.sinks._memory import MemorySink


class SwitchSink(MemorySink):
    """A memory sink that refuses every write while `down` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def write(self, frames: Sequence[bytes], records: int) -> None:
        if self.down:
            raise SinkError("down")
        super().write(frames, records)


def _outbox(sink: SwitchSink, spill: Path | None, lost: list[tuple[str, int]]) -> Outbox:
    return Outbox(
        sink,
        name="app",
        backlog_records=2,
        spill_dir=spill,
        spill_bytes=1 << 20,
        lose=lambda reason, records: lost.append((reason, records)),
        note=lambda where: None,
    )


def _seqs(frames: list[bytes]) -> list[int]:
    return [wire.decode_frame(f).first_seq for f in frames]


def test_refused_frames_spill_beyond_the_backlog_and_arrive_in_order(tmp_path: Path) -> None:
    """While the sink is down frames wait (2 records in memory, the rest spilled); once it is back
    they arrive oldest first, the spill file is gone and nothing counts as lost."""
    sink, lost = SwitchSink(), []
    outbox = _outbox(sink, tmp_path, lost)
    sink.down = True
    for seq in range(5):
        outbox.add(event_frame(seq), 1)
        outbox.deliver(force=True)
    assert (outbox.backlog_records, outbox.spilled, outbox.pending) == (2, 3, 5)
    sink.down = False
    outbox.deliver(force=True)
    assert _seqs(sink.frames) == [0, 1, 2, 3, 4]
    assert (outbox.pending, outbox.written, lost) == (0, 5, [])
    assert not list(tmp_path.glob("*.bin"))


def test_without_spilling_records_beyond_the_backlog_are_lost_and_counted() -> None:
    """Spill off: the oldest frames beyond the backlog are counted as sink_unavailable."""
    sink, lost = SwitchSink(), []
    outbox = _outbox(sink, None, lost)
    sink.down = True
    for seq in range(4):
        outbox.add(event_frame(seq), 1)
        outbox.deliver(force=True)
    assert lost == [("sink_unavailable", 1), ("sink_unavailable", 1)]
    assert outbox.lost == 2
    sink.down = False
    outbox.deliver(force=True)
    assert _seqs(sink.frames) == [2, 3]


def test_recorder_names_are_file_name_safe() -> None:
    """A name becomes part of spill file names: letters, digits, '_' and '-' only."""
    assert (check_name(None), check_name("orders-api_2")) == ("_", "orders-api_2")
    for bad in ("", "a/b", "x" * 65, "dot.ted"):
        with pytest.raises(ConfigError, match="recorder name"):
            check_name(bad)
