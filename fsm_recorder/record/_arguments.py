"""Event arguments as recorded: the allow-listed keyword values that JSON can hold, never a raise.

Runs on the caller's thread, but only for events with allow-listed arguments (the slow path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

_RECORDABLE = (str, int, float, bool, type(None))


def _encodable(value: object) -> bool:
    """Whether JSON can hold `value`: an int of more digits than `sys.get_int_max_str_digits()`
    (4,300 by default) cannot be turned into text, and an argument must never raise."""
    try:
        json.dumps(value)
    except ValueError:
        return False
    return True


def encode_arguments(
    names: Iterable[str], kwargs: Mapping[str, object], unencodable: Callable[[], None]
) -> bytes:
    """The JSON payload of the allow-listed `names` found in `kwargs`.

    A value that cannot be recorded (not a plain scalar, or too large for JSON) is left out and
    reported through `unencodable`, so the trigger always goes on.
    """
    values: dict[str, object] = {}
    for name in names:
        if name not in kwargs:
            continue
        value = kwargs[name]
        if isinstance(value, _RECORDABLE):
            values[name] = value
        else:
            unencodable()
    try:
        payload = json.dumps(values, separators=(",", ":"))
    except ValueError:  # rare: find the values at fault only then
        for name in [name for name, value in values.items() if not _encodable(value)]:
            del values[name]
            unencodable()
        payload = json.dumps(values, separators=(",", ":"))
    return payload.encode()
