"""Recorders survive their process's events: exit and fork (SIGTERM: in test_reliability)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from recordings import toggle

from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import SessionDecoder, decode_sessions
from fsm_recorder.read._load import read_frames
from fsm_recorder.ship._recorder import Recorder


def test_records_are_flushed_at_interpreter_exit(redis_url: str, codebook_dir: Path) -> None:
    """A program that records and exits without close() still gets its records into Redis."""
    script = textwrap.dedent(
        """
        from fsm_recorder.record._machines import RecordedMachine
        from fsm_recorder.ship._recorder import Recorder
        rec = Recorder(flush_interval=3600)
        m = RecordedMachine(states=["a", "b"], transitions=[["go", "a", "b"]], initial="a",
                            recorder=rec, name="Exiting", session_id="bye")
        m.go()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    [session] = decode_sessions(read_frames(redis_url), CodebookStore(codebook_dir))
    assert session.id == "bye"
    assert session.events() == ["go"]


def test_forked_child_records_as_a_new_producer(redis_url: str) -> None:
    """After fork the child re-announces open sessions under its own producer; nothing doubles."""
    rec = Recorder(redis_url, flush_interval=3600)
    machine = toggle(rec, session_id="shared-order")
    machine.flip()
    parent_producer = rec.producer
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            machine.flip()
            rec.close()
            status = 0 if rec.producer != parent_producer else 3
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    machine.flip()
    rec.close()
    frames = list(read_frames(redis_url))
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(frames)
    sessions = {s.producer: s for s in decoder.sessions()}
    assert len(sessions) == 2
    parent = sessions.pop(parent_producer)
    [child] = sessions.values()
    assert parent.id == child.id == "shared-order"
    assert parent.pid == os.getpid()
    assert child.pid == pid
    assert [s.kind for s in parent.steps].count("session_start") == 1
    assert parent.events() == ["flip", "flip"]
    assert next(s.kind for s in child.steps) == "session_start"
    assert child.events() == ["flip"]
    assert decoder.gaps() == {parent_producer: 0, child.producer: 0}
    per_producer = [(f.producer, r.seq) for f in map(wire.decode_frame, frames) for r in f.records]
    assert len(per_producer) == len(set(per_producer)) == 1 + 3 * 4 + 1
