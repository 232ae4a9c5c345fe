"""`fsm-recorder diagram`: sessions recorded into the test Redis, drawn to .puml and .svg files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fsm_recorder.cli import main
from fsm_recorder.exceptions import RenderError
from fsm_recorder.record._machines import RecordedHierarchicalMachine
from fsm_recorder.render import find_jar
from fsm_recorder.ship._recorder import Recorder

STATES = ["idle", {"name": "busy", "children": ["load", "work"], "initial": "load"}]
TRANSITIONS = [["go", "idle", "busy"], ["next", "busy_load", "busy_work"], ["stop", "busy", "idle"]]


@pytest.fixture
def recorded(redis_url: str) -> str:
    """A nested session (two go/next/stop rounds) recorded through a RedisSink; its id."""
    recorder = Recorder(url=redis_url, mode="sync")
    machine = RecordedHierarchicalMachine(
        states=STATES, transitions=TRANSITIONS, initial="idle", recorder=recorder,
        name="Worker", session_id="w-1",
    )  # fmt: skip
    for _ in range(2):
        for event in ("go", "next", "stop"):
            machine.trigger(event)
    machine.end_session()
    recorder.close()
    return "w-1"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diagram", *args])
    return result.exit_code, result.output


def test_writes_puml_with_the_recorded_path(recorded: str, tmp_path: Path) -> None:
    """A .puml target gets the activity text of the session read from Redis."""
    target = tmp_path / "w.puml"
    code, output = _invoke(recorded, "-o", str(target))
    assert code == 0, output
    assert f"wrote {target}" in output
    boxes = re.findall(r"^:(\w+);", target.read_text(encoding="utf-8"), re.MULTILINE)
    assert boxes == ["idle", "load", "work", "idle", "load", "work", "idle"]


@pytest.mark.parametrize("kind", ["activity", "sequence", "state"])
def test_writes_svg_of_each_kind(recorded: str, tmp_path: Path, kind: str) -> None:
    """Each kind renders to SVG through the jar, the .puml kept next to it."""
    try:
        find_jar()
    except RenderError as exc:
        pytest.skip(str(exc))
    if shutil.which("java") is None:
        pytest.skip("no java")
    target = tmp_path / f"{kind}.svg"
    code, output = _invoke(
        recorded, "--kind", kind, "--level", "1", "--timestamps", "-o", str(target)
    )
    assert code == 0, output
    assert output.splitlines() == [f"wrote {target.with_suffix('.puml')}", f"wrote {target}"]
    assert b"<svg" in target.read_bytes()[:200]
    assert b"busy" in target.read_bytes()


def test_filters_reach_the_diagram(recorded: str, tmp_path: Path) -> None:
    """--level 1 and --from +0s --to with a step range narrow what is drawn."""
    target = tmp_path / "w.puml"
    code, output = _invoke(
        recorded, "--level", "1", "--steps", ":8", "--from", "+0s", "-o", str(target)
    )
    assert code == 0, output
    text = target.read_text(encoding="utf-8")
    assert re.findall(r"^:(\w+);", text, re.MULTILINE) == ["idle", "busy"]


def test_missing_jar_keeps_the_puml_and_fails(
    recorded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a jar the .puml is written, the exit status is 1 and the message says what to do."""
    monkeypatch.setenv("PLANTUML_JAR", str(tmp_path / "none.jar"))
    monkeypatch.setenv("FSM_RECORDER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    code, output = _invoke(recorded, "-o", str(tmp_path / "w.svg"))
    assert code == 1
    assert "scripts/install-plantuml" in output
    assert (tmp_path / "w.puml").is_file()
    assert not (tmp_path / "w.svg").exists()


def test_unknown_session_and_bad_level_are_errors(recorded: str, tmp_path: Path) -> None:
    """A session that is not there, or --level 0, exits 1 with a message, not a traceback."""
    code, output = _invoke("nope", "-o", str(tmp_path / "x.puml"))
    assert (code, "no session 'nope'" in output) == (1, True)
    code, output = _invoke(recorded, "--level", "0", "-o", str(tmp_path / "x.puml"))
    assert (code, "--level" in output) == (1, True)
