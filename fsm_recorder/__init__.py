"""fsm-recorder: state machines with a built-in flight recorder."""

from __future__ import annotations

__all__: list[str] = []
