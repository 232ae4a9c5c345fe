"""The recorders of this process, and the process events they must survive.

Interpreter exit and SIGTERM flush every live recorder (SIGTERM then does what the handler it
replaced would have done); in a forked child every recorder starts over under a new producer
identity, since the writer thread and the parent's buffer do not belong to the child.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import weakref
from types import FrameType
from typing import Protocol


class Managed(Protocol):
    """What the process-level handlers need of a recorder."""

    def close(self) -> None:
        """Flush and stop."""

    def after_fork_in_child(self) -> None:
        """Start over in a forked child."""


_LIVE: weakref.WeakSet[Managed] = weakref.WeakSet()
_sigterm_chained = False


def register(recorder: Managed) -> None:
    """Flush `recorder` at exit and on SIGTERM, and restart it in forked children."""
    _LIVE.add(recorder)
    _chain_sigterm()


def close_all() -> None:
    """Close every live recorder (flush, spill the rest): for the application's own handlers."""
    for recorder in list(_LIVE):
        recorder.close()


def _chain_sigterm() -> None:
    """Flush every recorder on SIGTERM, then do what the handler we replace would have done.

    Only from the main thread, only once, and never over an ignored SIGTERM. A handler the
    application installs later replaces ours: it should call `close_all()` itself.
    """
    global _sigterm_chained  # noqa: PLW0603 - once per process
    if _sigterm_chained or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:
        return
    _sigterm_chained = True

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        close_all()
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


def _after_fork() -> None:
    for recorder in list(_LIVE):
        recorder.after_fork_in_child()


atexit.register(close_all)
os.register_at_fork(after_in_child=_after_fork)
