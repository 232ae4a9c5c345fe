"""How the per-host server runs: `ServerConfig`, the host's settings and the paths they imply.

Settings come from `ServerConfig.from_env`:

- ``FSM_RECORDER_RUNTIME_DIR``: socket, pid file, log file and data (see `fsm_recorder.config`).
- ``FSM_RECORDER_SERVER_MAXMEMORY`` (default ``256mb``), ``FSM_RECORDER_SERVER_APPENDONLY``
  (``yes``/``no``), ``FSM_RECORDER_SERVER_APPENDFSYNC`` (``always``/``everysec``/``no``),
  ``FSM_RECORDER_SERVER_ARGS`` (extra ``--name value`` arguments, shell-quoted),
  ``FSM_RECORDER_SERVER_ACL`` (``yes``: least-privilege users, see `fsm_recorder.host._acl`).

Sizes are in Redis units everywhere (`redis_size`): the server's cap and the drain's threshold.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError

DEFAULT_MAXMEMORY = "256mb"
_APPENDFSYNC = ("always", "everysec", "no")
_YES = ("yes", "true", "1", "on")
_NO = ("no", "false", "0", "off")
_SIZE = re.compile(r"(\d+)(b|k|kb|m|mb|g|gb)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 10**6, "mb": 2**20, "g": 10**9, "gb": 2**30}


def redis_size(text: str) -> int | None:
    """Bytes of a size in Redis units (``64mb`` is 64 MiB, ``64m`` 64 000 000); None if not one."""
    size = _SIZE.fullmatch(text.strip())
    return int(size[1]) * _UNITS[(size[2] or "").lower()] if size else None


@dataclass(frozen=True)
class ServerConfig:
    """How to run the per-host server; `from_env` gives the host's settings.

    Attributes:
        runtime_dir: Holds the socket, pid file, log file and append-only file.
        maxmemory: Memory cap in Redis units (``256mb``); writes fail beyond it, nothing evicts.
        appendonly: Keep an append-only file so held frames survive a crash.
        appendfsync: ``always``, ``everysec`` or ``no``: how often the AOF reaches the disk.
        binary: The server binary; None looks it up with `find_binary`.
        extra_args: Further ``--name value`` arguments passed to the server as they are.
        start_timeout: Seconds `start` waits for the server to answer PING.
        stop_timeout: Seconds `stop` waits for the server process to exit.
        acl: Run with least-privilege users (`fsm_recorder.host._acl`).
    """

    runtime_dir: Path
    maxmemory: str = DEFAULT_MAXMEMORY
    appendonly: bool = True
    appendfsync: str = "everysec"
    binary: Path | None = None
    extra_args: tuple[str, ...] = ()
    start_timeout: float = 10.0
    stop_timeout: float = 10.0
    acl: bool = False

    def __post_init__(self) -> None:
        if redis_size(self.maxmemory) is None:
            raise ConfigError(f"maxmemory {self.maxmemory!r} is not a size like 256mb or 1gb")
        if self.appendfsync not in _APPENDFSYNC:
            raise ConfigError(f"appendfsync {self.appendfsync!r} is not one of {_APPENDFSYNC}")

    @classmethod
    def from_env(cls) -> ServerConfig:
        """The host's settings: `fsm_recorder.config` locations and ``FSM_RECORDER_SERVER_*``."""
        env = os.environ.get
        return cls(
            runtime_dir=config.runtime_dir(),
            maxmemory=env("FSM_RECORDER_SERVER_MAXMEMORY") or DEFAULT_MAXMEMORY,
            appendonly=_parse_bool("FSM_RECORDER_SERVER_APPENDONLY", default=True),
            appendfsync=env("FSM_RECORDER_SERVER_APPENDFSYNC") or "everysec",
            extra_args=tuple(shlex.split(env("FSM_RECORDER_SERVER_ARGS") or "")),
            acl=_parse_bool("FSM_RECORDER_SERVER_ACL", default=False),
        )

    @property
    def socket(self) -> Path:
        """The unix socket; same name as `config.socket_path` so the default URL finds it."""
        return self.runtime_dir / "redis.sock"

    @property
    def url(self) -> str:
        """The ``unix://`` URL recorders and drains connect to."""
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        """The file where the daemonized server writes its pid."""
        return self.runtime_dir / "redis.pid"

    @property
    def acl_dir(self) -> Path:
        """Passwords of the ACL users and the server's ACL file."""
        return self.runtime_dir / "acl"

    @property
    def logfile(self) -> Path:
        """The server's log: the first place to look when it does not come up."""
        return self.runtime_dir / "redis.log"


def _parse_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in _YES + _NO:
        raise ConfigError(f"{name}={raw!r}: use yes or no")
    return raw in _YES
