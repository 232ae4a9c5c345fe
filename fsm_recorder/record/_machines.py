"""Recorded machines: transitions' machines whose states, transitions and events record.

The per-step hooks live in `_hooks`; here they are put together into drop-in subclasses of
transitions' four machines, and the machine side is added: a `Tap` per machine, one session per
model, session control (`new_session`, `end_session`), pickling. `attach` connects a machine to a
recorder; `record()` (`_retrofit`) does it for machines built from the plain classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from transitions import Machine
from transitions.core import EventData, listify
from transitions.extensions.asyncio import (
    AsyncMachine,
    HierarchicalAsyncMachine,
    NestedAsyncEvent,
)
from transitions.extensions.nesting import (
    HierarchicalMachine,
    NestedEvent,
)

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.format._wire import Reason
from fsm_recorder.record._context import TAP, TapHooks
from fsm_recorder.record._hooks import (
    RecordedAsyncEvent,
    RecordedAsyncState,
    RecordedAsyncTransition,
    RecordedEvent,
    RecordedNestedAsyncState,
    RecordedNestedAsyncTransition,
    RecordedNestedState,
    RecordedNestedTransition,
    RecordedState,
    RecordedTransition,
    failed,
    settle,
)
from fsm_recorder.record._tap import Tap, changing
from fsm_recorder.ship._default import get_default_recorder
from fsm_recorder.ship._recorder import Recorder


# -- machines --------------------------------------------------------------------------------------
class RecordingMachineMixin:
    """Attaches a `Tap` after transitions built the machine, and keeps its sessions per model."""

    _fsmr_tap: Tap | None

    def __init__(
        self,
        *args: Any,
        recorder: Recorder | None = None,
        session_id: object = None,
        record_args: Mapping[str, Sequence[str]] | None = None,
        exceptions: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self._fsmr_tap = None
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
        tap = self._fsmr_tap
        if tap is not None:
            for mod in self._models_of(model):
                if id(mod) not in tap.sessions:
                    tap.open(mod)

    def remove_model(self, model: Any) -> None:
        tap = self._fsmr_tap
        if tap is not None:
            for mod in self._models_of(model):
                tap.close(mod)
        super().remove_model(model)  # type: ignore[misc]

    # transitions' add_states calls add_transition once per existing state (auto transitions):
    # the codebook evolves once, after the outermost call, not N times per added state.
    def add_states(self, *args: Any, **kwargs: Any) -> None:
        with changing(self._fsmr_tap):
            super().add_states(*args, **kwargs)  # type: ignore[misc]

    def add_transition(self, *args: Any, **kwargs: Any) -> None:
        with changing(self._fsmr_tap):
            super().add_transition(*args, **kwargs)  # type: ignore[misc]

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
        number = tap.sessions.get(id(self if model is None else model))
        if number is None:
            raise ConfigError("that model is not recorded by this machine (add_model it first)")
        return tap.recorder.session_id(number)

    def detach(self) -> None:
        """Stop recording this machine (replay drives machines without recording them)."""
        self._fsmr_tap = None

    @property
    def codebook(self) -> Any:
        """The codebook the machine's records reference right now."""
        return self._require_tap().codebook

    def __getstate__(self) -> dict[str, Any]:
        # A tap holds a recorder (locks, a writer thread, a sink) and does not travel; transitions'
        # machines pickle, so ours drop the tap and keep what `attach` needs to record again.
        parent = getattr(super(), "__getstate__", None)
        state = dict(parent() if parent is not None else self.__dict__)
        tap = state.pop(TAP, None)
        state[TAP] = None
        state["_fsmr_settings"] = tap.settings() if tap is not None else None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """An unpickled machine records into the default recorder of its process, same settings."""
        state = dict(state)
        settings = state.pop("_fsmr_settings", None)
        parent = getattr(super(), "__setstate__", None)
        if parent is not None:
            parent(state)
        else:
            self.__dict__.update(state)
        if settings is not None:
            attach(self, **settings)  # type: ignore[arg-type]

    def _require_tap(self) -> Tap:
        if self._fsmr_tap is None:
            raise RuntimeError("this machine is not recorded yet (still being constructed)")
        return self._fsmr_tap


