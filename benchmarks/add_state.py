"""States added at run time: a recorded machine against plain transitions, interleaved.

    python -m benchmarks.add_state [--states 120] [--rounds 5]

Each round grows one plain and one recorded machine (a session running, codebooks stored in a
temporary directory) from 1 to ``--states`` states with ``add_state``, and times the last
``add_state`` and the whole growth of each. The recorded machine's costs grow with the number of
states as transitions' own do (its auto transitions add one per state and source); before the
codebook evolved once per call, the 120th state took 1.2 s against 0.5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from transitions import Machine

from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.record._machines import RecordedMachine
from fsm_recorder.ship._recorder import Recorder
from fsm_recorder.ship.sinks._memory import MemorySink


def grow(make: Callable[[], Machine], states: int) -> tuple[float, float]:
    """Seconds of the last `add_state` and of all of them, growing a machine to `states`."""
    machine = make()
    start = last = time.perf_counter()
    for i in range(1, states):
        last = time.perf_counter()
        machine.add_state(f"s{i}")
    end = time.perf_counter()
    return end - last, end - start


def measure(states: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median seconds per variant, plain and recorded timed alternately in each round."""
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder(sink=MemorySink(), codebooks=CodebookStore(Path(tmp)))
        variants: dict[str, Callable[[], Machine]] = {
            "plain": lambda: Machine(states=["s0"], initial="s0"),
            "recorded": lambda: RecordedMachine(states=["s0"], initial="s0", recorder=recorder),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, make in variants.items():
                times[name].append(grow(make, states))
        recorder.close()
    return {
        name: {
            "last_s": statistics.median(t[0] for t in found),
            "total_s": statistics.median(t[1] for t in found),
        }
        for name, found in times.items()
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Print each variant's median times and the recorded/plain ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.add_state")
    parser.add_argument("--states", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.states, args.rounds)
    for name, row in result.items():
        print(
            f"{name:9} state {args.states}: {row['last_s'] * 1e3:8.2f} ms"
            f"   growth to {args.states}: {row['total_s'] * 1e3:9.1f} ms"
        )
    plain, recorded = result["plain"], result["recorded"]
    print(
        f"ratio recorded/plain: last {recorded['last_s'] / plain['last_s']:.1f}x,"
        f" growth {recorded['total_s'] / plain['total_s']:.1f}x"
    )


if __name__ == "__main__":
    main()
