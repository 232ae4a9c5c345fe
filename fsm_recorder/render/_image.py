"""PlantUML text to SVG/PNG, through a local PlantUML jar or a PlantUML server.

Nothing here touches the network unless the caller names a server: the default is the local jar
(`find_jar`), and no public server is ever used implicitly. Every Java process gets a bounded
timeout and is started without a shell. Syntax errors are reported with the 1-based line of the
caller's text and PlantUML's own message, never as PlantUML's "error image" in place of a diagram.

Rendering many diagrams? Start one JVM with `render.server.PlantUMLServer` and pass its URL as
`server=`; that saves a JVM start (about a second) per diagram.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from fsm_recorder.exceptions import ConfigError, RenderError
from fsm_recorder.render._jar import how_to, jar_command

__all__ = [
    "DEFAULT_TIMEOUT",
    "Format",
    "check_syntax",
    "render",
    "write_diagram",
]

Format = Literal["svg", "png"]

DEFAULT_TIMEOUT = 60.0
"""Seconds one PlantUML run may take: a JVM start plus layout of a large diagram."""

_FORMATS: tuple[Format, ...] = ("svg", "png")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_OLD_ERROR_TAIL = "Some diagram description contains errors"


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
        raise RenderError(f"Could not start {argv[0]}: {exc}. {how_to()}") from exc


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
    proc = _run(jar_command(jar, "-pipe", "-syntax", "-charset", "UTF-8"), text, timeout)
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
    proc = _run(jar_command(jar, "-pipe", f"-t{fmt}", "-charset", "UTF-8"), text, timeout)
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
    fmt = format_of(path)
    source = path if fmt is None else path.with_suffix(".puml")
    path.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text, encoding="utf-8")
    if fmt is None:
        return [source]
    path.unlink(missing_ok=True)
    path.write_bytes(render(text, fmt, jar=jar, server=server, timeout=timeout))
    return [source, path]


def format_of(path: Path) -> Format | None:
    """The image format a file name asks for (None: PlantUML text); anything else is refused."""
    suffix = path.suffix.lower()
    if suffix == ".puml":
        return None
    for fmt in _FORMATS:
        if suffix == f".{fmt}":
            return fmt
    raise ConfigError(f"{path}: the extension must be .puml, .svg or .png")
