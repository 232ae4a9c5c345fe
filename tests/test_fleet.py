"""A fleet: four hosts, each with its own server, producers and drain process, into one
PostgreSQL over TCP at once; one drain is SIGKILLed between its commit and its acknowledgement.

Every record is archived exactly once (per producer: the count it produced, sequence numbers
0..n-1 with no gap), every host's sessions are whole, and every host's Redis is empty. Each host
gets its own host name (a UTS namespace through ``unshare``, where the machine allows it), so
"per host" is checked on the archived host names too. The figures (records, seconds, records/s)
are printed; docs/fleet.md quotes them.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_backends import postgres_schema, stream_state
from sqlalchemy import func, select

from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.read._archived import list_archived
from fsm_recorder.store._schema import blocks, open_engine

HOSTS = 4
SESSIONS = 10
TRANSITIONS = 2_000  # per session: 4 records each, plus start and end
PRODUCER = """
import json, sys
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
url, host, sessions, transitions = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with Recorder(url) as rec:
    for n in range(sessions):
        m = RecordedMachine(states=["idle", "busy"], initial="idle", recorder=rec, name="Worker",
            transitions=[["start", "idle", "busy"], ["stop", "busy", "idle"]],
            session_id=f"{host}-s{n}")
        for _ in range(transitions // 2):
            m.start()
            m.stop()
        m.end_session()
    rec.flush(timeout=60)
    stats = rec.stats()
figures = {"producer": stats.producer, "produced": stats.produced, "dropped": stats.dropped}
print(json.dumps(figures))
"""


# A drain whose writer, once its first batch is committed, marks the file and hangs: the
# moment between COMMIT and XACK, held open for the SIGKILL.
PAUSED_DRAIN = """
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


def _namespaced() -> bool:
    probe = ["unshare", "--uts", "sh", "-c", "hostname fleet-probe"]
    return (
        shutil.which("unshare") is not None and subprocess.run(probe, check=False).returncode == 0
    )


def _on_host(host: str, argv: list[str], own_names: bool) -> list[str]:
    """`argv` run under host name `host` when the machine allows a namespace of its own."""
    if not own_names:
        return argv
    script = 'hostname "$0" && exec "$@"'
    return ["unshare", "--uts", "sh", "-c", script, host, *argv]


def _drain_argv(url: str, archive: str, *extra: str) -> list[str]:
    code = "from fsm_recorder.cli import main; main()"
    return [sys.executable, "-c", code, "drain", "--once", "--json", "--url", url,
            "--archive", archive, *extra]  # fmt: skip


@pytest.fixture
def hosts() -> Iterator[list[ServerConfig]]:
    """Four fresh per-host servers, stopped afterwards."""
    dirs = [Path(tempfile.mkdtemp(prefix="fsmr-f", dir="/tmp")) for _ in range(HOSTS)]
    configs = [ServerConfig(runtime_dir=d, maxmemory="128mb", appendonly=False) for d in dirs]
    try:
        for cfg in configs:
            server.start(cfg)
        yield configs
    finally:
        for cfg, d in zip(configs, dirs, strict=True):
            server.stop(cfg)
            shutil.rmtree(d, ignore_errors=True)


@pytest.mark.postgres
@pytest.mark.slow
def test_fleet_into_one_postgres_with_a_drain_killed(
    hosts: list[ServerConfig], tmp_path: Path
) -> None:
    """Four hosts' drains at once, one SIGKILLed after COMMIT: every record once, hosts whole."""
    archive_gen = postgres_schema()
    archive = next(archive_gen)
    own_names = _namespaced()
    names = [f"fleet-h{i}" for i in range(HOSTS)]
    try:
        producers = [
            subprocess.Popen(
                _on_host(name, [sys.executable, "-c", PRODUCER, cfg.url, name, str(SESSIONS),
                                str(TRANSITIONS)], own_names),
                stdout=subprocess.PIPE,
                text=True,
            )
            for name, cfg in zip(names, hosts, strict=True)
        ]  # fmt: skip
        produced = [json.loads(p.communicate(timeout=300)[0]) for p in producers]
        assert all(p["dropped"] == 0 for p in produced)
        marker = tmp_path / "paused"
        began = time.perf_counter()
        paused = [sys.executable, "-c", PAUSED_DRAIN, hosts[0].url, archive, str(marker)]
        killed = subprocess.Popen(_on_host(names[0], paused, own_names))
        others = [
            subprocess.Popen(
                _on_host(name, _drain_argv(cfg.url, archive), own_names),
                stdout=subprocess.PIPE,
                text=True,
            )
            for name, cfg in zip(names[1:], hosts[1:], strict=True)
        ]
        deadline = time.monotonic() + 120
        while not marker.exists() and killed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the first drain never reached the pause after its commit"
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        summaries = [json.loads(p.communicate(timeout=300)[0]) for p in others]
        restart = subprocess.run(
            _on_host(names[0], _drain_argv(hosts[0].url, archive, "--claim-idle", "0"), own_names),
            capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - began
        summaries.append(json.loads(restart.stdout))
        total = sum(p["produced"] for p in produced)
        print(f"fleet: {HOSTS} hosts, {total} records in {seconds:.2f} s, "
              f"{total / seconds:,.0f} records/s into one PostgreSQL")  # fmt: skip
        assert summaries[-1]["duplicates"] > 0  # the killed drain had committed a batch
        engine = open_engine(archive)
        b = blocks.c
        query = select(
            b.producer, func.sum(b.records), func.min(b.first_seq), func.max(b.last_seq)
        ).group_by(b.producer)
        with engine.connect() as conn:
            stored = {p: (int(n), lo, hi) for p, n, lo, hi in conn.execute(query)}
        engine.dispose()
        assert stored == {p["producer"]: (p["produced"], 0, p["produced"] - 1) for p in produced}
        listed = list_archived(archive)
        steps = 2 + 4 * TRANSITIONS
        for name, made in zip(names, produced, strict=True):
            mine = [s for s in listed if s["id"].startswith(f"{name}-")]
            assert sorted(s["id"] for s in mine) == sorted(f"{name}-s{n}" for n in range(SESSIONS))
            assert all(s["steps"] == steps and s["ended"] for s in mine)
            assert {s["producer"] for s in mine} == {made["producer"]}
            if own_names:
                assert {s["host"] for s in mine} == {name}
        assert all(stream_state(cfg.url) == (0, 0) for cfg in hosts)
    finally:
        archive_gen.close()
