"""Small recorded machines and recording helpers that several test modules share."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import redis
from transitions import MachineError

from fsm_recorder import config
from fsm_recorder.format import _wire as wire
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder


def toggle(recorder: Recorder, session_id: str | None = None) -> RecordedMachine:
    """A flat machine flipping between off and on: four records per `flip()`."""
    return RecordedMachine(
        states=["off", "on"],
        transitions=[["flip", "off", "on"], ["flip", "on", "off"]],
        initial="off",
        recorder=recorder,
        name="Toggle",
        session_id=session_id,
    )


def order_machine(rec: Recorder, session_id: str) -> RecordedMachine:
    """A small recorded machine: new <-> paid."""
    return RecordedMachine(
        states=["new", "paid"],
        transitions=[["pay", "new", "paid"], ["refund", "paid", "new"]],
        initial="new",
        recorder=rec,
        name="Order",
        session_id=session_id,
    )


def record_orders(
    url: str, *ids: str, pays: int = 1, refund: bool = True, end: bool = True
) -> None:
    """Record one session per ID (`pays` times pay, each refunded), synchronously into `url`."""
    with Recorder(url, mode="sync") as rec:
        for sid in ids:
            machine = order_machine(rec, sid)
            for _ in range(pays):
                machine.pay()
                if refund:
                    machine.refund()
            if end:
                machine.end_session()


def add_junk_frame(url: str) -> None:
    """Append a frame that is not a valid fsm-recorder frame to the stream."""
    with redis.Redis.from_url(url) as client:
        client.xadd(config.stream_key(), {config.FRAME_FIELD: b"FR\x01 garbage"})


def event_frame(first_seq: int, records: int = 1) -> bytes:
    """A valid frame of `records` EVENT records of one session, without a machine or codebook."""
    slots = b"".join(
        wire.RECORD.pack(wire.Kind.EVENT, 0, 1, 1, 0, 1, 1000 + i) for i in range(records)
    )
    return wire.encode_frame(
        producer=b"p" * 8, pid=1, host="h", first_seq=first_seq, slots=slots, sessions={1: "ab" * 8}
    )


def reframed(data: bytes, **change: int) -> bytes:
    """`data` re-encoded uncompressed with another first_seq or pid, or times shifted.

    Keywords: ``first_seq``, ``pid``, ``ts`` (every record's time) or ``shift`` (added to each).
    """
    frame = wire.decode_frame(data)

    def stamp(ts: int) -> int:
        return change.get("ts", ts + change.get("shift", 0))

    slots = b"".join(
        wire.pack_with_payload(r.kind, r.a, r.b, r.session, stamp(r.ts), r.payload)
        if r.kind in (wire.Kind.SESSION_START, wire.Kind.ARGS)
        else wire.RECORD.pack(r.kind, 0, r.a, r.b, r.c, r.session, stamp(r.ts))
        for r in frame.records
    )
    return wire.encode_frame(
        producer=bytes.fromhex(frame.producer),
        pid=change.get("pid", frame.pid),
        host=frame.host,
        first_seq=change.get("first_seq", frame.first_seq),
        slots=slots,
        sessions=frame.sessions,
        compress=False,
    )


class BoomError(Exception):
    """Raised by a recorded callback (`boom` in `nested_worker`)."""


WORKER_STATES: list[object] = [
    "idle",
    {"name": "busy", "children": ["load", "work"], "initial": "load"},
]
WORKER_TRANSITIONS: list[object] = [
    ["go", "idle", "busy"],
    ["next", "busy_load", "busy_work"],
    ["stop", "busy", "idle"],
]


def nested_worker(recorder: Recorder, session_id: str = "w-1", rounds: int = 2) -> None:
    """A nested machine run: `rounds` x go/next/stop, a rejected `next` in idle, a raising `boom`.

    Path: idle, then per round busy_load, busy_work, idle. The rejection and the exception both
    happen in idle; the exception's callback raises `BoomError` after the `boom` transition
    (an internal one in idle).
    """
    from fsm_recorder.record._machines import RecordedHierarchicalMachine

    class Model:
        def explode(self) -> None:
            raise BoomError("callback failed")

    model = Model()
    machine = RecordedHierarchicalMachine(
        model, states=WORKER_STATES, recorder=recorder, initial="idle", name="Worker",
        transitions=[*WORKER_TRANSITIONS,
                     {"trigger": "boom", "source": "idle", "dest": None, "after": "explode"}],
        session_id=session_id, exceptions=["BoomError"],
    )  # fmt: skip
    for _ in range(rounds):
        for event in ("go", "next", "stop"):
            model.trigger(event)  # type: ignore[attr-defined]
    with suppress(MachineError):  # rejected in idle: recorded, then raised as transitions does
        model.trigger("next")  # type: ignore[attr-defined]
    with suppress(BoomError):
        model.trigger("boom")  # type: ignore[attr-defined]
    machine.end_session(model)


class BrokenKey:
    """A public key whose sealing fails, as a broken crypto backend would."""

    def seal(self, frame: bytes) -> bytes:
        raise ValueError("backend exploded")


def sessions_of(rec: Recorder) -> list[Session]:
    """Every session a recorder into a `MemorySink` holds, decoded."""
    rec.flush()
    return decode_sessions(rec.sink.frames, rec.codebooks)  # type: ignore[attr-defined]


def only_session(rec: Recorder) -> Session:
    """The one session a recorder into a `MemorySink` holds."""
    [session] = sessions_of(rec)
    return session


def step_rows(session: Session) -> list[tuple[str, ...]]:
    """Steps as (kind, event, where, detail): where is source>dest for transitions, else state."""
    return [
        (s.kind, s.event, f"{s.source}>{s.dest}" if s.kind == "transition" else s.state, s.detail)
        for s in session.steps
    ]


# A flat job and a nested pipeline (with a parallel state) that several modules record.
JOB = {
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
PIPE_STATES: list[Any] = [
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
PIPE_TRANSITIONS: list[Any] = [
    ["start", "idle", "work"],
    ["finish", "work", "done"],
    ["split", "idle", "par"],
    ["join", "par", "idle"],
    ["reset", "*", "idle"],
    ["noop", "work", None],
    ["again", "done", "="],
    {"trigger": "guarded", "source": "idle", "dest": "done", "conditions": "allowed"},
]
PIPE_EVENTS = [
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


class JobModel:
    """A model with a condition driven by the trigger's keyword argument."""

    def allowed(self, ok: bool = False, **_: object) -> bool:
        return ok


class CardDeclinedError(Exception):
    """An application exception raised in a callback."""


def raise_declined(*_: object, **__: object) -> None:
    raise CardDeclinedError("no")
