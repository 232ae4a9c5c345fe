"""The drain: Redis -> archive exactly once, frees Redis only after COMMIT, survives kills.

Suites that touch the archive run on SQLite and on PostgreSQL (the `archive` fixture).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from archive_backends import (  # noqa: F401 - archive_fixture is the `archive` fixture
    archive_fixture,
    count_records,
    count_rows,
    postgres_schema,
    stream_state,
)
from click.testing import CliRunner
from recordings import order_machine, record_orders, reframed

from fsm_recorder import config
from fsm_recorder.cli import main
from fsm_recorder.exceptions import ConfigError
from fsm_recorder.format import _wire as wire
from fsm_recorder.read._archived import list_archived
from fsm_recorder.read._load import list_sessions, load_sessions
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.store._drain import (
    GROUP,
    Drainer,
    DrainSettings,
    parse_memory,
)


def per_order(pays: int = 1) -> int:
    """Records of one `record_orders` session: start, end, and per pay/refund round trip two
    events of four records each (event, transition, exit, enter)."""
    return 2 + 8 * pays


def drain_once(redis_url: str, archive: str, **settings: object) -> Drainer:
    """Run one pass of a fresh drain and close it."""
    drainer = Drainer(DrainSettings(archive=archive, url=redis_url, **settings))  # type: ignore[arg-type]
    try:
        drainer.drain()
    finally:
        drainer.close()
    return drainer


def test_once_moves_every_record_and_frees_redis(redis_url: str, archive: str) -> None:
    """After one pass every record is archived once, the stream is empty and held is 0."""
    record_orders(redis_url, "o-1", "o-2", "o-3", pays=2)
    stats = drain_once(redis_url, archive).stats
    assert stats.records == 3 * per_order(2)
    assert count_records(archive) == 3 * per_order(2)
    assert stream_state(redis_url) == (0, 0)
    assert [s["id"] for s in list_archived(archive)] == ["o-1", "o-2", "o-3"]


def test_second_drain_finds_nothing_to_do(redis_url: str, archive: str) -> None:
    """Re-running the drain over an empty stream changes nothing in the archive."""
    record_orders(redis_url, "o-1", pays=2)
    drain_once(redis_url, archive)
    assert drain_once(redis_url, archive).stats.records == 0
    assert count_records(archive) == per_order(2)


def test_partly_drained_session_reads_as_one(redis_url: str, archive: str) -> None:
    """A session half archived, half still in Redis, lists and shows as one whole session."""
    with Recorder(redis_url, mode="sync") as rec:
        machine = order_machine(rec, "split")
        machine.pay()
        drain_once(redis_url, archive)
        machine.refund()
        machine.end_session()
    assert stream_state(redis_url)[0] > 0
    [session] = load_sessions(redis_url, archive=archive)
    assert session.id == "split"
    assert [s.seq for s in session.steps] == list(range(len(session.steps)))
    assert session.events() == ["pay", "refund"]
    assert session.ended is not None
    [summary] = list_sessions(redis_url, archive=archive)
    assert (summary["id"], summary["steps"]) == ("split", len(session.steps))


def test_bad_frames_become_dead_letters(redis_url: str, archive: str, codebook_dir: Path) -> None:
    """Undecodable and unknown-codebook frames are kept as dead letters; good ones archived."""
    with Recorder(redis_url, mode="sync") as rec:
        other = RecordedMachine(states=["x", "y"], initial="x", recorder=rec, name="Other")
        other.to_y()
    for book in codebook_dir.glob("*.json"):
        book.unlink()
    with redis.Redis.from_url(redis_url) as client:
        client.xadd(config.stream_key(), {b"f": b"FR\x01 garbage"})
    record_orders(redis_url, "good")
    stats = drain_once(redis_url, archive).stats
    assert stats.dead_letters == 2
    assert count_rows(archive, "dead_letters") == 2
    assert [s["id"] for s in list_archived(archive)] == ["good"]
    assert stream_state(redis_url) == (0, 0)


def test_vanished_group_is_recreated_from_the_start(redis_url: str, archive: str) -> None:
    """Frames delivered to a group that then vanished are still archived, none twice."""
    record_orders(redis_url, "o-1")
    with redis.Redis.from_url(redis_url) as client:
        client.xgroup_create(config.stream_key(), GROUP, id="0")
        client.xreadgroup(GROUP, "ghost", {config.stream_key(): ">"})
        client.xgroup_destroy(config.stream_key(), GROUP)
    drain_once(redis_url, archive)
    assert count_records(archive) == per_order()
    assert stream_state(redis_url) == (0, 0)


def test_pending_frames_of_a_dead_drain_are_claimed(redis_url: str, archive: str) -> None:
    """Frames a vanished consumer read but never acknowledged are taken over and archived."""
    record_orders(redis_url, "o-1", "o-2")
    with redis.Redis.from_url(redis_url) as client:
        client.xgroup_create(config.stream_key(), GROUP, id="0")
        client.xreadgroup(GROUP, "dead-drain", {config.stream_key(): ">"})
    stats = drain_once(redis_url, archive, claim_idle=0).stats
    assert stats.records == 2 * per_order()
    assert stream_state(redis_url) == (0, 0)


def test_cli_once_json_reports_figures(redis_url: str, tmp_path: Path) -> None:
    """`drain --once --json` prints records, throughput, batch latency, backlog, dead letters."""
    record_orders(redis_url, "o-1")
    archive = str(tmp_path / "a.sqlite")
    result = CliRunner().invoke(main, ["drain", "--once", "--json", "--archive", archive])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["records"] == per_order()
    assert summary["backlog_records"] == 0
    assert summary["dead_letters"] == 0
    assert summary["records_per_second"] > 0
    assert summary["mean_batch_ms"] > 0


def test_cli_sessions_filters_archive(redis_url: str, tmp_path: Path) -> None:
    """`sessions --archive --reached` lists archived sessions that were in that state."""
    archive = str(tmp_path / "a.sqlite")
    record_orders(redis_url, "paid-one")
    with Recorder(redis_url, mode="sync") as rec:
        order_machine(rec, "never-paid").end_session()
    drain_once(redis_url, archive)
    runner = CliRunner()
    args = ["sessions", "--archive", archive, "--json"]
    listed = json.loads(runner.invoke(main, [*args, "--reached", "paid"]).stdout)
    assert [s["id"] for s in listed] == ["paid-one"]
    since = json.loads(runner.invoke(main, [*args, "--since", "1h"]).stdout)
    assert len(since) == 2
    shown = json.loads(
        runner.invoke(main, ["show", "paid-one", "--archive", archive, "--json"]).stdout
    )
    assert [s["kind"] for s in shown][:2] == ["session_start", "event"]


def test_parse_memory_reads_sizes_and_fractions() -> None:
    """Thresholds are Redis-style sizes or a fraction of maxmemory; nonsense is a ConfigError."""
    assert parse_memory("64mb", 0) == 64 * 2**20
    assert parse_memory("2k", 0) == 2000
    assert parse_memory("0.5", 1000) == 500
    with pytest.raises(ConfigError):
        parse_memory("0.5", 0)
    with pytest.raises(ConfigError):
        parse_memory("lots", 1000)


def test_memory_threshold_wakes_the_drain_before_the_timer(redis_url: str, archive: str) -> None:
    """With a 60 s timer, passing the memory threshold gets the stream drained within seconds."""
    with redis.Redis.from_url(redis_url) as client:
        baseline = int(client.info("memory")["used_memory"])
        maxmemory = int(client.info("memory")["maxmemory"])
    settings = DrainSettings(
        archive=archive, url=redis_url, interval=60, max_memory=str(baseline + 2**20), poll=0.05
    )
    drainer = Drainer(settings)
    stop = threading.Event()
    worker = threading.Thread(target=drainer.run, args=(stop,))
    worker.start()
    peak = 0
    try:
        with Recorder(redis_url, compress=False) as rec:  # 20 bytes a record: memory grows fast
            machine = order_machine(rec, "busy")
            deadline = time.monotonic() + 30
            # Until the memory trigger fired and its pass archived something (not just woke).
            woken = lambda: drainer.stats.wakeups.get("memory") and drainer.stats.records  # noqa: E731
            while not woken() and time.monotonic() < deadline:
                for _ in range(2000):
                    machine.pay()
                    machine.refund()
                with redis.Redis.from_url(redis_url) as client:
                    peak = max(peak, int(client.info("memory")["used_memory"]))
    finally:
        stop.set()
        worker.join(timeout=30)
        drainer.close()
    assert drainer.stats.wakeups.get("memory", 0) >= 1
    assert "timer" not in drainer.stats.wakeups
    assert drainer.stats.records > 0
    assert peak < maxmemory


def _drain_argv(redis_url: str, archive: str) -> list[str]:
    code = "from fsm_recorder.cli import main; main()"
    return [sys.executable, "-c", code, "drain", "--once", "--url", redis_url, "--archive", archive]


# A drain whose archive writer, once its first batch is committed, announces it in the marker
# file and hangs: the moment between COMMIT and XACK, held open for the test to SIGKILL.
_PAUSED_DRAIN = """
import os, sys, time
from fsm_recorder.store._drain import Drainer, DrainSettings
url, archive, marker = sys.argv[1:]
drainer = Drainer(DrainSettings(archive=archive, url=url))
commit = drainer.writer.write
def commit_then_hang(batch):
    commit(batch)
    with open(marker, "w") as handle:
        handle.write(str(os.getpid()))
    while True:
        time.sleep(3600)
