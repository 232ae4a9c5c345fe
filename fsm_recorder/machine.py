"""Recorded machines: transitions' classes with recording hooks, through its own `*_cls` seams.

Each hook is a thin override that records and then defers to transitions' own implementation, so
callback order, return values and exceptions stay exactly transitions' (its own test suite runs
against these classes in tests/transitions_suite). `record()` attaches the same hooks to a machine
that was built from the plain classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from transitions import Event, Machine, State, Transition
from transitions.core import listify
from transitions.extensions.asyncio import (
    AsyncEvent,
    AsyncMachine,
    AsyncState,
    AsyncTransition,
    HierarchicalAsyncMachine,
    NestedAsyncEvent,
    NestedAsyncState,
    NestedAsyncTransition,
)
from transitions.extensions.nesting import (
    HierarchicalMachine,
    NestedEvent,
    NestedState,
    NestedTransition,
)

from fsm_recorder.recorder import Recorder, get_default_recorder
from fsm_recorder.tap import Tap
from fsm_recorder.wire import Kind, Reason


def _tap(machine: Any) -> Tap | None:
    return getattr(machine, "_fsmr", None)


def _reason(event: Any, state: Any) -> Reason:
    name = getattr(state, "name", None)
    return Reason.CONDITIONS if name in event.transitions else Reason.NO_TRANSITION


# -- states ----------------------------------------------------------------------------------------
class RecordingStateMixin:
    """Records entry and exit of a state (at whatever nesting level it sits)."""

    def enter(self, event_data: Any) -> None:
        tap = _tap(event_data.machine)
        if tap is not None:
            tap.step(Kind.ENTER, event_data.event, self, event_data.model)
        super().enter(event_data)  # type: ignore[misc]

    def exit(self, event_data: Any) -> None:
        tap = _tap(event_data.machine)
        if tap is not None:
            tap.step(Kind.EXIT, event_data.event, self, event_data.model)
        super().exit(event_data)  # type: ignore[misc]


class AsyncRecordingStateMixin:
    """`RecordingStateMixin` for asyncio states."""

    async def enter(self, event_data: Any) -> None:
        tap = _tap(event_data.machine)
        if tap is not None:
            tap.step(Kind.ENTER, event_data.event, self, event_data.model)
        await super().enter(event_data)  # type: ignore[misc]

    async def exit(self, event_data: Any) -> None:
        tap = _tap(event_data.machine)
        if tap is not None:
            tap.step(Kind.EXIT, event_data.event, self, event_data.model)
        await super().exit(event_data)  # type: ignore[misc]


# -- transitions -----------------------------------------------------------------------------------
class RecordingTransitionMixin:
    """Records a transition before its state change, or after an internal one succeeded."""

    dest: Any

    def execute(self, event_data: Any) -> bool:
        result: bool = super().execute(event_data)  # type: ignore[misc]
        tap = _tap(event_data.machine)
        if result and not self.dest and tap is not None:
            tap.transition(event_data.event.name, event_data.model, None)
        return result

    def _change_state(self, event_data: Any) -> None:
        tap = _tap(event_data.machine)
        if tap is not None:
            tap.transition(event_data.event.name, event_data.model, self.dest)
        super()._change_state(event_data)  # type: ignore[misc]


class AsyncRecordingTransitionMixin:
    """`RecordingTransitionMixin` for asyncio transitions."""

    dest: Any

    async def execute(self, event_data: Any) -> bool:
        result: bool = await super().execute(event_data)  # type: ignore[misc]
        tap = _tap(event_data.machine)
        if result and not self.dest and tap is not None:
            tap.transition(event_data.event.name, event_data.model, None)
        return result

    async def _change_state(self, event_data: Any) -> None:
        tap = _tap(event_data.machine)
        if tap is not None:
            tap.transition(event_data.event.name, event_data.model, self.dest)
        await super()._change_state(event_data)  # type: ignore[misc]


# -- events ----------------------------------------------------------------------------------------
class RecordingEventMixin:
    """Records an event when it is processed (not when queued), then its outcome."""

    name: str
    machine: Any

    def _trigger(self, event_data: Any) -> bool:
        tap = _tap(self.machine)
        if tap is None:
            return super()._trigger(event_data)  # type: ignore[misc, no-any-return]
        code, session = tap.event(self.name, event_data.model, event_data.kwargs)
        try:
            result: bool = super()._trigger(event_data)  # type: ignore[misc]
        except BaseException as err:
            tap.outcome(code, session, event_data.model, False, err, Reason.NO_TRANSITION)
            raise
        reason = Reason.NO_TRANSITION if result else _reason(self, event_data.state)
        tap.outcome(code, session, event_data.model, result, event_data.error, reason)
        return result


class AsyncRecordingEventMixin:
    """`RecordingEventMixin` for asyncio events."""

    name: str
    machine: Any

    async def _trigger(self, event_data: Any) -> bool:
        tap = _tap(self.machine)
        if tap is None:
            return await super()._trigger(event_data)  # type: ignore[misc, no-any-return]
        code, session = tap.event(self.name, event_data.model, event_data.kwargs)
        try:
            result: bool = await super()._trigger(event_data)  # type: ignore[misc]
        except BaseException as err:
            tap.outcome(code, session, event_data.model, False, err, Reason.NO_TRANSITION)
            raise
        reason = Reason.NO_TRANSITION if result else _reason(self, event_data.state)
        tap.outcome(code, session, event_data.model, result, event_data.error, reason)
        return result


# -- machines --------------------------------------------------------------------------------------
class RecordingMachineMixin:
    """Attaches a `Tap` after transitions built the machine, and keeps its sessions per model."""

    _fsmr: Tap | None

    def __init__(
        self,
        *args: Any,
        recorder: Recorder | None = None,
        session_id: object = None,
        record_args: Mapping[str, Sequence[str]] | None = None,
        exceptions: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self._fsmr = None
        super().__init__(*args, **kwargs)
        attach(
            self,  # type: ignore[arg-type]
            recorder,
            name=kwargs.get("name"),
            session_id=session_id,
            record_args=record_args,
            exceptions=exceptions,
        )

    def add_model(self, model: Any, initial: Any = None) -> None:
        super().add_model(model, initial=initial)  # type: ignore[misc]
        tap = self._fsmr
        if tap is not None:
            for mod in self._models_of(model):
                if id(mod) not in tap.sessions:
                    tap.open(mod)

    def remove_model(self, model: Any) -> None:
        tap = self._fsmr
        if tap is not None:
            for mod in self._models_of(model):
                tap.close(mod)
        super().remove_model(model)  # type: ignore[misc]

    def add_states(self, *args: Any, **kwargs: Any) -> None:
        super().add_states(*args, **kwargs)  # type: ignore[misc]
        if self._fsmr is not None:
            self._fsmr.refresh()

    def add_transition(self, *args: Any, **kwargs: Any) -> None:
        super().add_transition(*args, **kwargs)  # type: ignore[misc]
        if self._fsmr is not None:
            self._fsmr.refresh()

    def _models_of(self, model: Any) -> list[Any]:
        literal = Machine.self_literal
        return [self if mod is literal else mod for mod in listify(model)]

    def new_session(self, model: Any = None, session_id: object = None) -> str:
        """End the model's session and start a new one (e.g. the next order on a reused model)."""
        tap = self._require_tap()
        number = tap.open(self if model is None else model, session_id)
        return tap.recorder.session_id(number)

    def end_session(self, model: Any = None) -> None:
        """End the model's session now (also done by `remove_model`)."""
        self._require_tap().close(self if model is None else model)

    def session_id(self, model: Any = None) -> str:
        """The ID of the model's current session (the machine itself when it is the model)."""
        tap = self._require_tap()
        return tap.recorder.session_id(tap.session(self if model is None else model))

    @property
    def codebook(self) -> Any:
        """The codebook the machine's records reference right now."""
        return self._require_tap().codebook

    def _require_tap(self) -> Tap:
        if self._fsmr is None:
            raise RuntimeError("this machine is not recorded yet (still being constructed)")
        return self._fsmr


