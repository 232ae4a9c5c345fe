"""pytest plugin of fsm-recorder (entry point ``pytest11``): fixtures and failure reports.

- Fixture ``flight_recorder``: an in-memory recorder installed as the process-wide default for
  one test, so every recorded machine the test builds records into it.
- Marker ``fsm_recorder``: the same for a test that does not ask for the fixture.
- A failing test that recorded sessions gets a report section with their decoded steps and the
  PlantUML text of their activity diagrams; ``--fsm-diagrams DIR`` (ini ``fsm_diagrams``) also
  writes the diagrams as files.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from fsm_recorder.exceptions import FsmRecorderError
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.read._session import Session
from fsm_recorder.ship._default import set_default_recorder
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship._tally import RecorderStats
from fsm_recorder.ship.sinks._memory import MemorySink

# Before anything imports the helpers, so that their plain asserts explain themselves.
pytest.register_assert_rewrite("fsm_recorder.testing")

_SECTION = "fsm-recorder sessions"


class FlightRecorder:
    """What the ``flight_recorder`` fixture hands a test: the recorder and its decoded sessions."""

    def __init__(self, codebook_dir: Path) -> None:
        self._sink = MemorySink()
        self.recorder = Recorder(
            sink=self._sink, mode="sync", codebooks=CodebookStore(codebook_dir)
        )

    def sessions(self) -> list[Session]:
        """Every session recorded so far in this test, oldest first."""
        self.recorder.flush()
        return decode_sessions(self._sink.frames, self.recorder.codebooks)

    def session(self, key: str | None = None) -> Session:
        """The session with this ID or key; without a key the only, or else the last, session."""
        sessions = self.sessions()
        if key is not None:
            from fsm_recorder.read._load import find_session

            return find_session(sessions, key)
        if not sessions:
            raise LookupError("no session was recorded in this test")
        return sessions[-1]

    def stats(self) -> RecorderStats:
        """The recorder's counts (records produced, written, dropped, errors)."""
        return self.recorder.stats()

    def close(self) -> None:
        """Flush and close the recorder; its sessions stay readable."""
        self.recorder.close()


_RECORDER = pytest.StashKey[FlightRecorder]()
_REPORTED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options of the plugin, each paired with an ini setting."""
    group = parser.getgroup("fsm-recorder", "fsm-recorder flight recorder")
    help_text = "write the activity diagrams of failing tests' sessions to DIR (.puml; .svg too "
    help_text += "when a PlantUML jar is found)"
    group.addoption("--fsm-diagrams", metavar="DIR", default=None, help=help_text)
    parser.addini("fsm_diagrams", help_text + " [relative to rootdir]", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (the suite runs with --strict-markers)."""
    config.addinivalue_line(
        "markers",
        "fsm_recorder: record the test's machines as the flight_recorder fixture does, and report "
        "their sessions if the test fails",
    )


@pytest.fixture
def flight_recorder(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FlightRecorder]:
    """An in-memory recorder, the process-wide default for this test; the old one restored after."""
    recorder = FlightRecorder(tmp_path_factory.mktemp("fsm-codebooks"))
    request.node.stash[_RECORDER] = recorder
    previous = set_default_recorder(recorder.recorder)
    try:
        yield recorder
    finally:
        set_default_recorder(previous)
        recorder.close()


@pytest.fixture(autouse=True)
def _fsm_recorder_marker(request: pytest.FixtureRequest) -> None:
    """Tests marked ``fsm_recorder`` get the flight recorder without asking for it."""
    if request.node.get_closest_marker("fsm_recorder") is not None:
        request.getfixturevalue("flight_recorder")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the recorded sessions to the first failing phase's report."""
    report = yield
    recorder = item.stash.get(_RECORDER, None)
    if report.failed and recorder is not None and not item.stash.get(_REPORTED, False):
        item.stash[_REPORTED] = True
        report.sections.append((_SECTION, _describe(item, recorder.sessions())))
    return report


def _describe(item: pytest.Item, sessions: list[Session]) -> str:
    if not sessions:
        return "no session was recorded"
    from fsm_recorder.testing import format_steps

    directory = _diagram_dir(item.config)
    parts = []
    for number, session in enumerate(sessions, 1):
        diagram = _activity(session)
        parts += [format_steps(session), "", diagram]
        if directory is not None:
            stem = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', item.nodeid)}-{number}"
            parts.append(_write(diagram, directory, stem))
        parts.append("")
    return "\n".join(parts)


def _diagram_dir(config: pytest.Config) -> Path | None:
    given = config.getoption("fsm_diagrams") or config.getini("fsm_diagrams")
    return config.rootpath / given if given else None


def _activity(session: Session) -> str:
    from fsm_recorder.render import activity_diagram

    try:
        return activity_diagram(session)
    except FsmRecorderError as exc:
        return f"(no activity diagram: {exc})"


def _write(diagram: str, directory: Path, stem: str) -> str:
    if not diagram.startswith("@start"):
        return "(diagram not written: there is none)"
    from fsm_recorder.render import find_jar, write_diagram

    source, image = directory / f"{stem}.puml", directory / f"{stem}.svg"
    try:
        find_jar()
    except FsmRecorderError:
        return f"diagram written: {write_diagram(diagram, source)[0]}"
    try:
        written = write_diagram(diagram, image)
    except FsmRecorderError as exc:
        return f"diagram written: {source} (no image: {exc})"
    return "diagrams written: " + ", ".join(str(path) for path in written)
