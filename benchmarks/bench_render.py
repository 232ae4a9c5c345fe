"""Rendering a long, cycling session: PlantUML text in under 2 s, then an SVG of the folded text.

Run: python benchmarks/bench_render.py [steps]  (default 100,000 steps; prints timings and verdicts)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable

from fsm_recorder.format._codebook import Codebook
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._decoder import decode_sessions
from fsm_recorder.read._session import Session
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.render import (
    activity_diagram,
    fold,
    render,
    sequence_diagram,
    state_diagram,
)
from fsm_recorder.ship._default import memory_recorder

TEXT_TARGET_S = 2.0
FOLD_TARGET_S = 1.0  # linear: O(n * max_period), one comparison per item and period
EVENTS = ("start", "finish", "reset")
STEPS_PER_EVENT = 4  # event, transition, exit, enter


def cycling_session(steps: int) -> tuple[Session, Codebook]:
    """Record a 3-state machine cycling until it has `steps` steps, and decode it."""
    with tempfile.TemporaryDirectory() as store:
        recorder = memory_recorder(codebooks=CodebookStore(store))
        machine = RecordedMachine(
            states=["idle", "run", "done"],
            transitions=[
                ["start", "idle", "run"],
                ["finish", "run", "done"],
                ["reset", "done", "idle"],
            ],
            initial="idle",
            recorder=recorder,
            name="Cycler",
        )
        for number in range(steps // STEPS_PER_EVENT):
            machine.trigger(EVENTS[number % 3])
        recorder.flush()
        [session] = decode_sessions(recorder.sink.frames, recorder.codebooks)  # type: ignore[attr-defined]
        return session, recorder.codebooks.load(session.codebook)


def timed(label: str, work: Callable[[], object], target: float | None = None) -> object:
    began = time.perf_counter()
    result = work()
    took = time.perf_counter() - began
    verdict = (
        "" if target is None else f"  target < {target:g} s: {'met' if took < target else 'MISSED'}"
    )
    print(f"{label:<34} {took:8.3f} s{verdict}")
    return result


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    session, codebook = timed(f"record + decode {steps:,} steps", lambda: cycling_session(steps))  # type: ignore[misc]
    print(f"session has {len(session.steps):,} steps")
    texts = {
        "activity": timed("activity text", lambda: activity_diagram(session), TEXT_TARGET_S),
        "sequence": timed("sequence text", lambda: sequence_diagram(session), TEXT_TARGET_S),
        "state": timed("state text", lambda: state_diagram(session, codebook), TEXT_TARGET_S),
    }
    for shape, items in (
        ("distinct", [str(i) for i in range(300_000)]),
        ("cycling", ["a", "b", "c", "d", "e"] * 60_000),
    ):
        timed(f"fold 300,000 {shape} items", lambda i=items: fold(i, str), FOLD_TARGET_S)
    unfolded = timed(
        "activity text, folding off", lambda: activity_diagram(session, fold_repeats=None)
    )
    assert isinstance(unfolded, str)
    print(f"activity text unfolded: {len(unfolded.splitlines()):,} lines")
    for kind, text in texts.items():
        assert isinstance(text, str)
        print(f"{kind} text: {len(text.splitlines())} lines")
        svg = timed(f"{kind} SVG (jar, incl. JVM start)", lambda t=text: render(t, "svg"))
        assert isinstance(svg, bytes)
        print(f"{kind} SVG: {len(svg):,} bytes")


if __name__ == "__main__":
    main()
