"""Lifecycle of the per-host Redis-protocol server that holds recorded frames until the drain.

One private server per user and host. It listens only on a unix socket in the runtime directory
(no TCP port, socket mode 700), so nothing off the host and no other user can reach it. It never
evicts (``maxmemory-policy noeviction``): a full server refuses writes, which the recorder counts,
instead of silently dropping frames. It keeps an append-only file so held frames survive a crash
until the drain archives them; RDB snapshots are off (``save ""``) because they would only fork
and duplicate what the AOF already keeps.

This module is the process control (start, stop, status). The settings are `ServerConfig`
(`_settings`: ``FSM_RECORDER_SERVER_*``), the binary comes from `_binary`
(``FSM_RECORDER_SERVER_BIN``, ``PATH``, the ``server`` extra), the users from `_acl`.

With ``acl`` on, the server knows three users, whose passwords live in ``<runtime dir>/acl/``
(mode 600) and whose URLs `role_url` gives: ``producer`` may only append frames and count them
(its Lua script: XADD, INCRBY on the prefix's keys), ``drain`` may only read, acknowledge, delete
and count down (XREADGROUP, XAUTOCLAIM, XACK, XDEL, DECRBY, XRANGE, INFO, its Lua script), and
``default`` (the admin: start, stop, status) needs the admin password.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

import redis

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError, ServerError
from fsm_recorder.host._acl import ROLES, acl_file, role_url, write_acl
from fsm_recorder.host._binary import BINARY_ENV, find_binary, resolve_binary
from fsm_recorder.host._client import redis_client
from fsm_recorder.host._settings import ServerConfig

# The host room's front door: the CLI, tests and benchmarks import the server's API from here.
__all__ = [
    "BINARY_ENV",
    "ROLES",
    "ServerConfig",
    "ServerStatus",
    "find_binary",
    "role_url",
    "start",
    "status",
    "stop",
]

# sun_path is 108 bytes on Linux (104 on macOS) including the terminating NUL.
_MAX_SOCKET_BYTES = 103
_POLL_SECONDS = 0.02
_IO_TIMEOUT = 2.0
_LOG_TAIL_LINES = 15


@dataclass(frozen=True)
class ServerStatus:
    """What `status` found; fields other than the location are None when the server is down.

    Attributes:
        running: The server answers on its socket.
        socket: The unix socket it listens on (or would).
        url: The same as a ``unix://`` URL.
        pid: The server's process id.
        binary: The server executable, as the server reports it.
        version: Server name and version, e.g. ``redis 7.0.15`` or ``valkey 8.1.8``.
        used_memory: Bytes in use.
        maxmemory: The memory cap in bytes.
        maxmemory_policy: The eviction policy (``noeviction`` when we started it).
        frames_held: Entries in the frame stream (XLEN) not yet drained.
        records_held: Records in those frames (the sink's counter; 0 if absent).
        started: This call to `start` launched the server (False: it already ran).
    """

    running: bool
    socket: Path
    url: str
    pid: int | None = None
    binary: str | None = None
    version: str | None = None
    used_memory: int | None = None
    maxmemory: int | None = None
    maxmemory_policy: str | None = None
    frames_held: int | None = None
    records_held: int | None = None
    started: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, for ``--json`` output."""
        return {**asdict(self), "socket": str(self.socket)}


class _Probe(Enum):
    UP = "up"
    LOADING = "loading"
    DOWN = "down"


def start(cfg: ServerConfig) -> ServerStatus:
    """Start the server unless it already runs, and wait until it answers PING.

    A server that already runs keeps the settings it was started with.

    Returns:
        The server's status; ``started`` tells whether this call launched it.

    Raises:
        ServerError: No binary, the server refused its settings, or it did not come up in time.
    """
    _check_socket_length(cfg.socket)
    _prepare_dir(cfg.runtime_dir)
    with _start_lock(cfg):
        started = _probe(cfg) is _Probe.DOWN
        if started:
            write_acl(cfg)
            _launch(cfg, resolve_binary(cfg))
        _wait_ready(cfg)
    return replace(status(cfg), started=started)


def stop(cfg: ServerConfig) -> bool:
    """Shut the server down (SHUTDOWN flushes the AOF) and wait for its process to exit.

    Returns:
        True if a server was running and has stopped, False if none was running.
    """
    current = status(cfg)
    if not current.running or current.pid is None:
        return False
    try:
        with _client(cfg) as client:
            client.shutdown()
    except redis.RedisError as exc:
        raise ServerError(f"server on {cfg.socket} refused to shut down: {exc}") from exc
    _wait_exit(current.pid, cfg)
    return True


def status(cfg: ServerConfig, prefix: str | None = None) -> ServerStatus:
    """Whether the server runs, and if so its process, memory and the frames it holds.

    Args:
        cfg: Which server.
        prefix: Key prefix whose frames and records to count (default `config.key_prefix`).
    """
    down = ServerStatus(running=False, socket=cfg.socket, url=cfg.url)
    try:
        with _client(cfg) as client:
            pipe = client.pipeline(transaction=False)
            pipe.info("server").info("memory")
            pipe.xlen(config.stream_key(prefix)).get(config.held_key(prefix))
            server, memory, frames, held = pipe.execute()
    except redis.ConnectionError:
        return down
    except redis.RedisError as exc:
        raise ServerError(f"server on {cfg.socket} did not answer: {exc}") from exc
    return replace(
        down,
        running=True,
        frames_held=int(frames),
        records_held=int(held or 0),
        **_server_fields(server),
        **_memory_fields(memory),
    )


def _server_fields(info: dict[str, Any]) -> dict[str, Any]:
    name = str(info.get("server_name", "redis"))
    version = info.get(f"{name}_version", info.get("redis_version"))
    return {
        "pid": int(info["process_id"]),
        "binary": info.get("executable"),
        "version": f"{name} {version}",
    }


def _memory_fields(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "used_memory": int(info["used_memory"]),
        "maxmemory": int(info["maxmemory"]),
        "maxmemory_policy": str(info["maxmemory_policy"]),
    }


def _command(cfg: ServerConfig, binary: Path) -> list[str]:
    settings = {
        "port": "0",
        "unixsocket": str(cfg.socket),
        "unixsocketperm": "700",
        "dir": str(cfg.runtime_dir),
        "pidfile": str(cfg.pidfile),
        "logfile": str(cfg.logfile),
        "daemonize": "yes",
        "maxmemory": cfg.maxmemory,
        "maxmemory-policy": "noeviction",
        "appendonly": "yes" if cfg.appendonly else "no",
        "appendfsync": cfg.appendfsync,
        "save": "",
    }
    if cfg.acl:
        settings["aclfile"] = str(acl_file(cfg))
    pairs = [arg for name, value in settings.items() for arg in (f"--{name}", value)]
    return [str(binary), *pairs, *cfg.extra_args]


def _launch(cfg: ServerConfig, binary: Path) -> None:
    # The server forks and the parent exits, so run() returns once the daemon is detached.
    try:
        done = subprocess.run(
            _command(cfg, binary),
            capture_output=True,
            text=True,
            timeout=cfg.start_timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerError(f"could not run {binary}: {exc}") from exc
    if done.returncode != 0:
        output = _tail((done.stdout + done.stderr).splitlines())
        raise ServerError(f"{binary} exited with status {done.returncode}:\n{output}")


def _wait_ready(cfg: ServerConfig) -> None:
    deadline = time.monotonic() + cfg.start_timeout
    while _probe(cfg) is not _Probe.UP:
        if time.monotonic() > deadline:
            raise ServerError(
                f"server did not answer PING on {cfg.socket} within {cfg.start_timeout:g}s; "
                f"end of {cfg.logfile}:\n{_log_tail(cfg.logfile)}"
            )
        time.sleep(_POLL_SECONDS)


def _wait_exit(pid: int, cfg: ServerConfig) -> None:
    deadline = time.monotonic() + cfg.stop_timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise ServerError(f"server pid {pid} still runs {cfg.stop_timeout:g}s after SHUTDOWN")
        time.sleep(_POLL_SECONDS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; only a parent that never reaps (a bare container init) keeps it.
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _probe(cfg: ServerConfig) -> _Probe:
    try:
        with _client(cfg) as client:
            client.ping()
    except redis.BusyLoadingError:
        return _Probe.LOADING
    except redis.ConnectionError:
        return _Probe.DOWN
    except redis.RedisError as exc:
        raise ServerError(f"something on {cfg.socket} does not speak Redis: {exc}") from exc
    return _Probe.UP


def _client(cfg: ServerConfig) -> redis.Redis:
    # "down" is an answer here, not a failure: connect without retries.
    return redis_client(role_url(cfg, "admin"), timeout=_IO_TIMEOUT)


@contextmanager
def _start_lock(cfg: ServerConfig) -> Iterator[None]:
    # Two concurrent starts would both launch, and the second server would take the socket over.
    with (cfg.runtime_dir / "server.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _prepare_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ServerError(f"cannot create runtime directory {path}: {exc}") from exc
    if path.stat().st_mode & 0o022:
        raise ServerError(f"runtime directory {path} is writable by others: chmod 700 it")


def _check_socket_length(socket: Path) -> None:
    if len(os.fsencode(socket)) > _MAX_SOCKET_BYTES:
        raise ConfigError(
            f"socket path {socket} is longer than {_MAX_SOCKET_BYTES} bytes, the unix socket "
            "limit: set FSM_RECORDER_RUNTIME_DIR to a shorter directory"
        )


def _log_tail(logfile: Path) -> str:
    try:
        return _tail(logfile.read_text(errors="replace").splitlines())
    except OSError as exc:
        return f"  (no log: {exc})"


def _tail(lines: list[str]) -> str:
    return "\n".join(f"  {line}" for line in lines[-_LOG_TAIL_LINES:]) or "  (empty)"
