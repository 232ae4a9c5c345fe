"""Reading recorded sessions back: frames and codebooks decoded into `Session`s, live and archived.

Used by the CLI, the renderers, replay and the pytest plugin; never by the recording side.
"""
