"""Recorded machines: every kind of step recorded, behaviour identical to plain transitions."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
import redis
from transitions import Machine, MachineError
from transitions.extensions import HierarchicalMachine

from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import (
    RecordedAsyncMachine,
    RecordedHierarchicalAsyncMachine,
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.ship._recorder import Recorder, memory_recorder
from fsm_recorder.ship.sinks._memory import MemorySink

FLAT = {
    "states": ["idle", "busy", "done"],
    "transitions": [
        ["start", "idle", "busy"],
        ["finish", "busy", "done"],
        ["poke", "busy", None],
        ["again", "busy", "="],
        {"trigger": "guarded", "source": "idle", "dest": "done", "conditions": "allowed"},
    ],
    "initial": "idle",
}
NESTED_STATES: list[Any] = [
    "idle",
    {
        "name": "work",
        "initial": "fetch",
        "children": [
            "fetch",
            {
                "name": "proc",
                "initial": "parse",
                "children": ["parse", "check"],
                "transitions": [["next", "parse", "check"], ["next", "check", "parse"]],
            },
            "store",
        ],
        "transitions": [
            ["step", "fetch", "proc"],
            ["step", "proc", "store"],
            ["retry", "store", "fetch"],
        ],
    },
    {
        "name": "par",
        "parallel": [
            {
                "name": "left",
                "initial": "l1",
                "children": ["l1", "l2"],
                "transitions": [["tick", "l1", "l2"], ["tick", "l2", "l1"]],
            },
            {
                "name": "right",
                "initial": "r1",
                "children": ["r1", "r2"],
                "transitions": [["tock", "r1", "r2"]],
            },
        ],
    },
    "done",
]
NESTED_TRANSITIONS: list[Any] = [
    ["start", "idle", "work"],
    ["finish", "work", "done"],
    ["split", "idle", "par"],
    ["join", "par", "idle"],
    ["reset", "*", "idle"],
    ["noop", "work", None],
    ["again", "done", "="],
    {"trigger": "guarded", "source": "idle", "dest": "done", "conditions": "allowed"},
]
NESTED_EVENTS = [
    "start",
    "finish",
    "split",
    "join",
    "reset",
    "noop",
    "again",
    "guarded",
    "step",
    "retry",
    "next",
    "tick",
    "tock",
]


class Model:
    """A model with a condition driven by the trigger's keyword argument."""

    def allowed(self, ok: bool = False, **_: object) -> bool:
        return ok


def _sessions(rec: Recorder) -> list[Session]:
    rec.flush()
    return decode_sessions(rec.sink.frames, rec.codebooks)  # type: ignore[attr-defined]


def _only(rec: Recorder) -> Session:
    [session] = _sessions(rec)
    return session


def _rows(session: Session) -> list[tuple[str, ...]]:
    """Steps as (kind, event, where, detail): where is source>dest for transitions, else state."""
    return [
        (s.kind, s.event, f"{s.source}>{s.dest}" if s.kind == "transition" else s.state, s.detail)
        for s in session.steps
    ]


def test_flat_machine_records_event_transition_exit_enter() -> None:
    """A flat transition records event, transition (source>dest), exit and enter, in order."""
    rec = memory_recorder()
    machine = RecordedMachine(Model(), **FLAT, recorder=rec, name="Job", session_id="job-1")
    assert machine.models[0].start() is True
    session = _only(rec)
    assert (session.id, session.machine, session.separator) == ("job-1", "Job", "")
    assert _rows(session) == [
        ("session_start", "", "", ""),
        ("event", "start", "idle", ""),
        ("transition", "start", "idle>busy", ""),
        ("exit", "start", "idle", ""),
        ("enter", "start", "busy", ""),
    ]


def test_internal_and_reflexive_transitions() -> None:
    """An internal transition has no dest and no exit/enter; a reflexive one exits and re-enters."""
    rec = memory_recorder()
    model = Model()
    RecordedMachine(model, **FLAT, recorder=rec, name="Job")
    model.start()
    model.poke()
    model.again()
    assert _rows(_only(rec))[5:] == [
        ("event", "poke", "busy", ""),
        ("transition", "poke", "busy>", ""),
        ("event", "again", "busy", ""),
        ("transition", "again", "busy>busy", ""),
        ("exit", "again", "busy", ""),
        ("enter", "again", "busy", ""),
    ]


