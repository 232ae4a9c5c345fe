"""Recording inside the application process: hooks on transitions, recorded machines, retrofit.

Runs on the caller's thread (the hot path): it turns a trigger into codes and hands them to the
recorder in `ship`. It never imports the reading or drawing rooms.
"""
