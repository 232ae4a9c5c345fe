"""Re-drive a recorded session against today's code and find where the two runs part ways.

Replay feeds the session's events, with their recorded arguments, one by one into a fresh machine
from `machine_factory`, and compares each event's outcome and resulting state with the recording.
The machine is built under a throwaway in-memory recorder and then detached, so a replay never
writes into the host's stream.

Side effects (`side_effects=`):

- ``"off"``: no user code runs. Callbacks are emptied and each guarded transition's conditions are
  replaced by the recording's decision (a guard passes iff the recording took that transition), so
  the replay checks the transition table alone: states, sources, destinations.
- ``"conditions"``: callbacks emptied, the machine's own conditions kept: checks guards as well.
- ``"on"``: the machine runs as built, callbacks and all.

Callbacks live where transitions keeps them: the machine's `prepare_event`, `before_state_change`,
`after_state_change`, `finalize_event`, `on_exception`, `on_final`; each state's `on_enter` and
`on_exit` (model methods such as `on_enter_<state>` are added there when the model is); each
transition's `prepare`, `before`, `after` and `conditions`, found in the events of the machine and,
for hierarchical machines, of every nested state.
"""

from __future__ import annotations

import asyncio
import inspect
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Literal

from transitions import Machine
from transitions.core import MachineError

from fsm_recorder.exceptions import ConfigError, ReplayError
from fsm_recorder.format._codebook_store import CodebookStore
from fsm_recorder.read._session import Session, Step
from fsm_recorder.record._introspect import exception_name
from fsm_recorder.record._machines import RecordingMachineMixin
from fsm_recorder.record._specs import all_states, load_object, machine_and_model
from fsm_recorder.ship._default import memory_recorder, set_default_recorder

SideEffects = Literal["off", "conditions", "on"]
SIDE_EFFECTS: tuple[SideEffects, ...] = ("off", "conditions", "on")
Factory = Callable[[], Any]

_MACHINE_CALLBACKS = (
    "prepare_event",
    "before_state_change",
    "after_state_change",
    "finalize_event",
    "on_exception",
    "on_final",
)


@dataclass(frozen=True)
class ReplayStep:
    """One event to feed and what should follow it.

    `guard` is the destination of the transition the recording took ("" for an internal one,
    None when none fired): in ``"off"`` mode it stands in for the machine's conditions.
    """

    seq: int
    event: str
    args: dict[str, Any]
    guard: str | None
    before: str
    outcome: str
    state: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as embedded in emitted tests."""
        return asdict(self)


@dataclass(frozen=True)
class Observation:
    """What the replayed machine did with one event."""

    before: str
    outcome: str
    state: str


@dataclass(frozen=True)
class ReplayRow:
    """A recorded step side by side with its replay."""

    step: ReplayStep
    seen: Observation

    @property
    def diverged(self) -> bool:
        """True when the replay's state or outcome differs from the recording's."""
        recorded = (self.step.before, self.step.outcome, self.step.state)
        return recorded != (self.seen.before, self.seen.outcome, self.seen.state)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (`replay --json`)."""
        return {**self.step.to_dict(), "replayed": asdict(self.seen), "diverged": self.diverged}


