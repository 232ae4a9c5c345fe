"""Where things live on a host: per-user runtime directory, the server's socket, the codebook store.

Each location has one environment variable that overrides it, so a deployment (or a test) can
move everything without code changes:

- ``FSM_RECORDER_URL``: the Redis URL the recorder and the CLI use (default: the per-host server's
  unix socket).
- ``FSM_RECORDER_RUNTIME_DIR``: where the per-host server keeps its socket, pid file and data.
- ``FSM_RECORDER_CODEBOOKS``: the codebook store directory.
- ``FSM_RECORDER_PREFIX``: the key prefix in Redis (several recorders can share one server).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from fsm_recorder.exceptions import ConfigError

DEFAULT_PREFIX = "fsmr"
_URL_SCHEMES = ("redis", "rediss", "unix")


def runtime_dir() -> Path:
    """The per-user directory holding the per-host server's socket, pid file and data."""
    explicit = os.environ.get("FSM_RECORDER_RUNTIME_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "fsm-recorder"
    return Path("/tmp") / f"fsm-recorder-{os.getuid()}"


def socket_path() -> Path:
    """The unix socket the per-host server listens on."""
    return runtime_dir() / "redis.sock"


def default_url() -> str:
    """The URL recorders and the CLI use when none is given."""
    return os.environ.get("FSM_RECORDER_URL") or f"unix://{socket_path()}"


def codebook_dir() -> Path:
    """The codebook store directory (JSON files, one per codebook version)."""
    explicit = os.environ.get("FSM_RECORDER_CODEBOOKS")
    if explicit:
        return Path(explicit)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "fsm-recorder" / "codebooks"


def key_prefix() -> str:
    """The prefix of every key fsm-recorder writes in Redis."""
    return os.environ.get("FSM_RECORDER_PREFIX") or DEFAULT_PREFIX


FRAME_FIELD = b"f"
"""The field of a stream entry that holds the frame (docs/wire-format.md)."""


def stream_key(prefix: str | None = None) -> str:
    """The Redis stream that holds the encoded record frames of this host."""
    return f"{prefix or key_prefix()}:frames"


def held_key(prefix: str | None = None) -> str:
    """The counter of records held in the stream: the sink adds, the drain subtracts."""
    return f"{prefix or key_prefix()}:held"


def redact(url: str) -> str:
    """`url` without its password, for messages and logs (ACL URLs carry one)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def check_url(url: str) -> str:
    """Return `url` unchanged if it is a Redis URL we can use, else raise a `ConfigError`."""
    parts = urlsplit(url)
    if parts.scheme not in _URL_SCHEMES:
        raise ConfigError(
            f"unsupported Redis URL {url!r}: use redis://host:port/db, rediss://host:port/db "
            "or unix:///path/to/socket"
        )
    if parts.scheme == "unix" and not parts.path:
        raise ConfigError(f"unix URL {url!r} names no socket path: use unix:///path/to/socket")
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"Redis URL {url!r} names no host: use {parts.scheme}://host:port/db")
    return url
