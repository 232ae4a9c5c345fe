"""Parse the times users type on the command line (`--since`, `--from`, ...) into nanoseconds.

Recorded timestamps are nanoseconds since the epoch, so every option that bounds a time window
goes through `parse_time` and compares integers: no timezone arithmetic anywhere else.

Accepted forms:

- ISO 8601 date or date-time (``2024-05-01``, ``2024-05-01T12:30:00.5``); without an offset it
  is local time, like the times `show` prints.
- A duration ago: ``90s``, ``15m``, ``2h``, ``3d`` (optionally ``-15m`` or ``15m ago``).
- ``now``.
- Seconds since the epoch (``1714560000`` or ``1714560000.25``).
- After a session's start, when the caller knows it (`origin`, as ``diagram --from`` does):
  ``+1.5s``, ``+200ms``, ``+30us``, ``+7ns``.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

from fsm_recorder.exceptions import ConfigError

_DURATION = re.compile(r"-?\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)(?:\s+ago)?", re.IGNORECASE)
_RELATIVE = re.compile(r"\+\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s)")
_UNIT_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}
_EPOCH = re.compile(r"\d+(?:\.\d+)?")


def parse_time(text: str, origin: int | None = None, *, now_ns: int | None = None) -> int:
    """Nanoseconds since the epoch for `text`; raise `ConfigError` saying what is accepted.

    Args:
        text: The user's time (see the module docstring for the forms).
        origin: The session start (ns) that ``+1.5s`` counts from; None: no such form here.
        now_ns: "Now" for durations ago; default the wall clock (tests pin it).
    """
    raw = text.strip()
    relative = _RELATIVE.fullmatch(raw)
    if relative:
        if origin is None:
            raise ConfigError(
                f"{text!r} is relative to a session's start, and there is none here "
                "(an empty session, or an option that is not about one session)"
            )
        number, unit = relative.groups()
        return origin + round(float(number) * _UNIT_NS[unit])
    now = time.time_ns() if now_ns is None else now_ns
    if raw.lower() == "now":
        return now
    duration = _DURATION.fullmatch(raw)
    if duration:
        amount, unit = duration.groups()
        return now - int(float(amount) * _UNIT_NS[unit.lower()])
    if _EPOCH.fullmatch(raw):
        return int(float(raw) * 10**9)
    try:
        moment = datetime.fromisoformat(raw)
        # Whole seconds and microseconds apart: through one float the nanoseconds would drift.
        return int(moment.replace(microsecond=0).timestamp()) * 10**9 + moment.microsecond * 1000
    except ValueError:
        raise ConfigError(
            f"cannot read time {text!r}: use ISO 8601 (2024-05-01T12:30), a duration ago "
            "(15m, 2h, 3d), 'now' or seconds since the epoch"
        ) from None


def parse_age(text: str) -> int:
    """Nanoseconds in a duration such as ``30d`` or ``12h``; raise `ConfigError` otherwise."""
    duration = _DURATION.fullmatch(text.strip())
    if duration is None or text.strip().startswith("-"):
        raise ConfigError(f"cannot read age {text!r}: use a duration such as 30d, 12h or 90m")
    amount, unit = duration.groups()
    return int(float(amount) * _UNIT_NS[unit.lower()])
