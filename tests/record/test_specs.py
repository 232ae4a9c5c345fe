"""`module:attribute` specs, what a factory may return, and walking a machine's states."""

from __future__ import annotations

import pytest
from transitions import Machine
from transitions.extensions import HierarchicalMachine

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.record._specs import all_states, load_object, machine_and_model


def test_specs_name_a_dotted_attribute_of_a_module() -> None:
    """`module:a.b` imports the module and follows the attribute path."""
    assert load_object("transitions:Machine") is Machine
    assert load_object("transitions.core:Machine.add_states") is Machine.add_states


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("transitions", "is not module:attribute"),
        ("no_such_module_here:thing", "cannot import 'no_such_module_here'"),
        ("transitions:NoSuchName", "has no attribute 'NoSuchName'"),
    ],
)
def test_bad_specs_are_config_errors(spec: str, message: str) -> None:
    """Every way a spec can be wrong says what was wrong, never a traceback."""
    with pytest.raises(ConfigError, match=message):
        load_object(spec)


def test_a_factory_may_return_a_machine_or_its_model() -> None:
    """A machine with one model gives that model; a model leads back to its machine."""

    class Model:
        pass

    model = Model()
    machine = Machine(model=model, states=["a", "b"], initial="a")
    assert machine_and_model(machine) == (machine, model)
    assert machine_and_model(model) == (machine, model)
    two = Machine(model=[Model(), Model()], states=["a"], initial="a")
    with pytest.raises(ConfigError, match="2 models"):
        machine_and_model(two)
    with pytest.raises(ConfigError, match="neither a transitions Machine"):
        machine_and_model(object())


def test_all_states_walks_nested_states_after_their_parent() -> None:
    """Every state object, each child right after its parent."""
    machine = HierarchicalMachine(
        states=["idle", {"name": "busy", "children": ["fetch", "save"]}], initial="idle"
    )
    assert [state.name for state in all_states(machine)] == ["idle", "busy", "fetch", "save"]
