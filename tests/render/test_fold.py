"""Folding repeated blocks into loops."""

from __future__ import annotations

from fsm_recorder.render._fold import Loop, fold


def _k(item: str) -> str:
    return item


def test_single_cycle_folds_with_its_count() -> None:
    """A block repeated N times becomes one loop of N around its first repetition."""
    items = ["start", *(["a", "b", "c"] * 10_000), "end"]
    folded = fold(items, _k)
    assert folded[0] == "start"
    assert folded[-1] == "end"
    [loop] = folded[1:-1]
    assert isinstance(loop, Loop)
    assert (loop.body, loop.count, loop.first, loop.last) == (("a", "b", "c"), 10_000, "a", "c")


def test_short_repeats_stay_expanded() -> None:
    """Fewer repetitions than min_repeats are drawn as they are."""
    assert fold(["a", "b", "a", "b"], _k) == ["a", "b", "a", "b"]
    assert fold(["a", "b", "a", "b"], _k, min_repeats=2) == [Loop(("a", "b"), 2, "a", "b")]


def test_loop_of_loops_nests() -> None:
    """A block that itself contains a folded loop and repeats folds into a nested loop."""
    block = ["x", "a", "a", "a", "a"]
    folded = fold(block * 5, _k)
    [outer] = folded
    assert isinstance(outer, Loop)
    assert outer.count == 5
    assert outer.body == ("x", Loop(("a",), 4, "a", "a"))


def test_keys_decide_equality() -> None:
    """Items equal under the key fold even when they differ otherwise; the loop keeps the ends."""
    items = [(name, ts) for ts, name in enumerate(["p", "q"] * 4)]
    [loop] = fold(items, lambda item: item[0])
    assert isinstance(loop, Loop)
    assert loop.count == 4
    assert (loop.first, loop.last) == (("p", 0), ("q", 7))


def test_long_sequences_fold_to_their_shape() -> None:
    """300,000 items that never repeat stay as they are; 300,000 that cycle fold into one loop.

    How fast that is (O(n * max_period)) is measured in benchmarks/bench_render.py, not here.
    """
    distinct = [str(i) for i in range(300_000)]
    assert fold(distinct, _k) == distinct
    [loop] = fold(["a", "b", "c", "d", "e"] * 60_000, _k)
    assert isinstance(loop, Loop)
    assert (loop.body, loop.count) == (("a", "b", "c", "d", "e"), 60_000)