class NestedRecordingMachineMixin(RecordingMachineMixin):
    """Hierarchical machines process events in the machine, not in the event: record there."""

    def _trigger_event(self, event_data: Any, trigger: str) -> Any:
        tap = self._fsmr
        if tap is None:
            return super()._trigger_event(event_data, trigger)  # type: ignore[misc]
        code, session = tap.event(trigger, event_data.model, event_data.kwargs)
        try:
            result = super()._trigger_event(event_data, trigger)  # type: ignore[misc]
        except BaseException as err:
            tap.outcome(code, session, event_data.model, False, err, Reason.NO_TRANSITION)
            raise
        reason = Reason.NO_TRANSITION if result else self._nested_reason(event_data, trigger)
        tap.outcome(code, session, event_data.model, result, event_data.error, reason)
        return result

    def _nested_reason(self, event_data: Any, trigger: str) -> Reason:
        states = listify(getattr(event_data.model, self.model_attribute))  # type: ignore[attr-defined]
        triggers = self.get_triggers(*states)  # type: ignore[attr-defined]
        return Reason.CONDITIONS if trigger in triggers else Reason.NO_TRANSITION


class AsyncNestedRecordingMachineMixin(RecordingMachineMixin):
    """`NestedRecordingMachineMixin` for asyncio hierarchical machines."""

    async def _trigger_event(self, event_data: Any, trigger: str) -> Any:
        tap = self._fsmr
        if tap is None:
            return await super()._trigger_event(event_data, trigger)  # type: ignore[misc]
        code, session = tap.event(trigger, event_data.model, event_data.kwargs)
        try:
            result = await super()._trigger_event(event_data, trigger)  # type: ignore[misc]
        except BaseException as err:
            tap.outcome(code, session, event_data.model, False, err, Reason.NO_TRANSITION)
            raise
        reason = Reason.NO_TRANSITION if result else Reason.CONDITIONS
        tap.outcome(code, session, event_data.model, result, event_data.error, reason)
        return result


