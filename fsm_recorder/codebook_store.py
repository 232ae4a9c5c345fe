"""The codebook store: one JSON file per codebook version, kept apart from the record stream.

Recorders fill it when they first record a machine; readers (`show`, the drain, the archive) take
codebooks from it by fingerprint. It is a plain directory so that it can be copied, versioned or
shipped to whoever holds the key to the records.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fsm_recorder import config
from fsm_recorder.codebook import Codebook
from fsm_recorder.exceptions import CodebookError


class CodebookStore:
    """A directory of `<fingerprint>.json` codebooks; reads are cached, writes are atomic."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else config.codebook_dir()
        self._cache: dict[str, Codebook] = {}

    def save(self, codebook: Codebook) -> str:
        """Store `codebook` (once per fingerprint) and return its fingerprint."""
        fingerprint = codebook.fingerprint
        if fingerprint in self._cache:
            return fingerprint
        path = self.directory / f"{fingerprint}.json"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w") as handle:
                handle.write(codebook.to_json())
            os.replace(tmp, path)
        self._cache[fingerprint] = codebook
        return fingerprint

    def get(self, fingerprint: str) -> Codebook | None:
        """The codebook with this fingerprint, or None when the store does not hold it."""
        if fingerprint in self._cache:
            return self._cache[fingerprint]
        path = self.directory / f"{fingerprint}.json"
        if not path.is_file():
            return None
        codebook = Codebook.from_json(path.read_bytes())
        if codebook.fingerprint != fingerprint:
            raise CodebookError(
                f"codebook file {path} does not match its fingerprint (edited by hand?): "
                f"content says {codebook.fingerprint}"
            )
        self._cache[fingerprint] = codebook
        return codebook

    def load(self, fingerprint: str) -> Codebook:
        """Like `get`, but a missing codebook is a `CodebookError` that says what to do."""
        codebook = self.get(fingerprint)
        if codebook is None:
            raise CodebookError(
                f"codebook {fingerprint} is not in the store {self.directory}: copy it from the "
                "producing host (`fsm-recorder codebook export`) and `fsm-recorder codebook import` "
                "it, or point FSM_RECORDER_CODEBOOKS at the right directory"
            )
        return codebook

    def all(self) -> list[Codebook]:
        """Every codebook in the store, oldest version first."""
        if not self.directory.is_dir():
            return []
        found = [self.get(p.stem) for p in sorted(self.directory.glob("*.json"))]
        return sorted((c for c in found if c is not None), key=lambda c: (c.machine, c.version))

    def latest(self, machine: str) -> Codebook | None:
        """The newest codebook of a machine, the base its next version evolves from."""
        versions = [c for c in self.all() if c.machine == machine]
        return versions[-1] if versions else None
