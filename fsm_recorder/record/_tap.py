"""The tap: one machine's connection to a recorder (its codebook, code tables and sessions).

Hooks in `_hooks` call the tap; the tap turns names into codes and calls the recorder's hot-path
`emit`. Lookups that miss (a state added at run time, an exception type never seen) take a slow
path that evolves the codebook, so codes of known names never change while a machine runs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from transitions import Machine
from transitions.extensions.nesting import HierarchicalMachine

from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.record._arguments import encode_arguments
from fsm_recorder.record._context import CONTEXT, StepIn, TransitionIn, TriggerContext
from fsm_recorder.record._introspect import describe, exception_name, state_name
from fsm_recorder.record._sessions import ModelSessions
from fsm_recorder.ship._recorder import Recorder

Kind = wire.Kind
_EVENT = int(Kind.EVENT)
_TRANSITION = int(Kind.TRANSITION)


@contextlib.contextmanager
def changing(tap: Tap | None) -> Iterator[None]:
    """The machine's definition changes inside: refresh the tap once, after the outermost change."""
    if tap is None:
        yield
        return
    tap.changes += 1
    try:
        yield
    finally:
        tap.changes -= 1
        if not tap.changes:
            tap.refresh()


class Tap:
    """Per-machine recording state (`_context.TapHooks`). Everything here runs on the caller's
    thread; the hooks call the closures `event`, `transition` and `step`, bound by
    `_bind_hot_path` over the current code tables."""

    event: Callable[[str, object, Mapping[str, object], dict[str, object]], TriggerContext]
    transition: Callable[[str, object, object], None]
    step: Callable[[int, object, object, object], None]

    def __init__(
        self,
        machine: Machine,
        recorder: Recorder,
        *,
        name: str,
        session_id: object = None,
        record_args: Mapping[str, Sequence[str]] | None = None,
        exceptions: Iterable[str] = (),
    ) -> None:
        self.machine = machine
        self.recorder = recorder
        self.emit = recorder.emit
        self.sync = recorder.sync
        self.name = name
        self.nested = isinstance(machine, HierarchicalMachine)
        self.record_args = {event: list(names) for event, names in (record_args or {}).items()}
        self._session_id = session_id
        self._lock = threading.Lock()
        self.sessions = ModelSessions(recorder)
        self.changes = 0  # depth of nested definition changes (`changing`)
        self.codebook = self._derive(exceptions)
        self._tables(self.codebook)

    # -- codebook -------------------------------------------------------------------------------
    def _derive(self, exceptions: Iterable[str] = ()) -> Codebook:
        return self.recorder.codebooks.codebook_for(
            self.name,
            exceptions=list(exceptions),
            event_args=self.record_args,
            **describe(self.machine),
        )

    def _tables(self, codebook: Codebook) -> None:
        self.state_codes: dict[object, int] = {}
        self.state_codes.update(codebook.states)
        self.event_codes: dict[str, int] = dict(codebook.events)
        self.exception_codes: dict[str, int] = dict(codebook.exceptions)
        self._bind_hot_path()

    def refresh(self, extra_exceptions: Iterable[str] = ()) -> None:
        """The definition changed or a new name turned up: evolve the codebook (slow path)."""
        with self._lock:
            evolved = self._derive(extra_exceptions)
            if evolved.fingerprint == self.codebook.fingerprint:
                return
            self.codebook = evolved
            self._tables(evolved)
            for number in self.sessions.values():
                self.recorder.switch_codebook(number, evolved)

    def state_code(self, value: object) -> int:
        """Code of a state value (name, Enum or State); unknown ones trigger a refresh once."""
        code = self.state_codes.get(value)
        if code is not None:
            return code
        name = value if isinstance(value, str) else state_name(getattr(value, "name", value))
        if name not in self.state_codes:
            self.refresh()
        code = self.state_codes.get(name, 0)
        self.state_codes[value] = code
        return code

    def model_state_code(self, model: object) -> int:
        """Code of the model's current state; parallel states (a list) have none."""
        value = getattr(model, self.machine.model_attribute, None)
        try:
            return self.state_codes.get(value) or self.state_code(value)
        except TypeError:
            return 0

    def event_code(self, name: str) -> int:
        """Code of an event by name (refreshing once for events added at run time)."""
        code = self.event_codes.get(name)
        if code is None:
            self.refresh()
            code = self.event_codes.setdefault(name, self.event_codes.get(name, 0))
        return code

    def full_name(self, name: object) -> str:
        """A transition's source/dest as a full path (nested scopes are relative)."""
        local = state_name(name)
        if not self.nested:
            return local
        scope = self.machine.get_global_name(join=False)
        separator: str = getattr(self.machine.state_cls, "separator", "_")
        return separator.join([*scope, local])

    def settings(self) -> dict[str, Any]:
        """The `attach` keywords that connect a copy of the machine (unpickled) the same way."""
        return {
            "name": self.name,
            "session_id": self._session_id,
            "record_args": self.record_args,
            "exceptions": list(self.exception_codes),
        }

    # -- sessions ---------------------------------------------------------------------------------
    def open(self, model: object, session_id: object = None) -> int:
        """Start the model's session (ending a previous one of the same model)."""
        self.close(model)
        sid = session_id if session_id is not None else self._session_id
        if callable(sid):
            sid = sid(model)
        return self.sessions.start(model, self.codebook, None if sid is None else str(sid))

    def close(self, model: object) -> None:
        """End the model's session, if it has one."""
        number = self.sessions.end(model)
        if number is not None:
            self.recorder.close_session(number, self.model_state_code(model))

    def session(self, model: object) -> int:
        """The model's session number, opening one for a model recorded for the first time."""
        number = self.sessions.get(id(model))
        return number if number is not None else self.open(model)

    # -- records ----------------------------------------------------------------------------------
    def _args(self, name: str, code: int, session: int, kwargs: Mapping[str, object]) -> None:
        payload = encode_arguments(self.record_args[name], kwargs, self._unencodable)
        self.recorder.emit_args(code, session, payload)

    def _unencodable(self) -> None:
        self.recorder.note("unencodable_arg")

    def outcome(
        self,
        context: TriggerContext,
        result: object,
        error: BaseException | None,
        reason: wire.Reason,
    ) -> None:
        """Record what became of an event: an exception, a rejection, or nothing (it ran)."""
        code, session = context.event, context.session
        if error is not None:
            state = self.model_state_code(context.model)
            if exception_name(error) == "MachineError":
                self.emit(Kind.REJECTED, code, state, wire.Reason.MACHINE_ERROR, session)
            else:
                self.emit(Kind.EXCEPTION, code, state, self.exception_code(error), session)
        elif not result:
            self.emit(Kind.REJECTED, code, self.model_state_code(context.model), reason, session)
        if self.sync:
            self.recorder.commit()

    def exception_code(self, error: BaseException) -> int:
        """Code of an exception type; a type never seen evolves the codebook."""
        name = exception_name(error)
        code = self.exception_codes.get(name)
        if code is None:
            self.refresh([name])
            code = self.exception_codes.get(name, 0)
        return code

    # -- hot path ---------------------------------------------------------------------------------
    def _bind_hot_path(self) -> None:
        """(Re)build the per-record closures over the current code tables.

        Every record of a trigger goes through one of these, so they read everything from
        closure cells, take the known-name path with one dict lookup per code and append the
        slot inline (`Recorder.hot_path`) instead of calling `emit`: docs/benchmarks.md has the
        profile. Misses fall back to the methods above, which evolve the codebook.
        """
        states, attribute = self.state_codes, self.machine.model_attribute
        model_state_code = self.model_state_code

        def model_state(model: object) -> int:
            try:
                code = states.get(getattr(model, attribute, None))
            except TypeError:  # parallel states: a list has no code
                return 0
            return model_state_code(model) if code is None else code

        step_in, transition_in, dropped = self._in_trigger_hooks(model_state)
        self.event = self._event_hook(model_state, step_in, transition_in, dropped)
        self.transition = self._transition_hook(model_state)
        self.step = self._step_hook()

    def _event_hook(
        self,
        model_state: Callable[[object], int],
        step_in: StepIn,
        transition_in: TransitionIn,
        dropped: tuple[StepIn, TransitionIn],
    ) -> Callable[[str, object, Mapping[str, object], dict[str, object]], TriggerContext]:
        buf, append, cap, pack, drop = self.recorder.hot_path
        now, sessions, events, record_args = (
            time.time_ns,
            self.sessions,
            self.event_codes,
            self.record_args,
        )
        session_of, event_code, args = self.session, self.event_code, self._args

        def event(
            name: str, model: object, kwargs: Mapping[str, object], carrier: dict[str, object]
        ) -> TriggerContext:
            session = sessions.get(id(model))
            if session is None:
                session = session_of(model)
            code = events.get(name)
            if code is None:
                code = event_code(name)
            state = model_state(model)
            # The buffer is checked once per trigger: the context hands the trigger's other
            # records either the appending or the counting-as-dropped hooks.
            room = len(buf) < cap
            if room:
                append(pack(_EVENT, 0, code, state, 0, session, now()))
            else:
                drop(1)
            if name in record_args:  # after the event: readers attach them to the event before
                args(name, code, session, kwargs)
            if room:
                context = TriggerContext(code, session, step_in, transition_in, model)
            else:
                context = TriggerContext(code, session, *dropped, model)
            carrier[CONTEXT] = context
            return context

        return event

    def _transition_hook(
        self, model_state: Callable[[object], int]
    ) -> Callable[[str, object, object], None]:
        buf, append, cap, pack, drop = self.recorder.hot_path
        now, sessions, events, states = (
            time.time_ns,
            self.sessions,
            self.event_codes,
            self.state_codes,
        )
        session_of, event_code, state_code, full_name = (
            self.session,
            self.event_code,
            self.state_code,
            self.full_name,
        )
        nested = self.nested

        def transition(name: str, model: object, dest: object) -> None:
            code = events.get(name)
            if code is None:
                code = event_code(name)
            state = model_state(model)
            if not dest:
                target = 0
            elif nested:  # a nested destination is relative to the scope being processed
                target = state_code(full_name(dest))
            else:
                found = states.get(dest)
                target = state_code(dest) if found is None else found
            session = sessions.get(id(model))
            if session is None:
                session = session_of(model)
            if len(buf) < cap:
                append(pack(_TRANSITION, 0, code, state, target, session, now()))
            else:
                drop(1)

        return transition

    def _in_trigger_hooks(
        self, model_state: Callable[[object], int]
    ) -> tuple[StepIn, TransitionIn, tuple[StepIn, TransitionIn]]:
        """Hooks for records inside a trigger: its event code, session and state known.

        The event hook hands them a `TriggerContext` (`_context`). A nested transition names
        its states relative to the scope being processed: its source
        is the model's state and its destination is resolved to a full path.
        """
        _, append, _, pack, drop = self.recorder.hot_path
        now, states, state_code, full_name = (
            time.time_ns,
            self.state_codes,
            self.state_code,
            self.full_name,
        )

        def step_in(kind: int, state: object, context: TriggerContext) -> None:
            where = states.get(state)
            if where is None:
                where = state_code(state)
            append(pack(kind, 0, context.event, where, 0, context.session, now()))

        def transition_in(source: object, dest: object, context: TriggerContext) -> None:
            origin = states.get(source)
            if origin is None:
                origin = state_code(source)
            target = states.get(dest) if dest else 0
            if target is None:
                target = state_code(dest)
            append(pack(_TRANSITION, 0, context.event, origin, target, context.session, now()))

        def nested_transition_in(source: object, dest: object, context: TriggerContext) -> None:
            target = state_code(full_name(dest)) if dest else 0
            origin = model_state(context.model)
            append(pack(_TRANSITION, 0, context.event, origin, target, context.session, now()))

        if self.nested:
            transition_in = nested_transition_in

        def step_dropped(kind: int, state: object, context: TriggerContext) -> None:
            drop(1)

        def transition_dropped(source: object, dest: object, context: TriggerContext) -> None:
            drop(1)

        return step_in, transition_in, (step_dropped, transition_dropped)

    def _step_hook(self) -> Callable[[int, object, object, object], None]:
        buf, append, cap, pack, drop = self.recorder.hot_path
        now, sessions, events, states = (
            time.time_ns,
            self.sessions,
            self.event_codes,
            self.state_codes,
        )
        session_of, event_code, state_code = self.session, self.event_code, self.state_code

        def step(kind: int, event: object, state: object, model: object) -> None:
            name = getattr(event, "name", "")
            code = (events.get(name) or event_code(name)) if name else 0
            found = states.get(state)
            where = state_code(state) if found is None else found
            session = sessions.get(id(model))
            if session is None:
                session = session_of(model)
            if len(buf) < cap:
                append(pack(kind, 0, code, where, 0, session, now()))
            else:
                drop(1)

        return step
