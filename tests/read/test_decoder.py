"""SessionDecoder: codes -> names through the right codebook, never a guessed name."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsm_recorder.exceptions import CodebookError, DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import new_codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._wire import Kind
from fsm_recorder.read._decoder import SessionDecoder, decode_sessions

BOOK = new_codebook("Door", ["closed", "open"], ["push", "pull"])


def _frame(*slots: bytes, first_seq: int = 0, sessions: dict[int, str] | None = None) -> bytes:
    return wire.encode_frame(
        producer=b"\x01" * 8,
        pid=99,
        host="h",
        first_seq=first_seq,
        slots=b"".join(slots),
        sessions=sessions or {1: BOOK.fingerprint},
    )


def _start(session: int = 1, sid: str = "door-1") -> bytes:
    return wire.pack_with_payload(Kind.SESSION_START, 0, 0, session, 1, sid.encode())


def _rec(kind: int, a: int, b: int, c: int = 0, session: int = 1, ts: int = 2) -> bytes:
    return wire.RECORD.pack(kind, 0, a, b, c, session, ts)


@pytest.fixture
def store(tmp_path: Path) -> CodebookStore:
    """A store holding BOOK."""
    books = CodebookStore(tmp_path)
    books.save(BOOK)
    return books


def test_codes_become_names(store: CodebookStore) -> None:
    """Each record kind is decoded into a step with the codebook's names."""
    frame = _frame(
        _start(),
        _rec(Kind.EVENT, 1, 1),
        _rec(Kind.TRANSITION, 1, 1, 2),
        _rec(Kind.EXIT, 1, 1),
        _rec(Kind.ENTER, 1, 2),
        _rec(Kind.REJECTED, 2, 2, wire.Reason.CONDITIONS),
        _rec(Kind.EXCEPTION, 2, 2, BOOK.exceptions["KeyError"]),
        _rec(Kind.SESSION_END, 0, 2),
    )
    [session] = decode_sessions([frame], store)
    assert (session.id, session.machine, session.host, session.pid) == ("door-1", "Door", "h", 99)
    assert [
        (s.seq, s.kind, s.event, s.source, s.dest, s.state, s.detail) for s in session.steps
    ] == [
        (0, "session_start", "", "", "", "", ""),
        (1, "event", "push", "", "", "closed", ""),
        (2, "transition", "push", "closed", "open", "closed", ""),
        (3, "exit", "push", "", "", "closed", ""),
        (4, "enter", "push", "", "", "open", ""),
        (5, "rejected", "pull", "", "", "open", "conditions"),
        (6, "exception", "pull", "", "", "open", "KeyError"),
        (7, "session_end", "", "", "", "open", ""),
    ]


def test_missing_codebook_is_a_codebook_error(tmp_path: Path) -> None:
    """A frame whose codebook is not in the store raises CodebookError saying how to fix it."""
    with pytest.raises(CodebookError, match=f"{BOOK.fingerprint}.*codebook export"):
        decode_sessions([_frame(_start())], CodebookStore(tmp_path))


def test_frame_can_be_decoded_once_its_codebook_arrives(tmp_path: Path) -> None:
    """After a CodebookError, importing the codebook and adding the frame again decodes it."""
    books = CodebookStore(tmp_path)
    decoder = SessionDecoder(books)
    frame = _frame(_start(), _rec(Kind.EVENT, 1, 1))
    with pytest.raises(CodebookError):
        decoder.add_frame(frame)
    books.save(BOOK)
    decoder.add_frame(frame)
    [session] = decoder.sessions()
    assert [s.kind for s in session.steps] == ["session_start", "event"]


@pytest.mark.parametrize(
    "record",
    [
        _rec(Kind.EVENT, 9, 1),
        _rec(Kind.EVENT, 1, 9),
        _rec(Kind.TRANSITION, 1, 1, 9),
        _rec(Kind.EXCEPTION, 1, 1, 999),
    ],
)
def test_unknown_code_is_a_decode_error(store: CodebookStore, record: bytes) -> None:
    """A code the codebook does not hold is a DecodeError naming the codebook, never a name."""
    with pytest.raises(DecodeError, match=f"code 9+, which codebook {BOOK.fingerprint}"):
        decode_sessions([_frame(_start(), record)], store)


def test_same_frame_twice_is_decoded_once(store: CodebookStore) -> None:
    """Adding a frame again (Redis and archive overlap) adds no step twice and no gap."""
    frame = _frame(_start(), _rec(Kind.EVENT, 1, 1))
    decoder = SessionDecoder(store)
    decoder.add_frames([frame, frame])
    [session] = decoder.sessions()
    assert [s.seq for s in session.steps] == [0, 1]
    assert decoder.gaps() == {"01" * 8: 0}


def test_gaps_count_missing_sequence_numbers(store: CodebookStore) -> None:
    """Records missing between two frames of a producer are counted as its gap."""
    decoder = SessionDecoder(store)
    decoder.add_frames([_frame(_start()), _frame(_rec(Kind.EVENT, 1, 1), first_seq=6)])
    assert decoder.gaps() == {"01" * 8: 5}


