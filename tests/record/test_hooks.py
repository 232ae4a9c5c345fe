"""The hooks: every step of a trigger recorded, its outcome told, transitions' behaviour kept."""

from __future__ import annotations

import asyncio

import pytest
from recordings import (
    JOB,
    PIPE_STATES,
    PIPE_TRANSITIONS,
    CardDeclinedError,
    JobModel,
    only_session,
    raise_declined,
    sessions_of,
    step_rows,
)
from transitions import Machine, MachineError

from fsm_recorder.record._machines import (
    RecordedHierarchicalAsyncMachine,
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.ship._default import memory_recorder


def test_flat_machine_records_event_transition_exit_enter() -> None:
    """A flat transition records event, transition (source>dest), exit and enter, in order."""
    rec = memory_recorder()
    machine = RecordedMachine(JobModel(), **JOB, recorder=rec, name="Job", session_id="job-1")
    assert machine.models[0].start() is True
    session = only_session(rec)
    assert (session.id, session.machine, session.separator) == ("job-1", "Job", "")
    assert step_rows(session) == [
        ("session_start", "", "", ""),
        ("event", "start", "idle", ""),
        ("transition", "start", "idle>busy", ""),
        ("exit", "start", "idle", ""),
        ("enter", "start", "busy", ""),
    ]


def test_internal_and_reflexive_transitions() -> None:
    """An internal transition has no dest and no exit/enter; a reflexive one exits and re-enters."""
    rec = memory_recorder()
    model = JobModel()
    RecordedMachine(model, **JOB, recorder=rec, name="Job")
    model.start()
    model.poke()
    model.again()
    assert step_rows(only_session(rec))[5:] == [
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
    model = JobModel()
    RecordedMachine(model, **JOB, recorder=rec, name="Job")
    assert model.guarded(ok=False) is False
    with pytest.raises(MachineError):
        model.finish()
    quiet = JobModel()
    RecordedMachine(quiet, **JOB, recorder=rec, name="Quiet", ignore_invalid_triggers=True)
    assert quiet.finish() is False
    loud, calm = sessions_of(rec)
    assert [r for r in step_rows(loud) if r[0] == "rejected"] == [
        ("rejected", "guarded", "idle", "conditions"),
        ("rejected", "finish", "idle", "machine_error"),
    ]
    assert [r for r in step_rows(calm) if r[0] == "rejected"] == [
        ("rejected", "finish", "idle", "no_transition"),
    ]


def test_callback_exception_reraised_is_recorded_and_identical() -> None:
    """An exception from a callback propagates unchanged and is recorded by qualified type."""
    rec = memory_recorder()
    model = JobModel()
    RecordedMachine(model, **JOB, recorder=rec, name="Job", after_state_change=raise_declined)
    with pytest.raises(CardDeclinedError, match="no"):
        model.start()
    assert model.state == "busy"
    assert step_rows(only_session(rec))[-1] == (
        "exception",
        "start",
        "busy",
        "recordings.CardDeclinedError",
    )


def test_callback_exception_handled_by_on_exception_is_recorded() -> None:
    """With on_exception the error is handled (trigger returns False) and still recorded."""
    rec = memory_recorder()
    handled: list[BaseException] = []
    model = JobModel()
    RecordedMachine(
        model,
        **JOB,
        recorder=rec,
        name="Job",
        send_event=True,
        before_state_change=lambda event: int("x"),
        on_exception=lambda event: handled.append(event.error),
    )
    assert model.start() is False
    assert [type(e) for e in handled] == [ValueError]
    assert step_rows(only_session(rec))[-1] == ("exception", "start", "idle", "ValueError")


def test_return_values_and_errors_match_plain_transitions() -> None:
    """Each trigger returns or raises exactly what the plain Machine does."""
    sequence = ["guarded", "start", "start", "poke", "again", "finish", "finish"]
    outcomes = []
    for cls, extra in ((Machine, {}), (RecordedMachine, {"recorder": memory_recorder()})):
        model = JobModel()
        cls(model, **JOB, **extra)
        results: list[object] = []
        for event in sequence:
            try:
                results.append((getattr(model, event)(), model.state))
            except MachineError as err:
                results.append((str(err), model.state))
        outcomes.append(results)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][2][0].startswith("\"Can't trigger event start")


def test_nested_rejections() -> None:
    """A nested machine tells failed conditions from invalid triggers too."""
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
    assert model.guarded(ok=False) is False
    with pytest.raises(MachineError):
        model.tick()
    assert [r for r in step_rows(only_session(rec)) if r[0] == "rejected"] == [
        ("rejected", "guarded", "idle", "conditions"),
        ("rejected", "tick", "idle", "machine_error"),
    ]


def test_async_nested_rejection_without_transition_says_so() -> None:
    """An ignored invalid trigger on an async nested machine is a no_transition rejection."""
    rec = memory_recorder()
    model = JobModel()

    async def run() -> None:
        RecordedHierarchicalAsyncMachine(
            model,
            states=PIPE_STATES,
            transitions=PIPE_TRANSITIONS,
            initial="idle",
            recorder=rec,
            name="APipe",
            ignore_invalid_triggers=True,
        )
        assert await model.tick() is False

    asyncio.run(run())
    assert step_rows(only_session(rec))[-1] == ("rejected", "tick", "idle", "no_transition")


def test_queued_events_are_recorded_when_processed() -> None:
    """With queued=True an event triggered in a callback is recorded after the current one."""
    rec = memory_recorder()
    machine = RecordedMachine(**JOB, recorder=rec, name="Queue", queued=True)
    machine.on_enter_busy(machine.finish)
    assert machine.start() is True
    assert machine.state == "done"
    assert [(k, e) for k, e, _, _ in step_rows(only_session(rec))[1:]] == [
        ("event", "start"),
        ("transition", "start"),
        ("exit", "start"),
        ("enter", "start"),
        ("event", "finish"),
        ("transition", "finish"),
        ("exit", "finish"),
        ("enter", "finish"),
    ]


def test_a_trigger_inside_a_callback_does_not_take_the_outer_triggers_context() -> None:
    """A `before` callback that triggers another event (not queued) runs a whole trigger inside
    the outer one; the outer trigger's later records still carry the outer event."""
    rec = memory_recorder()
    model = JobModel()
    RecordedMachine(model, **JOB, recorder=rec, name="Job", before_state_change="nudge")
    model.nudge = lambda: model.state == "idle" and model.guarded(ok=False)  # type: ignore[attr-defined]
    model.start()  # type: ignore[attr-defined]
    rows = step_rows(only_session(rec))
    assert ("rejected", "guarded", "idle", "conditions") in rows
    assert rows[rows.index(("rejected", "guarded", "idle", "conditions")) + 1 :] == [
        ("transition", "start", "idle>busy", ""),
        ("exit", "start", "idle", ""),
        ("enter", "start", "busy", ""),
    ]
