"""The tap: one machine's connection to a recorder (its codebook, code tables and sessions).

Hooks in `_hooks` call the tap; the tap turns names into codes and calls the recorder's hot-path
`emit`. Lookups that miss (a state added at run time, an exception type never seen) take a slow
path that evolves the codebook, so codes of known names never change while a machine runs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from typing import Any

from transitions import Machine
from transitions.extensions.nesting import HierarchicalMachine

from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.ship._recorder import Recorder

Kind = wire.Kind
_EVENT = int(Kind.EVENT)
_TRANSITION = int(Kind.TRANSITION)
# What a trigger's event record hands the trigger's other records (via EventData._fsmr): event
# code, session, model's state code, the hooks that record inside the trigger, and the model.
StepIn = Callable[[int, object, "Context"], None]
TransitionIn = Callable[[object, object, "Context"], None]
Context = tuple[int, int, int, StepIn, TransitionIn, object]
_ARG_TYPES = (str, int, float, bool, type(None))
_DEST = operator.attrgetter("dest")


def _state_name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def exception_name(error: BaseException) -> str:
    """Built-ins by bare name, everything else qualified by its module."""
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    if cls.__name__ == "MachineError" and cls.__module__.startswith("transitions"):
        return "MachineError"
    return f"{cls.__module__}.{cls.__qualname__}"


def describe(machine: Machine) -> dict[str, Any]:
    """States, events, static transitions, initial state and separator of a machine definition."""
    auto = bool(getattr(machine, "auto_transitions", False))
    if isinstance(machine, HierarchicalMachine):
        separator = machine.state_cls.separator
        states = list(machine.get_nested_state_names())
        events = [*machine.get_nested_triggers(), "to"]
        transitions = _nested_transitions(machine, [], separator, auto)
    else:
        separator = ""
        states = [_state_name(s) for s in machine.states]
        events = list(machine.events)
        transitions = _scope_transitions(machine, [], "", auto)
    initial = machine.initial if isinstance(machine.initial, str) else ""
    return {
        "states": states,
        "events": events,
        "transitions": transitions,
        "initial": initial or "",
        "separator": separator,
    }


def _scope_transitions(
    machine: Machine, scope: list[str], separator: str, auto: bool
) -> list[tuple[str, str, str]]:
    """The scope's transitions but the auto ones (`to_<dest>`, one per state and source)."""
    found = []
    for event in machine.events.values():
        auto_dest = event.name[3:] if auto and event.name.startswith("to_") else None
        # N auto events of N sources each: check the common all-auto case at C speed, so that
        # adding a state costs what it costs transitions, not N^2 Python steps.
        if auto_dest is not None and not scope and _dests(event) == {auto_dest}:
            continue
        for source, transitions in event.transitions.items():
            for transition in transitions:
                dest = transition.dest
                full_dest = separator.join([*scope, _state_name(dest)]) if dest else ""
                if full_dest != auto_dest:
                    found.append((separator.join([*scope, source]), event.name, full_dest))
    return found


def _dests(event: Any) -> set[object]:
    return set(map(_DEST, itertools.chain.from_iterable(event.transitions.values())))


