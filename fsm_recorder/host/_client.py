"""One way to open a Redis connection: short timeouts and no hidden retries.

redis-py's default retry backs off for seconds on a missing socket. For a producer that would
stall the writer thread, for the CLI it would hide a plain "the server is down", so every part of
fsm-recorder connects through here and does its own retrying where it wants one.
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from fsm_recorder import config


def redis_client(url: str | None = None, *, timeout: float = 2.0) -> redis.Redis:
    """A client for `url` (default: the per-host server) that fails fast instead of retrying."""
    return redis.Redis.from_url(
        config.check_url(url or config.default_url()),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
