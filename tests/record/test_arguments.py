"""Arguments as recorded: allow-listed scalars in JSON, every other value counted, never raised."""

from __future__ import annotations

import json

from fsm_recorder.record._arguments import encode_arguments


def _encode(names: list[str], kwargs: dict[str, object]) -> tuple[object, int]:
    misses: list[None] = []
    payload = encode_arguments(names, kwargs, lambda: misses.append(None))
    return json.loads(payload), len(misses)


def test_only_allow_listed_names_present_in_the_call_are_kept() -> None:
    assert _encode(["ok", "n", "absent"], {"ok": True, "n": 3, "secret": "x"}) == (
        {"ok": True, "n": 3},
        0,
    )


def test_values_json_cannot_hold_are_left_out_and_each_counted() -> None:
    """Bytes and objects are not scalars; an int over 4,300 digits is one JSON cannot write."""
    kept, misses = _encode(
        ["a", "b", "c", "d"], {"a": b"raw", "b": object(), "c": 10**5000, "d": None}
    )
    assert (kept, misses) == ({"d": None}, 3)
