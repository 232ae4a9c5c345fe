"""Sinks: one shared suite run against every sink, plus what is particular to each."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError, SinkError
from fsm_recorder.read._load import read_frames
from fsm_recorder.ship.sinks import MemorySink, RedisSink, Sink

FRAMES = [b"FR-one", b"FR-two\x00\xff", b"FR-three"]


class SinkSuite:
    """What every sink must do; subclasses say how to make one and how to read it back."""

    def make(self) -> Sink:
        raise NotImplementedError

    def stored(self, sink: Sink) -> list[bytes]:
        raise NotImplementedError

    def test_is_a_sink(self) -> None:
        """The sink satisfies the Sink protocol."""
        assert isinstance(self.make(), Sink)

    def test_frames_are_stored_in_order(self) -> None:
        """Frames written in several calls are all stored, byte for byte, in order."""
        sink = self.make()
        sink.write(FRAMES[:2], 5)
        sink.write(FRAMES[2:], 1)
        assert self.stored(sink) == FRAMES
        sink.close()

    def test_concurrent_writes_lose_nothing(self) -> None:
        """Writes from several threads are all stored."""
        sink = self.make()
        threads = [
            threading.Thread(target=lambda n=n: [sink.write([bytes([n, i])], 1) for i in range(50)])
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(self.stored(sink)) == sorted(
            bytes([n, i]) for n in range(4) for i in range(50)
        )
        sink.close()

    def test_after_fork_keeps_working(self) -> None:
        """After after_fork (as in a child) the sink still writes."""
        sink = self.make()
        sink.after_fork()
        sink.write(FRAMES[:1], 1)
        assert self.stored(sink) == FRAMES[:1]
        sink.close()


class TestMemorySink(SinkSuite):
    """The in-process sink for tests."""

    def make(self) -> Sink:
        return MemorySink()

    def stored(self, sink: Sink) -> list[bytes]:
        assert isinstance(sink, MemorySink)
        return sink.frames

    def test_counts_records_and_clears(self) -> None:
        """It counts the records it was given and forgets everything on clear()."""
        sink = MemorySink()
        sink.write(FRAMES, 7)
        assert sink.records == 7
        sink.clear()
        assert (sink.frames, sink.records) == ([], 0)


class TestRedisSink(SinkSuite):
    """The production sink: the host's Redis stream plus the held-records counter."""

    @pytest.fixture(autouse=True)
    def _url(self, redis_url: str) -> None:
        self.url = redis_url

    def make(self) -> Sink:
        return RedisSink(self.url)

    def stored(self, sink: Sink) -> list[bytes]:
        return list(read_frames(self.url))

    def test_held_counter_adds_records(self) -> None:
        """Each write adds its record count to <prefix>:held, the drain's trigger."""
        sink = RedisSink(self.url)
        sink.write(FRAMES[:2], 5)
        sink.write(FRAMES[2:], 1)
        with redis.Redis.from_url(self.url) as client:
            assert int(client.get(config.held_key())) == 6
            assert client.xlen(config.stream_key()) == 3
        sink.close()

    def test_prefix_separates_recorders(self) -> None:
        """A sink with its own prefix writes its own stream and counter."""
        sink = RedisSink(self.url, prefix="other")
        sink.write(FRAMES, 3)
        assert list(read_frames(self.url, prefix="other")) == FRAMES
        assert list(read_frames(self.url)) == []
        with redis.Redis.from_url(self.url) as client:
            assert int(client.get("other:held")) == 3
        sink.close()

    def test_unreachable_server_is_a_sink_error(self, tmp_path: Path) -> None:
        """Writing to a server that is not there raises SinkError (and only that), quickly."""
        sink = RedisSink(f"unix://{tmp_path}/gone.sock")
        with pytest.raises(SinkError, match="cannot write to unix://"):
            sink.write(FRAMES, 3)

    def test_bad_url_is_a_config_error(self) -> None:
        """A URL that is not Redis is refused when the sink is made."""
        with pytest.raises(ConfigError, match="unsupported Redis URL"):
            RedisSink("http://example.org")
