"""Locations and settings: each has one environment variable that overrides it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fsm_recorder import config
from fsm_recorder.exceptions import ConfigError


def test_runtime_dir_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """FSM_RECORDER_RUNTIME_DIR wins, then XDG_RUNTIME_DIR/fsm-recorder, then a per-uid /tmp dir."""
    monkeypatch.setenv("FSM_RECORDER_RUNTIME_DIR", "/srv/fsmr")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert config.runtime_dir() == Path("/srv/fsmr")
    monkeypatch.delenv("FSM_RECORDER_RUNTIME_DIR")
    assert config.runtime_dir() == Path("/run/user/7/fsm-recorder")
    assert config.socket_path() == Path("/run/user/7/fsm-recorder/redis.sock")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert config.runtime_dir() == Path(f"/tmp/fsm-recorder-{os.getuid()}")


def test_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """FSM_RECORDER_URL wins; otherwise the per-host server's unix socket."""
    monkeypatch.setenv("FSM_RECORDER_URL", "redis://db:6379/2")
    assert config.default_url() == "redis://db:6379/2"
    monkeypatch.delenv("FSM_RECORDER_URL")
    monkeypatch.setenv("FSM_RECORDER_RUNTIME_DIR", "/srv/fsmr")
    assert config.default_url() == "unix:///srv/fsmr/redis.sock"


def test_codebook_dir_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """FSM_RECORDER_CODEBOOKS wins, then XDG_DATA_HOME, then ~/.local/share."""
    monkeypatch.setenv("FSM_RECORDER_CODEBOOKS", "/data/books")
    assert config.codebook_dir() == Path("/data/books")
    monkeypatch.delenv("FSM_RECORDER_CODEBOOKS")
    monkeypatch.setenv("XDG_DATA_HOME", "/data/xdg")
    assert config.codebook_dir() == Path("/data/xdg/fsm-recorder/codebooks")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", "/home/ann")
    assert config.codebook_dir() == Path("/home/ann/.local/share/fsm-recorder/codebooks")


def test_keys_use_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream and counter keys carry the prefix: explicit, FSM_RECORDER_PREFIX, or 'fsmr'."""
    assert (config.stream_key(), config.held_key()) == ("fsmr:frames", "fsmr:held")
    monkeypatch.setenv("FSM_RECORDER_PREFIX", "team")
    assert (config.stream_key(), config.held_key()) == ("team:frames", "team:held")
    assert config.stream_key("mine") == "mine:frames"


@pytest.mark.parametrize(
    "url", ["redis://localhost:6379/0", "rediss://db.example:6380", "unix:///run/x/redis.sock"]
)
def test_check_url_accepts_redis_urls(url: str) -> None:
    """Redis, TLS Redis and unix socket URLs are returned unchanged."""
    assert config.check_url(url) == url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://localhost:6379", "unsupported Redis URL"),
        ("localhost:6379", "unsupported Redis URL"),
        ("unix://", "names no socket path"),
        ("redis://:6379/0", "names no host"),
    ],
)
def test_check_url_rejects_with_a_fix(url: str, fragment: str) -> None:
    """A malformed URL is a ConfigError that says what is wrong and the expected form."""
    with pytest.raises(ConfigError, match=fragment) as info:
        config.check_url(url)
    assert "://" in str(info.value).split(":", 1)[1]
