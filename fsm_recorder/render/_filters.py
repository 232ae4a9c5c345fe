"""What part of a session a diagram shows: time window, step range, nesting level.

Every diagram kind takes the same filters and applies them through `narrow`, which only calls the
`Session` queries (`window`, `select`, `at_level`); `parse_steps` turns the CLI's `--steps` into
its argument (`--from/--to` go through `fsm_recorder.read._time.parse_time`, with the session start
as origin).
"""

from __future__ import annotations

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.read._session import Session


def narrow(
    session: Session,
    *,
    start: int | None = None,
    end: int | None = None,
    level: int | None = None,
    steps: tuple[int | None, int | None] | None = None,
) -> Session:
    """The session cut to a time window (ns, absolute), a step range and a nesting level.

    Raises:
        ConfigError: `level` is below 1 (`Session.at_level`).
    """
    if start is not None or end is not None:
        session = session.window(start, end)
    if steps is not None:
        session = session.select(*steps)
    return session.at_level(level)


def parse_steps(value: str) -> tuple[int | None, int | None]:
    """The `(first, last)` seq range of `A:B`, `A:` or `:B` (both ends included).

    Raises:
        ConfigError: Not of that form.
    """
    first, sep, last = value.partition(":")
    try:
        if not sep:
            raise ValueError(value)
        return (int(first) if first else None, int(last) if last else None)
    except ValueError:
        raise ConfigError(f"steps must look like 100:200, 100: or :200, not {value!r}") from None
