"""Frames encrypted to the archive's public key, for hosts that should only ever write.

Each frame gets its own ephemeral X25519 key: the shared secret with the archive's public key goes
through HKDF-SHA256 into an AES-256-GCM key, and the frame body (records, payloads) is encrypted
with the frame's clear part as associated data: header (producer, first seq, record count, pid),
host and session table (codebook fingerprints). The host keeps no secret, so neither it nor a
copy of its Redis can read a past frame, and changing any byte of a frame (header included)
makes it fail to decode. Only holders of the private key read; a frame names its key by id, so
a `KeyRing` of old and new private keys reads across a key rotation.

What it does not do: the public key is public, so a compromised host can still write *new*
frames that decode (it is a producer); it cannot alter or read existing ones.

Sealed body layout (after the clear part, whose flags carry `wire.FLAG_ENCRYPTED`):
``key id (8) | ephemeral public key (32) | nonce (12) | AES-GCM ciphertext + tag (16)``.

Needs the optional extra ``crypto`` (``pip install 'fsm-recorder[crypto]'``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from fsm_recorder.exceptions import ConfigError, DecodeError
from fsm_recorder.format import _wire as wire

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

KEYS_ENV = "FSM_RECORDER_KEYS"
KEY_ID = 8
_PUBLIC = 32
_NONCE = 12
_INFO = b"fsm-recorder frame v1"
_EXTRA = "install the optional extra: pip install 'fsm-recorder[crypto]'"


def _require() -> None:
    try:
        import cryptography  # noqa: F401 - only whether it is there
    except ImportError as exc:
        raise ConfigError(f"encrypted frames need the `cryptography` package: {_EXTRA}") from exc


def _raw(key: X25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(SHA256(), 32, salt=ephemeral + recipient, info=_INFO).derive(shared)


def key_id(raw_public: bytes) -> bytes:
    """The 8-byte id a frame carries to name the key it was encrypted to."""
    return hashlib.sha256(raw_public).digest()[:KEY_ID]


class PublicKey:
    """The archive's public key: what `Recorder(encrypt_to=...)` seals frames with."""

    def __init__(self, key: X25519PublicKey) -> None:
        self._key = key
        self.raw = _raw(key)
        self.id = key_id(self.raw)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PublicKey:
        """Read a public key file written by `PrivateKey.save` (PEM)."""
        _require()
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            key = load_pem_public_key(_read(path))
        except ValueError as exc:
            raise ConfigError(f"{path} is not a PEM public key: {exc}") from exc
        if not isinstance(key, X25519PublicKey):
            raise ConfigError(f"{path} is not an X25519 public key (make one: keys generate)")
        return cls(key)

    def seal(self, frame: bytes) -> bytes:
        """Encrypt a frame's body to this key, binding its clear part as associated data."""
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        head, body = wire.split_frame(frame)
        head = wire.with_flags(head, wire.FLAG_ENCRYPTED)
        ephemeral = X25519PrivateKey.generate()
        eph_raw = _raw(ephemeral.public_key())
        secret = _derive(ephemeral.exchange(self._key), eph_raw, self.raw)
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(secret).encrypt(nonce, body, head)
        return head + self.id + eph_raw + nonce + sealed


class PrivateKey:
    """An archive private key: decodes frames sealed to its public key."""

    def __init__(self, key: X25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey(key.public_key())

    @classmethod
    def generate(cls) -> PrivateKey:
        """A new random key pair."""
        _require()
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        return cls(X25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PrivateKey:
        """Read a private key file written by `save` (PEM, PKCS#8, unencrypted)."""
        _require()
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(_read(path), password=None)
        except ValueError as exc:
            raise ConfigError(f"{path} is not a PEM private key: {exc}") from exc
        if not isinstance(key, X25519PrivateKey):
            raise ConfigError(f"{path} is not an X25519 private key (make one: keys generate)")
        return cls(key)

    def save(self, private_path: Path, public_path: Path) -> None:
        """Write the private key (mode 0600, never world-readable) and the public key."""
        from cryptography.hazmat.primitives import serialization as ser

        private = self._key.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()
        )
        public = self.public._key.public_bytes(
            ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private)
        public_path.write_bytes(public)

    def open(self, head: bytes, sealed: bytes) -> bytes:
        """Decrypt a body sealed by `PublicKey.seal`; a wrong key or any change is a DecodeError."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        start = KEY_ID + _PUBLIC
        eph_raw, nonce = sealed[KEY_ID:start], sealed[start : start + _NONCE]
        try:
            ephemeral = X25519PublicKey.from_public_bytes(eph_raw)
            secret = _derive(self._key.exchange(ephemeral), eph_raw, self.public.raw)
            return AESGCM(secret).decrypt(nonce, sealed[start + _NONCE :], head)
        except (InvalidTag, ValueError) as exc:
            raise DecodeError("encrypted frame does not authenticate: tampered or damaged") from exc


class KeyRing:
    """Private keys by id: reads frames sealed to any of them (old keys after a rotation)."""

    def __init__(self, keys: Iterable[PrivateKey] = ()) -> None:
        self.keys: Mapping[bytes, PrivateKey] = {k.public.id: k for k in keys}

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike[str]]) -> KeyRing:
        """A ring of the private key files at `paths`."""
        return cls(PrivateKey.load(path) for path in paths)

    def open(self, head: bytes, sealed: bytes) -> bytes:
        """Decrypt with the key the frame names (the `wire.Opener` protocol)."""
        key = self.keys.get(bytes(sealed[:KEY_ID]))
        if key is None:
            raise DecodeError(
                f"frame is encrypted to key {bytes(sealed[:KEY_ID]).hex()}, which the key ring "
                f"does not hold: pass its private key (--key FILE or {KEYS_ENV})"
            )
        return key.open(head, sealed)


_from_env: tuple[str, KeyRing] | None = None


def default_keyring(paths: Iterable[str | os.PathLike[str]] = ()) -> KeyRing:
    """What readers decrypt with: the key files at `paths` (``--key``), then ``FSM_RECORDER_KEYS``.

    The variable holds os.pathsep-separated paths; its ring is loaded once per value.
    """
    global _from_env  # noqa: PLW0603 - loaded once per value of the variable
    value = os.environ.get(KEYS_ENV, "")
    if _from_env is None or _from_env[0] != value:
        _from_env = (value, KeyRing.load(p for p in value.split(os.pathsep) if p))
    given = [PrivateKey.load(path) for path in paths]
    return KeyRing([*given, *_from_env[1].keys.values()]) if given else _from_env[1]


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc}") from exc
