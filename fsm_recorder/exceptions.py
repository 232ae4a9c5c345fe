"""The one exception tree of fsm-recorder.

Everything the package raises on purpose derives from `FsmRecorderError`, so a caller can catch
the whole family in one clause. The recording hot path never raises any of them into user code:
there, failures are counted in `Recorder.stats()` instead.

```
FsmRecorderError
├── ConfigError        a URL, path, option or setting is malformed
├── CodebookError      a codebook is missing, invalid or does not match a machine
├── DecodeError        bytes are not a valid record frame (or do not match their codebook)
├── SinkError          a sink could not write or read (Redis down, spill file unusable)
├── ServerError        the per-host Redis-protocol server could not be started/stopped/found
├── ArchiveError       the persistent archive failed (schema, connection, migration)
├── RenderError        PlantUML text or image could not be produced
└── ReplayError        a recorded session could not be replayed against a machine
```
"""

from __future__ import annotations


class FsmRecorderError(Exception):
    """Base class of every error fsm-recorder raises on purpose."""


class ConfigError(FsmRecorderError):
    """A URL, path, option or setting is malformed; the message says which and how to fix it."""


class CodebookError(FsmRecorderError):
    """A codebook is missing, invalid, or does not belong to the records being decoded."""


class DecodeError(FsmRecorderError):
    """Bytes are not a valid record frame; the only error the decoder lets escape."""


class SinkError(FsmRecorderError):
    """A sink could not write or read its records."""


class ServerError(FsmRecorderError):
    """The per-host Redis-protocol server could not be started, stopped or reached."""


class ArchiveError(FsmRecorderError):
    """The persistent archive failed: connection, schema version or migration."""


class RenderError(FsmRecorderError):
    """A diagram could not be produced (PlantUML text, or an image from the jar or server)."""


class ReplayError(FsmRecorderError):
    """A recorded session could not be replayed against the given machine factory."""
