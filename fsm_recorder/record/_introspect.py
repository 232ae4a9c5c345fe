"""What a transitions machine is made of, read off its objects: the codebook's raw material.

A `Tap` derives its codebook from `describe(machine)` whenever the definition changes, so this
must cost what transitions' own bookkeeping costs (an auto-transition scan stays at C speed).
"""

from __future__ import annotations

import itertools
import operator
from enum import Enum
from typing import Any

from transitions import Machine
from transitions.extensions.nesting import HierarchicalMachine

_DEST = operator.attrgetter("dest")


def state_name(value: object) -> str:
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
        states = [state_name(s) for s in machine.states]
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
                full_dest = separator.join([*scope, state_name(dest)]) if dest else ""
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
