"""Recording hooks on transitions' states, transitions and events, through its `*_cls` seams.

Each hook is a thin override that records and then defers to transitions' own implementation, so
callback order, return values and exceptions stay exactly transitions' (its own test suite runs
against these classes in tests/transitions_suite). `_machines` puts them together into machines;
`_retrofit` moves an existing machine's objects onto them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transitions import Event, State, Transition
from transitions.extensions.asyncio import (
    AsyncEvent,
    AsyncState,
    AsyncTransition,
    NestedAsyncState,
    NestedAsyncTransition,
)
from transitions.extensions.nesting import NestedState, NestedTransition

from fsm_recorder.format._wire import Kind, Reason

# Hooks run for every record: they look the tap up inline and pass plain ints (docs/benchmarks.md).
_ENTER = int(Kind.ENTER)
_EXIT = int(Kind.EXIT)


def _bind_next(cls: type, mixin: type, *names: str) -> None:
    """Store on `cls` what `super().<name>` finds after `mixin` in its MRO, as `_next_<name>`.

    The sync hooks run about five times per trigger, and a zero-argument `super()` call costs
    ~50 ns in CPython 3.11, a fifth of what a hook adds (docs/benchmarks.md). Resolved once per
    class (`__init_subclass__` runs for every subclass, user-made and `retrofit` ones too), the
    call stays cooperative: each class gets the method that follows the mixin in its own MRO.
    """
    for name in names:
        setattr(cls, f"_next_{name}", getattr(super(mixin, cls), name))


def _reason(event: Any, state: Any) -> Reason:
    name = getattr(state, "name", None)
    return Reason.CONDITIONS if name in event.transitions else Reason.NO_TRANSITION


# -- states ----------------------------------------------------------------------------------------
class RecordingStateMixin:
    """Records entry and exit of a state (at whatever nesting level it sits)."""

    _next_enter: Callable[[Any], None]
    _next_exit: Callable[[Any], None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _bind_next(cls, RecordingStateMixin, "enter", "exit")

    def enter(self, event_data: Any) -> None:
        try:
            context = event_data._fsmr  # set by the flat event hook: the cheap path
        except AttributeError:
            tap = getattr(event_data.machine, "_fsmr", None)
            if tap is not None:
                tap.step(_ENTER, event_data.event, self, event_data.model)
        else:
            context[3](_ENTER, self, context)
        self._next_enter(event_data)

    def exit(self, event_data: Any) -> None:
        try:
            context = event_data._fsmr
        except AttributeError:
            tap = getattr(event_data.machine, "_fsmr", None)
            if tap is not None:
                tap.step(_EXIT, event_data.event, self, event_data.model)
        else:
            context[3](_EXIT, self, context)
        self._next_exit(event_data)


class AsyncRecordingStateMixin:
    """`RecordingStateMixin` for asyncio states."""

    async def enter(self, event_data: Any) -> None:
        tap = getattr(event_data.machine, "_fsmr", None)
        if tap is not None:
            tap.step(_ENTER, event_data.event, self, event_data.model)
        await super().enter(event_data)  # type: ignore[misc]

    async def exit(self, event_data: Any) -> None:
        tap = getattr(event_data.machine, "_fsmr", None)
        if tap is not None:
            tap.step(_EXIT, event_data.event, self, event_data.model)
        await super().exit(event_data)  # type: ignore[misc]


# -- transitions -----------------------------------------------------------------------------------
class RecordingTransitionMixin:
    """Records a transition before its state change, or after an internal one succeeded."""

    source: Any
    dest: Any
    _next_execute: Callable[[Any], bool]
    _next__change_state: Callable[[Any], None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _bind_next(cls, RecordingTransitionMixin, "execute", "_change_state")

    def execute(self, event_data: Any) -> bool:
        result: bool = self._next_execute(event_data)
        if result and not self.dest:
            tap = getattr(event_data.machine, "_fsmr", None)
            if tap is not None:
                tap.transition(event_data.event.name, event_data.model, None)
        return result

    def _change_state(self, event_data: Any) -> None:
        try:
            context = event_data._fsmr
        except AttributeError:
            tap = getattr(event_data.machine, "_fsmr", None)
            if tap is not None:
                tap.transition(event_data.event.name, event_data.model, self.dest)
        else:
            context[4](self.source, self.dest, context)
        self._next__change_state(event_data)


class AsyncRecordingTransitionMixin:
    """`RecordingTransitionMixin` for asyncio transitions."""

    dest: Any

    async def execute(self, event_data: Any) -> bool:
        result: bool = await super().execute(event_data)  # type: ignore[misc]
        if result and not self.dest:
            tap = getattr(event_data.machine, "_fsmr", None)
            if tap is not None:
                tap.transition(event_data.event.name, event_data.model, None)
        return result

    async def _change_state(self, event_data: Any) -> None:
        tap = getattr(event_data.machine, "_fsmr", None)
        if tap is not None:
            tap.transition(event_data.event.name, event_data.model, self.dest)
        await super()._change_state(event_data)  # type: ignore[misc]


# -- events ----------------------------------------------------------------------------------------
class RecordingEventMixin:
    """Records an event when it is processed (not when queued), then its outcome."""

    name: str
    machine: Any
    _next__trigger: Callable[[Any], bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _bind_next(cls, RecordingEventMixin, "_trigger")

    def _trigger(self, event_data: Any) -> bool:
        tap = getattr(self.machine, "_fsmr", None)
        if tap is None:
            return self._next__trigger(event_data)
        context = tap.event(self.name, event_data.model, event_data.kwargs)
        code, session = context[0], context[1]
        event_data._fsmr = context
        try:
            result: bool = self._next__trigger(event_data)
        except BaseException as err:
            tap.outcome(code, session, event_data.model, False, err, Reason.NO_TRANSITION)
            raise
        if result and event_data.error is None and not tap.sync:
            return result  # success in batched mode: no outcome record, nothing to commit
        reason = Reason.NO_TRANSITION if result else _reason(self, event_data.state)
        tap.outcome(code, session, event_data.model, result, event_data.error, reason)
        return result


class AsyncRecordingEventMixin:
    """`RecordingEventMixin` for asyncio events."""

    name: str
    machine: Any

    async def _trigger(self, event_data: Any) -> bool:
        tap = getattr(self.machine, "_fsmr", None)
        if tap is None:
            return await super()._trigger(event_data)  # type: ignore[misc, no-any-return]
        code, session, *_ = tap.event(self.name, event_data.model, event_data.kwargs)
        try:
            result: bool = await super()._trigger(event_data)  # type: ignore[misc]
        except BaseException as err:
            tap.outcome(code, session, event_data.model, False, err, Reason.NO_TRANSITION)
            raise
        if result and event_data.error is None and not tap.sync:
            return result  # success in batched mode: no outcome record, nothing to commit
        reason = Reason.NO_TRANSITION if result else _reason(self, event_data.state)
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


class RecordedAsyncState(AsyncRecordingStateMixin, AsyncState):  # type: ignore[misc]
    """An `AsyncState` that records its entry and exit."""


class RecordedAsyncTransition(AsyncRecordingTransitionMixin, AsyncTransition):  # type: ignore[misc]
    """An `AsyncTransition` that records itself."""


class RecordedAsyncEvent(AsyncRecordingEventMixin, AsyncEvent):  # type: ignore[misc]
    """An `AsyncEvent` that records reception and outcome."""


class RecordedNestedAsyncState(AsyncRecordingStateMixin, NestedAsyncState):  # type: ignore[misc]
    """A `NestedAsyncState` that records its entry and exit."""


class RecordedNestedAsyncTransition(AsyncRecordingTransitionMixin, NestedAsyncTransition):  # type: ignore[misc]
    """A `NestedAsyncTransition` that records itself."""
