"""`record()`: recording for a machine built from transitions' plain classes.

Code bases that cannot change their base classes keep constructing `transitions.Machine`; `record`
then moves the machine, its states, events and transitions onto recording subclasses of their own
classes (the same mixins the `Recorded*` classes use), so behaviour stays transitions' own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from transitions import Event, Machine, State, Transition
from transitions.extensions.asyncio import (
    AsyncEvent,
    AsyncState,
    AsyncTransition,
    HierarchicalAsyncMachine,
)
from transitions.extensions.nesting import HierarchicalMachine, NestedEvent

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.record._context import TAP
from fsm_recorder.record._hooks import (
    AsyncRecordingEventMixin,
    AsyncRecordingStateMixin,
    AsyncRecordingTransitionMixin,
    RecordingEventMixin,
    RecordingStateMixin,
    RecordingTransitionMixin,
)
from fsm_recorder.record._machines import (
    AsyncNestedRecordingMachineMixin,
    NestedRecordingMachineMixin,
    RecordingMachineMixin,
    attach,
    default_name,
)
from fsm_recorder.record._specs import all_states
from fsm_recorder.ship._recorder import Recorder


def _mixin_for(cls: type) -> type | None:
    pairs: list[tuple[type, type | None]] = [
        (RecordingMachineMixin, None),
        (RecordingStateMixin, None),
        (AsyncRecordingStateMixin, None),
        (RecordingTransitionMixin, None),
        (AsyncRecordingTransitionMixin, None),
        (RecordingEventMixin, None),
        (AsyncRecordingEventMixin, None),
        (NestedEvent, None),  # hierarchical machines record events in the machine itself
        (HierarchicalAsyncMachine, AsyncNestedRecordingMachineMixin),
        (HierarchicalMachine, NestedRecordingMachineMixin),
        (Machine, RecordingMachineMixin),
        (AsyncState, AsyncRecordingStateMixin),
        (State, RecordingStateMixin),
        (AsyncTransition, AsyncRecordingTransitionMixin),
        (Transition, RecordingTransitionMixin),
        (AsyncEvent, AsyncRecordingEventMixin),
        (Event, RecordingEventMixin),
    ]
    return next((mixin for base, mixin in pairs if issubclass(cls, base)), None)


_RECORDING_CLASSES: dict[type, type] = {}
# The class attributes through which a machine builds its states, transitions and events.
_PART_CLASSES = ("state_cls", "transition_cls", "event_cls")


def recording_class(cls: type) -> type:
    """The recording subclass of a transitions class (`cls` itself when it already records)."""
    if cls not in _RECORDING_CLASSES:
        mixin = _mixin_for(cls)
        namespace: dict[str, object] = {"__module__": __name__}
        if issubclass(cls, Machine):
            # transitions creates states, transitions and events through these class attributes
            # (`_create_state` & co. are classmethods): what is added later must record too.
            namespace.update({attr: recording_class(getattr(cls, attr)) for attr in _PART_CLASSES})
        _RECORDING_CLASSES[cls] = (
            cls if mixin is None else type(f"Recorded{cls.__name__}", (mixin, cls), namespace)
        )
    return _RECORDING_CLASSES[cls]


def _swap(obj: Any) -> None:
    obj.__class__ = recording_class(type(obj))


def _events(machine: Machine) -> Iterator[Any]:
    yield from machine.events.values()
    if isinstance(machine, HierarchicalMachine):
        for name in list(machine.states):
            with machine(name):
                yield from _events(machine)


def record(
    machine: Machine,
    recorder: Recorder | None = None,
    *,
    name: str | None = None,
    session_id: object = None,
    record_args: Mapping[str, Sequence[str]] | None = None,
) -> Machine:
    """Start recording an existing plain transitions machine; returns the same object.

    Raises:
        ConfigError: the machine records already.
    """
    if getattr(machine, TAP, None) is not None:
        raise ConfigError("this machine records already: record() attaches recording only once")
    name = default_name(machine, name)
    for state in all_states(machine):
        _swap(state)
    for event in _events(machine):
        _swap(event)
        for transitions in event.transitions.values():
            for transition in transitions:
                _swap(transition)
    _swap(machine)
    for attr in _PART_CLASSES:
        if attr in vars(machine):  # set on the instance: overrides the class attribute
            setattr(machine, attr, recording_class(getattr(machine, attr)))
    attach(machine, recorder, name=name, session_id=session_id, record_args=record_args)
    return machine
