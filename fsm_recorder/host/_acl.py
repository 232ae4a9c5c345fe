"""Least privilege in the per-host server: separate users for producers, the drain and the admin.

Producers may only append frames and count them (their Lua script: XADD, INCRBY on the prefix's
keys); the drain may only read, acknowledge, delete and count down; the admin (``default``)
starts, stops and inspects the server. Passwords live in ``<runtime dir>/acl/`` (mode 600) and are
kept across restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError, ServerError
from fsm_recorder.host._settings import ServerConfig

ROLES = ("admin", "producer", "drain")
_CLIENT_SETUP = "+ping"  # redis-py ignores a refused CLIENT SETINFO
_GRANTS = {
    "producer": "+evalsha +script|load +xadd +incrby",
    "drain": "+xgroup|create +xreadgroup +xautoclaim +xack +xdel +decrby +xlen +get +xrange "
    "+info +evalsha +eval +script|load",
}


def role_url(cfg: ServerConfig, role: str) -> str:
    """The URL (with password) of an ACL user: ``producer``, ``drain`` or ``admin``."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not acl_file(cfg).exists():
        return cfg.url
    user = "default" if role == "admin" else role
    return f"unix://{user}:{_password(cfg, role)}@{cfg.socket}"


def _password(cfg: ServerConfig, role: str) -> str:
    path = cfg.acl_dir / f"{role}.password"
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ServerError(f"no password for {role} in {path}: start the server with acl") from exc


def acl_file(cfg: ServerConfig) -> Path:
    """The server's ACL file; its presence says the server runs with users (no --acl needed)."""
    return cfg.acl_dir / "users.acl"


def write_acl(cfg: ServerConfig) -> None:
    """Create missing passwords (kept across restarts) and the ACL file from them."""
    if not cfg.acl:
        acl_file(cfg).unlink(missing_ok=True)
        return
    cfg.acl_dir.mkdir(mode=0o700, exist_ok=True)
    for role in ROLES:
        path = cfg.acl_dir / f"{role}.password"
        if not path.exists():
            _write_private(path, secrets.token_hex(24))
    keys = f"~{config.key_prefix()}:*"
    lines = [f"user default on >{_password(cfg, 'admin')} ~* &* +@all"]
    lines += [
        f"user {role} on >{_password(cfg, role)} resetkeys {keys} -@all {_CLIENT_SETUP} {grants}"
        for role, grants in _GRANTS.items()
    ]
    _write_private(acl_file(cfg), "\n".join(lines) + "\n")


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
