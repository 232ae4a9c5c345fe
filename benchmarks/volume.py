"""Sizes and rates: bytes per transition, sustained records/s (no loss), drain and render speed."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

from benchmarks.env import Env
from benchmarks.variants import FLAT, LOG_FORMAT, debug_log
from fsm_recorder import config
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder

DEBUG_LOG_TRANSITIONS = 10_000
FRAME_TRANSITIONS = 10_000


def bytes_per_transition(env: Env, transitions: int) -> dict[str, Any]:
    """Record `transitions` in batched mode, then weigh the stream against a DEBUG log of them.

    A frame is shipped every `FRAME_TRANSITIONS` transitions (what a writer cycle takes from a
    process doing ~200k transitions/s), not by the clock: the size then depends on the format,
    not on how fast this machine happens to run the loop.
    """
    env.flushall()
    with Recorder(env.url, codebooks=env.codebooks, flush_interval=3600) as recorder:
        machine = RecordedMachine(**FLAT, recorder=recorder, name="BenchBytes")
        for done in range(0, transitions, FRAME_TRANSITIONS):
            machine_cycle(machine, min(FRAME_TRANSITIONS, transitions - done))
            recorder.flush()
        records = recorder.stats().written
    with env.client() as client:
        stream = config.stream_key()
        frames = [fields[config.FRAME_FIELD] for _, fields in client.xrange(stream)]
        memory = int(client.memory_usage(stream, samples=0) or 0)
    from transitions import Machine

    log = env.tmp / "bytes-debug.log"
    logged = debug_log(Machine, FLAT, log)
    logged_transitions = min(transitions, DEBUG_LOG_TRANSITIONS)  # same text every transition
    logged.run(logged_transitions)
    logged.close()
    return {
        "transitions": transitions,
        "records": records,
        "frames": len(frames),
        "payload_per_transition": sum(map(len, frames)) / transitions,
        "redis_memory_per_transition": memory / transitions,
        "debug_log_per_transition": log.stat().st_size / logged_transitions,
        "debug_log_format": LOG_FORMAT,
    }


def machine_cycle(machine: Any, transitions: int) -> None:
    """go/back `transitions` times."""
    for _ in range(transitions // 2):
        machine.go()
        machine.back()


def throughput(env: Env, seconds: float, processes: int) -> dict[str, Any]:
    """Records/s from `processes` producers at once into the one server; counts must add up."""
    env.flushall()
    ctx = multiprocessing.get_context("spawn")
    args = (env.url, str(env.codebooks.directory), seconds)
    began = time.perf_counter()
    if processes == 1:
        results = [produce(*args)]
    else:
        with ctx.Pool(processes) as pool:
            results = pool.starmap(produce, [args] * processes)
    elapsed = time.perf_counter() - began
    with env.client() as client:
        held = int(client.get(config.held_key()) or 0)
        stored = sum(
            wire.announced_records(f[config.FRAME_FIELD])
            for _, f in client.xrange(config.stream_key())
        )
    produced = sum(r["produced"] for r in results)
    written = sum(r["written"] for r in results)
    return {
        "processes": processes,
        "seconds": seconds,
        "records": produced,
        "records_per_s": sum(r["produced"] / r["elapsed"] for r in results),
        "wall_records_per_s": produced / elapsed,
        "dropped": sum(r["dropped"] for r in results),
        "held_counter": held,
        "records_in_stream": stored,
        "no_loss": produced == written == held == stored,
    }


def produce(url: str, codebooks: str, seconds: float) -> dict[str, Any]:
    """One producer: trigger flat transitions for `seconds`, flush, report its counts."""
    with Recorder(url, codebooks=CodebookStore(Path(codebooks))) as recorder:
        machine = RecordedMachine(**FLAT, recorder=recorder, name="BenchThroughput")
        go, back = machine.go, machine.back
        began = time.perf_counter()
        deadline = began + seconds
        while time.perf_counter() < deadline:
            for _ in range(500):
                go()
                back()
        recorder.flush()
        elapsed = time.perf_counter() - began
        stats = recorder.stats()
    return {
        "produced": stats.produced,
        "written": stats.written,
        "dropped": stats.dropped,
        "elapsed": elapsed,
    }
