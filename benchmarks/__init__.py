"""The benchmark suite: what recording a transition costs, side by side with what users do today.

Run it with ``python -m benchmarks`` (``--quick`` for CI); docs/benchmarks.md explains the method
and holds the last full run.
"""
