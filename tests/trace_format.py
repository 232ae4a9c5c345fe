"""A checker of the Trace Event Format (the JSON Perfetto and chrome://tracing load), shared by the
exporter's and the CLI's tests: required fields per phase, and slices that nest per track."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

_PHASES = {"X", "B", "E", "i", "I", "M"}


def check_trace(trace: dict[str, Any]) -> dict[int, list[tuple[str, int]]]:
    """Assert that `trace` is valid; return each track's slices as (name, depth) in start order."""
    events = trace["traceEvents"]
    assert isinstance(events, list)
    slices: dict[tuple[int, int], list[tuple[float, float, str]]] = defaultdict(list)
    opened: dict[tuple[int, int], list[tuple[str, float]]] = defaultdict(list)
    for event in events:
        assert event["ph"] in _PHASES, event
        assert isinstance(event["name"], str), event
        assert isinstance(event["pid"], int), event
        assert isinstance(event["tid"], int), event
        track = (event["pid"], event["tid"])
        if event["ph"] == "M":
            assert isinstance(event["args"], dict), event
            continue
        assert isinstance(event["ts"], (int, float)), event
        assert event["ts"] >= 0, event
        if event["ph"] == "X":
            assert event["dur"] >= 0, event
            slices[track].append((event["ts"], event["ts"] + event["dur"], event["name"]))
        elif event["ph"] == "B":
            opened[track].append((event["name"], event["ts"]))
        elif event["ph"] == "E":
            name, began = opened[track].pop()
            slices[track].append((began, event["ts"], name))
        else:
            assert event.get("s", "t") in ("g", "p", "t"), event
    assert not any(opened.values()), "B events without their E"
    return {pid: _nesting(found) for (pid, _), found in sorted(slices.items())}


def _nesting(found: list[tuple[float, float, str]]) -> list[tuple[str, int]]:
    """Slices of one track must nest: each starts after its parent and ends before it ends."""
    out: list[tuple[str, int]] = []
    stack: list[float] = []
    for start, end, name in sorted(found, key=lambda s: (s[0], -s[1])):
        while stack and stack[-1] <= start and stack[-1] < end:
            stack.pop()
        assert not stack or end <= stack[-1], f"slice {name} overlaps its parent"
        out.append((name, len(stack)))
        stack.append(end)
    return out