drainer.writer.write = commit_then_hang
drainer.drain()
"""


def test_sigkill_between_commit_and_ack_loses_and_duplicates_nothing(
    redis_url: str, archive: str, tmp_path: Path
) -> None:
    """A drain killed after COMMIT but before XACK: the restart archives nothing twice."""
    record_orders(redis_url, *(f"o-{n}" for n in range(20)), pays=3)
    total = 20 * per_order(3)
    marker = tmp_path / "paused"
    paused = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_DRAIN, redis_url, archive, str(marker)]
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and paused.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the drain never reached the pause point"
        committed = count_records(archive)
        assert committed > 0
        assert stream_state(redis_url)[1] == total  # committed, not yet freed from Redis
    finally:
        paused.send_signal(signal.SIGKILL)
        paused.wait()
    restart = [*_drain_argv(redis_url, archive), "--claim-idle", "0", "--json"]
    done = subprocess.run(restart, capture_output=True, text=True, timeout=60, check=True)
    summary = json.loads(done.stdout)
    assert (summary["records"], summary["duplicates"]) == (total - committed, committed)
    assert count_records(archive) == total
    assert stream_state(redis_url) == (0, 0)


def _has_group(url: str) -> bool:
    with redis.Redis.from_url(url) as client:
        return bool(client.exists(config.stream_key())) and any(
            g["name"] == GROUP.encode() for g in client.xinfo_groups(config.stream_key())
        )


def test_sigterm_stops_the_long_lived_drain(redis_url: str, tmp_path: Path) -> None:
    """SIGTERM ends a waiting drain promptly with exit status 0."""
    argv = [*_drain_argv(redis_url, str(tmp_path / "a.sqlite"))]
    argv.remove("--once")
    proc = subprocess.Popen([*argv, "--interval", "60"], stdout=subprocess.PIPE, text=True)
    try:
        # The signal handler is in place before the drain creates its consumer group.
        deadline = time.monotonic() + 20
        while not _has_group(redis_url) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "drain done" in output


def _recorded_frame(redis_url: str, session_id: str) -> bytes:
    """The first frame of one recorded order session, taken out of the stream again."""
    record_orders(redis_url, session_id)
    with redis.Redis.from_url(redis_url) as client:
        entries = client.xrange(config.stream_key())
        client.delete(config.stream_key(), config.held_key())
    return bytes(entries[0][1][config.FRAME_FIELD])


def _ship(redis_url: str, *frames: bytes) -> None:
    """Append frames to the stream the way the sink does: entry plus held-records count."""
    with redis.Redis.from_url(redis_url) as client:
        for data in frames:
            client.xadd(config.stream_key(), {config.FRAME_FIELD: data})
            client.incrby(config.held_key(), len(wire.decode_frame(data).records))


@pytest.mark.parametrize(
    "change",
    [{"first_seq": 2**63}, {"ts": 2**63 + 7}, {"pid": 2**31 + 5}],
    ids=["seq", "ts", "pid"],
)
def test_out_of_range_frame_is_dead_lettered_the_rest_archived(
    redis_url: str, archive: str, change: dict[str, int]
) -> None:
    """A frame with a seq, time or pid out of the archive's range is a dead letter, not a jam."""
    bad = reframed(_recorded_frame(redis_url, "huge"), **change)
    _ship(redis_url, bad)
    record_orders(redis_url, "fine")
    stats = drain_once(redis_url, archive).stats
    assert stats.dead_letters == 1
    assert count_rows(archive, "dead_letters") == 1
    assert [s["id"] for s in list_archived(archive)] == ["fine"]
    assert stream_state(redis_url) == (0, 0)


