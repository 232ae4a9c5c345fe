"""`module:attribute` specs and what they build: how the CLI finds a user's machine and its parts.

`codebook export` and `replay` both take a spec naming a machine class or a factory; a factory may
return a machine, or a model whose machine is attached (the usual transitions style). Retrofit and
replay walk the machine's states (nested ones included) through `all_states`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from transitions import Machine

from fsm_recorder.exceptions import ConfigError


def load_object(spec: str) -> Any:
    """Import `module:attribute` (the current directory is importable, as with `python -m`)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"{spec!r} is not module:attribute (e.g. examples.happy_sad.machine:Mood)"
        )
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r} for {spec!r}: {exc}") from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(f"{module_name!r} has no attribute {attribute!r}") from None
    return target


def machine_and_model(built: Any) -> tuple[Machine, Any]:
    """The machine behind what a factory returned, and the model to drive.

    A factory may return a machine (with exactly one model), or a model: its machine is its
    `.machine` attribute, or the machine whose `trigger` transitions bound onto the model.
    """
    if isinstance(built, Machine):
        if len(built.models) != 1:
            raise ConfigError(
                f"the factory's machine has {len(built.models)} models: return the one to use"
            )
        return built, built.models[0]
    machine = getattr(built, "machine", None)
    if not isinstance(machine, Machine):
        # transitions binds `trigger` on every model as a partial of its machine's `_get_trigger`.
        machine = getattr(getattr(getattr(built, "trigger", None), "func", None), "__self__", None)
    if not isinstance(machine, Machine):
        raise ConfigError(
            f"the factory returned {type(built).__name__}, which is neither a transitions Machine "
            "nor a model attached to one"
        )
    return machine, built


def all_states(machine: Machine) -> Iterator[Any]:
    """Every state object of `machine`, each nested state right after its parent."""
    return _walk(machine.states.values())


def _walk(states: Iterable[Any]) -> Iterator[Any]:
    for state in states:
        yield state
        yield from _walk(getattr(state, "states", {}).values())
