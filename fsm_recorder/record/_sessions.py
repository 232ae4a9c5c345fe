"""Which session each model of a machine is in, and the end of a model nobody ended.

The README's usage never ends a machine explicitly, so a model that is garbage-collected with its
session open ends it as "dropped" (a weak reference each); the recorder keeps nothing for it.
"""

from __future__ import annotations

import contextlib
import weakref

from fsm_recorder.format._codebook import Codebook
from fsm_recorder.ship._recorder import Recorder


def _dropped(recorder: Recorder, sessions: ModelSessions, key: int, number: int) -> None:
    """A model was garbage-collected with its session open: end it as "dropped".

    Holds the recorder and the session table, never the tap: a machine that is its own model
    holds its tap, and a finalizer holding the tap would keep the machine alive forever.
    """
    if sessions.get(key) == number:
        del sessions[key]
    recorder.drop_session(number)


class ModelSessions(dict[int, int]):
    """Session numbers by `id(model)`: the hot path reads it with a plain `dict.get`."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self._recorder = recorder
        self._watch: dict[int, weakref.finalize[..., object]] = {}

    def start(self, model: object, codebook: Codebook, session_id: str | None) -> int:
        """Open a session for `model` (which has none) and watch for its collection."""
        number, _ = self._recorder.open_session(codebook, session_id)
        self[id(model)] = number
        with contextlib.suppress(TypeError):  # not weak-referenceable (__slots__): never dropped
            self._watch[id(model)] = weakref.finalize(
                model, _dropped, self._recorder, self, id(model), number
            )
        return number

    def end(self, model: object) -> int | None:
        """Forget the model's session and return its number, if it had one."""
        watch = self._watch.pop(id(model), None)
        if watch is not None:
            watch.detach()
        return self.pop(id(model), None)