@dataclass
class ReplayReport:
    """The outcome of a replay: one row per recorded event, in recording order."""

    session: str
    machine: str
    side_effects: SideEffects
    rows: list[ReplayRow] = field(default_factory=list)

    @property
    def first_divergence(self) -> ReplayRow | None:
        """The first row whose state or outcome differs, or None when the runs agree."""
        return next((row for row in self.rows if row.diverged), None)

    @property
    def diverged(self) -> bool:
        """True when the replay parted ways with the recording anywhere."""
        return self.first_divergence is not None

    def path(self) -> list[str]:
        """States the replayed machine was in after each event."""
        return [row.seen.state for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (`replay --json`)."""
        first = self.first_divergence
        return {
            "session": self.session,
            "machine": self.machine,
            "side_effects": self.side_effects,
            "diverged": first is not None,
            "first_divergence": None if first is None else first.step.seq,
            "rows": [row.to_dict() for row in self.rows],
        }


def state_name(value: object) -> str:
    """A model's state as recordings name it (parallel states, a list, have no single name)."""
    if isinstance(value, Enum):
        return value.name
    return "" if isinstance(value, list) else str(value)


# -- the recording's side --------------------------------------------------------------------------
def replay_steps(session: Session) -> list[ReplayStep]:
    """The session's events, each with the outcome and state the recording shows after it."""
    groups: list[list[Step]] = []
    for step in session.steps:
        if step.kind == "event":
            groups.append([step])
        elif groups:
            groups[-1].append(step)
    return [_replay_step(group) for group in groups]


def _replay_step(group: list[Step]) -> ReplayStep:
    event = group[0]
    entered = [s.state for s in group if s.kind == "enter"]
    moved = [s.dest for s in group if s.kind == "transition"]
    return ReplayStep(
        seq=event.seq,
        event=event.event,
        args=dict(event.args or {}),
        guard=moved[0] if moved else None,
        before=event.state,
        outcome=_recorded_outcome(group),
        state=entered[-1] if entered else event.state,
    )


def _recorded_outcome(group: list[Step]) -> str:
    for step in group:
        if step.kind == "exception":
            return f"exception:{step.detail}"
        if step.kind == "rejected":
            return "rejected"
    return "ok"


# -- the replay's side -----------------------------------------------------------------------------
def replay(
    session: Session, machine_factory: Factory, *, side_effects: SideEffects = "off"
) -> ReplayReport:
    """Feed `session`'s events into a machine from `machine_factory` and compare, event by event.

    Args:
        session: A decoded session (its events' recorded arguments are fed back as keywords).
        machine_factory: Returns a model with its machine attached, or a machine.
        side_effects: "off", "conditions" or "on" (see the module docstring).

    Raises:
        ReplayError: The factory failed or returned nothing a machine can be found in.
    """
    report = replay_against(replay_steps(session), machine_factory, side_effects=side_effects)
    report.session, report.machine = session.id, session.machine
    return report


def replay_against(
    steps: Sequence[ReplayStep], machine_factory: Factory, *, side_effects: SideEffects = "off"
) -> ReplayReport:
    """Replay prepared steps (those of a session, or those embedded in an emitted test)."""
    if side_effects not in SIDE_EFFECTS:
        raise ReplayError(f"unknown side_effects {side_effects!r}: use one of {SIDE_EFFECTS}")
    guards = _Guards()
    with _throwaway_default_recorder(), _Runner() as run:
        machine, model = _build(machine_factory)
        _silence(machine, side_effects, guards)
        # transitions appends ": " to a machine's name for its log lines.
        report = ReplayReport("", str(machine.name).removesuffix(": "), side_effects)
        for step in steps:
            guards.dest = step.guard
            report.rows.append(ReplayRow(step, _fire(machine, model, step, run)))
    return report


@contextmanager
def _throwaway_default_recorder() -> Iterator[None]:
    # Machines that pick up the default recorder (the usual case) record here, not in production.
    with tempfile.TemporaryDirectory(prefix="fsmr-replay-") as codebooks:
        recorder = memory_recorder(codebooks=CodebookStore(codebooks))
        previous = set_default_recorder(recorder)
        try:
            yield
        finally:
            set_default_recorder(previous)
            recorder.close()


def _build(machine_factory: Factory) -> tuple[Machine, Any]:
    try:
        built = machine_factory()
    except Exception as exc:
        raise ReplayError(f"machine factory {machine_factory!r} failed: {exc!r}") from exc
    try:
        machine, model = machine_and_model(built)
    except ConfigError as exc:
        raise ReplayError(str(exc)) from exc
    # A factory that hands its machine an explicit recorder must not see replayed steps there.
    if isinstance(machine, RecordingMachineMixin):
        machine.detach()
    return machine, model


class _Guards:
    """Conditions that follow the recording: a guard passes iff it leads where the recording did."""

    def __init__(self) -> None:
        self.dest: str | None = None

    def leading_to(self, dest: object, separator: str) -> Callable[..., bool]:
        local = state_name(dest) if dest else ""

        def check(*_: object, **__: object) -> bool:
            wanted = self.dest
            if wanted is None or not local:
                return wanted == local
            return wanted == local or (bool(separator) and wanted.endswith(separator + local))

        return check


def _silence(machine: Machine, side_effects: SideEffects, guards: _Guards) -> None:
    if side_effects == "on":
        return
    for name in _MACHINE_CALLBACKS:
        if hasattr(machine, name):
            setattr(machine, name, [])
    for state in all_states(machine):
        state.on_enter = []
        state.on_exit = []
    separator = getattr(machine.state_cls, "separator", "")
    for transition in _transitions(machine):
        transition.prepare, transition.before, transition.after = [], [], []
        if side_effects == "off" and transition.conditions:
            check = guards.leading_to(transition.dest, separator)
            transition.conditions = [type(transition).condition_cls(check)]


def _transitions(machine: Machine) -> Iterator[Any]:
    scopes = [machine, *all_states(machine)]
    for scope in scopes:
        for event in getattr(scope, "events", {}).values():
            for transitions in event.transitions.values():
                yield from transitions


class _Runner:
    """Runs what an async machine's triggers return on a private event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, value: object) -> object:
        if not inspect.isawaitable(value):
            return value
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(value)

    def __enter__(self) -> _Runner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None:
            self._loop.close()


def _fire(
    machine: Machine, model: Any, step: ReplayStep, run: Callable[[object], object]
) -> Observation:
    before = state_name(getattr(model, machine.model_attribute, None))
    try:
        result = run(model.trigger(step.event, **step.args))
        outcome = "ok" if result else "rejected"
    except MachineError:
        outcome = "rejected"
    except Exception as exc:  # a raising callback is an outcome to compare
        outcome = f"exception:{exception_name(exc)}"
    return Observation(before, outcome, state_name(getattr(model, machine.model_attribute, None)))


# -- factories and emitted tests -------------------------------------------------------------------
def load_factory(spec: str) -> Factory:
    """The callable named by ``"package.module:attribute"`` (attribute may be dotted)."""
    try:
        target = load_object(spec)
    except ConfigError as exc:
        raise ReplayError(f"cannot load machine factory: {exc}") from exc
    if not callable(target):
        raise ReplayError(f"machine factory {spec!r} is not callable")
    return target  # type: ignore[no-any-return]


def todays_steps(report: ReplayReport) -> list[ReplayStep]:
    """The report's steps with today's outcomes as the expectation (what an emitted test pins)."""
    return [
        ReplayStep(
            seq=row.step.seq,
            event=row.step.event,
            args=row.step.args,
            guard=row.step.guard,
            before=row.seen.before,
            outcome=row.seen.outcome,
            state=row.seen.state,
        )
        for row in report.rows
    ]


def steps_from_data(data: Iterable[Mapping[str, Any]]) -> list[ReplayStep]:
    """Steps back from the plain data `ReplayStep.to_dict` produced."""
    try:
        return [ReplayStep(**dict(item)) for item in data]
    except TypeError as exc:
        raise ReplayError(f"malformed replay steps: {exc}") from exc
