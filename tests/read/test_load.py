"""Reading sessions back from Redis: every frame once, bad frames reported, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from recordings import add_junk_frame, record_orders

from fsm_recorder import config
from fsm_recorder.cli import main
from fsm_recorder.exceptions import ConfigError, DecodeError, SinkError
from fsm_recorder.format import _wire as wire
from fsm_recorder.read._load import find_session, load_sessions, read_frames


def test_read_frames_pages_through_the_stream(redis_url: str) -> None:
    """read_frames yields every frame in stream order, across pages of 1000."""
    with redis.Redis.from_url(redis_url) as client:
        for n in range(2500):
            client.xadd(config.stream_key(), {b"f": n.to_bytes(2, "big")})
    assert [int.from_bytes(f, "big") for f in read_frames(redis_url)] == list(range(2500))


def test_load_sessions_decodes_everything(redis_url: str) -> None:
    """Each recorded session comes back once, with its steps."""
    record_orders(redis_url, "o-1", "o-2", refund=False)
    sessions = load_sessions(redis_url)
    assert [s.id for s in sessions] == ["o-1", "o-2"]
    assert all(s.events() == ["pay"] and s.ended for s in sessions)


def test_bad_frame_goes_to_on_error_and_the_rest_is_read(redis_url: str) -> None:
    """A corrupt frame is reported to on_error with its position; the other sessions still load."""
    record_orders(redis_url, "o-1", refund=False)
    add_junk_frame(redis_url)
    record_orders(redis_url, "o-2", refund=False)
    problems: list[tuple[str, Exception]] = []
    sessions = load_sessions(redis_url, on_error=lambda where, exc: problems.append((where, exc)))
    assert [s.id for s in sessions] == ["o-1", "o-2"]
    assert [(where, type(exc)) for where, exc in problems] == [("frame 2", DecodeError)]


def test_bad_frame_raises_by_default(redis_url: str) -> None:
    """Without on_error a corrupt frame raises its DecodeError."""
    add_junk_frame(redis_url)
    with pytest.raises(DecodeError):
        load_sessions(redis_url)


def test_server_down_is_a_sink_error_naming_the_status_command(tmp_path: Path) -> None:
    """An unreachable server is a SinkError that points at `fsm-recorder server status`."""
    with pytest.raises(SinkError, match="fsm-recorder server status"):
        load_sessions(f"unix://{tmp_path}/gone.sock")


def test_find_session_by_id_or_key(redis_url: str) -> None:
    """find_session accepts the session ID or its producer:number key; unknown is a ConfigError."""
    record_orders(redis_url, "o-1", "o-2", refund=False)
    sessions = load_sessions(redis_url)
    assert find_session(sessions, "o-2") is sessions[1]
    assert find_session(sessions, sessions[0].key) is sessions[0]
    with pytest.raises(ConfigError, match=r"no session 'o-3'.*fsm-recorder sessions"):
        find_session(sessions, "o-3")


def test_a_bad_session_hides_no_other_session_of_its_frame(redis_url: str) -> None:
    """A 30,000-deep argument payload is reported for its session; the frame's others load."""
    record_orders(redis_url, "o-1", refund=False)
    [good] = load_sessions(redis_url)
    slots = b"".join(
        [
            wire.pack_with_payload(wire.Kind.SESSION_START, 0, 0, 1, 5, b"bad"),
            wire.RECORD.pack(wire.Kind.EVENT, 0, 1, 1, 0, 1, 6),
            wire.pack_with_payload(wire.Kind.ARGS, 1, 0, 1, 7, b"[" * 30_000),
            wire.pack_with_payload(wire.Kind.SESSION_START, 0, 0, 2, 8, b"fine"),
            wire.RECORD.pack(wire.Kind.EVENT, 0, 1, 1, 0, 2, 9),
        ]
    )
    frame = wire.encode_frame(
        producer=b"\x07" * 8,
        pid=1,
        host="h",
        first_seq=0,
        slots=slots,
        sessions={1: good.codebook, 2: good.codebook},
    )
    with redis.Redis.from_url(redis_url) as client:
        client.xadd(config.stream_key(), {config.FRAME_FIELD: frame})
    problems: list[tuple[str, Exception]] = []
    sessions = load_sessions(redis_url, on_error=lambda where, exc: problems.append((where, exc)))
    assert sorted(s.id for s in sessions) == ["bad", "fine", "o-1"]
    assert [type(exc) for _, exc in problems] == [DecodeError]
    result = CliRunner().invoke(main, ["sessions", "--json", "--url", redis_url])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "malformed arguments" in result.output
