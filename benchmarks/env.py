"""The suite's private world: its own Redis-protocol server and codebook store in a tmp dir.

Never the host's server on 6379 nor the user's runtime directory: everything lives in a fresh
temporary directory short enough for a unix socket path, and is removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.host import _server as server
from fsm_recorder.host._server import ServerConfig


@dataclass(frozen=True)
class Env:
    """Where the suite writes: a tmp dir, a private server's URL and a codebook store."""

    tmp: Path
    url: str
    codebooks: CodebookStore
    server_version: str

    def client(self) -> redis.Redis:
        """A new client of the private server."""
        return redis.Redis.from_url(self.url)

    def flushall(self) -> None:
        """Empty the server between sections, so each measures its own keys only."""
        with self.client() as client:
            client.flushall()


@contextmanager
def private_env() -> Iterator[Env]:
    """Start a private server (production settings, bigger memory cap) and point env vars at it."""
    tmp = Path(tempfile.mkdtemp(prefix="fsmr-bench-", dir="/tmp"))
    cfg = ServerConfig(runtime_dir=tmp / "run", maxmemory="2gb")
    saved = {k: os.environ.get(k) for k in ("FSM_RECORDER_URL", "FSM_RECORDER_CODEBOOKS")}
    try:
        status = server.start(cfg)
        os.environ["FSM_RECORDER_URL"] = cfg.url
        os.environ["FSM_RECORDER_CODEBOOKS"] = str(tmp / "codebooks")
        yield Env(tmp, cfg.url, CodebookStore(tmp / "codebooks"), status.version or "?")
    finally:
        server.stop(cfg)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(tmp, ignore_errors=True)
