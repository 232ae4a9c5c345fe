"""Decoded sessions: what one model did, as `Step`s with names, and the queries readers need.

A `Session` is plain data: renderers, replay, the pytest plugin and the CLI all read it; nothing
here knows about Redis, the archive or the recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

from fsm_recorder.exceptions import ConfigError

StepKind = Literal[
    "event",
    "transition",
    "exit",
    "enter",
    "rejected",
    "exception",
    "session_start",
    "session_end",
]
STEP_KINDS: tuple[StepKind, ...] = get_args(StepKind)


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded step.

    `kind` says how to read the rest: a `transition` names its trigger in `event`, its source in
    `source` and its destination in `dest` (empty for an internal transition); `exit`/`enter` name
    the state in `state`; `rejected` carries the reason and `exception` the exception type in
    `detail`; an `event` may carry its allow-listed arguments in `args`.
    """

    seq: int
    ts: int
    kind: StepKind
    event: str = ""
    source: str = ""
    dest: str = ""
    state: str = ""
    detail: str = ""
    args: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `--json` output of `show`)."""
        return asdict(self)


@dataclass(slots=True)
class Session:
    """One model's run on one producer: identity, machine, and its steps in recording order."""

    id: str
    machine: str
    host: str
    pid: int
    producer: str
    number: int
    codebook: str
    separator: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Unique key of the session on its host: producer and session number."""
        return f"{self.producer}:{self.number}"

    @property
    def started(self) -> int | None:
        """Timestamp (ns) of the first step."""
        return self.steps[0].ts if self.steps else None

    @property
    def ended(self) -> int | None:
        """Timestamp (ns) of the session_end step, if the session ended."""
        last = self.steps[-1] if self.steps else None
        return last.ts if last is not None and last.kind == "session_end" else None

    def summary(self) -> dict[str, Any]:
        """The row `sessions --json` prints."""
        return {
            "id": self.id,
            "key": self.key,
            "machine": self.machine,
            "host": self.host,
            "pid": self.pid,
            "producer": self.producer,
            "codebook": self.codebook,
            "started": self.started,
            "ended": self.ended,
            "steps": len(self.steps),
        }

    def _with_steps(self, steps: Iterable[Step]) -> Session:
        return replace(self, steps=list(steps))

    def window(self, start: int | None = None, end: int | None = None) -> Session:
        """Only the steps with `start <= ts <= end` (ns, absolute)."""
        return self._with_steps(
            s
            for s in self.steps
            if (start is None or s.ts >= start) and (end is None or s.ts <= end)
        )

    def select(self, first: int | None = None, last: int | None = None) -> Session:
        """Only the steps with `first <= seq <= last`."""
        return self._with_steps(
            s
            for s in self.steps
            if (first is None or s.seq >= first) and (last is None or s.seq <= last)
        )

    def at_level(self, level: int | None) -> Session:
        """Collapse nesting deeper than `level` (1 = top-level states only; None = all detail).

        State names are cut to their first `level` path parts; exits/enters of inner states and
        transitions that stay inside one collapsed state disappear.
        """
        if level is not None and level < 1:
            raise ConfigError(f"nesting level must be 1 or more (--level N or all), not {level}")
        if level is None or not self.separator:
            return self
        cut = _truncator(self.separator, level)
        return self._with_steps(_collapse(self.steps, cut))

    def path(self) -> list[str]:
        """States entered, in order (at the deepest recorded level)."""
        return [s.state for s in self.steps if s.kind == "enter"]

    def events(self) -> list[str]:
        """Events received, in order."""
        return [s.event for s in self.steps if s.kind == "event"]

    def of_kind(self, *kinds: StepKind) -> Iterator[Step]:
        """Steps of the given kinds."""
        return (s for s in self.steps if s.kind in kinds)


def _truncator(separator: str, level: int) -> Callable[[str], str]:
    def cut(name: str) -> str:
        return separator.join(name.split(separator)[:level]) if name else name

    return cut


def _collapse(steps: Iterable[Step], cut: Callable[[str], str]) -> Iterator[Step]:
    for step in steps:
        if step.kind in ("exit", "enter"):
            if cut(step.state) != step.state:
                continue
            yield step
        elif step.kind == "transition":
            source, dest = cut(step.source), cut(step.dest)
            if dest and source == dest and step.source != step.dest:
                continue
            yield replace(step, source=source, dest=dest, state=cut(step.state))
        else:
            yield replace(step, state=cut(step.state))