def test_rejections_record_their_reason() -> None:
    """Failed conditions, a missing transition and an invalid trigger are told apart."""
    rec = memory_recorder()
    model = Model()
    RecordedMachine(model, **FLAT, recorder=rec, name="Job")
    assert model.guarded(ok=False) is False
    with pytest.raises(MachineError):
        model.finish()
    quiet = Model()
    RecordedMachine(quiet, **FLAT, recorder=rec, name="Quiet", ignore_invalid_triggers=True)
    assert quiet.finish() is False
    loud, calm = _sessions(rec)
    assert [r for r in _rows(loud) if r[0] == "rejected"] == [
        ("rejected", "guarded", "idle", "conditions"),
        ("rejected", "finish", "idle", "machine_error"),
    ]
    assert [r for r in _rows(calm) if r[0] == "rejected"] == [
        ("rejected", "finish", "idle", "no_transition"),
    ]


class CardDeclinedError(Exception):
    """An application exception raised in a callback."""


def _raise_declined(*_: object, **__: object) -> None:
    raise CardDeclinedError("no")


def test_callback_exception_reraised_is_recorded_and_identical() -> None:
    """An exception from a callback propagates unchanged and is recorded by qualified type."""
    rec = memory_recorder()
    model = Model()
    RecordedMachine(model, **FLAT, recorder=rec, name="Job", after_state_change=_raise_declined)
    with pytest.raises(CardDeclinedError, match="no"):
        model.start()
    assert model.state == "busy"
    assert _rows(_only(rec))[-1] == (
        "exception",
        "start",
        "busy",
        f"{__name__}.CardDeclinedError",
    )


def test_callback_exception_handled_by_on_exception_is_recorded() -> None:
    """With on_exception the error is handled (trigger returns False) and still recorded."""
    rec = memory_recorder()
    handled: list[BaseException] = []
    model = Model()
    RecordedMachine(
        model,
        **FLAT,
        recorder=rec,
        name="Job",
        send_event=True,
        before_state_change=lambda event: int("x"),
        on_exception=lambda event: handled.append(event.error),
    )
    assert model.start() is False
    assert [type(e) for e in handled] == [ValueError]
    assert _rows(_only(rec))[-1] == ("exception", "start", "idle", "ValueError")


def test_return_values_and_errors_match_plain_transitions() -> None:
    """Each trigger returns or raises exactly what the plain Machine does."""
    sequence = ["guarded", "start", "start", "poke", "again", "finish", "finish"]
    outcomes = []
    for cls, extra in ((Machine, {}), (RecordedMachine, {"recorder": memory_recorder()})):
        model = Model()
        cls(model, **FLAT, **extra)
        results: list[object] = []
        for event in sequence:
            try:
                results.append((getattr(model, event)(), model.state))
            except MachineError as err:
                results.append((str(err), model.state))
        outcomes.append(results)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][2][0].startswith("\"Can't trigger event start")


def test_nested_machine_records_full_paths_at_every_level() -> None:
    """Exits and enters of nested states carry full paths, parents included."""
    rec = memory_recorder()
    model = Model()
    RecordedHierarchicalMachine(
        model,
        states=NESTED_STATES,
        transitions=NESTED_TRANSITIONS,
        initial="idle",
        recorder=rec,
        name="Pipe",
    )
    model.start()
    model.step()
    model.finish()
    session = _only(rec)
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


def test_nested_rejections() -> None:
    """A nested machine tells failed conditions from invalid triggers too."""
    rec = memory_recorder()
    model = Model()
    RecordedHierarchicalMachine(
        model,
        states=NESTED_STATES,
        transitions=NESTED_TRANSITIONS,
        initial="idle",
        recorder=rec,
        name="Pipe",
    )
    assert model.guarded(ok=False) is False
    with pytest.raises(MachineError):
        model.tick()
    assert [r for r in _rows(_only(rec)) if r[0] == "rejected"] == [
        ("rejected", "guarded", "idle", "conditions"),
        ("rejected", "tick", "idle", "machine_error"),
    ]


