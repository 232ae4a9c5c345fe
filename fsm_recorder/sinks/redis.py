"""The production sink: frames appended to the host's Redis stream through one pipeline."""

from __future__ import annotations

from collections.abc import Sequence

import redis
from redis.exceptions import RedisError

from fsm_recorder import config
from fsm_recorder.connection import redis_client
from fsm_recorder.exceptions import SinkError

FRAME_FIELD = b"f"


class RedisSink:
    """XADD each frame in one MULTI pipeline with the held-records counter.

    Producer-side timeouts are short and redis-py's own retries are off: the recorder retries on
    its next cycle and spills meanwhile, so a hanging server never stalls the writer for long.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str | None = None,
        timeout: float = 0.5,
    ) -> None:
        self.url = config.check_url(url or config.default_url())
        self.stream = config.stream_key(prefix)
        self.held = config.held_key(prefix)
        self._timeout = timeout
        self._client = self._connect()

    def _connect(self) -> redis.Redis:
        return redis_client(self.url, timeout=self._timeout)

    def write(self, frames: Sequence[bytes], records: int) -> None:
        """Append the frames atomically; any Redis failure becomes a `SinkError`."""
        try:
            with self._client.pipeline(transaction=True) as pipe:
                for frame in frames:
                    pipe.xadd(self.stream, {FRAME_FIELD: frame})
                pipe.incrby(self.held, records)
                pipe.execute()
        except RedisError as exc:
            raise SinkError(f"cannot write to {self.url}: {exc}") from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def after_fork(self) -> None:
        """A child opens its own connections instead of sharing the parent's sockets."""
        self._client = self._connect()
