"""The recorder's books: losses counted once by reason, gaps handed out once, errors told."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from recordings import BrokenKey, toggle

from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship._tally import LOGGER, Tally
from fsm_recorder.ship.sinks._memory import MemorySink


class Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER.name]


def test_losses_before_framing_are_a_gap_handed_out_once() -> None:
    """Unframed losses count and leave a gap; framed ones only count; the gap is taken once."""
    tally = Tally()
    tally.unframed("buffer_full", 3)
    tally.framed("backlog_full", 2)
    tally.unframed("buffer_full", 1)
    assert tally.take_gap() == 4
    assert tally.take_gap() == 0
    dropped, errors, total = tally.snapshot()
    assert dropped == {"buffer_full": 4, "backlog_full": 2}
    assert (errors, total, tally.total) == ({}, 6, 6)


def test_notes_without_an_error_are_counted_and_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unencodable argument is counted on the caller's thread: nothing may be logged there."""
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    tally = Tally()
    tally.note("unencodable_arg")
    tally.note("unencodable_arg")
    assert tally.snapshot()[1] == {"unencodable_arg": 2}
    assert _lines(caplog) == []


def test_writer_errors_are_told_once_then_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """First failure: a WARNING with its traceback; then silence for a minute of clock, then one
    line counting the failures since; another kind of failure is told on its own."""
    caplog.set_level(logging.WARNING, logger=LOGGER.name)
    clock = Clock()
    tally = Tally(clock=clock, every=60.0)
    tally.note("writer", ValueError("backend exploded"))
    for _ in range(5):
        clock.now += 10
        tally.note("writer", ValueError("backend exploded"))
    [first] = _lines(caplog)
    assert first.levelno == logging.WARNING
    assert "writer failed (writer): ValueError: backend exploded" in first.getMessage()
    assert "Recorder.stats()" in first.getMessage()
    assert first.exc_info is not None
    clock.now += 10
    tally.note("writer", ValueError("backend exploded"))
    tally.note("close_timeout", TimeoutError())
    lines = [r.getMessage() for r in _lines(caplog)]
    assert len(lines) == 3
    assert "failed again (writer)" in lines[1]
    assert "6 more times" in lines[1]
    assert "failed (close_timeout): TimeoutError;" in lines[2]
    assert tally.snapshot()[1] == {"writer": 7, "close_timeout": 1}


def test_a_recorder_whose_frames_cannot_be_built_says_so_in_the_log(
    codebook_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The recorder's own failure is not only a counter: the log names it, and the trigger that
    caused the ship returns normally."""
    caplog.set_level(logging.WARNING, logger=LOGGER.name)
    rec = Recorder(sink=MemorySink(), mode="sync", encrypt_to=BrokenKey())  # type: ignore[arg-type]
    toggle(rec).flip()
    rec.close()
    [line, *_] = _lines(caplog)
    assert "writer failed (writer): ValueError: backend exploded" in line.getMessage()
    assert rec.stats().errors["writer"] >= 1


def test_produced_is_what_the_machines_did_even_after_close_with_the_server_down(
    tmp_path: Path,
) -> None:
    """`produced` is counted on its own, not derived from the other counts: after `close()` with
    nothing to write to it is still every record the machine made (one session start, four per
    flip), and the books balance against it."""
    rec = Recorder(
        f"unix://{tmp_path / 'no-server.sock'}",
        flush_interval=3600,
        spill=tmp_path / "spill",
        backlog_records=1000,
    )
    machine = toggle(rec)
    flips = 2000
    for _ in range(flips):
        machine.flip()
    rec.close()
    stats = rec.stats()
    assert stats.produced == 1 + 4 * flips
    assert stats.written == 0
    assert stats.written + stats.dropped + stats.pending == stats.produced
