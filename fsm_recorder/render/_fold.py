"""Folding repeated blocks of a step sequence into loops with a count.

A machine that cycles 10,000 times draws as one loop "10000 times", not 10,000 boxes. `fold` is
generic: it sees items only through a `key` (what must be equal for two items to count as the same
drawing, timestamps excluded), so the activity and sequence renderers share it.

At each position it tries every period `p <= max_period` and measures how far the sequence keeps
repeating with that period, one comparison per item; the period covering the most items wins (the
shortest on ties) and the scan resumes after the folded run. That is O(n·max_period). A second
pass over the result (loops are items too) folds loops that repeat as a whole into nested loops,
and each loop's body is folded in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeAlias, TypeVar

T = TypeVar("T")

MIN_REPEATS = 3
MAX_PERIOD = 16


@dataclass(frozen=True, slots=True)
class Loop(Generic[T]):
    """`count` repetitions of `body` (the first repetition), covering `first` to `last`."""

    body: tuple[Node[T], ...]
    count: int
    first: T
    last: T


Node: TypeAlias = "T | Loop[T]"


def fold(
    items: Sequence[T],
    key: Callable[[T], Hashable],
    *,
    min_repeats: int = MIN_REPEATS,
    max_period: int = MAX_PERIOD,
    passes: int = 2,
) -> list[Node[T]]:
    """Replace every block repeated at least `min_repeats` times in a row by one `Loop`."""
    return _fold_nodes(list(items), key, min_repeats, max_period, passes)


def _fold_nodes(
    nodes: list[Node[T]],
    key: Callable[[T], Hashable],
    min_repeats: int,
    max_period: int,
    passes: int,
) -> list[Node[T]]:
    for _ in range(passes):
        folded = _fold_once(nodes, _interned(nodes, key), min_repeats, max_period)
        if len(folded) == len(nodes):
            break
        nodes = folded
    return [_fold_body(node, key, min_repeats, max_period, passes) for node in nodes]


def _fold_body(
    node: Node[T], key: Callable[[T], Hashable], min_repeats: int, max_period: int, passes: int
) -> Node[T]:
    """Fold inside a loop's body too (it is at most `max_period` long, so this is cheap)."""
    if not isinstance(node, Loop) or len(node.body) < min_repeats:
        return node
    body = _fold_nodes(list(node.body), key, min_repeats, max_period, passes)
    return replace(node, body=tuple(body))


def _ends(node: Node[T]) -> tuple[T, T]:
    """The first and the last item a node covers."""
    return (node.first, node.last) if isinstance(node, Loop) else (node, node)


def _interned(nodes: Sequence[Node[T]], key: Callable[[T], Hashable]) -> list[int]:
    """Small ints standing for the nodes' keys, so the scan compares ints only."""
    codes: dict[Hashable, int] = {}
    return [codes.setdefault(_key(node, key), len(codes)) for node in nodes]


def _key(node: Node[T], key: Callable[[T], Hashable]) -> Hashable:
    if isinstance(node, Loop):
        return (Loop, node.count, tuple(_key(n, key) for n in node.body))
    return key(node)


def _fold_once(
    nodes: list[Node[T]], codes: list[int], min_repeats: int, max_period: int
) -> list[Node[T]]:
    out: list[Node[T]] = []
    i = 0
    while i < len(nodes):
        period, count = _best_period(codes, i, min_repeats, max_period)
        if period == 0:
            out.append(nodes[i])
            i += 1
            continue
        stop = i + period * count
        body = tuple(nodes[i : i + period])
        out.append(Loop(body, count, _ends(nodes[i])[0], _ends(nodes[stop - 1])[1]))
        i = stop
    return out


def _best_period(codes: list[int], i: int, min_repeats: int, max_period: int) -> tuple[int, int]:
    """The period and repeat count covering most items from `i` (0, 0 when nothing repeats)."""
    best = (0, 0)
    n = len(codes)
    for period in range(1, min(max_period, (n - i) // min_repeats) + 1):
        run = 0
        while i + run + period < n and codes[i + run] == codes[i + run + period]:
            run += 1
        count = 1 + run // period
        if count >= min_repeats and period * count > best[0] * best[1]:
            best = (period, count)
    return best