def _nested_transitions(
    machine: HierarchicalMachine, scope: list[str], separator: str, auto: bool
) -> list[tuple[str, str, str]]:
    found = _scope_transitions(machine, scope, separator, auto)
    for name in list(machine.states):
        with machine(name):
            found.extend(_nested_transitions(machine, [*scope, name], separator, auto))
    return found


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
    """Per-machine recording state. Everything here runs on the caller's thread.

    The hooks call three closures bound by `_bind_hot_path`:

    - ``event(name, model, kwargs) -> (event code, session)``: an event is being processed.
    - ``transition(event name, model, dest)``: a transition to `dest` (falsy: internal) is taken.
    - ``step(kind, event, state, model)``: a state is exited or entered (`Kind.EXIT`/`ENTER`).
    """

    event: Callable[[str, object, Mapping[str, object]], Context]
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
        self.sessions: dict[int, int] = {}
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
        name = value if isinstance(value, str) else _state_name(getattr(value, "name", value))
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
        local = _state_name(name)
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
        number, _ = self.recorder.open_session(self.codebook, None if sid is None else str(sid))
        self.sessions[id(model)] = number
        return number

    def close(self, model: object) -> None:
        """End the model's session, if it has one."""
        number = self.sessions.pop(id(model), None)
        if number is not None:
            self.recorder.close_session(number, self.model_state_code(model))

    def session(self, model: object) -> int:
        """The model's session number, opening one for a model recorded for the first time."""
        number = self.sessions.get(id(model))
        return number if number is not None else self.open(model)

    # -- records ----------------------------------------------------------------------------------
    def _args(self, name: str, code: int, session: int, kwargs: Mapping[str, object]) -> None:
        values: dict[str, object] = {}
        for arg in self.record_args[name]:
            if arg not in kwargs:
                continue
            value = kwargs[arg]
            if isinstance(value, _ARG_TYPES):
                values[arg] = value
            else:
                self.recorder.note("unencodable_arg")
        payload = json.dumps(values, separators=(",", ":"), default=str).encode()
        self.recorder.emit_args(code, session, payload)

    def outcome(
        self,
        code: int,
        session: int,
        model: object,
        result: object,
        error: BaseException | None,
        reason: wire.Reason,
    ) -> None:
        """Record what became of an event: an exception, a rejection, or nothing (it ran)."""
        if error is not None:
            if exception_name(error) == "MachineError":
                self.emit(Kind.REJECTED, code, self.model_state_code(model), 3, session)
            else:
                self.emit(
                    Kind.EXCEPTION,
                    code,
                    self.model_state_code(model),
                    self.exception_code(error),
                    session,
                )
        elif not result:
            self.emit(Kind.REJECTED, code, self.model_state_code(model), reason, session)
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
        slot inline (`Recorder.slots`) instead of calling `emit`: docs/benchmarks.md has the
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
    ) -> Callable[[str, object, Mapping[str, object]], Context]:
        buf, append, cap, pack, drop = self.recorder.slots
        now, sessions, events, record_args = (
            time.time_ns,
            self.sessions,
            self.event_codes,
            self.record_args,
        )
        session_of, event_code, args = self.session, self.event_code, self._args

        def event(name: str, model: object, kwargs: Mapping[str, object]) -> Context:
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
                return code, session, state, step_in, transition_in, model
            return code, session, state, *dropped, model

        return event

    def _transition_hook(
        self, model_state: Callable[[object], int]
    ) -> Callable[[str, object, object], None]:
        buf, append, cap, pack, drop = self.recorder.slots
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

        The event hook hands them a `Context` through transitions' `EventData`, so a state
        exit/entry or a transition costs one dict lookup (the state's code) and the slot itself.
        A nested transition names its states relative to the scope being processed: its source
        is the model's state and its destination is resolved to a full path.
        """
        _, append, _, pack, drop = self.recorder.slots
        now, states, state_code, full_name = (
            time.time_ns,
            self.state_codes,
            self.state_code,
            self.full_name,
        )

        def step_in(kind: int, state: object, context: Context) -> None:
            where = states.get(state)
            if where is None:
                where = state_code(state)
            append(pack(kind, 0, context[0], where, 0, context[1], now()))

        def transition_in(source: object, dest: object, context: Context) -> None:
            origin = states.get(source)
            if origin is None:
                origin = state_code(source)
            target = states.get(dest) if dest else 0
            if target is None:
                target = state_code(dest)
            append(pack(_TRANSITION, 0, context[0], origin, target, context[1], now()))

        def nested_transition_in(source: object, dest: object, context: Context) -> None:
            target = state_code(full_name(dest)) if dest else 0
            origin = model_state(context[5])
            append(pack(_TRANSITION, 0, context[0], origin, target, context[1], now()))

        if self.nested:
            transition_in = nested_transition_in

        def step_dropped(kind: int, state: object, context: Context) -> None:
            drop(1)

        def transition_dropped(source: object, dest: object, context: Context) -> None:
            drop(1)

        return step_in, transition_in, (step_dropped, transition_dropped)

    def _step_hook(self) -> Callable[[int, object, object, object], None]:
        buf, append, cap, pack, drop = self.recorder.slots
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
