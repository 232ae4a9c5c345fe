"""Recording hooks on transitions' states, transitions and events, through its `*_cls` seams.

Each hook is a thin override that records and then defers to transitions' own implementation, so
callback order, return values and exceptions stay exactly transitions' (its own test suite runs
against these classes in tests/transitions_suite). `_machines` puts them together into machines;
`_retrofit` moves an existing machine's objects onto them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

from transitions import Event, Machine, State, Transition
from transitions.core import EventData
from transitions.extensions.asyncio import (
    AsyncEvent,
    AsyncState,
    AsyncTransition,
    NestedAsyncState,
    NestedAsyncTransition,
)
from transitions.extensions.nesting import NestedState, NestedTransition

from fsm_recorder.format._wire import Kind, Reason
from fsm_recorder.record._context import CONTEXT, TAP, TapHooks, TriggerContext

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


def tap_of(machine: object) -> TapHooks | None:
    """The tap recording `machine`, if any."""
    tap: TapHooks | None = getattr(machine, TAP, None)
    return tap


# -- the event's outcome: one mechanism for events and hierarchical machines, sync and async ------
class Rejecting(Protocol):
    """Who processed the event, and can tell why it was rejected."""

    def rejection(self, event_data: EventData, name: str) -> Reason:
        """Why event `name` took no transition: failed conditions, or no transition at all."""


def failed(tap: TapHooks, context: TriggerContext, error: BaseException) -> None:
    """The trigger raised out of transitions: record the exception (it propagates unchanged)."""
    tap.outcome(context, False, error, Reason.NO_TRANSITION)


def settle(
    tap: TapHooks,
    context: TriggerContext,
    event_data: EventData,
    result: bool,
    by: Rejecting,
    name: str,
) -> None:
    """The trigger returned: record a rejection or a caught exception; a success in batched
    mode needs no record and no commit."""
    if result and event_data.error is None and not tap.sync:
        return
    reason = Reason.NO_TRANSITION if result else by.rejection(event_data, name)
    tap.outcome(context, result, event_data.error, reason)


# -- states ----------------------------------------------------------------------------------------
class RecordingStateMixin:
    """Records entry and exit of a state (at whatever nesting level it sits)."""

    _next_enter: Callable[[EventData], None]
    _next_exit: Callable[[EventData], None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _bind_next(cls, RecordingStateMixin, "enter", "exit")

    def enter(self, event_data: EventData) -> None:
        try:
            context: TriggerContext = event_data.__dict__[CONTEXT]  # the cheap path
        except KeyError:
            tap = tap_of(event_data.machine)
            if tap is not None:
                tap.step(_ENTER, event_data.event, self, event_data.model)
        else:
            context.step(_ENTER, self, context)
        self._next_enter(event_data)

    def exit(self, event_data: EventData) -> None:
        try:
            context: TriggerContext = event_data.__dict__[CONTEXT]
        except KeyError:
            tap = tap_of(event_data.machine)
            if tap is not None:
                tap.step(_EXIT, event_data.event, self, event_data.model)
        else:
            context.step(_EXIT, self, context)
        self._next_exit(event_data)


class AsyncRecordingStateMixin:
    """`RecordingStateMixin` for asyncio states."""

    async def enter(self, event_data: EventData) -> None:
        tap = tap_of(event_data.machine)
        if tap is not None:
            tap.step(_ENTER, event_data.event, self, event_data.model)
        await super().enter(event_data)  # type: ignore[misc]

    async def exit(self, event_data: EventData) -> None:
        tap = tap_of(event_data.machine)
        if tap is not None:
            tap.step(_EXIT, event_data.event, self, event_data.model)
        await super().exit(event_data)  # type: ignore[misc]


# -- transitions -----------------------------------------------------------------------------------
class RecordingTransitionMixin:
    """Records a transition before its state change, or after an internal one succeeded."""

    source: str
    dest: str | None
    _next_execute: Callable[[EventData], bool]
    _next__change_state: Callable[[EventData], None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _bind_next(cls, RecordingTransitionMixin, "execute", "_change_state")

    def execute(self, event_data: EventData) -> bool:
        result: bool = self._next_execute(event_data)
        if result and not self.dest:
            tap = tap_of(event_data.machine)
            if tap is not None:
                tap.transition(event_data.event.name, event_data.model, None)
        return result

    def _change_state(self, event_data: EventData) -> None:
        try:
            context: TriggerContext = event_data.__dict__[CONTEXT]
        except KeyError:
            tap = tap_of(event_data.machine)
            if tap is not None:
                tap.transition(event_data.event.name, event_data.model, self.dest)
        else:
            context.transition(self.source, self.dest, context)
        self._next__change_state(event_data)


class AsyncRecordingTransitionMixin:
    """`RecordingTransitionMixin` for asyncio transitions."""

    dest: str | None

    async def execute(self, event_data: EventData) -> bool:
        result: bool = await super().execute(event_data)  # type: ignore[misc]
        if result and not self.dest:
            tap = tap_of(event_data.machine)
            if tap is not None:
                tap.transition(event_data.event.name, event_data.model, None)
        return result

    async def _change_state(self, event_data: EventData) -> None:
        tap = tap_of(event_data.machine)
        if tap is not None:
            tap.transition(event_data.event.name, event_data.model, self.dest)
        await super()._change_state(event_data)  # type: ignore[misc]


# -- events ----------------------------------------------------------------------------------------
class _EventRejection:
    """A flat event was rejected: was there a transition from the state (conditions failed)?"""

    name: str
    transitions: defaultdict[str, list[Transition]]

    def rejection(self, event_data: EventData, name: str) -> Reason:
        """`Reason.CONDITIONS` if the event has transitions from the state, else none matched."""
        source = getattr(event_data.state, "name", None)
        return Reason.CONDITIONS if source in self.transitions else Reason.NO_TRANSITION


class RecordingEventMixin(_EventRejection):
    """Records an event when it is processed (not when queued), then its outcome."""

    machine: Machine
    _next__trigger: Callable[[EventData], bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _bind_next(cls, RecordingEventMixin, "_trigger")

    def _trigger(self, event_data: EventData) -> bool:
        tap: TapHooks | None = getattr(self.machine, TAP, None)  # inline: once per trigger
        if tap is None:
            return self._next__trigger(event_data)
        context = tap.event(self.name, event_data.model, event_data.kwargs, event_data.__dict__)
        try:
            result = self._next__trigger(event_data)
        except BaseException as err:
            failed(tap, context, err)
            raise
        settle(tap, context, event_data, result, self, self.name)
        return result


class AsyncRecordingEventMixin(_EventRejection):
    """`RecordingEventMixin` for asyncio events."""

    machine: Machine

    async def _trigger(self, event_data: EventData) -> bool:
        tap = tap_of(self.machine)
        if tap is None:
            return await super()._trigger(event_data)  # type: ignore[misc, no-any-return]
        context = tap.event(self.name, event_data.model, event_data.kwargs, event_data.__dict__)
        try:
            result: bool = await super()._trigger(event_data)  # type: ignore[misc]
        except BaseException as err:
            failed(tap, context, err)
            raise
        settle(tap, context, event_data, result, self, self.name)
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
