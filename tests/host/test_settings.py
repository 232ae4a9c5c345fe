"""The server's settings: from the environment, checked early, sizes in Redis units."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError
from fsm_recorder.host._settings import ServerConfig, redis_size


def test_config_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env() reads the FSM_RECORDER_SERVER_* settings and puts the socket where URLs look."""
    monkeypatch.setenv("FSM_RECORDER_SERVER_MAXMEMORY", "1gb")
    monkeypatch.setenv("FSM_RECORDER_SERVER_APPENDONLY", "no")
    monkeypatch.setenv("FSM_RECORDER_SERVER_APPENDFSYNC", "always")
    monkeypatch.setenv("FSM_RECORDER_SERVER_ARGS", "--loglevel warning")
    cfg = ServerConfig.from_env()
    assert (cfg.maxmemory, cfg.appendonly, cfg.appendfsync) == ("1gb", False, "always")
    assert cfg.extra_args == ("--loglevel", "warning")
    assert cfg.socket == config.socket_path()
    assert cfg.url == config.default_url()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FSM_RECORDER_SERVER_APPENDONLY", "maybe"),
        ("FSM_RECORDER_SERVER_APPENDFSYNC", "sometimes"),
        ("FSM_RECORDER_SERVER_MAXMEMORY", "lots"),
    ],
)
def test_bad_settings_are_config_errors(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed setting fails early with a ConfigError naming the value."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=value):
        ServerConfig.from_env()


def test_sizes_are_redis_units() -> None:
    """k/m/g are powers of ten and kb/mb/gb powers of two, as in redis.conf; others are None."""
    assert [redis_size(t) for t in ("64mb", "64m", "2k", "2KB", "1gb", "512")] == [
        64 * 2**20,
        64_000_000,
        2000,
        2048,
        2**30,
        512,
    ]
    assert [redis_size(t) for t in ("lots", "1.5mb", "-1", "")] == [None, None, None, None]
