"""What part of a session a diagram shows: time window, step range, nesting level.

Every diagram kind takes the same filters and applies them through `narrow`, which only calls the
`Session` queries (`window`, `select`, `at_level`); the parsers turn the CLI's `--from/--to` and
`--steps` into their arguments.
"""

from __future__ import annotations

import re

from fsm_recorder.exceptions import ConfigError
from fsm_recorder.read import _time as timeparse
from fsm_recorder.read._session import Session

_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9}
_RELATIVE = re.compile(r"\+\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s)")


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
        ConfigError: `level` is below 1.
    """
    if level is not None and level < 1:
        raise ConfigError(f"level must be 1 or more (or None for all), not {level}")
    if start is not None or end is not None:
        session = session.window(start, end)
    if steps is not None:
        session = session.select(*steps)
    return session.at_level(level)


def parse_time(value: str, origin: int | None) -> int:
    """Absolute ns timestamp of a CLI time: `+1.5s`/`+200ms`/`+30us` after `origin`, else any
    form `fsm_recorder.read._time.parse_time` reads (ISO 8601, `15m` ago, epoch seconds).

    Raises:
        ConfigError: An unreadable value, or a relative one without an origin.
    """
    relative = _RELATIVE.fullmatch(value.strip())
    if relative is None:
        return timeparse.parse_time(value)
    if origin is None:
        raise ConfigError(f"{value!r} is relative to the session start, but the session is empty")
    number, unit = relative.groups()
    return origin + round(float(number) * _UNITS[unit])


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
