"""The session index: what the writer learns about each session from a batch's columns.

One `_Entry` per (producer, session number) per batch, filled from column slices with builtins
(no Python step per record), then merged with the stored ``sessions`` row: times and sequence
numbers widen, step counts add, the states reached and exceptions raised go to their own tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import compress
from operator import eq
from typing import Any

from sqlalchemy import Connection, select, tuple_

from fsm_recorder.format import _wire as wire
from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._columns import Columns
from fsm_recorder.store import _schema as schema

_ARGS = wire.Kind.ARGS
_TRANSITION = wire.Kind.TRANSITION
_EXCEPTION = wire.Kind.EXCEPTION
_START = wire.Kind.SESSION_START
_END = wire.Kind.SESSION_END
_VALUES = (
    "session_id", "machine", "host", "pid", "codebook", "first_seq", "last_seq", "first_ts",
    "last_ts", "steps", "ended",
)  # fmt: skip
Upsert = Callable[[Any], Any]


@dataclass
class _Entry:
    producer: str
    number: int
    host: str
    pid: int
    codebook: Codebook
    first_seq: int
    last_seq: int
    first_ts: int
    last_ts: int
    steps: int = 0
    session_id: str | None = None
    ended: int | None = None
    states: set[int] = field(default_factory=set)
    exceptions: set[int] = field(default_factory=set)

    def row(self, stored: Any) -> dict[str, Any]:
        mine = {
            "producer": self.producer,
            "number": self.number,
            "session_id": self.session_id or f"{self.producer}:{self.number}",
            "machine": self.codebook.machine,
            "host": self.host,
            "pid": self.pid,
            "codebook": self.codebook.fingerprint,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "steps": self.steps,
            "ended": self.ended,
        }
        if stored is None:
            return mine
        old = stored._mapping
        return {
            **mine,
            "session_id": self.session_id or old["session_id"],
            "first_seq": min(self.first_seq, old["first_seq"]),
            "last_seq": max(self.last_seq, old["last_seq"]),
            "first_ts": min(self.first_ts, old["first_ts"]),
            "last_ts": max(self.last_ts, old["last_ts"]),
            "steps": self.steps + old["steps"],
            "ended": self.ended if self.ended is not None else old["ended"],
        }


class SessionIndex:
    """Accumulates the index entries of one batch; `write` merges them into the archive."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], _Entry] = {}

    def add_run(
        self, frame: wire.Opened, cols: Columns, number: int, run: slice, codebook: Codebook
    ) -> tuple[int, int]:
        """Index records `run` (all of session `number`) of a frame; return their time bounds."""
        kinds, stamps = cols.kind[run], cols.ts[run]
        seq = frame.first_seq + run.start
        low, high = min(stamps), max(stamps)
        entry = self._entries.get((frame.producer, number))
        if entry is None:
            entry = _Entry(
                frame.producer, number, frame.host, frame.pid, codebook, seq, seq, low, high
            )
            self._entries[(frame.producer, number)] = entry
        entry.first_seq = min(entry.first_seq, seq)
        entry.last_seq = max(entry.last_seq, seq + len(kinds) - 1)
        entry.first_ts, entry.last_ts = min(entry.first_ts, low), max(entry.last_ts, high)
        if codebook.version > entry.codebook.version:
            entry.codebook = codebook
        states = cols.b[run]
        if _ARGS in kinds:
            entry.steps += len(kinds) - kinds.count(_ARGS)
            states = tuple(compress(states, (k != _ARGS for k in kinds)))
        else:
            entry.steps += len(kinds)
        entry.states.update(states)
        entry.states.update(compress(cols.c[run], map(eq, kinds, [_TRANSITION] * len(kinds))))
        if _EXCEPTION in kinds:
            entry.exceptions.update(compress(cols.c[run], (k == _EXCEPTION for k in kinds)))
        if _START in kinds or _END in kinds:
            self._bounds(entry, cols, run)
        return low, high

    @staticmethod
    def _bounds(entry: _Entry, cols: Columns, run: slice) -> None:
        # The last start and end of the run win, as if each record were applied in turn.
        start = cols.kind.rfind(_START, run.start, run.stop)
        if start >= 0:
            entry.session_id = cols.payloads.get(start, b"").decode(errors="replace")
        end = cols.kind.rfind(_END, run.start, run.stop)
        if end >= 0:
            entry.ended = cols.ts[end]

    def write(self, conn: Connection, upsert: Upsert) -> None:
        """Merge the entries into ``sessions``, ``session_states`` and ``session_exceptions``."""
        if not self._entries:
            return
        table = schema.sessions
        key = tuple_(table.c.producer, table.c.number)
        stored = {
            (r.producer, r.number): r
            for r in conn.execute(select(table).where(key.in_(self._entries)))
        }
        stmt = upsert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["producer", "number"],
            set_={name: stmt.excluded[name] for name in _VALUES},
        )
        conn.execute(stmt, [e.row(stored.get(k)) for k, e in self._entries.items()])
        for codes, column, attr in (
            (schema.session_states, "state", "states"),
            (schema.session_exceptions, "exception", "exceptions"),
        ):
            rows = [
                {"producer": e.producer, "number": e.number, column: code}
                for e in self._entries.values()
                for code in getattr(e, attr)
                if code
            ]
            if rows:
                conn.execute(upsert(codes).on_conflict_do_nothing(), rows)
