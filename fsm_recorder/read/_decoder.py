"""Frames + codebooks -> Sessions: the single decoding path every reader uses.

Redis, the archive and the memory sink all hand frames (or raw records) to `SessionDecoder`, which
groups records by (producer, session number), looks codes up in the session's codebook and checks
sequence numbers for gaps. A code the codebook does not hold is a `DecodeError`: the decoder never
guesses a name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from fsm_recorder.exceptions import CodebookError, DecodeError
from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.format._crypto import default_keyring
from fsm_recorder.read._session import (
    STEP_KINDS,
    Session,
    Step,
    StepKind,
)

Kind = wire.Kind
_REASONS = {r.value: r.name.lower() for r in wire.Reason}
_SCALARS = (str, int, float, bool, type(None))
_KIND_NAMES: dict[int, StepKind] = {
    kind: STEP_KINDS[kind - 1] for kind in Kind if kind != Kind.ARGS
}


@dataclass
class _Names:
    codebook: Codebook
    states: dict[int, str] = field(init=False)
    events: dict[int, str] = field(init=False)
    exceptions: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        self.states = self.codebook.names("states")
        self.events = self.codebook.names("events")
        self.exceptions = self.codebook.names("exceptions")

    def lookup(self, table: dict[int, str], code: int, what: str, seq: int) -> str:
        if code == 0:
            return ""
        try:
            return table[code]
        except KeyError:
            raise DecodeError(
                f"record {seq} names {what} code {code}, which codebook "
                f"{self.codebook.fingerprint} ({self.codebook.machine} v{self.codebook.version}) "
                "does not hold: wrong or outdated codebook"
            ) from None


class SessionDecoder:
    """Accumulates frames from any source and yields decoded sessions.

    Encrypted frames are opened with `keys`, by default `default_keyring()` (the private keys
    named in ``FSM_RECORDER_KEYS``).
    """

    def __init__(
        self, codebooks: CodebookStore | None = None, keys: wire.Opener | None = None
    ) -> None:
        self.codebooks = codebooks if codebooks is not None else CodebookStore()
        self.keys = keys if keys is not None else default_keyring()
        self._sessions: dict[tuple[str, int], Session] = {}
        self._names: dict[str, _Names] = {}
        self._seqs: dict[str, set[int]] = {}

    def add_frame(self, data: bytes) -> wire.Frame:
        """Decode one frame and add its records; raises `DecodeError` or `CodebookError`."""
        frame = wire.decode_frame(data, self.keys)
        for record in frame.records:
            self.add_record(frame, record)
        return frame

    def add_frames(self, frames: Iterable[bytes]) -> None:
        """Add several frames in order."""
        for data in frames:
            self.add_frame(data)

    def add_record(self, frame: wire.Frame, record: wire.RawRecord) -> None:
        """Add one raw record of `frame`; a record seen before (same producer and seq) is skipped.

        That makes reading the archive and Redis together safe while a drained batch is still
        being deleted from Redis.
        """
        seen = self._seqs.setdefault(frame.producer, set())
        if record.seq in seen:
            return
        names = self._names_for(frame.sessions[record.session])
        session = self._session(frame, record, names)
        if record.kind == Kind.SESSION_START:
            session.id = record.payload.decode(errors="replace")
        if record.kind == Kind.ARGS:
            self._attach_args(session, record)
        else:
            session.steps.append(self._step(record, names))
        # Only now: a record that failed (codebook not imported yet) can be added again later.
        seen.add(record.seq)

    def sessions(self) -> list[Session]:
        """Every session seen so far, steps in sequence order, oldest session first."""
        found = list(self._sessions.values())
        for session in found:
            session.steps.sort(key=lambda s: s.seq)
        return sorted(found, key=lambda s: (s.started or 0, s.key))

    def gaps(self) -> dict[str, int]:
        """Per producer, sequence numbers missing between its first and last frame seen.

        Records lost before reaching Redis show up here; a drained prefix does not (it lies
        before the first sequence number seen).
        """
        return {
            producer: max(seqs) - min(seqs) + 1 - len(seqs)
            for producer, seqs in self._seqs.items()
            if seqs
        }

    def _names_for(self, fingerprint: str) -> _Names:
        names = self._names.get(fingerprint)
        if names is None:
            names = _Names(self.codebooks.load(fingerprint))
            self._names[fingerprint] = names
        return names

    def _session(self, frame: wire.Frame, record: wire.RawRecord, names: _Names) -> Session:
        key = (frame.producer, record.session)
        session = self._sessions.get(key)
        if session is None:
            session = Session(
                id=f"{frame.producer}:{record.session}",
                machine=names.codebook.machine,
                host=frame.host,
                pid=frame.pid,
                producer=frame.producer,
                number=record.session,
                codebook=names.codebook.fingerprint,
                separator=names.codebook.separator,
            )
            self._sessions[key] = session
        elif names.codebook.version > self._names[session.codebook].codebook.version:
            session.codebook = names.codebook.fingerprint
        return session

    def _step(self, record: wire.RawRecord, names: _Names) -> Step:
        kind = Kind(record.kind)
        seq = record.seq
        event = names.lookup(names.events, record.a, "event", seq)
        state = names.lookup(names.states, record.b, "state", seq)
        if kind == Kind.TRANSITION:
            dest = names.lookup(names.states, record.c, "state", seq)
            return Step(seq, record.ts, "transition", event, state, dest, state)
        detail = ""
        if kind == Kind.REJECTED:
            detail = _REASONS.get(record.c, f"reason {record.c}")
        elif kind == Kind.EXCEPTION:
            detail = names.lookup(names.exceptions, record.c, "exception", seq)
        elif kind == Kind.SESSION_END and record.c == wire.EndReason.DROPPED:
            detail = "dropped"
        return Step(seq, record.ts, _KIND_NAMES[kind], event, state=state, detail=detail)

    @staticmethod
    def _attach_args(session: Session, record: wire.RawRecord) -> None:
        args = _args(record)
        # The arguments belong to the session's event recorded just before them, whatever order
        # frames arrived in.
        events = [
            (step.seq, index)
            for index, step in enumerate(session.steps)
            if step.kind == "event" and step.seq < record.seq
        ]
        if events:
            _, index = max(events)
            session.steps[index] = replace(session.steps[index], args=args)


def _args(record: wire.RawRecord) -> dict[str, Any]:
    """The arguments of an ARGS record: a JSON object of scalars, as recorders write them."""
    try:
        args = json.loads(record.payload)  # nesting fails fast: RecursionError at depth ~1000
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"record {record.seq} carries malformed arguments: {exc}") from exc
    if not isinstance(args, dict) or not all(isinstance(v, _SCALARS) for v in args.values()):
        raise DecodeError(
            f"record {record.seq} carries malformed arguments: not an object of plain values"
        )
    return args


def decode_sessions(
    frames: Iterable[bytes], codebooks: CodebookStore | None = None
) -> list[Session]:
    """Decode frames into sessions in one call."""
    decoder = SessionDecoder(codebooks)
    decoder.add_frames(frames)
    return decoder.sessions()


__all__ = ["CodebookError", "DecodeError", "SessionDecoder", "decode_sessions"]
