"""The codebook: the names of a machine mapped to small integer codes.

Records carry only codes, so they are small and mean nothing without the codebook. A codebook is
derived from a machine definition and identified by a content fingerprint that every record frame
carries. Evolution keeps codes stable: names already known keep their code, new names get fresh
codes, and a removed name's code is retired, never handed to another name.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fsm_recorder.exceptions import CodebookError

FINGERPRINT_BYTES = 8
MAX_CODE = 0xFFFF
# Exceptions raised in callbacks are recorded by type; the built-in ones are known up front so that
# the common case never has to evolve the codebook while a machine runs.
BUILTIN_EXCEPTIONS = tuple(
    sorted(
        name
        for name, obj in vars(builtins).items()
        if isinstance(obj, type) and issubclass(obj, BaseException)
    )
)
Section = Literal["states", "events", "exceptions"]
SECTIONS: tuple[Section, ...] = ("states", "events", "exceptions")


class Codebook(BaseModel):
    """Names -> codes of one machine definition; codes start at 1 (0 means "none")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = 1
    machine: str
    version: int = 1
    separator: str = "_"
    initial: str = ""
    states: dict[str, int] = Field(default_factory=dict)
    events: dict[str, int] = Field(default_factory=dict)
    exceptions: dict[str, int] = Field(default_factory=dict)
    retired: dict[str, dict[str, int]] = Field(default_factory=dict)
    transitions: list[tuple[str, str, str]] = Field(default_factory=list)
    event_args: dict[str, list[str]] = Field(default_factory=dict)
    previous: str = ""

    @model_validator(mode="after")
    def _codes_fit_the_wire(self) -> Codebook:
        # Codes travel as u16 and must name one thing each, or decoding would be ambiguous.
        for section in SECTIONS:
            codes = list(getattr(self, section).values())
            if any(not 1 <= code <= MAX_CODE for code in codes):
                raise ValueError(f"{section}: codes must lie in 1..{MAX_CODE}")
            if len(set(codes)) != len(codes):
                raise ValueError(f"{section}: two names share one code")
        return self

    @property
    def fingerprint(self) -> str:
        """Hex digest of the content: 16 hex digits, the frame's 8-byte codebook reference."""
        payload = self.model_dump(mode="json")
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[: FINGERPRINT_BYTES * 2]

    def names(self, section: Section) -> dict[int, str]:
        """Code -> name for one section, the decoder's direction."""
        return {code: name for name, code in getattr(self, section).items()}

    def evolve(
        self,
        states: Iterable[str] = (),
        events: Iterable[str] = (),
        exceptions: Iterable[str] = (),
        *,
        keep_removed: bool = True,
        **fields: object,
    ) -> Codebook:
        """Return the next version holding these names; unchanged content returns `self`.

        With `keep_removed` (used for names discovered while running) names absent from the
        arguments stay; without it they are retired and their codes are never reused.
        """
        wanted = {"states": list(states), "events": list(events), "exceptions": list(exceptions)}
        if keep_removed:
            wanted = {s: [*getattr(self, s), *wanted[s]] for s in SECTIONS}
        sections: dict[str, dict[str, int]] = {s: self._recode(s, wanted[s]) for s in SECTIONS}
        retired = {
            s: {
                **self.retired.get(s, {}),
                **{n: c for n, c in getattr(self, s).items() if n not in sections[s]},
            }
            for s in SECTIONS
        }
        try:
            candidate = Codebook.model_validate(
                {**self.model_dump(), **sections, "retired": retired, **fields}
            )
        except ValidationError as exc:
            raise CodebookError(f"cannot evolve codebook of {self.machine!r}: {exc}") from exc
        if candidate.model_dump() == self.model_dump():
            return self
        return candidate.model_copy(
            update={"version": self.version + 1, "previous": self.fingerprint}
        )

    def _recode(self, section: Section, names: Iterable[str]) -> dict[str, int]:
        known: Mapping[str, int] = {**self.retired.get(section, {}), **getattr(self, section)}
        next_code = max(known.values(), default=0) + 1
        codes: dict[str, int] = {}
        for name in names:
            if name in codes:
                continue
            if name in known:
                codes[name] = known[name]
            else:
                codes[name] = next_code
                next_code += 1
        return codes

    def to_json(self) -> str:
        """The JSON form kept in the codebook store and in the archive.

        ASCII with escapes (the standard library's encoder): a name may be any Python string,
        lone surrogates included, which UTF-8 (pydantic's encoder) cannot carry.
        """
        return json.dumps(self.model_dump(), indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Codebook:
        """Parse a codebook; a malformed one is a `CodebookError` that says what is wrong."""
        try:
            return cls.model_validate(json.loads(text))
        except (ValueError, TypeError) as exc:  # JSON syntax, encoding and validation errors
            raise CodebookError(f"invalid codebook JSON: {exc}") from exc


def new_codebook(
    machine: str,
    states: Iterable[str],
    events: Iterable[str],
    *,
    previous: Codebook | None = None,
    exceptions: Iterable[str] = (),
    **fields: object,
) -> Codebook:
    """Build the codebook of a machine definition, evolving `previous` of the same machine."""
    base = previous if previous is not None else Codebook(machine=machine)
    if base.machine != machine:
        raise CodebookError(
            f"cannot evolve codebook of machine {base.machine!r} into machine {machine!r}"
        )
    all_exceptions = [*BUILTIN_EXCEPTIONS, "MachineError", *exceptions, *base.exceptions]
    evolved = base.evolve(states, events, all_exceptions, keep_removed=False, **fields)
    if previous is None:
        return evolved.model_copy(update={"version": 1, "previous": ""})
    return evolved
