"""What a reader asks for: which sessions (`SessionFilter`), and what to do with a bad frame.

Both sources of sessions, live (`_load`) and archived (`_archived`), take these, so they filter
and report alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fsm_recorder.read._session import Session

OnError = Callable[[str, Exception], None]
"""Told `(where, error)` about a frame or session that does not decode."""


@dataclass(frozen=True)
class SessionFilter:
    """Which sessions a reader wants; every given criterion must hold.

    The archive turns it into SQL over its indexed ``sessions`` table; live sessions are checked
    with `matches`, so both sources filter alike.

    Attributes:
        key: A session ID or ``producer:number`` key.
        keys: Only these (producer, number) sessions.
        machine: Machine name.
        host: Recording host.
        since: Sessions with a step at or after this time (ns).
        until: Sessions with a step at or before this time (ns).
        reached: Sessions that were in this state (full name) at some point.
        exception: Sessions that raised this exception (its recorded name).
    """

    key: str | None = None
    keys: frozenset[tuple[str, int]] | None = None
    machine: str | None = None
    host: str | None = None
    since: int | None = None
    until: int | None = None
    reached: str | None = None
    exception: str | None = None

    def matches(self, session: Session) -> bool:
        """Whether a decoded session passes the filter."""
        steps = session.steps
        checks = (
            self.key is None or self.key in (session.id, session.key),
            self.keys is None or (session.producer, session.number) in self.keys,
            self.machine is None or session.machine == self.machine,
            self.host is None or session.host == self.host,
            self.since is None or any(s.ts >= self.since for s in steps),
            self.until is None or any(s.ts <= self.until for s in steps),
            self.reached is None or self.reached in reached_states(session),
            self.exception is None
            or any(s.kind == "exception" and s.detail == self.exception for s in steps),
        )
        return all(checks)


def reached_states(session: Session) -> set[str]:
    """Every state the session was in: each step's state and each transition's destination."""
    return {s.state for s in session.steps if s.state} | {s.dest for s in session.steps if s.dest}


def raise_error(_: str, exc: Exception) -> None:
    """The default `OnError`: let the error through."""
    raise exc