def test_entry_without_frame_field_is_a_dead_letter(redis_url: str, archive: str) -> None:
    """A stream entry lacking the frame field is kept as a dead letter, then acknowledged."""
    with redis.Redis.from_url(redis_url) as client:
        client.xadd(config.stream_key(), {b"other": b"not a frame"})
    record_orders(redis_url, "fine")
    stats = drain_once(redis_url, archive).stats
    assert stats.dead_letters == 1
    assert count_rows(archive, "dead_letters") == 1
    assert [s["id"] for s in list_archived(archive)] == ["fine"]
    assert stream_state(redis_url) == (0, 0)


def test_two_copies_in_one_batch_are_archived_once(redis_url: str, archive: str) -> None:
    """The same frame twice in one batch (a retried write that was applied) counts once."""
    record_orders(redis_url, "twice", pays=2)
    with redis.Redis.from_url(redis_url) as client:
        entries = client.xrange(config.stream_key())
        client.delete(config.stream_key(), config.held_key())
    frames = [bytes(fields[config.FRAME_FIELD]) for _, fields in entries]
    _ship(redis_url, frames[0], *(copy for data in frames for copy in (data, data)))
    stats = drain_once(redis_url, archive).stats
    assert stats.records == per_order(2)
    assert stats.duplicates == per_order(2) + len(wire.decode_frame(frames[0]).records)
    assert count_records(archive) == per_order(2)
    [summary] = list_archived(archive)
    assert summary["steps"] == per_order(2)
    assert stream_state(redis_url) == (0, 0)


def test_drain_prunes_what_is_older_than_the_retention(redis_url: str, archive: str) -> None:
    """With prune_older_than, a pass also removes sessions older than that (here 100 days)."""
    old = reframed(_recorded_frame(redis_url, "ancient"), shift=-100 * 86_400 * 10**9)
    _ship(redis_url, old)
    record_orders(redis_url, "recent")
    stats = drain_once(redis_url, archive, prune_older_than=30 * 86_400).stats
    assert stats.pruned_sessions == 1
    assert [s["id"] for s in list_archived(archive)] == ["recent"]
