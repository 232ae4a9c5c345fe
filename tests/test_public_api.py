"""The curated public API: what `fsm_recorder` exports, and nothing by accident."""

from __future__ import annotations

import fsm_recorder


def test_all_is_sorted_and_unique() -> None:
    """`__all__` is sorted and lists each name once, so additions are reviewed in one place."""
    assert fsm_recorder.__all__ == sorted(set(fsm_recorder.__all__))


def test_every_exported_name_exists() -> None:
    """Every name in `__all__` is importable from the package."""
    missing = [name for name in fsm_recorder.__all__ if not hasattr(fsm_recorder, name)]
    assert missing == []


def test_no_public_name_is_left_out_of_all() -> None:
    """Public attributes of the package (not submodules) are all listed in `__all__`."""
    public = {
        name
        for name, value in vars(fsm_recorder).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) != "builtins"
        and type(value).__name__ != "module"
    }
    assert public - {"annotations"} == set(fsm_recorder.__all__)


def test_exceptions_share_one_root() -> None:
    """Every error the package exports derives from FsmRecorderError."""
    errors = [getattr(fsm_recorder, n) for n in fsm_recorder.__all__ if n.endswith("Error")]
    assert errors
    assert all(issubclass(e, fsm_recorder.FsmRecorderError) for e in errors)
