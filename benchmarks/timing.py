"""Interleaved rounds: A B C A B C ..., so that whatever the machine does meanwhile hits all alike.

The first variant of a group is its reference (bare transitions). Each round times every variant
once, in the same order; a variant's ratio is taken round by round against the reference's time
in that same round, and summarized by its median (min and max show the spread).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.variants import Variant


@dataclass(frozen=True)
class Row:
    """One variant's result: ns per transition and its ratio to the group's reference."""

    name: str
    ns: float
    ns_min: float
    ns_max: float
    ratio: float
    ratio_min: float
    ratio_max: float
    rounds: int

    def added(self, reference: Row) -> float:
        """ns per transition this variant adds to the reference (medians of interleaved runs)."""
        return self.ns - reference.ns


def time_group(
    variants: Sequence[Variant], transitions: int, rounds: int, warmup: int
) -> list[Row]:
    """Run `warmup` untimed then `rounds` timed interleaved rounds; one `Row` per variant."""
    sizes = [max(2, int(transitions * v.weight) // 2 * 2) for v in variants]
    for _ in range(warmup):
        for variant, n in zip(variants, sizes, strict=True):
            variant.run(n)
    samples: list[list[float]] = [[] for _ in variants]
    for _ in range(rounds):
        for variant, n, out in zip(variants, sizes, samples, strict=True):
            out.append(_timed(variant, n))
    reference = samples[0]
    return [_row(v.name, s, reference) for v, s in zip(variants, samples, strict=True)]


def _timed(variant: Variant, n: int) -> float:
    # The collector would otherwise run in whichever variant happens to cross its threshold.
    gc.collect()
    gc.disable()
    try:
        began = time.perf_counter_ns()
        variant.run(n)
        return (time.perf_counter_ns() - began) / n
    finally:
        gc.enable()


def _row(name: str, ns: list[float], reference: list[float]) -> Row:
    ratios = [mine / ref for mine, ref in zip(ns, reference, strict=True)]
    return Row(
        name=name,
        ns=statistics.median(ns),
        ns_min=min(ns),
        ns_max=max(ns),
        ratio=statistics.median(ratios),
        ratio_min=min(ratios),
        ratio_max=max(ratios),
        rounds=len(ns),
    )
