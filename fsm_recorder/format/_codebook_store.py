"""The codebook store: one JSON file per codebook version, kept apart from the record stream.

Recorders fill it when they first record a machine; readers (`show`, the drain, the archive) take
codebooks from it by fingerprint. It is a plain directory so that it can be copied, versioned or
shipped to whoever holds the key to the records.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fsm_recorder import config
from fsm_recorder.exceptions import CodebookError
from fsm_recorder.format._codebook import Codebook, new_codebook


class CodebookStore:
    """A directory of `<fingerprint>.json` codebooks; reads are cached, writes are atomic."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else config.codebook_dir()
        self._cache: dict[str, Codebook] = {}
        self._latest: dict[str, Codebook | None] = {}
        self._derived: dict[str, Codebook] = {}

    def save(self, codebook: Codebook) -> str:
        """Store `codebook` (once per fingerprint) and return its fingerprint."""
        fingerprint = codebook.fingerprint
        if fingerprint in self._cache:
            return fingerprint
        path = self.directory / f"{fingerprint}.json"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(codebook.to_json())
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)  # a disk full or a size limit must not leave debris behind
                raise
        self._cache[fingerprint] = codebook
        known = self._latest.get(codebook.machine)
        if codebook.machine in self._latest and (
            known is None or codebook.version >= known.version
        ):
            self._latest[codebook.machine] = codebook
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
                f"codebook {fingerprint} is not in the store {self.directory}: copy it from "
                "the producing host (`fsm-recorder codebook export`), `fsm-recorder codebook "
                "import` it, or point FSM_RECORDER_CODEBOOKS at the right directory"
            )
        return codebook

    def all(self) -> list[Codebook]:
        """Every codebook in the store, oldest version first."""
        if not self.directory.is_dir():
            return []
        # pathlib's glob matches dot files: skip `save`'s temporary files, maybe half written.
        paths = sorted(p for p in self.directory.glob("*.json") if not p.name.startswith("."))
        found = [self.get(p.stem) for p in paths]
        return sorted((c for c in found if c is not None), key=lambda c: (c.machine, c.version))

    def latest(self, machine: str) -> Codebook | None:
        """The newest codebook of a machine, the base its next version evolves from.

        The directory is read once per machine name; versions this store saves later are
        tracked, versions other processes write meanwhile are not (they are still read by
        fingerprint, and evolution keeps codes stable either way).
        """
        if machine not in self._latest:
            versions = [c for c in self.all() if c.machine == machine]
            self._latest[machine] = versions[-1] if versions else None
        return self._latest[machine]

    def codebook_for(self, machine: str, **definition: Any) -> Codebook:
        """The codebook of a machine definition, evolved from the latest stored version.

        Memoised per definition, so that an application building a machine per request derives
        and evolves its codebook once, not on every construction.
        """
        key = json.dumps([machine, definition], sort_keys=True, default=list)
        found = self._derived.get(key)
        if found is None:
            found = new_codebook(machine, previous=self.latest(machine), **definition)
            self._derived[key] = found
        return found
