"""A local PlantUML HTTP server for the time of a `with`: one JVM for many diagrams."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from fsm_recorder.exceptions import RenderError
from fsm_recorder.render._jar import jar_command


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
        argv = jar_command(self.jar, f"-picoweb:{port}:127.0.0.1")
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
