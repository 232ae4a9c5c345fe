"""The contenders: one machine definition driven bare, logged, stored per row, or recorded.

Every variant performs `n` transitions of the same two-state cycle (``go`` a->b, ``back`` b->a;
the nested machine's ``b`` has children, so entering it enters ``b_x`` too) and then settles:
whatever the variant owes for those transitions (a recorder's flush, a DEBUG log's write) is
paid inside the timed region, so "batched" is charged for its writer thread's work as well.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transitions import Machine
from transitions.extensions import HierarchicalMachine
from transitions.extensions.asyncio import AsyncMachine

from benchmarks.env import Env
from fsm_recorder.record._machines import (
    RecordedAsyncMachine,
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.ship._recorder import Mode, Recorder
from fsm_recorder.ship.sinks._memory import MemorySink

FLAT: dict[str, Any] = {
    "states": ["a", "b"],
    "transitions": [["go", "a", "b"], ["back", "b", "a"]],
    "initial": "a",
}
NESTED: dict[str, Any] = {
    "states": ["a", {"name": "b", "children": ["x", "y"], "initial": "x"}],
    "transitions": [["go", "a", "b"], ["back", "b", "a"]],
    "initial": "a",
}
# What users typically configure: a timestamped line per message into a file.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class Variant:
    """One contender of a group: `run(n)` does n transitions and settles what they owe."""

    name: str
    run: Callable[[int], None]
    close: Callable[[], None] = lambda: None
    # Transitions per round relative to the group's; slow variants do fewer (ns/transition
    # stays comparable, the suite stays within minutes).
    weight: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)


def cycle(machine: Any) -> Callable[[int], None]:
    """n transitions of the go/back cycle on a sync machine (the machine is its own model)."""
    go, back = machine.go, machine.back

    def run(n: int) -> None:
        for _ in range(n // 2):
            go()
            back()

    return run


def async_cycle(machine: Any) -> tuple[Callable[[int], None], Callable[[], None]]:
    """n transitions on an async machine, all inside one event loop run per round."""
    loop = asyncio.new_event_loop()
    go, back = machine.go, machine.back

    async def drive(n: int) -> None:
        for _ in range(n // 2):
            await go()
            await back()

    return (lambda n: loop.run_until_complete(drive(n))), loop.close


def bare(cls: type[Any], definition: dict[str, Any], name: str = "bare") -> Variant:
    """transitions itself, nothing recorded or logged."""
    machine = cls(**definition)
    if cls is AsyncMachine:
        run, close = async_cycle(machine)
        return Variant(name, run, close)
    return Variant(name, cycle(machine))


def debug_log(cls: type[Any], definition: dict[str, Any], path: Path) -> Variant:
    """transitions' own logger at DEBUG into a file: switched on only while this variant runs."""
    inner = bare(cls, definition, "transitions DEBUG log")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger("transitions")

    def run(n: int) -> None:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            inner.run(n)
            handler.flush()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
            logger.propagate = True

    def close() -> None:
        inner.close()
        handler.close()

    return Variant(inner.name, run, close, info={"log": str(path)})


def sqlite_commit(path: Path) -> Variant:
    """django-fsm-log style: one INSERT + COMMIT per transition (SQLite defaults, as Django)."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE state_log (id INTEGER PRIMARY KEY, timestamp REAL, object_id TEXT,"
        " transition TEXT, source_state TEXT, state TEXT)"
    )

    def log(event_data: Any) -> None:
        db.execute(
            "INSERT INTO state_log (timestamp, object_id, transition, source_state, state)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                time.time(),
                "order-1",
                event_data.event.name,
                event_data.transition.source,
                event_data.transition.dest,
            ),
        )
        db.commit()

    machine = Machine(**FLAT, after_state_change=log, send_event=True)
    return Variant("SQLite INSERT+COMMIT", cycle(machine), db.close, weight=0.02)


def redis_xadd(env: Env) -> Variant:
    """The naive approach: one synchronous XADD of the names per transition (redis-py)."""
    client = env.client()

    def log(event_data: Any) -> None:
        client.xadd(
            "bench:naive",
            {
                "object": "order-1",
                "event": event_data.event.name,
                "source": event_data.transition.source,
                "dest": event_data.transition.dest,
                "ts": time.time_ns(),
            },
        )

    machine = Machine(**FLAT, after_state_change=log, send_event=True)
    return Variant("redis-py XADD per transition", cycle(machine), client.close, weight=0.1)


def recorded(
    cls: type[Any],
    definition: dict[str, Any],
    env: Env,
    mode: Mode,
    *,
    memory: bool = False,
) -> Variant:
    """An fsm-recorder machine into the private Redis (or a `MemorySink`), batched or sync."""
    sink = MemorySink() if memory else None
    recorder = Recorder(env.url, sink=sink, mode=mode, codebooks=env.codebooks)
    name = f"fsm-recorder {mode}" + (" (MemorySink)" if memory else "")
    machine = cls(**definition, recorder=recorder, name=f"Bench{cls.__name__}")
    if cls is RecordedAsyncMachine:
        drive, close_loop = async_cycle(machine)
    else:
        drive, close_loop = cycle(machine), lambda: None

    def run(n: int) -> None:
        drive(n)
        recorder.flush()
        if sink is not None:
            sink.clear()

    def close() -> None:
        close_loop()
        recorder.close()

    weight = 0.1 if mode == "sync" and not memory else 1.0
    return Variant(name, run, close, weight=weight, info={"recorder": recorder})


def flat_group(env: Env) -> list[Variant]:
    """Flat `Machine`: every contender (the first is the reference)."""
    return [
        bare(Machine, FLAT),
        debug_log(Machine, FLAT, env.tmp / "flat-debug.log"),
        sqlite_commit(env.tmp / "fsm_log.sqlite3"),
        redis_xadd(env),
        recorded(RecordedMachine, FLAT, env, "batched"),
        recorded(RecordedMachine, FLAT, env, "sync"),
        recorded(RecordedMachine, FLAT, env, "batched", memory=True),
        recorded(RecordedMachine, FLAT, env, "sync", memory=True),
    ]


def nested_group(env: Env) -> list[Variant]:
    """`HierarchicalMachine`: bare, DEBUG log, recorded."""
    return [
        bare(HierarchicalMachine, NESTED),
        debug_log(HierarchicalMachine, NESTED, env.tmp / "nested-debug.log"),
        recorded(RecordedHierarchicalMachine, NESTED, env, "batched"),
        recorded(RecordedHierarchicalMachine, NESTED, env, "batched", memory=True),
    ]


def async_group(env: Env) -> list[Variant]:
    """`AsyncMachine`: bare, DEBUG log, recorded."""
    return [
        bare(AsyncMachine, FLAT),
        debug_log(AsyncMachine, FLAT, env.tmp / "async-debug.log"),
        recorded(RecordedAsyncMachine, FLAT, env, "batched"),
    ]


GROUPS: dict[str, Callable[[Env], list[Variant]]] = {
    "flat": flat_group,
    "nested": nested_group,
    "async": async_group,
}