class RecordedState(RecordingStateMixin, State):
    """A transitions `State` that records its entry and exit."""


class RecordedTransition(RecordingTransitionMixin, Transition):
    """A transitions `Transition` that records itself."""


class RecordedEvent(RecordingEventMixin, Event):
    """A transitions `Event` that records reception and outcome."""


class RecordedNestedState(RecordingStateMixin, NestedState):
    """A `NestedState` that records its entry and exit."""


class RecordedNestedTransition(RecordingTransitionMixin, NestedTransition):
    """A `NestedTransition` that records itself."""


class RecordedAsyncState(AsyncRecordingStateMixin, AsyncState):
    """An `AsyncState` that records its entry and exit."""


class RecordedAsyncTransition(AsyncRecordingTransitionMixin, AsyncTransition):
    """An `AsyncTransition` that records itself."""


class RecordedAsyncEvent(AsyncRecordingEventMixin, AsyncEvent):
    """An `AsyncEvent` that records reception and outcome."""


class RecordedNestedAsyncState(AsyncRecordingStateMixin, NestedAsyncState):
    """A `NestedAsyncState` that records its entry and exit."""


class RecordedNestedAsyncTransition(AsyncRecordingTransitionMixin, NestedAsyncTransition):
    """A `NestedAsyncTransition` that records itself."""


class RecordedMachine(RecordingMachineMixin, Machine):  # type: ignore[misc]
    """Drop-in `transitions.Machine` that records every step; extra keyword `recorder=`."""

    state_cls = RecordedState
    transition_cls = RecordedTransition
    event_cls = RecordedEvent


class RecordedHierarchicalMachine(NestedRecordingMachineMixin, HierarchicalMachine):  # type: ignore[misc]
    """Drop-in `HierarchicalMachine` that records every step at every nesting level."""

    state_cls = RecordedNestedState
    transition_cls = RecordedNestedTransition
    event_cls = NestedEvent


class RecordedAsyncMachine(RecordingMachineMixin, AsyncMachine):  # type: ignore[misc]
    """Drop-in `AsyncMachine` that records every step."""

    state_cls = RecordedAsyncState
    transition_cls = RecordedAsyncTransition
    event_cls = RecordedAsyncEvent


class RecordedHierarchicalAsyncMachine(  # type: ignore[misc]
    AsyncNestedRecordingMachineMixin, HierarchicalAsyncMachine
):
    """Drop-in `HierarchicalAsyncMachine` that records every step."""

    state_cls = RecordedNestedAsyncState
    transition_cls = RecordedNestedAsyncTransition
    event_cls = NestedAsyncEvent


def _default_name(machine: Machine, name: str | None) -> str:
    if name:
        return name
    models = [m for m in machine.models if m is not machine]
    return type(models[0]).__qualname__ if len(models) == 1 else type(machine).__qualname__


def attach(
    machine: Machine,
    recorder: Recorder | None = None,
    *,
    name: str | None = None,
    session_id: object = None,
    record_args: Mapping[str, Sequence[str]] | None = None,
    exceptions: Iterable[str] = (),
) -> Tap:
    """Connect a machine (whose classes already record) to a recorder and open model sessions."""
    tap = Tap(
        machine,
        recorder if recorder is not None else get_default_recorder(),
        name=_default_name(machine, name),
        session_id=session_id,
        record_args=record_args,
        exceptions=exceptions,
    )
    machine._fsmr = tap  # type: ignore[attr-defined]  # noqa: SLF001
    for model in machine.models:
        tap.open(model)
    return tap
