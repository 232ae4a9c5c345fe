"""The recorder's own trouble in the log: first failure, at most one line a minute, recovery."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis
from recordings import event_frame, toggle

from fsm_recorder import config
from fsm_recorder.exceptions import SinkError
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.ship._outage import LOGGER, OutageLog, sink_target
from fsm_recorder.ship._outbox import Outbox
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink
from fsm_recorder.ship.sinks._redis import RedisSink


class Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "fsm_recorder"]


def _outbox(sink: RedisSink, spill: Path, clock: Clock, notes: list[str]) -> Outbox:
    return Outbox(
        sink,
        name="_",
        backlog_records=2,
        spill_dir=spill,
        spill_bytes=1 << 20,
        lose=lambda reason, records: None,
        note=notes.append,
        outage=OutageLog.for_sink(sink, clock=clock),
    )


def test_a_stopped_server_is_told_once_then_once_a_minute_then_its_recovery(
    server_config: ServerConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Server stopped: one WARNING naming the socket, what to do and the spill file; then one line
    per minute of clock however often delivery fails; restarted: one recovery line, then silence."""
    caplog.set_level(logging.WARNING, logger="fsm_recorder")
    server.start(server_config)
    clock, notes = Clock(), []
    sink = RedisSink(server_config.url)
    outbox = _outbox(sink, tmp_path / "spill", clock, notes)
    outbox.add(event_frame(0, 3), 3)
    outbox.deliver(force=True)
    assert _lines(caplog) == []  # delivered: nothing to tell

    server.stop(server_config)
    outbox.add(event_frame(3, 3), 3)
    outbox.deliver(force=True)
    [first] = _lines(caplog)
    assert caplog.records[-1].levelno == logging.WARNING
    assert first.startswith(f"records are not reaching unix://{server_config.socket}: ")
    assert "is the server running? `fsm-recorder server start`" in first
    assert f"0 records waiting in memory, 3 spilled to {tmp_path / 'spill'}/" in first

    for step in (30.0, 29.0):  # 59 s into the outage: still the one line
        clock.now += step
        outbox.add(event_frame(6, 1), 1)
        outbox.deliver(force=True)
    assert len(_lines(caplog)) == 1
    clock.now += 1.0
    outbox.deliver(force=True)
    clock.now += 30.0
    outbox.deliver(force=True)
    lines = _lines(caplog)
    assert len(lines) == 2
    assert lines[1].startswith(
        f"records are still not reaching unix://{server_config.socket} after 60 s "
        "(4 failed attempts)"
    )
    assert notes.count("sink") == 5

    server.start(server_config)
    clock.now += 5.0
    outbox.deliver(force=True)
    outbox.deliver(force=True)
    lines = _lines(caplog)
    assert len(lines) == 3
    assert lines[2] == (
        f"records reach unix://{server_config.socket} again, after 95.0 s and 5 failed attempts"
    )
    with redis.Redis.from_url(server_config.url) as client:
        assert int(client.get(config.held_key()) or 0) == 3 + 3 + 1 + 1


def test_a_recorder_whose_server_is_down_warns_and_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Through a Recorder: no server at all, the trigger returns and the log says where to look."""
    caplog.set_level(logging.WARNING, logger="fsm_recorder")
    url = f"unix://{tmp_path / 'nobody.sock'}"
    with Recorder(url, mode="sync", spill=tmp_path / "spill") as rec:
        toggle(rec, "s-1").flip()
        [line] = _lines(caplog)
        assert rec.stats().errors["sink"] >= 1
    assert line.startswith(f"records are not reaching {url}: is the server running?")


class _Refusing(MemorySink):
    def write(self, frames: object, records: int) -> None:
        raise SinkError("refused")


class _BrokenHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        raise RuntimeError("this handler is broken")


def test_a_broken_log_handler_is_counted_not_raised(tmp_path: Path) -> None:
    """A log handler that raises never reaches the writer: the outbox counts it as a log error."""
    notes: list[str] = []
    outbox = Outbox(
        _Refusing(),
        name="_",
        backlog_records=10,
        spill_dir=None,
        spill_bytes=0,
        lose=lambda reason, records: None,
        note=notes.append,
    )
    handler = _BrokenHandler()
    LOGGER.addHandler(handler)
    try:
        outbox.add(event_frame(0), 1)
        outbox.deliver(force=True)
    finally:
        LOGGER.removeHandler(handler)
    assert notes == ["sink", "log"]


def test_targets_name_the_url_without_its_password() -> None:
    """A sink is named by its URL (password redacted) with a hint fitting its kind."""
    acl = "unix://producer:s3cret@/run/fsm/redis.sock"
    assert sink_target(RedisSink(acl)) == (
        "unix://producer:***@/run/fsm/redis.sock",
        "is the server running? `fsm-recorder server start`",
    )
    assert sink_target(RedisSink("redis://db.example:6390/0"))[1].startswith("is that Redis up")
    assert sink_target(MemorySink()) == ("MemorySink", "check the sink")
