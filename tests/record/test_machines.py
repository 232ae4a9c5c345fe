"""Recorded machines: every kind of step recorded, behaviour identical to plain transitions."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
import redis
from recordings import (
    JOB,
    PIPE_EVENTS,
    PIPE_STATES,
    PIPE_TRANSITIONS,
    CardDeclinedError,
    JobModel,
    only_session,
    raise_declined,
    sessions_of,
    step_rows,
)
from transitions import MachineError
from transitions.extensions import HierarchicalMachine

from fsm_recorder.format import _wire as wire
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import (
    RecordedAsyncMachine,
    RecordedHierarchicalAsyncMachine,
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink


def test_nested_machine_records_full_paths_at_every_level() -> None:
    """Exits and enters of nested states carry full paths, parents included."""
    rec = memory_recorder()
    model = JobModel()
    RecordedHierarchicalMachine(
        model,
        states=PIPE_STATES,
        transitions=PIPE_TRANSITIONS,
        initial="idle",
        recorder=rec,
        name="Pipe",
    )
    model.start()
    model.step()
    model.finish()
    session = only_session(rec)
    assert session.separator == "_"
    assert [(s.kind, s.state) for s in session.of_kind("exit", "enter")] == [
        ("exit", "idle"),
        ("enter", "work"),
        ("enter", "work_fetch"),
        ("exit", "work_fetch"),
        ("enter", "work_proc"),
        ("enter", "work_proc_parse"),
        ("exit", "work_proc_parse"),
        ("exit", "work_proc"),
        ("exit", "work"),
        ("enter", "done"),
    ]
    assert [(s.source, s.dest) for s in session.of_kind("transition")] == [
        ("idle", "work"),
        ("work_fetch", "work_proc"),
        ("work_proc_parse", "done"),
    ]


def test_async_machines_record_like_sync_ones() -> None:
    """Async flat and nested machines record the same steps as their sync counterparts."""
    rec = memory_recorder()

    async def run() -> None:
        flat, nested = JobModel(), JobModel()
        RecordedAsyncMachine(flat, **JOB, recorder=rec, name="AJob", session_id="a")
        RecordedHierarchicalAsyncMachine(
            nested,
            states=PIPE_STATES,
            transitions=PIPE_TRANSITIONS,
            initial="idle",
            recorder=rec,
            name="APipe",
            session_id="n",
        )
        assert await flat.guarded(ok=False) is False
        assert await flat.start() is True
        assert await nested.start() is True
        with pytest.raises(MachineError):
            await nested.guarded(ok=True)
        with pytest.raises(MachineError):
            await nested.tick()

    asyncio.run(run())
    flat_s, nested_s = sessions_of(rec)
    assert step_rows(flat_s)[1:] == [
        ("event", "guarded", "idle", ""),
        ("rejected", "guarded", "idle", "conditions"),
        ("event", "start", "idle", ""),
        ("transition", "start", "idle>busy", ""),
        ("exit", "start", "idle", ""),
        ("enter", "start", "busy", ""),
    ]
    assert step_rows(nested_s)[1:] == [
        ("event", "start", "idle", ""),
        ("transition", "start", "idle>work", ""),
        ("exit", "start", "idle", ""),
        ("enter", "start", "work", ""),
        ("enter", "start", "work_fetch", ""),
        ("event", "guarded", "work_fetch", ""),
        ("rejected", "guarded", "work_fetch", "machine_error"),
        ("event", "tick", "work_fetch", ""),
        ("rejected", "tick", "work_fetch", "machine_error"),
    ]


def test_nested_to_records_its_event() -> None:
    """`model.to(state)` on a nested machine records an event before its transition."""
    rec = memory_recorder()
    model = JobModel()
    RecordedHierarchicalMachine(
        model,
        states=PIPE_STATES,
        transitions=PIPE_TRANSITIONS,
        initial="idle",
        recorder=rec,
        name="Pipe",
    )
    model.to("done")
    assert only_session(rec).events() == ["to"]


def test_one_session_per_model_and_remove_model_ends_it() -> None:
    """Each model of a machine has its own session; remove_model ends it with its last state."""
    rec = memory_recorder()
    first, second = JobModel(), JobModel()
    machine = RecordedMachine(
        [first, second], **JOB, recorder=rec, name="Job", session_id=lambda model: f"m{id(model)}"
    )
    first.start()
    second.guarded(ok=True)
    machine.remove_model(second)
    by_id = {s.id: s for s in sessions_of(rec)}
    assert set(by_id) == {f"m{id(first)}", f"m{id(second)}"}
    assert by_id[f"m{id(first)}"].events() == ["start"]
    assert by_id[f"m{id(first)}"].ended is None
    ended = by_id[f"m{id(second)}"]
    assert ended.events() == ["guarded"]
    assert ended.steps[-1].kind == "session_end"
    assert ended.steps[-1].state == "done"
    assert ended.ended == ended.steps[-1].ts


def test_session_ids_given_generated_and_renewed() -> None:
    """A fixed ID is used as given, none yields a random hex ID, new_session starts a fresh one."""
    rec = memory_recorder()
    fixed = RecordedMachine(**JOB, recorder=rec, name="Fixed", session_id=42)
    generated = RecordedMachine(**JOB, recorder=rec, name="Gen")
    assert fixed.session_id() == "42"
    first_id = generated.session_id()
    assert len(first_id) == 16
    int(first_id, 16)
    generated.start()
    second_id = generated.new_session(session_id="order-2")
    assert second_id == "order-2" == generated.session_id()
    generated.finish()
    generated.end_session()
    sessions = {s.id: s for s in sessions_of(rec)}
    assert set(sessions) == {"42", first_id, "order-2"}
    assert sessions[first_id].steps[-1].kind == "session_end"
    assert sessions[first_id].events() == ["start"]
    assert sessions["order-2"].events() == ["finish"]
    assert sessions["order-2"].steps[-1].kind == "session_end"


# -- acceptance: a long random run decodes to exactly what plain transitions did ------------------
def _active(state: object) -> frozenset[str]:
    """All active states (every prefix of every leaf) of a plain HSM model state."""
    leaves: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        else:
            leaves.append(str(value))

    walk(state)
    return frozenset(
        "_".join(leaf.split("_")[: n + 1]) for leaf in leaves for n in range(leaf.count("_") + 1)
    )


def _drive(model: Any, events: list[tuple[str, bool]]) -> list[tuple[Any, ...]]:
    observed = []
    for event, ok in events:
        before = _active(model.state)
        try:
            outcome: object = getattr(model, event)(ok=ok)
        except MachineError:
            outcome = "error"
        observed.append((event, before, _active(model.state), outcome))
    return observed


def _replayed(session: Session, initial: str) -> list[tuple[Any, ...]]:
    """(event, active before, active after, outcome) per event, from decoded steps only."""
    active, found = set(_active(initial)), []
    outcome_of = {"machine_error": "error", "conditions": False, "no_transition": False}
    for step in session.steps:
        if step.kind == "event":
            found.append([step.event, frozenset(active), None, True])
        elif step.kind == "exit":
            active.remove(step.state)
        elif step.kind == "enter":
            active.add(step.state)
        elif step.kind == "rejected":
            found[-1][3] = outcome_of[step.detail]
        if found:
            found[-1][2] = frozenset(active)
    return [tuple(row) for row in found]


def test_random_nested_run_decodes_to_the_plain_machines_run() -> None:
    """10,000 random events on a nested machine with parallel states decode to what happened."""
    rng = random.Random(20240607)
    events = [(rng.choice(PIPE_EVENTS), rng.random() < 0.5) for _ in range(10_000)]
    plain = JobModel()
    HierarchicalMachine(plain, states=PIPE_STATES, transitions=PIPE_TRANSITIONS, initial="idle")
    expected = _drive(plain, events)
    rec = Recorder(sink=MemorySink(), flush_interval=3600)
    recorded = JobModel()
    RecordedHierarchicalMachine(
        recorded,
        states=PIPE_STATES,
        transitions=PIPE_TRANSITIONS,
        initial="idle",
        recorder=rec,
        name="Pipe",
    )
    assert _drive(recorded, events) == expected
    rec.close()
    session = only_session(rec)
    assert rec.stats().dropped == 0
    initial = rec.codebooks.load(session.codebook).initial
    assert _replayed(session, initial) == expected
    successes = {row[3] for row in expected}
    assert successes == {True, False, "error"}
    assert any(len(row[2]) > 4 for row in expected), "parallel states were never entered"


# -- acceptance: no name of the machine reaches Redis ----------------------------------------------
SECRET_NAMES = [
    "OrderMachineXYZ",
    "PaymentAuthorized",
    "AwaitingPayment",
    "ChargeCard",
    "RefundIssued",
    "CardDeclinedError",
]


@pytest.mark.parametrize("compress", [True, False])
def test_no_machine_state_or_event_name_reaches_redis(redis_url: str, compress: bool) -> None:
    """Scanning and dumping every Redis key finds none of the machine's names, in any case."""
    with Recorder(redis_url, mode="sync", compress=compress) as rec:
        order = JobModel()
        RecordedMachine(
            order,
            states=["AwaitingPayment", "PaymentAuthorized", "RefundIssued"],
            transitions=[
                ["ChargeCard", "AwaitingPayment", "PaymentAuthorized"],
                ["RefundIssued", "PaymentAuthorized", "RefundIssued"],
            ],
            initial="AwaitingPayment",
            recorder=rec,
            name="OrderMachineXYZ",
            session_id="o-1",
            after_state_change=lambda: order.state == "PaymentAuthorized" and raise_declined(),
        )
        with pytest.raises(CardDeclinedError):
            order.ChargeCard()
        order.to_RefundIssued()
    blobs: list[bytes] = []
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(count=1000))
        assert keys
        for key in keys:
            blobs += [key, client.dump(key) or b""]
            if client.type(key) == b"stream":
                blobs += [v for _, fields in client.xrange(key) for v in fields.values()]
            else:
                blobs.append(client.get(key) or b"")
    # Frames are byte-shuffled: also look into each record's payload, where text would sit.
    frames = [wire.decode_frame(blob) for blob in blobs if blob.startswith(wire.MAGIC)]
    assert sum(len(frame.records) for frame in frames) == 1 + 5 + 4
    blobs += [record.payload for frame in frames for record in frame.records]
    haystack = b"\n".join(blobs).lower()
    assert b"o-1" in haystack
    for name in SECRET_NAMES:
        assert name.lower().encode() not in haystack, name