def test_codebook_is_derived_from_the_definition() -> None:
    """The codebook holds full state paths, the events and the static transitions."""
    machine = RecordedHierarchicalMachine(
        Model(),
        states=NESTED_STATES,
        transitions=NESTED_TRANSITIONS,
        initial="idle",
        recorder=memory_recorder(),
        name="Pipe",
    )
    book = machine.codebook
    assert (book.machine, book.separator, book.initial) == ("Pipe", "_", "idle")
    assert set(book.states) == {
        "idle",
        "work",
        "work_fetch",
        "work_proc",
        "work_proc_parse",
        "work_proc_check",
        "work_store",
        "par",
        "par_left",
        "par_left_l1",
        "par_left_l2",
        "par_right",
        "par_right_r1",
        "par_right_r2",
        "done",
    }
    assert set(NESTED_EVENTS) <= set(book.events)
    assert {
        ("idle", "start", "work"),
        ("work", "noop", ""),
        ("work_proc_parse", "next", "work_proc_check"),
        ("par_left_l1", "tick", "par_left_l2"),
    } <= set(book.transitions)
    assert not any(event.startswith("to_") for _, event, _ in book.transitions)
    flat = RecordedMachine(Model(), **FLAT, recorder=memory_recorder(), name="Job").codebook
    assert (list(flat.states), flat.separator) == (["idle", "busy", "done"], "")


def test_states_added_at_run_time_write_one_codebook_file_per_call(tmp_path: Path) -> None:
    """Each `add_state(s)` call evolves the codebook once: one file, whatever it adds inside."""
    store = CodebookStore(tmp_path)
    rec = Recorder(sink=MemorySink(), codebooks=store, flush_interval=3600)
    machine = RecordedMachine(states=["s0"], initial="s0", recorder=rec, name="Grow")
    assert len(list(tmp_path.iterdir())) == 1
    for i in range(1, 21):
        machine.add_state(f"s{i}")
    assert len(list(tmp_path.iterdir())) == 21
    machine.add_states([f"t{i}" for i in range(10)])
    machine.add_transition("jump", "s0", "t9")
    assert len(list(tmp_path.iterdir())) == 23
    machine.jump()  # type: ignore[attr-defined]
    rec.close()
    [session] = decode_sessions(rec.sink.frames, store)  # type: ignore[attr-defined]
    assert [(s.source, s.event, s.dest) for s in session.steps if s.kind == "transition"] == [
        ("s0", "jump", "t9")
    ]
    assert ("s0", "jump", "t9") in machine.codebook.transitions


