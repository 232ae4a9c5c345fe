"""pytest plugin for the recorded run: transitions' suite sees fsm-recorder's classes as its own.

While pytest collects (imports) the test modules, every `transitions*` module attribute bound to
`Machine`, `HierarchicalMachine`, `AsyncMachine` or `HierarchicalAsyncMachine` is rebound to its
recorded subclass, so `from transitions import Machine`, `from transitions.core import Machine`,
`from transitions.extensions.asyncio import AsyncMachine`, default arguments such as
`Stuff(machine_cls=Machine)` and class attributes all get the recorded classes. After collection
the attributes are restored: transitions' own code names its classes through these module globals
(`super(Machine, self)`, `isinstance(state, HierarchicalMachine)`), and it has to keep meaning the
originals, exactly as in a user's program that imports the recorded classes from fsm_recorder.
`MachineFactory.get_predefined()` is called inside tests, so its class map stays swapped for the
whole run (only transitions' `get_predefined` reads it).

Every machine records into a process-wide memory recorder. At the end the frames are decoded with
fsm-recorder's decoder and a summary (records, sessions, steps, recorder errors, drops, gaps, decode
failure) is written as JSON for the comparing test, and shown in the terminal summary.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import transitions
from transitions.extensions import factory
from transitions.extensions.asyncio import AsyncMachine, HierarchicalAsyncMachine
from transitions.extensions.nesting import HierarchicalMachine

from fsm_recorder.exceptions import FsmRecorderError
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import SessionDecoder
from fsm_recorder.record._machines import (
    RecordedAsyncMachine,
    RecordedHierarchicalAsyncMachine,
    RecordedHierarchicalMachine,
    RecordedMachine,
)
from fsm_recorder.ship._default import memory_recorder, set_default_recorder
from fsm_recorder.ship._recorder import Recorder

RECORDED: dict[type, type] = {
    transitions.Machine: RecordedMachine,
    HierarchicalMachine: RecordedHierarchicalMachine,
    AsyncMachine: RecordedAsyncMachine,
    HierarchicalAsyncMachine: RecordedHierarchicalAsyncMachine,
}
_state: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    """--fsmr-record MODE: the recorder mode; --fsmr-summary FILE: where the summary goes."""
    group = parser.getgroup("fsmr-substitute")
    group.addoption("--fsmr-record", choices=["sync", "batched"], default="sync")
    group.addoption("--fsmr-summary", required=True, help="JSON file for the recording summary")


def _import_all_transitions_modules() -> None:
    """Import transitions' modules now, so none is first imported (and built) while swapped."""
    for info in pkgutil.walk_packages(transitions.__path__, "transitions."):
        with contextlib.suppress(ImportError):
            importlib.import_module(info.name)


@contextlib.contextmanager
def _swapped() -> Iterator[int]:
    """Rebind module attributes holding an original class; yields how many were rebound."""
    swapped = []
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] != "transitions":
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, type) and value in RECORDED:
                swapped.append((module, attr, value))
                setattr(module, attr, RECORDED[value])
    try:
        yield len(swapped)
    finally:
        for module, attr, value in swapped:
            setattr(module, attr, value)


def pytest_configure(config: pytest.Config) -> None:
    """Install the memory recorder as the process default and swap the factory's class map."""
    _import_all_transitions_modules()
    codebooks = Path(config.getoption("--fsmr-summary")).parent / "codebooks"
    recorder = memory_recorder(
        mode=config.getoption("--fsmr-record"), codebooks=CodebookStore(codebooks)
    )
    set_default_recorder(recorder)
    _state["recorder"] = recorder
    for key, cls in list(factory._CLASS_MAP.items()):
        factory._CLASS_MAP[key] = RECORDED.get(cls, cls)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[None]:
    """Collect (import) the test modules with the recorded classes in place."""
    with _swapped() as count:
        _state["swapped_attributes"] = count
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[object]:
    """Count the records each test module produced (every module must record something)."""
    recorder: Recorder = _state["recorder"]
    before = recorder.stats().produced
    try:
        return (yield)
    finally:
        module = item.nodeid.split("::")[0]
        per_module = _state.setdefault("records_by_module", {})
        per_module[module] = per_module.get(module, 0) + recorder.stats().produced - before


def _summary(recorder: Recorder) -> dict[str, Any]:
    gc.collect()  # machines the suite dropped end their sessions ("dropped") before the count
    recorder.flush()
    stats = recorder.stats()
    decoder = SessionDecoder(recorder.codebooks)
    decode_error = ""
    try:
        decoder.add_frames(recorder.sink.frames)  # type: ignore[attr-defined]
    except FsmRecorderError as err:
        decode_error = f"{type(err).__name__}: {err}"
    sessions = decoder.sessions()
    return {
        "mode": recorder.mode,
        "swapped_attributes": _state.get("swapped_attributes", 0),
        "produced": stats.produced,
        "written": stats.written,
        "dropped": stats.dropped_by_reason,
        "errors": stats.errors,
        "pending": stats.pending,
        "records_by_module": _state.get("records_by_module", {}),
        "sessions": len(sessions),
        "steps": sum(len(s.steps) for s in sessions),
        "gaps": sum(decoder.gaps().values()),
        "decode_error": decode_error,
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Decode everything recorded and write the summary."""
    summary = _summary(_state["recorder"])
    _state["summary"] = summary
    Path(session.config.getoption("--fsmr-summary")).write_text(json.dumps(summary, indent=1))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show what the recorder saw."""
    terminalreporter.write_sep("-", "fsm-recorder")
    terminalreporter.write_line(json.dumps(_state.get("summary", {}), sort_keys=True))
