"""The hot path: one fixed-size slot packed and appended to the recorder's buffer, nothing else.

Taps inline these parts in their per-record closures (a Python call less per record); `emit` is
the same path as one call, for records that are not worth inlining.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

Emit = Callable[[int, int, int, int, int], None]


class HotPath(NamedTuple):
    """The hot path's parts, for taps that inline `emit` (a Python call less per record).

    Use exactly as `emit` does: `if len(buf) < cap: append(pack(kind, 0, a, b, c, session,
    time.time_ns()))` else `drop(1)`. `buf` is never replaced, so the parts stay valid for the
    recorder's lifetime (also across fork).
    """

    buf: bytearray
    append: Callable[[bytes], None]
    cap: int
    pack: Callable[..., bytes]
    drop: Callable[[int], None]


def emitter(path: HotPath) -> Emit:
    """`emit(kind, a, b, c, session)`: the hot path as one call."""
    buf, append, cap, pack, drop = path
    now = time.time_ns

    def emit(kind: int, a: int, b: int, c: int, session: int) -> None:
        if len(buf) < cap:
            append(pack(kind, 0, a, b, c, session, now()))
        else:
            drop(1)

    return emit
