"""The hot-path contract between the hooks and the tap, typed so that mypy checks both sides.

A machine carries its tap (`TapHooks`) in `TAP`. A trigger's event record hands the trigger's
other records a `TriggerContext` through transitions' `EventData`, in `CONTEXT`: the event's code
and session are known by then, so an exit, entry or transition costs one dict lookup (the state's
code) and the slot itself. The two attribute names differ because their types differ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, Protocol

from fsm_recorder.format._wire import Reason

TAP: Final = "_fsmr_tap"
CONTEXT: Final = "_fsmr_context"

StepIn = Callable[[int, object, "TriggerContext"], None]
TransitionIn = Callable[[object, object, "TriggerContext"], None]


class TriggerContext:
    """What one trigger's records share: event code, session, the hooks that record inside the
    trigger (appending, or counting as dropped when the buffer was full at the event) and the
    model. Made once per trigger, so it is as small as it can be."""

    __slots__ = ("event", "model", "session", "step", "transition")

    def __init__(
        self, event: int, session: int, step: StepIn, transition: TransitionIn, model: object
    ) -> None:
        self.event = event
        self.session = session
        self.step = step
        self.transition = transition
        self.model = model


class TapHooks(Protocol):
    """What the hooks call on a machine's tap (`_tap.Tap` implements it)."""

    sync: bool
    event: Callable[[str, object, Mapping[str, object], dict[str, object]], TriggerContext]
    """An event is being processed: record it, and put the trigger's context into the carrier
    (transitions' `EventData.__dict__`) under `CONTEXT`; returns the context too."""
    transition: Callable[[str, object, object], None]
    """A transition to `dest` (falsy: internal) is taken outside a recorded trigger."""
    step: Callable[[int, object, object, object], None]
    """A state is exited or entered outside a recorded trigger (`Kind.EXIT`/`ENTER`)."""

    def outcome(
        self,
        context: TriggerContext,
        result: object,
        error: BaseException | None,
        reason: Reason,
    ) -> None:
        """Record what became of the trigger's event (and commit in sync mode)."""
