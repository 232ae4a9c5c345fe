"""Benchmark: 1,000,000 recorded transitions from several processes, drained while they record.

Starts its own per-host server in a temporary runtime directory, runs one long-lived drain in
this process (timer 0.5 s plus the memory trigger), and checks the outcome: every record in the
archive exactly once (per producer: count and sequence numbers without gaps), Redis back to its
empty footprint. Prints the figures (and `--json` prints them as JSON).

    python benchmarks/drain_million.py [--transitions 1000000] [--processes 4] [--after]
        [--archive postgresql+psycopg://postgres@127.0.0.1:5432/test]

`--after` records everything first and only then drains (the drain's own rate, no competition
for the CPU from the recording processes).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.store._drain import Drainer, DrainSettings
from fsm_recorder.store._schema import blocks, open_engine

SESSION_TRANSITIONS = 10_000


def produce(url: str, transitions: int) -> tuple[str, int, int]:
    """Record `transitions` transitions (a new session every 10,000); return producer stats."""
    with Recorder(url=url) as rec:
        machine = RecordedMachine(
            states=["idle", "busy"],
            transitions=[["start", "idle", "busy"], ["stop", "busy", "idle"]],
            initial="idle",
            recorder=rec,
            name="Worker",
        )
        for done in range(0, transitions, 2):
            if done and done % SESSION_TRANSITIONS == 0:
                machine.end_session()
                machine.new_session()
            machine.start()
            machine.stop()
        machine.end_session()
        rec.flush(timeout=60)
        stats = rec.stats()
    return stats.producer, stats.produced, stats.dropped


def per_producer(archive: str) -> dict[str, tuple[int, int, int]]:
    """producer -> (records, min seq, max seq) in the archive."""
    engine = open_engine(archive)
    b = blocks.c
    query = select(
        b.producer, func.sum(b.records), func.min(b.first_seq), func.max(b.last_seq)
    ).group_by(b.producer)
    with engine.connect() as conn:
        found = {p: (int(n), int(lo), int(hi)) for p, n, lo, hi in conn.execute(query)}
    engine.dispose()
    return found


def run(transitions: int, processes: int, archive: str | None, after: bool) -> dict[str, Any]:
    """Record and drain; return the figures and the checks."""
    runtime = Path(tempfile.mkdtemp(prefix="fsmr-bench-", dir="/tmp"))
    os.environ["FSM_RECORDER_CODEBOOKS"] = str(runtime / "codebooks")
    archive = archive or f"sqlite:///{runtime / 'archive.sqlite'}"
    cfg = ServerConfig(runtime_dir=runtime / "srv", maxmemory="256mb")
    server.start(cfg)
    try:
        return _measure(cfg, transitions, processes, archive, after)
    finally:
        server.stop(cfg)
        shutil.rmtree(runtime, ignore_errors=True)


def _measure(
    cfg: ServerConfig, transitions: int, processes: int, archive: str, after: bool
) -> dict[str, Any]:
    baseline = server.status(cfg).used_memory or 0
    settings = DrainSettings(archive=archive, url=cfg.url, interval=0.5, max_memory="0.25")
    drainer = Drainer(settings)
    stop = threading.Event()
    worker = threading.Thread(target=drainer.run, args=(stop,))
    peak = baseline
    began = time.perf_counter()
    if after:
        stop.set()  # drain alone, once everything is recorded: the uncontended drain rate
    worker.start()
    share = [transitions // processes] * processes
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pending = pool.starmap_async(produce, [(cfg.url, n) for n in share])
        while not pending.ready():
            peak = max(peak, server.status(cfg).used_memory or 0)
            pending.wait(0.2)
        produced = pending.get()
    recorded = time.perf_counter() - began
    stop.set()
    worker.join()
    drainer.drain()  # whatever arrived after the last wake-up
    drained = time.perf_counter() - began
    drainer.close()
    return _report(cfg, archive, produced, drainer, baseline, peak, recorded, drained)


def _report(
    cfg: ServerConfig,
    archive: str,
    produced: list[tuple[str, int, int]],
    drainer: Drainer,
    baseline: int,
    peak: int,
    recorded: float,
    drained: float,
) -> dict[str, Any]:
    stored = per_producer(archive)
    total = sum(n for _, n, _ in produced)
    exact = all(stored.get(p) == (n, 0, n - 1) for p, n, _ in produced) and len(stored) == len(
        produced
    )
    status = server.status(cfg)
    stats = drainer.stats
    return {
        "archive": archive.split("://", maxsplit=1)[0],
        "records_produced": total,
        "records_dropped": sum(d for _, _, d in produced),
        "records_archived": sum(n for n, _, _ in stored.values()),
        "exactly_once_no_gaps": exact,
        "recording_seconds": round(recorded, 2),
        "until_all_archived_seconds": round(drained, 2),
        "drain_records_per_second": round(stats.records_per_second),
        "drain_mean_batch_ms": round(stats.mean_batch_ms, 1),
        "drain_max_batch_ms": round(1000 * stats.max_batch_seconds, 1),
        "drain_batches": stats.batches,
        "drain_wakeups": stats.wakeups,
        "redis_used_memory_baseline": baseline,
        "redis_used_memory_peak": peak,
        "redis_used_memory_after": status.used_memory,
        "redis_frames_held_after": status.frames_held,
        "redis_records_held_after": status.records_held,
    }


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--archive", help="archive URL (default: a temporary SQLite file)")
    parser.add_argument(
        "--after", action="store_true", help="drain only after recording ends (drain alone)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(args.transitions, args.processes, args.archive, args.after)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name:30} {value}")
    if not figures["exactly_once_no_gaps"] or figures["redis_records_held_after"]:
        raise SystemExit("FAILED: archive does not hold every record exactly once")


if __name__ == "__main__":
    main()