class NestedRecordingMachineMixin(RecordingMachineMixin):
    """Hierarchical machines process events in the machine, not in the event: record there."""

    def _trigger_event(self, event_data: EventData, trigger: str) -> bool:
        tap = self._fsmr_tap
        if tap is None:
            return super()._trigger_event(event_data, trigger)  # type: ignore[misc, no-any-return]
        context = tap.event(trigger, event_data.model, event_data.kwargs, event_data.__dict__)
        try:
            result: bool = super()._trigger_event(event_data, trigger)  # type: ignore[misc]
        except BaseException as err:
            failed(tap, context, err)
            raise
        settle(tap, context, event_data, result, self, trigger)
        return result

    def rejection(self, event_data: EventData, name: str) -> Reason:
        """A failed nested event: was there a transition whose conditions failed, or none?"""
        return _nested_rejection(self, event_data, name)

    def to_state(self, model: Any, state_name: str, *args: Any, **kwargs: Any) -> None:
        """`model.to(state)` runs a transition without an event: record it as the event "to"."""
        tap = self._fsmr_tap
        if tap is None:
            return super().to_state(model, state_name, *args, **kwargs)  # type: ignore[misc, no-any-return]
        context = tap.event("to", model, kwargs, {})  # no EventData: its steps find the tap
        try:
            super().to_state(model, state_name, *args, **kwargs)  # type: ignore[misc]
        except BaseException as err:
            failed(tap, context, err)
            raise
        tap.outcome(context, True, None, Reason.NO_TRANSITION)
        return None


def _nested_rejection(machine: Any, event_data: EventData, trigger: str) -> Reason:
    """A failed nested event: was there a transition whose conditions failed, or none at all?"""
    states = listify(getattr(event_data.model, machine.model_attribute))
    return Reason.CONDITIONS if trigger in machine.get_triggers(*states) else Reason.NO_TRANSITION


class AsyncNestedRecordingMachineMixin(RecordingMachineMixin):
    """`NestedRecordingMachineMixin` for asyncio hierarchical machines."""

    async def _trigger_event(self, event_data: EventData, trigger: str) -> bool:
        tap = self._fsmr_tap
        if tap is None:
            return await super()._trigger_event(event_data, trigger)  # type: ignore[misc, no-any-return]
        context = tap.event(trigger, event_data.model, event_data.kwargs, event_data.__dict__)
        try:
            result: bool = await super()._trigger_event(event_data, trigger)  # type: ignore[misc]
        except BaseException as err:
            failed(tap, context, err)
            raise
        settle(tap, context, event_data, result, self, trigger)
        return result

    def rejection(self, event_data: EventData, name: str) -> Reason:
        """A failed nested event: was there a transition whose conditions failed, or none?"""
        return _nested_rejection(self, event_data, name)


class RecordedMachine(RecordingMachineMixin, Machine):
    """Drop-in `transitions.Machine` that records every step; extra keyword `recorder=`."""

    state_cls = RecordedState
    transition_cls = RecordedTransition
    event_cls = RecordedEvent


class RecordedHierarchicalMachine(NestedRecordingMachineMixin, HierarchicalMachine):
    """Drop-in `HierarchicalMachine` that records every step at every nesting level."""

    state_cls = RecordedNestedState
    transition_cls = RecordedNestedTransition
    event_cls = NestedEvent


class RecordedAsyncMachine(RecordingMachineMixin, AsyncMachine):
    """Drop-in `AsyncMachine` that records every step."""

    state_cls = RecordedAsyncState  # type: ignore[assignment]  # transitions' stub is too narrow
    transition_cls = RecordedAsyncTransition
    event_cls = RecordedAsyncEvent


class RecordedHierarchicalAsyncMachine(  # type: ignore[misc]
    AsyncNestedRecordingMachineMixin, HierarchicalAsyncMachine
):
    """Drop-in `HierarchicalAsyncMachine` that records every step."""

    state_cls = RecordedNestedAsyncState
    transition_cls = RecordedNestedAsyncTransition
    event_cls = NestedAsyncEvent


def default_name(machine: Machine, name: str | None) -> str:
    """`name`, else the class of the machine's only model, else the machine's class."""
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
        name=default_name(machine, name),
        session_id=session_id,
        record_args=record_args,
        exceptions=exceptions,
    )
    hooks: TapHooks = tap  # what the hooks find under TAP: mypy checks that a Tap is one
    setattr(machine, TAP, hooks)
    for model in machine.models:
        tap.open(model)
    return tap
