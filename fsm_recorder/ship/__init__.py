"""Shipping records out of the process: the recorder's buffer, its writer thread, outbox and sinks.

The hot path ends at the recorder's buffer; everything slow (framing, Redis, spill file) happens on
the writer thread. `_lifecycle` keeps recorders alive through exit, SIGTERM and fork.
"""
