"""Shared fixtures: a private Redis-protocol server per test session, and an isolated environment.

Every suite talks to a real server started by `fsm_recorder.host._server` in a temporary runtime
directory: never fakeredis, never the host's own server, never the user's runtime or codebook
directories.

- ``redis_server`` (session): the running server, with ``.url``, ``.config`` and ``.client()``.
- ``redis_url`` (function): that server's URL after FLUSHALL; also set as ``FSM_RECORDER_URL``.
- ``server_config`` (function): a fresh `ServerConfig` of its own, stopped at teardown, for tests
  that start, stop or restart a server.
- ``codebook_dir`` (function): an empty codebook store, set as ``FSM_RECORDER_CODEBOOKS``.
- ``jar`` (session): the PlantUML jar, or a skip that says how to get one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig

# Leave room under the ~107-byte unix socket limit; pytest's base temp dir can be deep.
_SOCKET_BUDGET = 90
# Test settings (e.g. FSM_RECORDER_TEST_POSTGRES) are the only variables a test may inherit.
_KEEP_PREFIX = "FSM_RECORDER_TEST_"


@dataclass(frozen=True)
class RedisServer:
    """A server the test session started; `url` is what recorders and drains connect to."""

    config: ServerConfig

    @property
    def url(self) -> str:
        """The ``unix://`` URL of the server."""
        return self.config.url

    def client(self) -> redis.Redis:
        """A new client of this server; close it (or use it as a context manager)."""
        return redis.Redis.from_url(self.url)


@contextmanager
def _runtime_dir(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A private temporary runtime directory whose socket path fits the unix limit."""
    path = factory.mktemp(name)
    if len(os.fsencode(path / "redis.sock")) <= _SOCKET_BUDGET:
        yield path
        return
    short = Path(tempfile.mkdtemp(prefix="fsmr-", dir="/tmp"))
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private server for the whole session: small, no AOF (speed), stopped at the end."""
    with _runtime_dir(tmp_path_factory, "redis") as runtime_dir:
        cfg = ServerConfig(runtime_dir=runtime_dir, maxmemory="64mb", appendonly=False)
        server.start(cfg)
        try:
            yield RedisServer(cfg)
        finally:
            server.stop(cfg)


@pytest.fixture
def redis_url(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session server's URL, emptied (FLUSHALL) and made the default URL for this test."""
    with redis_server.client() as client:
        client.flushall()
    monkeypatch.setenv("FSM_RECORDER_URL", redis_server.url)
    return redis_server.url


@pytest.fixture
def server_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerConfig]:
    """A fresh server configuration of the test's own; whatever it started is stopped after."""
    with _runtime_dir(tmp_path_factory, "srv") as runtime_dir:
        cfg = ServerConfig(runtime_dir=runtime_dir, maxmemory="64mb")
        try:
            yield cfg
        finally:
            server.stop(cfg)


@pytest.fixture
def codebook_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty codebook store directory, made the default store for this test."""
    path = tmp_path / "codebook-store"
    path.mkdir()
    monkeypatch.setenv("FSM_RECORDER_CODEBOOKS", str(path))
    return path


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every fsm-recorder location at the test's tmp dir, dropping the user's settings."""
    for name in list(os.environ):
        if name.startswith("FSM_RECORDER_") and not name.startswith(_KEEP_PREFIX):
            monkeypatch.delenv(name)
    runtime = tmp_path / "runtime"
    monkeypatch.setenv("FSM_RECORDER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("FSM_RECORDER_CODEBOOKS", str(tmp_path / "codebooks"))
    monkeypatch.setenv("FSM_RECORDER_URL", f"unix://{runtime / 'redis.sock'}")


@pytest.fixture(scope="session")
def jar() -> Path:
    """The PlantUML jar find_jar() locates; skip (with the fix) when there is none or no java."""
    from fsm_recorder.exceptions import RenderError
    from fsm_recorder.render import find_jar

    try:
        found = find_jar()
    except RenderError as exc:
        pytest.skip(f"no PlantUML jar (pip install 'fsm-recorder[diagrams]'): {exc}")
    if shutil.which("java") is None:
        pytest.skip("no java on PATH (apt-get install -y default-jre-headless)")
    return found