def test_args_attach_to_their_event(store: CodebookStore) -> None:
    """An ARGS record's JSON lands on its event step, even with another session in between."""
    frame = _frame(
        _start(),
        _start(2, "door-2"),
        _rec(Kind.EVENT, 1, 1),
        _rec(Kind.EVENT, 2, 1, session=2),
        wire.pack_with_payload(Kind.ARGS, 1, 0, 1, 3, b'{"force":3}'),
        sessions={1: BOOK.fingerprint, 2: BOOK.fingerprint},
    )
    first, second = decode_sessions([frame], store)
    assert [s.args for s in first.of_kind("event")] == [{"force": 3}]
    assert [s.args for s in second.of_kind("event")] == [None]


def test_malformed_args_are_a_decode_error(store: CodebookStore) -> None:
    """An ARGS record that is not JSON raises DecodeError."""
    frame = _frame(
        _start(), _rec(Kind.EVENT, 1, 1), wire.pack_with_payload(Kind.ARGS, 1, 0, 1, 3, b"{nope")
    )
    with pytest.raises(DecodeError, match="malformed arguments"):
        decode_sessions([frame], store)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 30_000,
        b'{"a":' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        b"[1,2]",
        b'{"a":{"b":1}}',
        b'{"a":1' + b"0" * 5000 + b"}",
        b"\xff\xfe",
    ],
    ids=["deep-list", "deep-value", "not-an-object", "nested-value", "huge-int", "not-utf8"],
)
def test_args_other_than_an_object_of_scalars_are_a_decode_error(
    store: CodebookStore, payload: bytes
) -> None:
    """Recorders write an object of scalars; anything else (30,000-deep nesting too) is bad."""
    frame = _frame(
        _start(), _rec(Kind.EVENT, 1, 1), wire.pack_with_payload(Kind.ARGS, 1, 0, 1, 3, payload)
    )
    with pytest.raises(DecodeError, match="malformed arguments"):
        decode_sessions([frame], store)


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_PAYLOADS = st.one_of(
    st.binary(max_size=60),
    _JSON.map(lambda value: json.dumps(value).encode()),
    st.integers(1, 40_000).map(lambda depth: b"[" * depth),
    st.integers(1, 40_000).map(lambda depth: b'{"a":' + b"{" * depth),
)


@st.composite
def _session_frames(draw: st.DrawFn) -> bytes:
    """A frame of two sessions with any records and payloads, maybe damaged afterwards."""
    slots = [_start(1), _start(2, "door-2")]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(list(Kind)))
        a, b, c = (draw(st.integers(0, 3)) for _ in range(3))
        session = draw(st.sampled_from([1, 2]))
        if kind in (Kind.ARGS, Kind.SESSION_START):
            slots.append(wire.pack_with_payload(kind, a, b, session, 3, draw(_PAYLOADS)))
        else:
            slots.append(_rec(kind, a, b, c, session))
    frame = bytearray(
        _frame(
            *slots,
            sessions={1: BOOK.fingerprint, 2: BOOK.fingerprint},
            first_seq=draw(st.integers(0, 2**64 - 100)),
        )
    )
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(frame) - 1))
        frame[at] ^= draw(st.integers(1, 255))
    return bytes(frame)


def _decode_only_fails_cleanly(store: CodebookStore, frames: list[bytes]) -> None:
    """Decode like `show --json` does; a DecodeError (or a codebook missing) is all that escapes."""
    decoder = SessionDecoder(store)
    for frame in frames:
        try:
            decoder.add_frame(frame)
        except DecodeError:
            pass
        except CodebookError as exc:  # a damaged session table names a codebook nobody has
            missing = str(exc)
            assert "is not in the store" in missing, missing
    for session in decoder.sessions():
        json.dumps([step.to_dict() for step in session.steps])
        with contextlib.suppress(DecodeError):
            session.events()


def _fuzz_session_decoder(store: CodebookStore, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(_session_frames(), min_size=1, max_size=3))
    def run(frames: list[bytes]) -> None:
        _decode_only_fails_cleanly(store, frames)

    run()


def test_fuzz_session_decoder_and_argument_payloads(store: CodebookStore) -> None:
    """Frames of any records and payloads, damaged or not, decode or raise DecodeError only."""
    _fuzz_session_decoder(store, 300)


@pytest.mark.slow
def test_fuzz_session_decoder_for_two_minutes(
    store: CodebookStore, request: pytest.FixtureRequest
) -> None:
    """The same fuzzer, fresh examples for at least two minutes (run with ``-m slow``)."""
    if "slow" not in str(request.config.getoption("markexpr")):
        pytest.skip("a two-minute fuzz run: select it with -m slow")
    until = time.monotonic() + 120
    while time.monotonic() < until:
        _fuzz_session_decoder(store, 2000)


def test_frames_out_of_order_give_steps_in_seq_order(store: CodebookStore) -> None:
    """Frames added out of order (archive, then Redis) still give steps in seq order."""
    late = _frame(_rec(Kind.EVENT, 2, 2, ts=50), first_seq=3)
    early = _frame(
        _start(2, "b"),
        _start(1, "a"),
        _rec(Kind.EVENT, 1, 1, ts=5),
        sessions={1: BOOK.fingerprint, 2: BOOK.fingerprint},
    )
    a_session, b_session = (
        s for s in sorted(decode_sessions([late, early], store), key=lambda s: s.id)
    )
    assert [s.seq for s in a_session.steps] == [1, 2, 3]
    assert a_session.events() == ["push", "pull"]
    assert b_session.steps[0].kind == "session_start"
