"""Fault scenarios against real servers: for every producer, produced == stored + counted lost.

Each test drives a recorder through a failure of its own private server (down, hung, killed,
full) and then checks the invariant with exact counts: `stats()` balances (produced == written +
dropped + pending), and what Redis holds, decoded and deduplicated by (producer, seq), is exactly
what the recorder counts as written.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from recordings import toggle

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.read._archived import add_archived
from fsm_recorder.read._decoder import SessionDecoder
from fsm_recorder.read._load import load_sessions, read_frames
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship._tally import RecorderStats
from fsm_recorder.ship.sinks._memory import MemorySink
from fsm_recorder.ship.sinks._spill import ENTRY
from fsm_recorder.store._drain import Drainer, DrainSettings

PER_FLIP = 4  # event, transition, exit, enter
DEADLINE = 10.0


def _wait_for(predicate: Callable[[], bool], deadline: float = DEADLINE) -> None:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < deadline, "condition not reached before the deadline"
        time.sleep(0.005)


def _stored(url: str) -> list[tuple[str, int]]:
    """(producer, seq) of every record in the stream, duplicates included, in stream order."""
    return [
        (f.producer, r.seq) for f in map(wire.decode_frame, read_frames(url)) for r in f.records
    ]


class Latency:
    """Trigger latencies of a test. A trigger that waited on the sink would take at least the
    sink's 0.5 s socket timeout; the bounds leave room for a busy test machine, not for that."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def flip(self, machine: RecordedMachine) -> None:
        began = time.perf_counter()
        assert machine.flip() is True
        self.seconds.append(time.perf_counter() - began)

    def check(self) -> None:
        ordered = sorted(self.seconds)
        assert ordered[len(ordered) // 2] < 0.002
        # Below the sink's 0.5 s timeout, so a trigger that waited on it fails; a loaded test
        # machine has been seen to pause a trigger for 0.22 s.
        assert ordered[-1] < 0.45


def _balanced(stats: RecorderStats) -> None:
    assert stats.produced == stats.written + stats.dropped + stats.pending
    assert stats.dropped == sum(stats.dropped_by_reason.values())


def _delivered(rec: Recorder, produced: int) -> RecorderStats:
    """Wait until nothing is pending, then check the counts balance with `produced` records."""
    _wait_for(lambda: rec.flush() and rec.stats().pending == 0)
    stats = rec.stats()
    _balanced(stats)
    assert stats.produced == produced
    return stats


def _check(rec: Recorder, url: str, produced: int) -> RecorderStats:
    """The invariant with exact counts once everything is delivered: Redis holds `written`."""
    stats = _delivered(rec, produced)
    mine = {seq for producer, seq in _stored(url) if producer == rec.producer}
    assert len(mine) == stats.written
    return stats


@pytest.fixture
def recorders() -> Iterator[Callable[..., Recorder]]:
    """Make recorders that are closed at teardown, whatever the test did to their server."""
    made: list[Recorder] = []

    def make(*args: object, **kwargs: object) -> Recorder:
        rec = Recorder(*args, **kwargs)  # type: ignore[arg-type]
        made.append(rec)
        return rec

    yield make
    for rec in made:
        rec.close(timeout=0.5)


def _pid(cfg: ServerConfig) -> int:
    pid = server.status(cfg).pid
    assert pid is not None
    return pid


# -- 1. Redis down at start --------------------------------------------------------------------
def test_redis_down_at_start_spills_then_replays_in_order(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """With no server the app runs, records spill to disk and reach Redis in order once it is up."""
    rec = recorders(server_config.url, spill=tmp_path / "spill", backlog_records=8)
    machine = toggle(rec)
    for _ in range(30):
        assert machine.flip() is True
    rec.flush()
    down = rec.stats()
    _balanced(down)
    assert (down.written, down.dropped) == (0, 0)
    assert down.spilled > 0
    assert down.pending == down.produced == 1 + 30 * PER_FLIP
    assert list((tmp_path / "spill").glob("_.*.bin"))

    server.start(server_config)
    for _ in range(5):
        machine.flip()
    stats = _check(rec, server_config.url, 1 + 35 * PER_FLIP)
    assert stats.dropped == stats.spilled == 0
    seqs = [seq for _, seq in _stored(server_config.url)]
    assert seqs == list(range(stats.produced))  # in order, once each
    rec.close()
    assert not list((tmp_path / "spill").iterdir())  # delivered: the spill files are gone


def test_spill_overflow_is_counted_as_spill_full_and_shows_as_a_gap(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """Records beyond the spill cap count as lost ("spill_full") and leave a gap of that size."""
    rec = recorders(
        server_config.url, spill=tmp_path, backlog_records=4, spill_bytes=400, mode="sync"
    )
    machine = toggle(rec)
    for _ in range(40):
        machine.flip()
    full = rec.stats()
    lost = full.dropped_by_reason["spill_full"]
    assert lost > 0
    assert full.dropped == lost
    server.start(server_config)
    machine.flip()  # a record after the loss, so the loss is a gap and not a missing tail
    stats = _check(rec, server_config.url, 1 + 41 * PER_FLIP)
    assert stats.dropped_by_reason == {"spill_full": lost}
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(read_frames(server_config.url))
    assert decoder.gaps() == {rec.producer: lost}


# -- 2. Redis hangs ----------------------------------------------------------------------------
def test_hung_redis_does_not_slow_triggers_and_recovers(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """SIGSTOPped server: triggers stay fast, records spill, and all arrive once it resumes.

    A write that timed out may still be applied when the server resumes (at-least-once), so
    Redis may hold a frame twice: deduplicated by (producer, seq) it matches `written` exactly.
    """
    server.start(server_config)
    pid = _pid(server_config)
    rec = recorders(server_config.url, spill=tmp_path, backlog_records=16, flush_interval=0.01)
    machine = toggle(rec)
    machine.flip()
    _wait_for(lambda: rec.stats().written == 1 + PER_FLIP)
    os.kill(pid, signal.SIGSTOP)
    latency, flips = Latency(), 1
    try:
        # Trigger until the writer has timed out twice and spilled (it backs off in between).
        while rec.stats().errors.get("sink", 0) < 2 or rec.stats().spilled == 0:
            latency.flip(machine)
            flips += 1
            time.sleep(0.001)  # pacing, not synchronization: about 1000 triggers a second
            assert flips < 20_000, "the writer never reported the hung server"
    finally:
        os.kill(pid, signal.SIGCONT)
    latency.check()
    stats = _check(rec, server_config.url, 1 + flips * PER_FLIP)
    assert stats.dropped == 0
    raw = _stored(server_config.url)
    assert len(raw) >= stats.written == len(set(raw))
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(read_frames(server_config.url))
    [session] = decoder.sessions()
    assert session.events() == ["flip"] * flips  # a repeated frame is no repeated step


# -- 3. Redis killed and restarted -------------------------------------------------------------
@pytest.mark.filterwarnings(
    "ignore:The Result.tuples:DeprecationWarning"
)  # archive reader, not ours
def test_redis_sigkill_loss_is_bounded_and_visible_as_a_gap(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """After SIGKILL + restart (AOF everysec) what Redis lost is exactly the decoder's gap, and the
    drain, whose group may be gone, archives everything that survived."""
    cfg = replace(server_config, appendfsync="everysec")
    server.start(cfg)
    archive = f"sqlite:///{tmp_path / 'archive.db'}"
    settings = DrainSettings(archive=archive, url=cfg.url)
    rec = recorders(cfg.url, spill=tmp_path / "spill", flush_interval=0.01)
    machine = toggle(rec)
    for _ in range(50):
        machine.flip()
    _wait_for(lambda: rec.stats().pending == 0)
    drainer = Drainer(settings, codebooks=rec.codebooks)
    drainer.drain()
    drainer.close()
    for _ in range(50):
        machine.flip()
    _wait_for(lambda: rec.stats().pending == 0)
    os.kill(_pid(cfg), signal.SIGKILL)
    _wait_for(lambda: not server.status(cfg).running)
    server.start(cfg)
    for _ in range(10):
        machine.flip()
    stats = _delivered(rec, 1 + 110 * PER_FLIP)
    assert stats.dropped == 0
    drainer = Drainer(settings, codebooks=rec.codebooks)
    drainer.drain()
    drainer.close()

    decoder = SessionDecoder(rec.codebooks)
    add_archived(decoder, archive)
    decoder.add_frames(read_frames(cfg.url))
    [session] = decoder.sessions()
    lost = decoder.gaps()[rec.producer]
    assert len(session.steps) + lost == stats.written
    assert session.events().count("flip") == 110 - lost // PER_FLIP
    with redis.Redis.from_url(cfg.url) as client:
        assert client.xlen("fsmr:frames") == 0  # the drain took all that survived


# -- 4. Redis out of memory --------------------------------------------------------------------
@pytest.mark.filterwarnings(
    "ignore:The Result.tuples:DeprecationWarning"
)  # archive reader, not ours
def test_out_of_memory_fails_fast_spills_and_resumes_after_a_drain(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """At maxmemory (noeviction) writes fail fast and spill; a drain frees memory, writes resume."""
    cfg = replace(server_config, maxmemory="3mb", appendonly=False)
    server.start(cfg)
    rec = recorders(
        cfg.url, spill=tmp_path / "spill", flush_interval=0.005, compress=False, backlog_records=64
    )
    archive = f"sqlite:///{tmp_path / 'archive.db'}"
    drainer = Drainer(DrainSettings(archive=archive, url=cfg.url), codebooks=rec.codebooks)
    drainer.drain()  # its consumer group exists before the server is full
    machine = toggle(rec)
    flips, latency = 0, Latency()
    while rec.stats().spilled == 0:
        latency.flip(machine)
        flips += 1
        assert flips < 200_000, "the server never ran out of memory"
    latency.check()
    failed = rec.stats()
    assert failed.errors["sink"] >= 1
    assert failed.dropped == 0
    drainer.drain()
    machine.flip()
    stats = _delivered(rec, 1 + (flips + 1) * PER_FLIP)
    assert stats.dropped == 0
    drainer.drain()
    drainer.close()

    decoder = SessionDecoder(rec.codebooks)
    add_archived(decoder, archive)
    [session] = decoder.sessions()
    assert len(session.steps) == stats.written
    assert decoder.gaps() == {rec.producer: 0}


# -- 5. archive locked -------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")  # archive reader
def test_a_locked_archive_leaves_frames_pending_in_redis_until_it_commits(
    redis_url: str, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """While the archive is locked the drain acknowledges nothing: frames stay in Redis, pending
    and counted as held; once the lock goes, every record is archived once and Redis is empty."""
    rec = recorders(redis_url, mode="sync")
    archive = tmp_path / "archive.db"
    drainer = Drainer(
        DrainSettings(archive=f"sqlite:///{archive}", url=redis_url), codebooks=rec.codebooks
    )
    drainer.drain()  # schema and consumer group in place
    machine = toggle(rec)
    for _ in range(20):
        machine.flip()
    blocker = sqlite3.connect(archive, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    done = threading.Event()
    worker = threading.Thread(target=lambda: (drainer.drain(), done.set()))
    worker.start()
    with redis.Redis.from_url(redis_url) as client:
        # The drain has read a batch and waits on the lock to commit it: nothing acknowledged.
        _wait_for(lambda: client.xpending("fsmr:frames", "drain")["pending"] > 0)
        assert not done.is_set()
        assert client.xlen("fsmr:frames") == 20
        assert int(client.get("fsmr:held") or 0) == 1 + 20 * PER_FLIP
        blocker.execute("ROLLBACK")
        blocker.close()
        worker.join(timeout=DEADLINE)
        assert done.is_set()
        assert client.xlen("fsmr:frames") == 0
        assert int(client.get("fsmr:held") or 0) == 0
    drainer.close()
    decoder = SessionDecoder(rec.codebooks)
    add_archived(decoder, str(archive))
    [session] = decoder.sessions()
    assert len(session.steps) == rec.stats().written == 1 + 20 * PER_FLIP


# -- 6. application killed, terminated ---------------------------------------------------------
_APP = textwrap.dedent(
    """
    import os, signal, sys, json
    from fsm_recorder.record._machines import RecordedMachine
    from fsm_recorder.ship._recorder import Recorder
    url, spill, mode = sys.argv[1:4]
    if mode == "user-handler":
        signal.signal(signal.SIGTERM, lambda *a: open(spill + "/user-handler", "w").close())
    rec = Recorder(url, name="orders-api", spill=spill, backlog_records=60,
                   flush_interval=3600)
    m = RecordedMachine(states=["off", "on"], transitions=[["flip", "off", "on"],
                        ["flip", "on", "off"]], initial="off", recorder=rec, name="Toggle",
                        session_id="app")
    for flips in (20, 5):  # Redis down: one frame of 81 records spills, one of 20 stays
        for _ in range(flips):
            m.flip()
        rec.flush()
    for _ in range(3):
        m.flip()   # buffered only: produced after the last checkpoint
    s = rec.stats()
    print(json.dumps({"producer": s.producer, "written": s.written, "spilled": s.spilled,
                      "pending": s.pending, "dropped": s.dropped}), flush=True)
    signal.pause() if mode != "user-handler" else None
    while mode == "user-handler" and not os.path.exists(spill + "/user-handler"):
        signal.pause()
    """
)


@contextmanager
def _app(url: str, spill: Path, mode: str) -> Iterator[tuple[subprocess.Popen[str], Any]]:
    """The application above, running, with the stats it printed before it waits for a signal."""
    with subprocess.Popen(
        [sys.executable, "-c", _APP, url, str(spill), mode], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        try:
            yield proc, json.loads(proc.stdout.readline())
        finally:
            proc.kill()


def test_killed_app_is_reported_and_its_spill_replayed_at_next_start(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """SIGKILLed app with Redis down: the next start of the same name replays its spill file and
    reports what it had framed but not written; the unnumbered tail is the documented bound."""
    spill = tmp_path / "spill"
    with _app(server_config.url, spill, "kill") as (proc, before):
        proc.kill()
        proc.wait(timeout=10)
    assert before["written"] == 0
    assert before["spilled"] > 0
    backlog = before["pending"] - before["spilled"] - 3 * PER_FLIP
    server.start(server_config)
    rec = recorders(server_config.url, name="orders-api", spill=spill)
    _wait_for(lambda: rec.flush() and bool(rec.stats().previous))
    [previous] = rec.stats().previous
    assert previous.producer == before["producer"]
    assert (previous.name, previous.written, previous.lost) == ("orders-api", 0, 0)
    assert previous.numbered == 1 + 25 * PER_FLIP
    assert previous.recovered == before["spilled"]
    assert previous.unaccounted == backlog > 0
    stored = [seq for producer, seq in _stored(server_config.url) if producer == previous.producer]
    assert sorted(stored) == list(range(previous.recovered))  # the oldest records, in order
    assert [p.suffix for p in spill.iterdir()] == [".ckpt"]  # the dead one's files are gone


@pytest.mark.parametrize("mode", ["default", "user-handler"])
def test_sigterm_flushes_and_chains_to_the_previous_handler(
    redis_url: str, tmp_path: Path, mode: str
) -> None:
    """SIGTERM flushes every buffered record; an application's own handler still runs after."""
    with _app(redis_url, tmp_path, mode) as (proc, before):
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
    assert before["written"] == 1 + 25 * PER_FLIP
    stored = {seq for producer, seq in _stored(redis_url) if producer == before["producer"]}
    assert stored == set(range(1 + 28 * PER_FLIP))
    if mode == "default":
        assert code == -signal.SIGTERM  # then the default action, as without the recorder
    else:
        assert (tmp_path / "user-handler").exists()
        assert code == 0


# -- 9. load -----------------------------------------------------------------------------------
def test_a_burst_into_a_hung_server_keeps_memory_bounded_and_counts_drops(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """Triggers at full speed while the server hangs: the buffer stays at its cap, triggers stay
    fast, every drop is counted and shows as a gap of exactly that size."""
    server.start(server_config)
    pid = _pid(server_config)
    cap = 2_000
    rec = recorders(
        server_config.url,
        spill=tmp_path,
        buffer_records=cap,
        backlog_records=cap,
        flush_interval=0.01,
    )
    machine = toggle(rec)
    machine.flip()  # the first records reach Redis, so a loss after them is a visible gap
    _wait_for(lambda: rec.stats().written == 1 + PER_FLIP)
    os.kill(pid, signal.SIGSTOP)
    latency, flips = Latency(), 1
    try:
        # Until the writer's write timed out and the buffer overflowed meanwhile. `stats()` waits
        # up to 10 ms for a writer cycle in progress, so it is read between bursts of flips that
        # each outgrow the buffer, never between two flips.
        while rec.stats().errors.get("sink", 0) < 1 or not rec.stats().dropped:
            for _ in range(cap):
                latency.flip(machine)
                # Room is checked once per trigger: a trigger let in brings all its records.
                assert len(rec._buf) < (cap + PER_FLIP) * wire.SLOT
            flips += cap
            assert flips < 2_000_000, "the writer never reported the hung server"
    finally:
        os.kill(pid, signal.SIGCONT)
    latency.check()
    _wait_for(lambda: rec.flush() and rec.stats().pending == 0)
    machine.flip()  # a record after the loss, so the loss is a gap and not a missing tail
    stats = _check(rec, server_config.url, 1 + (flips + 1) * PER_FLIP)
    assert stats.dropped_by_reason == {"buffer_full": stats.dropped}
    assert stats.dropped > 0
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(read_frames(server_config.url))
    assert decoder.gaps() == {rec.producer: stats.dropped}


# -- 8. bad input ------------------------------------------------------------------------------
def _order(recorder: Recorder) -> RecordedMachine:
    return RecordedMachine(
        states=["new", "paid"],
        transitions=[["pay", "new", "paid"], ["pay", "paid", "paid"]],
        initial="new",
        recorder=recorder,
        name="Order",
        session_id="o-1",
        record_args={"pay": ["amount", "note"]},
    )


def test_oversized_and_unencodable_arguments_are_counted_and_skipped(
    recorders: Callable[..., Recorder],
) -> None:
    """A too-large argument record is lost and counted, an unencodable value is noted; the
    triggers themselves are unaffected and recorded."""

    rec = recorders(sink=MemorySink(), mode="sync")
    machine = _order(rec)
    assert machine.pay(amount=1, note="x" * 70_000) is True
    assert machine.pay(amount=2, note=object()) is True
    stats = rec.stats()
    assert stats.dropped_by_reason == {"args_too_large": 1}
    assert stats.errors["unencodable_arg"] == 1
    _balanced(stats)
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(rec.sink.frames)
    [session] = decoder.sessions()
    assert [s.args for s in session.steps if s.kind == "event"] == [None, {"amount": 2}]
    assert decoder.gaps() == {rec.producer: 1}


def test_a_clock_going_backwards_does_not_disturb_decoding(
    monkeypatch: pytest.MonkeyPatch, recorders: Callable[..., Recorder]
) -> None:
    """Timestamps are wall clock and may go back; steps stay in sequence order regardless."""

    ticks = iter(range(10**18, 0, -1_000_000))
    monkeypatch.setattr(time, "time_ns", lambda: next(ticks))
    rec = recorders(sink=MemorySink(), mode="sync")
    machine = toggle(rec)
    for _ in range(3):
        machine.flip()
    monkeypatch.undo()
    decoder = SessionDecoder(rec.codebooks)
    decoder.add_frames(rec.sink.frames)
    [session] = decoder.sessions()
    assert [s.seq for s in session.steps] == list(range(1 + 3 * PER_FLIP))
    stamps = [s.ts for s in session.steps]
    assert stamps == sorted(stamps, reverse=True)
    assert session.events() == ["flip"] * 3


def test_corrupt_frames_and_unknown_codebooks_are_reported_not_fatal(
    redis_url: str, recorders: Callable[..., Recorder]
) -> None:
    """Junk in the stream and a frame naming an unknown codebook are each reported with a clear
    error; every other frame still decodes."""

    rec = recorders(redis_url, mode="sync")
    toggle(rec).flip()
    foreign = wire.encode_frame(
        producer=b"f" * 8,
        pid=1,
        host="h",
        first_seq=0,
        slots=wire.RECORD.pack(wire.Kind.EVENT, 0, 1, 1, 0, 1, 1),
        sessions={1: "ee" * 8},
    )
    with redis.Redis.from_url(redis_url) as client:
        client.xadd("fsmr:frames", {b"f": b"FR\x01 truncated"})
        client.xadd("fsmr:frames", {b"f": foreign})
    problems: list[str] = []
    sessions = load_sessions(
        redis_url,
        codebooks=CodebookStore(rec.codebooks.directory),
        on_error=lambda where, exc: problems.append(f"{type(exc).__name__}: {exc}"),
    )
    assert [s.events() for s in sessions] == [["flip"]]
    assert len(problems) == 2
    assert problems[0].startswith("DecodeError")
    assert problems[1].startswith("CodebookError")
    assert "ee" * 8 in problems[1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://localhost:6379"}, "unsupported Redis URL"),
        ({"url": "unix://"}, "names no socket path"),
        ({"name": "../etc/passwd"}, "recorder name"),
        ({"mode": "later"}, "unknown recorder mode"),
    ],
)
def test_malformed_settings_are_config_errors(options: dict[str, str], message: str) -> None:
    """A malformed URL, name or mode is refused at construction with a message saying why."""

    url = options.pop("url", None)
    with pytest.raises(ConfigError, match=message):
        Recorder(url, **options)  # type: ignore[arg-type]


def _spilled_frames(data: bytes) -> list[bytes]:
    frames, pos = [], 0
    while pos < len(data):
        length, _ = ENTRY.unpack_from(data, pos)
        frames.append(data[pos + ENTRY.size : pos + ENTRY.size + length])
        pos += ENTRY.size + length
    return frames


def _readable(frames: list[bytes]) -> bytes:
    """Frame bytes as stored plus every record payload joined (slots are shuffled on the wire)."""
    payloads = (r.payload for f in frames for r in wire.decode_frame(f).records)
    return b"".join(frames) + b"".join(payloads)


@pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")  # archive reader
def test_an_argument_not_named_never_leaves_the_process(
    server_config: ServerConfig, tmp_path: Path, recorders: Callable[..., Recorder]
) -> None:
    """A canary secret passed as a non-listed argument is in neither Redis, the spill file nor
    the archive, even uncompressed, while the listed argument is."""
    canary = b"CANARY-5105-1051-0510"
    spill = tmp_path / "spill"
    rec = recorders(server_config.url, spill=spill, compress=False, mode="sync", backlog_records=0)
    machine = _order(rec)
    machine.pay(amount=31337, card=canary.decode())  # server down: spilled
    [spill_file] = spill.glob("*.bin")
    spilled = _readable(_spilled_frames(spill_file.read_bytes()))
    assert b"31337" in spilled
    assert canary not in spilled
    server.start(server_config)
    machine.pay(amount=31338, card=canary.decode())
    _delivered(rec, 1 + 2 * 5)  # session start + 2 x (event, args, transition, exit, enter)
    with redis.Redis.from_url(server_config.url) as client:
        held = b"".join(client.dump(key) or b"" for key in client.keys("*"))
    held += _readable(list(read_frames(server_config.url)))
    assert b"31338" in held
    assert canary not in held
    archive = tmp_path / "archive.db"
    drainer = Drainer(
        DrainSettings(archive=f"sqlite:///{archive}", url=server_config.url),
        codebooks=rec.codebooks,
    )
    drainer.drain()
    drainer.close()
    archived = b"".join(p.read_bytes() for p in tmp_path.glob("archive.db*"))
    assert canary not in archived
    decoder = SessionDecoder(rec.codebooks)
    add_archived(decoder, f"sqlite:///{archive}")  # blocks are compressed: decode to look inside
    shown = repr([step.args for s in decoder.sessions() for step in s.steps])
    assert "31337" in shown
    assert canary.decode() not in shown
