"""The production sink: frames appended to the host's Redis stream by one server-side script."""

from __future__ import annotations

from collections.abc import Sequence

import redis
from redis.exceptions import RedisError

from fsm_recorder import config
from fsm_recorder.exceptions import SinkError
from fsm_recorder.host._client import redis_client

# XADD every frame and count its records in one atomic round trip: cheaper than MULTI/EXEC
# (which costs sync mode a second of every two round trips) and all or nothing just the same.
APPEND_SCRIPT = """
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'f', ARGV[i])
end
return redis.call('INCRBY', KEYS[2], ARGV[1])
"""


class RedisSink:
    """XADD each frame and add to the held-records counter, atomically, in one round trip.

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
        client = redis_client(self.url, timeout=self._timeout)
        self._append = client.register_script(APPEND_SCRIPT)
        return client

    def write(self, frames: Sequence[bytes], records: int) -> None:
        """Append the frames atomically; any Redis failure becomes a `SinkError`."""
        try:
            self._append(keys=[self.stream, self.held], args=[records, *frames])
        except RedisError as exc:
            raise SinkError(f"cannot write to {config.redact(self.url)}: {exc}") from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def after_fork(self) -> None:
        """A child opens its own connections instead of sharing the parent's sockets."""
        self._client = self._connect()
