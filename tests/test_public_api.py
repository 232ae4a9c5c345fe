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


PUBLIC_SUBMODULES = ("cli", "config", "exceptions", "pytest_plugin", "render", "testing")


def test_package_docstring_lists_the_public_submodules() -> None:
    """The package docstring names each public submodule, and each of them imports."""
    import importlib

    doc = fsm_recorder.__doc__ or ""
    for name in PUBLIC_SUBMODULES:
        assert f"`fsm_recorder.{name}`" in doc
        importlib.import_module(f"fsm_recorder.{name}")


def test_engine_modules_are_private() -> None:
    """Below the root, every module except a subpackage's front door is named ``_name.py``."""
    from pathlib import Path

    root = Path(fsm_recorder.__file__).parent
    public = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.parent != root and not path.name.startswith("_")
    ]
    assert public == []
