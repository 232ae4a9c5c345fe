"""Soak test: producers record for minutes while Redis and the drain are killed at random.

Not part of the unit suite. Run it as a script::

    python benchmarks/soak.py --seconds 180 --producers 4 --rate 2000

It starts a private server (AOF, ``appendfsync everysec``), N producer processes (each a
`Recorder(name=...)` triggering a toggle machine ``--rate`` times a second), and a drain process
into a SQLite archive. Every few seconds it picks a fault: SIGKILL Redis (restarted after a short
outage), SIGSTOP Redis for a while, or SIGKILL the drain (restarted). At the end it stops the
faults, lets producers close, drains everything and checks, per producer:

- its own counts balance: produced == written + dropped + pending (pending 0 after close);
- stored (archive + Redis, deduplicated by (producer, seq)) + lost in Redis crashes == written,
  where the Redis-crash loss is the decoder's sequence gap minus the producer's counted drops.

It prints one JSON document with the figures and exits 1 if an invariant fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from fsm_recorder.exceptions import SinkError
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.read._archived import add_archived
from fsm_recorder.read._decoder import SessionDecoder
from fsm_recorder.read._load import read_frames
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.store._drain import Drainer, DrainSettings


def producer(url: str, name: str, seconds: float, rate: int) -> None:
    """One application: trigger at `rate` per second for `seconds`, then print its stats."""
    rec = Recorder(url, name=name)
    machine = RecordedMachine(
        states=["off", "on"],
        transitions=[["flip", "off", "on"], ["flip", "on", "off"]],
        initial="off",
        recorder=rec,
        name="Soak",
        session_id=name,
    )
    worst, began = 0.0, time.monotonic()
    flips = 0
    while (now := time.monotonic()) - began < seconds:
        start = time.perf_counter()
        machine.flip()
        worst = max(worst, time.perf_counter() - start)
        flips += 1
        ahead = began + flips / rate - now
        if ahead > 0:
            time.sleep(ahead)
    rec.close(timeout=10)
    print(json.dumps({**asdict(rec.stats()), "flips": flips, "worst_trigger_ms": worst * 1e3}))


def drain(url: str, archive: str) -> None:
    """A drain process; exits (to be restarted) when Redis fails under it."""
    drainer = Drainer(DrainSettings(archive=archive, url=url, interval=0.5, claim_idle=2.0))
    try:
        drainer.run(threading.Event())
    except SinkError:
        sys.exit(3)


class Soak:
    """The supervisor: server, processes, faults, final check."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.cfg = ServerConfig(runtime_dir=workdir / "rt", maxmemory="512mb", appendonly=True)
        self.archive = f"sqlite:///{workdir / 'archive.db'}"
        self.env = {
            **os.environ,
            "FSM_RECORDER_CODEBOOKS": str(workdir / "codebooks"),
            "FSM_RECORDER_RUNTIME_DIR": str(workdir / "rt"),
        }
        self.faults: dict[str, int] = {"redis_sigkill": 0, "redis_sigstop": 0, "drain_sigkill": 0}
        self.drain_restarts = 0
        self.rng = random.Random(args.seed)

    def _spawn(self, *argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, __file__, *argv], env=self.env, stdout=subprocess.PIPE, text=True
        )

    def _drain(self) -> subprocess.Popen[str]:
        return self._spawn("--drain", self.cfg.url, self.archive)

    def run(self) -> dict[str, Any]:
        server.start(self.cfg)
        producers = [
            self._spawn(
                "--producer", self.cfg.url, f"soak-{i}", str(self.args.seconds), str(self.args.rate)
            )
            for i in range(self.args.producers)
        ]
        drainer = self._drain()
        deadline = time.monotonic() + self.args.seconds - 5
        while time.monotonic() < deadline:
            time.sleep(self.rng.uniform(3, 10))
            drainer = self._fault(drainer)
            if drainer.poll() is not None:
                drainer, self.drain_restarts = self._drain(), self.drain_restarts + 1
        server.start(self.cfg)
        results = [json.loads((p.communicate()[0] or "{}").splitlines()[-1]) for p in producers]
        drainer.kill()
        drainer.wait()
        return self._check(results)

    def _fault(self, drainer: subprocess.Popen[str]) -> subprocess.Popen[str]:
        fault = self.rng.choice(sorted(self.faults))
        self.faults[fault] += 1
        if fault == "drain_sigkill":
            drainer.kill()
            drainer.wait()
            return self._drain()
        pid = server.status(self.cfg).pid
        assert pid is not None
        if fault == "redis_sigstop":
            os.kill(pid, signal.SIGSTOP)
            time.sleep(self.rng.uniform(0.5, 2.0))
            os.kill(pid, signal.SIGCONT)
            return drainer
        os.kill(pid, signal.SIGKILL)
        while server.status(self.cfg).running:
            time.sleep(0.01)
        time.sleep(self.rng.uniform(0.2, 2.0))
        server.start(self.cfg)
        return drainer

    def _check(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        final = Drainer(DrainSettings(archive=self.archive, url=self.cfg.url, claim_idle=0))
        final.drain()
        final.close()
        decoder = SessionDecoder(CodebookStore(self.env["FSM_RECORDER_CODEBOOKS"]))
        add_archived(decoder, self.archive)
        decoder.add_frames(read_frames(self.cfg.url))
        stored: dict[str, int] = {}
        for session in decoder.sessions():
            stored[session.producer] = stored.get(session.producer, 0) + len(session.steps)
        gaps = decoder.gaps()
        report = []
        for r in results:
            p = r["producer"]
            crash_loss = gaps.get(p, 0) - r["dropped"]
            balanced = r["produced"] == r["written"] + r["dropped"] + r["pending"]
            report.append(
                {
                    "producer": p,
                    "produced": r["produced"],
                    "written": r["written"],
                    "dropped": r["dropped_by_reason"],
                    "pending": r["pending"],
                    "stored": stored.get(p, 0),
                    "lost_in_redis_crashes": crash_loss,
                    "sink_errors": r["errors"].get("sink", 0),
                    "worst_trigger_ms": round(r["worst_trigger_ms"], 2),
                    "ok": balanced
                    and r["pending"] == 0
                    and crash_loss >= 0
                    and stored.get(p, 0) + crash_loss == r["written"],
                }
            )
        return {
            "seconds": self.args.seconds,
            "faults": self.faults,
            "drain_restarts": self.drain_restarts,
            "producers": report,
            "ok": all(p["ok"] for p in report),
        }


@contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fsmr-soak-", dir="/tmp"))
    try:
        yield path
    finally:
        cfg = ServerConfig(runtime_dir=path / "rt")
        if server.status(cfg).running:
            server.stop(replace(cfg, stop_timeout=30))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--rate", type=int, default=2000, help="triggers per second per producer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--producer", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--drain", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.producer:
        url, name, seconds, rate = args.producer
        producer(url, name, float(seconds), int(rate))
        return 0
    if args.drain:
        drain(*args.drain)
        return 0
    with _workdir() as workdir:
        result = Soak(args, workdir).run()
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
