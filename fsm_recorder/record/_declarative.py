"""Machines declared as classes: `State` and `Event` subclasses listed by a `StateMachine`.

This is the style of the system fsm-recorder descends from: each state and event is a class with
its own behaviour, and a machine lists them. The classes are translated into an ordinary recorded
transitions machine, so everything else (recording, codebook, diagrams, replay) is shared.

    class Happy(State): ...
    class Sad(State): ...
    class LoseMoney(Event):
        source, dest = Happy, Sad
    class Mood(StateMachine):
        state_classes = (Happy, Sad)
        event_classes = (LoseMoney,)
        initial_state = Happy

    mood = Mood(); mood.lose_money(); assert mood.state == "Sad"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.record._machines import RecordedHierarchicalMachine, RecordedMachine

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class State:
    """A state; override `on_enter`/`on_exit` to act, list `children` to nest states."""

    name: ClassVar[str | None] = None
    children: ClassVar[Sequence[type[State]]] = ()
    initial: ClassVar[type[State] | None] = None
    final: ClassVar[bool] = False

    @classmethod
    def state_name(cls) -> str:
        """The state's name in the machine: `name`, else the class name."""
        return cls.name or cls.__name__

    def on_enter(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        """Called after the state is entered, with the event's arguments."""

    def on_exit(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        """Called before the state is left, with the event's arguments."""


class Event:
    """An event: `source` state(s) (or "*"), `dest` (None: internal), optional `condition`."""

    name: ClassVar[str | None] = None
    source: ClassVar[type[State] | Sequence[type[State]] | str] = "*"
    dest: ClassVar[type[State] | None] = None

    @classmethod
    def trigger_name(cls) -> str:
        """The trigger method's name: `name`, else the class name in snake_case."""
        return cls.name or _WORD_BOUNDARY.sub("_", cls.__name__).lower()

    def condition(self, machine: Any, *args: Any, **kwargs: Any) -> bool:
        """Whether the transition may run (all events pass unless overridden)."""
        return True

    def before(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        """Called before the state changes."""

    def after(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        """Called after the state changed."""


def _overridden(obj: object, base: type, method: str) -> bool:
    return getattr(type(obj), method) is not getattr(base, method)


def _hooks(
    machine: Any, obj: object, base: type, *methods: str
) -> dict[str, list[Callable[..., Any]]]:
    return {m: [partial(getattr(obj, m), machine)] for m in methods if _overridden(obj, base, m)}


def _paths(states: Sequence[type[State]], scope: list[str]) -> list[tuple[type[State], str]]:
    # Transitions name nested states by their full path (parent_child).
    found = []
    for state in states:
        path = [*scope, state.state_name()]
        found.append((state, "_".join(path)))
        found.extend(_paths(state.children, path))
    return found


class _Declared:
    """Turns the class attributes into transitions' `states`/`transitions` arguments.

    The attribute names differ from transitions' own `states`/`events`/`initial`, which a
    machine instance uses for its runtime objects.
    """

    state_classes: ClassVar[Sequence[type[State]]] = ()
    event_classes: ClassVar[Sequence[type[Event]]] = ()
    initial_state: ClassVar[type[State] | None] = None

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        if not cls.state_classes or cls.initial_state is None:
            raise ConfigError(
                f"{cls.__name__} must list `state_classes` and name an `initial_state`"
            )
        kwargs.setdefault("name", cls.__name__)
        kwargs.setdefault("auto_transitions", False)
        self._paths = dict(_paths(cls.state_classes, []))
        super().__init__(  # type: ignore[call-arg]
            states=[self._state(s) for s in cls.state_classes],
            transitions=[self._transition(e) for e in cls.event_classes],
            initial=self._paths[cls.initial_state],
            **kwargs,
        )

    def _state(self, state_cls: type[State]) -> dict[str, Any]:
        state = state_cls()
        spec: dict[str, Any] = {"name": state_cls.state_name(), "final": state_cls.final}
        spec.update(_hooks(self, state, State, "on_enter", "on_exit"))
        if state_cls.children:
            spec["children"] = [self._state(child) for child in state_cls.children]
            first = state_cls.initial or state_cls.children[0]
            spec["initial"] = first.state_name()
        return spec

    def _transition(self, event_cls: type[Event]) -> dict[str, Any]:
        event = event_cls()
        source = event_cls.source
        sources: str | list[str]
        if isinstance(source, str):
            sources = source
        elif isinstance(source, type):
            sources = self._paths[source]
        else:
            sources = [self._paths[s] for s in source]
        spec: dict[str, Any] = {
            "trigger": event_cls.trigger_name(),
            "source": sources,
            "dest": self._paths[event_cls.dest] if event_cls.dest is not None else None,
        }
        hooks = _hooks(self, event, Event, "condition", "before", "after")
        if "condition" in hooks:
            spec["conditions"] = hooks.pop("condition")
        spec.update(hooks)
        return spec


class StateMachine(_Declared, RecordedMachine):
    """A flat recorded machine declared by listing `State` and `Event` classes."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if any(s.children for s in cls.state_classes):
            raise ConfigError(f"{cls.__name__} has nested states: derive from NestedStateMachine")


class NestedStateMachine(_Declared, RecordedHierarchicalMachine):
    """A hierarchical recorded machine declared with `State` classes that list `children`."""