def test_lone_surrogates_in_names_and_session_ids_never_raise(tmp_path: Path) -> None:
    """A session ID or a state or event name that UTF-8 cannot encode is recorded, not raised."""
    store = CodebookStore(tmp_path)
    rec = Recorder(sink=MemorySink(), codebooks=store, flush_interval=3600)
    machine = RecordedMachine(
        states=["a\udc00", "b"], initial="a\udc00", recorder=rec, session_id="s-\ud800"
    )
    machine.add_transition("go\ud800", "a\udc00", "b")
    machine.trigger("go\ud800")
    rec.close()
    assert rec.stats().dropped == 0
    [session] = decode_sessions(rec.sink.frames, store)  # type: ignore[attr-defined]
    assert session.id == "s-\\ud800"  # shown escaped: it is typed at a terminal
    assert [(s.source, s.event, s.dest) for s in session.steps if s.kind == "transition"] == [
        ("a\udc00", "go\ud800", "b")
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_async_machines_record_like_sync_ones() -> None:
    """Async flat and nested machines record the same steps as their sync counterparts."""
    rec = memory_recorder()

    async def run() -> None:
        flat, nested = Model(), Model()
        RecordedAsyncMachine(flat, **FLAT, recorder=rec, name="AJob", session_id="a")
        RecordedHierarchicalAsyncMachine(
            nested,
            states=NESTED_STATES,
            transitions=NESTED_TRANSITIONS,
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
    flat_s, nested_s = _sessions(rec)
    assert _rows(flat_s)[1:] == [
        ("event", "guarded", "idle", ""),
        ("rejected", "guarded", "idle", "conditions"),
        ("event", "start", "idle", ""),
        ("transition", "start", "idle>busy", ""),
        ("exit", "start", "idle", ""),
        ("enter", "start", "busy", ""),
    ]
    assert _rows(nested_s)[1:] == [
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


def test_async_nested_rejection_without_transition_says_so() -> None:
    """An ignored invalid trigger on an async nested machine is a no_transition rejection."""
    rec = memory_recorder()
    model = Model()

    async def run() -> None:
        RecordedHierarchicalAsyncMachine(
            model,
            states=NESTED_STATES,
            transitions=NESTED_TRANSITIONS,
            initial="idle",
            recorder=rec,
            name="APipe",
            ignore_invalid_triggers=True,
        )
        assert await model.tick() is False

    asyncio.run(run())
    assert _rows(_only(rec))[-1] == ("rejected", "tick", "idle", "no_transition")


def test_nested_to_records_its_event() -> None:
    """`model.to(state)` on a nested machine records an event before its transition."""
    rec = memory_recorder()
    model = Model()
    RecordedHierarchicalMachine(
        model,
        states=NESTED_STATES,
        transitions=NESTED_TRANSITIONS,
        initial="idle",
        recorder=rec,
        name="Pipe",
    )
    model.to("done")
    assert _only(rec).events() == ["to"]


def test_one_session_per_model_and_remove_model_ends_it() -> None:
    """Each model of a machine has its own session; remove_model ends it with its last state."""
    rec = memory_recorder()
    first, second = Model(), Model()
    machine = RecordedMachine(
        [first, second], **FLAT, recorder=rec, name="Job", session_id=lambda model: f"m{id(model)}"
    )
    first.start()
    second.guarded(ok=True)
    machine.remove_model(second)
    by_id = {s.id: s for s in _sessions(rec)}
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
    fixed = RecordedMachine(**FLAT, recorder=rec, name="Fixed", session_id=42)
    generated = RecordedMachine(**FLAT, recorder=rec, name="Gen")
    assert fixed.session_id() == "42"
    first_id = generated.session_id()
    assert len(first_id) == 16
    int(first_id, 16)
    generated.start()
    second_id = generated.new_session(session_id="order-2")
    assert second_id == "order-2" == generated.session_id()
    generated.finish()
    generated.end_session()
    sessions = {s.id: s for s in _sessions(rec)}
    assert set(sessions) == {"42", first_id, "order-2"}
    assert sessions[first_id].steps[-1].kind == "session_end"
    assert sessions[first_id].events() == ["start"]
    assert sessions["order-2"].events() == ["finish"]
    assert sessions["order-2"].steps[-1].kind == "session_end"


def test_queued_events_are_recorded_when_processed() -> None:
    """With queued=True an event triggered in a callback is recorded after the current one."""
    rec = memory_recorder()
    machine = RecordedMachine(**FLAT, recorder=rec, name="Queue", queued=True)
    machine.on_enter_busy(machine.finish)
    assert machine.start() is True
    assert machine.state == "done"
    assert [(k, e) for k, e, _, _ in _rows(_only(rec))[1:]] == [
        ("event", "start"),
        ("transition", "start"),
        ("exit", "start"),
        ("enter", "start"),
        ("event", "finish"),
        ("transition", "finish"),
        ("exit", "finish"),
        ("enter", "finish"),
    ]


def test_allow_listed_arguments_are_recorded() -> None:
    """Only the allow-listed keyword arguments of an event are kept, on its event step."""
    rec = memory_recorder()
    model = Model()
    RecordedMachine(model, **FLAT, recorder=rec, name="Job", record_args={"guarded": ["ok"]})
    model.guarded(ok=True, secret="card-number")
    [event] = _only(rec).of_kind("event")
    assert event.args == {"ok": True}


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
    events = [(rng.choice(NESTED_EVENTS), rng.random() < 0.5) for _ in range(10_000)]
    plain = Model()
    HierarchicalMachine(plain, states=NESTED_STATES, transitions=NESTED_TRANSITIONS, initial="idle")
    expected = _drive(plain, events)
    rec = Recorder(sink=MemorySink(), flush_interval=3600)
    recorded = Model()
    RecordedHierarchicalMachine(
        recorded,
        states=NESTED_STATES,
        transitions=NESTED_TRANSITIONS,
        initial="idle",
        recorder=rec,
        name="Pipe",
    )
    assert _drive(recorded, events) == expected
    rec.close()
    session = _only(rec)
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
        order = Model()
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
            after_state_change=lambda: order.state == "PaymentAuthorized" and _raise_declined(),
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
