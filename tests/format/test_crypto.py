"""Encrypted frames: only private-key holders read them, any change is detected, keys rotate."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_recorder.cli._keys import keys_group
from fsm_recorder.exceptions import ConfigError, DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._crypto import (
    KEYS_ENV,
    KeyRing,
    PrivateKey,
    PublicKey,
)
from fsm_recorder.read._decoder import SessionDecoder
from fsm_recorder.read._load import load_sessions, read_frames
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._default import memory_recorder
from fsm_recorder.ship._recorder import Recorder

ARCHIVE = PrivateKey.generate()
OTHER = PrivateKey.generate()


def _record(recorder: Recorder, session_id: str = "secret-order-42") -> None:
    machine = RecordedMachine(
        states=["new", "paid"],
        transitions=[["pay", "new", "paid"]],
        initial="new",
        recorder=recorder,
        name="Order",
        session_id=session_id,
        record_args={"pay": ["amount"]},
    )
    machine.pay(amount=12)
    recorder.flush()


def _frames(key: PrivateKey | PublicKey, session_id: str = "secret-order-42") -> list[bytes]:
    public = key.public if isinstance(key, PrivateKey) else key
    rec = memory_recorder(encrypt_to=public)
    _record(rec, session_id)
    return rec.sink.frames


def test_encrypted_frames_decode_only_with_the_private_key() -> None:
    """Sealed frames hide their records; the key ring decodes them to the same session."""
    rec = memory_recorder(encrypt_to=ARCHIVE.public)
    _record(rec)
    [frame] = rec.sink.frames
    assert frame[wire.FLAGS_OFFSET] & wire.FLAG_ENCRYPTED
    assert b"secret-order-42" not in frame
    assert b'"amount"' not in frame
    decoder = SessionDecoder(rec.codebooks, keys=KeyRing([ARCHIVE]))
    decoder.add_frame(frame)
    [session] = decoder.sessions()
    assert session.id == "secret-order-42"
    assert session.events() == ["pay"]
    assert session.steps[0].kind == "session_start"
    assert [s.args for s in session.steps if s.kind == "event"] == [{"amount": 12}]


def test_without_the_key_decoding_fails_with_the_key_id() -> None:
    """A frame sealed to a key the ring lacks is a DecodeError naming that key's id; the wire
    format itself holds no keys, so without a ring it is a DecodeError too."""
    [frame] = _frames(ARCHIVE)
    with pytest.raises(DecodeError, match="no private key"):
        wire.decode_frame(frame)
    with pytest.raises(DecodeError, match=ARCHIVE.public.id.hex()):
        wire.decode_frame(frame, KeyRing([OTHER]))
    with pytest.raises(DecodeError, match=KEYS_ENV):
        wire.decode_frame(frame, KeyRing())


def test_any_changed_byte_is_detected() -> None:
    """Flipping any single byte of a sealed frame (clear header included) fails to decode."""
    [frame] = _frames(ARCHIVE)
    ring = KeyRing([ARCHIVE])
    for position in range(len(frame)):
        tampered = bytearray(frame)
        tampered[position] ^= 0x01
        with pytest.raises(DecodeError):
            wire.decode_frame(bytes(tampered), ring)


def test_a_clear_part_cannot_be_moved_onto_another_sealed_body() -> None:
    """Swapping the clear part (producer, seq, fingerprints) of two frames breaks both."""
    [first], [second] = _frames(ARCHIVE, "a"), _frames(ARCHIVE, "b")
    head_a, _ = wire.split_frame(first)
    head_b, body_b = wire.split_frame(second)
    assert len(head_a) == len(head_b)
    with pytest.raises(DecodeError):
        wire.decode_frame(head_a + body_b, KeyRing([ARCHIVE]))


@pytest.fixture(scope="module")
def sealed_frame(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One sealed frame, recorded into a codebook store of the test's own."""
    store = CodebookStore(tmp_path_factory.mktemp("codebooks"))
    rec = memory_recorder(encrypt_to=ARCHIVE.public, codebooks=store)
    _record(rec)
    return rec.sink.frames[0]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_encrypted_frames_only_raise_decode_error(
    sealed_frame: bytes, data: st.DataObject
) -> None:
    """Truncated, extended or overwritten encrypted frames raise DecodeError and nothing else."""
    frame = bytearray(sealed_frame)
    cut = data.draw(st.integers(0, len(frame)))
    junk = data.draw(st.binary(max_size=8))
    at = data.draw(st.integers(0, len(frame) - 1))
    mutated = bytes(frame[:at] + junk + frame[at + len(junk) : cut or None])
    if mutated == sealed_frame:
        return
    with pytest.raises(DecodeError):
        wire.decode_frame(mutated, KeyRing([ARCHIVE]))


def test_rotation_old_records_decode_with_the_old_key() -> None:
    """Frames sealed to an old and a new key decode with a ring holding both."""
    old, new = _frames(OTHER, "before"), _frames(ARCHIVE, "after")
    decoder = SessionDecoder(keys=KeyRing([ARCHIVE, OTHER]))  # the test's codebook store
    decoder.add_frames(old + new)
    assert sorted(s.id for s in decoder.sessions()) == ["after", "before"]
    with pytest.raises(DecodeError):
        SessionDecoder(keys=KeyRing([ARCHIVE])).add_frames(old)


def test_cli_generates_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    """`keys generate` writes NAME.key (0600) and NAME.pub that seal and open; never overwrites."""
    result = CliRunner().invoke(keys_group, ["generate", "prod", "--dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    private, public = Path(out["private"]), Path(out["public"])
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key, pub = PrivateKey.load(private), PublicKey.load(public)
    assert key.public.id == pub.id
    assert out["id"] == pub.id.hex()
    [frame] = _frames(pub)
    assert (
        len(wire.decode_frame(frame, KeyRing([key])).records) == 6
    )  # start, event, args, transition, exit, enter
    again = CliRunner().invoke(keys_group, ["generate", "prod", "--dir", str(tmp_path)])
    assert again.exit_code == 1
    assert "exists" in again.output


def test_bad_key_files_are_config_errors(tmp_path: Path) -> None:
    """A missing or non-key file is a ConfigError saying which file."""
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    with pytest.raises(ConfigError, match=r"junk\.key"):
        PrivateKey.load(junk)
    with pytest.raises(ConfigError, match=r"missing\.pub"):
        PublicKey.load(tmp_path / "missing.pub")


def test_readers_take_keys_from_the_environment(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through Redis: frames stay sealed there, and readers decode with FSM_RECORDER_KEYS."""
    ARCHIVE.save(tmp_path / "a.key", tmp_path / "a.pub")
    with Recorder(redis_url, encrypt_to=PublicKey.load(tmp_path / "a.pub")) as rec:
        _record(rec)
    frames = list(read_frames(redis_url))
    assert all(b"secret-order-42" not in f for f in frames)
    with pytest.raises(DecodeError):
        load_sessions(redis_url, codebooks=rec.codebooks)
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "a.key"))
    [session] = load_sessions(redis_url, codebooks=rec.codebooks)
    assert session.id == "secret-order-42"
